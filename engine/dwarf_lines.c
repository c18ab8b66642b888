/* A compile unit's line table read for one address at a time, with the
 * answers libdw's dwarf_getsrc_die(), dwarf_linesrc() and dwarf_lineno()
 * give (the unit as dwarf_units.c reads it).
 *
 * libdw decodes a unit's whole line program into rows and sorts them,
 * which cost most of a report's time. The row chosen here is the one
 * dwarf_getsrc_die() chooses: of the rows sorted by address (an
 * end_sequence row before others at its address, then in program order),
 * the last at or below pc, unless it ends a sequence; libdw marks the last
 * sorted row as ending one. A program libdw would refuse is refused here;
 * one using what this reader leaves to libdw (DW_LNE_define_file, unusual
 * forms in a DWARF 5 file table) is read by libdw. */
#define _GNU_SOURCE
#include "dwarf_lines.h"

#include <dwarf.h>
#include <stdio.h>
#include <string.h>

#include "dwarf_internal.h"

#define MAX_LINE_FILES (1u << 20)

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
	if (!vr_dwarf_grow(&files, &cap, 1, sizeof(*files), MAX_LINE_FILES)) {
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
			if (!vr_dwarf_grow(&files, &cap, nfiles + 1, sizeof(*files), MAX_LINE_FILES)) {
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
			if (!vr_dwarf_grow(&files, &cap, nfiles + 1, sizeof(*files), MAX_LINE_FILES)) {
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
	if (!vr_dwarf_grow(&ix->cks, &ix->cap_cks, ix->n_cks + 1, sizeof(*ix->cks), SIZE_MAX / 64)) {
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
	if (!vr_dwarf_grow(&ix->seqs, &ix->cap_seqs, ix->n_seqs + 1, sizeof(*ix->seqs), SIZE_MAX / 128)) {
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

void vr_dwarf_lines_free(struct vr_dwarf_unit *unit)
{
	free(unit->lt.files);
	line_index_free(unit->lix);
	unit->lt.files = NULL;
	unit->lix = NULL;
}
