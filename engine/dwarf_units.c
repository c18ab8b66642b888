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
 *           ├─ slot SLOTS - 1
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
 * The line table (DWARF 2-5) is read here too, for one address at a time:
 * libdw decodes a unit's whole line program into rows and sorts them, which
 * cost most of a report's time. The row chosen is the one libdw's
 * dwarf_getsrc_die() chooses: of the rows sorted by address (an
 * end_sequence row before others at its address, then in program order),
 * the last at or below pc, unless it ends a sequence; libdw marks the last
 * sorted row as ending one. A program libdw would refuse is refused here;
 * one using what this reader leaves to libdw (DW_LNE_define_file, unusual
 * forms in a DWARF 5 file table) is read by libdw. */
#define _GNU_SOURCE
#include "dwarf_units.h"

#include <dwarf.h>
#include <gelf.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define SLOT_SIZE 4096u
#define SLOTS 256u                 /* units open at once; more evict the least used */
#define MAX_UNITS (1u << 20)       /* units remembered */
#define MAX_ARANGES (1u << 24)
#define MAX_ABBREVS (1u << 20)     /* abbreviations scanned in one unit's table */
#define MAX_LINE_FILES (1u << 20)

enum sec {
	SEC_INFO,
	SEC_ABBREV,
	SEC_LINE,
	SEC_STR,
	SEC_LINE_STR,
	SEC_RANGES,
	SEC_RNGLISTS,
	SEC_LOC,
	SEC_LOCLISTS,
	SEC_ADDR,
	SEC_STR_OFFSETS,
	SEC_ARANGES,
	SEC_N,
};

static const char *const sec_names[SEC_N] = {
	[SEC_INFO] = ".debug_info",         [SEC_ABBREV] = ".debug_abbrev",
	[SEC_LINE] = ".debug_line",         [SEC_STR] = ".debug_str",
	[SEC_LINE_STR] = ".debug_line_str", [SEC_RANGES] = ".debug_ranges",
	[SEC_RNGLISTS] = ".debug_rnglists", [SEC_LOC] = ".debug_loc",
	[SEC_LOCLISTS] = ".debug_loclists", [SEC_ADDR] = ".debug_addr",
	[SEC_STR_OFFSETS] = ".debug_str_offsets", [SEC_ARANGES] = ".debug_aranges",
};

struct section {
	uint64_t off, size; /* in the file; size 0: absent */
};

struct arange {
	uint64_t addr, len;
	uint64_t cu_off; /* the unit's header in .debug_info */
};

/* A line table file: its name and, unless the name is absolute, the
 * directory libdw puts before it (NULL: none). */
struct line_file {
	const char *name;
	const char *dir;
};

struct line_table {
	const uint8_t *prog, *end; /* the program */
	uint8_t min_insn, max_ops, default_is_stmt, line_range, opcode_base, address_size;
	int8_t line_base;
	const uint8_t *std_len;  /* std_len[op]: the argument count of standard opcode op */
	const uint8_t *unit_end; /* bound on reading std_len */
	struct line_file *files;
	size_t n_files;
	/* Special opcodes when max_ops is 1 (always on x86): the line and
	 * address each adds, looked up rather than divided out. */
	bool fast;
	int32_t line_adv[256];
	uint32_t addr_adv[256];
};

struct scope_range {
	Dwarf_Off die;     /* a child of the unit DIE, in the unit's handle */
	uint64_t lo, hi;   /* one of its ranges */
};

enum { LINES_UNREAD, LINES_OWN, LINES_LIBDW, LINES_BAD };
enum { INDEX_UNBUILT, INDEX_OK, INDEX_NONE };

struct vr_dwarf_unit {
	struct vr_dwarf_units *owner;
	uint64_t cu_off, len;   /* header offset in .debug_info; whole unit's size */
	uint64_t die_off;       /* offset of the unit DIE in .debug_info */
	uint64_t abbrev_off;    /* its abbreviations in .debug_abbrev */
	uint8_t address_size, offset_size;
	uint16_t version;
	bool alone;             /* may be read in a handle of its own */
	bool checked;           /* alone is known */
	int slot;               /* its image's slot, -1 none */
	Elf *elf;
	Dwarf *dbg;             /* own handle, or NULL */
	Dwarf *handle;          /* dbg, or the whole file's */
	Dwarf_Die cu;
	bool open;              /* cu is valid */
	uint64_t used;          /* for eviction */
	int lines_state;
	bool program_checked, program_ok;
	struct line_table lt;
	struct line_index *lix;  /* its sequences, once the program is read */
	int index_state;
	struct scope_range *ranges;
	size_t n_ranges;
};

struct vr_dwarf_units {
	uint8_t *base;            /* the reservation */
	size_t base_len;
	const uint8_t *file;      /* the vmlinux in it */
	uint64_t file_size;
	Elf64_Ehdr ehdr;
	struct section secs[SEC_N];
	bool aranges_read, aranges_bad;
	struct arange *aranges;
	size_t n_aranges;
	struct vr_dwarf_unit **units; /* sorted by cu_off */
	size_t n_units, cap_units;
	struct vr_dwarf_unit *slots[SLOTS];
	uint64_t clock;
};

/* ---- bytes ---- */

static const uint8_t *sec_data(const struct vr_dwarf_units *u, enum sec s)
{
	return u->secs[s].size ? u->file + u->secs[s].off : NULL;
}

