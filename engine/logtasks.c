/* Tasks and CPUs as the kernel log's reports print them, standing in for
 * what dump memory cannot give (a cut dump, pages a filter excluded, a
 * kernel log alone):
 *   - "INFO: task COMM:PID blocked for more than N seconds." and the
 *     "task:COMM state:D ... pid:PID" line and Call Trace after it
 *     (kernel/hung_task.c check_hung_task(), sched_show_task());
 *   - sysrq-w/-t's "task:COMM state:X ... pid:PID" blocks;
 *   - "CPU: N PID: P Comm: C" followed by "RIP:" and a Call Trace: an oops,
 *     a soft lockup, a panic's own dump_stack(), an NMI backtrace.
 * Each such block is what one task, or one CPU, was doing when the kernel
 * printed it. A CPU whose stack memory could not be unwound takes the
 * frames of the last block printed for it (by the same task when that is
 * known); a blocked task missing from memory, or without a trace, takes
 * its hung-task or sysrq report. Every such frame is marked as from the
 * log, and a task known only from the log says so (vr_task.from_log). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "klog.h"
#include "log.h"
#include "strings.h"

#define LINE_MAX_LEN 4096
#define MAX_BLOCKS 4096
#define MAX_BLOCK_FRAMES 128
/* Lines without a frame that end a trace printed without an end marker
 * (kernels before 5.16 print no "</TASK>"). */
#define MAX_GAP_LINES 12

struct block {
	int cpu;          /* -1: not printed */
	int pid;
	char comm[17];
	char state;       /* 0: not printed */
	double blocked_s; /* <0: not printed */
	char ctx[VR_KLOG_CTX_LEN];
	struct vr_trace trace;
	struct vr_regs regs; /* the register dump after its "RIP:" line */
	size_t cap;
	bool in_trace, closed, exc_next;
	const char *stack;
	int gap;
};

struct blocks {
	struct block *v;
	size_t n, cap;
	bool oom; /* a block or a frame could not be kept: the step returns it */
};

static void blocks_deinit(struct blocks *b)
{
	for (size_t i = 0; i < b->n; i++)
		vr_trace_deinit(&b->v[i].trace);
	free(b->v);
}

/* Room for one more of a bounded list: past its bound the rest of a
 * report is not kept (as the log's own limits do); out of memory is
 * remembered in *oom. */
static bool room(void *items, size_t *cap, size_t need, size_t elsize, size_t limit, bool *oom)
{
	if (need > limit)
		return false;
	struct vr_error *err = vr_grow(items, cap, need, elsize, limit);
	if (vr_error_is_fatal(err))
		*oom = true;
	vr_error_destroy(err);
	return !err;
}

static struct block *new_block(struct blocks *b, const char *ctx)
{
	if (b->n)
		b->v[b->n - 1].closed = true;
	if (!room(&b->v, &b->cap, b->n + 1, sizeof(*b->v), MAX_BLOCKS, &b->oom))
		return NULL;
	struct block *x = &b->v[b->n++];
	*x = (struct block){.cpu = -1, .pid = -1, .blocked_s = -1, .stack = "task"};
	snprintf(x->ctx, sizeof(x->ctx), "%s", ctx);
	return x;
}

static void set_comm(struct block *x, const char *s, size_t n)
{
	if (n >= sizeof(x->comm))
		n = sizeof(x->comm) - 1;
	memcpy(x->comm, s, n);
	x->comm[n] = '\0';
}

static bool push_frame(struct blocks *b, struct block *x, struct vr_frame *f)
{
	f->from_log = true;
	if (!room(&x->trace.frames, &x->cap, x->trace.n_frames + 1, sizeof(*x->trace.frames), MAX_BLOCK_FRAMES,
		  &b->oom)) {
		vr_frame_deinit(f);
		return false;
	}
	x->trace.frames[x->trace.n_frames++] = *f;
	*f = (struct vr_frame){0};
	return true;
}

/* "INFO: task COMM:PID blocked for more than N seconds." (COMM may hold
 * ':'; the PID follows the last one). */
static bool hung_line(const char *m, struct block *out)
{
	const char *p = strstr(m, "INFO: task ");
	const char *b = p ? strstr(p, " blocked for more than ") : NULL;
	if (!b)
		return false;
	p += 11;
	const char *q = b;
	while (q > p && q[-1] != ':')
		q--;
	if (q <= p)
		return false;
	const char *d = q;
	long pid, secs;
	if (!vr_str_read_dec(&d, &pid) || d != b || pid <= 0)
		return false;
	set_comm(out, p, (size_t)(q - 1 - p));
	out->pid = (int)pid;
	out->state = 'D';
	d = b + 23;
	if (vr_str_read_dec(&d, &secs))
		out->blocked_s = (double)secs;
	return true;
}

