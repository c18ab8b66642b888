/* Tasks (what crash's `ps` shows): every thread of every process from
 * init_task.tasks and each thread group, plus each CPU's idle task, with
 * state letter, CPU, stack and the current task of each CPU. Where the list
 * is cut, also walked backwards, and every CPU's current task and the
 * tasks queued on its runqueue, the pid namespace (every task with a pid)
 * and the parents and children of every task found are roots too. Walks are
 * bounded and detect cycles; a task whose memory is missing from the dump
 * is skipped with a warning and the rest still come out. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define VR_MAX_TASK_STRUCT (64u << 10)



/* A member: where it is and how many bytes to read (dflt when the layout
 * source does not say). */
struct fld {
	bool ok;
	uint64_t off, size;
};

static struct fld fld(struct vr_kernel *k, const char *type, const char *member, uint64_t dflt)
{
	struct vr_member m;
	if (!vr_member(k, type, member, &m))
		return (struct fld){0};
	return (struct fld){true, m.offset, m.size && m.size <= 8 ? m.size : dflt};
}

struct task_layout {
	uint64_t size;
	/* The bytes from the start that hold every field read: the whole read
	 * stops there, since the allocation can be smaller than the type (x86
	 * sizes the FPU state at the end of task_struct at boot). */
	uint64_t span;
	struct fld tasks, pid, tgid, comm, state, exit_state, cpu, stack, sp, on_cpu;
	struct fld ti_cpu; /* thread_info.cpu, the thread_info at the stack's base */
	struct fld signal, thread_node, thread_head, thread_group;
	struct fld real_parent, children, sibling;
	struct fld last_arrival, exec_start;
	struct fld rq_curr, rq_idle, rq_clock, rq_clock_task;
};

static bool resolve(struct vr_kernel *k, struct task_layout *l)
{
	*l = (struct task_layout){0};
	if (vr_kernel_absorb(k, vr_type_size(k, "task_struct", &l->size), VR_ERRS_LAYOUT) || l->size > VR_MAX_TASK_STRUCT)
		l->size = 0;
	l->tasks = fld(k, "task_struct", "tasks", 8);
	l->pid = fld(k, "task_struct", "pid", 4);
	l->tgid = fld(k, "task_struct", "tgid", 4);
	l->comm = fld(k, "task_struct", "comm", 16);
	l->comm.size = 16; /* TASK_COMM_LEN */
	/* 5.14 renamed state to __state and made it unsigned int (commit
	 * 2f064a59a11f "sched: Change task_struct::state"). */
	l->state = fld(k, "task_struct", "__state", 4);
	if (!l->state.ok)
		l->state = fld(k, "task_struct", "state", 8);
	l->exit_state = fld(k, "task_struct", "exit_state", 4);
	/* task_struct.cpu with CONFIG_THREAD_INFO_IN_TASK (x86 since 4.9),
	 * thread_info.cpu before. */
	l->cpu = fld(k, "task_struct", "cpu", 4);
	if (!l->cpu.ok)
		l->cpu = fld(k, "task_struct", "thread_info.cpu", 4);
	/* Without it (x86 before 4.9: 3.10's arch/x86/include/asm/thread_info.h)
	 * struct thread_info sits at the base of the task's stack and
	 * task->stack points at it. */
	if (!l->cpu.ok)
		l->ti_cpu = fld(k, "thread_info", "cpu", 4);
	l->stack = fld(k, "task_struct", "stack", 8);
	l->sp = fld(k, "task_struct", "thread.sp", 8);
	l->on_cpu = fld(k, "task_struct", "on_cpu", 4);
	l->signal = fld(k, "task_struct", "signal", 8);
	l->thread_node = fld(k, "task_struct", "thread_node", 8);
	l->thread_head = fld(k, "signal_struct", "thread_head", 8);
	l->thread_group = fld(k, "task_struct", "thread_group", 8);
	l->real_parent = fld(k, "task_struct", "real_parent", 8);
	l->children = fld(k, "task_struct", "children", 8);
	l->sibling = fld(k, "task_struct", "sibling", 8);
	l->last_arrival = fld(k, "task_struct", "sched_info.last_arrival", 8);
	l->exec_start = fld(k, "task_struct", "se.exec_start", 8);
	l->rq_curr = fld(k, "rq", "curr", 8);
	l->rq_idle = fld(k, "rq", "idle", 8);
	l->rq_clock = fld(k, "rq", "clock", 8);
	l->rq_clock_task = fld(k, "rq", "clock_task", 8);
	/* Fields are copied out of one buffer of the task_struct's size. */
	uint64_t bufsize = l->size ? l->size : VR_MAX_TASK_STRUCT;
	struct fld *all[] = {&l->tasks, &l->pid, &l->tgid, &l->comm, &l->state, &l->exit_state, &l->cpu,
			     &l->stack, &l->sp, &l->on_cpu, &l->signal, &l->thread_node, &l->thread_group,
			     &l->last_arrival, &l->exec_start};
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		if (all[i]->ok && (all[i]->off > bufsize || all[i]->size > bufsize - all[i]->off))
			all[i]->ok = false;
		if (all[i]->ok && all[i]->off + all[i]->size > l->span)
			l->span = all[i]->off + all[i]->size;
	}
	if (!l->size)
		l->span = 0;
	return l->tasks.ok && l->pid.ok && l->comm.ok;
}

