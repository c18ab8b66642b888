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
 *                        and offset < 0 means relative_base - 1 - offset
 *  kallsyms_addresses    unsigned long per symbol (without BASE_RELATIVE)
 *
 * Symbols are in address order. There are no sizes; callers derive them
 * from the next symbol, as the kernel does (kallsyms_lookup_size_offset).
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
	bool rel = vr_vmcoreinfo_symbol(vi, "kallsyms_offsets", &t.offsets) &&
		   vr_vmcoreinfo_symbol(vi, "kallsyms_relative_base", &t.relative_base);
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
		if (vr_error_catch(vr_grow(&pt->names, &pt->names_cap, pt->names_len + nlen, 1, MAX_NAMES_BYTES)))
			return NULL;
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
 * to do it. */
static bool names_in_halves(const struct vr_kallsyms_tables *t, vr_kallsyms_read_fn read, void *arg,
			    const struct token tokens[256], uint32_t n, struct vr_kallsyms *ks)
{
	if (t->token_table <= t->names || t->token_table - t->names > MAX_NAMES_BYTES)
		return false;
	size_t len = (size_t)(t->token_table - t->names);
	uint8_t *buf = malloc(len);
	char(*padded)[TOKEN_PAD] = calloc(256, TOKEN_PAD);
	if (!buf || !padded || vr_error_catch(read(arg, t->names, buf, len))) {
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
		ok = !vr_error_catch(vr_grow(&parts[0].names, &parts[0].names_cap,
					     parts[0].names_len + parts[1].names_len, 1, MAX_NAMES_BYTES));
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
