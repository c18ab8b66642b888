/* The rules matcher: generic frames, magic values, blame rules and
 * findings, asked of a loaded rule set (load.c). */
#define _GNU_SOURCE
#include "rules_internal.h"

#include <ctype.h>
#include <fnmatch.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "../report/model.h"

/* ---- queries ---- */

static bool pat_match(const struct pattern *p, const char *s)
{
	if (!s)
		return false;
	if (p->is_regex)
		return regexec(&p->re, s, 0, NULL, 0) == 0;
	return fnmatch(p->text, s, 0) == 0;
}

static bool pats_match(const struct patlist *pl, const char *s)
{
	for (size_t i = 0; i < pl->n; i++)
		if (pat_match(&pl->v[i], s))
			return true;
	return false;
}

const char *vr_ruleset_generic_frame(const struct vr_ruleset *rs, const char *symbol)
{
	if (!rs || !symbol)
		return NULL;
	for (size_t i = 0; i < rs->n_groups; i++)
		if (!rs->groups[i].anchor && pats_match(&rs->groups[i].pats, symbol))
			return rs->groups[i].name;
	return NULL;
}

const char *vr_ruleset_anchor_frame(const struct vr_ruleset *rs, const char *symbol)
{
	if (!rs || !symbol)
		return NULL;
	for (size_t i = 0; i < rs->n_groups; i++)
		if (rs->groups[i].anchor && pats_match(&rs->groups[i].pats, symbol))
			return rs->groups[i].name;
	return NULL;
}

/* ---- tamper: ---- */

static bool tamper_match(const struct tamper_group *g, const char *s)
{
	if (pats_match(&g->pats, s))
		return true;
	/* "foo.constprop.0" is foo as far as knowledge about it goes. */
	const char *dot = strchr(s, '.');
	if (!dot || dot == s)
		return false;
	char base[256];
	snprintf(base, sizeof(base), "%.*s", (int)(dot - s), s);
	return pats_match(&g->pats, base);
}

const char *vr_ruleset_tamper_group(const struct vr_ruleset *rs, const char *list, const char *s)
{
	for (size_t i = 0; rs && s && i < rs->n_tgroups; i++)
		if (!strcmp(rs->tgroups[i].list, list) && tamper_match(&rs->tgroups[i], s))
			return rs->tgroups[i].name;
	return NULL;
}

bool vr_ruleset_tamper_in(const struct vr_ruleset *rs, const char *list, const char *name, const char *s,
			  bool *ret_known)
{
	if (ret_known)
		*ret_known = false;
	for (size_t i = 0; rs && i < rs->n_tgroups; i++) {
		const struct tamper_group *g = &rs->tgroups[i];
		if (strcmp(g->list, list) || strcmp(g->name, name))
			continue;
		if (ret_known)
			*ret_known = true;
		return s && tamper_match(g, s);
	}
	return false;
}

const char *vr_ruleset_tamper_group_name(const struct vr_ruleset *rs, const char *list, size_t i)
{
	for (size_t j = 0; rs && j < rs->n_tgroups; j++)
		if (!strcmp(rs->tgroups[j].list, list) && i-- == 0)
			return rs->tgroups[j].name;
	return NULL;
}

const char *vr_ruleset_tamper_pattern(const struct vr_ruleset *rs, const char *list, const char *name,
				      size_t j)
{
	for (size_t i = 0; rs && i < rs->n_tgroups; i++) {
		const struct tamper_group *g = &rs->tgroups[i];
		if (!strcmp(g->list, list) && !strcmp(g->name, name))
			return j < g->pats.n ? g->pats.v[j].text : NULL;
	}
	return NULL;
}

const struct vr_tamper_finding *vr_ruleset_tamper_finding(const struct vr_ruleset *rs, const char *id)
{
	for (size_t i = 0; rs && i < rs->n_tfindings; i++)
		if (!strcmp(rs->tfindings[i].id, id))
			return &rs->tfindings[i];
	return NULL;
}

const struct vr_magic *vr_ruleset_magic(const struct vr_ruleset *rs, uint64_t v, int64_t *ret_delta)
{
	const struct vr_magic *best = NULL;
	uint64_t best_dist = 0;
	for (size_t i = 0; rs && i < rs->n_magic; i++) {
		const struct vr_magic *m = &rs->magic[i];
		uint64_t dist = v >= m->value ? v - m->value : m->value - v;
		if (dist > m->window)
			continue;
		if (!best || dist < best_dist) {
			best = m;
			best_dist = dist;
		}
	}
	if (best && ret_delta)
		*ret_delta = (int64_t)(v - best->value);
	return best;
}

