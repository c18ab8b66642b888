/* A compile unit's children by address: the first that holds an address
 * (dwarf_haspc()), from an index built on the unit's first use, as libdw's
 * scope walk finds it (the unit as dwarf_units.c reads it). */
#define _GNU_SOURCE
#include "dwarf_scan.h"

#include <dwarf.h>
#include <string.h>

#include "dwarf_internal.h"

/* The children of the unit DIE that may hold an address, through libdw:
 * what the scanner below leaves to it. */
static void index_build_libdw(struct vr_dwarf_unit *unit)
{
	unit->index_state = INDEX_NONE;
	size_t cap = 0;
	Dwarf_Die die;
	if (dwarf_child(&unit->cu, &die) != 0) {
		unit->index_state = INDEX_OK; /* no children: nothing holds any pc */
		return;
	}
	do {
		/* An imported unit is walked in place: leave it to the walk. */
		if (dwarf_tag(&die) == DW_TAG_imported_unit)
			goto none;
		/* dwarf_ranges() finds ranges only through these two. */
		if (!dwarf_hasattr(&die, DW_AT_high_pc) && !dwarf_hasattr(&die, DW_AT_ranges))
			continue;
		Dwarf_Addr base, lo, hi;
		ptrdiff_t off = 0;
		while ((off = dwarf_ranges(&die, off, &base, &lo, &hi)) > 0) {
			if (!vr_dwarf_grow(&unit->ranges, &cap, unit->n_ranges + 1, sizeof(*unit->ranges),
					   SIZE_MAX / sizeof(*unit->ranges)))
				goto none;
			unit->ranges[unit->n_ranges++] =
				(struct scope_range){ dwarf_dieoffset(&die), lo, hi };
		}
	} while (dwarf_siblingof(&die, &die) == 0);
	unit->index_state = INDEX_OK;
	return;
none:
	free(unit->ranges);
	unit->ranges = NULL;
	unit->n_ranges = 0;
	unit->index_state = INDEX_NONE;
}

/* ---- a scanner of the unit's DIEs, for its children's ranges ----
 *
 * libdw looks each attribute up by walking the DIE's abbreviation, which
 * made the index of a large unit cost a million instructions. The scanner
 * reads the unit's abbreviations once and steps over the children as
 * dwarf_siblingof() does (DW_AT_sibling where a DIE has it, else through
 * its children), decoding the plain DW_AT_low_pc/DW_AT_high_pc pairs
 * itself; a child with other forms of ranges is asked of libdw. Anything
 * unexpected leaves the whole unit to libdw. */

struct abbrev {
	uint64_t code;
	uint32_t tag;
	bool children;
	uint32_t first, n; /* its attributes in abbrevs.attrs */
	/* For stepping over a DIE without looking at each attribute: the
	 * attributes' size when every form has a fixed one (-1 not), where
	 * DW_AT_sibling's value lies when the forms before it have fixed
	 * sizes (-1 no sibling, -2 not at a fixed place), and whether it
	 * has an attribute of ranges. */
	int32_t fixed, sib_at;
	uint16_t sib_form;
	bool pc;
};

struct abbrev_attr {
	uint16_t name, form;
};

struct abbrevs {
	struct abbrev *a;
	size_t n, cap;
	struct abbrev_attr *attrs;
	size_t n_attrs, cap_attrs;
	bool dense; /* a[i].code == i + 1 */
};

static void abbrevs_free(struct abbrevs *ab)
{
	free(ab->a);
	free(ab->attrs);
}

static int form_fixed(const struct vr_dwarf_unit *unit, unsigned form);

