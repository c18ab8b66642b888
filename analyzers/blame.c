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
		return;
	char *s = NULL;
	va_list ap;
	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	if (!s || vr_error_catch(vr_grow(&b->reasons, &c->cap_reasons, b->n_reasons + 1,
					 sizeof(*b->reasons), MAX_REASONS))) {
		free(s);
		c->oom = true;
		return;
	}
	b->reasons[b->n_reasons++] = s;
}

/* The generic group of a symbol, trying the name without compiler
 * suffixes (".constprop.0", ".isra.0", ".part.0", ".cold") too. */
static const char *generic(struct bctx *c, const char *sym)
{
	if (!sym)
		return NULL;
	const char *g = vr_ruleset_generic_frame(c->rules, sym);
	if (g)
		return g;
	char base[256];
	snprintf(base, sizeof(base), "%s", sym);
	char *dot = strchr(base, '.');
	if (!dot)
		return NULL;
	*dot = '\0';
	return vr_ruleset_generic_frame(c->rules, base);
}

/* The frames blame looks at: the crash IP, then the trace (skipping a
 * first trace frame that repeats the IP). */
struct frames {
	const struct vr_frame *v[256];
	size_t n;
};

static void frames_add_trace(struct frames *fs, const struct vr_trace *t, bool skip_unreliable)
{
	for (size_t i = 0; t && i < t->n_frames && fs->n < 256; i++) {
		const struct vr_frame *f = &t->frames[i];
		if (skip_unreliable && !f->reliable)
			continue;
		if (fs->n && f->symbol && fs->v[fs->n - 1]->symbol &&
		    !strcmp(f->symbol, fs->v[fs->n - 1]->symbol) &&
		    fs->v[fs->n - 1]->address == f->address)
			continue;
		fs->v[fs->n++] = f;
	}
}