/* ---- a set of addresses (open addressing), for cycle detection ---- */
struct addrset {
	uint64_t *slots;
	size_t cap, n;
};

static uint64_t mix(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	return x;
}

/* Adds a; false when it was there already (or out of memory: *oom). */
static bool addrset_add(struct addrset *s, uint64_t a, bool *oom)
{
	if (!a)
		return false;
	if ((s->n + 1) * 2 > s->cap) {
		size_t nc = s->cap ? s->cap * 2 : 1024;
		uint64_t *ns = calloc(nc, sizeof(*ns));
		if (!ns) {
			*oom = true;
			return false;
		}
		for (size_t i = 0; i < s->cap; i++) {
			if (!s->slots[i])
				continue;
			size_t j = mix(s->slots[i]) & (nc - 1);
			while (ns[j])
				j = (j + 1) & (nc - 1);
			ns[j] = s->slots[i];
		}
		free(s->slots);
		s->slots = ns;
		s->cap = nc;
	}
	size_t j = mix(a) & (s->cap - 1);
	while (s->slots[j]) {
		if (s->slots[j] == a)
			return false;
		j = (j + 1) & (s->cap - 1);
	}
	s->slots[j] = a;
	s->n++;
	return true;
}

/* ---- reading one task ---- */

struct walk {
	struct vr_kernel *k;
	struct vr_facts *f;
	const struct task_layout *l;
	struct addrset seen;
	size_t cap;
	size_t unreadable;
	struct vr_error *first;
	/* Why the list stopped short of a task it found: more than it holds
	 * (VR_ERR_LIMIT), or out of memory. */
	struct vr_error *short_by;
	uint8_t *buf; /* l->size bytes */
	/* Of the task read last, the fields whose page is missing: they read
	 * as zero, which for the state means running and for the CPU CPU 0. */
	const struct fld *lost[16];
	size_t n_lost;
};

static bool lost(const struct walk *w, const struct fld *f)
{
	for (size_t i = 0; i < w->n_lost; i++)
		if (w->lost[i] == f)
			return true;
	return false;
}

static uint64_t get(const uint8_t *buf, struct fld f)
{
	uint64_t v = 0;
	for (size_t i = f.size; i-- > 0;)
		v = v << 8 | buf[f.off + i];
	return v;
}

/* Reads the fields of one task into buf: one read of the span that holds
 * them all, or field by field when part of it is missing. */
static struct vr_error *read_task(struct walk *w, uint64_t t, bool *ret_whole)
{
	const struct task_layout *l = w->l;
	if (l->span && !vr_kernel_absorb(w->k, vr_kernel_read(w->k, t, w->buf, (size_t)l->span), VR_ERRS_READ)) {
		*ret_whole = true;
		return NULL;
	}
	*ret_whole = false;
	/* field by field: pid and comm are required */
	const struct fld *need[] = {&l->pid, &l->comm};
	for (size_t i = 0; i < 2; i++) {
		struct vr_error *err = vr_kernel_read(w->k, t + need[i]->off, w->buf + need[i]->off,
						      (size_t)need[i]->size);
		if (err)
			return err;
	}
	const struct fld *opt[] = {&l->tasks, &l->tgid, &l->state, &l->exit_state, &l->cpu, &l->stack,
				   &l->sp, &l->on_cpu, &l->signal, &l->thread_node, &l->thread_group,
				   &l->last_arrival, &l->exec_start};
	for (size_t i = 0; i < sizeof(opt) / sizeof(opt[0]); i++) {
		if (!opt[i]->ok)
			continue;
		if (vr_kernel_absorb(w->k, vr_kernel_read(w->k, t + opt[i]->off, w->buf + opt[i]->off, (size_t)opt[i]->size), VR_ERRS_READ)) {
			memset(w->buf + opt[i]->off, 0, (size_t)opt[i]->size);
			if (w->n_lost < sizeof(w->lost) / sizeof(w->lost[0]))
				w->lost[w->n_lost++] = opt[i];
		}
	}
	return NULL;
}

/* fs/proc/array.c task_state_array[] and task_state_index(): the bits of
 * TASK_REPORT (include/linux/sched.h, values since 4.14) plus exit_state,
 * indexed by their highest set bit; TASK_IDLE reports as 'I'. */
static char state_letter(uint64_t state, uint64_t exit_state)
{
	static const char letters[] = "RSDTtXZPI";
	const uint64_t task_report = 0x7f, task_idle = 0x402, rtlock_wait = 0x1000;
	uint64_t s = (state | exit_state) & task_report;
	if (state == task_idle)
		s = 0x80;
	else if (state == rtlock_wait) /* 5.15: reported as uninterruptible */
		s = 0x2;
	int idx = s ? 64 - __builtin_clzll(s) : 0;
	return idx < 9 ? letters[idx] : '?';
}

