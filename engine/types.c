/* The per-dump layout cache: "type.member" -> offset and size, "type" ->
 * size, filled lazily from, in order of preference,
 *   1. VMCOREINFO's OFFSET(type.member) and SIZE(type) (kernel/vmcore_info.c):
 *      what the crashed kernel said about itself;
 *   2. BTF: the vmlinux's .BTF section, or without a vmlinux the copy the
 *      kernel keeps in memory between __start_BTF and __stop_BTF
 *      (CONFIG_DEBUG_INFO_BTF, include/asm-generic/vmlinux.lds.h);
 *   3. DWARF of the vmlinux, found by a bounded scan of the top-level DIEs
 *      of compile units (kernels are not built with .debug_names, so there
 *      is no index to ask).
 * Every answer, and every "not found", is cached. */
#define _GNU_SOURCE
#include <dwarf.h>
#include <stdarg.h>
#include <elfutils/libdw.h>
#include <gelf.h>
#include <stdio.h>
#include <string.h>

#include "btf.h"
#include "dwarf.h"
#include "internal.h"

/* Bounds: cached answers, in-memory BTF size, and the DWARF scan. */
#define TYPES_MAX_ENTRIES 65536
#define TYPES_MEM_BTF_MAX (64u << 20)
/* Compile units whose top-level DIEs we look through for a type before
 * giving up: the core structs are defined in the first few C units
 * (init/main.c includes most of them), so a few hundred is plenty. */
#define TYPES_DWARF_MAX_CUS 600
#define TYPES_DWARF_MAX_NEST 32

struct types_entry {
	char *key;
	enum vr_error_code code; /* 0: found */
	char *message;           /* why not found */
	uint64_t a, b;           /* offset/size, or size, or value */
	char *name;              /* member_at answers */
};

struct name_off {
	char *name;
	Dwarf_Off off;
};

struct vr_types {
	struct types_entry *slots;
	size_t mask, used;

	bool btf_tried;
	char *btf_reason; /* why there is no BTF */

	/* DWARF: top-level struct/union/enum DIEs by name, and enumerators. */
	struct name_off *dies;
	size_t dies_mask, dies_used;
	struct name_off *enums; /* enumerator name -> DIE offset of the enumerator */
	size_t enums_mask, enums_used;
	unsigned sources; /* VR_TYPES_* allowed */
	Dwarf_Off next_cu;
	int cus_scanned;
	bool scan_done;
};

static uint64_t hash_str(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ull;
	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 0x100000001b3ull;
	return h;
}

void vr_types_destroy(struct vr_types *t)
{
	if (!t)
		return;
	for (size_t i = 0; t->slots && i <= t->mask; i++) {
		free(t->slots[i].key);
		free(t->slots[i].message);
		free(t->slots[i].name);
	}
	for (size_t i = 0; t->dies && i <= t->dies_mask; i++)
		free(t->dies[i].name);
	for (size_t i = 0; t->enums && i <= t->enums_mask; i++)
		free(t->enums[i].name);
	free(t->slots);
	free(t->dies);
	free(t->enums);
	free(t->btf_reason);
	free(t);
}

static struct vr_error *types_get(struct vr_kernel *k, struct vr_types **ret)
{
	if (!k->types) {
		struct vr_types *t = calloc(1, sizeof(*t));
		if (!t)
			return &vr_error_oom;
		t->slots = calloc(1024, sizeof(*t->slots));
		if (!t->slots) {
			free(t);
			return &vr_error_oom;
		}
		t->mask = 1023;
		t->sources = VR_TYPES_VMCOREINFO | VR_TYPES_BTF | VR_TYPES_DWARF;
		k->types = t;
	}
	*ret = k->types;
	return NULL;
}

/* ---- answer cache ---- */

static struct types_entry *cache_find(struct vr_types *t, const char *key)
{
	for (size_t i = hash_str(key) & t->mask; t->slots[i].key; i = (i + 1) & t->mask)
		if (strcmp(t->slots[i].key, key) == 0)
			return &t->slots[i];
	return NULL;
}