int vr_version_compare(const char *a, const char *b)
{
	while (*a || *b) {
		if (isdigit((unsigned char)*a) && isdigit((unsigned char)*b)) {
			while (*a == '0' && isdigit((unsigned char)a[1]))
				a++;
			while (*b == '0' && isdigit((unsigned char)b[1]))
				b++;
			size_t la = strspn(a, "0123456789"), lb = strspn(b, "0123456789");
			if (la != lb)
				return la < lb ? -1 : 1;
			int c = strncmp(a, b, la);
			if (c)
				return c < 0 ? -1 : 1;
			a += la;
			b += lb;
			continue;
		}
		/* A separator against the end: "6.1" equals "6.1.0"'s prefix; the
		 * longer one is greater only when it has a non-zero field. */
		if (!*a || !*b) {
			const char *rest = *a ? a : b;
			bool nonzero = false;
			for (; *rest && (isdigit((unsigned char)*rest) || *rest == '.'); rest++)
				nonzero |= *rest > '0' && *rest <= '9';
			if (!nonzero && (!*rest || *rest == '-' || *rest == '+'))
				return 0;
			return *a ? 1 : -1;
		}
		if (*a != *b)
			return (unsigned char)*a < (unsigned char)*b ? -1 : 1;
		a++;
		b++;
	}
	return 0;
}

/* ---- evaluation ---- */

struct match {
	const struct vr_report *r;
	const char *log_line;        /* borrowed from a scratch buffer below */
	char log_buf[512];
	const char *frame;
	const char *frame_module;
	/* The frames conditions look at. */
	const struct vr_frame *ip;
	const struct vr_frame *frames;
	size_t n_frames;
};

static const char *taint_letters(const struct vr_report *r)
{
	if (r->facts && r->facts->system.taint_letters && r->facts->system.taint_letters[0])
		return r->facts->system.taint_letters;
	return r->crash.taint;
}

static const char *field_value(const struct match *m, int f, char *buf, size_t cap)
{
	const struct vr_report *r = m->r;
	const struct vr_crash *c = &r->crash;
	const struct vr_pointer *p = &r->pointer;
	const struct vr_blame *b = &r->blame;
	const struct vr_hang *h = &r->hang;
	switch (f) {
	case F_CRASH_KIND: return c->kind;
	case F_CRASH_TITLE: return c->title;
	case F_CRASH_COMM: return c->comm;
	case F_CRASH_PID:
		if (c->pid < 0)
			return NULL;
		snprintf(buf, cap, "%d", c->pid);
		return buf;
	case F_CRASH_CPU:
		if (c->cpu < 0)
			return NULL;
		snprintf(buf, cap, "%d", c->cpu);
		return buf;
	case F_CRASH_FAULT:
		if (!c->fault_address_known)
			return NULL;
		snprintf(buf, cap, "0x%016" PRIx64, c->fault_address);
		return buf;
	case F_CRASH_IP:
		if (!c->ip_known)
			return NULL;
		if (c->ip.symbol)
			snprintf(buf, cap, "%s+0x%" PRIx64 "%s%s%s", c->ip.symbol, c->ip.offset,
				 c->ip.module ? " [" : "", c->ip.module ? c->ip.module : "",
				 c->ip.module ? "]" : "");
		else
			snprintf(buf, cap, "0x%016" PRIx64, c->ip.address);
		return buf;
	case F_CRASH_BUG_FILE:
		if (!c->bug_file)
			return NULL;
		if (c->bug_line > 0)
			snprintf(buf, cap, "%s:%d", c->bug_file, c->bug_line);
		else
			snprintf(buf, cap, "%s", c->bug_file);
		return buf;
	case F_PTR_CLASS: return p->class;
	case F_PTR_VALUE:
		if (!p->value_known)
			return NULL;
		snprintf(buf, cap, "0x%016" PRIx64, p->value);
		return buf;
	case F_PTR_REG: return p->reg;
	case F_PTR_OFFSET:
		if (!p->offset_known)
			return NULL;
		snprintf(buf, cap, "%s0x%" PRIx64, p->offset < 0 ? "-" : "",
			 p->offset < 0 ? -(uint64_t)p->offset : (uint64_t)p->offset);
		return buf;
	case F_PTR_MEMBER: return p->member;
	case F_PTR_EXPL: return p->explanation;
	case F_PTR_INSN: return p->instruction;
	case F_BLAME_CULPRIT: return b->culprit;
	case F_BLAME_MODULE: return b->module;
	case F_BLAME_FUNCTION: return b->function;
	case F_BLAME_FILE: return b->file;
	case F_BLAME_LINE:
		if (b->line <= 0)
			return NULL;
		snprintf(buf, cap, "%d", b->line);
		return buf;
	case F_BLAME_CONFIDENCE: return b->confidence;
	case F_SYS_RELEASE: return r->facts ? r->facts->system.release : NULL;
	case F_SYS_TAINT: return taint_letters(r);
	case F_HANG_KIND: return h->kind;
	case F_HANG_CPU:
		if (h->stuck_cpu < 0)
			return NULL;
		snprintf(buf, cap, "%d", h->stuck_cpu);
		return buf;
	case F_HANG_FUNCTION: return h->stuck_function;
	case F_HANG_WAITER:
		if (!h->n_waiters)
			return NULL;
		snprintf(buf, cap, "%s:%d", h->waiters[0].comm ? h->waiters[0].comm : "?",
			 h->waiters[0].pid);
		return buf;
	case F_HANG_OWNER:
		if (!h->n_waiters || h->waiters[0].owner_pid < 0)
			return NULL;
		snprintf(buf, cap, "%s:%d", h->waiters[0].owner_comm ? h->waiters[0].owner_comm : "?",
			 h->waiters[0].owner_pid);
		return buf;
	case F_MATCH_LOG: return m->log_line;
	case F_MATCH_FRAME: return m->frame;
	case F_MATCH_MODULE: return m->frame_module;
	}
	return NULL;
}