static struct vr_task *add_task(struct walk *w, uint64_t t, bool idle)
{
	const struct task_layout *l = w->l;
	bool oom = false;
	if (!addrset_add(&w->seen, t, &oom)) {
		if (oom)
			vr_error_keep(&w->short_by, &vr_error_oom);
		return NULL;
	}
	if (w->f->n_tasks >= VR_MAX_TASKS && !w->short_by)
		w->short_by = vr_error_create(VR_ERR_LIMIT, "more than %u tasks", VR_MAX_TASKS);
	if (w->f->n_tasks >= VR_MAX_TASKS)
		return NULL;
	struct vr_error *gerr = vr_grow(&w->f->tasks, &w->cap, w->f->n_tasks + 1, sizeof(*w->f->tasks), VR_MAX_TASKS);
	if (gerr) {
		vr_error_keep(&w->short_by, gerr);
		return NULL;
	}
	memset(w->buf, 0, (size_t)(l->size ? l->size : VR_MAX_TASK_STRUCT));
	bool whole;
	w->n_lost = 0;
	struct vr_error *err = read_task(w, t, &whole);
	if (err) {
		w->unreadable++;
		if (!w->first)
			w->first = vr_error_wrap(err, "reading task_struct at 0x%llx", (unsigned long long)t);
		else
			vr_error_destroy(err);
		return NULL;
	}
	const uint8_t *b = w->buf;
	struct vr_task *x = &w->f->tasks[w->f->n_tasks++];
	*x = (struct vr_task){.task = t, .cpu = -1, .blocked_s = -1, .is_idle = idle};
	x->pid = (int)(int32_t)get(b, l->pid);
	x->tgid = l->tgid.ok && !lost(w, &l->tgid) ? (int)(int32_t)get(b, l->tgid) : x->pid;
	memcpy(x->comm, b + l->comm.off, 16);
	x->comm[16] = '\0';
	for (int i = 0; i < 16; i++)
		if (x->comm[i] && (x->comm[i] < 0x20 || x->comm[i] == 0x7f))
			x->comm[i] = '?';
	uint64_t st = l->state.ok ? get(b, l->state) : 0, ex = l->exit_state.ok ? get(b, l->exit_state) : 0;
	x->state = l->state.ok && !lost(w, &l->state) ? state_letter(st, ex) : '?';
	x->stack = l->stack.ok && !lost(w, &l->stack) ? get(b, l->stack) : 0;
	if (l->cpu.ok && !lost(w, &l->cpu)) {
		uint64_t c = get(b, l->cpu);
		x->cpu = c < VR_MAX_CPUS ? (int)c : -1;
	} else if (l->ti_cpu.ok && x->stack) {
		uint32_t c;
		if (!vr_kernel_absorb(w->k, vr_read_u32(w->k, x->stack + l->ti_cpu.off, &c), VR_ERRS_READ))
			x->cpu = c < VR_MAX_CPUS ? (int)c : -1;
	}
	x->sp = l->sp.ok ? get(b, l->sp) : 0;
	x->on_cpu = l->on_cpu.ok && get(b, l->on_cpu) != 0;
	if (!x->pid)
		x->is_idle = true;
	return x;
}

/* The threads of the group led by leader (signal->thread_head since 3.14,
 * task->thread_group until 6.7). */
static void add_threads(struct walk *w, uint64_t leader)
{
	const struct task_layout *l = w->l;
	struct vr_kernel *k = w->k;
	uint64_t head, link_off;
	if (l->signal.ok && l->thread_head.ok && l->thread_node.ok) {
		uint64_t sig;
		if (vr_kernel_absorb(k, vr_read_u64(k, leader + l->signal.off, &sig), VR_ERRS_READ) || !sig)
			return;
		head = sig + l->thread_head.off;
		link_off = l->thread_node.off;
	} else if (l->thread_group.ok) {
		head = leader + l->thread_group.off;
		link_off = l->thread_group.off;
	} else {
		return;
	}
	uint64_t node;
	if (vr_kernel_absorb(k, vr_read_u64(k, head, &node), VR_ERRS_READ))
		return;
	struct addrset local = {0};
	bool oom = false;
	for (size_t step = 0; node != head && step < VR_MAX_TASKS; step++) {
		if (!addrset_add(&local, node, &oom))
			break; /* a loop that misses the head, or NULL */
		uint64_t t = node - link_off;
		if (vr_kernel_absorb(k, vr_read_u64(k, node, &node), VR_ERRS_READ))
			break;
		add_task(w, t, false);
	}
	free(local.slots);
	if (oom)
		vr_error_keep(&w->short_by, &vr_error_oom);
}

/* The tasks a cut task list hides, through the family of every task found:
 * its real_parent and its children list (task_struct.children, linked
 * through each child's sibling), each new one with its threads; the list
 * of found tasks grows as it is walked. Returns how many were added. */
