/* An RFC 5322 message for `sendmail -t`: the verdict, host and release in
 * the Subject, a plain-text body under 100 lines read on a phone. The Date
 * header is the crash time when known, so the same dump gives the same
 * message. */
#define _GNU_SOURCE
#include "emit.h"

#include <inttypes.h>
#include <stdarg.h>
#include <string.h>
#include <time.h>

#define BODY_MAX_LINES 95
#define TRACE_LINES 20

struct body {
	FILE *out;
	int lines;
	bool cut;
};

static void bline(struct body *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void bline(struct body *b, const char *fmt, ...)
{
	if (b->lines >= BODY_MAX_LINES) {
		b->cut = true;
		return;
	}
	char *s = NULL;
	va_list ap;
	va_start(ap, fmt);
	int n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	/* One physical line each; RFC 5322 lines stay under 998 characters. */
	for (char *p = s; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	if (strlen(s) > 990)
		s[990] = '\0';
	fprintf(b->out, "%s\n", s);
	b->lines++;
	free(s);
}

/* Header value: ASCII only (others become '?'), folded at 78 columns. */
static void header(FILE *out, const char *name, const char *value)
{
	size_t col = (size_t)fprintf(out, "%s:", name);
	const char *p = value;
	while (*p) {
		const char *w = p;
		while (*w == ' ')
			w++;
		const char *e = w;
		while (*e && *e != ' ')
			e++;
		size_t len = (size_t)(e - w);
		if (len == 0)
			break;
		if (col + 1 + len > 78 && col > strlen(name) + 1) {
			fputs("\n", out);
			col = 0;
		}
		fputc(' ', out);
		col++;
		for (const char *c = w; c < e; c++)
			fputc((unsigned char)*c < 0x20 || (unsigned char)*c > 0x7e ? '?' : *c, out);
		col += len;
		p = e;
	}
	fputc('\n', out);
}

struct vr_error *vr_emit_email(const struct vr_report *r, const struct vr_emit_options *o, FILE *out)
{
	const struct vr_system *s = &r->facts->system;
	char *verdict = vr_report_verdict(r);
	char subject[512];
	/* "(none)" is the kernel's default nodename: no host name was set. */
	bool host = s->nodename && strcmp(s->nodename, "(none)");
	snprintf(subject, sizeof(subject), "[vmreport] %s on %s (%s)", verdict ? verdict : "crash",
		 host ? s->nodename : "unnamed host", s->release ? s->release : "unknown kernel");

	header(out, "From", o->mail_from ? o->mail_from : "vmreport <root@localhost>");
	header(out, "To", o->mail_to ? o->mail_to : "root@localhost");
	char date[64];
	time_t t = s->crash_time >= 0 ? (time_t)s->crash_time : 0;
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000", &tm);
	header(out, "Date", date);
	header(out, "Subject", subject);
	header(out, "MIME-Version", "1.0");
	header(out, "Content-Type", "text/plain; charset=utf-8");
	header(out, "Content-Transfer-Encoding", "8bit");
	header(out, "X-Mailer", "vmreport");
	fputc('\n', out);

	struct body b = {.out = out};
	bline(&b, "%s", verdict ? verdict : "?");
	free(verdict);
	bline(&b, "%s", "");
	struct vr_summary sum;
	struct vr_error *err = vr_report_summary(r, &sum);
	if (err)
		return err;
	static const struct {
		enum vr_summary_field f;
		const char *label;
		bool always;
	} lines[] = {
		{VR_SUM_HOST, "Host:     ", true},  {VR_SUM_RELEASE, "Kernel:   ", true},
		{VR_SUM_TIME, "Time:     ", false}, {VR_SUM_PANIC, "Panic:    ", false},
		{VR_SUM_TASK, "Task:     ", false}, {VR_SUM_TAINT, "Taint:    ", false},
		{VR_SUM_DUMP, "Dump:     ", false}, {VR_SUM_SIGNATURE, "Signature: ", false},
	};
	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		const char *v = sum.v[lines[i].f];
		if (v || lines[i].always)
			bline(&b, "%s%s", lines[i].label, v ? v : "(unknown)");
	}
	vr_summary_deinit(&sum);

	const struct vr_crash *c = &r->crash;
	bline(&b, "%s", "");
	bline(&b, "Crash: %s", vr_kind_words(c->kind));
	if (c->title)
		bline(&b, "  %s", c->title);
	if (c->ip_known) {
		char *n = vr_frame_name(&c->ip);
		if (c->ip.file)
			bline(&b, "  at %s (%s:%d)", n ? n : "?", c->ip.file, c->ip.line);
		else
			bline(&b, "  at %s", n ? n : "?");
		free(n);
	}
	if (r->pointer.explanation)
		bline(&b, "  %s", r->pointer.explanation);
	if (r->blame.culprit) {
		bline(&b, "%s", "");
		bline(&b, "Blame: %s%s%s (%s confidence)", r->blame.culprit, r->blame.module ? " " : "",
		      r->blame.module ? r->blame.module : "", r->blame.confidence ? r->blame.confidence : "low");
		for (size_t i = 0; i < r->blame.n_reasons && i < 6; i++)
			bline(&b, "  - %s", r->blame.reasons[i]);
	}
	if (r->n_findings) {
		bline(&b, "%s", "");
		bline(&b, "Findings:");
		for (size_t i = 0; i < r->n_findings && i < 8; i++) {
			bline(&b, "  [%s] %s", r->findings[i].severity, r->findings[i].title);
			if (r->findings[i].advice)
				bline(&b, "    %s", r->findings[i].advice);
		}
		if (r->n_findings > 8)
			bline(&b, "  (%zu more findings in the full report)", r->n_findings - 8);
	}
	const struct vr_cpu *pc = vr_report_panic_cpu(r);
	const struct vr_trace *tr = pc && pc->trace.n_frames ? &pc->trace : &c->trace;
	if (tr->n_frames) {
		bline(&b, "%s", "");
		bline(&b, "Backtrace%s:", pc ? "" : " (from the kernel log)");
		size_t n = tr->n_frames < TRACE_LINES ? tr->n_frames : TRACE_LINES;
		for (size_t i = 0; i < n; i++) {
			char *name = vr_frame_name(&tr->frames[i]);
			bline(&b, " #%zu %s%s", i, tr->frames[i].reliable ? "" : "? ", name ? name : "?");
			free(name);
		}
		if (tr->n_frames > n)
			bline(&b, " (%zu more frames in the full report)", tr->n_frames - n);
	}
	if (b.cut)
		fputs("(cut: the full report has more)\n", out);
	fputs("\n-- \nvmreport " VR_VERSION "\n", out);
	return NULL;
}
