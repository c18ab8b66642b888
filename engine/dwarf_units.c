/* The vmlinux's DWARF read a compile unit at a time.
 *
 * libdw finds the unit of an address through .debug_aranges
 * (dwarf_addrdie()), but dwarf_getaranges() reads the header of every unit
 * the table names, and libdw's unit lookup reads every unit header from the
 * start of .debug_info up to the one asked for. On a 6.1 vmlinux that
 * touches 100 of its 160 MB of .debug_info, and the cost grows with the
 * vmlinux instead of with what a report needs.
 *
 * Here .debug_aranges is read once into a table sorted as libdw sorts it,
 * and each unit a report needs gets a libdw handle of its own: a small ELF
 * image in memory whose .debug_info is that unit alone and whose other
 * debug sections are the vmlinux's, mapped from the file. libdw then reads
 * one unit header, and only the pages of the units, line programs, strings
 * and ranges that a report uses are read.
 *
 *     base ─┬─ slot 0: ELF header, section headers, section names
 *           ├─ slot 1 ...                             (SLOT_SIZE each)
 *           ├─ slot DWARF_SLOTS - 1
 *           └─ the vmlinux, mapped read-only
 *
 * The image of slot i runs from its slot to the end of the mapping, so each
 * section's offset is the distance from the slot to its bytes. An image is
 * read in place by libelf (elf_memory(); nothing is copied for sections of
 * bytes in the host's byte order).
 *
 * A unit whose abbreviations use a form that refers outside the unit
 * (DW_FORM_ref_addr, supplementary or split files, DW_FORM_indirect)
 * cannot be read alone; it is read through the caller's whole-file handle.
 *
 * A unit's line table is read by dwarf_lines.c, its children by address by
 * dwarf_scan.c (what they share: dwarf_internal.h). */
#define _GNU_SOURCE
#include "dwarf_units.h"

#include <dwarf.h>
#include <gelf.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dwarf_internal.h"

#define SLOT_SIZE 4096u
#define MAX_UNITS (1u << 20)       /* units remembered */
#define MAX_ARANGES (1u << 24)

static const char *const sec_names[SEC_N] = {
	[SEC_INFO] = ".debug_info",         [SEC_ABBREV] = ".debug_abbrev",
	[SEC_LINE] = ".debug_line",         [SEC_STR] = ".debug_str",
	[SEC_LINE_STR] = ".debug_line_str", [SEC_RANGES] = ".debug_ranges",
	[SEC_RNGLISTS] = ".debug_rnglists", [SEC_LOC] = ".debug_loc",
	[SEC_LOCLISTS] = ".debug_loclists", [SEC_ADDR] = ".debug_addr",
	[SEC_STR_OFFSETS] = ".debug_str_offsets", [SEC_ARANGES] = ".debug_aranges",
};

/* ---- setup ---- */

struct vr_error *vr_dwarf_units_create(Elf *elf, int fd, struct vr_dwarf_units **ret)
{
	GElf_Ehdr eh;
	if (!gelf_getehdr(elf, &eh))
		return vr_error_create(VR_ERR_FORMAT, "reading the ELF header: %s", elf_errmsg(-1));
	if (eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_ident[EI_DATA] != ELFDATA2LSB)
		return vr_error_create(VR_ERR_UNSUPPORTED, "not a 64-bit little-endian ELF file");
	struct stat st;
	if (fstat(fd, &st) != 0 || st.st_size <= 0)
		return vr_error_create(VR_ERR_IO, "fstat: %m");
	size_t shstrndx;
	if (elf_getshdrstrndx(elf, &shstrndx) < 0)
		return vr_error_create(VR_ERR_FORMAT, "section names: %s", elf_errmsg(-1));

	struct section secs[SEC_N] = { 0 };
	for (Elf_Scn *scn = elf_nextscn(elf, NULL); scn; scn = elf_nextscn(elf, scn)) {
		GElf_Shdr sh;
		if (!gelf_getshdr(scn, &sh))
			continue;
		const char *name = elf_strptr(elf, shstrndx, sh.sh_name);
		if (!name)
			continue;
		if (!strncmp(name, ".zdebug", 7))
			return vr_error_create(VR_ERR_UNSUPPORTED, "compressed debug section %s", name);
		for (int s = 0; s < SEC_N; s++) {
			if (strcmp(name, sec_names[s]) != 0)
				continue;
			if (sh.sh_flags & SHF_COMPRESSED)
				return vr_error_create(VR_ERR_UNSUPPORTED, "compressed debug section %s",
						       name);
			if (sh.sh_type == SHT_NOBITS || sh.sh_size == 0)
				break;
			if (sh.sh_offset > (uint64_t)st.st_size ||
			    sh.sh_size > (uint64_t)st.st_size - sh.sh_offset)
				return vr_error_create(VR_ERR_FORMAT, "section %s lies past the end of the file",
						       name);
			if (!secs[s].size) /* as libdw, the first of a name */
				secs[s] = (struct section){ sh.sh_offset, sh.sh_size };
			break;
		}
	}
	if (!secs[SEC_INFO].size || !secs[SEC_ABBREV].size || !secs[SEC_ARANGES].size)
		return vr_error_create(VR_ERR_UNSUPPORTED, "no .debug_info, .debug_abbrev or .debug_aranges");