/* sched_show_task() since 5.14: "task:COMM state:D stack:0 pid:155
 * tgid:155 ppid:2 flags:0x00004000". */
static bool task_state_line(const char *m, struct block *out)
{
	m = vr_str_skip_ws(m);
	if (strncmp(m, "task:", 5))
		return false;
	const char *st = strstr(m, " state:");
	const char *pd = st ? strstr(st, " pid:") : NULL;
	if (!pd || !st[7])
		return false;
	const char *d = pd + 5;
	long pid;
	if (!vr_str_read_dec(&d, &pid))
		return false;
	set_comm(out, m + 5, (size_t)(st - (m + 5)));
	out->state = st[7];
	out->pid = (int)pid;
	return true;
}

/* "RIP: 0010:vrbug_null_deref+0x1c/0x26 [vrbug]" (kernel code segment
 * only: a user-mode RIP is no kernel frame) and arm64's "pc : sym+0x1/0x2". */
static bool ip_line(const char *m, struct vr_frame *f)
{
	m = vr_str_skip_ws(m);
	const char *p = NULL;
	if (!strncmp(m, "RIP: 0010:", 10))
		p = m + 10;
	else if (!strncmp(m, "pc : ", 5))
		p = m + 5;
	if (!p || !vr_klog_parse_frame(p, f))
		return false;
	if (!f->symbol) {
		vr_frame_deinit(f);
		return false;
	}
	f->exception = true;
	return true;
}

/* The registers printed after a block's "RIP:" line belong to the
 * exception frame that line made. */
static void attach_regs(struct block *x)
{
	struct vr_frame *f = &x->trace.frames[0];
	if (!x->regs.valid || !x->regs.set)
		return;
	int pc = x->regs.set->pc;
	x->regs.r[pc] = 0; /* the log names a symbol, not an address */
	x->regs.unknown |= 1ull << pc;
	if (!f->regs && !(f->regs = malloc(sizeof(*f->regs))))
		return;
	*f->regs = x->regs;
}

static void parse_line(struct blocks *b, const char *m, const char *ctx)
{
	struct block *cur = b->n && !b->v[b->n - 1].closed ? &b->v[b->n - 1] : NULL;
	/* Another CPU's or task's line in the middle of a block. */
	if (cur && cur->ctx[0] && ctx[0] && strcmp(cur->ctx, ctx))
		return;
	struct block head = {.cpu = -1, .pid = -1, .blocked_s = -1};
	if (hung_line(m, &head)) {
		struct block *x = new_block(b, ctx);
		if (x) {
			x->pid = head.pid;
			x->state = 'D';
			x->blocked_s = head.blocked_s;
			memcpy(x->comm, head.comm, sizeof(x->comm));
		}
		return;
	}
	if (task_state_line(m, &head)) {
		if (cur && cur->pid == head.pid && !cur->in_trace) {
			cur->state = head.state;
			return;
		}
		struct block *x = new_block(b, ctx);
		if (x) {
			x->pid = head.pid;
			x->state = head.state;
			memcpy(x->comm, head.comm, sizeof(x->comm));
		}
		return;
	}
	struct vr_klog_task t;
	if (vr_klog_task_line(m, &t) && t.cpu >= 0) {
		struct block *x = new_block(b, ctx);
		if (x) {
			x->cpu = t.cpu;
			x->pid = t.pid;
			set_comm(x, t.comm, t.comm_len);
		}
		return;
	}
	if (!cur)
		return;
	enum vr_klog_type type = vr_klog_classify(m).type;
	if (type == VR_KLOG_REPORT || type == VR_KLOG_PANIC || type == VR_KLOG_PRELUDE ||
	    strstr(m, "---[ end trace")) {
		cur->closed = true;
		return;
	}
	struct vr_frame f = {0};
	if (!cur->in_trace) {
		if (!cur->trace.n_frames && ip_line(m, &f))
			push_frame(b, cur, &f);
		else if (cur->trace.n_frames && cur->trace.frames[0].exception &&
			 vr_klog_regs_line(m, &cur->regs))
			attach_regs(cur);
		else if (vr_klog_is_trace_start(m))
			cur->in_trace = true;
		return;
	}
	const char *stack;
	bool exc;
	const char *after = vr_klog_trace_marker(m, &stack, &exc);
	if (after) {
		if (!stack) { /* "</TASK>": the trace is over */
			cur->closed = true;
			return;
		}
		cur->stack = stack;
		cur->exc_next = exc;
		m = after;
		if (!*m)
			return;
	}
	if (vr_klog_parse_frame(m, &f)) {
		if (!(f.stack = vr_strdup(cur->stack)))
			b->oom = true;
		f.exception = cur->exc_next;
		cur->exc_next = false;
		cur->gap = 0;
		push_frame(b, cur, &f);
	} else if (++cur->gap > MAX_GAP_LINES) {
		cur->closed = true;
	}
}

