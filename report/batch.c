/* The summary of a batch (vmreport --batch): one row per dump, then the
 * number of dumps per signature, in every output format. The rows hold
 * what each dump's report says; nothing is computed here but the counts. */
#define _GNU_SOURCE
#include "common.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static char *dup_or_null(const char *s)
{
	return s ? vr_strdup(s) : NULL;
}

struct vr_error *vr_batch_row_fill(struct vr_batch_row *row, const struct vr_report *r)
{
	const struct vr_system *s = &r->facts->system;
	row->crash_time = s->crash_time;
	bool oom = false;
#define SET(field, value)                                         \
	do {                                                      \
		free(row->field);                                 \
		row->field = dup_or_null(value);                  \
		oom |= (value) && !row->field;                    \
	} while (0)
	/* "(none)" is the kernel's default nodename: no host name was set. */
	SET(host, s->nodename && strcmp(s->nodename, "(none)") ? s->nodename : NULL);
	SET(release, s->release);
	SET(kind, r->crash.kind);
	SET(culprit, r->blame.culprit);
	SET(function, r->blame.function);
	SET(signature, r->signature.id);
#undef SET
	return oom ? &vr_error_oom : NULL;
}

void vr_batch_row_deinit(struct vr_batch_row *row)
{
	free(row->name);
	free(row->path);
	free(row->host);
	free(row->release);
	free(row->kind);
	free(row->culprit);
	free(row->function);
	free(row->signature);
	free(row->error);
	*row = (struct vr_batch_row){ .crash_time = -1 };
}

static const char *status_word(int status)
{
	return status == 0 ? "ok" : status == 3 ? "fail-on" : "error";
}

/* ---- the count per signature ---- */

struct sig_count {
	const char *id;        /* NULL: no signature */
	size_t count;
	size_t first;          /* the first row with it */
};

static int sig_cmp(const void *x, const void *y)
{
	const struct sig_count *a = x, *b = y;
	if (a->count != b->count)
		return a->count > b->count ? -1 : 1;
	return a->first < b->first ? -1 : a->first > b->first;
}

/* The signatures of the rows that have a report, most dumps first, then in
 * the order they first appear. */
static struct vr_error *count_signatures(const struct vr_batch_row *rows, size_t n, struct sig_count **ret,
					 size_t *ret_n)
{
	struct sig_count *c = calloc(n ? n : 1, sizeof(*c));
	if (!c)
		return &vr_error_oom;
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		if (rows[i].status == 2)
			continue;
		size_t j = 0;
		while (j < k && !(c[j].id == rows[i].signature ||
				  (c[j].id && rows[i].signature && !strcmp(c[j].id, rows[i].signature))))
			j++;
		if (j == k)
			c[k++] = (struct sig_count){ rows[i].signature, 0, i };
		c[j].count++;
	}
	qsort(c, k, sizeof(*c), sig_cmp);
	*ret = c;
	*ret_n = k;
	return NULL;
}

/* ---- text, Markdown, email ---- */

struct column {
	const char *title;
	const char *(*get)(const struct vr_batch_row *r, char *buf, size_t len);
};

static const char *col_name(const struct vr_batch_row *r, char *b, size_t l) { return r->name; }
static const char *col_time(const struct vr_batch_row *r, char *b, size_t l)
{
	if (r->crash_time < 0)
		return NULL;
	vr_format_time(r->crash_time, b, l);
	return b;
}
static const char *col_host(const struct vr_batch_row *r, char *b, size_t l) { return r->host; }
static const char *col_release(const struct vr_batch_row *r, char *b, size_t l) { return r->release; }
static const char *col_kind(const struct vr_batch_row *r, char *b, size_t l) { return r->kind; }
static const char *col_culprit(const struct vr_batch_row *r, char *b, size_t l) { return r->culprit; }
static const char *col_function(const struct vr_batch_row *r, char *b, size_t l) { return r->function; }
static const char *col_signature(const struct vr_batch_row *r, char *b, size_t l) { return r->signature; }
static const char *col_status(const struct vr_batch_row *r, char *b, size_t l)
{
	if (r->status != 2 || !r->error)
		return status_word(r->status);
	snprintf(b, l, "error: %s", r->error);
	return b;
}

static const struct column columns[] = {
	{ "DUMP", col_name },         { "CRASH TIME", col_time },   { "HOST", col_host },
	{ "RELEASE", col_release },   { "KIND", col_kind },         { "CULPRIT", col_culprit },
	{ "FUNCTION", col_function }, { "SIGNATURE", col_signature }, { "STATUS", col_status },
};
#define N_COLUMNS (sizeof(columns) / sizeof(columns[0]))