/* Stores an answer (err NULL: a, b, name are the answer). Takes name.
 * A full cache simply stops remembering. */
static void cache_put(struct vr_types *t, const char *key, const struct vr_error *err, uint64_t a,
		      uint64_t b, char *name)
{
	if (t->used + 1 > TYPES_MAX_ENTRIES || (err && err->code == VR_ERR_NOMEM)) {
		free(name);
		return;
	}
	if ((t->used + 1) * 2 > t->mask + 1) {
		size_t ncap = (t->mask + 1) * 2;
		struct types_entry *ns = calloc(ncap, sizeof(*ns));
		if (!ns) {
			free(name);
			return;
		}
		for (size_t i = 0; i <= t->mask; i++) {
			if (!t->slots[i].key)
				continue;
			size_t j = hash_str(t->slots[i].key) & (ncap - 1);
			while (ns[j].key)
				j = (j + 1) & (ncap - 1);
			ns[j] = t->slots[i];
		}
		free(t->slots);
		t->slots = ns;
		t->mask = ncap - 1;
	}
	char *kc = vr_strdup(key);
	char *msg = err ? vr_strdup(err->message) : NULL;
	if (!kc || (err && !msg)) {
		free(kc);
		free(msg);
		free(name);
		return;
	}
	size_t i = hash_str(key) & t->mask;
	while (t->slots[i].key)
		i = (i + 1) & t->mask;
	t->slots[i] = (struct types_entry){ kc, err ? err->code : 0, msg, a, b, name };
	t->used++;
}

static struct vr_error *cached_error(const struct types_entry *e)
{
	return vr_error_create(e->code, "%s", e->message);
}

/* ---- BTF ---- */

static struct vr_error *btf_from_vmlinux(struct vr_kernel *k, struct vr_btf **ret)
{
	Elf *elf = k->vmlinux_elf;
	size_t shstrndx;
	if (elf_getshdrstrndx(elf, &shstrndx) < 0)
		return vr_error_create(VR_ERR_FORMAT, "reading section names of %s: %s",
				       k->vmlinux_path, elf_errmsg(-1));
	Elf_Scn *scn = NULL;
	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		if (!gelf_getshdr(scn, &sh))
			continue;
		const char *name = elf_strptr(elf, shstrndx, sh.sh_name);
		if (!name || strcmp(name, ".BTF") != 0)
			continue;
		if (sh.sh_type == SHT_NOBITS)
			return vr_error_create(VR_ERR_NOT_FOUND, "%s: .BTF holds no data",
					       k->vmlinux_path);
		Elf_Data *d = elf_getdata(scn, NULL);
		if (!d || !d->d_buf)
			return vr_error_create(VR_ERR_FORMAT, "reading .BTF of %s: %s", k->vmlinux_path,
					       elf_errmsg(-1));
		return vr_error_wrap(vr_btf_create(d->d_buf, d->d_size, ret), "%s", k->vmlinux_path);
	}
	return vr_error_create(VR_ERR_NOT_FOUND, "%s has no .BTF section", k->vmlinux_path);
}

static struct vr_error *btf_from_memory(struct vr_kernel *k, struct vr_btf **ret)
{
	uint64_t start, stop;
	if (!vr_kernel_has_memory(k))
		return vr_error_create(VR_ERR_NOT_FOUND, "no memory to read BTF from");
	if (!vr_symbols_lookup_name(k, "__start_BTF", &start) ||
	    !vr_symbols_lookup_name(k, "__stop_BTF", &stop))
		return vr_error_create(VR_ERR_NOT_FOUND,
				       "the kernel has no __start_BTF/__stop_BTF symbols");
	if (stop <= start || stop - start > TYPES_MEM_BTF_MAX)
		return vr_error_create(VR_ERR_LIMIT,
				       "in-memory BTF at 0x%llx-0x%llx: size out of range",
				       (unsigned long long)start, (unsigned long long)stop);
	size_t len = stop - start;
	_cleanup_free_ uint8_t *buf = malloc(len);
	if (!buf)
		return &vr_error_oom;
	struct vr_error *err = vr_kernel_read(k, start, buf, len);
	if (err)
		return vr_error_wrap(err, "reading in-memory BTF at 0x%llx", (unsigned long long)start);
	return vr_error_wrap(vr_btf_create(buf, len, ret), "in-memory BTF at 0x%llx",
			     (unsigned long long)start);
}

