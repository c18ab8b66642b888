/* Helpers every emitter shares, so that all formats say the same thing. */
#define _GNU_SOURCE
#include "common.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const struct {
	const char *kind, *words;
} kind_words[] = {
	{"null-deref", "NULL pointer dereference"},
	{"page-fault", "bad memory access (page fault)"},
	{"gpf", "general protection fault"},
	{"kasan", "KASAN memory-safety report"},
	{"kfence", "KFENCE memory-safety report"},
	{"kmsan", "KMSAN uninitialised-memory report"},
	{"kcsan", "KCSAN data race"},
	{"ubsan", "undefined behaviour (UBSAN)"},
	{"bug", "BUG() assertion"},
	{"warning", "WARNING turned into a panic"},
	{"list-corruption", "list corruption"},
	{"lockdep", "lock dependency violation"},
	{"atomic-sleep", "sleep in atomic context"},
	{"soft-lockup", "soft lockup"},
	{"hard-lockup", "hard lockup"},
	{"rcu-stall", "RCU stall"},
	{"hung-task", "hung task"},
	{"divide-error", "divide error"},
	{"invalid-opcode", "invalid opcode"},
	{"double-fault", "double fault"},
	{"stack-overflow", "kernel stack overflow"},
	{"stack-corruption", "kernel stack corruption"},
	{"bad-page", "bad page state"},
	{"memory-leak", "memory leak"},
	{"oom", "out of memory"},
	{"mce", "machine check"},
	{"sysrq", "deliberate crash (sysrq)"},
	{"panic", "kernel panic"},
	{"unknown", "no crash report found"},
};

const char *vr_kind_words(const char *kind)
{
	for (size_t i = 0; kind && i < sizeof(kind_words) / sizeof(kind_words[0]); i++)
		if (!strcmp(kind, kind_words[i].kind))
			return kind_words[i].words;
	return kind ? kind : "no crash report found";
}

char *vr_frame_name(const struct vr_frame *f)
{
	char *s = NULL;
	const char *mod_open = f->module ? " [" : "", *mod_close = f->module ? "]" : "";
	const char *mod = f->module ? f->module : "";
	int r;
	if (!f->symbol)
		r = asprintf(&s, "0x%016" PRIx64 "%s%s%s", f->address, mod_open, mod, mod_close);
	else if (f->size)
		r = asprintf(&s, "%s+0x%" PRIx64 "/0x%" PRIx64 "%s%s%s", f->symbol, f->offset, f->size,
			     mod_open, mod, mod_close);
	else
		r = asprintf(&s, "%s+0x%" PRIx64 "%s%s%s", f->symbol, f->offset, mod_open, mod, mod_close);
	return r < 0 ? NULL : s;
}

const struct vr_cpu *vr_report_panic_cpu(const struct vr_report *r)
{
	for (size_t i = 0; i < r->facts->n_cpus; i++)
		if (r->facts->cpus[i].panic)
			return &r->facts->cpus[i];
	return NULL;
}

