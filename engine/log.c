/* The kernel log as records: appending to it, reading it from text, and
 * rendering it in the form of `makedumpfile --dump-dmesg`. printk.c reads
 * it from a dump's memory. */
#define _GNU_SOURCE
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "strings.h"

/* The most records one log may hold. */
#define VR_LOG_MAX_RECORDS (1u << 24)

struct vr_error *vr_log_append(struct vr_log *log, size_t *cap, const struct vr_log_record *rec,
			       const char *text, size_t text_len)
{
	struct vr_error *err = vr_grow(&log->records, cap, log->n_records + 1, sizeof(*log->records),
				       VR_LOG_MAX_RECORDS);
	if (err)
		return err;
	char *t = vr_strndup(text, text_len);
	if (!t)
		return &vr_error_oom;
	/* Text with an embedded NUL ends there, as the kernel's own readers
	 * (devkmsg, syslog) would show it. */
	log->records[log->n_records] = *rec;
	log->records[log->n_records].text = t;
	log->n_records++;
	return NULL;
}

/* ---- text input ---- */

static bool is_digit(char c) { return c >= '0' && c <= '9'; }

/* "[  123.456789]" at p: the timestamp in ns and the length consumed
 * (including one following space). */
static size_t parse_ts(const char *p, size_t n, uint64_t *ts)
{
	size_t i = 0;
	if (i >= n || p[i] != '[')
		return 0;
	i++;
	while (i < n && p[i] == ' ')
		i++;
	uint64_t sec = 0, frac = 0;
	int nd = 0, nf = 0;
	while (i < n && is_digit(p[i]) && nd < 12) {
		sec = sec * 10 + (uint64_t)(p[i++] - '0');
		nd++;
	}
	if (!nd || i >= n || p[i] != '.')
		return 0;
	i++;
	while (i < n && is_digit(p[i]) && nf < 9) {
		frac = frac * 10 + (uint64_t)(p[i++] - '0');
		nf++;
	}
	if (!nf || i >= n || p[i] != ']')
		return 0;
	i++;
	for (int k = nf; k < 9; k++)
		frac *= 10;
	*ts = sec * 1000000000ull + frac;
	if (i < n && p[i] == ' ')
		i++;
	return i;
}

/* "[  T123]" or "[C1]": CONFIG_PRINTK_CALLER's prefix (kernel/printk/printk.c
 * info_print_prefix()); kept in the text, only decoded. */
static uint32_t parse_caller(const char *p, size_t n)
{
	size_t i = 0;
	if (i >= n || p[i] != '[')
		return 0;
	i++;
	while (i < n && p[i] == ' ')
		i++;
	if (i >= n || (p[i] != 'T' && p[i] != 'C'))
		return 0;
	bool cpu = p[i++] == 'C';
	uint64_t v = 0;
	int nd = 0;
	while (i < n && is_digit(p[i]) && nd < 10) {
		v = v * 10 + (uint64_t)(p[i++] - '0');
		nd++;
	}
	if (!nd || i >= n || p[i] != ']' || v > 0x7fffffff)
		return 0;
	return cpu ? 0x80000000u | (uint32_t)v : (uint32_t)v;
}

/* journalctl -k and syslog put "DATE HOST kernel: " before each line. */
static size_t journal_prefix(const char *p, size_t n)
{
	if (!n || p[0] == '[' || p[0] == '<' || p[0] == ' ')
		return 0;
	size_t lim = n < 96 ? n : 96;
	for (size_t i = 0; i + 9 <= lim; i++)
		if (!memcmp(p + i, " kernel: ", 9))
			return i + 9;
	return 0;
}

static int prefix_len(uint64_t ts)
{
	char b[64];
	return snprintf(b, sizeof(b), "[%5llu.%06llu] ", (unsigned long long)(ts / 1000000000ull),
			(unsigned long long)(ts % 1000000000ull / 1000));
}

/* Whether a text ends its lines with a carriage return alone, as some
 * consoles do: more lone CRs than newlines. Otherwise a lone CR is noise
 * (binary junk, a progress line redrawn) inside a line. */
static bool cr_ends_lines(const char *p, size_t n)
{
	size_t lf = 0, cr = 0;
	for (size_t i = 0; i < n; i++) {
		if (p[i] == '\n')
			lf++;
		else if (p[i] == '\r' && (i + 1 == n || p[i + 1] != '\n'))
			cr++;
	}
	return cr > lf;
}