static void collect_frames(struct bctx *c, struct frames *fs)
{
	const struct vr_crash *cr = &c->r->crash;
	const struct vr_facts *f = c->a->facts;
	fs->n = 0;
	if (cr->ip_known)
		fs->v[fs->n++] = &cr->ip;
	const struct vr_trace *t = &cr->trace;
	if (!t->n_frames) {
		for (size_t i = 0; f && i < f->n_cpus; i++)
			if (f->cpus[i].panic)
				t = &f->cpus[i].trace;
	}
	/* A first frame equal to the IP symbol repeats it. */
	size_t before = fs->n;
	frames_add_trace(fs, t, true);
	if (before == 1 && fs->n > 1 && fs->v[1]->symbol && cr->ip.symbol &&
	    !strcmp(fs->v[1]->symbol, cr->ip.symbol)) {
		memmove(&fs->v[1], &fs->v[2], (fs->n - 2) * sizeof(fs->v[0]));
		fs->n--;
	}
	if (fs->n == before)
		frames_add_trace(fs, t, false);
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

/* Picks the guilty frame of a list of frames; true when it found one. */
static bool pick(struct bctx *c, const struct vr_frame *const *v, size_t n, const char *ctx)
{
	struct vr_blame *b = &c->r->blame;
	char fb[256];
	size_t first = n;
	size_t skipped = 0;
	const char *skipped_group = NULL;
	for (size_t i = 0; i < n; i++) {
		const char *g = generic(c, v[i]->symbol);
		if (g) {
			/* Module code is never generic, whatever its name. */
			if (!v[i]->module) {
				skipped++;
				if (!skipped_group)
					skipped_group = g;
				continue;
			}
		}
		if (!v[i]->symbol && !v[i]->module)
			continue;
		first = i;
		break;
	}
	if (first == n) {
		if (n)
			reason(c, "%s: every frame is generic (%s); no culprit among them", ctx,
			       skipped_group ? skipped_group : "?");
		return false;
	}
	const struct vr_frame *g = v[first];
	if (skipped)
		reason(c, "skipped %zu generic frame%s (%s...) above %s", skipped, skipped == 1 ? "" : "s",
		       skipped_group, g->symbol ? g->symbol : "the first frame");
	if (g->module) {
		set_frame(c, g);
		b->culprit = "module";
		b->confidence = first == 0 ? "high" : "medium";
		fmt_frame(fb, sizeof(fb), g);
		reason(c, "%s: the first non-generic frame, %s, is in module %s", ctx, fb, g->module);
		return true;
	}
	/* Core code: did a module call it? Look below, stopping at entry code. */
	for (size_t j = first + 1; j < n; j++) {
		const char *gr = generic(c, v[j]->symbol);
		if (gr && !strcmp(gr, "entry"))
			break;
		if (v[j]->module) {
			set_frame(c, v[j]);
			b->culprit = "module";
			b->confidence = "medium";
			char cb[256];
			fmt_frame(cb, sizeof(cb), v[j]);
			reason(c, "%s: the crash is in core kernel function %s, called from %s: "
			       "the module most likely passed it a bad argument", ctx,
			       g->symbol ? g->symbol : "?", cb);
			return true;
		}
	}
	set_frame(c, g);
	b->culprit = "kernel";
	b->confidence = "medium";
	reason(c, "%s: the first non-generic frame, %s, is core kernel code and no module is "
	       "below it in the trace", ctx, g->symbol ? g->symbol : "?");
	return true;
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

/* The stack of the first blocked task the log reports ("INFO: task
 * COMM:PID blocked for more than N seconds." and the trace after it), for
 * text input where no task list exists. Frames hold owned strings. */
static size_t log_blocked_frames(struct bctx *c, struct vr_frame *out, size_t cap)
{
	const struct vr_facts *f = c->a->facts;
	size_t n = 0, lines = 0;
	bool in = false;
	for (size_t i = 0; f && i < f->log.n_records; i++) {
		const char *t = f->log.records[i].text;
		while (t && *t && lines++ < MAX_LOG_LINES) {
			const char *nl = strchr(t, '\n');
			size_t len = nl ? (size_t)(nl - t) : strlen(t);
			char line[256];
			copy_line(line, sizeof(line), t, len);
			t = nl ? nl + 1 : NULL;
			if (strstr(line, "INFO: task ") && strstr(line, " blocked for more than ")) {
				if (in)
					return n;
				in = true;
				continue;
			}
			if (!in)
				continue;
			if (strstr(line, "Kernel panic") || strstr(line, "NMI backtrace"))
				return n;
			const char *s = line;
			if (s[0] == '[' && strchr(s, ']'))
				s = strchr(s, ']') + 1;
			while (*s == ' ' || *s == '\t')
				s++;
			size_t k = 0;
			while (s[k] && (s[k] == '_' || s[k] == '.' || (s[k] >= '0' && s[k] <= '9') ||
					(s[k] >= 'a' && s[k] <= 'z') || (s[k] >= 'A' && s[k] <= 'Z')))
				k++;
			if (!k || strncmp(s + k, "+0x", 3) || n >= cap)
				continue;
			char *mod = NULL;
			const char *bo = strchr(s + k, '['), *bc = bo ? strchr(bo, ']') : NULL;
			if (bo && bc)
				mod = vr_strndup(bo + 1, (size_t)(bc - bo - 1));
			out[n++] = (struct vr_frame){.symbol = vr_strndup(s, k), .module = mod,
						     .reliable = true};
		}
	}
	return n;
}

static void hung_task_blame(struct bctx *c, struct frames *fs)
{
	const struct vr_hang *h = &c->r->hang;
	const struct vr_facts *f = c->a->facts;
	struct frames tf;
	const char *why = "the holder of the lock is unknown; blaming the code that waits";
	char whybuf[256];
	for (size_t i = 0; i < h->n_waiters; i++) {
		const struct vr_waiter *w = &h->waiters[i];
		if (w->owner_pid < 0)
			continue;
		reason(c, "%s (pid %d) waits for %s, held by %s (pid %d)", w->comm ? w->comm : "?",
		       w->pid, w->waits_on ? w->waits_on : "a lock",
		       w->owner_comm ? w->owner_comm : "?", w->owner_pid);
		for (size_t k = 0; f && k < f->n_tasks; k++) {
			const struct vr_task *t = &f->tasks[k];
			if (t->pid != w->owner_pid)
				continue;
			tf.n = 0;
			frames_add_trace(&tf, &t->trace, false);
			char ctx[128];
			snprintf(ctx, sizeof(ctx), "the stack of the holder, %s (pid %d)", t->comm, t->pid);
			if (tf.n && pick(c, tf.v, tf.n, ctx))
				return;
		}
		snprintf(whybuf, sizeof(whybuf), "the stack of the holder, %s (pid %d), is not known; "
			 "blaming the code that waits for it", w->owner_comm ? w->owner_comm : "?",
			 w->owner_pid);
		why = whybuf;
		break;
	}
	/* The blocked task's own trace: who called the wait. */
	for (size_t k = 0; f && k < f->n_tasks && h->n_waiters; k++) {
		const struct vr_task *t = &f->tasks[k];
		if (t->pid != h->waiters[0].pid)
			continue;
		tf.n = 0;
		frames_add_trace(&tf, &t->trace, false);
		if (tf.n && pick(c, tf.v, tf.n, "the blocked task's stack")) {
			reason(c, "%s", why);
			return;
		}
	}
	if (!f || !f->n_tasks) {
		struct vr_frame lf[64];
		size_t n = log_blocked_frames(c, lf, 64);
		tf.n = 0;
		for (size_t i = 0; i < n; i++)
			tf.v[tf.n++] = &lf[i];
		bool ok = n && pick(c, tf.v, tf.n, "the blocked task's stack in the log");
		for (size_t i = 0; i < n; i++)
			vr_frame_deinit(&lf[i]);
		if (ok) {
			reason(c, "%s", why);
			return;
		}
	}
	if (pick(c, fs->v, fs->n, "the hung task's trace"))
		reason(c, "%s", why);
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
	struct frames fs;
	collect_frames(&c, &fs);
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
	} else if (!strcmp(kind, "hung-task")) {
		hung_task_blame(&c, &fs);
		found = b->culprit != NULL;
	} else {
		found = pick(&c, fs.v, fs.n, !strcmp(kind, "soft-lockup") || !strcmp(kind, "hard-lockup") ||
						     !strcmp(kind, "rcu-stall")
						 ? "the stuck CPU's code"
						 : "the crash trace");
	}
	if (!found) {
		b->culprit = "unknown";
		b->confidence = "low";
		if (!fs.n)
			reason(&c, "no frames are known for the crash");
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