static bool frame_match(const struct cond *c, const struct vr_frame *f, struct match *m)
{
	if (c->sym.n && !pats_match(&c->sym, f->symbol))
		return false;
	if (c->mod.n && !pats_match(&c->mod, f->module))
		return false;
	m->frame = f->symbol;
	m->frame_module = f->module;
	return true;
}

static bool log_match(const struct cond *c, struct match *m)
{
	const struct vr_facts *f = m->r->facts;
	if (!f)
		return false;
	size_t lines = 0;
	for (size_t i = 0; i < f->log.n_records; i++) {
		const char *t = f->log.records[i].text;
		while (t && *t) {
			if (++lines > VR_RULES_MAX_LOG_LINES)
				return false;
			const char *nl = strchr(t, '\n');
			size_t len = nl ? (size_t)(nl - t) : strlen(t);
			if (len >= sizeof(m->log_buf))
				len = sizeof(m->log_buf) - 1;
			memcpy(m->log_buf, t, len);
			m->log_buf[len] = '\0';
			if (pats_match(&c->pats, m->log_buf)) {
				m->log_line = m->log_buf;
				return true;
			}
			t = nl ? nl + 1 : NULL;
		}
	}
	return false;
}

static bool release_match(const struct cond *c, const char *rel)
{
	if (!rel)
		return false;
	for (size_t i = 0; i < c->pats.n; i++) {
		const struct pattern *p = &c->pats.v[i];
		if (!p->is_regex && strchr("<>=!", p->text[0])) {
			size_t opl = strspn(p->text, "<>=!");
			const char *ver = p->text + opl;
			while (*ver == ' ')
				ver++;
			int cmp = vr_version_compare(rel, ver);
			bool ok;
			if (!strncmp(p->text, ">=", 2))
				ok = cmp >= 0;
			else if (!strncmp(p->text, "<=", 2))
				ok = cmp <= 0;
			else if (!strncmp(p->text, "!=", 2))
				ok = cmp != 0;
			else if (p->text[0] == '>')
				ok = cmp > 0;
			else if (p->text[0] == '<')
				ok = cmp < 0;
			else
				ok = cmp == 0;
			if (!ok)
				return false;
		} else if (!pat_match(p, rel)) {
			return false;
		}
	}
	return true;
}

static bool loaded_match(const struct cond *c, const struct vr_report *r)
{
	const struct vr_facts *f = r->facts;
	for (size_t i = 0; f && i < f->n_modules; i++)
		if (pats_match(&c->pats, f->modules[i].name))
			return true;
	for (size_t i = 0; i < r->crash.n_modules_linked; i++) {
		/* "vrbug(OE)": the name without its taint flags. */
		char name[128];
		snprintf(name, sizeof(name), "%s", r->crash.modules_linked[i]);
		name[strcspn(name, "( ")] = '\0';
		if (pats_match(&c->pats, name))
			return true;
	}
	return false;
}