/* The length of the line at p: up to a newline, or in a text whose lines
 * end with CR alone, a CR. */
static size_t text_line_len(const char *p, size_t n, bool cr_lines)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] == '\n' || (cr_lines && p[i] == '\r'))
			return i;
	return n;
}

/* A byte of binary noise: a control character other than tab, ESC and CR,
 * DEL, or a byte outside a valid UTF-8 sequence; *len is what it spans. */
static bool junk_byte(const char *p, size_t n, size_t *len)
{
	unsigned char c = (unsigned char)p[0];
	*len = 1;
	if ((c < 0x20 && c != '\t' && c != 0x1b && c != '\r') || c == 0x7f)
		return true;
	size_t u = vr_utf8_len((const unsigned char *)p, n);
	if (!u)
		return true;
	*len = u;
	return false;
}

/* Binary junk rather than a line of text: more than a quarter of its bytes
 * are noise. */
static bool is_junk(const char *p, size_t n)
{
	size_t bad = 0, len;
	for (size_t i = 0; i < n; i += len)
		if (junk_byte(p + i, n - i, &len))
			bad++;
	return bad * 4 > n;
}

/* Any noise at all: what marks a short line after junk as more of it. */
static bool has_noise(const char *p, size_t n)
{
	size_t len;
	for (size_t i = 0; i < n; i += len)
		if (junk_byte(p + i, n - i, &len))
			return true;
	return false;
}

/* Noise glued to the front of a line, as a serial console leaves it when
 * a line follows garbage without a newline: the bytes before the first
 * "[ seconds.micro]" stamp (or "<level>[ stamp]") when they are junk, 0
 * when there are none or no stamp follows. */
static size_t junk_prefix(const char *p, size_t n)
{
	uint64_t ts;
	size_t lim = n < 4096 ? n : 4096;
	for (size_t i = 1; i < lim; i++) {
		size_t j = i;
		if (p[i] == '<') {
			j = i + 1;
			while (j < n && j < i + 5 && is_digit(p[j]))
				j++;
			if (j == i + 1 || j >= n || p[j] != '>')
				continue;
			j++;
		} else if (p[i] != '[') {
			continue;
		}
		if (parse_ts(p + j, n - j, &ts))
			return is_junk(p, i) ? i : 0;
	}
	return 0;
}

struct vr_error *vr_log_parse_text(const char *text, size_t len, struct vr_log *log)
{
	size_t cap = log->n_records;
	bool prev_ts = false; /* the last record came from a timestamped line */
	if (!log->source && !(log->source = vr_strdup("text")))
		return &vr_error_oom;
	char *clean = NULL;
	bool cr_lines = cr_ends_lines(text, len);
	bool prev_junk = false; /* the line before was junk */
	for (size_t pos = 0; pos < len;) {
		const char *line = text + pos;
		size_t n = text_line_len(line, len - pos, cr_lines);
		pos += n + 1;
		while (n && (line[n - 1] == '\r' || line[n - 1] == '\0'))
			n--;
		if (!n)
			continue;
		/* A serial console's noise: binary junk is skipped and counted,
		 * NUL bytes inside a line dropped. */
		size_t junk = junk_prefix(line, n);
		if (junk) {
			log->junk_lines++;
			line += junk;
			n -= junk;
		} else if (is_junk(line, n) || (prev_junk && has_noise(line, n))) {
			log->junk_lines++;
			prev_junk = true;
			continue;
		}
		prev_junk = false;
		if (memchr(line, '\0', n)) {
			free(clean);
			if (!(clean = malloc(n)))
				return &vr_error_oom;
			size_t k = 0;
			for (size_t i = 0; i < n; i++)
				if (line[i])
					clean[k++] = line[i];
			line = clean;
			n = k;
			if (!n)
				continue;
		}
		/* The indented rest of a multi-line record, as makedumpfile
		 * and dmesg print it. */
		if (prev_ts && log->n_records) {
			struct vr_log_record *r = &log->records[log->n_records - 1];
			size_t ind = (size_t)prefix_len(r->ts_nsec);
			size_t k = 0;
			while (k < n && k < ind && line[k] == ' ')
				k++;
			if (k == ind) {
				size_t old = strlen(r->text);
				char *t = realloc(r->text, old + 1 + (n - ind) + 1);
				if (!t) {
					free(clean);
					return &vr_error_oom;
				}
				t[old] = '\n';
				memcpy(t + old + 1, line + ind, n - ind);
				t[old + 1 + n - ind] = '\0';
				r->text = t;
				continue;
			}
		}
		struct vr_log_record rec = {.seq = log->n_records, .level = -1, .facility = -1,
					    .ts_nsec = VR_LOG_TS_UNKNOWN};
		size_t i = journal_prefix(line, n);
		/* "<6>" level prefix (syslog PRI: facility * 8 + level) */
		if (i + 2 < n && line[i] == '<' && is_digit(line[i + 1])) {
			size_t j = i + 1;
			int pri = 0;
			while (j < n && is_digit(line[j]) && pri < 1000)
				pri = pri * 10 + (line[j++] - '0');
			if (j < n && line[j] == '>' && pri < 1024) {
				rec.level = pri & 7;
				rec.facility = pri >> 3;
				i = j + 1;
			}
		}
		size_t t = parse_ts(line + i, n - i, &rec.ts_nsec);
		prev_ts = t > 0;
		i += t;
		rec.caller_id = parse_caller(line + i, n - i);
		struct vr_error *err = vr_log_append(log, &cap, &rec, line + i, n - i);
		if (err) {
			free(clean);
			return err;
		}
	}
	free(clean);
	return NULL;
}

