/* kallsyms: the kernel's own symbol table, as scripts/kallsyms.c lays it out
 * and kernel/kallsyms.c reads it.
 *
 *  kallsyms_num_syms     unsigned int
 *  kallsyms_names        per symbol: a length byte (when its top bit is set,
 *                        a second byte holds bits 7..14: "big" symbols,
 *                        Linux 6.1, commit 73bbb94466fd), then that many
 *                        token indices; the expansion's first character is
 *                        the nm type letter, the rest the name
 *  kallsyms_token_table  256 NUL-terminated strings
 *  kallsyms_token_index  u16 offsets of each token in the table
 *  kallsyms_offsets      int per symbol (CONFIG_KALLSYMS_BASE_RELATIVE):
 *                        address = relative_base + (u32)offset, except with
 *                        CONFIG_KALLSYMS_ABSOLUTE_PERCPU (x86-64 SMP), where
 *                        offset >= 0 is an absolute value (per-CPU symbols)
 *                        and offset < 0 means relative_base - 1 - offset;
 *                        since Linux 7.0 ("kallsyms: Get rid of kallsyms
 *                        relative base") there is no relative_base: the
 *                        offset is from the entry's own address (a PC32
 *                        relocation), and labels are aligned to 4 bytes
 *  kallsyms_addresses    unsigned long per symbol (without BASE_RELATIVE)
 *
 * Symbols are in address order. There are no sizes; callers derive them
 * from the next symbol, as the kernel does (kallsyms_lookup_size_offset).
 *
 * VMCOREINFO names the tables since Linux 6.0. For older kernels they are
 * found by their content (vr_kallsyms_search): scripts/kallsyms.c writes
 * each table under a label aligned to 8 bytes (output_label), with
 *  kallsyms_markers      u32 per 256 symbols: offset of symbol 256*i in
 *                        kallsyms_names
 * in one of these orders:
 *  before 6.4: offsets, relative_base, num_syms, names, markers,
 *              [seqs_of_names, 6.2 and 6.3], token_table, token_index
 *  since 6.4 (commit 404bad70fcf7, "scripts/kallsyms: change the output
 *  order"): num_syms, names, markers, token_table, token_index, offsets,
 *              relative_base, seqs_of_names
 * and without CONFIG_KALLSYMS_BASE_RELATIVE, addresses in place of offsets
 * and relative_base; since 7.0, no relative_base.
 */
#include "kallsyms.h"

#include <assert.h>
#include <inttypes.h>
#include <pthread.h>
#include <string.h>

#include "cursor.h"
#include "vmcoreinfo.h"

#define MAX_SYMS (1u << 22)
/* KSYM_NAME_LEN is 512 since 6.1 (128 before); one name's expansion
 * cannot usefully be longer. */
#define MAX_NAME 1024
#define NAMES_CHUNK 16384u
#define TOKEN_PAD 32
#define MAX_NAMES_BYTES (256u << 20)
/* The search: the kernel's text and read-only data follow _stext. */
#define SEARCH_SPAN (256u << 20)
#define SEARCH_CHUNK (1u << 20)
/* A name's entry: one or two length bytes, at most KSYM_NAME_LEN tokens. */
#define MAX_ENTRY (2u + 512u)

struct vr_error *vr_kallsyms_tables_from_vmcoreinfo(const struct vr_vmcoreinfo *vi,
						    struct vr_kallsyms_tables *ret)
{
	struct vr_kallsyms_tables t = {0};
	if (!vi)
		return vr_error_create(VR_ERR_NOT_FOUND, "no VMCOREINFO to name the kallsyms tables");
	bool ok = vr_vmcoreinfo_symbol(vi, "kallsyms_num_syms", &t.num_syms) &&
		  vr_vmcoreinfo_symbol(vi, "kallsyms_names", &t.names) &&
		  vr_vmcoreinfo_symbol(vi, "kallsyms_token_table", &t.token_table) &&
		  vr_vmcoreinfo_symbol(vi, "kallsyms_token_index", &t.token_index);
	if (!ok)
		return vr_error_create(VR_ERR_NOT_FOUND, "kallsyms tables not named in VMCOREINFO");
	bool rel = vr_vmcoreinfo_symbol(vi, "kallsyms_offsets", &t.offsets);
	/* VMCOREINFO stopped naming kallsyms_relative_base when the kernel
	 * dropped it (7.0): its offsets are then relative to themselves. */
	if (rel && !vr_vmcoreinfo_symbol(vi, "kallsyms_relative_base", &t.relative_base))
		t.pc_relative = true;
	if (!rel) {
		t.offsets = t.relative_base = 0;
		if (!vr_vmcoreinfo_symbol(vi, "kallsyms_addresses", &t.addresses))
			return vr_error_create(VR_ERR_NOT_FOUND,
					       "VMCOREINFO names neither kallsyms_offsets nor kallsyms_addresses");
	}
	*ret = t;
	return NULL;
}