static bool abbrevs_read(const struct vr_dwarf_unit *unit, uint64_t off, struct abbrevs *ab)
{
	const struct vr_dwarf_units *u = unit->owner;
	*ab = (struct abbrevs){ .dense = true };
	const uint8_t *d = sec_data(u, SEC_ABBREV);
	if (off >= u->secs[SEC_ABBREV].size)
		return false;
	const uint8_t *p = d + off, *end = d + u->secs[SEC_ABBREV].size;
	for (;;) {
		if (p >= end)
			return false;
		uint64_t code = uleb(&p, end);
		if (code == 0)
			return true;
		if (p >= end || ab->n >= DWARF_MAX_ABBREVS)
			return false;
		uint64_t tag = uleb(&p, end);
		if (p >= end || tag > UINT32_MAX)
			return false;
		if (!vr_dwarf_grow(&ab->a, &ab->cap, ab->n + 1, sizeof(*ab->a), DWARF_MAX_ABBREVS))
			return false;
		struct abbrev *a = &ab->a[ab->n];
		*a = (struct abbrev){ code, (uint32_t)tag, *p++ != 0, (uint32_t)ab->n_attrs, 0,
				      .fixed = 0, .sib_at = -1 };
		ab->dense &= code == ab->n + 1;
		ab->n++;
		for (;;) {
			if (p >= end)
				return false;
			uint64_t name = uleb(&p, end);
			if (p >= end)
				return false;
			uint64_t form = uleb(&p, end);
			if (name == 0 && form == 0)
				break;
			if (form == DW_FORM_implicit_const) {
				if (p >= end)
					return false;
				sleb(&p, end);
			}
			if (name > UINT16_MAX || form > UINT16_MAX)
				return false;
			if (!vr_dwarf_grow(&ab->attrs, &ab->cap_attrs, ab->n_attrs + 1, sizeof(*ab->attrs),
					   (size_t)DWARF_MAX_ABBREVS * 64))
				return false;
			ab->attrs[ab->n_attrs++] = (struct abbrev_attr){ (uint16_t)name, (uint16_t)form };
			a->n++;
			int size = form_fixed(unit, (unsigned)form);
			if (name == DW_AT_sibling) {
				a->sib_at = a->fixed >= 0 ? a->fixed : -2;
				a->sib_form = (uint16_t)form;
			}
			if (name == DW_AT_low_pc || name == DW_AT_high_pc || name == DW_AT_ranges)
				a->pc = true;
			if (size < 0 || a->fixed < 0)
				a->fixed = -1;
			else if (a->fixed + size < (1 << 20))
				a->fixed += size;
			else
				a->fixed = -1;
		}
	}
}

static const struct abbrev *abbrev_find(const struct abbrevs *ab, uint64_t code)
{
	if (ab->dense)
		return code >= 1 && code <= ab->n ? &ab->a[code - 1] : NULL;
	for (size_t i = 0; i < ab->n; i++)
		if (ab->a[i].code == code)
			return &ab->a[i];
	return NULL;
}

/* The size of every value of form in unit, -1 when it varies or the form
 * is not one the scanner knows. */
static int form_fixed(const struct vr_dwarf_unit *unit, unsigned form)
{
	switch (form) {
	case DW_FORM_flag_present:
	case DW_FORM_implicit_const:
		return 0;
	case DW_FORM_addr:
		return unit->address_size;
	case DW_FORM_ref_addr:
		return unit->version == 2 ? unit->address_size : unit->offset_size;
	case DW_FORM_strp:
	case DW_FORM_sec_offset:
	case DW_FORM_line_strp:
	case DW_FORM_strp_sup:
	case DW_FORM_GNU_ref_alt:
	case DW_FORM_GNU_strp_alt:
		return unit->offset_size;
	case DW_FORM_data1:
	case DW_FORM_ref1:
	case DW_FORM_flag:
	case DW_FORM_strx1:
	case DW_FORM_addrx1:
		return 1;
	case DW_FORM_data2:
	case DW_FORM_ref2:
	case DW_FORM_strx2:
	case DW_FORM_addrx2:
		return 2;
	case DW_FORM_strx3:
	case DW_FORM_addrx3:
		return 3;
	case DW_FORM_data4:
	case DW_FORM_ref4:
	case DW_FORM_ref_sup4:
	case DW_FORM_strx4:
	case DW_FORM_addrx4:
		return 4;
	case DW_FORM_data8:
	case DW_FORM_ref8:
	case DW_FORM_ref_sig8:
	case DW_FORM_ref_sup8:
		return 8;
	case DW_FORM_data16:
		return 16;
	default:
		return -1;
	}
}

/* The size of a value of form at *pp, stepping over it; false for a form
 * this scanner does not know. */