/* ---- rendering ---- */

struct sbuf {
	char *p;
	size_t len, cap;
	bool oom;
};

static void sb_add(struct sbuf *b, const char *s, size_t n)
{
	if (b->oom)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t nc = (b->cap ? b->cap * 2 : 128);
		while (nc < b->len + n + 1)
			nc *= 2;
		char *np = realloc(b->p, nc);
		if (!np) {
			b->oom = true;
			return;
		}
		b->p = np;
		b->cap = nc;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static char *record_line(const struct vr_log_record *r, bool raw)
{
	struct sbuf b = {0};
	char pre[64];
	int ind = 0;
	if (r->ts_nsec != VR_LOG_TS_UNKNOWN) {
		ind = snprintf(pre, sizeof(pre), "[%5llu.%06llu] ",
			       (unsigned long long)(r->ts_nsec / 1000000000ull),
			       (unsigned long long)(r->ts_nsec % 1000000000ull / 1000));
		sb_add(&b, pre, (size_t)ind);
	}
	sb_add(&b, "", 0); /* an empty line is "", not NULL */
	for (const unsigned char *p = (const unsigned char *)(r->text ? r->text : ""); *p; p++) {
		char e[16];
		if (*p == '\n') {
			sb_add(&b, "\n", 1);
			for (int k = 0; k < ind; k++)
				sb_add(&b, " ", 1);
		} else if ((*p >= 0x20 && *p < 0x7f) || (*p >= '\t' && *p <= '\r')) {
			sb_add(&b, (const char *)p, 1);
		} else if (raw) {
			/* A log given as text keeps its UTF-8; other bytes
			 * (invalid sequences, terminal controls) are escaped
			 * as dmesg does, so the output is valid UTF-8. */
			size_t n = *p >= 0x80 ? vr_utf8_len(p, 4) : 0;
			if (n) {
				sb_add(&b, (const char *)p, n);
				p += n - 1;
			} else {
				int k = snprintf(e, sizeof(e), "\\x%02x", *p);
				sb_add(&b, e, (size_t)k);
			}
		} else {
			/* makedumpfile formats the (signed) char with %02x: a
			 * byte from 0x80 up prints as \xffffffNN. */
			int v = (signed char)*p;
			int k = snprintf(e, sizeof(e), "\\x%02x", (unsigned)v);
			sb_add(&b, e, (size_t)k);
		}
	}
	if (b.oom) {
		free(b.p);
		return NULL;
	}
	return b.p;
}

char *vr_log_record_line(const struct vr_log_record *r)
{
	return record_line(r, false);
}

void vr_log_render(const struct vr_log *log, FILE *out)
{
	bool raw = log->source && !strcmp(log->source, "text");
	for (size_t i = 0; i < log->n_records; i++) {
		char *l = record_line(&log->records[i], raw);
		if (l) {
			fputs(l, out);
			fputc('\n', out);
		}
		free(l);
	}
}