void vr_kallsyms_deinit(struct vr_kallsyms *ks)
{
	if (!ks)
		return;
	free(ks->syms);
	free(ks->names);
	memset(ks, 0, sizeof(*ks));
}

/* Buffered sequential reader over kallsyms_names. */
struct stream {
	vr_kallsyms_read_fn read;
	void *arg;
	uint64_t base;    /* vaddr of the stream's start */
	uint64_t pos;     /* bytes consumed */
	uint8_t buf[NAMES_CHUNK];
	uint64_t buf_at;  /* stream offset of buf[0] */
	size_t buf_len;
};

static struct vr_error *stream_fill(struct stream *s)
{
	if (s->pos >= MAX_NAMES_BYTES)
		return vr_error_create(VR_ERR_LIMIT, "kallsyms_names longer than %u bytes",
				       MAX_NAMES_BYTES);
	uint64_t va = s->base + s->pos;
	size_t len = NAMES_CHUNK;
	struct vr_error *err = s->read(s->arg, va, s->buf, len);
	if (err) {
		/* The table may end near an unreadable page: retry up to
		 * the end of the current page only. */
		vr_error_destroy(err);
		len = 4096 - (size_t)(va & 4095);
		err = s->read(s->arg, va, s->buf, len);
		if (err)
			return vr_error_wrap(err, "kallsyms_names at offset 0x%" PRIx64, s->pos);
	}
	s->buf_at = s->pos;
	s->buf_len = len;
	return NULL;
}

/* Inlined: the names of ~100k symbols are read a byte at a time. */
static inline struct vr_error *stream_byte(struct stream *s, uint8_t *ret)
{
	if (__builtin_expect(s->pos < s->buf_at || s->pos >= s->buf_at + s->buf_len, 0)) {
		struct vr_error *err = stream_fill(s);
		if (err)
			return err;
	}
	*ret = s->buf[s->pos - s->buf_at];
	s->pos++;
	return NULL;
}

struct token {
	const char *s;
	size_t len;
};

static struct vr_error *read_tokens(const struct vr_kallsyms_tables *t, vr_kallsyms_read_fn read,
				    void *arg, char **ret_table, struct token tokens[256])
{
	uint8_t idx_raw[512];
	struct vr_error *err = read(arg, t->token_index, idx_raw, sizeof(idx_raw));
	if (err)
		return vr_error_wrap(err, "reading kallsyms_token_index");
	uint16_t idx[256];
	size_t max = 0;
	for (int i = 0; i < 256; i++) {
		idx[i] = (uint16_t)(idx_raw[2 * i] | idx_raw[2 * i + 1] << 8);
		if (idx[i] > max)
			max = idx[i];
	}
	/* The longest token is well under 256 bytes (scripts/kallsyms.c
	 * builds them by merging pairs, and names are at most KSYM_NAME_LEN). */
	size_t size = max + 1024;
	char *table = malloc(size + 1);
	if (!table)
		return &vr_error_oom;
	err = read(arg, t->token_table, table, size);
	if (err) {
		/* Tolerate a table that ends at an unreadable page. */
		vr_error_destroy(err);
		size = max + 1;
		err = read(arg, t->token_table, table, size);
	}
	if (err) {
		free(table);
		return vr_error_wrap(err, "reading kallsyms_token_table");
	}
	table[size] = '\0';
	for (int i = 0; i < 256; i++) {
		tokens[i].s = table + idx[i];
		tokens[i].len = strnlen(table + idx[i], size - idx[i]);
	}
	*ret_table = table;
	return NULL;
}