/* A cell as one line: control characters and, in Markdown, '|' replaced. */
static void cell(FILE *out, const char *s, bool markdown, size_t width)
{
	size_t n = 0;
	for (const unsigned char *p = (const unsigned char *)(s ? s : "-"); *p; p++, n++) {
		if (*p < 0x20 || *p == 0x7f)
			fputc(' ', out);
		else if (markdown && (*p == '|' || *p == '\\' || *p == '`' || *p == '*' || *p == '_'))
			fprintf(out, "\\%c", *p);
		else
			fputc(*p, out);
	}
	for (; n < width; n++)
		fputc(' ', out);
}

static size_t text_width(const char *s)
{
	return s ? strlen(s) : 1;
}

static void table(FILE *out, const struct vr_batch_row *rows, size_t n, bool markdown)
{
	char buf[N_COLUMNS][512];
	size_t width[N_COLUMNS];
	for (size_t c = 0; c < N_COLUMNS; c++) {
		width[c] = strlen(columns[c].title);
		for (size_t i = 0; i < n && !markdown; i++) {
			size_t w = text_width(columns[c].get(&rows[i], buf[c], sizeof(buf[c])));
			if (w > width[c])
				width[c] = w;
		}
	}
	for (size_t c = 0; c < N_COLUMNS; c++) {
		if (markdown)
			fprintf(out, "| %s ", columns[c].title);
		else
			fprintf(out, "%-*s%s", c + 1 < N_COLUMNS ? (int)width[c] : 0, columns[c].title,
				c + 1 < N_COLUMNS ? "  " : "");
	}
	fputs(markdown ? "|\n" : "\n", out);
	if (markdown) {
		for (size_t c = 0; c < N_COLUMNS; c++)
			fputs("|---", out);
		fputs("|\n", out);
	}
	for (size_t i = 0; i < n; i++) {
		for (size_t c = 0; c < N_COLUMNS; c++) {
			const char *v = columns[c].get(&rows[i], buf[c], sizeof(buf[c]));
			if (markdown) {
				fputs("| ", out);
				cell(out, v, true, 0);
				fputc(' ', out);
			} else {
				cell(out, v, false, c + 1 < N_COLUMNS ? width[c] : 0);
				if (c + 1 < N_COLUMNS)
					fputs("  ", out);
			}
		}
		fputs(markdown ? "|\n" : "\n", out);
	}
}

static void sig_table(FILE *out, const struct sig_count *s, size_t k, const struct vr_batch_row *rows,
		      bool markdown)
{
	size_t w = strlen("SIGNATURE");
	for (size_t j = 0; j < k; j++)
		if (text_width(s[j].id ? s[j].id : "(none)") > w)
			w = text_width(s[j].id ? s[j].id : "(none)");
	if (markdown)
		fputs("| SIGNATURE | DUMPS | FIRST |\n|---|---|---|\n", out);
	else
		fprintf(out, "%-*s  DUMPS  FIRST\n", (int)w, "SIGNATURE");
	for (size_t j = 0; j < k; j++) {
		if (markdown) {
			fputs("| ", out);
			cell(out, s[j].id ? s[j].id : "(none)", true, 0);
			fprintf(out, " | %zu | ", s[j].count);
			cell(out, rows[s[j].first].name, true, 0);
			fputs(" |\n", out);
		} else {
			cell(out, s[j].id ? s[j].id : "(none)", false, w);
			fprintf(out, "  %5zu  ", s[j].count);
			cell(out, rows[s[j].first].name, false, 0);
			fputc('\n', out);
		}
	}
}

static size_t n_status(const struct vr_batch_row *rows, size_t n, int status)
{
	size_t c = 0;
	for (size_t i = 0; i < n; i++)
		c += rows[i].status == status;
	return c;
}

/* ---- JSON ---- */

static void add_str(cJSON *o, const char *k, const char *v)
{
	cJSON_AddItemToObject(o, k, v ? cJSON_CreateString(v) : cJSON_CreateNull());
}