static size_t add_families(struct walk *w)
{
	const struct task_layout *l = w->l;
	struct vr_kernel *k = w->k;
	if (!l->real_parent.ok || !l->children.ok || !l->sibling.ok)
		return 0;
	size_t before = w->f->n_tasks;
	for (size_t i = 0; i < w->f->n_tasks && i < VR_MAX_TASKS; i++) {
		uint64_t t = w->f->tasks[i].task, parent;
		if (!vr_kernel_absorb(k, vr_read_u64(k, t + l->real_parent.off, &parent), VR_ERRS_READ) && parent &&
		    add_task(w, parent, false))
			add_threads(w, parent);
		uint64_t head = t + l->children.off, node;
		if (vr_kernel_absorb(k, vr_read_u64(k, head, &node), VR_ERRS_READ))
			continue;
		struct addrset local = {0};
		bool oom = false;
		for (size_t step = 0; node != head && step < VR_MAX_TASKS; step++) {
			if (!addrset_add(&local, node, &oom))
				break;
			uint64_t child = node - l->sibling.off;
			if (vr_kernel_absorb(k, vr_read_u64(k, node, &node), VR_ERRS_READ))
				node = head; /* this child is readable, its successor pointer not */
			if (add_task(w, child, false))
				add_threads(w, child);
		}
		free(local.slots);
		if (oom) {
			vr_error_keep(&w->short_by, &vr_error_oom);
			break;
		}
	}
	return w->f->n_tasks - before;
}

/* ---- the runqueues: tasks waiting for a CPU ---- */

#define MAX_RQ_DEPTH 8 /* nested task groups */

struct rq_walk {
	struct walk *w;
	size_t added, steps;
	/* CFS: cfs_rq.tasks_timeline (an rb_root_cached since 4.14; its
	 * rb_root comes first either way) of sched_entity.run_node; a
	 * group's entity has its own cfs_rq in my_q (CONFIG_FAIR_GROUP_SCHED) */
	uint64_t cfs, timeline, run_node, se_my_q, task_se;
	bool cfs_ok, has_my_q;
	/* RT: rt_rq.active.queue[MAX_RT_PRIO] lists of sched_rt_entity.run_list */
	uint64_t rt, rt_queue, rt_run_list, rt_my_q, task_rt, n_queues;
	bool rt_ok, has_rt_my_q;
	/* deadline: dl_rq.root of sched_dl_entity.rb_node */
	uint64_t dl, dl_root, dl_rb_node, task_dl;
	bool dl_ok;
};

static void rq_add(struct rq_walk *rw, uint64_t t)
{
	if (add_task(rw->w, t, false)) {
		rw->added++;
		add_threads(rw->w, t);
	}
}

/* The nodes of the rb-tree at root (a struct rb_node *), in any order;
 * each node's address goes to fn. Bounded by VR_MAX_TASKS nodes. */
static void rb_each(struct rq_walk *rw, uint64_t root, void (*fn)(struct rq_walk *, uint64_t, int), int depth)
{
	uint64_t stack[128];
	size_t n = 0;
	struct vr_kernel *k = rw->w->k;
	if (root)
		stack[n++] = root;
	while (n && rw->steps++ < VR_MAX_TASKS) {
		uint64_t node = stack[--n], child[2];
		/* struct rb_node { __rb_parent_color; rb_right; rb_left; } */
		if (vr_kernel_absorb(k, vr_kernel_read(k, node + 8, child, sizeof(child)), VR_ERRS_READ))
			continue;
		fn(rw, node, depth);
		for (int i = 0; i < 2; i++)
			if (child[i] && n < sizeof(stack) / sizeof(stack[0]))
				stack[n++] = child[i];
	}
}

static void cfs_rq_walk(struct rq_walk *rw, uint64_t cfs_rq, int depth);

static void cfs_node(struct rq_walk *rw, uint64_t node, int depth)
{
	uint64_t se = node - rw->run_node, my_q = 0;
	if (rw->has_my_q && !vr_kernel_absorb(rw->w->k, vr_read_u64(rw->w->k, se + rw->se_my_q, &my_q), VR_ERRS_READ) && my_q)
		cfs_rq_walk(rw, my_q, depth + 1); /* a task group's entity */
	else
		rq_add(rw, se - rw->task_se);
}

static void cfs_rq_walk(struct rq_walk *rw, uint64_t cfs_rq, int depth)
{
	uint64_t root;
	if (depth < MAX_RQ_DEPTH && !vr_kernel_absorb(rw->w->k, vr_read_u64(rw->w->k, cfs_rq + rw->timeline, &root), VR_ERRS_READ))
		rb_each(rw, root, cfs_node, depth);
}

static void rt_rq_walk(struct rq_walk *rw, uint64_t rt_rq, int depth)
{
	struct vr_kernel *k = rw->w->k;
	if (depth >= MAX_RQ_DEPTH)
		return;
	for (uint64_t q = 0; q < rw->n_queues; q++) {
		uint64_t head = rt_rq + rw->rt_queue + 16 * q, node;
		if (vr_kernel_absorb(k, vr_read_u64(k, head, &node), VR_ERRS_READ))
			continue;
		for (size_t step = 0; node != head && node && step < VR_MAX_TASKS && rw->steps++ < VR_MAX_TASKS;
		     step++) {
			uint64_t rt_se = node - rw->rt_run_list, my_q = 0;
			if (rw->has_rt_my_q && !vr_kernel_absorb(k, vr_read_u64(k, rt_se + rw->rt_my_q, &my_q), VR_ERRS_READ) && my_q)
				rt_rq_walk(rw, my_q, depth + 1);
			else
				rq_add(rw, rt_se - rw->task_rt);
			if (vr_kernel_absorb(k, vr_read_u64(k, node, &node), VR_ERRS_READ))
				break;
		}
	}
}