static struct vr_error *read_addresses(const struct vr_kallsyms_tables *t, vr_kallsyms_read_fn read,
				       void *arg, struct vr_kallsyms_sym *syms, size_t n)
{
	size_t width = t->offsets ? 4 : 8;
	uint8_t *raw = malloc(n * width);
	if (!raw)
		return &vr_error_oom;
	struct vr_error *err = read(arg, t->offsets ? t->offsets : t->addresses, raw, n * width);
	if (err) {
		free(raw);
		return vr_error_wrap(err, "reading %s", t->offsets ? "kallsyms_offsets" : "kallsyms_addresses");
	}
	if (!t->offsets) {
		for (size_t i = 0; i < n; i++)
			syms[i].address = vr_le64(raw + 8 * i);
		free(raw);
		return NULL;
	}
	if (t->pc_relative) {
		for (size_t i = 0; i < n; i++)
			syms[i].address = t->offsets + 4 * i + (uint64_t)(int64_t)(int32_t)vr_le32(raw + 4 * i);
		free(raw);
		return NULL;
	}
	uint8_t base_raw[8];
	err = read(arg, t->relative_base, base_raw, sizeof(base_raw));
	if (err) {
		free(raw);
		return vr_error_wrap(err, "reading kallsyms_relative_base");
	}
	uint64_t base = vr_le64(base_raw);
	/* CONFIG_KALLSYMS_ABSOLUTE_PERCPU is not in VMCOREINFO. Without it every
	 * offset is an unsigned distance from the base, and the kernel image is
	 * far smaller than 2 GiB, so no offset reads as negative; with it, all
	 * but the per-CPU symbols are negative. */
	bool absolute_percpu = false;
	for (size_t i = 0; i < n && !absolute_percpu; i++)
		absolute_percpu = (int32_t)vr_le32(raw + 4 * i) < 0;
	for (size_t i = 0; i < n; i++) {
		int32_t off = (int32_t)vr_le32(raw + 4 * i);
		if (!absolute_percpu)
			syms[i].address = base + (uint32_t)off;
		else if (off >= 0)
			syms[i].address = (uint64_t)off;
		else
			syms[i].address = base - 1 - (uint64_t)(int64_t)off;
	}
	free(raw);
	return NULL;
}

/* ---- names decoded from memory, in two halves at once ----
 *
 * kallsyms_names lies before kallsyms_token_table: read whole, the stream
 * can be split at a symbol's start (found by stepping over the lengths) and
 * each half decoded on a CPU of its own. Anything unusual (the tables in
 * another order, a read that fails, a bad name) leaves it to the stream
 * reader below, which says what is wrong where. */

struct part {
	const uint8_t *buf;     /* the whole of kallsyms_names */
	size_t len;
	size_t pos;             /* where this part's first symbol starts */
	uint32_t first, count;  /* its symbols */
	struct vr_kallsyms_sym *syms;
	char *names;            /* its names, NUL-terminated each */
	size_t names_len, names_cap;
	const char (*padded)[TOKEN_PAD];
	const size_t *tok_len;
	const struct token *tokens;
	size_t max_tok;
	bool ok;
};

static void *decode_part(void *arg)
{
	struct part *pt = arg;
	pt->ok = false;
	/* A name is at most MAX_NAME bytes and a token adds at least one:
	 * the worst case bounds the buffer, grown as needed. */
	char name[MAX_NAME + TOKEN_PAD + 1];
	size_t pos = pt->pos;
	for (uint32_t i = 0; i < pt->count; i++) {
		if (pos >= pt->len)
			return NULL;
		size_t len = pt->buf[pos++];
		if (len & 0x80) {
			if (pos >= pt->len)
				return NULL;
			len = (len & 0x7f) | (size_t)pt->buf[pos++] << 7;
		}
		if (len == 0 || len > pt->len - pos)
			return NULL;
		const uint8_t *q = pt->buf + pos;
		pos += len;
		size_t nlen = 0;
		if (len * pt->max_tok <= MAX_NAME) {
			for (size_t j = 0; j < len; j++) {
				memcpy(name + nlen, pt->padded[q[j]], TOKEN_PAD);
				nlen += pt->tok_len[q[j]];
			}
		} else {
			for (size_t j = 0; j < len; j++) {
				size_t tl = pt->tok_len[q[j]];
				if (nlen + tl > MAX_NAME)
					return NULL;
				memcpy(name + nlen, pt->tokens[q[j]].s, tl);
				nlen += tl;
			}
		}
		if (nlen < 2)
			return NULL;
		name[nlen] = '\0';
		struct vr_error *err = vr_grow(&pt->names, &pt->names_cap, pt->names_len + nlen, 1, MAX_NAMES_BYTES);
		if (err) {
			vr_error_destroy(err); /* not ok: the stream reader meets it again */
			return NULL;
		}
		struct vr_kallsyms_sym *sym = &pt->syms[pt->first + i];
		sym->type = name[0];
		sym->name = (uint32_t)pt->names_len;
		memcpy(pt->names + pt->names_len, name + 1, nlen); /* includes the NUL */
		pt->names_len += nlen;
	}
	pt->ok = true;
	return NULL;
}

