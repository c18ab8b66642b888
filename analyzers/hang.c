/* The hang analyzer: for hung tasks, which tasks are blocked, on what, and
 * who holds it; for soft/hard lockups and RCU stalls, which CPU is stuck
 * and in which function.
 *
 * Kernel facts used:
 *  - kernel/hung_task.c prints "INFO: task COMM:PID blocked for more than N
 *    seconds." and the task's stack;
 *  - kernel/watchdog.c prints "BUG: soft lockup - CPU#N stuck for Ns!
 *    [COMM:PID]" and "Watchdog detected hard LOCKUP on cpu N";
 *  - kernel/rcu/tree_stall.h prints "rcu: INFO: NAME detected stalls on
 *    CPUs/tasks:" then one "\tN-...." line per stalled CPU, or "NAME
 *    self-detected stall on CPU" then "\tN-....";
 *  - struct mutex (include/linux/mutex.h) holds atomic_long_t owner: the
 *    owner's task_struct with flag bits 0-2 (MUTEX_FLAG_WAITERS = 1,
 *    kernel/locking/mutex.c); its wait_list (in 7.x kernels, 7.3 for one, the pointer
 *    first_waiter) reaches the struct mutex_waiter
 *    objects, which live on the waiters' stacks (__mutex_lock_common()).
 *    Where both lie, and how big a task's stack is, come from the kernel's
 *    types; when they are unknown, so are the owners. */
#define _GNU_SOURCE
#include <ctype.h>
#include <fnmatch.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "analyzer.h"

#define MAX_WAITERS 64
#define MAX_STACK_PROBES 4096     /* mutex candidates read per analysis */
#define MAX_LOG_LINES 200000

struct wait_kind {
	const char *pattern;
	const char *what;
	bool mutex;
};

/* Innermost wait function of a blocked task's trace, and what it waits for. */
static const struct wait_kind wait_kinds[] = {
	{"__mutex_lock*", "a mutex", true},
	{"mutex_lock*", "a mutex", true},
	{"__mutex_lock_slowpath", "a mutex", true},
	{"rt_mutex_*", "an rt_mutex", false},
	{"__rt_mutex_*", "an rt_mutex", false},
	{"rwsem_down_read*", "a rw_semaphore (for reading)", false},
	{"rwsem_down_write*", "a rw_semaphore (for writing)", false},
	{"down_read*", "a rw_semaphore (for reading)", false},
	{"down_write*", "a rw_semaphore (for writing)", false},
	{"percpu_rwsem_wait", "a percpu rw_semaphore", false},
	{"__percpu_down_read", "a percpu rw_semaphore", false},
	{"__down*", "a semaphore", false},
	{"down", "a semaphore", false},
	{"wait_for_completion*", "a completion", false},
	{"__wait_for_common", "a completion", false},
	{"folio_wait_bit*", "a page (locked or under writeback)", false},
	{"folio_wait_writeback", "page writeback", false},
	{"__folio_lock*", "a page lock", false},
	{"__lock_page*", "a page lock", false},
	{"wait_on_page_bit*", "a page (locked or under writeback)", false},
	{"out_of_line_wait_on_bit*", "a bit lock (buffer or inode)", false},
	{"__wait_on_buffer", "a buffer", false},
	{"jbd2_log_wait_commit", "a journal commit", false},
	{"wait_transaction_locked", "a journal transaction", false},
	{"blk_mq_get_tag", "a block request tag", false},
	{"io_schedule*", "I/O", false},
	{"synchronize_rcu*", "an RCU grace period", false},
	{"__synchronize_srcu", "an SRCU grace period", false},
	{"__flush_work*", "a work item", false},
	{"flush_work*", "a work item", false},
	{"__flush_workqueue", "a workqueue", false},
	{"flush_workqueue*", "a workqueue", false},
	{"kthread_stop*", "a kthread to stop", false},
	{"msleep", "a sleep (msleep)", false},
	{"schedule_timeout*", "a timeout", false},
};