static void parse_log(const struct vr_log *log, struct blocks *b)
{
	char buf[LINE_MAX_LEN], ctx[VR_KLOG_CTX_LEN];
	for (size_t i = 0; i < log->n_records; i++) {
		for (const char *s = log->records[i].text; s && *s;) {
			const char *nl = strchr(s, '\n');
			size_t n = nl ? (size_t)(nl - s) : strlen(s);
			size_t c = n < sizeof(buf) - 1 ? n : sizeof(buf) - 1;
			memcpy(buf, s, c);
			buf[c] = '\0';
			const char *m = vr_klog_message(buf);
			if (m) {
				vr_klog_context(buf, ctx, sizeof(ctx));
				if (!ctx[0] && log->records[i].caller_id)
					snprintf(ctx, sizeof(ctx), "%c%u",
						 log->records[i].caller_id & 0x80000000u ? 'C' : 'T',
						 log->records[i].caller_id & 0x7fffffffu);
				parse_line(b, m, ctx);
			}
			s = nl ? nl + 1 : NULL;
		}
	}
}

/* A trace memory could not give: nothing, stopped early with fewer frames
 * than the log's, or with kernel frames it cannot name (their module's
 * symbols lost with a missing page) where the log names them all. */
static bool trace_lacking(const struct vr_kernel *k, const struct vr_trace *mem, const struct vr_trace *log)
{
	if (!log->n_frames)
		return false;
	if (!mem->n_frames || (mem->stop_reason && mem->n_frames < log->n_frames))
		return true;
	size_t unnamed = 0;
	for (size_t i = 0; i < mem->n_frames; i++)
		unnamed += mem->frames[i].reliable && !mem->frames[i].symbol && mem->frames[i].address &&
			   k->arch && mem->frames[i].address >= k->arch->image_min;
	for (size_t i = 0; unnamed && i < log->n_frames; i++)
		if (!log->frames[i].symbol)
			return false;
	return unnamed > 0;
}

/* The addresses and source lines of a log trace's kernel frames, from the
 * kernel's symbols: only where the symbol there and its offset agree with
 * what the log printed (a vmlinux that is not the dump's gives nothing). */
static void place_frames(struct vr_kernel *k, struct vr_trace *t)
{
	for (size_t i = 0; i < t->n_frames; i++) {
		struct vr_frame *f = &t->frames[i];
		uint64_t base;
		if (!f->symbol || f->module || f->address ||
		    vr_kernel_absorb(k, vr_kernel_symbol_address(k, f->symbol, &base), VR_ERR_NOT_FOUND))
			continue;
		struct vr_frame g = {.address = base + f->offset};
		vr_kernel_symbolize(k, &g, !f->exception);
		if (g.symbol && !strcmp(g.symbol, f->symbol) && g.offset == f->offset && !g.module) {
			f->address = g.address;
			if (f->regs && f->regs->set) {
				f->regs->r[f->regs->set->pc] = g.address;
				f->regs->unknown &= ~(1ull << f->regs->set->pc);
			}
			free(f->file);
			f->file = g.file;
			f->line = g.line;
			f->inlined = g.inlined;
			f->n_inlined = g.n_inlined;
			g.file = NULL;
			g.inlined = NULL;
			g.n_inlined = 0;
		}
		vr_frame_deinit(&g);
	}
}

/* The last block printed for cpu (by pid, when pid is known) that holds a
 * trace. */
static const struct block *block_of_cpu(const struct blocks *b, int cpu, int pid)
{
	for (size_t i = b->n; i-- > 0;) {
		const struct block *x = &b->v[i];
		if (x->cpu == cpu && x->trace.n_frames && (pid < 0 || x->pid == pid))
			return x;
	}
	return NULL;
}