static bool form_skip(const struct vr_dwarf_unit *unit, unsigned form, const uint8_t **pp,
		      const uint8_t *end, int depth)
{
	const uint8_t *p = *pp;
	uint64_t n;
	switch (form) {
	case DW_FORM_flag_present:
	case DW_FORM_implicit_const:
		return true;
	case DW_FORM_addr:
		n = unit->address_size;
		break;
	case DW_FORM_ref_addr:
		n = unit->version == 2 ? unit->address_size : unit->offset_size;
		break;
	case DW_FORM_strp:
	case DW_FORM_sec_offset:
	case DW_FORM_line_strp:
	case DW_FORM_strp_sup:
	case DW_FORM_GNU_ref_alt:
	case DW_FORM_GNU_strp_alt:
		n = unit->offset_size;
		break;
	case DW_FORM_data1:
	case DW_FORM_ref1:
	case DW_FORM_flag:
	case DW_FORM_strx1:
	case DW_FORM_addrx1:
		n = 1;
		break;
	case DW_FORM_data2:
	case DW_FORM_ref2:
	case DW_FORM_strx2:
	case DW_FORM_addrx2:
		n = 2;
		break;
	case DW_FORM_strx3:
	case DW_FORM_addrx3:
		n = 3;
		break;
	case DW_FORM_data4:
	case DW_FORM_ref4:
	case DW_FORM_ref_sup4:
	case DW_FORM_strx4:
	case DW_FORM_addrx4:
		n = 4;
		break;
	case DW_FORM_data8:
	case DW_FORM_ref8:
	case DW_FORM_ref_sig8:
	case DW_FORM_ref_sup8:
		n = 8;
		break;
	case DW_FORM_data16:
		n = 16;
		break;
	case DW_FORM_block1:
		if (p >= end)
			return false;
		n = 1 + (uint64_t)p[0];
		break;
	case DW_FORM_block2:
		if (end - p < 2)
			return false;
		n = 2 + rd(p, 2);
		break;
	case DW_FORM_block4:
		if (end - p < 4)
			return false;
		n = 4 + rd(p, 4);
		break;
	case DW_FORM_block:
	case DW_FORM_exprloc:
		if (p >= end)
			return false;
		n = uleb(&p, end);
		break;
	case DW_FORM_string: {
		const uint8_t *z = memchr(p, 0, (size_t)(end - p));
		if (!z)
			return false;
		n = (uint64_t)(z + 1 - p);
		break;
	}
	case DW_FORM_sdata:
	case DW_FORM_udata:
	case DW_FORM_ref_udata:
	case DW_FORM_strx:
	case DW_FORM_addrx:
	case DW_FORM_loclistx:
	case DW_FORM_rnglistx:
	case DW_FORM_GNU_addr_index:
	case DW_FORM_GNU_str_index:
		if (p >= end)
			return false;
		uleb(&p, end);
		n = 0;
		break;
	case DW_FORM_indirect: {
		if (p >= end || depth > 4)
			return false;
		uint64_t f = uleb(&p, end);
		if (f > UINT16_MAX || !form_skip(unit, (unsigned)f, &p, end, depth + 1))
			return false;
		n = 0;
		break;
	}
	default:
		return false;
	}
	if (n > (uint64_t)(end - p))
		return false;
	*pp = p + n;
	return true;
}

/* A constant of form at p (the DW_AT_high_pc offset, a DW_AT_sibling
 * reference). */
static bool form_const(unsigned form, const uint8_t *p, const uint8_t *end, uint64_t *ret)
{
	switch (form) {
	case DW_FORM_data1:
	case DW_FORM_ref1:
		*ret = p[0];
		return true;
	case DW_FORM_data2:
	case DW_FORM_ref2:
		*ret = rd(p, 2);
		return true;
	case DW_FORM_data4:
	case DW_FORM_ref4:
		*ret = rd(p, 4);
		return true;
	case DW_FORM_data8:
	case DW_FORM_ref8:
		*ret = rd(p, 8);
		return true;
	case DW_FORM_udata:
	case DW_FORM_ref_udata:
		*ret = uleb(&p, end);
		return true;
	default:
		return false;
	}
}

/* One DIE at *pp: its abbreviation, stepping over its attributes; the
 * sibling it names (0 none), and its plain low/high pair. false: anything
 * the scanner leaves to libdw. */