static const struct wait_kind *wait_of(const struct vr_trace *t, size_t *ret_frame)
{
	for (size_t i = 0; t && i < t->n_frames; i++) {
		const char *s = t->frames[i].symbol;
		if (!s)
			continue;
		char base[128];
		snprintf(base, sizeof(base), "%s", s);
		base[strcspn(base, ".")] = '\0'; /* ".constprop.0", ".isra.0" */
		for (size_t k = 0; k < sizeof(wait_kinds) / sizeof(wait_kinds[0]); k++) {
			if (!fnmatch(wait_kinds[k].pattern, base, 0)) {
				if (ret_frame)
					*ret_frame = i;
				return &wait_kinds[k];
			}
		}
	}
	return NULL;
}

/* The first frame of t after index i that is not a lock/wait/sched helper:
 * the function that called into the wait. */
static const struct vr_frame *caller_after(const struct vr_trace *t, size_t i)
{
	for (size_t j = i + 1; t && j < t->n_frames; j++) {
		const char *s = t->frames[j].symbol;
		if (!s)
			continue;
		if (wait_of(&(struct vr_trace){.frames = (struct vr_frame *)&t->frames[j], .n_frames = 1}, NULL))
			continue;
		if (!strncmp(s, "schedule", 8) || !strncmp(s, "__schedule", 10))
			continue;
		return &t->frames[j];
	}
	return NULL;
}

struct hctx {
	struct vr_analysis *a;
	struct vr_hang *h;
	bool mem;
	size_t probes;
	/* struct mutex's owner and wait_list (or first_waiter), and a task's
	 * stack size; when
	 * one is unknown, layout_err says why and owners are not looked for */
	uint64_t owner_off, wait_list_off, stack_size;
	struct vr_error *layout_err;
	bool owner_unknown; /* a task waits on a mutex whose owner was not looked for */
};

static const struct vr_task *task_by_addr(const struct vr_facts *f, uint64_t addr)
{
	for (size_t i = 0; i < f->n_tasks; i++)
		if (f->tasks[i].task == addr)
			return &f->tasks[i];
	return NULL;
}

/* Looks for the mutex a blocked task waits on: a pointer on its stack to a
 * struct mutex whose owner is a known task, whose waiters flag is set and
 * whose wait_list (first_waiter) points into this task's stack (its
 * mutex_waiter). */
static bool find_mutex(struct hctx *c, const struct vr_task *t, uint64_t *ret_mutex,
		       const struct vr_task **ret_owner)
{
	const struct vr_facts *f = c->a->facts;
	if (!c->mem || !t->stack)
		return false;
	if (c->layout_err) {
		c->owner_unknown = true;
		return false;
	}
	uint64_t lo = t->stack, hi = t->stack + c->stack_size;
	uint64_t from = (t->sp >= lo && t->sp < hi) ? (t->sp & ~7ull) : lo;
	size_t len = (size_t)(hi - from);
	_cleanup_free_ uint8_t *buf = malloc(len);
	if (!buf)
		return false;
	if (vr_kernel_absorb(c->a->kernel, vr_kernel_read(c->a->kernel, from, buf, len), VR_ERRS_READ))
		return false;
	uint64_t last = 0;
	const struct vr_arch_info *arch = vr_analysis_arch(c->a);
	for (size_t off = 0; arch && off + 8 <= len && c->probes < MAX_STACK_PROBES; off += 8) {
		uint64_t v;
		memcpy(&v, buf + off, 8);
		if (v < arch->kernel_start || v == last || (v & 7) || (v >= lo && v < hi))
			continue;
		last = v;
		c->probes++;
		uint8_t m[64];
		size_t need = (size_t)(c->wait_list_off > c->owner_off ? c->wait_list_off : c->owner_off) + 8;
		if (vr_kernel_absorb(c->a->kernel, vr_kernel_read(c->a->kernel, v, m, need), VR_ERRS_READ))
			continue;
		uint64_t owner, next;
		memcpy(&owner, m + c->owner_off, 8);
		memcpy(&next, m + c->wait_list_off, 8);
		if (!(owner & 1) || next < lo || next >= hi)
			continue;
		const struct vr_task *o = task_by_addr(f, owner & ~7ull);
		if (!o)
			continue;
		*ret_mutex = v;
		*ret_owner = o;
		return true;
	}
	return false;
}

