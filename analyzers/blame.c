/* The bad-driver detector: names the culprit of the crash (a module, the
 * core kernel, hardware, firmware, or the operator) with the function, a
 * confidence and the evidence.
 *
 * The guilty frame is the first one that is not generic (reporting,
 * sanitizers, allocators, locking, strings, printk, lists, entry and
 * dispatch: rules/frames.yaml). A crash inside core code that a module
 * called is blamed on the module (it most often passed a bad argument).
 * Taint letters are those of kernel/panic.c taint_flags[]: P proprietary,
 * O out-of-tree, E unsigned, C staging, F forced load. */
#define _GNU_SOURCE
#include <inttypes.h>
#include <regex.h>
#include <stdio.h>
#include <string.h>

#include "../rules/rules.h"
#include "analyzer.h"

#define MAX_REASONS 32
#define MAX_LOG_LINES 200000

static void ruleset_destroyp(struct vr_ruleset **rs)
{
	vr_ruleset_destroy(*rs);
}

struct bctx {
	struct vr_analysis *a;
	struct vr_report *r;
	const struct vr_ruleset *rules;
	size_t cap_reasons;
	bool oom;
};

static void reason(struct bctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void reason(struct bctx *c, const char *fmt, ...)
{
	struct vr_blame *b = &c->r->blame;
	if (b->n_reasons >= MAX_REASONS)
		return; /* the first reasons say enough */
	va_list ap;
	va_start(ap, fmt);
	struct vr_error *err = vr_strv_vaddf(&b->reasons, &b->n_reasons, &c->cap_reasons, MAX_REASONS, fmt, ap);
	if (err && !vr_error_catch(&err, VR_ERR_LIMIT)) {
		c->oom = true; /* the step ends with it */
		vr_error_destroy(err);
	}
	va_end(ap);
}

static const struct vr_module *module_by_name(const struct vr_facts *f, const char *name)
{
	for (size_t i = 0; f && name && i < f->n_modules; i++)
		if (f->modules[i].name && !strcmp(f->modules[i].name, name))
			return &f->modules[i];
	return NULL;
}

/* Taint flags of a module, from the module list or "Modules linked in:
 * vrbug(OE)". */
static const char *module_taints(struct bctx *c, const char *name, char *buf, size_t cap)
{
	const struct vr_module *m = module_by_name(c->a->facts, name);
	if (m && m->taints && m->taints[0])
		return m->taints;
	const struct vr_crash *cr = &c->r->crash;
	size_t nl = strlen(name);
	for (size_t i = 0; i < cr->n_modules_linked; i++) {
		const char *s = cr->modules_linked[i];
		if (!strncmp(s, name, nl) && s[nl] == '(') {
			snprintf(buf, cap, "%s", s + nl + 1);
			buf[strcspn(buf, ")")] = '\0';
			return buf;
		}
	}
	return NULL;
}

static const char *taint_letters(struct bctx *c)
{
	const struct vr_facts *f = c->a->facts;
	if (f && f->system.taint_letters && f->system.taint_letters[0])
		return f->system.taint_letters;
	return c->r->crash.taint;
}

static const char *taint_meaning(char l)
{
	switch (l) {
	case 'P': return "a proprietary module was loaded";
	case 'O': return "an out-of-tree module was loaded";
	case 'E': return "an unsigned module was loaded";
	case 'C': return "a staging driver was loaded";
	case 'F': return "a module was force-loaded";
	case 'R': return "a module was force-unloaded";
	case 'M': return "the machine reported a machine check";
	case 'B': return "bad page references were seen";
	case 'D': return "the kernel oopsed or BUGged before";
	case 'W': return "the kernel warned before";
	case 'L': return "a soft lockup happened before";
	case 'U': return "user space reported a taint";
	case 'I': return "the firmware has a known bug worked around";
	case 'K': return "the kernel was live-patched";
	case 'X': return "an auxiliary taint was set by the distribution";
	case 'T': return "the kernel was built with struct randomisation";
	case 'S': return "the CPU is out of specification";
	case 'A': return "an ACPI table was overridden";
	default: return NULL;
	}
}

/* ---- log evidence ---- */

struct log_scan {
	int hw_strong, hw_weak, fw;
	bool sysrq;
	char hw_line[160];
	char fw_line[160];
};

static void copy_line(char *dst, size_t cap, const char *s, size_t len)
{
	if (len >= cap)
		len = cap - 1;
	memcpy(dst, s, len);
	dst[len] = '\0';
}

static void scan_log(struct bctx *c, struct log_scan *ls)
{
	const struct vr_facts *f = c->a->facts;
	*ls = (struct log_scan){0};
	if (!f)
		return;
	size_t lines = 0;
	for (size_t i = 0; i < f->log.n_records; i++) {
		const char *t = f->log.records[i].text;
		while (t && *t && lines++ < MAX_LOG_LINES) {
			const char *nl = strchr(t, '\n');
			size_t len = nl ? (size_t)(nl - t) : strlen(t);
			char line[256];
			copy_line(line, sizeof(line), t, len);
			bool strong = strstr(line, "[Hardware Error]") || strstr(line, "Machine check events logged") ||
				      strstr(line, "Machine Check Exception") ||
				      (strstr(line, "EDAC") && strstr(line, " UE ")) ||
				      strstr(line, "Uncorrected hardware memory error");
			bool weak = !strong && ((strstr(line, "EDAC") && strstr(line, " CE ")) ||
						strstr(line, "mce: ") || strstr(line, "Corrected error"));
			if (strong || weak) {
				if (!ls->hw_line[0])
					copy_line(ls->hw_line, sizeof(ls->hw_line), line, strlen(line));
				if (strong)
					ls->hw_strong++;
				else
					ls->hw_weak++;
			}
			if (strstr(line, "[Firmware Bug]") || strstr(line, "Firmware Bug") ||
			    strstr(line, "ACPI BIOS Error") || strstr(line, "ACPI Error")) {
				if (!ls->fw_line[0])
					copy_line(ls->fw_line, sizeof(ls->fw_line), line, strlen(line));
				ls->fw++;
			}
			if (strstr(line, "sysrq: Trigger a crash") || strstr(line, "SysRq : Trigger a crash"))
				ls->sysrq = true;
			t = nl ? nl + 1 : NULL;
		}
	}
}

/* ---- the verdict ---- */

static void set_frame(struct bctx *c, const struct vr_frame *f)
{
	struct vr_blame *b = &c->r->blame;
	free(b->function);
	free(b->module);
	free(b->file);
	b->function = f->symbol ? vr_strdup(f->symbol) : NULL;
	b->module = f->module ? vr_strdup(f->module) : NULL;
	b->inferred = f->inferred;
	b->file = f->file ? vr_strdup(f->file) : NULL;
	b->line = f->line;
}

static const char *lower(const char *conf)
{
	if (!strcmp(conf, "high"))
		return "medium";
	return "low";
}

static void fmt_frame(char *buf, size_t cap, const struct vr_frame *f)
{
	if (f->symbol)
		snprintf(buf, cap, "%s%s%s%s", f->symbol, f->module ? " [" : "",
			 f->module ? f->module : "", f->module ? "]" : "");
	else
		snprintf(buf, cap, "0x%016" PRIx64 "%s%s%s", f->address, f->module ? " [" : "",
			 f->module ? f->module : "", f->module ? "]" : "");
}

/* ---- the frames blame looks at ---- */

#define MAX_SEQ 512   /* frames of one candidate sequence */
#define MAX_SKIPPED_NAMED 24

/* A candidate: frames joined from the sources of one alternative. */
struct seq {
	const struct vr_frame *v[MAX_SEQ];
	size_t n;
	char desc[160];   /* "the stalled CPU 1's stack" */
};

/* The traces a source names. */
struct tlist {
	const struct vr_trace *t[64];
	char desc[64][96];
	size_t n;
};

static void tl_add(struct tlist *tl, const struct vr_trace *t, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void tl_add(struct tlist *tl, const struct vr_trace *t, const char *fmt, ...)
{
	if (!t || !t->n_frames || tl->n >= 64)
		return;
	for (size_t i = 0; i < tl->n; i++)
		if (tl->t[i] == t)
			return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(tl->desc[tl->n], sizeof(tl->desc[0]), fmt, ap);
	va_end(ap);
	tl->t[tl->n++] = t;
}

static const struct vr_cpu *cpu_by_id(const struct vr_facts *f, int cpu)
{
	for (size_t i = 0; f && cpu >= 0 && i < f->n_cpus; i++)
		if (f->cpus[i].cpu == cpu)
			return &f->cpus[i];
	return NULL;
}

static const struct vr_task *task_by_pid(const struct vr_facts *f, int pid)
{
	for (size_t i = 0; f && pid >= 0 && i < f->n_tasks; i++)
		if (f->tasks[i].pid == pid)
			return &f->tasks[i];
	return NULL;
}

/* The crash's own stack: the log's Call Trace, else the panicking CPU's
 * stack unwound from memory. */
static void call_traces(struct bctx *c, struct tlist *tl)
{
	const struct vr_facts *f = c->a->facts;
	tl_add(tl, &c->r->crash.trace, "the Call Trace");
	if (tl->n)
		return;
	for (size_t i = 0; f && i < f->n_cpus; i++)
		if (f->cpus[i].panic)
			tl_add(tl, &f->cpus[i].trace, "the panicking CPU %d's stack", f->cpus[i].cpu);
}

static void source_traces(struct bctx *c, const char *src, struct tlist *tl, struct vr_trace *scratch)
{
	const struct vr_crash *cr = &c->r->crash;
	const struct vr_facts *f = c->a->facts;
	const struct vr_hang *h = &c->r->hang;
	if (!strcmp(src, "ip")) {
		/* A stall or lockup seen from another CPU: the reporter's own
		 * instruction pointer is not the stuck code's. */
		bool other = (!strcmp(cr->kind, "rcu-stall") || !strcmp(cr->kind, "hard-lockup")) &&
			     !cr->trace_stalled;
		if (cr->ip_known && !other) {
			scratch->frames = (struct vr_frame *)&cr->ip;
			scratch->n_frames = 1;
			tl_add(tl, scratch, "the instruction pointer");
		}
		return;
	}
	if (!strcmp(src, "call")) {
		call_traces(c, tl);
		return;
	}
	if (!strcmp(src, "stalled")) {
		if (cr->trace_stalled)
			tl_add(tl, &cr->trace, "the stalled CPU%s's stack", cr->cpu >= 0 ? "" : "");
		for (size_t i = 0; i < cr->n_traces; i++) {
			const struct vr_crash_trace *t = &cr->traces[i];
			if (!t->stalled)
				continue;
			if (t->role == VR_ROLE_TASK && t->pid >= 0)
				tl_add(tl, &t->trace, "the stalled task %s (pid %d)'s stack",
				       t->comm ? t->comm : "?", t->pid);
			else
				tl_add(tl, &t->trace, "the stalled CPU %d's backtrace", t->cpu);
		}
		/* From memory, when the log has none of them. */
		int cpu = cr->stalled_cpu >= 0 ? cr->stalled_cpu : h->stuck_cpu;
		const struct vr_cpu *vc = cpu_by_id(f, cpu);
		if (!tl->n && vc)
			tl_add(tl, &vc->trace, "the stalled CPU %d's stack (from memory)", cpu);
		return;
	}
	if (!strcmp(src, "blocked") || !strcmp(src, "holder")) {
		bool holder = src[0] == 'h';
		for (size_t i = 0; i < h->n_waiters && tl->n < 64; i++) {
			const struct vr_waiter *w = &h->waiters[i];
			int pid = holder ? w->owner_pid : w->pid;
			const struct vr_task *t = task_by_pid(f, pid);
			if (t)
				tl_add(tl, &t->trace, "the stack of %s %s (pid %d)",
				       holder ? "the lock holder" : "the blocked task", t->comm, pid);
			if (holder)
				break;
		}
		if (!holder && !tl->n && !strcmp(cr->kind, "hung-task"))
			tl_add(tl, &cr->trace, "the blocked task's stack in the log");
		return;
	}
	/* A role of the report's other stacks. */
	bool headline = !strcmp(src, "headline");
	for (size_t i = 0; i < cr->n_traces; i++) {
		const struct vr_crash_trace *t = &cr->traces[i];
		if (strcmp(t->role, src))
			continue;
		if (headline) {
			/* The headline's functions make one list. */
			if (!scratch->n_frames) {
				tl_add(tl, &t->trace, "the function the headline names");
				scratch->n_frames = 1;
			}
			continue;
		}
		if (t->pid >= 0)
			tl_add(tl, &t->trace, "the %s stack of %s (pid %d)", t->role, t->comm ? t->comm : "a task",
			       t->pid);
		else if (t->cpu >= 0)
			tl_add(tl, &t->trace, "the %s stack on CPU %d", t->role, t->cpu);
		else
			tl_add(tl, &t->trace, "the %s stack", t->role);
	}
}

static bool in_group(struct bctx *c, const char *sym, const char *group)
{
	const char *g = sym ? vr_ruleset_generic_frame(c->rules, sym) : NULL;
	if (!g && sym) {
		char base[256];
		snprintf(base, sizeof(base), "%s", sym);
		char *dot = strchr(base, '.');
		if (dot && dot != base) {
			*dot = '\0';
			g = vr_ruleset_generic_frame(c->rules, base);
		}
	}
	return g && !strcmp(g, group);
}

static bool user_mode(const struct vr_frame *f)
{
	return f->regs && vr_regs_user_mode(f->regs);
}

/* Where the frames of interest start in trace t:
 *  - crash context: at the frame that raised the report when the stack
 *    shows how it was reported (a WARN or BUG through the invalid-opcode
 *    trap prints the trap handler first, then "RIP: func" and func's
 *    callers);
 *  - interrupted context: after the first interrupt entry, or at the first
 *    exception frame (the code the timer or NMI interrupted). */
static size_t context_start(struct bctx *c, const struct vr_trace *t, enum vr_blame_context ctx)
{
	const struct vr_crash *cr = &c->r->crash;
	if (ctx == VR_BLAME_INTERRUPTED) {
		/* "<NMI> ... </NMI>", "<IRQ> ... </IRQ>": the first section is
		 * the reporter's; the code it interrupted follows. */
		/* A stack with no reporting frames (a 4.x NMI backtrace of another
		 * CPU prints only what it interrupted) starts with the code. */
		size_t section = SIZE_MAX;
		const char *first = t->n_frames ? t->frames[0].stack : NULL;
		if (first && (!strcmp(first, "nmi") || !strcmp(first, "irq"))) {
			for (size_t i = 1; i < t->n_frames && section == SIZE_MAX; i++)
				if (t->frames[i].stack && strcmp(t->frames[i].stack, first))
					section = i;
		}
		/* The reporter's section holds its reporting frames; one without
		 * them is the interrupted code itself (a softirq that loops on
		 * the IRQ stack, printed from the regs the watchdog found). */
		bool reporter = false;
		for (size_t i = 0; i < t->n_frames && i < section && !reporter; i++)
			reporter = in_group(c, t->frames[i].symbol, "reporting");
		if (!reporter)
			return 0;
		/* Else, or earlier: the first interrupt entry or exception frame
		 * (a softirq the timer interrupted runs on the IRQ stack too). */
		for (size_t i = 0; i < t->n_frames && i < section; i++) {
			const struct vr_frame *f = &t->frames[i];
			if (in_group(c, f->symbol, "irq-entry"))
				return i + 1 < t->n_frames ? i + 1 : 0;
			/* The user-mode registers at the end of a system call's
			 * stack are no interrupt. */
			if (f->exception && i > 0 && f->symbol && !user_mode(f))
				return i;
		}
		if (section != SIZE_MAX)
			return section;
		/* "<IRQ> ... </IRQ>" markers alone. */
		for (size_t i = 0; i < t->n_frames; i++)
			if (t->frames[i].stack && strcmp(t->frames[i].stack, "irq") &&
			    strcmp(t->frames[i].stack, "nmi") && i > 0)
				return i;
		return 0;
	}
	if (!cr->ip_known || !cr->ip.symbol)
		return 0;
	for (size_t i = 0; i < t->n_frames; i++) {
		const struct vr_frame *f = &t->frames[i];
		if (f->exception && f->symbol && !strcmp(f->symbol, cr->ip.symbol))
			return i;
	}
	return 0;
}

/* Builds candidate i of alternative alt; false when there is none. */
static bool build_seq(struct bctx *c, const struct vr_blame_rule *rule, const struct vr_blame_alt *alt,
		      size_t k, struct seq *s)
{
	enum vr_blame_context ctx = rule ? rule->context : VR_BLAME_CRASH;
	s->n = 0;
	s->desc[0] = '\0';
	bool any = false, more = false;
	for (size_t j = 0; j < alt->n; j++) {
		struct tlist tl = {.n = 0};
		struct vr_trace scratch = {0};
		source_traces(c, alt->sources[j], &tl, &scratch);
		bool headline = !strcmp(alt->sources[j], "headline");
		if (!tl.n)
			continue;
		size_t pick = k < tl.n ? k : tl.n - 1;
		if (k < tl.n)
			any = true;
		if (k + 1 < tl.n)
			more = true;
		size_t len = strlen(s->desc);
		snprintf(s->desc + len, sizeof(s->desc) - len, "%s%s", len ? ", then " : "", tl.desc[pick]);
		if (headline) {
			/* Every headline function, in order. */
			const struct vr_crash *cr = &c->r->crash;
			for (size_t i = 0; i < cr->n_traces && s->n < MAX_SEQ; i++)
				if (cr->traces[i].role == VR_ROLE_HEADLINE)
					for (size_t q = 0; q < cr->traces[i].trace.n_frames && s->n < MAX_SEQ; q++)
						s->v[s->n++] = &cr->traces[i].trace.frames[q];
			continue;
		}
		const struct vr_trace *t = tl.t[pick];
		bool one = t->n_frames == 1 && !strcmp(alt->sources[j], "ip");
		size_t from = one ? 0 : context_start(c, t, ctx);
		size_t before = s->n;
		/* A jump through a bad function pointer (an instruction fetch
		 * from an address without code): the unwinder cannot start at
		 * it, and the "? caller" right below is the code that jumped. */
		const struct vr_crash *cr = &c->r->crash;
		bool jumped = cr->access && !strcmp(cr->access, "exec") && (!cr->ip_known || !cr->ip.symbol) &&
			      t == &cr->trace;
		for (int pass = 0; pass < 2 && s->n == before; pass++)
			for (size_t i = from; i < t->n_frames && s->n < MAX_SEQ; i++) {
				const struct vr_frame *f = &t->frames[i];
				/* "? foo" frames are stale stack words; used only when
				 * nothing else is there. */
				if (!f->reliable && pass == 0 && !f->inferred && !(jumped && i == from))
					continue;
				/* The same frame twice: a trace that starts with the
				 * IP, or a repeated line. */
				if (s->n && s->v[s->n - 1]->symbol && f->symbol &&
				    !strcmp(s->v[s->n - 1]->symbol, f->symbol) &&
				    (s->v[s->n - 1]->address == f->address || !f->address || s->n == before))
					continue;
				s->v[s->n++] = f;
			}
	}
	(void)more;
	return any && s->n;
}

struct skipped {
	char text[1024];
	size_t n, shown;
	const struct vr_frame *fell_back; /* a module frame taken back: nothing after it is the module's */
};

static void note_skip(struct skipped *sk, const struct vr_frame *f, const char *why)
{
	sk->n++;
	if (sk->shown >= MAX_SKIPPED_NAMED)
		return;
	size_t len = strlen(sk->text);
	snprintf(sk->text + len, sizeof(sk->text) - len, "%s%s [%s]", sk->shown ? ", " : "",
		 f->symbol ? f->symbol : "?", why);
	sk->shown++;
}

/* Index of the guilty frame of s under rule, or -1; skipped frames are
 * noted in sk. *ret_as is the name a prefer: entry gives it. */
/* Whether anchor i of s enters an exception or interrupt taken in kernel
 * mode: an exception frame with kernel registers follows it within a few
 * frames. Such an entry is no outer edge of what looped: the kernel code
 * it interrupted (a page fault inside a system call's copy loop) goes on
 * below it. */
static bool kernel_entry(const struct seq *s, size_t i)
{
	for (size_t j = i + 1; j < s->n && j <= i + 3; j++) {
		const struct vr_frame *f = s->v[j];
		if (f->exception && f->regs && f->regs->valid)
			return !user_mode(f);
	}
	return false;
}

static ssize_t pick_frame(struct bctx *c, const struct vr_blame_rule *rule, const struct seq *s,
			  struct skipped *sk, const char **ret_as)
{
	char why[128];
	*ret_as = NULL;
	/* A preferred frame wins wherever it is (a hang in the RCU machinery
	 * whichever synchronize_*() the task called). */
	ssize_t best = -1;
	size_t best_rank = SIZE_MAX;
	for (size_t i = 0; i < s->n; i++) {
		size_t rank;
		const char *as = vr_blame_rule_prefer(rule, s->v[i]->symbol, &rank);
		if (as && rank < best_rank) {
			best = (ssize_t)i;
			best_rank = rank;
			*ret_as = as;
		}
	}
	if (best >= 0)
		return best;
	bool outer = rule && rule->pick == VR_BLAME_OUTERMOST;
	ssize_t cand = -1, first_mod = -1, first = -1, skipped_mod = -1;
	for (size_t i = 0; i < s->n; i++) {
		const struct vr_frame *f = s->v[i];
		if (outer && i > 0 && vr_blame_rule_anchor(c->rules, rule, f->symbol) && !f->module &&
		    !kernel_entry(s, i)) {
			if (cand < 0 && first_mod < 0)
				cand = (ssize_t)i;
			break;
		}
		if (!f->symbol && !f->module)
			continue;
		/* Module code is never generic, whatever its name; only the
		 * rule's own skip: patterns walk past it. */
		const char *w = vr_blame_rule_skips(c->rules, rule, f->symbol, f->module != NULL, why,
						    sizeof(why));
		if (w) {
			note_skip(sk, f, w);
			if (f->module && skipped_mod < 0)
				skipped_mod = (ssize_t)i;
			continue;
		}
		if (f->module) {
			if (!outer) {
				cand = (ssize_t)i;
				break;
			}
			if (first_mod < 0)
				first_mod = (ssize_t)i;
			cand = (ssize_t)i;
			continue;
		}
		if (!outer) {
			cand = (ssize_t)i;
			break;
		}
		if (first < 0)
			first = (ssize_t)i;
		cand = (ssize_t)i;
	}
	ssize_t got = first_mod >= 0 ? first_mod : cand >= 0 ? cand : first;
	/* A rule walks past a module's frame only to another frame of the same
	 * module (its allocation helper, to the code that leaked): otherwise
	 * the module's own frame is the best there is. */
	if (skipped_mod >= 0) {
		const char *m = s->v[skipped_mod]->module;
		if (got < 0 || !s->v[got]->module || strcmp(s->v[got]->module, m)) {
			sk->fell_back = s->v[skipped_mod];
			got = skipped_mod;
		}
	}
	return got;
}

static void set_frame_as(struct bctx *c, const struct vr_frame *f, const char *as)
{
	set_frame(c, f);
	if (as && f->symbol && strcmp(as, f->symbol)) {
		free(c->r->blame.function);
		c->r->blame.function = vr_strdup(as);
		free(c->r->blame.file);
		c->r->blame.file = NULL;
		c->r->blame.line = 0;
	}
}

/* Blames the chosen frame g (index gi of s): its module, or the module
 * below core code that it was called from. */
static void conclude(struct bctx *c, const struct vr_blame_rule *rule, const struct seq *s, size_t gi,
		     const char *as)
{
	struct vr_blame *b = &c->r->blame;
	const struct vr_frame *g = s->v[gi];
	char fb[256];
	fmt_frame(fb, sizeof(fb), g);
	const char *inf = g->inferred ? " (inferred: the frame below calls it, and it tail-called the "
					"frame above)" : "";
	if (g->module) {
		set_frame_as(c, g, as);
		b->culprit = "module";
		b->confidence = gi == 0 ? "high" : "medium";
		reason(c, "%s: the guilty frame, %s%s, is in module %s", s->desc, fb, inf, g->module);
		return;
	}
	if (as && strcmp(as, g->symbol ? g->symbol : "")) {
		set_frame_as(c, g, as);
		b->culprit = "kernel";
		b->confidence = "medium";
		reason(c, "%s: %s is one of the functions blame rule %s reports as %s", s->desc, fb,
		       rule ? rule->id : "?", as);
		return;
	}
	/* Core code: did a module call it? Look below, stopping at entry code. */
	for (size_t j = gi + 1; j < s->n; j++) {
		if (in_group(c, s->v[j]->symbol, "entry"))
			break;
		if (s->v[j]->module) {
			set_frame(c, s->v[j]);
			b->culprit = "module";
			b->confidence = "medium";
			char cb[256];
			fmt_frame(cb, sizeof(cb), s->v[j]);
			reason(c, "%s: the crash is in core kernel function %s, called from %s: the module "
			       "most likely passed it a bad argument", s->desc, fb, cb);
			return;
		}
	}
	set_frame_as(c, g, as);
	b->culprit = "kernel";
	b->confidence = "medium";
	reason(c, "%s: the guilty frame, %s%s, is core kernel code and no module is below it",
	       s->desc, fb, inf);
}

/* What the hang analyzer found out about the blocked task's wait. */
static void hung_task_reasons(struct bctx *c)
{
	const struct vr_hang *h = &c->r->hang;
	for (size_t i = 0; i < h->n_waiters; i++) {
		const struct vr_waiter *w = &h->waiters[i];
		if (w->owner_pid < 0)
			continue;
		reason(c, "%s (pid %d) waits for %s, held by %s (pid %d)", w->comm ? w->comm : "?",
		       w->pid, w->waits_on ? w->waits_on : "a lock",
		       w->owner_comm ? w->owner_comm : "?", w->owner_pid);
		return;
	}
	reason(c, "the holder of what the task waits for is not known; blaming the code that waits");
}

static const struct vr_blame_alt default_alt = {.sources = {"ip", "call"}, .n = 2};

/* Runs the selection: the first candidate of the first alternative that
 * yields a frame. True when it found one. */
static bool select_frame(struct bctx *c, const struct vr_blame_rule *rule)
{
	const struct vr_blame_alt *alts = rule ? rule->from : &default_alt;
	size_t n_alts = rule ? rule->n_from : 1;
	if (rule)
		reason(c, "blame rule %s (%s) chose the stacks to search", rule->id, rule->origin);
	bool searched = false;
	struct skipped all = {.n = 0};
	for (size_t a = 0; a < n_alts; a++) {
		for (size_t k = 0; k < 64; k++) {
			struct seq s;
			if (!build_seq(c, rule, &alts[a], k, &s))
				break;
			searched = true;
			struct skipped sk = {.n = 0};
			const char *as;
			ssize_t gi = pick_frame(c, rule, &s, &sk, &as);
			if (gi < 0) {
				if (!all.n)
					all = sk;
				reason(c, "%s: every frame is one blame walks past (%zu of them)", s.desc, sk.n);
				continue;
			}
			if (sk.n)
				reason(c, "skipped %zu frame%s: %s%s", sk.n, sk.n == 1 ? "" : "s", sk.text,
				       sk.n > sk.shown ? ", ..." : "");
			if (sk.fell_back)
				reason(c, "no later frame is in module %s: its own frame %s is blamed after all",
				       sk.fell_back->module, sk.fell_back->symbol ? sk.fell_back->symbol : "?");
			conclude(c, rule, &s, (size_t)gi, as);
			return true;
		}
	}
	if (!searched)
		reason(c, "no frames are known for the crash");
	return false;
}

static void add_module_evidence(struct bctx *c)
{
	struct vr_blame *b = &c->r->blame;
	const struct vr_facts *f = c->a->facts;
	char tb[32];
	if (b->module) {
		const char *mt = module_taints(c, b->module, tb, sizeof(tb));
		if (mt && *mt)
			reason(c, "module %s taints the kernel (%s)%s", b->module, mt,
			       strchr(mt, 'O') ? ": it is built out of tree" :
			       strchr(mt, 'P') ? ": it is proprietary" : "");
		const struct vr_module *m = module_by_name(f, b->module);
		if (m && m->state && (!strcmp(m->state, "going") || !strcmp(m->state, "coming")))
			reason(c, "module %s was %s (state %s) at the crash", b->module,
			       !strcmp(m->state, "going") ? "being unloaded" : "still initialising",
			       m->state);
	}
	/* Other modules being loaded or unloaded are worth a note too. */
	for (size_t i = 0; f && i < f->n_modules; i++) {
		const struct vr_module *m = &f->modules[i];
		if (!m->name || !m->state || (b->module && !strcmp(m->name, b->module)))
			continue;
		if (!strcmp(m->state, "going") || !strcmp(m->state, "coming"))
			reason(c, "module %s was %s at the crash", m->name,
			       !strcmp(m->state, "going") ? "being unloaded" : "being loaded");
	}
	const char *t = taint_letters(c);
	if (t) {
		char letters[32] = "";
		size_t k = 0;
		for (const char *p = t; *p && k + 1 < sizeof(letters); p++)
			if (strchr("POECF", *p) && !strchr(letters, *p))
				letters[k++] = *p;
		letters[k] = '\0';
		for (const char *p = letters; *p; p++)
			reason(c, "the kernel is tainted %c: %s", *p, taint_meaning(*p));
		if (b->culprit && !strcmp(b->culprit, "kernel") && (strchr(letters, 'P') || strchr(letters, 'O'))) {
			b->confidence = "low";
			reason(c, "a proprietary or out-of-tree module was loaded: it may have corrupted "
			       "the state the core kernel crashed on");
		}
	}
}

static struct vr_error *run(struct vr_analysis *a, const char **skipped)
{
	struct vr_report *r = a->report;
	struct vr_crash *cr = &r->crash;
	struct vr_blame *b = &r->blame;
	_cleanup_(ruleset_destroyp) struct vr_ruleset *own = NULL;
	struct bctx c = {.a = a, .r = r, .rules = a->rules, .cap_reasons = b->n_reasons};
	if (!c.rules) {
		struct vr_error *err = vr_ruleset_create(false, &own);
		if (err)
			return vr_error_wrap(err, "loading the built-in generic frames");
		c.rules = own;
	}
	struct log_scan ls;
	scan_log(&c, &ls);
	const char *kind = cr->kind ? cr->kind : "unknown";

	/* 1. A deliberate crash is the operator's. */
	if (!strcmp(kind, "sysrq")) {
		b->culprit = "operator";
		b->confidence = "high";
		if (cr->ip_known)
			set_frame(&c, &cr->ip);
		reason(&c, "the crash was triggered on purpose through sysrq (echo c > /proc/sysrq-trigger "
		       "or the SysRq key)%s", ls.sysrq ? "; the log says \"sysrq: Trigger a crash\"" : "");
		const char *t = taint_letters(&c);
		if (t && (strchr(t, 'O') || strchr(t, 'P')))
			reason(&c, "the taint (%s) is not evidence against a module here: nothing "
			       "crashed by itself", t);
		return c.oom ? &vr_error_oom : NULL;
	}

	/* 2. Software verdict from the frames. */
	bool found;
	if (!strcmp(kind, "oom")) {
		/* The task that asked for the last page is a victim of the
		 * shortage, not its cause (mm/oom_kill.c prints whoever
		 * allocated). */
		b->culprit = "unknown";
		b->confidence = "low";
		reason(&c, "the system ran out of memory: the allocating task is not the cause; the "
		       "memory summary in the log shows the largest consumers");
		found = true;
	} else {
		const struct vr_blame_rule *rule = vr_ruleset_blame_rule(c.rules, r);
		found = select_frame(&c, rule);
		if (!strcmp(kind, "hung-task"))
			hung_task_reasons(&c);
	}
	if (!found) {
		b->culprit = "unknown";
		b->confidence = "low";
	}
	/* The BUG/WARN site names file and line when it is in the blamed function. */
	if (cr->bug_file && b->function && cr->ip_known && cr->ip.symbol &&
	    !strcmp(cr->ip.symbol, b->function)) {
		free(b->file);
		b->file = vr_strdup(cr->bug_file);
		b->line = cr->bug_line;
		reason(&c, "%s at %s:%d is in %s", !strcmp(kind, "warning") ? "the WARNING" : "the BUG",
		       cr->bug_file, cr->bug_line, b->function);
	}
	add_module_evidence(&c);

	/* 3. Hardware evidence downgrades software blame. */
	int hw = 0;
	if (!strcmp(kind, "mce")) {
		hw += 3;
		reason(&c, "the crash is a machine check: the CPU reported a hardware error");
	}
	if (ls.hw_strong) {
		hw += 3;
		reason(&c, "the log reports uncorrected hardware errors: \"%s\"", ls.hw_line);
	} else if (ls.hw_weak) {
		hw += 1;
		reason(&c, "the log reports corrected hardware errors: \"%s\"", ls.hw_line);
	}
	if (r->pointer.class && !strcmp(r->pointer.class, "bit-flip")) {
		hw += 2;
		reason(&c, "the bad pointer is one flipped bit away from a valid one");
	}
	if (r->pointer.code_matches == 0) {
		hw += 1;
		reason(&c, "the kernel code in memory differs from what the oops printed");
	}
	if (hw >= 3) {
		b->culprit = "hardware";
		b->confidence = hw >= 4 ? "high" : "medium";
		free(b->module);
		b->module = NULL;
	} else if (hw > 0 && b->confidence) {
		b->confidence = lower(b->confidence);
	}

	/* 4. Firmware bugs near a crash in ACPI or platform code. */
	if (ls.fw && hw < 3) {
		bool fw_code = b->function && (!strncmp(b->function, "acpi", 4) ||
					       !strncmp(b->function, "efi", 3) ||
					       !strncmp(b->function, "dmi_", 4));
		reason(&c, "the firmware reported a problem: \"%s\"", ls.fw_line);
		if (fw_code || !found) {
			b->culprit = "firmware";
			b->confidence = fw_code ? "medium" : "low";
			free(b->module);
			b->module = NULL;
		}
	}
	if (b->culprit && strcmp(b->culprit, "module")) {
		free(b->module);
		b->module = NULL;
	}
	return c.oom ? &vr_error_oom : NULL;
}

const struct vr_analyzer vr_analyzer_blame = {
	.name = "blame",
	.needs = VR_NEED_CRASH,
	.run = run,
};
