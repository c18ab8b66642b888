/* Tasks (what crash's `ps` shows): every thread of every process from
 * init_task.tasks and each thread group, plus each CPU's idle task, with
 * state letter, CPU, stack and the current task of each CPU. Where the list
 * is cut, also walked backwards, and every CPU's current task and the
 * parents and children of every task found are roots too. Walks are
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
	struct fld signal, thread_node, thread_head, thread_group;
	struct fld real_parent, children, sibling;
	struct fld last_arrival, exec_start;
	struct fld rq_curr, rq_idle, rq_clock, rq_clock_task;
};

static bool resolve(struct vr_kernel *k, struct task_layout *l)
{
	*l = (struct task_layout){0};
	if (vr_error_catch(vr_type_size(k, "task_struct", &l->size)) || l->size > VR_MAX_TASK_STRUCT)
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
	if (l->span && !vr_error_catch(vr_kernel_read(w->k, t, w->buf, (size_t)l->span))) {
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
		if (vr_error_catch(vr_kernel_read(w->k, t + opt[i]->off, w->buf + opt[i]->off, (size_t)opt[i]->size))) {
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
	if (!addrset_add(&w->seen, t, &oom))
		return NULL;
	if (oom || w->f->n_tasks >= VR_MAX_TASKS)
		return NULL;
	if (vr_error_catch(vr_grow(&w->f->tasks, &w->cap, w->f->n_tasks + 1, sizeof(*w->f->tasks), VR_MAX_TASKS)))
		return NULL;
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
	if (l->cpu.ok && !lost(w, &l->cpu)) {
		uint64_t c = get(b, l->cpu);
		x->cpu = c < VR_MAX_CPUS ? (int)c : -1;
	}
	x->stack = l->stack.ok ? get(b, l->stack) : 0;
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
		if (vr_error_catch(vr_read_u64(k, leader + l->signal.off, &sig)) || !sig)
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
	if (vr_error_catch(vr_read_u64(k, head, &node)))
		return;
	struct addrset local = {0};
	bool oom = false;
	for (size_t step = 0; node != head && step < VR_MAX_TASKS; step++) {
		if (!addrset_add(&local, node, &oom))
			break; /* a loop that misses the head, or NULL */
		uint64_t t = node - link_off;
		if (vr_error_catch(vr_read_u64(k, node, &node)))
			break;
		add_task(w, t, false);
	}
	free(local.slots);
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
		if (!vr_error_catch(vr_read_u64(k, t + l->real_parent.off, &parent)) && parent &&
		    add_task(w, parent, false))
			add_threads(w, parent);
		uint64_t head = t + l->children.off, node;
		if (vr_error_catch(vr_read_u64(k, head, &node)))
			continue;
		struct addrset local = {0};
		bool oom = false;
		for (size_t step = 0; node != head && step < VR_MAX_TASKS; step++) {
			if (!addrset_add(&local, node, &oom))
				break;
			uint64_t child = node - l->sibling.off;
			if (vr_error_catch(vr_read_u64(k, node, &node)))
				node = head; /* this child is readable, its successor pointer not */
			if (add_task(w, child, false))
				add_threads(w, child);
		}
		free(local.slots);
		if (oom)
			break;
	}
	return w->f->n_tasks - before;
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
	w.buf = calloc(1, l.size ? l.size : VR_MAX_TASK_STRUCT);
	uint8_t *cpus = calloc(VR_MAX_CPUS, 1);
	uint64_t *rq_clock = calloc(VR_MAX_CPUS, sizeof(uint64_t));
	uint64_t *rq_clock_task = calloc(VR_MAX_CPUS, sizeof(uint64_t));
	uint64_t *curr = calloc(VR_MAX_CPUS, sizeof(uint64_t));
	struct vr_error *err = NULL;
	if (!w.buf || !cpus || !rq_clock || !rq_clock_task || !curr) {
		err = &vr_error_oom;
		goto out;
	}

	/* Processes: init_task.tasks, each process's threads with it. */
	uint64_t head = init_task + l.tasks.off, node = head;
	bool oom = false;
	struct addrset procs = {0};
	add_task(&w, init_task, true);
	add_threads(&w, init_task);
	if ((err = vr_read_u64(k, head, &node)))
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
		uint64_t t = node - l.tasks.off;
		if ((err = vr_read_u64(k, node, &node))) {
			err = vr_error_wrap(err, "reading the task list at task 0x%llx",
					    (unsigned long long)t);
			break;
		}
		add_task(&w, t, false);
		add_threads(&w, t);
	}
	if (err && err != &vr_error_oom) {
		/* The list is cut (a page missing from the dump): it is
		 * doubly linked, so walk it backwards from init_task too, up
		 * to where the forward walk stopped. */
		uint64_t back;
		size_t before = f->n_tasks;
		if (!vr_error_catch(vr_read_u64(k, head + 8, &back))) {
			for (size_t step = 0; back != head && step < VR_MAX_TASKS; step++) {
				if (!addrset_add(&procs, back, &oom))
					break;
				uint64_t t = back - l.tasks.off;
				if (vr_error_catch(vr_read_u64(k, back + 8, &back)))
					back = head; /* this one is readable, its predecessor pointer not */
				add_task(&w, t, false);
				add_threads(&w, t);
			}
		}
		vr_diag_warn(k->diag, "tasks: the task list is cut; %zu tasks found walking it backwards",
			     f->n_tasks - before);
	}
	free(procs.slots);
	if (err == &vr_error_oom || oom) {
		vr_error_destroy(err);
		err = &vr_error_oom;
		goto out;
	}

	/* Each CPU's runqueue: its current task, its idle task (pid 0,
	 * not on the task list except for CPU 0's init_task) and clocks. */
	uint64_t runqueues;
	int ncpu = vr_possible_cpus(k, cpus, VR_MAX_CPUS);
	bool have_rq = vr_sym(k, "runqueues", &runqueues) && l.rq_curr.ok;
	for (int c = 0; have_rq && c < ncpu; c++) {
		uint64_t rq, idle = 0;
		if (!cpus[c] || vr_error_catch(vr_percpu_addr(k, c, "runqueues", &rq)))
			continue;
		vr_error_catch(vr_read_u64(k, rq + l.rq_curr.off, &curr[c]));
		if (l.rq_idle.ok && !vr_error_catch(vr_read_u64(k, rq + l.rq_idle.off, &idle)) && idle) {
			struct vr_task *x = add_task(&w, idle, true);
			if (x && x->cpu < 0)
				x->cpu = c;
		}
		if (l.rq_clock.ok)
			vr_error_catch(vr_read_u64(k, rq + l.rq_clock.off, &rq_clock[c]));
		if (l.rq_clock_task.ok)
			vr_error_catch(vr_read_u64(k, rq + l.rq_clock_task.off, &rq_clock_task[c]));
	}
	if (!have_rq) {
		/* 6.2+ keeps current in pcpu_hot.current_task (its first
		 * member), older kernels in the per-CPU current_task. */
		uint64_t var;
		const char *cur = vr_sym(k, "pcpu_hot", &var) ? "pcpu_hot" : "current_task";
		for (int c = 0; c < ncpu; c++) {
			uint64_t a;
			if (cpus[c] && !vr_error_catch(vr_percpu_addr(k, c, cur, &a)))
				vr_error_catch(vr_read_u64(k, a, &curr[c]));
		}
		vr_diag_warn(k->diag, "tasks: runqueues unreadable: idle tasks of secondary CPUs and blocked times unknown");
	}
	/* Each CPU's current task is a root of its own; a cut list also
	 * leaves the tasks its neighbours' families reach. */
	for (int c = 0; c < ncpu; c++)
		if (curr[c] && add_task(&w, curr[c], false))
			add_threads(&w, curr[c]);
	if (err) {
		size_t found = add_families(&w);
		if (found)
			vr_diag_warn(k->diag, "tasks: %zu more found through parents and children", found);
	}

	for (size_t i = 0; i < f->n_tasks; i++) {
		struct vr_task *x = &f->tasks[i];
		for (int c = 0; c < ncpu; c++) {
			if (curr[c] && curr[c] == x->task) {
				x->is_current = true;
				if (x->cpu < 0)
					x->cpu = c;
			}
		}
		if (x->state != 'D' || x->cpu < 0 || x->cpu >= ncpu)
			continue;
		/* How long since it last ran: sched_info.last_arrival (when it
		 * was last put on a CPU, rq clock ns, CONFIG_SCHED_INFO) against
		 * the rq clock of its CPU at the crash, as crash's `ps -m`
		 * computes it; se.exec_start against rq->clock_task otherwise. */
		uint64_t last = 0, now = 0;
		bool whole;
		if (l.last_arrival.ok && rq_clock[x->cpu] && !read_task(&w, x->task, &whole)) {
			last = get(w.buf, l.last_arrival);
			now = rq_clock[x->cpu];
		}
		if (!last && l.exec_start.ok && rq_clock_task[x->cpu] && !read_task(&w, x->task, &whole)) {
			last = get(w.buf, l.exec_start);
			now = rq_clock_task[x->cpu];
		}
		if (last && now >= last)
			x->blocked_s = (double)(now - last) / 1e9;
	}
	f->system.tasks = (int64_t)f->n_tasks;

	if (w.unreadable || w.first || err) {
		struct vr_error *e = err ? err : w.first;
		vr_diag_warn(k->diag, "tasks: %zu read, %zu unreadable%s: %s", f->n_tasks, w.unreadable,
			     err ? ", the task list is cut" : "", e ? e->message : "");
		struct vr_error *p = vr_error_create(e && e->code == VR_ERR_FAULT ? VR_ERR_FAULT : VR_ERR_NOT_PRESENT,
						     "%zu tasks read, %zu unreadable%s: %s", f->n_tasks, w.unreadable,
						     err ? ", the task list is cut" : "", e ? e->message : "");
		if (err != w.first)
			vr_error_destroy(w.first);
		vr_error_destroy(err);
		w.first = NULL;
		err = p;
	}
out:
	vr_error_destroy(w.first);
	free(w.seen.slots);
	free(w.buf);
	free(cpus);
	free(rq_clock);
	free(rq_clock_task);
	free(curr);
	return err;
}