/* k->btf, loaded on first use; NULL with the reason cached. */
static struct vr_btf *types_btf(struct vr_kernel *k, struct vr_types *t)
{
	if (!(t->sources & VR_TYPES_BTF))
		return NULL;
	if (k->btf || t->btf_tried)
		return k->btf;
	t->btf_tried = true;
	struct vr_error *err = NULL;
	if (k->vmlinux_elf) {
		err = btf_from_vmlinux(k, &k->btf);
		if (!err)
			return k->btf;
	}
	struct vr_error *merr = btf_from_memory(k, &k->btf);
	if (!merr) {
		vr_error_destroy(err);
		return k->btf;
	}
	t->btf_reason = err ? vr_asprintf("%s; %s", err->message, merr->message)
			    : vr_strdup(merr->message);
	vr_error_destroy(err);
	vr_error_destroy(merr);
	return NULL;
}

/* ---- DWARF ---- */

static bool index_add(struct name_off **tab, size_t *mask, size_t *used, const char *name,
		      Dwarf_Off off)
{
	if (*used + 1 > 1u << 22)
		return false;
	if (!*tab || (*used + 1) * 2 > *mask + 1) {
		size_t ncap = *tab ? (*mask + 1) * 2 : 4096;
		struct name_off *ns = calloc(ncap, sizeof(*ns));
		if (!ns)
			return false;
		for (size_t i = 0; *tab && i <= *mask; i++) {
			if (!(*tab)[i].name)
				continue;
			size_t j = hash_str((*tab)[i].name) & (ncap - 1);
			while (ns[j].name)
				j = (j + 1) & (ncap - 1);
			ns[j] = (*tab)[i];
		}
		free(*tab);
		*tab = ns;
		*mask = ncap - 1;
	}
	size_t i = hash_str(name) & *mask;
	for (; (*tab)[i].name; i = (i + 1) & *mask)
		if (strcmp((*tab)[i].name, name) == 0)
			return true; /* first definition wins */
	char *n = vr_strdup(name);
	if (!n)
		return false;
	(*tab)[i] = (struct name_off){ n, off };
	(*used)++;
	return true;
}

static bool index_get(struct name_off *tab, size_t mask, const char *name, Dwarf_Off *ret)
{
	if (!tab)
		return false;
	for (size_t i = hash_str(name) & mask; tab[i].name; i = (i + 1) & mask)
		if (strcmp(tab[i].name, name) == 0) {
			*ret = tab[i].off;
			return true;
		}
	return false;
}

/* Indexes the top-level struct, union and enum definitions of the next
 * compile unit. False when there is none left (or the bound is hit). */
