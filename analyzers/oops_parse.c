/* The kernel oops text parser (see oops_parse.h for what it reads).
 *
 * Two passes over the log:
 *  1. segmentation: every line is classified (headline of a report, a line
 *     that belongs to the header of the report before it, a panic line);
 *     reports are opened, merged and closed as the kernel prints them, and
 *     each panic line is attached to the report that caused it;
 *  2. decoding: the fatal report's lines (and, for fields its own lines do
 *     not carry, the lines of the panic that followed it) are read for the
 *     CPU line, registers, instruction pointer, call trace and so on.
 * This file holds pass 1 and the parser's entry points (oops_parse.h);
 * pass 2 is oops_decode.c. */
#define _GNU_SOURCE
#include "oops_internal.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A panic message without its trailing " ..." or "\n", at most cap - 1
 * bytes, for comparing with a headline. */
static const char *pm_head(const char *pm, char *buf, size_t cap)
{
	size_t n = strcspn(pm, "\n");
	while (n && (pm[n - 1] == '.' || pm[n - 1] == ' '))
		n--;
	if (n >= cap)
		n = cap - 1;
	if (n < 8)
		n = 0; /* too short to say anything */
	memcpy(buf, pm, n);
	buf[n] = '\0';
	return n ? buf : "\x01";
}

/* ---- pass 1: segmentation ---- */

/* Lines that end a report's header: after them a headline is a new report. */
static bool closes_header(const char *m)
{
	m = skip_ws(m);
	return starts(m, "CPU: ") || starts(m, "Pid: ") || starts(m, "Call Trace:") ||
	       starts(m, "Call trace:") || starts(m, "Backtrace:") || starts(m, "RIP: ") ||
	       starts(m, "pc : ") || starts(m, "---[ end trace") || starts(m, "Modules linked in") ||
	       starts(m, "EIP: ") || starts(m, "NIP ") || starts(m, "Krnl PSW");
}

static struct vr_error *add_report(struct seg_state *st, size_t line, struct vr_klog_head h)
{
	if (st->n >= VR_OOPS_MAX_REPORTS)
		return NULL;
	struct vr_error *err = vr_grow(&st->r, &st->cap, st->n + 1, sizeof(*st->r),
				       VR_OOPS_MAX_REPORTS);
	if (err)
		return err;
	st->r[st->n++] = (struct report){
		.first = line,
		.head = line,
		.kind = h.kind,
		.die = h.type == VR_KLOG_DIE,
		.prelude = h.type == VR_KLOG_PRELUDE,
	};
	return NULL;
}

bool vr_oops_kind_is(const char *k, const char *want)
{
	return k && !strcmp(k, want);
}

/* With caller ids, the report a line continues is the latest one of the
 * same task or CPU (two CPUs' oopses can interleave line by line); a
 * line of another context opens no header of a report it is not in. */
static struct report *current_report(struct seg_state *st, const char (*ctx)[VR_KLOG_CTX_LEN], size_t i)
{
	if (!st->n)
		return NULL;
	struct report *last = &st->r[st->n - 1];
	if (!ctx || !ctx[i][0])
		return last;
	for (size_t j = st->n, k = 0; j-- > 0 && k < 16; k++) {
		struct report *r = &st->r[j];
		if (!ctx[r->head][0] || !strcmp(ctx[r->head], ctx[i]))
			return r;
	}
	return ctx[last->head][0] ? NULL : last;
}

/* The report a "Kernel panic - not syncing" line at i ends: the last one
 * the panic's message names (or any, or the last die(), as the message
 * says), of the panicking task when lines carry caller ids; NULL when
 * the panic is a report of its own. k: the kind the message names. */
static struct report *panic_owner(char **msg, const char (*ctx)[VR_KLOG_CTX_LEN], size_t i,
				  struct seg_state *st, struct report *cur, const char *pm, const char **ret_kind)
{
	bool attach_die, attach_any;
	const char *k = vr_klog_panic_kind(pm, &attach_die, &attach_any);
	*ret_kind = k;
	char pbuf[128];
	struct report *to = NULL;
	for (size_t j = st->n; j-- > 0 && !to;) {
		struct report *r = &st->r[j];
		if (r->has_panic)
			break;
		/* With caller ids: the panicking task's own report. */
		if (ctx && ctx[i][0] && ctx[r->head][0] && strcmp(ctx[i], ctx[r->head]))
			continue;
		if (attach_any || (attach_die && r->die) || (k && r->kind && !strcmp(r->kind, k)))
			to = r;
	}
	if (!to && attach_die && cur && !cur->has_panic)
		to = cur;
	/* "BUG: scheduling while atomic: ..." then "Kernel panic - not
	 * syncing: scheduling while atomic": a panic that repeats the
	 * report's headline is that report's. */
	if (!to && cur && !cur->has_panic && msg[cur->head] && *pm &&
	    strstr(msg[cur->head], pm_head(pm, pbuf, sizeof(pbuf))))
		to = cur;
	/* "Kernel panic - not syncing: Unable to continue" right after a
	 * machine check report is that machine check. */
	if (!to && k && !strcmp(k, "panic") && cur && !cur->has_panic && vr_oops_kind_is(cur->kind, "mce") &&
	    i - cur->first < 64)
		to = cur;
	if (to && vr_oops_kind_is(to->kind, "hung-task")) {
		/* Several blocked tasks reported in one scan: the first of
		 * them set off the panic. */
		while (to > st->r && vr_oops_kind_is(to[-1].kind, "hung-task") && !to[-1].has_panic)
			to--;
	}
	return to;
}