	struct vr_dwarf_units *u = calloc(1, sizeof(*u));
	if (!u)
		return &vr_error_oom;
	long page = sysconf(_SC_PAGESIZE);
	if (page <= 0 || (SLOT_SIZE % (unsigned long)page) != 0) {
		free(u);
		return vr_error_create(VR_ERR_UNSUPPORTED, "page size %ld", page);
	}
	u->file_size = (uint64_t)st.st_size;
	u->base_len = (size_t)DWARF_SLOTS * SLOT_SIZE + ((u->file_size + (uint64_t)page - 1) & ~((uint64_t)page - 1));
	void *base = mmap(NULL, u->base_len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (base == MAP_FAILED) {
		struct vr_error *err = vr_error_create(VR_ERR_IO, "reserving %zu bytes: %m", u->base_len);
		free(u);
		return err;
	}
	u->base = base;
	if (mmap(u->base, (size_t)DWARF_SLOTS * SLOT_SIZE, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == MAP_FAILED ||
	    mmap(u->base + (size_t)DWARF_SLOTS * SLOT_SIZE, u->file_size, PROT_READ, MAP_PRIVATE | MAP_FIXED, fd,
		 0) == MAP_FAILED) {
		struct vr_error *err = vr_error_create(VR_ERR_IO, "mapping the vmlinux: %m");
		munmap(u->base, u->base_len);
		free(u);
		return err;
	}
	u->file = u->base + (size_t)DWARF_SLOTS * SLOT_SIZE;
	memcpy(u->secs, secs, sizeof(secs));
	memset(&u->ehdr, 0, sizeof(u->ehdr));
	memcpy(u->ehdr.e_ident, eh.e_ident, EI_NIDENT);
	u->ehdr.e_type = eh.e_type;
	u->ehdr.e_machine = eh.e_machine;
	u->ehdr.e_version = eh.e_version;
	u->ehdr.e_flags = eh.e_flags;
	*ret = u;
	return NULL;
}

static void unit_close(struct vr_dwarf_units *u, struct vr_dwarf_unit *unit)
{
	if (unit->dbg)
		dwarf_end(unit->dbg);
	if (unit->elf)
		elf_end(unit->elf);
	unit->dbg = NULL;
	unit->elf = NULL;
	unit->handle = NULL;
	unit->open = false;
	if (unit->slot >= 0)
		u->slots[unit->slot] = NULL;
	unit->slot = -1;
}

void vr_dwarf_units_destroy(struct vr_dwarf_units *u)
{
	if (!u)
		return;
	for (size_t i = 0; i < u->n_units; i++) {
		struct vr_dwarf_unit *unit = u->units[i];
		unit_close(u, unit);
		vr_dwarf_lines_free(unit);
		vr_dwarf_scan_forget(unit);
		free(unit);
	}
	free(u->units);
	free(u->aranges);
	munmap(u->base, u->base_len);
	free(u);
}

/* ---- .debug_aranges, read as dwarf_getaranges() reads it ---- */

static void aranges_sort(struct arange *a, size_t n)
{
	/* Stable by address (libdw's qsort is glibc's merge sort): sets come
	 * in address order mostly, so insertion into runs is cheap, but a
	 * bottom-up merge keeps the worst case n log n. */
	struct arange *tmp = malloc(n * sizeof(*tmp));
	if (!tmp) {
		for (size_t i = 1; i < n; i++) { /* insertion sort, stable */
			struct arange x = a[i];
			size_t j = i;
			while (j > 0 && a[j - 1].addr > x.addr) {
				a[j] = a[j - 1];
				j--;
			}
			a[j] = x;
		}
		return;
	}
	for (size_t w = 1; w < n; w *= 2) {
		for (size_t lo = 0; lo < n; lo += 2 * w) {
			size_t mid = lo + w < n ? lo + w : n, hi = lo + 2 * w < n ? lo + 2 * w : n;
			if (mid >= hi || a[mid - 1].addr <= a[mid].addr)
				continue;
			size_t i = lo, j = mid, k = 0;
			while (i < mid && j < hi)
				tmp[k++] = a[j].addr < a[i].addr ? a[j++] : a[i++];
			while (i < mid)
				tmp[k++] = a[i++];
			while (j < hi)
				tmp[k++] = a[j++];
			memcpy(a + lo, tmp, k * sizeof(*a));
		}
	}
	free(tmp);
}

static struct vr_error *aranges_read(struct vr_dwarf_units *u)
{
	u->aranges_read = true;
	const uint8_t *p = sec_data(u, SEC_ARANGES), *end = p + u->secs[SEC_ARANGES].size;
	size_t cap = 0;
	while (p < end) {
		const uint8_t *hdr = p;
		if (end - p < 4)
			goto bad;
		uint64_t length = rd(p, 4);
		unsigned length_bytes = 4;
		p += 4;
		if (length == 0xffffffffu) {
			if (end - p < 8)
				goto bad;
			length = rd(p, 8);
			p += 8;
			length_bytes = 8;
		} else if (length >= 0xfffffff0u) {
			goto bad;
		}
		(void)length; /* libdw reads the sets one after the other */
		if (end - p < 2 || rd(p, 2) != 2)
			goto bad;
		p += 2;
		if ((size_t)(end - p) < length_bytes)
			goto bad;
		uint64_t cu_off = rd(p, length_bytes);
		p += length_bytes;
		if (cu_off >= u->secs[SEC_INFO].size)
			goto bad;
		if (end - p < 2)
			goto bad;
		unsigned asize = *p++;
		if ((asize != 4 && asize != 8) || *p++ != 0)
			goto bad;
		size_t used = (size_t)(p - hdr);
		p += (2 * asize - used % (2 * asize)) % (2 * asize);
		for (;;) {
			if (p > end || (size_t)(end - p) < 2 * asize)
				goto bad;
			uint64_t addr = rd(p, asize), len = rd(p + asize, asize);
			p += 2 * asize;
			if (addr == 0 && len == 0)
				break;
			struct vr_error *err = vr_grow(&u->aranges, &cap, u->n_aranges + 1, sizeof(*u->aranges),
						       MAX_ARANGES);
			if (err) {
				if (err->code != VR_ERR_NOMEM)
					goto bad_err;
				return err;
			}
			u->aranges[u->n_aranges++] = (struct arange){ addr, len, cu_off };
			continue;
		bad_err:
			vr_error_destroy(err);
			goto bad;
		}
	}
	aranges_sort(u->aranges, u->n_aranges);
	return NULL;
bad:
	/* dwarf_getaranges() fails as a whole, and dwarf_addrdie() with it. */
	u->aranges_bad = true;
	free(u->aranges);
	u->aranges = NULL;
	u->n_aranges = 0;
	return NULL;
}

/* dwarf_getarange_addr()'s binary search. */
static const struct arange *arange_find(const struct vr_dwarf_units *u, uint64_t addr)
{
	size_t l = 0, h = u->n_aranges;
	while (l < h) {
		size_t i = (l + h) / 2;
		const struct arange *a = &u->aranges[i];
		if (addr < a->addr)
			h = i;
		else if (addr > a->addr && addr - a->addr >= a->len)
			l = i + 1;
		else
			return a;
	}
	return NULL;
}

/* ---- units ---- */

/* Reads the unit header at cu_off: its size, the unit DIE's offset, the
 * abbreviation table and address size. false when it is not one libdw
 * reads as a compile unit. */
static bool unit_header(const struct vr_dwarf_units *u, uint64_t cu_off, uint64_t *len,
			uint64_t *die_off, uint64_t *abbrev_off, uint8_t *asize, unsigned *offset_size,
			unsigned *ret_version)
{
	const uint8_t *info = sec_data(u, SEC_INFO);
	uint64_t size = u->secs[SEC_INFO].size;
	if (cu_off >= size || size - cu_off < 11)
		return false;
	const uint8_t *p = info + cu_off, *end = info + size;
	uint64_t l = rd(p, 4);
	unsigned lf = 4, os = 4;
	if (l == 0xffffffffu) {
		if (end - p < 23)
			return false;
		l = rd(p + 4, 8);
		lf = 12;
		os = 8;
	} else if (l >= 0xfffffff0u) {
		return false;
	}
	if (l > size - cu_off - lf)
		return false;
	p += lf;
	unsigned version = (unsigned)rd(p, 2);
	p += 2;
	uint64_t hdr;
	if (version >= 2 && version <= 4) {
		*abbrev_off = rd(p, os);
		*asize = p[os];
		hdr = lf + 2 + os + 1;
	} else if (version == 5) {
		uint8_t type = p[0];
		if (type != DW_UT_compile && type != DW_UT_partial)
			return false;
		*asize = p[1];
		*abbrev_off = rd(p + 2, os);
		hdr = lf + 2 + 2 + os;
	} else {
		return false;
	}
	if (hdr > lf + l)
		return false;
	*len = lf + l;
	*die_off = cu_off + hdr;
	*offset_size = os;
	*ret_version = version;
	return true;
}

/* Whether the unit's abbreviations let it be read alone: no form that
 * points outside the unit. */
static bool abbrevs_local(const struct vr_dwarf_units *u, uint64_t abbrev_off)
{
	const uint8_t *d = sec_data(u, SEC_ABBREV);
	if (abbrev_off >= u->secs[SEC_ABBREV].size)
		return false;
	const uint8_t *p = d + abbrev_off, *end = d + u->secs[SEC_ABBREV].size;
	for (size_t n = 0; n < DWARF_MAX_ABBREVS; n++) {
		if (p >= end)
			return false;
		uint64_t code = uleb(&p, end);
		if (code == 0)
			return true;
		if (p >= end)
			return false;
		uint64_t tag = uleb(&p, end);
		if (tag == DW_TAG_imported_unit || tag == DW_TAG_skeleton_unit || p >= end)
			return false;
		p++; /* children */
		for (;;) {
			if (p >= end)
				return false;
			uint64_t name = uleb(&p, end);
			if (p >= end)
				return false;
			uint64_t form = uleb(&p, end);
			if (name == 0 && form == 0)
				break;
			switch (form) {
			case DW_FORM_ref_addr:
			case DW_FORM_ref_sig8:
			case DW_FORM_ref_sup4:
			case DW_FORM_ref_sup8:
			case DW_FORM_strp_sup:
			case DW_FORM_GNU_ref_alt:
			case DW_FORM_GNU_strp_alt:
			case DW_FORM_indirect:
				return false;
			case DW_FORM_implicit_const:
				if (p >= end)
					return false;
				sleb(&p, end);
				break;
			default:
				break;
			}
		}
	}
	return false;
}

/* Writes the image of unit into its slot and opens it. */
static bool unit_open_alone(struct vr_dwarf_units *u, struct vr_dwarf_unit *unit, uint64_t hdr_size)
{
	uint8_t *slot = u->base + (size_t)unit->slot * SLOT_SIZE;
	uint64_t delta = (uint64_t)(DWARF_SLOTS - (unsigned)unit->slot) * SLOT_SIZE;
	memset(slot, 0, SLOT_SIZE);
	Elf64_Ehdr *eh = (Elf64_Ehdr *)slot;
	Elf64_Shdr *sh = (Elf64_Shdr *)(slot + sizeof(*eh));
	size_t n = 1;
	char *names = (char *)(sh + SEC_N + 2);
	size_t names_len = 1; /* the empty name */
	for (int s = 0; s < SEC_N; s++) {
		if (!u->secs[s].size || s == SEC_ARANGES)
			continue;
		size_t l = strlen(sec_names[s]) + 1;
		memcpy(names + names_len, sec_names[s], l);
		uint64_t off = u->secs[s].off, size = u->secs[s].size;
		if (s == SEC_INFO) {
			off += unit->cu_off;
			size = unit->len;
		}
		sh[n++] = (Elf64_Shdr){ .sh_name = (Elf64_Word)names_len, .sh_type = SHT_PROGBITS,
					.sh_offset = delta + off, .sh_size = size, .sh_addralign = 1 };
		names_len += l;
	}
	static const char shstrtab[] = ".shstrtab";
	memcpy(names + names_len, shstrtab, sizeof(shstrtab));
	sh[n] = (Elf64_Shdr){ .sh_name = (Elf64_Word)names_len, .sh_type = SHT_STRTAB,
			      .sh_offset = (uint64_t)((uint8_t *)names - slot),
			      .sh_size = names_len + sizeof(shstrtab), .sh_addralign = 1 };
	n++;
	*eh = u->ehdr;
	eh->e_shoff = sizeof(*eh);
	eh->e_ehsize = sizeof(*eh);
	eh->e_shentsize = sizeof(*sh);
	eh->e_shnum = (Elf64_Half)n;
	eh->e_shstrndx = (Elf64_Half)(n - 1);

	unit->elf = elf_memory((char *)slot, delta + u->file_size);
	if (!unit->elf)
		return false;
	unit->dbg = dwarf_begin_elf(unit->elf, DWARF_C_READ, NULL);
	if (!unit->dbg || !dwarf_offdie(unit->dbg, hdr_size, &unit->cu))
		return false;
	return true;
}

static int unit_cmp(const void *key, const void *elem)
{
	uint64_t k = *(const uint64_t *)key, o = (*(struct vr_dwarf_unit *const *)elem)->cu_off;
	return k < o ? -1 : k > o;
}

/* The unit at cu_off, created on first use. */
static struct vr_error *unit_get(struct vr_dwarf_units *u, uint64_t cu_off, struct vr_dwarf_unit **ret)
{
	size_t lo = 0, hi = u->n_units;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = unit_cmp(&cu_off, &u->units[mid]);
		if (c == 0) {
			*ret = u->units[mid];
			return NULL;
		}
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	struct vr_error *err = vr_grow(&u->units, &u->cap_units, u->n_units + 1, sizeof(*u->units), MAX_UNITS);
	if (err)
		return err;
	struct vr_dwarf_unit *unit = calloc(1, sizeof(*unit));
	if (!unit)
		return &vr_error_oom;
	unit->owner = u;
	unit->cu_off = cu_off;
	unit->slot = -1;
	memmove(&u->units[lo + 1], &u->units[lo], (u->n_units - lo) * sizeof(*u->units));
	u->units[lo] = unit;
	u->n_units++;
	*ret = unit;
	return NULL;
}

static int free_slot(struct vr_dwarf_units *u)
{
	for (unsigned i = 0; i < DWARF_SLOTS; i++)
		if (!u->slots[i])
			return (int)i;
	unsigned lru = 0;
	for (unsigned i = 1; i < DWARF_SLOTS; i++)
		if (u->slots[i]->used < u->slots[lru]->used)
			lru = i;
	unit_close(u, u->slots[lru]);
	return (int)lru;
}

struct vr_error *vr_dwarf_units_find(struct vr_dwarf_units *u, Dwarf *whole, Dwarf_Addr pc,
				     struct vr_dwarf_unit **ret)
{
	*ret = NULL;
	if (!u->aranges_read) {
		struct vr_error *err = aranges_read(u);
		if (err)
			return err;
	}
	const struct arange *a = arange_find(u, pc);
	if (!a)
		return NULL;
	struct vr_dwarf_unit *unit;
	struct vr_error *err = unit_get(u, a->cu_off, &unit);
	if (err)
		return err;
	unit->used = ++u->clock;
	if (unit->open) {
		*ret = unit;
		return NULL;
	}
	uint64_t abbrev_off, len, die_off;
	unsigned offset_size, version;
	if (!unit_header(u, unit->cu_off, &len, &die_off, &abbrev_off, &unit->address_size, &offset_size,
			 &version))
		return NULL; /* libdw finds no unit DIE there either */
	unit->len = len;
	unit->die_off = die_off;
	unit->abbrev_off = abbrev_off;
	unit->offset_size = (uint8_t)offset_size;
	unit->version = (uint16_t)version;
	if (!unit->checked) {
		unit->alone = abbrevs_local(u, abbrev_off);
		unit->checked = true;
	}
	if (unit->alone) {
		unit->slot = free_slot(u);
		u->slots[unit->slot] = unit;
		if (unit_open_alone(u, unit, die_off - unit->cu_off)) {
			unit->handle = unit->dbg;
			unit->open = true;
			*ret = unit;
			return NULL;
		}
		unit_close(u, unit);
		unit->alone = false;
		/* DIE offsets differ in the whole file's handle. */
		vr_dwarf_scan_forget(unit);
	}
	/* Read through the whole file, as libdw would. */
	if (whole && dwarf_offdie(whole, die_off, &unit->cu)) {
		unit->handle = whole;
		unit->open = true;
		*ret = unit;
	}
	return NULL;
}

Dwarf_Die *vr_dwarf_unit_die(struct vr_dwarf_unit *unit)
{
	return &unit->cu;
}

bool vr_dwarf_unit_alone(const struct vr_dwarf_unit *unit)
{
	return unit->dbg != NULL;
}

bool vr_dwarf_unit_open(const struct vr_dwarf_unit *unit)
{
	return unit->open;
}

void vr_dwarf_units_stats(const struct vr_dwarf_units *u, size_t *ret_units, uint64_t *ret_bytes,
			  uint64_t *ret_info)
{
	size_t n = 0;
	uint64_t bytes = 0;
	for (size_t i = 0; i < u->n_units; i++)
		if (u->units[i]->len) {
			n++;
			bytes += u->units[i]->len;
		}
	*ret_units = n;
	*ret_bytes = bytes;
	*ret_info = u->secs[SEC_INFO].size;
}