/* The names from memory, or false (nothing changed) for the stream reader
 * to do it: what fails here (a read, out of memory) fails there again,
 * with its error, so nothing is lost by leaving it. */
static bool names_in_halves(const struct vr_kallsyms_tables *t, vr_kallsyms_read_fn read, void *arg,
			    const struct token tokens[256], uint32_t n, struct vr_kallsyms *ks)
{
	if (t->token_table <= t->names || t->token_table - t->names > MAX_NAMES_BYTES)
		return false;
	size_t len = (size_t)(t->token_table - t->names);
	uint8_t *buf = malloc(len);
	char(*padded)[TOKEN_PAD] = calloc(256, TOKEN_PAD);
	struct vr_error *err = buf && padded ? read(arg, t->names, buf, len) : NULL;
	if (!buf || !padded || err) {
		vr_error_destroy(err);
		free(buf);
		free(padded);
		return false;
	}
	size_t tok_len[256], max_tok = 1;
	for (int i = 0; i < 256; i++) {
		tok_len[i] = tokens[i].len;
		if (tok_len[i] > max_tok)
			max_tok = tok_len[i];
		memcpy(padded[i], tokens[i].s, tok_len[i] < TOKEN_PAD ? tok_len[i] : TOKEN_PAD);
	}
	bool whole_pad = max_tok <= TOKEN_PAD;
	struct part parts[2];
	for (int k = 0; k < 2; k++)
		parts[k] = (struct part){ .buf = buf, .len = len, .syms = ks->syms, .padded = (const char(*)[TOKEN_PAD])padded,
					  .tok_len = tok_len, .tokens = tokens,
					  .max_tok = whole_pad ? max_tok : MAX_NAME + 1 };
	/* The second half starts where the first half's names end. */
	uint32_t half = n < 4096 ? n : n / 2;
	size_t pos = 0;
	for (uint32_t i = 0; i < half && pos < len; i++) {
		size_t l = buf[pos++];
		if ((l & 0x80) && pos < len)
			l = (l & 0x7f) | (size_t)buf[pos++] << 7;
		pos += l;
	}
	bool ok = pos <= len;
	parts[0].first = 0;
	parts[0].count = half;
	parts[1].pos = pos;
	parts[1].first = half;
	parts[1].count = n - half;
	pthread_t thread;
	bool threaded = ok && parts[1].count && pthread_create(&thread, NULL, decode_part, &parts[1]) == 0;
	if (ok)
		decode_part(&parts[0]);
	if (threaded)
		pthread_join(thread, NULL);
	else if (ok && parts[1].count)
		decode_part(&parts[1]);
	ok = ok && parts[0].ok && (!parts[1].count || parts[1].ok);
	if (ok && parts[1].count) {
		err = vr_grow(&parts[0].names, &parts[0].names_cap, parts[0].names_len + parts[1].names_len, 1,
			      MAX_NAMES_BYTES);
		ok = !err;
		vr_error_destroy(err);
		if (ok) {
			memcpy(parts[0].names + parts[0].names_len, parts[1].names, parts[1].names_len);
			for (uint32_t i = half; i < n; i++)
				ks->syms[i].name += (uint32_t)parts[0].names_len;
			parts[0].names_len += parts[1].names_len;
		}
	}
	free(parts[1].names);
	free(buf);
	free(padded);
	if (!ok) {
		free(parts[0].names);
		return false;
	}
	ks->names = parts[0].names;
	ks->names_len = parts[0].names_len;
	ks->n = n;
	return true;
}