static bool condset_match(const struct condset *cs, struct match *m, int depth);

static bool cond_match(const struct cond *c, struct match *m, int depth)
{
	const struct vr_report *r = m->r;
	char buf[64];
	switch (c->kind) {
	case C_KIND: return pats_match(&c->pats, r->crash.kind);
	case C_POINTER: return pats_match(&c->pats, r->pointer.class);
	case C_CULPRIT: return pats_match(&c->pats, r->blame.culprit);
	case C_MODULE: return pats_match(&c->pats, r->blame.module);
	case C_FUNCTION: return pats_match(&c->pats, r->blame.function);
	case C_HANG: return pats_match(&c->pats, r->hang.kind);
	case C_TITLE: return pats_match(&c->pats, r->crash.title);
	case C_BUG_FILE: return pats_match(&c->pats, r->crash.bug_file);
	case C_FRAME:
		if (m->ip && frame_match(c, m->ip, m))
			return true;
		for (size_t i = 0; i < m->n_frames; i++)
			if (frame_match(c, &m->frames[i], m))
				return true;
		return false;
	case C_FIRST_FRAME:
		if (m->ip)
			return frame_match(c, m->ip, m);
		return m->n_frames && frame_match(c, &m->frames[0], m);
	case C_TAINT: {
		const char *t = taint_letters(r);
		if (!t)
			return false;
		for (const char *q = c->letters; *q; q++)
			if (!strchr(t, *q))
				return false;
		return true;
	}
	case C_LOG: return log_match(c, m);
	case C_RELEASE: return release_match(c, field_value(m, F_SYS_RELEASE, buf, sizeof(buf)));
	case C_LOADED: return loaded_match(c, r);
	case C_NOT: return !condset_match(&c->sets[0], m, depth + 1);
	case C_ANY:
		for (size_t i = 0; i < c->n_sets; i++)
			if (condset_match(&c->sets[i], m, depth + 1))
				return true;
		return false;
	}
	return false;
}

static bool condset_match(const struct condset *cs, struct match *m, int depth)
{
	if (depth > VR_RULES_MAX_DEPTH)
		return false;
	for (size_t i = 0; i < cs->n; i++)
		if (!cond_match(&cs->v[i], m, depth))
			return false;
	return true;
}

/* Expands "{field}" references; a field without a value reads "unknown". */
static char *render(const char *t, const struct match *m)
{
	if (!t)
		return NULL;
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);
	if (!f)
		return NULL;
	for (const char *p = t; *p; p++) {
		if ((*p == '{' && p[1] == '{') || (*p == '}' && p[1] == '}')) {
			fputc(*p, f);
			p++;
			continue;
		}
		const char *end = *p == '{' ? strchr(p, '}') : NULL;
		if (!end) {
			fputc(*p, f);
			continue;
		}
		int fi = vr_rules_field_lookup(p + 1, (size_t)(end - p - 1));
		char buf[512];
		const char *v = fi >= 0 ? field_value(m, fi, buf, sizeof(buf)) : NULL;
		fputs(v ? v : "unknown", f);
		p = end;
	}
	if (fclose(f) != 0) {
		free(out);
		return NULL;
	}
	return out;
}

struct vr_error *vr_ruleset_evaluate(const struct vr_ruleset *rs, struct vr_report *r)
{
	if (!rs)
		return NULL;
	struct match m = {.r = r};
	if (r->crash.ip_known)
		m.ip = &r->crash.ip;
	m.frames = r->crash.trace.frames;
	m.n_frames = r->crash.trace.n_frames;
	if (!m.n_frames && r->facts) {
		for (size_t i = 0; i < r->facts->n_cpus; i++) {
			if (r->facts->cpus[i].panic) {
				m.frames = r->facts->cpus[i].trace.frames;
				m.n_frames = r->facts->cpus[i].trace.n_frames;
				break;
			}
		}
	}
	for (size_t i = 0; i < rs->n_rules; i++) {
		const struct rule *rule = &rs->rules[i];
		m.log_line = m.frame = m.frame_module = NULL;
		if (!condset_match(&rule->when, &m, 0))
			continue;
		char *title = render(rule->title, &m);
		char *advice = render(rule->advice, &m);
		char **ev = rule->n_evidence ? calloc(rule->n_evidence, sizeof(char *)) : NULL;
		bool oom = !title || (rule->advice && !advice) || (rule->n_evidence && !ev);
		for (size_t j = 0; !oom && j < rule->n_evidence; j++)
			oom = !(ev[j] = render(rule->evidence[j], &m));
		struct vr_error *err = oom ? &vr_error_oom
					   : vr_report_add_finding(r, rule->id, title, rule->severity,
								   advice, ev, rule->n_evidence);
		free(title);
		free(advice);
		vr_strv_free(ev, ev ? rule->n_evidence : 0);
		if (err)
			return err;
	}
	return NULL;
}