static bool dwarf_scan_next(Dwarf *dbg, struct vr_types *t)
{
	if (t->scan_done || t->cus_scanned >= TYPES_DWARF_MAX_CUS) {
		t->scan_done = true;
		return false;
	}
	Dwarf_Off next;
	size_t hsize;
	Dwarf_Half version;
	if (dwarf_next_unit(dbg, t->next_cu, &next, &hsize, &version, NULL, NULL, NULL, NULL,
			    NULL) != 0) {
		t->scan_done = true;
		return false;
	}
	Dwarf_Die cu, die;
	Dwarf_Off cu_off = t->next_cu;
	t->next_cu = next;
	t->cus_scanned++;
	if (!dwarf_offdie(dbg, cu_off + hsize, &cu) || dwarf_child(&cu, &die) != 0)
		return true;
	int n = 0;
	do {
		if (++n > 1000000)
			break;
		int tag = dwarf_tag(&die);
		if (tag != DW_TAG_structure_type && tag != DW_TAG_union_type &&
		    tag != DW_TAG_enumeration_type && tag != DW_TAG_typedef &&
		    tag != DW_TAG_base_type)
			continue;
		if (dwarf_hasattr(&die, DW_AT_declaration))
			continue;
		const char *name = dwarf_diename(&die);
		if (name)
			index_add(&t->dies, &t->dies_mask, &t->dies_used, name, dwarf_dieoffset(&die));
		if (tag == DW_TAG_enumeration_type) {
			Dwarf_Die e;
			if (dwarf_child(&die, &e) != 0)
				continue;
			int m = 0;
			do {
				const char *en = dwarf_diename(&e);
				if (dwarf_tag(&e) == DW_TAG_enumerator && en)
					index_add(&t->enums, &t->enums_mask, &t->enums_used, en,
						  dwarf_dieoffset(&e));
			} while (++m < 100000 && dwarf_siblingof(&e, &e) == 0);
		}
	} while (dwarf_siblingof(&die, &die) == 0);
	return true;
}

/* Finds the DIE of struct/union/enum name, or of enumerator name. */
static struct vr_error *dwarf_find(struct vr_kernel *k, struct vr_types *t, const char *name,
				   bool enumerator, Dwarf **ret_dbg, Dwarf_Die *ret)
{
	Dwarf *dbg;
	if (!(t->sources & VR_TYPES_DWARF))
		return vr_error_create(VR_ERR_NOT_FOUND, "DWARF not consulted");
	struct vr_error *err = vr_dwarf_vmlinux(k, &dbg);
	if (err)
		return err;
	/* pahole encodes every type and enumerator of every compile unit into
	 * the kernel's BTF, so what BTF lacks DWARF lacks too: scanning DWARF
	 * for it would cost hundreds of milliseconds for nothing. */
	if (types_btf(k, t))
		return vr_error_create(VR_ERR_NOT_FOUND, "not in the kernel's BTF, which holds every type");
	Dwarf_Off off;
	for (;;) {
		bool hit = enumerator ? index_get(t->enums, t->enums_mask, name, &off)
				      : index_get(t->dies, t->dies_mask, name, &off);
		if (hit)
			break;
		if (!dwarf_scan_next(dbg, t))
			return vr_error_create(VR_ERR_NOT_FOUND,
					       "DWARF: no %s %s in the first %d compile units",
					       enumerator ? "enumerator" : "type", name, t->cus_scanned);
	}
	if (!dwarf_offdie(dbg, off, ret))
		return vr_dwarf_error("DWARF: reading a type DIE");
	*ret_dbg = dbg;
	return NULL;
}

/* Type DIE of die's DW_AT_type with typedefs and qualifiers peeled. */
static bool die_type(Dwarf_Die *die, Dwarf_Die *ret)
{
	Dwarf_Attribute a;
	Dwarf_Die t;
	if (!dwarf_attr_integrate(die, DW_AT_type, &a) || !dwarf_formref_die(&a, &t))
		return false;
	return dwarf_peel_type(&t, ret) == 0;
}

static bool member_bits(Dwarf_Die *m, uint64_t *ret_bits)
{
	Dwarf_Attribute a;
	Dwarf_Word w;
	if (dwarf_attr(m, DW_AT_data_member_location, &a)) {
		/* Constant form only: the kernel's C never needs a location
		 * expression for a member. */
		if (dwarf_formudata(&a, &w) != 0)
			return false;
		*ret_bits = w * 8;
		return true;
	}
	if (dwarf_attr(m, DW_AT_data_bit_offset, &a) && dwarf_formudata(&a, &w) == 0) {
		*ret_bits = w;
		return true;
	}
	/* Union members have no location: they start at 0. */
	*ret_bits = 0;
	return true;
}