void vr_format_time(int64_t t, char *buf, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;
	if (!gmtime_r(&tt, &tm) || !strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(buf, len, "%" PRId64, t);
}

char *vr_report_verdict(const struct vr_report *r)
{
	const struct vr_crash *c = &r->crash;
	const struct vr_blame *b = &r->blame;
	char *where = NULL, *who = NULL, *s = NULL;
	const char *fn = b->function ? b->function : (c->ip_known ? c->ip.symbol : NULL);
	const char *mod = b->function ? b->module : (c->ip_known ? c->ip.module : NULL);
	if (fn && mod)
		where = vr_asprintf(" in %s [%s]", fn, mod);
	else if (fn)
		where = vr_asprintf(" in %s", fn);
	if (b->culprit && strcmp(b->culprit, "unknown")) {
		if (!strcmp(b->culprit, "module") && b->module)
			who = vr_asprintf("; culprit: module %s (%s confidence)", b->module,
					  b->confidence ? b->confidence : "low");
		else
			who = vr_asprintf("; culprit: %s (%s confidence)", b->culprit,
					  b->confidence ? b->confidence : "low");
	}
	const char *ptr = "";
	char *pbuf = NULL;
	if (r->pointer.class && strcmp(r->pointer.class, "unknown") && strcmp(c->kind, "null-deref")) {
		pbuf = vr_asprintf("; bad pointer: %s", r->pointer.class);
		ptr = pbuf ? pbuf : "";
	}
	if (!strcmp(c->kind ? c->kind : "unknown", "unknown") && r->facts->panic.message)
		s = vr_asprintf("kernel panic: %s%s", r->facts->panic.message, who ? who : "");
	else
		s = vr_asprintf("%s%s%s%s", vr_kind_words(c->kind), where ? where : "", ptr, who ? who : "");
	free(where);
	free(who);
	free(pbuf);
	return s;
}

/* Sets field i to a formatted text the summary owns. */
static bool sum_set(struct vr_summary *s, enum vr_summary_field i, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static bool sum_set(struct vr_summary *s, enum vr_summary_field i, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vasprintf(&s->owned[i], fmt, ap);
	va_end(ap);
	if (n < 0) {
		s->owned[i] = NULL;
		return false;
	}
	s->v[i] = s->owned[i];
	return true;
}

struct vr_error *vr_report_summary(const struct vr_report *r, struct vr_summary *ret)
{
	struct vr_summary s = {0};
	const struct vr_system *sy = &r->facts->system;
	const struct vr_panic *p = &r->facts->panic;
	const struct vr_crash *c = &r->crash;
	const struct vr_blame *b = &r->blame;
	const struct vr_input_info *in = r->input;
	bool ok = sum_set(&s, VR_SUM_CRASH, "%s (%s)", c->kind, vr_kind_words(c->kind));
	s.v[VR_SUM_TITLE] = c->title;
	s.v[VR_SUM_HOST] = sy->nodename;
	s.v[VR_SUM_RELEASE] = sy->release;
	s.v[VR_SUM_VERSION] = sy->version;
	s.v[VR_SUM_MACHINE] = sy->machine;
	if (p->cpu >= 0 || p->pid >= 0)
		ok &= sum_set(&s, VR_SUM_TASK, "CPU %d, PID %d (%s)", p->cpu, p->pid, p->comm ? p->comm : "?");
	s.v[VR_SUM_PANIC] = p->message;
	if (b->culprit)
		ok &= sum_set(&s, VR_SUM_CULPRIT, "%s%s%s (%s confidence)", b->culprit, b->module ? " " : "",
			      b->module ? b->module : "", b->confidence ? b->confidence : "low");
	s.v[VR_SUM_POINTER] = r->pointer.class;
	if (sy->taint_known)
		ok &= sum_set(&s, VR_SUM_TAINT, "%s (0x%" PRIx64 ")", sy->taint_letters ? sy->taint_letters : "",
			      sy->taint_mask);
	if (sy->crash_time >= 0) {
		char t[40];
		vr_format_time(sy->crash_time, t, sizeof(t));
		ok &= sum_set(&s, VR_SUM_TIME, "%s", t);
	}
	if (sy->uptime_s >= 0) {
		/* as crash's "sys" prints it */
		uint64_t u = (uint64_t)sy->uptime_s, days = u / 86400;
		ok &= days ? sum_set(&s, VR_SUM_UPTIME, "%" PRIu64 " day%s, %02" PRIu64 ":%02" PRIu64 ":%02" PRIu64,
				     days, days == 1 ? "" : "s", u / 3600 % 24, u / 60 % 60, u % 60)
			   : sum_set(&s, VR_SUM_UPTIME, "%02" PRIu64 ":%02" PRIu64 ":%02" PRIu64, u / 3600,
				     u / 60 % 60, u % 60);
	}
	if (sy->cpus > 0)
		ok &= sy->cpus_online > 0 && sy->cpus_online != sy->cpus
			      ? sum_set(&s, VR_SUM_CPUS, "%d (%d online)", sy->cpus, sy->cpus_online)
			      : sum_set(&s, VR_SUM_CPUS, "%d", sy->cpus);
	if (sy->load_known)
		ok &= sum_set(&s, VR_SUM_LOAD, "%.2f, %.2f, %.2f", sy->load_average[0], sy->load_average[1],
			      sy->load_average[2]);
	if (sy->tasks >= 0)
		ok &= sum_set(&s, VR_SUM_TASKS, "%" PRId64, sy->tasks);
	if (sy->memory_bytes)
		ok &= sum_set(&s, VR_SUM_MEMORY, "%.1f MB", (double)sy->memory_bytes / (1024.0 * 1024.0));
	if (in) {
		char share[64] = "", level[32] = "";
		if (in->pages_total)
			snprintf(share, sizeof(share), ", %.1f%% of memory",
				 100.0 * (double)in->pages_present / (double)in->pages_total);
		if (in->dump_level >= 0)
			snprintf(level, sizeof(level), ", dump level %d", in->dump_level);
		ok &= sum_set(&s, VR_SUM_DUMP, "%s [%s%s%s%s%s]%s", in->path ? in->path : "?",
			      in->form ? in->form : "?", in->compression ? ", " : "",
			      in->compression ? in->compression : "", level, share,
			      in->incomplete ? " [PARTIAL DUMP] [INCOMPLETE]"
			      : in->partial  ? " [PARTIAL DUMP]"
					     : "");
		ok &= sum_set(&s, VR_SUM_VMLINUX, "%s (match: %s)", in->vmlinux_path ? in->vmlinux_path : "none",
			      in->vmlinux_match ? in->vmlinux_match : "unknown");
	}
	s.v[VR_SUM_SIGNATURE] = r->signature.id;
	if (!ok) {
		vr_summary_deinit(&s);
		return &vr_error_oom;
	}
	*ret = s;
	return NULL;
}

void vr_summary_deinit(struct vr_summary *s)
{
	for (size_t i = 0; i < VR_SUM_N; i++)
		free(s->owned[i]);
	*s = (struct vr_summary){0};
}