static struct vr_error *emit_json(const struct vr_batch_row *rows, size_t n, const struct sig_count *s,
				  size_t k, FILE *out)
{
	cJSON *root = cJSON_CreateObject();
	if (!root)
		return &vr_error_oom;
	add_str(root, "schema_version", VR_SCHEMA_VERSION);
	cJSON *tool = cJSON_CreateObject();
	add_str(tool, "name", "vmreport");
	add_str(tool, "version", VR_VERSION);
	cJSON_AddItemToObject(root, "tool", tool);
	cJSON *dumps = cJSON_CreateArray();
	for (size_t i = 0; i < n; i++) {
		const struct vr_batch_row *r = &rows[i];
		cJSON *d = cJSON_CreateObject();
		char t[32];
		add_str(d, "name", r->name);
		add_str(d, "path", r->path);
		add_str(d, "crash_time", col_time(r, t, sizeof(t)));
		add_str(d, "host", r->host);
		add_str(d, "release", r->release);
		add_str(d, "kind", r->kind);
		add_str(d, "culprit", r->culprit);
		add_str(d, "function", r->function);
		add_str(d, "signature", r->signature);
		add_str(d, "status", status_word(r->status));
		add_str(d, "error", r->status == 2 ? r->error : NULL);
		cJSON_AddItemToArray(dumps, d);
	}
	cJSON_AddItemToObject(root, "dumps", dumps);
	cJSON *sigs = cJSON_CreateArray();
	for (size_t j = 0; j < k; j++) {
		cJSON *o = cJSON_CreateObject();
		add_str(o, "id", s[j].id);
		cJSON_AddItemToObject(o, "count", cJSON_CreateNumber((double)s[j].count));
		cJSON *names = cJSON_CreateArray();
		for (size_t i = 0; i < n; i++)
			if (rows[i].status != 2 &&
			    (rows[i].signature == s[j].id ||
			     (rows[i].signature && s[j].id && !strcmp(rows[i].signature, s[j].id))))
				cJSON_AddItemToArray(names, cJSON_CreateString(rows[i].name));
		cJSON_AddItemToObject(o, "dumps", names);
		cJSON_AddItemToArray(sigs, o);
	}
	cJSON_AddItemToObject(root, "signatures", sigs);
	char *text = cJSON_Print(root);
	cJSON_Delete(root);
	if (!text)
		return &vr_error_oom;
	fprintf(out, "%s\n", text);
	free(text);
	return NULL;
}

struct vr_error *vr_batch_emit(const struct vr_batch_row *rows, size_t n, enum vr_output_format fmt,
			       const struct vr_emit_options *o, FILE *out)
{
	struct sig_count *s;
	size_t k;
	struct vr_error *err = count_signatures(rows, n, &s, &k);
	if (err)
		return err;
	switch (fmt) {
	case VR_OUTPUT_JSON:
		err = emit_json(rows, n, s, k, out);
		break;
	case VR_OUTPUT_MARKDOWN:
		fprintf(out, "# vmreport: %zu dump%s\n\n", n, n == 1 ? "" : "s");
		table(out, rows, n, true);
		fputs("\n## Dumps per signature\n\n", out);
		sig_table(out, s, k, rows, true);
		break;
	case VR_OUTPUT_EMAIL: {
		/* Headers of our own words only: ASCII, short. The Date is the
		 * latest crash's, so the same batch gives the same message. */
		int64_t latest = -1;
		for (size_t i = 0; i < n; i++)
			if (rows[i].crash_time > latest)
				latest = rows[i].crash_time;
		char date[64];
		time_t t = latest >= 0 ? (time_t)latest : 0;
		struct tm tm;
		gmtime_r(&t, &tm);
		strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000", &tm);
		fprintf(out, "From: %s\n", o && o->mail_from ? o->mail_from : "vmreport <root@localhost>");
		fprintf(out, "To: %s\n", o && o->mail_to ? o->mail_to : "root@localhost");
		fprintf(out, "Date: %s\n", date);
		fprintf(out, "Subject: [vmreport] %zu dump%s, %zu signature%s, %zu not analysed\n", n,
			n == 1 ? "" : "s", k, k == 1 ? "" : "s", n_status(rows, n, 2));
		fputs("MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n"
		      "Content-Transfer-Encoding: 8bit\nX-Mailer: vmreport\n\n", out);
		/* the body is the text summary */
		__attribute__((fallthrough));
	}
	case VR_OUTPUT_TEXT:
		table(out, rows, n, false);
		fputc('\n', out);
		sig_table(out, s, k, rows, false);
		break;
	}
	free(s);
	if (!err && ferror(out))
		err = vr_error_create(VR_ERR_IO, "writing the summary failed");
	return err;
}