static void dl_node(struct rq_walk *rw, uint64_t node, int depth)
{
	(void)depth;
	rq_add(rw, node - rw->dl_rb_node - rw->task_dl);
}

/* The layouts the runqueue walk needs, each scheduling class on its own. */
static void rq_walk_init(struct vr_kernel *k, struct rq_walk *rw)
{
	struct vr_member q;
	rw->cfs_ok = vr_member_off(k, "rq", "cfs", &rw->cfs) &&
		     vr_member_off(k, "cfs_rq", "tasks_timeline", &rw->timeline) &&
		     vr_member_off(k, "sched_entity", "run_node", &rw->run_node) &&
		     vr_member_off(k, "task_struct", "se", &rw->task_se);
	rw->has_my_q = vr_member_off(k, "sched_entity", "my_q", &rw->se_my_q);
	rw->rt_ok = vr_member_off(k, "rq", "rt", &rw->rt) && vr_member_off(k, "rt_rq", "active", &rw->rt_queue) &&
		    vr_member(k, "rt_prio_array", "queue", &q) &&
		    vr_member_off(k, "sched_rt_entity", "run_list", &rw->rt_run_list) &&
		    vr_member_off(k, "task_struct", "rt", &rw->task_rt) && q.size && q.size % 16 == 0 &&
		    q.size / 16 <= 1024;
	if (rw->rt_ok) {
		rw->rt_queue += q.offset;
		rw->n_queues = q.size / 16;
	}
	rw->has_rt_my_q = vr_member_off(k, "sched_rt_entity", "my_q", &rw->rt_my_q);
	rw->dl_ok = vr_member_off(k, "rq", "dl", &rw->dl) && vr_member_off(k, "dl_rq", "root", &rw->dl_root) &&
		    vr_member_off(k, "sched_dl_entity", "rb_node", &rw->dl_rb_node) &&
		    vr_member_off(k, "task_struct", "dl", &rw->task_dl);
}

/* The tasks queued on the runqueue at rq: CFS, real-time and deadline. */
static void add_queued(struct rq_walk *rw, uint64_t rq)
{
	uint64_t root;
	if (rw->cfs_ok)
		cfs_rq_walk(rw, rq + rw->cfs, 0);
	if (rw->rt_ok)
		rt_rq_walk(rw, rq + rw->rt, 0);
	if (rw->dl_ok && !vr_kernel_absorb(rw->w->k, vr_read_u64(rw->w->k, rq + rw->dl + rw->dl_root, &root), VR_ERRS_READ))
		rb_each(rw, root, dl_node, 0);
}

/* ---- the pid namespace: every task that has a pid ---- */

#define MAX_PID_NODES 65536u /* radix-tree nodes visited */
#define MAX_PID_DEPTH 12     /* 64-bit index, 6 bits a level */

struct pid_walk {
	struct walk *w;
	uint64_t slots_off;   /* xa_node.slots / radix_tree_node.slots */
	uint64_t n_slots;     /* XA_CHUNK_SIZE */
	uint64_t node_tag;    /* low bits of a pointer to a node */
	uint64_t pid_tasks;   /* struct pid.tasks[PIDTYPE_PID] */
	uint64_t task_link;   /* task_struct.pid_links[PIDTYPE_PID] (pids[].node before 4.19) */
	size_t nodes, added;
};

/* The task a struct pid names for PIDTYPE_PID (0): the first of its
 * tasks[0] hlist, linked through the task's pid_links[0]. */
static void add_pid(struct pid_walk *pw, uint64_t pid)
{
	uint64_t first;
	if (vr_kernel_absorb(pw->w->k, vr_read_u64(pw->w->k, pid + pw->pid_tasks, &first), VR_ERRS_READ) || !first)
		return;
	uint64_t t = first - pw->task_link;
	if (add_task(pw->w, t, false)) {
		pw->added++;
		add_threads(pw->w, t);
	}
}

/* One entry of the pid IDR's radix tree (an xarray since 4.20): a node, a
 * struct pid, or an internal value (retry, sibling) that names neither. */
static void add_pid_entry(struct pid_walk *pw, uint64_t e, int depth)
{
	if (!e)
		return;
	if ((e & 3) == 0) {
		add_pid(pw, e);
		return;
	}
	if ((e & 3) != pw->node_tag || e < 4096 || depth >= MAX_PID_DEPTH || pw->nodes >= MAX_PID_NODES)
		return;
	pw->nodes++;
	uint64_t node = e - pw->node_tag, slots[64];
	if (vr_kernel_absorb(pw->w->k, vr_kernel_read(pw->w->k, node + pw->slots_off, slots, pw->n_slots * 8), VR_ERRS_READ))
		return;
	for (uint64_t i = 0; i < pw->n_slots; i++)
		add_pid_entry(pw, slots[i], depth + 1);
}