struct vr_error *vr_kallsyms_read(const struct vr_kallsyms_tables *t, vr_kallsyms_read_fn read,
				  void *arg, struct vr_kallsyms *ret)
{
	uint8_t nraw[4];
	struct vr_error *err = read(arg, t->num_syms, nraw, sizeof(nraw));
	if (err)
		return vr_error_wrap(err, "reading kallsyms_num_syms");
	uint32_t n = vr_le32(nraw);
	if (n == 0 || n > MAX_SYMS)
		return vr_error_create(VR_ERR_LIMIT, "kallsyms_num_syms is %" PRIu32 " (limit %u)", n, MAX_SYMS);

	_cleanup_free_ char *token_table = NULL;
	struct token tokens[256];
	err = read_tokens(t, read, arg, &token_table, tokens);
	if (err)
		return err;

	struct vr_kallsyms ks = {0};
	ks.syms = calloc(n, sizeof(*ks.syms));
	if (!ks.syms)
		return &vr_error_oom;
	if (names_in_halves(t, read, arg, tokens, n, &ks)) {
		err = read_addresses(t, read, arg, ks.syms, n);
		if (err) {
			vr_kallsyms_deinit(&ks);
			return err;
		}
		*ret = ks;
		return NULL;
	}
	memset(ks.syms, 0, n * sizeof(*ks.syms));
	struct stream *s = malloc(sizeof(*s));
	size_t names_cap = 0;
	if (!s) {
		vr_kallsyms_deinit(&ks);
		return &vr_error_oom;
	}
	*s = (struct stream){.read = read, .arg = arg, .base = t->names};

	/* Tokens padded to TOKEN_PAD bytes: a name is built with one
	 * fixed-size copy per token, which the compiler inlines (a longer
	 * token, rare, is copied a byte at a time). */
	static_assert(TOKEN_PAD >= 2, "token pad");
	char(*padded)[TOKEN_PAD] = calloc(256, TOKEN_PAD);
	size_t tok_len[256], max_tok = 1;
	for (int i = 0; i < 256; i++) {
		tok_len[i] = tokens[i].len;
		if (tokens[i].len > max_tok)
			max_tok = tokens[i].len;
	}
	/* Tokens longer than the pad are copied a byte at a time. */
	if (max_tok > TOKEN_PAD)
		max_tok = MAX_NAME + 1;
	if (padded)
		for (int i = 0; i < 256; i++)
			memcpy(padded[i], tokens[i].s, tokens[i].len < TOKEN_PAD ? tokens[i].len : TOKEN_PAD);

	char name[MAX_NAME + TOKEN_PAD + 1];
	for (uint32_t i = 0; i < n && !err; i++) {
		uint8_t b = 0, b2 = 0;
		size_t len, nlen = 0;
		bool too_long = false;
		size_t avail = s->pos >= s->buf_at && s->pos < s->buf_at + s->buf_len
				       ? (size_t)(s->buf_at + s->buf_len - s->pos)
				       : 0;
		if (padded && avail >= 2 && avail - 2 >= (size_t)(s->buf[s->pos - s->buf_at] & 0x7f) + 128) {
			/* The whole name is in the buffer: decode it in place. */
			const uint8_t *q = s->buf + (s->pos - s->buf_at);
			b = *q++;
			len = b;
			if (b & 0x80) {
				b2 = *q++;
				len = (size_t)(b & 0x7f) | (size_t)b2 << 7;
			}
			if (len <= avail - (size_t)(q - (s->buf + (s->pos - s->buf_at)))) {
				if (len * max_tok <= MAX_NAME) {
					/* No name this long can overflow: no check a token. */
					for (size_t j = 0; j < len; j++) {
						uint8_t tok = q[j];
						memcpy(name + nlen, padded[tok], TOKEN_PAD);
						nlen += tok_len[tok];
					}
				} else {
					for (size_t j = 0; j < len; j++) {
						uint8_t tok = q[j];
						size_t tl = tok_len[tok];
						if (nlen + tl > MAX_NAME) {
							too_long = true;
							continue;
						}
						if (tl <= TOKEN_PAD)
							memcpy(name + nlen, padded[tok], TOKEN_PAD);
						else
							for (size_t c = 0; c < tl; c++)
								name[nlen + c] = tokens[tok].s[c];
						nlen += tl;
					}
				}
				s->pos += (uint64_t)(q - (s->buf + (s->pos - s->buf_at))) + len;
				goto decoded;
			}
			nlen = 0;
		}
		err = stream_byte(s, &b);
		len = b;
		if (!err && (b & 0x80)) {
			err = stream_byte(s, &b2);
			len = (size_t)(b & 0x7f) | (size_t)b2 << 7;
		}
		if (err)
			break;
		for (size_t j = 0; j < len && !err; j++) {
			uint8_t tok = 0;
			err = stream_byte(s, &tok);
			if (err)
				break;
			const struct token *tk = &tokens[tok];
			if (nlen + tk->len > MAX_NAME) {
				too_long = true;
				continue;
			}
			/* Tokens are a few bytes: a loop beats a memcpy call. */
			for (size_t c = 0; c < tk->len; c++)
				name[nlen + c] = tk->s[c];
			nlen += tk->len;
		}
		if (err)
			break;
	decoded:
		if (len == 0) {
			err = vr_error_create(VR_ERR_FORMAT, "kallsyms_names: symbol %" PRIu32 " has no name", i);
			break;
		}
		if (too_long || nlen < 2) {
			err = vr_error_create(VR_ERR_FORMAT, "kallsyms_names: symbol %" PRIu32 " at offset 0x%" PRIx64
					      " has a bad name",
					      i, s->pos);
			break;
		}
		name[nlen] = '\0';
		/* The first character is the type letter. */
		err = vr_grow(&ks.names, &names_cap, ks.names_len + nlen, 1, MAX_NAMES_BYTES);
		if (err)
			break;
		ks.syms[i].type = name[0];
		ks.syms[i].name = (uint32_t)ks.names_len;
		memcpy(ks.names + ks.names_len, name + 1, nlen); /* includes the NUL */
		ks.names_len += nlen;
		ks.n = i + 1;
	}
	free(padded);
	free(s);
	if (!err)
		err = read_addresses(t, read, arg, ks.syms, n);
	if (err) {
		vr_kallsyms_deinit(&ks);
		return err;
	}
	*ret = ks;
	return NULL;
}