/* LEB128 as libdw reads it (libdw/memory-access.h): at most ten bytes of a
 * ULEB128, nine and a sign byte of an SLEB128; an unterminated one reads
 * as the largest value. The caller checks p < end first. */
static uint64_t uleb(const uint8_t **pp, const uint8_t *end)
{
	const uint8_t *p = *pp;
	size_t max = (size_t)(end - p) < 10 ? (size_t)(end - p) : 10;
	uint64_t acc = 0;
	for (size_t i = 0; i < (max ? max : 1); i++) {
		uint8_t b = *p++;
		acc |= (uint64_t)(b & 0x7f) << (i * 7);
		if (!(b & 0x80)) {
			*pp = p;
			return acc;
		}
	}
	*pp = p;
	return UINT64_MAX;
}

static int64_t sleb(const uint8_t **pp, const uint8_t *end)
{
	const uint8_t *p = *pp;
	size_t max = (size_t)(end - p) < 9 ? (size_t)(end - p) : 9;
	uint64_t acc = 0;
	for (size_t i = 0; i < (max ? max : 1); i++) {
		uint8_t b = *p++;
		acc |= (uint64_t)(b & 0x7f) << (i * 7);
		if (!(b & 0x80)) {
			if (b & 0x40)
				acc |= -((uint64_t)1 << ((i + 1) * 7));
			*pp = p;
			return (int64_t)acc;
		}
	}
	if (p >= end) {
		*pp = p;
		return INT64_MAX;
	}
	uint8_t b = *p++;
	*pp = p;
	if (!(b & 0x80))
		return (int64_t)(acc | (uint64_t)b << (7 * max));
	return INT64_MAX;
}