static bool die_is_composite(Dwarf_Die *d)
{
	int tag = dwarf_tag(d);
	return tag == DW_TAG_structure_type || tag == DW_TAG_union_type;
}

static struct vr_error *dwarf_find_member(Dwarf_Die *comp, const char *name, size_t len, int depth,
					  uint64_t *bits, Dwarf_Die *ret_type)
{
	Dwarf_Die m;
	if (depth > TYPES_DWARF_MAX_NEST || dwarf_child(comp, &m) != 0)
		return vr_error_create(VR_ERR_NOT_FOUND, "no member %.*s", (int)len, name);
	int n = 0;
	do {
		if (dwarf_tag(&m) != DW_TAG_member)
			continue;
		const char *mn = dwarf_diename(&m);
		uint64_t mb;
		if (!member_bits(&m, &mb))
			continue;
		if (mn) {
			if (strlen(mn) == len && memcmp(mn, name, len) == 0) {
				if (!die_type(&m, ret_type))
					return vr_error_create(VR_ERR_FORMAT,
							       "DWARF: member %s has no type", mn);
				*bits += mb;
				return NULL;
			}
			continue;
		}
		Dwarf_Die sub;
		if (!die_type(&m, &sub) || !die_is_composite(&sub))
			continue;
		uint64_t sb = 0;
		struct vr_error *err = dwarf_find_member(&sub, name, len, depth + 1, &sb, ret_type);
		if (!err) {
			*bits += mb + sb;
			return NULL;
		}
		if (err->code != VR_ERR_NOT_FOUND)
			return err;
		vr_error_destroy(err);
	} while (++n < 100000 && dwarf_siblingof(&m, &m) == 0);
	return vr_error_create(VR_ERR_NOT_FOUND, "no member %.*s", (int)len, name);
}

static struct vr_error *dwarf_member(struct vr_kernel *k, struct vr_types *t, const char *type,
				     const char *path, struct vr_member *ret)
{
	Dwarf *dbg;
	Dwarf_Die cur;
	struct vr_error *err = dwarf_find(k, t, type, false, &dbg, &cur);
	if (err)
		return err;
	Dwarf_Die peeled;
	if (dwarf_peel_type(&cur, &peeled) == 0)
		cur = peeled;
	uint64_t bits = 0;
	const char *p = path;
	for (int steps = 0; steps < TYPES_DWARF_MAX_NEST; steps++) {
		size_t len = strcspn(p, ".");
		if (!die_is_composite(&cur))
			return vr_error_create(VR_ERR_NOT_FOUND, "%s.%s: %.*s is not in a struct",
					       type, path, (int)len, p);
		Dwarf_Die mt;
		if ((err = dwarf_find_member(&cur, p, len, 0, &bits, &mt))) {
			if (err->code != VR_ERR_NOT_FOUND)
				return vr_error_wrap(err, "%s.%s", type, path);
			vr_error_destroy(err);
			return vr_error_create(VR_ERR_NOT_FOUND, "DWARF: %s has no member %s", type,
					       path);
		}
		cur = mt;
		p += len;
		if (*p == 0) {
			Dwarf_Word size = 0;
			if (dwarf_aggregate_size(&cur, &size) != 0)
				size = dwarf_tag(&cur) == DW_TAG_pointer_type ? 8 : 0;
			ret->offset = bits / 8;
			ret->size = size;
			return NULL;
		}
		p++;
	}
	return vr_error_create(VR_ERR_LIMIT, "%s.%s: path too deep", type, path);
}