/* ---- finding the tables by their content ---- */

static uint16_t le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

/* Reads as much of [vaddr, vaddr + len) as is readable, page by page from
 * the end backwards: the tables before a known address. Returns the start
 * of what was read. */
static uint64_t read_back(vr_kallsyms_read_fn read, void *arg, uint64_t end, uint8_t *buf, size_t len)
{
	uint64_t at = end;
	while (at > end - len) {
		uint64_t from = (at - 1) & ~4095ull;
		if (from < end - len)
			from = end - len;
		struct vr_error *err = read(arg, from, buf + (from - (end - len)), at - from);
		if (err) {
			vr_error_destroy(err);
			break;
		}
		at = from;
	}
	return at;
}

/* kallsyms_token_index: 256 increasing u16 offsets, the first 0; each
 * token a few characters long. */
static bool looks_like_index(const uint8_t *p)
{
	if (le16(p) != 0)
		return false;
	uint16_t prev = 0;
	for (int i = 1; i < 256; i++) {
		uint16_t v = le16(p + 2 * i);
		if (v <= prev || v - prev > 256)
			return false;
		prev = v;
	}
	return true;
}

/* The token table that ends just before the index at T (its last token's
 * NUL, then up to 7 bytes of alignment): every token printable and
 * NUL-terminated where the index says. */
static bool find_token_table(vr_kallsyms_read_fn read, void *arg, uint64_t T, const uint8_t *index,
			     uint64_t *ret)
{
	uint16_t last = le16(index + 2 * 255);
	size_t len = (size_t)last + 512 + 8;
	_cleanup_free_ uint8_t *buf = malloc(len);
	if (!buf || read_back(read, arg, T, buf, len) != T - len)
		return false;
	size_t e = len;
	while (e > 0 && buf[e - 1] == 0)
		e--;
	if (len - e < 1 || len - e > 8)
		return false;
	size_t b = e;
	while (b > 0 && buf[b - 1] != 0)
		b--;
	if (b < (size_t)last + 1 || b == e)
		return false;
	size_t start = b - last; /* of the table in buf */
	for (size_t i = start; i < e; i++)
		if (buf[i] != 0 && (buf[i] < 0x20 || buf[i] > 0x7e))
			return false;
	for (int i = 0; i < 256; i++) {
		uint16_t o = le16(index + 2 * i);
		if (buf[start + o] == 0 || (i > 0 && buf[start + o - 1] != 0))
			return false;
	}
	*ret = T - len + start;
	return true;
}

/* kallsyms_markers, ending (up to alignment) where the token table starts:
 * 0, then increasing by the bytes of 256 names each. */