/* A panic line: the end of the report it names, or a report of its own. */
static struct vr_error *panic_line(char **msg, const char (*ctx)[VR_KLOG_CTX_LEN], size_t i,
				   struct seg_state *st, struct report *cur)
{
	const char *pm = skip_ws(msg[i]) + strlen("Kernel panic - not syncing");
	if (*pm == ':')
		pm++;
	pm = skip_ws(pm);
	const char *k;
	struct report *to = panic_owner(msg, ctx, i, st, cur, pm, &k);
	if (to) {
		to->has_panic = true;
		to->panic_line = i;
		if (cur)
			cur->closed = true;
		return NULL;
	}
	struct vr_error *err = add_report(st, i, (struct vr_klog_head){VR_KLOG_REPORT, k ? k : "panic"});
	if (!err && st->n) {
		st->r[st->n - 1].has_panic = true;
		st->r[st->n - 1].panic_line = i;
	}
	return err;
}

/* A headline inside the open report cur that belongs to it: the report a
 * prelude announced (keeping the prelude's kind when it has one: a sysrq
 * crash stays sysrq), its die() line, a line that names its kind. */
static bool joins_report(struct report *cur, struct vr_klog_head h, size_t i)
{
	if (cur->prelude) {
		if (!cur->kind) {
			cur->kind = h.kind;
			cur->head = i;
		}
		if (h.type == VR_KLOG_DIE)
			cur->die = true;
		if (h.type != VR_KLOG_PRELUDE)
			cur->prelude = false;
		return true;
	}
	if (h.type == VR_KLOG_DIE && !cur->die) {
		cur->die = true;
		return true;
	}
	if (h.type == VR_KLOG_REFINER && (vr_oops_kind_is(cur->kind, "warning") || vr_oops_kind_is(cur->kind, "bug") ||
					  vr_oops_kind_is(cur->kind, h.kind))) {
		if (!vr_oops_kind_is(cur->kind, h.kind)) {
			cur->kind = h.kind;
			cur->head = i;
		}
		return true;
	}
	return false;
}

struct vr_error *vr_oops_segment(char **msg, const char (*ctx)[VR_KLOG_CTX_LEN], size_t n,
				 struct seg_state *st)
{
	struct vr_error *err = NULL;
	for (size_t i = 0; i < n && !err; i++) {
		const char *m = msg[i];
		if (!m)
			continue;
		struct report *cur = current_report(st, ctx, i);
		if (starts(m, "Linux version ") && cur) {
			cur->closed = true; /* a new boot */
			continue;
		}
		struct vr_klog_head h = vr_klog_classify(m);
		if (h.type == VR_KLOG_NONE) {
			if (cur && !cur->closed && closes_header(m))
				cur->closed = true;
			continue;
		}
		if (h.type == VR_KLOG_PANIC) {
			err = panic_line(msg, ctx, i, st, cur);
			continue;
		}
		if (cur && !cur->closed && joins_report(cur, h, i))
			continue;
		if (cur && h.type == VR_KLOG_REFINER && vr_oops_kind_is(cur->kind, h.kind) && !cur->has_panic)
			continue; /* "Out of memory: Killed process" closing its oom report */
		if (cur && h.type == VR_KLOG_REPORT && vr_oops_kind_is(h.kind, "mce") &&
		    vr_oops_kind_is(cur->kind, "mce") && i - cur->first < 64)
			continue; /* the further "[Hardware Error]:" lines of one machine check */
		if (h.type == VR_KLOG_REFINER && vr_oops_kind_is(h.kind, "list-corruption")) {
			/* Since 4.10 the message comes first, then BUG or WARN. */
			err = add_report(st, i, (struct vr_klog_head){VR_KLOG_PRELUDE, "list-corruption"});
			continue;
		}
		err = add_report(st, i, h);
	}
	if (err)
		return err;
	/* A prelude that nothing followed is no report. */
	size_t w = 0;
	for (size_t j = 0; j < st->n; j++)
		if (st->r[j].kind)
			st->r[w++] = st->r[j];
	st->n = w;
	return NULL;
}

/* The report that brought the kernel down: the one a panic is attached to;
 * else the last that died (with kdump loaded, panic_on_oops goes straight
 * to crash_kexec() from oops_end() and no panic line is printed; an
 * earlier oops the kernel survived was not the fatal one); else the first. */