static struct vr_error *dwarf_member_at(Dwarf_Die *comp, uint64_t off, int depth, char **path)
{
	Dwarf_Die m;
	if (depth > TYPES_DWARF_MAX_NEST)
		return NULL;
	if (dwarf_child(comp, &m) != 0)
		return vr_error_create(VR_ERR_NOT_FOUND, "no member at offset 0x%llx",
				       (unsigned long long)off);
	int n = 0;
	do {
		if (dwarf_tag(&m) != DW_TAG_member)
			continue;
		uint64_t mb;
		Dwarf_Die mt;
		Dwarf_Word size;
		if (!member_bits(&m, &mb) || !die_type(&m, &mt))
			continue;
		Dwarf_Word bsz;
		Dwarf_Attribute a;
		if (dwarf_attr(&m, DW_AT_bit_size, &a) && dwarf_formudata(&a, &bsz) == 0)
			size = (mb % 8 + bsz + 7) / 8;
		else if (dwarf_aggregate_size(&mt, &size) != 0)
			size = dwarf_tag(&mt) == DW_TAG_pointer_type ? 8 : 0;
		uint64_t start = mb / 8;
		if (size == 0 || off < start || off - start >= size)
			continue;
		const char *mn = dwarf_diename(&m);
		bool composite = die_is_composite(&mt);
		if (!mn && !composite)
			continue;
		_cleanup_free_ char *before = vr_strdup(*path);
		if (*path && !before)
			return &vr_error_oom;
		if (mn) {
			char *np = vr_asprintf("%s%s%s", *path ? *path : "", *path ? "." : "", mn);
			if (!np)
				return &vr_error_oom;
			free(*path);
			*path = np;
		}
		if (!composite)
			return NULL;
		struct vr_error *err = dwarf_member_at(&mt, off - start, depth + 1, path);
		if (!err || err->code != VR_ERR_NOT_FOUND)
			return err;
		vr_error_destroy(err);
		if (mn)
			return NULL;
		free(*path);
		*path = before;
		before = NULL;
	} while (++n < 100000 && dwarf_siblingof(&m, &m) == 0);
	return vr_error_create(VR_ERR_NOT_FOUND, "no member at offset 0x%llx",
			       (unsigned long long)off);
}

/* ---- public ---- */

/* The per-dump cache's entry for the key that fmt makes: *ret_e NULL when
 * nothing is cached yet; an entry that cached an error returns it again.
 * *ret_key is the caller's to free. */