static bool find_markers(vr_kallsyms_read_fn read, void *arg, uint64_t tt, uint64_t *ret_start,
			 uint32_t *ret_count, uint32_t *ret_last, uint32_t *ret_step)
{
	size_t len = (MAX_SYMS / 256) * 4 + 8;
	_cleanup_free_ uint8_t *buf = malloc(len);
	if (!buf)
		return false;
	uint64_t from = read_back(read, arg, tt, buf, len);
	size_t lo = (size_t)(from - (tt - len)), p = len - 4;
	if (p < lo + 8)
		return false;
	if (vr_le32(buf + p) == 0)
		p -= 4; /* alignment of the token table's label */
	uint32_t count = 1, last = vr_le32(buf + p), max_step = 0;
	while (p >= lo + 4) {
		uint32_t v = vr_le32(buf + p), before = vr_le32(buf + p - 4);
		if (v == 0)
			break;
		if (before >= v || v - before < 256 * 2 || v - before > 256 * MAX_ENTRY)
			return false;
		if (v - before > max_step)
			max_step = v - before;
		p -= 4;
		count++;
	}
	if (vr_le32(buf + p) != 0 || count < 2)
		return false;
	*ret_start = tt - len + p;
	*ret_count = count;
	*ret_last = last;
	*ret_step = max_step;
	return true;
}

/* Skips one kallsyms_names entry; false when it is not one. */
static bool skip_entry(const uint8_t *buf, size_t len, size_t *pos)
{
	if (*pos >= len)
		return false;
	size_t n = buf[(*pos)++];
	if (n & 0x80) {
		if (*pos >= len)
			return false;
		n = (n & 0x7f) | (size_t)buf[(*pos)++] << 7;
	}
	if (n == 0 || n > len - *pos)
		return false;
	*pos += n;
	return true;
}

/* kallsyms_names, preceded by kallsyms_num_syms (unsigned int; before 7.0
 * padded to 8 bytes): the start from which the entries after the last
 * marker end where the markers begin. */
static bool find_names(vr_kallsyms_read_fn read, void *arg, uint64_t markers, uint32_t count, uint32_t last,
		       uint32_t step, uint64_t *ret_names, uint32_t *ret_n)
{
	/* The last group of names, and the candidates before it. */
	size_t span = (size_t)step * 2 + 4096;
	size_t len = (size_t)last + span + 16;
	if (len > MAX_NAMES_BYTES)
		return false;
	_cleanup_free_ uint8_t *buf = malloc(len);
	if (!buf || read_back(read, arg, markers, buf, len) != markers - len)
		return false;
	uint64_t base = markers - len;
	uint32_t lo_n = (count - 1) * 256 + 1, hi_n = count * 256;
	for (uint64_t s = (markers - last - 2) & ~3ull; s >= base + 8 && s + span >= markers - last; s -= 4) {
		uint32_t n = vr_le32(buf + (s - 4 - base));
		if (n < lo_n || n > hi_n) {
			n = vr_le32(buf + (s - 8 - base));
			if ((s & 7) || n < lo_n || n > hi_n || vr_le32(buf + (s - 4 - base)) != 0)
				continue;
		}
		size_t pos = (size_t)(s - base) + last;
		bool ok = true;
		for (uint32_t i = (count - 1) * 256; i < n && ok; i++)
			ok = skip_entry(buf, len, &pos);
		if (!ok || pos > len || len - pos >= 8)
			continue;
		while (ok && pos < len)
			ok = buf[pos++] == 0;
		if (!ok)
			continue;
		*ret_names = s;
		*ret_n = n;
		return true;
	}
	return false;
}

static bool find_symbol(const struct vr_kallsyms *ks, const char *name, uint64_t *ret)
{
	for (size_t i = 0; i < ks->n; i++)
		if (!strcmp(ks->names + ks->syms[i].name, name)) {
			*ret = ks->syms[i].address;
			return true;
		}
	return false;
}

/* The tables around the token index at T, if they are kallsyms' and put
 * _stext where VMCOREINFO says. */