static char *describe_lock(struct hctx *c, const char *what, uint64_t addr)
{
	if (!addr)
		return vr_strdup(what);
	struct vr_frame fr = {.address = addr};
	if (c->a->kernel)
		vr_kernel_symbolize(c->a->kernel, &fr, false);
	char *s;
	if (fr.symbol && fr.offset == 0)
		s = vr_asprintf("%s %s%s%s%s at 0x%016" PRIx64, what, fr.symbol, fr.module ? " [" : "",
				fr.module ? fr.module : "", fr.module ? "]" : "", addr);
	else
		s = vr_asprintf("%s 0x%016" PRIx64, what, addr);
	vr_frame_deinit(&fr);
	return s;
}

static struct vr_error *add_waiter(struct vr_hang *h, int pid, const char *comm, char *waits_on,
				   int owner_pid, const char *owner_comm)
{
	if (h->n_waiters >= MAX_WAITERS) {
		free(waits_on);
		return NULL;
	}
	struct vr_waiter *nw = realloc(h->waiters, (h->n_waiters + 1) * sizeof(*nw));
	if (!nw) {
		free(waits_on);
		return &vr_error_oom;
	}
	h->waiters = nw;
	nw[h->n_waiters++] = (struct vr_waiter){
		.pid = pid,
		.comm = comm ? vr_strdup(comm) : NULL,
		.waits_on = waits_on,
		.owner_pid = owner_pid,
		.owner_comm = owner_comm ? vr_strdup(owner_comm) : NULL,
	};
	return NULL;
}

static char *wait_text(const struct vr_trace *t, const char *lock)
{
	size_t fi = 0;
	const struct wait_kind *w = wait_of(t, &fi);
	if (!w)
		return NULL;
	const struct vr_frame *caller = caller_after(t, fi);
	if (caller && caller->symbol)
		return vr_asprintf("%s (in %s, called from %s%s%s%s)", lock ? lock : w->what,
				   t->frames[fi].symbol, caller->symbol, caller->module ? " [" : "",
				   caller->module ? caller->module : "", caller->module ? "]" : "");
	return vr_asprintf("%s (in %s)", lock ? lock : w->what, t->frames[fi].symbol);
}

/* ---- the log ---- */

/* Iterates over the lines of the log (a record may hold several lines). */
struct line_iter {
	const struct vr_log *log;
	size_t rec;
	const char *p;
	size_t lines;
	char buf[512];
};

static const char *next_line(struct line_iter *it)
{
	while (it->rec < it->log->n_records) {
		if (!it->p)
			it->p = it->log->records[it->rec].text;
		if (!it->p || !*it->p) {
			it->rec++;
			it->p = NULL;
			continue;
		}
		if (++it->lines > MAX_LOG_LINES)
			return NULL;
		const char *nl = strchr(it->p, '\n');
		size_t len = nl ? (size_t)(nl - it->p) : strlen(it->p);
		if (len >= sizeof(it->buf))
			len = sizeof(it->buf) - 1;
		memcpy(it->buf, it->p, len);
		it->buf[len] = '\0';
		if (nl) {
			it->p = nl + 1;
		} else {
			it->rec++;
			it->p = NULL;
		}
		/* A console capture keeps the "[    4.407581] " prefix. */
		const char *s = it->buf;
		if (s[0] == '[') {
			const char *e = strchr(s, ']');
			if (e && e - s < 20)
				s = e + 1;
		}
		while (*s == ' ')
			s++;
		return s;
	}
	return NULL;
}