/* ---- blame rules ---- */

const struct vr_blame_rule *vr_ruleset_blame_rule(const struct vr_ruleset *rs,
						  const struct vr_report *r)
{
	if (!rs)
		return NULL;
	struct match m = {.r = r};
	if (r->crash.ip_known)
		m.ip = &r->crash.ip;
	m.frames = r->crash.trace.frames;
	m.n_frames = r->crash.trace.n_frames;
	for (size_t i = 0; i < rs->n_blame; i++) {
		const struct blame_rule *b = &rs->blame[i];
		if (!b->when.n || condset_match(&b->when, &m, 0))
			return &b->pub;
	}
	return NULL;
}

static bool in_names(char *const *v, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(v[i], name))
			return true;
	return false;
}

/* The function's name without a compiler suffix: "foo.isra.0" -> "foo". */
static const char *base_name(const char *sym, char *buf, size_t cap)
{
	const char *dot = strchr(sym, '.');
	if (!dot || dot == sym)
		return NULL;
	snprintf(buf, cap, "%.*s", (int)(dot - sym), sym);
	return buf;
}

static const char *skips1(const struct vr_ruleset *rs, const struct blame_rule *b, const char *s,
			  bool in_module, char *buf, size_t cap)
{
	if (b && pats_match(&b->skip, s)) {
		snprintf(buf, cap, "rule %s", b->id);
		return buf;
	}
	for (size_t i = 0; rs && !in_module && i < rs->n_groups; i++) {
		const struct frame_group *g = &rs->groups[i];
		if (g->anchor || (b && in_names(b->keep, b->n_keep, g->name)))
			continue;
		if (pats_match(&g->pats, s)) {
			snprintf(buf, cap, "group %s", g->name);
			return buf;
		}
	}
	return NULL;
}

const char *vr_blame_rule_skips(const struct vr_ruleset *rs, const struct vr_blame_rule *pub,
				const char *symbol, bool in_module, char *buf, size_t cap)
{
	if (!symbol)
		return NULL;
	const struct blame_rule *b = (const struct blame_rule *)pub;
	const char *why = skips1(rs, b, symbol, in_module, buf, cap);
	char base[256];
	if (!why && base_name(symbol, base, sizeof(base)))
		why = skips1(rs, b, base, in_module, buf, cap);
	return why;
}

static bool anchor1(const struct vr_ruleset *rs, const struct blame_rule *b, const char *s)
{
	if (b && pats_match(&b->anchors, s))
		return true;
	for (size_t i = 0; rs && i < rs->n_groups; i++) {
		const struct frame_group *g = &rs->groups[i];
		bool named = b && b->n_anchor_groups ? in_names(b->anchor_groups, b->n_anchor_groups, g->name)
						     : !strcmp(g->name, "entry") || !strcmp(g->name, "dispatch");
		if (named && pats_match(&g->pats, s))
			return true;
	}
	return false;
}

bool vr_blame_rule_anchor(const struct vr_ruleset *rs, const struct vr_blame_rule *pub,
			  const char *symbol)
{
	if (!symbol)
		return false;
	const struct blame_rule *b = (const struct blame_rule *)pub;
	char base[256];
	return anchor1(rs, b, symbol) ||
	       (base_name(symbol, base, sizeof(base)) && anchor1(rs, b, base));
}

const char *vr_blame_rule_prefer(const struct vr_blame_rule *pub, const char *symbol,
				 size_t *ret_rank)
{
	const struct blame_rule *b = (const struct blame_rule *)pub;
	if (!b || !symbol)
		return NULL;
	char base[256];
	const char *bn = base_name(symbol, base, sizeof(base));
	for (size_t i = 0; i < b->n_prefer; i++) {
		const struct blame_prefer *p = &b->prefer[i];
		if (pats_match(&p->frames, symbol) || (bn && pats_match(&p->frames, bn))) {
			if (ret_rank)
				*ret_rank = i;
			return p->as ? p->as : symbol;
		}
	}
	return NULL;
}