static struct vr_error *cache_lookup(struct vr_kernel *k, struct vr_types **ret_t, char **ret_key,
				     struct types_entry **ret_e, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
static struct vr_error *cache_lookup(struct vr_kernel *k, struct vr_types **ret_t, char **ret_key,
				     struct types_entry **ret_e, const char *fmt, ...)
{
	struct vr_error *err = types_get(k, ret_t);
	if (err)
		return err;
	va_list ap;
	va_start(ap, fmt);
	int r = vasprintf(ret_key, fmt, ap);
	va_end(ap);
	if (r < 0) {
		*ret_key = NULL;
		return &vr_error_oom;
	}
	*ret_e = cache_find(*ret_t, *ret_key);
	if (*ret_e && (*ret_e)->code)
		return cached_error(*ret_e);
	return NULL;
}

struct vr_error *vr_type_member(struct vr_kernel *k, const char *type, const char *member,
				struct vr_member *ret)
{
	struct vr_types *t;
	_cleanup_free_ char *key = NULL;
	struct types_entry *e;
	struct vr_error *err = cache_lookup(k, &t, &key, &e, "%s.%s", type, member);
	if (err)
		return err;
	if (e) {
		*ret = (struct vr_member){ e->a, e->b };
		return NULL;
	}

	struct vr_member m = { 0 };
	bool have_vmci = false;
	uint64_t vmci_off;
	if (k->vmcoreinfo && (t->sources & VR_TYPES_VMCOREINFO) &&
	    vr_vmcoreinfo_offset(k->vmcoreinfo, type, member, &vmci_off))
		have_vmci = true;

	struct vr_btf *btf = types_btf(k, t);
	struct vr_error *berr = NULL, *derr = NULL;
	bool found = false;
	if (btf) {
		uint32_t id;
		struct vr_btf_member bm;
		berr = vr_btf_find_struct(btf, type, &id);
		if (!berr)
			berr = vr_btf_member(btf, id, member, &bm);
		if (!berr) {
			m = (struct vr_member){ bm.offset, bm.size };
			found = true;
		}
	}
	if (!found) {
		derr = dwarf_member(k, t, type, member, &m);
		found = !derr;
	}
	if (have_vmci) {
		/* The kernel's own word on the offset wins; the size comes
		 * from BTF/DWARF when they know the member. */
		if (!found)
			m.size = 0;
		m.offset = vmci_off;
		found = true;
	}
	if (!found) {
		err = vr_error_create(VR_ERR_NOT_FOUND, "no layout for %s.%s: %s; %s", type, member,
				      berr ? berr->message : (t->btf_reason ? t->btf_reason : "no BTF"),
				      derr ? derr->message : "no DWARF");
	}
	vr_error_destroy(berr);
	vr_error_destroy(derr);
	if (err) {
		cache_put(t, key, err, 0, 0, NULL);
		return err;
	}
	cache_put(t, key, NULL, m.offset, m.size, NULL);
	*ret = m;
	return NULL;
}

struct vr_error *vr_type_size(struct vr_kernel *k, const char *type, uint64_t *ret)
{
	struct vr_types *t;
	_cleanup_free_ char *key = NULL;
	struct types_entry *e;
	struct vr_error *err = cache_lookup(k, &t, &key, &e, "%s", type);
	if (err)
		return err;
	if (e) {
		*ret = e->a;
		return NULL;
	}
	uint64_t size = 0;
	bool found = k->vmcoreinfo && (t->sources & VR_TYPES_VMCOREINFO) &&
		     vr_vmcoreinfo_size(k->vmcoreinfo, type, &size);
	struct vr_error *berr = NULL, *derr = NULL;
	struct vr_btf *btf = found ? NULL : types_btf(k, t);
	if (btf) {
		uint32_t id;
		berr = vr_btf_find_type(btf, type, &id);
		if (!berr)
			berr = vr_btf_type_size(btf, id, &size);
		found = !berr;
	}
	if (!found) {
		Dwarf *dbg;
		Dwarf_Die die;
		derr = dwarf_find(k, t, type, false, &dbg, &die);
		if (!derr) {
			Dwarf_Word w;
			if (dwarf_aggregate_size(&die, &w) == 0) {
				size = w;
				found = true;
			} else {
				derr = vr_dwarf_error("DWARF: size");
			}
		}
	}
	if (!found)
		err = vr_error_create(VR_ERR_NOT_FOUND, "no size for %s: %s; %s", type,
				      berr ? berr->message : (t->btf_reason ? t->btf_reason : "no BTF"),
				      derr ? derr->message : "no DWARF");
	vr_error_destroy(berr);
	vr_error_destroy(derr);
	if (err) {
		cache_put(t, key, err, 0, 0, NULL);
		return err;
	}
	cache_put(t, key, NULL, size, 0, NULL);
	*ret = size;
	return NULL;
}

struct vr_error *vr_type_member_name(struct vr_kernel *k, const char *type, uint64_t offset,
				     char **ret)
{
	struct vr_types *t;
	_cleanup_free_ char *key = NULL;
	struct types_entry *e;
	struct vr_error *err = cache_lookup(k, &t, &key, &e, "%s@%llx", type, (unsigned long long)offset);
	if (err)
		return err;
	if (e) {
		char *n = vr_strdup(e->name);
		if (!n)
			return &vr_error_oom;
		*ret = n;
		return NULL;
	}
	char *name = NULL;
	struct vr_btf *btf = types_btf(k, t);
	struct vr_error *berr = NULL, *derr = NULL;
	if (btf) {
		uint32_t id;
		berr = vr_btf_find_struct(btf, type, &id);
		if (!berr)
			berr = vr_btf_member_at(btf, id, offset, &name);
	}
	if (!name) {
		Dwarf *dbg;
		Dwarf_Die die;
		derr = dwarf_find(k, t, type, false, &dbg, &die);
		Dwarf_Die peeled;
		if (!derr && dwarf_peel_type(&die, &peeled) == 0)
			die = peeled;
		if (!derr)
			derr = dwarf_member_at(&die, offset, 0, &name);
		if (!derr && !name)
			derr = vr_error_create(VR_ERR_NOT_FOUND, "no member at offset 0x%llx",
					       (unsigned long long)offset);
		if (derr) {
			free(name);
			name = NULL;
		}
	}
	if (!name)
		err = vr_error_create(VR_ERR_NOT_FOUND, "%s+0x%llx: %s; %s", type,
				      (unsigned long long)offset,
				      berr ? berr->message : (t->btf_reason ? t->btf_reason : "no BTF"),
				      derr ? derr->message : "no DWARF");
	vr_error_destroy(berr);
	vr_error_destroy(derr);
	if (err) {
		cache_put(t, key, err, 0, 0, NULL);
		return err;
	}
	char *copy = vr_strdup(name);
	if (!copy) {
		free(name);
		return &vr_error_oom;
	}
	cache_put(t, key, NULL, 0, 0, name);
	*ret = copy;
	return NULL;
}

struct vr_error *vr_type_enum_value(struct vr_kernel *k, const char *name, int64_t *ret)
{
	struct vr_types *t;
	_cleanup_free_ char *key = NULL;
	struct types_entry *e;
	struct vr_error *err = cache_lookup(k, &t, &key, &e, "=%s", name);
	if (err)
		return err;
	if (e) {
		*ret = (int64_t)e->a;
		return NULL;
	}
	int64_t v = 0;
	bool found = false;
	struct vr_btf *btf = types_btf(k, t);
	struct vr_error *berr = NULL, *derr = NULL;
	if (btf) {
		berr = vr_btf_enum_value(btf, name, &v);
		found = !berr;
	}
	if (!found) {
		Dwarf *dbg;
		Dwarf_Die die;
		derr = dwarf_find(k, t, name, true, &dbg, &die);
		if (!derr) {
			Dwarf_Attribute a;
			Dwarf_Sword sv;
			if (dwarf_attr(&die, DW_AT_const_value, &a) && dwarf_formsdata(&a, &sv) == 0) {
				v = sv;
				found = true;
			} else {
				derr = vr_error_create(VR_ERR_FORMAT, "DWARF: enumerator %s has no value",
						       name);
			}
		}
	}
	if (!found)
		err = vr_error_create(VR_ERR_NOT_FOUND, "no enumerator %s: %s; %s", name,
				      berr ? berr->message : (t->btf_reason ? t->btf_reason : "no BTF"),
				      derr ? derr->message : "no DWARF");
	vr_error_destroy(berr);
	vr_error_destroy(derr);
	if (err) {
		cache_put(t, key, err, 0, 0, NULL);
		return err;
	}
	cache_put(t, key, NULL, (uint64_t)v, 0, NULL);
	*ret = v;
	return NULL;
}

struct vr_error *vr_types_restrict(struct vr_kernel *k, unsigned sources)
{
	struct vr_types *t;
	struct vr_error *err = types_get(k, &t);
	if (!err)
		t->sources = sources;
	return err;
}

struct vr_error *vr_kernel_member_at(struct vr_kernel *k, const char *type, uint64_t offset,
				     char **ret)
{
	return vr_type_member_name(k, type, offset, ret);
}

bool vr_member(struct vr_kernel *k, const char *type, const char *member, struct vr_member *ret)
{
	return !vr_error_catch(vr_type_member(k, type, member, ret));
}

bool vr_member_off(struct vr_kernel *k, const char *type, const char *member, uint64_t *ret)
{
	struct vr_member m;
	if (!vr_member(k, type, member, &m))
		return false;
	*ret = m.offset;
	return true;
}