struct die_facts {
	const struct abbrev *ab;
	uint64_t sibling;
	bool has_low, has_high, has_ranges, high_is_offset, plain;
	uint64_t low, high;
};

static bool die_read(const struct vr_dwarf_unit *unit, const struct abbrevs *abs, const uint8_t **pp,
		     const uint8_t *end, struct die_facts *f)
{
	const uint8_t *p = *pp;
	if (p >= end)
		return false;
	uint64_t code = uleb(&p, end);
	if (code == 0 || !(f->ab = abbrev_find(abs, code)))
		return false;
	f->sibling = 0;
	f->has_low = f->has_high = f->has_ranges = false;
	f->plain = true;
	const struct abbrev *ab = f->ab;
	if (ab->fixed >= 0 && !ab->pc) {
		if ((uint64_t)(end - p) < (uint64_t)ab->fixed)
			return false;
		if (ab->sib_at >= 0 && (!form_const(ab->sib_form, p + ab->sib_at, end, &f->sibling) || !f->sibling))
			return false;
		*pp = p + ab->fixed;
		return true;
	}
	for (uint32_t i = 0; i < f->ab->n; i++) {
		const struct abbrev_attr *at = &abs->attrs[f->ab->first + i];
		const uint8_t *v = p;
		if (!form_skip(unit, at->form, &p, end, 0))
			return false;
		switch (at->name) {
		case DW_AT_sibling:
			if (!form_const(at->form, v, end, &f->sibling) || !f->sibling)
				return false;
			break;
		case DW_AT_low_pc:
			f->has_low = true;
			if (at->form == DW_FORM_addr && (unit->address_size == 8 || unit->address_size == 4))
				f->low = rd(v, unit->address_size);
			else
				f->plain = false;
			break;
		case DW_AT_high_pc:
			f->has_high = true;
			if (at->form == DW_FORM_addr && (unit->address_size == 8 || unit->address_size == 4)) {
				f->high = rd(v, unit->address_size);
				f->high_is_offset = false;
			} else if (form_const(at->form, v, end, &f->high) && at->form != DW_FORM_ref1 &&
				   at->form != DW_FORM_ref2 && at->form != DW_FORM_ref4 &&
				   at->form != DW_FORM_ref8 && at->form != DW_FORM_ref_udata) {
				f->high_is_offset = true;
			} else {
				f->plain = false;
			}
			break;
		case DW_AT_ranges:
			f->has_ranges = true;
			break;
		default:
			break;
		}
	}
	*pp = p;
	return true;
}

static bool ranges_add(struct vr_dwarf_unit *unit, size_t *cap, Dwarf_Off die, uint64_t lo, uint64_t hi)
{
	if (!vr_dwarf_grow(&unit->ranges, cap, unit->n_ranges + 1, sizeof(*unit->ranges),
			   SIZE_MAX / sizeof(*unit->ranges)))
		return false;
	unit->ranges[unit->n_ranges++] = (struct scope_range){ die, lo, hi };
	return true;
}

/* Steps from the DIE at *pp (already read: f) to its next sibling, as
 * dwarf_siblingof() does; *pp NULL when there is none. false: leave it to
 * libdw. */
static bool die_next(const struct vr_dwarf_unit *unit, const struct abbrevs *abs, const uint8_t *start,
		     const uint8_t *die, const uint8_t **pp, const uint8_t *end, struct die_facts *f)
{
	unsigned level = 0;
	const uint8_t *p = *pp;
	for (;;) {
		if (f->sibling) {
			if (f->sibling >= (uint64_t)(end - start) || f->sibling <= (uint64_t)(die - start))
				return false;
			p = start + f->sibling;
		} else if (f->ab->children) {
			level++;
		}
		for (;;) {
			if (p >= end) {
				*pp = NULL;
				return true;
			}
			if (*p)
				break;
			if (level-- == 0) {
				*pp = NULL;
				return true;
			}
			p++;
		}
		if (level == 0)
			break;
		die = p;
		if (!die_read(unit, abs, &p, end, f))
			return false;
	}
	*pp = p;
	return true;
}