static const struct block *block_of_task(const struct blocks *b, int pid)
{
	for (size_t i = b->n; i-- > 0;) {
		const struct block *x = &b->v[i];
		if (x->pid == pid && x->cpu < 0 && x->state)
			return x;
	}
	return NULL;
}

static struct vr_error *fill_cpus(struct vr_kernel *k, struct vr_facts *f, const struct blocks *b,
				  size_t *filled)
{
	for (size_t i = 0; i < f->n_cpus; i++) {
		struct vr_cpu *c = &f->cpus[i];
		const struct block *x = block_of_cpu(b, c->cpu, c->pid);
		if (!x)
			continue;
		if (c->pid < 0 && x->pid >= 0)
			c->pid = x->pid;
		if (!c->comm && x->comm[0] && x->pid == c->pid && !(c->comm = vr_strdup(x->comm)))
			return &vr_error_oom;
		if (!trace_lacking(k, &c->trace, &x->trace))
			continue;
		char *why = c->trace.stop_reason ? vr_strdup(c->trace.stop_reason) : NULL;
		struct vr_error *err = vr_trace_copy(&x->trace, 0, &c->trace);
		if (err) {
			free(why);
			return err;
		}
		place_frames(k, &c->trace);
		vr_diag_warn(k->diag, "cpu %d: frames taken from the kernel log's report (%s)", c->cpu,
			     why ? why : "its stack was not in the dump");
		free(why);
		(*filled)++;
	}
	return NULL;
}

static struct vr_error *fill_tasks(struct vr_kernel *k, struct vr_facts *f, const struct blocks *b,
				   size_t *filled, size_t *added)
{
	for (size_t i = 0; i < b->n; i++) {
		const struct block *x = &b->v[i];
		if (x->pid <= 0 || x->cpu >= 0 || !x->state || block_of_task(b, x->pid) != x)
			continue;
		struct vr_task *t = NULL;
		for (size_t j = 0; j < f->n_tasks && !t; j++)
			if (f->tasks[j].pid == x->pid)
				t = &f->tasks[j];
		if (t) {
			if (!t->comm[0])
				memcpy(t->comm, x->comm, sizeof(t->comm));
			/* memory lost the state (its page left out): the log's */
			if (t->state == '?' && !t->is_current)
				t->state = x->state;
			if (t->state == 'D' && !t->is_current && trace_lacking(k, &t->trace, &x->trace)) {
				struct vr_error *err = vr_trace_copy(&x->trace, 0, &t->trace);
				if (err)
					return err;
				place_frames(k, &t->trace);
				(*filled)++;
			}
			continue;
		}
		/* Only blocked tasks matter to the report; sysrq-t's others
		 * stay in the log. */
		if (x->state != 'D')
			continue;
		size_t cap = f->n_tasks;
		struct vr_error *err = vr_grow(&f->tasks, &cap, f->n_tasks + 1, sizeof(*f->tasks),
					       VR_MAX_TASKS);
		if (err && err->code == VR_ERR_NOMEM)
			return err;
		if (err) { /* at the limit: the rest stay in the log */
			vr_error_destroy(err);
			break;
		}
		t = &f->tasks[f->n_tasks++];
		*t = (struct vr_task){.pid = x->pid, .tgid = -1, .state = 'D', .cpu = -1,
				      .blocked_s = x->blocked_s, .from_log = true};
		memcpy(t->comm, x->comm, sizeof(t->comm));
		if ((err = vr_trace_copy(&x->trace, 0, &t->trace)))
			return err;
		place_frames(k, &t->trace);
		(*added)++;
	}
	return NULL;
}

struct vr_error *vr_collect_log_tasks(struct vr_kernel *k, struct vr_facts *f)
{
	if (!f->log.n_records)
		return vr_error_create(VR_ERR_NOT_FOUND, "no kernel log");
	struct blocks b = {0};
	parse_log(&f->log, &b);
	size_t cpus = 0, traced = 0, added = 0;
	struct vr_error *err = b.oom ? &vr_error_oom : fill_cpus(k, f, &b, &cpus);
	if (!err)
		err = fill_tasks(k, f, &b, &traced, &added);
	blocks_deinit(&b);
	if (err)
		return err;
	if (added)
		vr_diag_warn(k->diag, "tasks: %zu blocked task%s known only from the kernel log's reports",
			     added, added == 1 ? "" : "s");
	if (traced)
		vr_diag_warn(k->diag, "tasks: the frames of %zu blocked task%s taken from the kernel log",
			     traced, traced == 1 ? "" : "s");
	return NULL;
}