/* "  __schedule+0x34d/0x9e0" or "? foo+0x1/0x2 [mod]": symbol and module. */
static bool parse_trace_line(const char *s, char *sym, size_t symcap, char *mod, size_t modcap)
{
	while (*s == ' ' || *s == '\t')
		s++;
	if (s[0] == '?' && s[1] == ' ')
		return false; /* unreliable guesses say nothing about the wait */
	size_t n = 0;
	while (s[n] && (isalnum((unsigned char)s[n]) || s[n] == '_' || s[n] == '.'))
		n++;
	if (!n || strncmp(s + n, "+0x", 3) || n >= symcap)
		return false;
	memcpy(sym, s, n);
	sym[n] = '\0';
	mod[0] = '\0';
	const char *b = strchr(s + n, '[');
	if (b) {
		const char *e = strchr(b, ']');
		if (e && (size_t)(e - b - 1) < modcap) {
			memcpy(mod, b + 1, (size_t)(e - b - 1));
			mod[e - b - 1] = '\0';
		}
	}
	return true;
}

/* Blocked tasks as the log reports them (text input, or a dump whose task
 * list could not be read). */
static struct vr_error *hung_from_log(struct hctx *c)
{
	const struct vr_facts *f = c->a->facts;
	struct line_iter it = {.log = &f->log};
	const char *s;
	int cur_pid = -1;
	char cur_comm[64] = "";
	struct vr_trace tr = {0};
	struct vr_frame frames[64];
	size_t nf = 0;
	char owner_comm[64] = "";
	int owner_pid = -1;
	struct vr_error *err = NULL;

#define FLUSH()                                                                          \
	do {                                                                             \
		if (cur_pid >= 0 && !err) {                                              \
			tr.frames = frames;                                              \
			tr.n_frames = nf;                                                \
			err = add_waiter(c->h, cur_pid, cur_comm, wait_text(&tr, NULL),   \
					 owner_pid, owner_pid >= 0 ? owner_comm : NULL);  \
		}                                                                        \
		for (size_t q = 0; q < nf; q++) {                                        \
			free(frames[q].symbol);                                          \
			free(frames[q].module);                                          \
		}                                                                        \
		nf = 0;                                                                  \
		cur_pid = -1;                                                            \
		owner_pid = -1;                                                          \
	} while (0)

	while (!err && (s = next_line(&it))) {
		const char *p = strstr(s, "INFO: task ");
		if (p && strstr(p, " blocked for more than ")) {
			FLUSH();
			p += 11;
			const char *colon = strstr(p, " blocked for");
			/* COMM may hold ':'; the PID follows the last one before " blocked". */
			const char *q = colon;
			while (q > p && q[-1] != ':')
				q--;
			if (q > p && colon) {
				int pid = atoi(q);
				size_t cl = (size_t)(q - 1 - p);
				if (cl >= sizeof(cur_comm))
					cl = sizeof(cur_comm) - 1;
				memcpy(cur_comm, p, cl);
				cur_comm[cl] = '\0';
				cur_pid = pid;
			}
			continue;
		}
		/* Kernels with CONFIG_DETECT_HUNG_TASK_BLOCKER name the owner:
		 * "INFO: task X:1 is blocked on a mutex likely owned by task Y:2." */
		p = strstr(s, "likely owned by task ");
		if (p && cur_pid >= 0) {
			p += 21;
			const char *end = p + strcspn(p, " .\n");
			const char *q = end;
			while (q > p && q[-1] != ':')
				q--;
			if (q > p) {
				owner_pid = atoi(q);
				size_t cl = (size_t)(q - 1 - p);
				if (cl >= sizeof(owner_comm))
					cl = sizeof(owner_comm) - 1;
				memcpy(owner_comm, p, cl);
				owner_comm[cl] = '\0';
			}
			continue;
		}
		if (cur_pid < 0)
			continue;
		if (strstr(s, "Kernel panic") || strstr(s, "NMI backtrace") ||
		    strstr(s, "Showing all locks")) {
			FLUSH();
			continue;
		}
		char sym[128], mod[64];
		if (nf < sizeof(frames) / sizeof(frames[0]) &&
		    parse_trace_line(s, sym, sizeof(sym), mod, sizeof(mod))) {
			frames[nf] = (struct vr_frame){.symbol = vr_strdup(sym),
						       .module = mod[0] ? vr_strdup(mod) : NULL,
						       .reliable = true};
			nf++;
		}
	}
	FLUSH();
#undef FLUSH
	return err;
}