/* The tasks of init_pid_ns: its IDR (kernel/pid.c, 4.15 commit 95846ecf9dac
 * "pid: replace pid bitmap implementation with IDR API"), or the pid_hash
 * table of older kernels (hlist heads of struct upid, pid_hash_shift bits).
 * Returns how many tasks it added. */
static size_t add_pid_namespace(struct walk *w)
{
	struct vr_kernel *k = w->k;
	struct pid_walk pw = {.w = w};
	struct vr_member m;
	uint64_t ns, head;
	if (!vr_member_off(k, "pid", "tasks", &pw.pid_tasks))
		return 0;
	if (!vr_member_off(k, "task_struct", "pid_links", &pw.task_link) &&
	    !vr_member_off(k, "task_struct", "pids", &pw.task_link))
		return 0;
	if (vr_sym(k, "init_pid_ns", &ns) && vr_member_off(k, "pid_namespace", "idr", &head)) {
		uint64_t root;
		uint64_t sz;
		if (vr_member_off(k, "idr", "idr_rt.xa_head", &root) && vr_member(k, "xa_node", "slots", &m)) {
			pw.node_tag = 2; /* xa_mk_node() */
		} else if (vr_member_off(k, "idr", "idr_rt.rnode", &root) &&
			   vr_member(k, "radix_tree_node", "slots", &m)) {
			pw.node_tag = 1; /* RADIX_TREE_INTERNAL_NODE, 4.7 to 4.19 */
		} else {
			return 0;
		}
		pw.slots_off = m.offset;
		pw.n_slots = m.size / 8;
		if (!m.size || pw.n_slots > 64 || (!vr_kernel_absorb(k, vr_type_size(k, "pid", &sz), VR_ERRS_LAYOUT) && !sz))
			return 0;
		uint64_t e;
		if (!vr_kernel_absorb(k, vr_read_u64(k, ns + head + root, &e), VR_ERRS_READ))
			add_pid_entry(&pw, e, 0);
		return pw.added;
	}
	/* Before 4.15: pid_hash[1 << pidhash_shift] of struct upid, each
	 * upid inside its struct pid (pid.numbers[level]); init_pid_ns's
	 * tasks are those of level 0. */
	uint64_t table, shift_sym, pid_chain, numbers, upid_ns;
	uint32_t shift;
	if (!vr_sym(k, "pid_hash", &table) || !vr_sym(k, "pidhash_shift", &shift_sym) ||
	    !vr_member_off(k, "upid", "pid_chain", &pid_chain) || !vr_member_off(k, "pid", "numbers", &numbers) ||
	    !vr_member_off(k, "upid", "ns", &upid_ns) || vr_kernel_absorb(k, vr_read_u64(k, table, &table), VR_ERRS_READ) ||
	    vr_kernel_absorb(k, vr_read_u32(k, shift_sym, &shift), VR_ERRS_READ) || shift > 20)
		return 0;
	for (uint64_t b = 0; b < (1ull << shift); b++) {
		uint64_t node;
		if (vr_kernel_absorb(k, vr_read_u64(k, table + 8 * b, &node), VR_ERRS_READ))
			continue;
		for (size_t step = 0; node && step < VR_MAX_TASKS; step++) {
			uint64_t upid = node - pid_chain, uns;
			if (!vr_kernel_absorb(k, vr_read_u64(k, upid + upid_ns, &uns), VR_ERRS_READ) && uns == ns)
				add_pid(&pw, upid - numbers); /* numbers[0]: level 0 */
			if (vr_kernel_absorb(k, vr_read_u64(k, node, &node), VR_ERRS_READ))
				break;
		}
	}
	return pw.added;
}

/* Per-CPU facts the runqueues give: the current task and the clocks. */
struct cpu_state {
	uint8_t *present;   /* possible CPUs */
	int n;              /* one more than the highest */
	uint64_t *curr, *rq_clock, *rq_clock_task;
};

/* init_task.tasks, each process with its threads; where the list is cut
 * (a page missing from the dump), it is doubly linked, so it is walked
 * backwards from init_task too, up to where the forward walk stopped.
 * Returns why the forward walk stopped early, NULL when it did not. */
