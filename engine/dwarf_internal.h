/* The vmlinux's DWARF read a compile unit at a time: what dwarf_units.c
 * (units), dwarf_lines.c (their line tables) and dwarf_scan.c (their
 * children by address) share. Engine-private; dwarf.c uses the functions
 * of dwarf_units.h, dwarf_lines.h and dwarf_scan.h. */
#ifndef VR_DWARF_INTERNAL_H
#define VR_DWARF_INTERNAL_H

#include <elfutils/libdw.h>
#include <gelf.h>
#include <libelf.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "error.h"

struct line_index; /* dwarf_lines.c */

#define DWARF_SLOTS 256u           /* units open at once; more evict the least used */
#define DWARF_MAX_ABBREVS (1u << 20) /* abbreviations read in one unit's table */

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
	struct vr_dwarf_unit *slots[DWARF_SLOTS];
	uint64_t clock;
};

/* ---- bytes ---- */

static inline const uint8_t *sec_data(const struct vr_dwarf_units *u, enum sec s)
{
	return u->secs[s].size ? u->file + u->secs[s].off : NULL;
}

/* LEB128 as libdw reads it (libdw/memory-access.h): at most ten bytes of a
 * ULEB128, nine and a sign byte of an SLEB128; an unterminated one reads
 * as the largest value. The caller checks p < end first. */
static inline uint64_t uleb(const uint8_t **pp, const uint8_t *end)
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

static inline int64_t sleb(const uint8_t **pp, const uint8_t *end)
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

static inline uint64_t rd(const uint8_t *p, unsigned n)
{
	uint64_t v = 0;
	for (unsigned i = 0; i < n; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

/* A NUL-terminated string at off in section s, or NULL. */
static inline const char *sec_string(const struct vr_dwarf_units *u, enum sec s, uint64_t off)
{
	const uint8_t *d = sec_data(u, s);
	if (!d || off >= u->secs[s].size)
		return NULL;
	if (!memchr(d + off, 0, u->secs[s].size - off))
		return NULL;
	return (const char *)d + off;
}

/* dwarf_lines.c: frees what a unit's line table holds. */
void vr_dwarf_lines_free(struct vr_dwarf_unit *unit);
/* dwarf_scan.c: forgets a unit's index of its children (its DIE offsets
 * change with the handle it is read through). */
void vr_dwarf_scan_forget(struct vr_dwarf_unit *unit);

/* vr_grow for this folder's own readers, which libdw stands behind: false
 * when the array cannot grow (past limit, or out of memory), and the caller
 * leaves the unit to libdw, which answers or fails with its own error, so
 * nothing is lost or made unknown. */
static inline bool vr_dwarf_grow(void *items, size_t *cap, size_t need, size_t elsize, size_t limit)
{
	struct vr_error *err = vr_grow(items, cap, need, elsize, limit);
	bool ok = !err;
	vr_error_destroy(err);
	return ok;
}

#endif
