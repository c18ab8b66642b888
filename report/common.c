/* Helpers every emitter shares, so that all formats say the same thing. */
#define _GNU_SOURCE
#include "common.h"

#include <inttypes.h>
#include <stdio.h>
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