static struct vr_error *walk_task_list(struct walk *w, uint64_t init_task)
{
	struct vr_kernel *k = w->k;
	const struct task_layout *l = w->l;
	uint64_t head = init_task + l->tasks.off, node = head;
	bool oom = false;
	struct addrset procs = {0};
	add_task(w, init_task, true);
	add_threads(w, init_task);
	struct vr_error *err = vr_read_u64(k, head, &node);
	if (err)
		err = vr_error_wrap(err, "reading init_task.tasks");
	for (size_t step = 0; !err && node != head; step++) {
		if (step >= VR_MAX_TASKS) {
			err = vr_error_create(VR_ERR_LIMIT, "more than %u processes", VR_MAX_TASKS);
			break;
		}
		if (!addrset_add(&procs, node, &oom)) {
			err = oom ? &vr_error_oom
				  : vr_error_create(VR_ERR_FORMAT, "the task list loops at 0x%llx without reaching init_task",
						    (unsigned long long)node);
			break;
		}
		uint64_t t = node - l->tasks.off;
		if ((err = vr_read_u64(k, node, &node))) {
			err = vr_error_wrap(err, "reading the task list at task 0x%llx", (unsigned long long)t);
			break;
		}
		add_task(w, t, false);
		add_threads(w, t);
	}
	if (err && err != &vr_error_oom) {
		uint64_t back;
		size_t before = w->f->n_tasks;
		if (!vr_kernel_absorb(k, vr_read_u64(k, head + 8, &back), VR_ERRS_READ)) {
			for (size_t step = 0; back != head && step < VR_MAX_TASKS; step++) {
				if (!addrset_add(&procs, back, &oom))
					break;
				uint64_t t = back - l->tasks.off;
				if (vr_kernel_absorb(k, vr_read_u64(k, back + 8, &back), VR_ERRS_READ))
					back = head; /* this one is readable, its predecessor pointer not */
				add_task(w, t, false);
				add_threads(w, t);
			}
		}
		vr_diag_warn(k->diag, "tasks: the task list is cut; %zu tasks found walking it backwards",
			     w->f->n_tasks - before);
	}
	free(procs.slots);
	if (oom && err != &vr_error_oom) {
		vr_error_destroy(err);
		err = &vr_error_oom;
	}
	return err;
}

/* Each CPU's runqueue: its current task, its idle task (pid 0, not on the
 * task list except for CPU 0's init_task), the tasks queued on it, and its
 * clocks. Without runqueues, the per-CPU current task alone. Returns how
 * many queued tasks it added. */
static size_t read_runqueues(struct walk *w, struct cpu_state *cs)
{
	struct vr_kernel *k = w->k;
	const struct task_layout *l = w->l;
	uint64_t runqueues;
	bool have_rq = vr_sym(k, "runqueues", &runqueues) && l->rq_curr.ok;
	struct rq_walk rw = {.w = w};
	if (have_rq)
		rq_walk_init(k, &rw);
	for (int c = 0; have_rq && c < cs->n; c++) {
		uint64_t rq, idle = 0;
		if (!cs->present[c] || vr_kernel_absorb(k, vr_percpu_addr(k, c, "runqueues", &rq), VR_ERRS_READ, VR_ERR_NOT_FOUND, VR_ERR_LIMIT))
			continue;
		add_queued(&rw, rq);
		vr_kernel_absorb(k, vr_read_u64(k, rq + l->rq_curr.off, &cs->curr[c]), VR_ERRS_READ);
		if (l->rq_idle.ok && !vr_kernel_absorb(k, vr_read_u64(k, rq + l->rq_idle.off, &idle), VR_ERRS_READ) && idle) {
			struct vr_task *x = add_task(w, idle, true);
			if (x && x->cpu < 0)
				x->cpu = c;
		}
		if (l->rq_clock.ok)
			vr_kernel_absorb(k, vr_read_u64(k, rq + l->rq_clock.off, &cs->rq_clock[c]), VR_ERRS_READ);
		if (l->rq_clock_task.ok)
			vr_kernel_absorb(k, vr_read_u64(k, rq + l->rq_clock_task.off, &cs->rq_clock_task[c]), VR_ERRS_READ);
	}
	if (!have_rq) {
		/* 6.2+ keeps current in pcpu_hot.current_task (its first
		 * member), older kernels in the per-CPU current_task. */
		uint64_t var;
		const char *cur = vr_sym(k, "pcpu_hot", &var) ? "pcpu_hot" : "current_task";
		for (int c = 0; c < cs->n; c++) {
			uint64_t a;
			if (cs->present[c] && !vr_kernel_absorb(k, vr_percpu_addr(k, c, cur, &a), VR_ERRS_READ, VR_ERR_NOT_FOUND, VR_ERR_LIMIT))
				vr_kernel_absorb(k, vr_read_u64(k, a, &cs->curr[c]), VR_ERRS_READ);
		}
		vr_diag_warn(k->diag, "tasks: runqueues unreadable: idle tasks of secondary CPUs and blocked times unknown");
	}
	return rw.added;
}

/* The roots beyond the task list: each CPU's current task, the tasks
 * queued on the runqueues, the pid namespace, and, where the list is cut,
 * the families of the tasks found. */
static void walk_other_roots(struct walk *w, struct cpu_state *cs, bool cut)
{
	struct vr_kernel *k = w->k;
	size_t queued = read_runqueues(w, cs);
	for (int c = 0; c < cs->n; c++)
		if (cs->curr[c] && add_task(w, cs->curr[c], false))
			add_threads(w, cs->curr[c]);
	if (queued)
		vr_diag_warn(k->diag, "tasks: %zu more found on the runqueues%s", queued,
			     cut ? "" : ", missing from the task list");
	size_t by_pid = add_pid_namespace(w);
	if (by_pid)
		vr_diag_warn(k->diag, "tasks: %zu more found through the pid namespace%s", by_pid,
			     cut ? "" : ", missing from the task list");
	if (cut) {
		size_t found = add_families(w);
		if (found)
			vr_diag_warn(k->diag, "tasks: %zu more found through parents and children", found);
	}
}