size_t vr_oops_pick_fatal(const struct seg_state *st)
{
	for (size_t j = 0; j < st->n; j++)
		if (st->r[j].has_panic)
			return j;
	for (size_t j = st->n; j-- > 0;)
		if (st->r[j].die)
			return j;
	return 0;
}

/* ---- the parser: pass 1, then pass 2 on the fatal report ---- */

/* "[    4.407581]" somewhere at the start of the line (after a syslog or
 * level prefix, or another writer's text). */
static bool has_timestamp(const char *line)
{
	for (const char *b = strchr(line, '['); b; b = strchr(b + 1, '[')) {
		const char *e = b + 1;
		while (*e == ' ' || *e == '.' || isdigit((unsigned char)*e))
			e++;
		if (*e == ']' && memchr(b, '.', (size_t)(e - b)))
			return true;
		if (b - line > 200)
			break;
	}
	return false;
}

static void free_msgs(char **msg, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(msg[i]);
	free(msg);
}

struct vr_error *vr_oops_parse_lines(const char *const *lines, size_t n, struct vr_crash *ret)
{
	if (n > VR_OOPS_MAX_LINES)
		n = VR_OOPS_MAX_LINES;
	char **msg = calloc(n ? n : 1, sizeof(char *));
	if (!msg)
		return &vr_error_oom;
	for (size_t i = 0; i < n; i++) {
		const char *m = lines[i] ? vr_klog_message(lines[i]) : NULL;
		if (!m)
			continue;
		size_t len = strlen(m);
		if (len > VR_OOPS_MAX_LINE_LEN)
			len = VR_OOPS_MAX_LINE_LEN;
		while (len && (m[len - 1] == '\r' || m[len - 1] == '\n'))
			len--;
		msg[i] = vr_strndup(m, len);
		if (!msg[i]) {
			free_msgs(msg, n);
			return &vr_error_oom;
		}
	}
	/* Which lines had a kernel timestamp. */
	bool *stamped = calloc(n ? n : 1, sizeof(bool));
	if (!stamped) {
		free_msgs(msg, n);
		return &vr_error_oom;
	}
	for (size_t i = 0; i < n; i++)
		stamped[i] = lines[i] && msg[i] && has_timestamp(lines[i]);
	/* Caller ids, kept only when some line has one. */
	char (*ctx)[VR_KLOG_CTX_LEN] = NULL;
	for (size_t i = 0; i < n; i++) {
		char id[VR_KLOG_CTX_LEN];
		if (!lines[i])
			continue;
		vr_klog_context(lines[i], id, sizeof(id));
		if (!id[0])
			continue;
		if (!ctx && !(ctx = calloc(n, sizeof(*ctx)))) {
			free(stamped);
			free_msgs(msg, n);
			return &vr_error_oom;
		}
		memcpy(ctx[i], id, sizeof(id));
	}
	struct seg_state st = {0};
	struct vr_error *err = vr_oops_segment(msg, (const char (*)[VR_KLOG_CTX_LEN])ctx, n, &st);
	if (!err && st.n) {
		size_t which = vr_oops_pick_fatal(&st);
		err = vr_oops_decode(msg, (const char (*)[VR_KLOG_CTX_LEN])ctx, stamped, n, &st, which, ret);
		size_t cap = ret->n_secondary;
		for (size_t j = 0; !err && j < st.n; j++) {
			if (j == which || ret->n_secondary >= VR_OOPS_MAX_SECONDARY)
				continue;
			const char *t = msg[st.r[j].head] ? skip_ws(msg[st.r[j].head]) : "";
			err = vr_strv_add(&ret->secondary, &ret->n_secondary, &cap, VR_OOPS_MAX_SECONDARY,
					  dup_trimmed(t, strlen(t)));
		}
	}
	free(st.r);
	free(ctx);
	free(stamped);
	free_msgs(msg, n);
	return err;
}

struct vr_error *vr_oops_parse_text(const char *text, size_t len, struct vr_crash *ret)
{
	size_t n = 0;
	for (size_t i = 0; i < len; i++)
		if (text[i] == '\n')
			n++;
	n++;
	if (n > VR_OOPS_MAX_LINES)
		n = VR_OOPS_MAX_LINES;
	char **lines = calloc(n, sizeof(char *));
	if (!lines)
		return &vr_error_oom;
	size_t k = 0, start = 0;
	struct vr_error *err = NULL;
	for (size_t i = 0; i <= len && k < n; i++) {
		if (i == len || text[i] == '\n') {
			size_t l = i - start;
			if (l > VR_OOPS_MAX_LINE_LEN)
				l = VR_OOPS_MAX_LINE_LEN;
			/* NUL bytes in hostile input end the line early. */
			lines[k] = vr_strndup(text + start, l);
			if (!lines[k]) {
				err = &vr_error_oom;
				break;
			}
			k++;
			start = i + 1;
		}
	}
	if (!err)
		err = vr_oops_parse_lines((const char *const *)lines, k, ret);
	for (size_t i = 0; i < k; i++)
		free(lines[i]);
	free(lines);
	return err;
}