static uint64_t rd(const uint8_t *p, unsigned n)
{
	uint64_t v = 0;
	for (unsigned i = 0; i < n; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

/* A NUL-terminated string at off in section s, or NULL. */
static const char *sec_string(const struct vr_dwarf_units *u, enum sec s, uint64_t off)
{
	const uint8_t *d = sec_data(u, s);
	if (!d || off >= u->secs[s].size)
		return NULL;
	if (!memchr(d + off, 0, u->secs[s].size - off))
		return NULL;
	return (const char *)d + off;
}

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
	u->base_len = (size_t)SLOTS * SLOT_SIZE + ((u->file_size + (uint64_t)page - 1) & ~((uint64_t)page - 1));
	void *base = mmap(NULL, u->base_len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (base == MAP_FAILED) {
		struct vr_error *err = vr_error_create(VR_ERR_IO, "reserving %zu bytes: %m", u->base_len);
		free(u);
		return err;
	}
	u->base = base;
	if (mmap(u->base, (size_t)SLOTS * SLOT_SIZE, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == MAP_FAILED ||
	    mmap(u->base + (size_t)SLOTS * SLOT_SIZE, u->file_size, PROT_READ, MAP_PRIVATE | MAP_FIXED, fd,
		 0) == MAP_FAILED) {
		struct vr_error *err = vr_error_create(VR_ERR_IO, "mapping the vmlinux: %m");
		munmap(u->base, u->base_len);
		free(u);
		return err;
	}
	u->file = u->base + (size_t)SLOTS * SLOT_SIZE;
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

static void line_index_free(struct line_index *ix);

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
		free(unit->lt.files);
		line_index_free(unit->lix);
		free(unit->ranges);
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
	for (size_t n = 0; n < MAX_ABBREVS; n++) {
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
	uint64_t delta = (uint64_t)(SLOTS - (unsigned)unit->slot) * SLOT_SIZE;
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
	for (unsigned i = 0; i < SLOTS; i++)
		if (!u->slots[i])
			return (int)i;
	unsigned lru = 0;
	for (unsigned i = 1; i < SLOTS; i++)
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
		free(unit->ranges);
		unit->ranges = NULL;
		unit->n_ranges = 0;
		unit->index_state = INDEX_UNBUILT;
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

/* ---- the line table ----
 *
 * The program is run once (a survey): libdw refuses a whole program for a
 * bad value anywhere, and marks the last row in its order as ending a
 * sequence, so both need all of it. The survey notes each sequence's
 * address range, its last row, and where the run stood every
 * CHECKPOINT_ROWS rows; an address is then looked up by running a few
 * rows from a checkpoint. */

/* A string of a DWARF 5 directory or file entry; false for a form this
 * reader leaves to libdw. */
static bool entry_string(const struct vr_dwarf_units *u, unsigned form, const uint8_t *p,
			 const uint8_t *end, unsigned offset_size, const char **ret)
{
	switch (form) {
	case DW_FORM_string:
		*ret = memchr(p, 0, (size_t)(end - p)) ? (const char *)p : NULL;
		return true;
	case DW_FORM_strp:
	case DW_FORM_line_strp:
		if ((size_t)(end - p) < offset_size)
			return false;
		*ret = sec_string(u, form == DW_FORM_strp ? SEC_STR : SEC_LINE_STR, rd(p, offset_size));
		return *ret != NULL;
	default:
		return false;
	}
}

/* The size of a value of form at p; 0 with *ok false for a form this
 * reader leaves to libdw. */
static uint64_t entry_size(unsigned form, const uint8_t *p, const uint8_t *end, unsigned offset_size,
			   bool *ok)
{
	const uint8_t *q = p;
	*ok = true;
	switch (form) {
	case DW_FORM_string: {
		const uint8_t *z = memchr(p, 0, (size_t)(end - p));
		if (z)
			return (uint64_t)(z + 1 - p);
		break;
	}
	case DW_FORM_strp:
	case DW_FORM_line_strp:
		return offset_size;
	case DW_FORM_data1:
		return 1;
	case DW_FORM_data2:
		return 2;
	case DW_FORM_data4:
		return 4;
	case DW_FORM_data8:
		return 8;
	case DW_FORM_data16:
		return 16;
	case DW_FORM_udata:
		if (q < end) {
			uleb(&q, end);
			return (uint64_t)(q - p);
		}
		break;
	case DW_FORM_block: {
		if (q < end) {
			uint64_t n = uleb(&q, end);
			if (n <= (uint64_t)(end - q))
				return (uint64_t)(q - p) + n;
		}
		break;
	}
	default:
		break;
	}
	*ok = false;
	return 0;
}

static bool entry_udata(unsigned form, const uint8_t *p, const uint8_t *end, uint64_t *ret)
{
	unsigned n = form == DW_FORM_data1 ? 1 : form == DW_FORM_data2 ? 2 : form == DW_FORM_data4 ? 4
		   : form == DW_FORM_data8 ? 8 : 0;
	if (n) {
		if ((size_t)(end - p) < n)
			return false;
		*ret = rd(p, n);
		return true;
	}
	if (form == DW_FORM_udata && p < end) {
		*ret = uleb(&p, end);
		return true;
	}
	return false;
}

/* Parses the program's header as read_srclines() does
 * (libdw/dwarf_getsrclines.c). LINES_OWN, LINES_BAD (libdw refuses it), or
 * LINES_LIBDW (a form this reader does not read). */
static int lines_header(struct vr_dwarf_units *u, struct vr_dwarf_unit *unit)
{
	Dwarf_Attribute a;
	Dwarf_Word stmt;
	if (!dwarf_attr(&unit->cu, DW_AT_stmt_list, &a))
		return LINES_BAD;
	if (a.form != DW_FORM_sec_offset && a.form != DW_FORM_data4 && a.form != DW_FORM_data8)
		return LINES_LIBDW;
	if (dwarf_formudata(&a, &stmt) != 0)
		return LINES_BAD;
	const uint8_t *sec = sec_data(u, SEC_LINE);
	if (!sec || stmt >= u->secs[SEC_LINE].size)
		return LINES_BAD;
	const uint8_t *p = sec + stmt, *end = sec + u->secs[SEC_LINE].size;
	struct line_table *lt = &unit->lt;

	if (end - p < 4)
		return LINES_BAD;
	uint64_t unit_length = rd(p, 4);
	unsigned length = 4;
	p += 4;
	if (unit_length == 0xffffffffu) {
		if (end - p < 8)
			return LINES_BAD;
		unit_length = rd(p, 8);
		p += 8;
		length = 8;
	}
	if (unit_length > (uint64_t)(end - p))
		return LINES_BAD;
	end = p + unit_length;
	if (end - p < 2)
		return LINES_BAD;
	unsigned version = (unsigned)rd(p, 2);
	p += 2;
	if (version < 2 || version > 5)
		return LINES_BAD;
	if (version >= 5) {
		if (end - p < 2)
			return LINES_BAD;
		if (p[0] != unit->address_size || p[1] != 0)
			return LINES_BAD;
		p += 2;
	}
	if ((size_t)(end - p) < length)
		return LINES_BAD;
	uint64_t header_length = rd(p, length);
	p += length;
	const uint8_t *header_start = p;
	if (end - p < 1)
		return LINES_BAD;
	lt->min_insn = *p++;
	lt->max_ops = 1;
	if (version >= 4) {
		if (end - p < 1)
			return LINES_BAD;
		lt->max_ops = *p++;
		if (!lt->max_ops)
			return LINES_BAD;
	}
	if (end - p < 4)
		return LINES_BAD;
	lt->default_is_stmt = *p++;
	lt->line_base = (int8_t)*p++;
	lt->line_range = *p++;
	lt->opcode_base = *p++;
	lt->std_len = p - 1;
	if (end - p < (ptrdiff_t)lt->opcode_base - 1)
		return LINES_BAD;
	p += lt->opcode_base - 1;
	lt->address_size = unit->address_size;
	lt->unit_end = end;

	const char *comp_dir = NULL;
	if (version < 5 && dwarf_attr(&unit->cu, DW_AT_comp_dir, &a))
		comp_dir = dwarf_formstring(&a);

	/* Directories. */
	const char **dirs = NULL;
	size_t ndirs = 0;
	int res = LINES_BAD;
	uint16_t forms[256];
	unsigned nforms = 0, form_path = 256, form_idx = 256;
	if (version < 5) {
		const uint8_t *q = p;
		while (q < end && *q) {
			const uint8_t *z = memchr(q, 0, (size_t)(end - q));
			if (!z)
				return LINES_BAD;
			ndirs++;
			q = z + 1;
		}
		if (q >= end || *q)
			return LINES_BAD;
		ndirs++;
		if (ndirs > MAX_LINE_FILES || !(dirs = calloc(ndirs, sizeof(*dirs))))
			return LINES_LIBDW;
		dirs[0] = comp_dir;
		for (size_t n = 1; n < ndirs; n++) {
			dirs[n] = (const char *)p;
			p += strlen((const char *)p) + 1;
		}
		p++;
	} else {
		if (end - p < 1)
			return LINES_BAD;
		nforms = *p++;
		for (unsigned i = 0; i < nforms; i++) {
			if (end - p < 1)
				return LINES_BAD;
			uint64_t desc = uleb(&p, end);
			if (end - p < 1)
				return LINES_BAD;
			uint64_t form = uleb(&p, end);
			forms[i] = (uint16_t)form;
			if (form != forms[i])
				return LINES_LIBDW;
			if ((uint16_t)desc == DW_LNCT_path)
				form_path = i;
		}
		if (nforms > 0 && form_path == 256)
			return LINES_BAD;
		if (end - p < 1)
			return LINES_BAD;
		ndirs = uleb(&p, end);
		if (nforms == 0 && ndirs != 0)
			return LINES_BAD;
		if (nforms != 0 && ndirs > (size_t)(end - p) / nforms)
			return LINES_BAD;
		if (ndirs > MAX_LINE_FILES || !(dirs = calloc(ndirs ? ndirs : 1, sizeof(*dirs))))
			return LINES_LIBDW;
		for (size_t n = 0; n < ndirs; n++) {
			const char *dir = NULL;
			for (unsigned m = 0; m < nforms; m++) {
				bool ok;
				if (m == form_path && !entry_string(u, forms[m], p, end, length, &dir)) {
					res = LINES_LIBDW;
					goto out;
				}
				uint64_t len = entry_size(forms[m], p, end, length, &ok);
				if (!ok) {
					res = LINES_LIBDW;
					goto out;
				}
				if ((uint64_t)(end - p) < len)
					goto out;
				p += len;
			}
			if (!dir)
				goto out;
			dirs[n] = dir;
		}
	}

	/* Files: [0] is libdw's "???" until DWARF 5's first entry replaces
	 * it. */
	size_t cap = 0;
	struct line_file *files = NULL;
	size_t nfiles = 0;
	if (vr_error_catch(vr_grow(&files, &cap, 1, sizeof(*files), MAX_LINE_FILES))) {
		res = LINES_LIBDW;
		goto out;
	}
	files[nfiles++] = (struct line_file){ "???", NULL };
	if (version < 5) {
		if (p >= end)
			goto out_files;
		while (p < end && *p) {
			const char *fname = (const char *)p;
			const uint8_t *z = memchr(p, 0, (size_t)(end - p));
			if (!z)
				goto out_files;
			p = z + 1;
			if (p >= end)
				goto out_files;
			uint64_t diridx = uleb(&p, end);
			if (diridx >= ndirs)
				goto out_files;
			for (int i = 0; i < 2; i++) { /* mtime, length */
				if (p >= end)
					goto out_files;
				uleb(&p, end);
			}
			if (vr_error_catch(vr_grow(&files, &cap, nfiles + 1, sizeof(*files), MAX_LINE_FILES))) {
				res = LINES_LIBDW;
				goto out_files;
			}
			files[nfiles++] = (struct line_file){ fname, fname[0] == '/' ? NULL : dirs[diridx] };
		}
		if (p >= end || *p)
			goto out_files;
		p++;
	} else {
		if (end - p < 1)
			goto out_files;
		nforms = *p++;
		form_path = form_idx = 256;
		for (unsigned i = 0; i < nforms; i++) {
			if (end - p < 1)
				goto out_files;
			uint64_t desc = uleb(&p, end);
			if (end - p < 1)
				goto out_files;
			uint64_t form = uleb(&p, end);
			forms[i] = (uint16_t)form;
			if (form != forms[i]) {
				res = LINES_LIBDW;
				goto out_files;
			}
			if ((uint16_t)desc == DW_LNCT_path)
				form_path = i;
			else if ((uint16_t)desc == DW_LNCT_directory_index)
				form_idx = i;
		}
		if (nforms > 0 && (form_path == 256 || form_idx == 256))
			goto out_files;
		if (p >= end)
			goto out_files;
		uint64_t n_entries = uleb(&p, end);
		if (nforms == 0 && n_entries != 0)
			goto out_files;
		if (nforms != 0 && n_entries > (uint64_t)(end - p) / nforms)
			goto out_files;
		for (uint64_t n = 0; n < n_entries; n++) {
			const char *fname = NULL;
			uint64_t diridx = UINT64_MAX;
			for (unsigned m = 0; m < nforms; m++) {
				bool ok;
				if (m == form_path && !entry_string(u, forms[m], p, end, length, &fname)) {
					res = LINES_LIBDW;
					goto out_files;
				}
				if (m == form_idx && !entry_udata(forms[m], p, end, &diridx)) {
					res = LINES_LIBDW;
					goto out_files;
				}
				uint64_t len = entry_size(forms[m], p, end, length, &ok);
				if (!ok) {
					res = LINES_LIBDW;
					goto out_files;
				}
				if ((uint64_t)(end - p) < len)
					goto out_files;
				p += len;
			}
			if (!fname || diridx == UINT64_MAX || diridx >= ndirs)
				goto out_files;
			struct line_file f = { fname, fname[0] == '/' ? NULL : dirs[diridx] };
			if (n == 0) {
				files[0] = f;
				continue;
			}
			if (vr_error_catch(vr_grow(&files, &cap, nfiles + 1, sizeof(*files), MAX_LINE_FILES))) {
				res = LINES_LIBDW;
				goto out_files;
			}
			files[nfiles++] = f;
		}
	}
	/* CUBINs keep a 4-byte string offset here. */
	if (header_length >= 4 && p == header_start + header_length - 4)
		p += 4;
	if (p != header_start + header_length)
		goto out_files;
	lt->prog = p;
	lt->end = end;
	lt->files = files;
	lt->n_files = nfiles;
	files = NULL;
	res = LINES_OWN;
	lt->fast = lt->max_ops == 1 && lt->line_range != 0;
	for (unsigned op = lt->opcode_base; lt->fast && op < 256; op++) {
		/* As the state machine computes them (lines_run_mode()). */
		lt->line_adv[op] = lt->line_base + (int)((op - lt->opcode_base) % lt->line_range);
		lt->addr_adv[op] = (uint32_t)(lt->min_insn * ((op - lt->opcode_base) / lt->line_range));
	}
out_files:
	free(files);
out:
	free(dirs);
	return res;
}

struct row {
	uint64_t addr;
	uint64_t seq;
	uint32_t file;
	int32_t line;
	bool end_seq;
};

/* a sorts after b in libdw's order */
static bool row_after(const struct row *a, const struct row *b)
{
	if (a->addr != b->addr)
		return a->addr > b->addr;
	if (a->end_seq != b->end_seq)
		return !a->end_seq;
	return a->seq > b->seq;
}

/* The state machine's registers (DWARF 5 section 6.2.2), and nrows, the
 * rows emitted so far (the next row's position in the program). */
struct lstate {
	uint64_t addr, nrows;
	int64_t line;
	uint32_t op_index, file, column, isa, discriminator;
	uint8_t is_stmt;
};

/* Every CHECKPOINT_ROWS rows, where the run stood. */
#define CHECKPOINT_ROWS 64

struct checkpoint {
	const uint8_t *p;   /* the next opcode */
	struct lstate st;
	struct row row;     /* the row just emitted */
};

/* A sequence: the rows from one DW_LNE_end_sequence (or the program's
 * start) to the next. */
struct sequence {
	const uint8_t *start;
	uint64_t first_row;
	uint64_t lo, hi;    /* lowest and highest row address */
	bool monotonic;     /* addresses never decrease */
	bool any;           /* it has rows */
	struct row max;     /* its last row in libdw's order */
	size_t first_ck, n_ck;
	/* While the survey reads it: its last row, and its last that does
	 * not end it. */
	struct row last, last_normal;
	bool has_normal;
};

struct line_index {
	struct sequence *seqs;
	size_t n_seqs, cap_seqs;
	struct checkpoint *cks;
	size_t n_cks, cap_cks;
	struct row last;    /* the last row of all in libdw's order */
	bool any;
};

static void lstate_reset(struct lstate *st, const struct line_table *lt)
{
	uint64_t nrows = st->nrows;
	*st = (struct lstate){ .nrows = nrows, .file = 1, .line = 1, .is_stmt = lt->default_is_stmt };
}

enum { RUN_OK, RUN_BAD, RUN_LIBDW };

enum run_mode {
	RUN_SURVEY, /* the whole program: validate it, index its sequences */
	RUN_FIND,   /* a monotonic sequence from a checkpoint: the last row <= pc */
	RUN_SEQ,    /* one sequence: its last row <= pc in libdw's order */
};

struct run {
	enum run_mode mode;
	uint64_t pc;
	struct row best;        /* best.seq UINT64_MAX: none yet */
	struct line_index *ix;  /* RUN_SURVEY */
	struct sequence cur;    /* RUN_SURVEY: the sequence being read */
	uint64_t lo;            /* RUN_SEQ: the lowest row address */
	bool oom;
};

static bool survey_checkpoint(struct run *r, const uint8_t *p, const struct lstate *st, const struct row *row)
{
	struct line_index *ix = r->ix;
	if (vr_error_catch(vr_grow(&ix->cks, &ix->cap_cks, ix->n_cks + 1, sizeof(*ix->cks), SIZE_MAX / 64))) {
		r->oom = true;
		return false;
	}
	ix->cks[ix->n_cks++] = (struct checkpoint){ p, *st, *row };
	r->cur.n_ck++;
	return true;
}

static bool survey_end(struct run *r)
{
	struct line_index *ix = r->ix;
	struct sequence *q = &r->cur;
	if (!q->any)
		return true;
	/* Rows in address order: the last is the last in libdw's order, but
	 * for a sequence's end row, which a row at its address follows. The
	 * others' are found afterwards (lines_survey()). */
	if (q->monotonic) {
		q->max = q->last.end_seq && q->has_normal && q->last_normal.addr == q->last.addr ? q->last_normal
												  : q->last;
		q->hi = q->max.addr;
		if (!ix->any || row_after(&q->max, &ix->last))
			ix->last = q->max;
		ix->any = true;
	}
	if (vr_error_catch(vr_grow(&ix->seqs, &ix->cap_seqs, ix->n_seqs + 1, sizeof(*ix->seqs), SIZE_MAX / 128))) {
		r->oom = true;
		return false;
	}
	ix->seqs[ix->n_seqs++] = r->cur;
	return true;
}

/* Runs the program from p with the registers st (the state machine of
 * DWARF 5 section 6.2, as read_srclines() runs it), in r's mode. */
static inline __attribute__((always_inline)) int lines_run_mode(const struct line_table *lt, const uint8_t *p,
								 struct lstate st, struct run *r,
								 const enum run_mode mode)
{
	const uint8_t *end = lt->end;
	const uint8_t *std_len = lt->std_len;
	unsigned max_ops = lt->max_ops, min_insn = lt->min_insn, line_range = lt->line_range,
		 opcode_base = lt->opcode_base;
	bool ck_due = false;
	/* A register holds a value libdw would refuse in a row (a column
	 * past 16 bits, ...): checked at each row only while one may. The
	 * operation index never passes 255 (it stays below max_ops). */
	bool odd = st.is_stmt > 1 || st.column > 0xffff || st.isa > 0xff || st.discriminator > 0xffffff;
	if (mode == RUN_SURVEY)
		r->cur = (struct sequence){ .start = p, .first_row = st.nrows, .monotonic = true,
					    .first_ck = r->ix->n_cks };

/* libdw keeps a row's fields in bit fields and refuses a program whose
 * values do not fit (add_new_line()'s SET). */
#define EMIT(end_sequence)                                                                      \
	do {                                                                                      \
		if (st.line != (int32_t)st.line)                                                   \
			return RUN_BAD;                                                            \
		if (odd) {                                                                         \
			if (st.column > 0xffff || st.is_stmt > 1 || st.isa > 0xff ||               \
			    st.discriminator > 0xffffff)                                           \
				return RUN_BAD;                                                    \
			odd = false;                                                               \
		}                                                                                  \
		struct row r_ = { st.addr, st.nrows++, st.file, (int32_t)st.line, (end_sequence) }; \
		if (mode == RUN_SURVEY) {                                                          \
			struct sequence *q_ = &r->cur;                                             \
			if (!q_->any) {                                                            \
				q_->lo = r_.addr;                                                  \
				q_->any = true;                                                    \
			} else if (r_.addr < q_->last.addr) {                                      \
				q_->monotonic = false;                                             \
			}                                                                          \
			q_->last = r_;                                                             \
			if (!(end_sequence)) {                                                     \
				q_->last_normal = r_;                                              \
				q_->has_normal = true;                                             \
			}                                                                          \
			ck_due = !(end_sequence) && st.nrows % CHECKPOINT_ROWS == 0;               \
		} else if (mode == RUN_FIND) {                                                     \
			if (r_.addr > r->pc)                                                       \
				return RUN_OK;                                                     \
			r->best = r_;                                                              \
		} else {                                                                           \
			if (r_.addr < r->lo)                                                       \
				r->lo = r_.addr;                                                   \
			if (r_.addr <= r->pc &&                                                    \
			    (r->best.seq == UINT64_MAX || row_after(&r_, &r->best)))               \
				r->best = r_;                                                      \
		}                                                                                  \
	} while (0)
#define ADVANCE(adv)                                                                            \
	do {                                                                                      \
		uint32_t a_ = (adv);                                                              \
		st.addr += (uint32_t)(min_insn * ((st.op_index + a_) / max_ops));                 \
		st.op_index = (st.op_index + a_) % max_ops;                                        \
	} while (0)
/* std_len[n] lies in the header, past the lengths' array when n is
 * beyond it, as libdw reads it. */
#define STD_LEN(n) (std_len + (n) < lt->unit_end ? std_len[(n)] : 0xff)

	while (p < end) {
		if (mode == RUN_SURVEY && ck_due) {
			ck_due = false;
			if (!survey_checkpoint(r, p, &st, &r->cur.last))
				return RUN_OK;
		}
		unsigned op = *p++;
		if (op >= opcode_base && lt->fast) {
			st.line += lt->line_adv[op];
			st.addr += lt->addr_adv[op];
			EMIT(false);
			st.discriminator = 0;
		} else if (op >= opcode_base) {
			if (!line_range)
				return RUN_BAD;
			st.line += lt->line_base + (int)((op - opcode_base) % line_range);
			ADVANCE((op - opcode_base) / line_range);
			EMIT(false);
			st.discriminator = 0;
		} else if (op == 0) {
			if (end - p < 2)
				return RUN_BAD;
			unsigned len = *p++;
			if ((size_t)(end - p) < len)
				return RUN_BAD;
			unsigned sub = *p++;
			switch (sub) {
			case DW_LNE_end_sequence:
				EMIT(true);
				lstate_reset(&st, lt);
				odd = st.is_stmt > 1;
				if (mode == RUN_SEQ)
					return RUN_OK;
				if (mode == RUN_SURVEY) {
					if (!survey_end(r))
						return RUN_OK;
					r->cur = (struct sequence){ .start = p, .first_row = st.nrows,
								    .monotonic = true,
								    .first_ck = r->ix->n_cks };
				}
				break;
			case DW_LNE_set_address:
				st.op_index = 0;
				if ((size_t)(end - p) < lt->address_size)
					return RUN_BAD;
				if (lt->address_size != 4 && lt->address_size != 8)
					return RUN_LIBDW;
				st.addr = rd(p, lt->address_size);
				p += lt->address_size;
				break;
			case DW_LNE_define_file:
				return RUN_LIBDW;
			case DW_LNE_set_discriminator:
				if (STD_LEN(sub) != 1 || p >= end)
					return RUN_BAD;
				st.discriminator = (uint32_t)uleb(&p, end);
				odd |= st.discriminator > 0xffffff;
				break;
			case DW_LNE_NVIDIA_inlined_call:
				if (p >= end)
					return RUN_BAD;
				uleb(&p, end);
				if (p >= end)
					return RUN_BAD;
				uleb(&p, end);
				break;
			case DW_LNE_NVIDIA_set_function_name:
				if (p >= end)
					return RUN_BAD;
				uleb(&p, end);
				break;
			default:
				if ((size_t)(end - (p - 1)) < len)
					return RUN_BAD;
				p += (ptrdiff_t)len - 1; /* back over the sub-opcode when len is 0, as libdw */
				break;
			}
		} else if (op <= DW_LNS_set_isa) {
			unsigned want = (op == DW_LNS_copy || op == DW_LNS_negate_stmt ||
					 op == DW_LNS_set_basic_block || op == DW_LNS_const_add_pc ||
					 op == DW_LNS_set_prologue_end || op == DW_LNS_set_epilogue_begin)
						? 0
						: 1;
			if (STD_LEN(op) != want)
				return RUN_BAD;
			switch (op) {
			case DW_LNS_copy:
				EMIT(false);
				st.discriminator = 0;
				break;
			case DW_LNS_advance_pc:
				if (p >= end)
					return RUN_BAD;
				ADVANCE((uint32_t)uleb(&p, end));
				break;
			case DW_LNS_advance_line:
				if (p >= end)
					return RUN_BAD;
				st.line += (int32_t)sleb(&p, end);
				break;
			case DW_LNS_set_file:
				if (p >= end)
					return RUN_BAD;
				st.file = (uint32_t)uleb(&p, end);
				break;
			case DW_LNS_set_column:
				if (p >= end)
					return RUN_BAD;
				st.column = (uint32_t)uleb(&p, end);
				odd |= st.column > 0xffff;
				break;
			case DW_LNS_negate_stmt:
				st.is_stmt = (uint8_t)(1 - st.is_stmt);
				odd |= st.is_stmt > 1;
				break;
			case DW_LNS_set_basic_block:
				break;
			case DW_LNS_const_add_pc:
				if (!line_range)
					return RUN_BAD;
				ADVANCE((255 - opcode_base) / line_range);
				break;
			case DW_LNS_fixed_advance_pc:
				if (end - p < 2)
					return RUN_BAD;
				st.addr += rd(p, 2);
				p += 2;
				st.op_index = 0;
				break;
			case DW_LNS_set_prologue_end:
			case DW_LNS_set_epilogue_begin:
				break;
			case DW_LNS_set_isa:
				if (p >= end)
					return RUN_BAD;
				st.isa = (uint32_t)uleb(&p, end);
				odd |= st.isa > 0xff;
				break;
			}
		} else {
			for (int n = STD_LEN(op); n > 0; n--) {
				if (p >= end)
					return RUN_BAD;
				uleb(&p, end);
			}
		}
	}
#undef EMIT
#undef ADVANCE
#undef STD_LEN
	/* Rows after the last DW_LNE_end_sequence count as a sequence. */
	if (mode == RUN_SURVEY)
		survey_end(r);
	return RUN_OK;
}

/* One copy of the loop for each mode, each without the others' work. */
static int lines_run(const struct line_table *lt, const uint8_t *p, struct lstate st, struct run *r)
{
	switch (r->mode) {
	case RUN_SURVEY:
		return lines_run_mode(lt, p, st, r, RUN_SURVEY);
	case RUN_FIND:
		return lines_run_mode(lt, p, st, r, RUN_FIND);
	default:
		return lines_run_mode(lt, p, st, r, RUN_SEQ);
	}
}

static void line_index_free(struct line_index *ix)
{
	if (!ix)
		return;
	free(ix->seqs);
	free(ix->cks);
	free(ix);
}

/* The last row at or below pc in libdw's order, from the sequences: those
 * wholly below pc give their last row, one that spans it is run from the
 * checkpoint before pc (or whole, when its addresses go back). *best.seq
 * UINT64_MAX: none. */
static int lines_find(const struct line_table *lt, const struct line_index *ix, uint64_t pc, struct row *best)
{
	best->seq = UINT64_MAX;
	for (size_t i = 0; i < ix->n_seqs; i++) {
		const struct sequence *q = &ix->seqs[i];
		struct row cand = { .seq = UINT64_MAX };
		if (q->lo > pc)
			continue;
		if (q->hi <= pc) {
			cand = q->max;
		} else {
			struct run r = { .mode = q->monotonic ? RUN_FIND : RUN_SEQ, .pc = pc,
					 .best = { .seq = UINT64_MAX }, .lo = UINT64_MAX };
			const uint8_t *p = q->start;
			struct lstate st = { .nrows = q->first_row };
			lstate_reset(&st, lt);
			if (q->monotonic) {
				/* The last checkpoint whose row is at or below pc. */
				size_t lo = 0, hi = q->n_ck;
				while (lo < hi) {
					size_t mid = (lo + hi) / 2;
					if (ix->cks[q->first_ck + mid].row.addr <= pc)
						lo = mid + 1;
					else
						hi = mid;
				}
				if (lo) {
					const struct checkpoint *c = &ix->cks[q->first_ck + lo - 1];
					p = c->p;
					st = c->st;
					r.best = c->row;
				}
			}
			int res = lines_run(lt, p, st, &r);
			if (res != RUN_OK)
				return res;
			cand = r.best;
		}
		if (cand.seq != UINT64_MAX && (best->seq == UINT64_MAX || row_after(&cand, best)))
			*best = cand;
	}
	return RUN_OK;
}

static char *file_name(const struct line_table *lt, uint64_t idx)
{
	if (idx >= lt->n_files)
		return NULL;
	const struct line_file *f = &lt->files[idx];
	if (!f->dir)
		return vr_strdup(f->name);
	return vr_asprintf("%s/%s", f->dir, f->name);
}

static void lines_prepare(struct vr_dwarf_unit *unit)
{
	if (unit->lines_state == LINES_UNREAD)
		unit->lines_state = lines_header(unit->owner, unit);
}

/* Reads the whole program once: whether libdw accepts it, and its
 * sequences. */
static void lines_survey(struct vr_dwarf_unit *unit)
{
	if (unit->program_checked)
		return;
	struct line_index *ix = calloc(1, sizeof(*ix));
	if (!ix) {
		unit->lines_state = LINES_LIBDW;
		return;
	}
	struct run r = { .mode = RUN_SURVEY, .ix = ix };
	struct lstate st = { 0 };
	lstate_reset(&st, &unit->lt);
	int res = lines_run(&unit->lt, unit->lt.prog, st, &r);
	/* A sequence whose addresses go back: its bounds and last row from a
	 * run of its own. */
	for (size_t i = 0; res == RUN_OK && i < ix->n_seqs; i++) {
		struct sequence *q = &ix->seqs[i];
		if (q->monotonic)
			continue;
		struct run rs = { .mode = RUN_SEQ, .pc = UINT64_MAX, .best = { .seq = UINT64_MAX },
				  .lo = UINT64_MAX };
		struct lstate sq = { .nrows = q->first_row };
		lstate_reset(&sq, &unit->lt);
		res = lines_run(&unit->lt, q->start, sq, &rs);
		q->max = rs.best;
		q->lo = rs.lo;
		q->hi = rs.best.addr;
		if (!ix->any || row_after(&q->max, &ix->last))
			ix->last = q->max;
		ix->any = true;
	}
	if (res == RUN_LIBDW || r.oom) {
		line_index_free(ix);
		unit->lines_state = LINES_LIBDW;
		return;
	}
	unit->program_checked = true;
	unit->program_ok = res == RUN_OK;
	if (unit->program_ok)
		unit->lix = ix;
	else
		line_index_free(ix);
}

struct vr_error *vr_dwarf_unit_line(struct vr_dwarf_unit *unit, Dwarf_Addr pc, bool *found,
				    char **ret_file, int *ret_line)
{
	*found = false;
	*ret_file = NULL;
	*ret_line = 0;
	lines_prepare(unit);
	if (unit->lines_state == LINES_OWN)
		lines_survey(unit);
	if (unit->lines_state == LINES_OWN) {
		if (!unit->program_ok)
			return NULL;
		struct row best;
		int r = lines_find(&unit->lt, unit->lix, pc, &best);
		if (r == RUN_OK) {
			const struct row *last = &unit->lix->last;
			/* libdw's answer: not an end_sequence row, and not the last
			 * row, which it marks as one. */
			if (best.seq == UINT64_MAX || best.end_seq || best.seq == last->seq)
				return NULL;
			*found = true;
			*ret_line = best.line;
			if (best.file < unit->lt.n_files && !(*ret_file = file_name(&unit->lt, best.file)))
				return &vr_error_oom;
			return NULL;
		}
		unit->lines_state = LINES_LIBDW;
	}
	if (unit->lines_state == LINES_BAD)
		return NULL;
	Dwarf_Line *dl = dwarf_getsrc_die(&unit->cu, pc);
	if (!dl)
		return NULL;
	*found = true;
	const char *src = dwarf_linesrc(dl, NULL, NULL);
	if (src && !(*ret_file = vr_strdup(src)))
		return &vr_error_oom;
	int l;
	if (dwarf_lineno(dl, &l) == 0)
		*ret_line = l;
	return NULL;
}

struct vr_error *vr_dwarf_unit_file(struct vr_dwarf_unit *unit, uint64_t idx, char **ret)
{
	*ret = NULL;
	lines_prepare(unit);
	if (unit->lines_state == LINES_OWN)
		lines_survey(unit);
	if (unit->lines_state == LINES_OWN) {
		if (!unit->program_ok || idx >= unit->lt.n_files)
			return NULL;
		return (*ret = file_name(&unit->lt, idx)) ? NULL : &vr_error_oom;
	}
	if (unit->lines_state == LINES_BAD)
		return NULL;
	Dwarf_Files *files;
	size_t n;
	if (dwarf_getsrcfiles(&unit->cu, &files, &n) != 0 || idx >= n)
		return NULL;
	const char *src = dwarf_filesrc(files, idx, NULL, NULL);
	if (src && !(*ret = vr_strdup(src)))
		return &vr_error_oom;
	return NULL;
}

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
			if (vr_error_catch(vr_grow(&unit->ranges, &cap, unit->n_ranges + 1,
						   sizeof(*unit->ranges), SIZE_MAX / sizeof(*unit->ranges))))
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
		if (p >= end || ab->n >= MAX_ABBREVS)
			return false;
		uint64_t tag = uleb(&p, end);
		if (p >= end || tag > UINT32_MAX)
			return false;
		if (vr_error_catch(vr_grow(&ab->a, &ab->cap, ab->n + 1, sizeof(*ab->a), MAX_ABBREVS)))
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
			if (vr_error_catch(vr_grow(&ab->attrs, &ab->cap_attrs, ab->n_attrs + 1, sizeof(*ab->attrs),
						   (size_t)MAX_ABBREVS * 64)))
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
	if (vr_error_catch(vr_grow(&unit->ranges, cap, unit->n_ranges + 1, sizeof(*unit->ranges),
				   SIZE_MAX / sizeof(*unit->ranges))))
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