/* Which tasks run on a CPU, and how long each blocked one has waited:
 * sched_info.last_arrival (when it was last put on a CPU, rq clock ns,
 * CONFIG_SCHED_INFO) against the rq clock of its CPU at the crash, as
 * crash's `ps -m` computes it; se.exec_start against rq->clock_task
 * otherwise. */
static void mark_current_and_blocked(struct walk *w, const struct cpu_state *cs)
{
	const struct task_layout *l = w->l;
	struct vr_facts *f = w->f;
	for (size_t i = 0; i < f->n_tasks; i++) {
		struct vr_task *x = &f->tasks[i];
		for (int c = 0; c < cs->n; c++) {
			if (cs->curr[c] && cs->curr[c] == x->task) {
				x->is_current = true;
				if (x->cpu < 0)
					x->cpu = c;
			}
		}
		if (x->state != 'D' || x->cpu < 0 || x->cpu >= cs->n)
			continue;
		uint64_t last = 0, now = 0;
		bool whole;
		if (l->last_arrival.ok && cs->rq_clock[x->cpu] && !read_task(w, x->task, &whole)) {
			last = get(w->buf, l->last_arrival);
			now = cs->rq_clock[x->cpu];
		}
		if (!last && l->exec_start.ok && cs->rq_clock_task[x->cpu] && !read_task(w, x->task, &whole)) {
			last = get(w->buf, l->exec_start);
			now = cs->rq_clock_task[x->cpu];
		}
		if (last && now >= last)
			x->blocked_s = (double)(now - last) / 1e9;
	}
}

/* The step's outcome: NULL when every task was read, else a partial
 * error that says how many were read and why the rest were not (cut: why
 * the task list walk stopped). */
static struct vr_error *outcome(struct walk *w, struct vr_error *cut)
{
	struct vr_facts *f = w->f;
	if (vr_error_is_fatal(w->short_by)) {
		/* the list is short of tasks it found: the step ends partial,
		 * cut short by it (record()) */
		vr_error_keep(&w->k->fatal, w->short_by);
		w->short_by = NULL;
	}
	if (!w->unreadable && !w->first && !cut && !w->short_by)
		return NULL;
	struct vr_error *e = cut ? cut : w->first ? w->first : w->short_by;
	char full[96] = "";
	if (w->short_by)
		snprintf(full, sizeof(full), "; the list holds the first %zu: %s", f->n_tasks, w->short_by->message);
	vr_diag_warn(w->k->diag, "tasks: %zu read, %zu unreadable%s: %s%s", f->n_tasks, w->unreadable,
		     cut ? ", the task list is cut" : "", e ? e->message : "", e == w->short_by ? "" : full);
	/* partial (NOT_PRESENT, FAULT: the step's status): what was read is kept */
	struct vr_error *p = vr_error_create(e && e->code == VR_ERR_FAULT ? VR_ERR_FAULT : VR_ERR_NOT_PRESENT,
					     "%zu tasks read, %zu unreadable%s: %s%s", f->n_tasks, w->unreadable,
					     cut ? ", the task list is cut" : "", e ? e->message : "",
					     e == w->short_by ? "" : full);
	vr_error_destroy(w->first);
	w->first = NULL;
	vr_error_destroy(cut);
	return p;
}

struct vr_error *vr_collect_tasks(struct vr_kernel *k, struct vr_facts *f)
{
	struct task_layout l;
	uint64_t init_task;
	if (!vr_sym(k, "init_task", &init_task))
		return vr_error_create(VR_ERR_NOT_FOUND, "the symbol init_task is unknown");
	if (!resolve(k, &l))
		return vr_error_create(VR_ERR_NOT_FOUND, "the layout of struct task_struct is unknown (no BTF or DWARF)");

	struct walk w = {.k = k, .f = f, .l = &l};
	struct cpu_state cs = {0};
	w.buf = calloc(1, l.size ? l.size : VR_MAX_TASK_STRUCT);
	cs.present = calloc(VR_MAX_CPUS, 1);
	cs.rq_clock = calloc(VR_MAX_CPUS, sizeof(uint64_t));
	cs.rq_clock_task = calloc(VR_MAX_CPUS, sizeof(uint64_t));
	cs.curr = calloc(VR_MAX_CPUS, sizeof(uint64_t));
	struct vr_error *err = NULL;
	if (!w.buf || !cs.present || !cs.rq_clock || !cs.rq_clock_task || !cs.curr) {
		err = &vr_error_oom;
		goto out;
	}
	cs.n = vr_possible_cpus(k, cs.present, VR_MAX_CPUS);
	err = walk_task_list(&w, init_task);
	if (err == &vr_error_oom)
		goto out;
	walk_other_roots(&w, &cs, err != NULL);
	mark_current_and_blocked(&w, &cs);
	f->system.tasks = (int64_t)f->n_tasks;
	err = outcome(&w, err);
out:
	vr_error_destroy(w.first);
	vr_error_destroy(w.short_by);
	free(w.seen.slots);
	free(w.buf);
	free(cs.present);
	free(cs.rq_clock);
	free(cs.rq_clock_task);
	free(cs.curr);
	return err;
}