static struct vr_error *hung_tasks(struct hctx *c)
{
	const struct vr_facts *f = c->a->facts;
	struct vr_error *err = NULL;
	bool any = false;
	for (size_t i = 0; !err && i < f->n_tasks; i++) {
		const struct vr_task *t = &f->tasks[i];
		if (t->state != 'D' || t->is_idle)
			continue;
		any = true;
		size_t fi = 0;
		const struct wait_kind *w = wait_of(&t->trace, &fi);
		uint64_t mutex = 0;
		const struct vr_task *owner = NULL;
		if (w && w->mutex)
			find_mutex(c, t, &mutex, &owner);
		_cleanup_free_ char *lock = mutex ? describe_lock(c, "mutex", mutex) : NULL;
		char *wt = wait_text(&t->trace, lock);
		if (!wt)
			wt = vr_strdup(t->trace.n_frames ? "unknown (no wait function in its trace)"
							 : "unknown (no stack trace)");
		err = add_waiter(c->h, t->pid, t->comm, wt, owner ? owner->pid : -1,
				 owner ? owner->comm : NULL);
	}
	if (!err && !any)
		err = hung_from_log(c);
	if (err || !any)
		return err;
	if (c->owner_unknown)
		err = vr_error_create(VR_ERR_NOT_PRESENT, "the owners of the mutexes tasks wait on: %s",
				      c->layout_err->message);
	/* The task the hung-task detector reported goes first. */
	struct line_iter it = {.log = &f->log};
	const char *s;
	int pid = -1;
	while (pid < 0 && (s = next_line(&it))) {
		const char *p = strstr(s, "INFO: task ");
		const char *b = p ? strstr(p, " blocked for more than ") : NULL;
		if (!b)
			continue;
		const char *q = b;
		while (q > p && q[-1] != ':')
			q--;
		pid = atoi(q);
	}
	for (size_t i = 1; pid > 0 && i < c->h->n_waiters; i++) {
		if (c->h->waiters[i].pid == pid) {
			struct vr_waiter tmp = c->h->waiters[0];
			c->h->waiters[0] = c->h->waiters[i];
			c->h->waiters[i] = tmp;
			break;
		}
	}
	return err;
}

/* ---- lockups ---- */

static const struct vr_cpu *cpu_by_id(const struct vr_facts *f, int cpu)
{
	for (size_t i = 0; i < f->n_cpus; i++)
		if (f->cpus[i].cpu == cpu)
			return &f->cpus[i];
	return NULL;
}