static int index_scan(struct vr_dwarf_unit *unit)
{
	struct vr_dwarf_units *u = unit->owner;
	struct abbrevs abs;
	if (!abbrevs_read(unit, unit->abbrev_off, &abs)) {
		abbrevs_free(&abs);
		return INDEX_NONE;
	}
	const uint8_t *start = sec_data(u, SEC_INFO) + unit->cu_off, *end = start + unit->len;
	const uint8_t *p = start + (unit->die_off - unit->cu_off);
	struct die_facts f;
	size_t cap = 0;
	int state = INDEX_NONE;
	/* The unit DIE, then its first child (dwarf_child(): none when the
	 * abbreviation has no children or a null entry comes first). */
	if (!die_read(unit, &abs, &p, end, &f))
		goto out;
	if (!f.ab->children || p >= end || *p == 0) {
		state = INDEX_OK;
		goto out;
	}
	if (*p == 0x80) /* a null entry encoded long: libdw's business */
		goto out;
	while (p) {
		const uint8_t *die = p;
		if (!die_read(unit, &abs, &p, end, &f) || f.ab->tag == DW_TAG_imported_unit)
			goto out;
		Dwarf_Off off = (Dwarf_Off)(die - start);
		if (f.has_low && f.has_high && f.plain) {
			uint64_t hi = f.high_is_offset ? f.low + f.high : f.high;
			if (!ranges_add(unit, &cap, off, f.low, hi))
				goto out;
		} else if (f.has_high || f.has_ranges) {
			/* Other forms: libdw's dwarf_ranges(), later; hi < lo
			 * marks the entry. */
			if (!ranges_add(unit, &cap, off, 1, 0))
				goto out;
		}
		if (!die_next(unit, &abs, start, die, &p, end, &f))
			goto out;
	}
	state = INDEX_OK;
out:
	abbrevs_free(&abs);
	return state;
}

/* The entries the scanner marked, expanded through libdw. */
static bool index_expand(struct vr_dwarf_unit *unit)
{
	size_t marked = 0;
	for (size_t i = 0; i < unit->n_ranges; i++)
		marked += unit->ranges[i].lo > unit->ranges[i].hi;
	if (!marked)
		return true;
	struct scope_range *old = unit->ranges;
	size_t n_old = unit->n_ranges, cap = 0;
	unit->ranges = NULL;
	unit->n_ranges = 0;
	bool ok = true;
	for (size_t i = 0; ok && i < n_old; i++) {
		if (old[i].lo <= old[i].hi) {
			ok = ranges_add(unit, &cap, old[i].die, old[i].lo, old[i].hi);
			continue;
		}
		Dwarf_Die die;
		if (!dwarf_offdie(unit->handle, old[i].die, &die)) {
			ok = false;
			break;
		}
		Dwarf_Addr base, lo, hi;
		ptrdiff_t off = 0;
		while (ok && (off = dwarf_ranges(&die, off, &base, &lo, &hi)) > 0)
			ok = ranges_add(unit, &cap, old[i].die, lo, hi);
	}
	free(old);
	return ok;
}

static void index_build(struct vr_dwarf_unit *unit)
{
	/* The scanner reads offsets in the unit: only a unit read alone has
	 * its DIEs there. */
	if (unit->dbg) {
		unit->index_state = index_scan(unit);
		if (unit->index_state == INDEX_OK && index_expand(unit))
			return;
		free(unit->ranges);
		unit->ranges = NULL;
		unit->n_ranges = 0;
	}
	index_build_libdw(unit);
}

int vr_dwarf_unit_scope(struct vr_dwarf_unit *unit, Dwarf_Addr pc, Dwarf_Die *ret)
{
	if (unit->index_state == INDEX_UNBUILT)
		index_build(unit);
	if (unit->index_state != INDEX_OK)
		return -1;
	/* The ranges are in the children's order: the first that holds pc
	 * belongs to the first child that does. */
	for (size_t i = 0; i < unit->n_ranges; i++) {
		const struct scope_range *r = &unit->ranges[i];
		if (pc >= r->lo && pc < r->hi) {
			return dwarf_offdie(unit->handle, r->die, ret) ? 1 : -1;
		}
	}
	return 0;
}

void vr_dwarf_scan_forget(struct vr_dwarf_unit *unit)
{
	free(unit->ranges);
	unit->ranges = NULL;
	unit->n_ranges = 0;
	unit->index_state = INDEX_UNBUILT;
}