static bool tables_at(vr_kallsyms_read_fn read, void *arg, uint64_t T, const uint8_t *index, uint64_t stext,
		      uint64_t image_min, struct vr_kallsyms_tables *ret_t, struct vr_kallsyms *ret)
{
	struct vr_kallsyms_tables t = {.token_index = T};
	uint64_t markers;
	uint32_t count, last, step, n;
	if (!find_token_table(read, arg, T, index, &t.token_table) ||
	    !find_markers(read, arg, t.token_table, &markers, &count, &last, &step) ||
	    !find_names(read, arg, markers, count, last, step, &t.names, &n))
		return false;
	uint8_t nb[4];
	struct vr_error *rerr = read(arg, t.names - 4, nb, 4);
	bool padded = rerr || vr_le32(nb) != n; /* before 7.0 */
	vr_error_destroy(rerr);
	t.num_syms = t.names - (padded ? 8 : 4);
	uint64_t offsets_size = ((uint64_t)n * 4 + 7) & ~7ull;
	uint64_t after_index = (T + 512 + 7) & ~7ull;
	struct vr_kallsyms_tables cand[4] = {t, t, t, t};
	/* before 6.4 */
	cand[0].relative_base = t.num_syms - 8;
	cand[0].offsets = cand[0].relative_base - offsets_size;
	/* since 6.4 */
	cand[1].offsets = after_index;
	cand[1].relative_base = after_index + offsets_size;
	/* without CONFIG_KALLSYMS_BASE_RELATIVE */
	cand[2].addresses = t.num_syms - (uint64_t)n * 8;
	/* since 7.0: self-relative, right after the index */
	cand[3].offsets = T + 512;
	cand[3].pc_relative = true;
	for (int i = 0; i < 4; i++) {
		if (cand[i].relative_base) {
			uint8_t b[8];
			struct vr_error *err = read(arg, cand[i].relative_base, b, 8);
			bool kernel = !err && vr_le64(b) >= image_min;
			vr_error_destroy(err);
			if (!kernel)
				continue;
		}
		struct vr_kallsyms ks;
		struct vr_error *err = vr_kallsyms_read(&cand[i], read, arg, &ks);
		if (err) {
			vr_error_destroy(err);
			continue;
		}
		uint64_t a;
		if (ks.n == n && find_symbol(&ks, "_stext", &a) && a == stext) {
			*ret_t = cand[i];
			*ret = ks;
			return true;
		}
		vr_kallsyms_deinit(&ks);
	}
	return false;
}

struct vr_error *vr_kallsyms_search(vr_kallsyms_read_fn read, void *arg, uint64_t stext, uint64_t image_min,
				    struct vr_kallsyms_tables *ret_tables, struct vr_kallsyms *ret)
{
	size_t len = SEARCH_CHUNK + 512;
	_cleanup_free_ uint8_t *buf = malloc(len);
	if (!buf)
		return &vr_error_oom;
	size_t candidates = 0;
	for (uint64_t at = stext & ~4095ull; at - (stext & ~4095ull) < SEARCH_SPAN; at += SEARCH_CHUNK) {
		/* Unreadable pages read as zeros, which no index matches. */
		struct vr_error *err = read(arg, at, buf, len);
		if (err) {
			vr_error_destroy(err);
			for (size_t o = 0; o < len; o += 4096) {
				size_t l = len - o < 4096 ? len - o : 4096;
				err = read(arg, at + o, buf + o, l);
				if (err) {
					vr_error_destroy(err);
					memset(buf + o, 0, l);
				}
			}
		}
		for (size_t o = 0; o < SEARCH_CHUNK; o += 2) {
			/* Cheap first: a zero, then a short first token. */
			if (buf[o] || buf[o + 1] || le16(buf + o + 2) == 0 || le16(buf + o + 2) > 256)
				continue;
			if (!looks_like_index(buf + o))
				continue;
			candidates++;
			if (tables_at(read, arg, at + o, buf + o, stext, image_min, ret_tables, ret))
				return NULL;
		}
	}
	return vr_error_create(VR_ERR_NOT_FOUND,
			       "no kallsyms tables in the %u MiB after _stext (%zu token index candidates)",
			       SEARCH_SPAN >> 20, candidates);
}

struct vr_error *vr_kallsyms_load(const struct vr_vmcoreinfo *vi, vr_kallsyms_read_fn read, void *arg,
				  uint64_t image_min, struct vr_kallsyms *ret)
{
	struct vr_kallsyms_tables t;
	struct vr_error *err = vr_kallsyms_tables_from_vmcoreinfo(vi, &t);
	if (!err)
		return vr_kallsyms_read(&t, read, arg, ret);
	if (err->code != VR_ERR_NOT_FOUND)
		return err;
	vr_error_destroy(err);
	uint64_t stext;
	if (!vr_vmcoreinfo_symbol(vi, "_stext", &stext))
		return vr_error_create(VR_ERR_NOT_FOUND,
				       "VMCOREINFO names neither the kallsyms tables nor _stext to search from");
	err = vr_kallsyms_search(read, arg, stext, image_min, &t, ret);
	return err ? vr_error_wrap(err, "kallsyms tables not named in VMCOREINFO") : NULL;
}