static void lockup(struct hctx *c, const char *kind)
{
	const struct vr_facts *f = c->a->facts;
	const struct vr_crash *cr = &c->a->report->crash;
	/* The CPU the report names stuck, as the oops decoder read it. */
	int cpu = cr->stalled_cpu;
	if (cpu < 0 && !strcmp(kind, "soft-lockup") && cr->cpu >= 0)
		cpu = cr->cpu;
	c->h->stuck_cpu = cpu;
	const char *fn = NULL;
	if (cr->ip_known && cr->ip.symbol && (cpu < 0 || cpu == cr->cpu))
		fn = cr->ip.symbol;
	const struct vr_cpu *vc = cpu >= 0 ? cpu_by_id(f, cpu) : NULL;
	if (!fn && vc) {
		/* The first frame after the exception/interrupt frame is where
		 * the CPU was when the watchdog or NMI interrupted it. */
		const struct vr_trace *t = &vc->trace;
		for (size_t i = 0; i < t->n_frames && !fn; i++)
			if (t->frames[i].exception && i + 1 < t->n_frames && t->frames[i + 1].symbol)
				fn = t->frames[i + 1].symbol;
		if (!fn && vc->regs.valid) {
			struct vr_frame fr = {.address = vr_regs_pc(&vc->regs)};
			if (c->a->kernel)
				vr_kernel_symbolize(c->a->kernel, &fr, false);
			if (fr.symbol)
				c->h->stuck_function = vr_strdup(fr.symbol);
			vr_frame_deinit(&fr);
		}
	}
	if (!fn && !c->h->stuck_function && cr->ip_known && cr->ip.symbol)
		fn = cr->ip.symbol;
	if (fn && !c->h->stuck_function)
		c->h->stuck_function = vr_strdup(fn);
}

/* Where struct mutex points at its first waiter's struct mutex_waiter,
 * which lies on that waiter's stack: the list head wait_list (its next),
 * or in 7.x kernels (7.3 for one) the pointer first_waiter. */
static struct vr_error *waiters_offset(struct vr_kernel *k, uint64_t *ret)
{
	struct vr_error *err = vr_kernel_member_offset(k, "mutex", "wait_list", ret);
	if (!err || err->code == VR_ERR_NOMEM)
		return err;
	struct vr_error *err2 = vr_kernel_member_offset(k, "mutex", "first_waiter", ret);
	if (!err2 || err2->code == VR_ERR_NOMEM) {
		vr_error_destroy(err);
		return err2;
	}
	struct vr_error *both = vr_error_create(err->code, "%s; %s", err->message, err2->message);
	vr_error_destroy(err);
	vr_error_destroy(err2);
	return both;
}

static struct vr_error *run(struct vr_analysis *a, const char **skipped)
{
	struct vr_report *r = a->report;
	const char *kind = r->crash.kind;
	static const char *const kinds[] = {"hung-task", "soft-lockup", "hard-lockup", "rcu-stall"};
	const char *hk = NULL;
	for (size_t i = 0; kind && i < 4; i++)
		if (!strcmp(kind, kinds[i]))
			hk = kinds[i];
	if (!hk) {
		*skipped = "the crash is not a hang or lockup";
		return NULL;
	}
	struct hctx c = {.a = a, .h = &r->hang};
	c.mem = a->kernel && vr_kernel_has_memory(a->kernel);
	if (c.mem) {
		struct vr_error *err;
		if ((err = vr_kernel_member_offset(a->kernel, "mutex", "owner", &c.owner_off)) ||
		    (err = waiters_offset(a->kernel, &c.wait_list_off)) ||
		    (err = vr_kernel_task_stack_size(a->kernel, &c.stack_size)))
			c.layout_err = err;
		else if (c.owner_off > 56 || c.wait_list_off > 56)
			c.layout_err = vr_error_create(VR_ERR_FORMAT, "struct mutex: owner at %" PRIu64
						       ", wait_list at %" PRIu64 ": beyond its first 64 bytes",
						       c.owner_off, c.wait_list_off);
		if (c.layout_err && c.layout_err->code == VR_ERR_NOMEM)
			return c.layout_err;
	}
	r->hang.kind = hk;
	struct vr_error *err = NULL;
	if (!strcmp(hk, "hung-task"))
		err = hung_tasks(&c);
	else
		lockup(&c, hk);
	vr_error_destroy(c.layout_err);
	return err;
}

const struct vr_analyzer vr_analyzer_hang = {
	.name = "hang",
	.needs = VR_NEED_CRASH,
	.run = run,
};
