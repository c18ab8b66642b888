/* The stacks of a crash report besides its Call Trace, and what each one
 * is: the line that introduces a stack names its role (see
 * VR_ROLE_* in oops_parse.h), and the stall reports name the CPUs and tasks
 * that are stuck.
 *
 * The lines are those the kernel's reporters print:
 *  - mm/kasan/report.c print_track(): "Allocated by task 83:", "Freed by
 *    task 83:", and since 5.10 "Last potentially related work creation:";
 *    before 4.13 "Allocated:"/"Freed:";
 *  - mm/kfence/report.c: "kfence-#3: 0x... allocated by task 83 on cpu 1
 *    at 12.3s:", "freed by task ...";
 *  - mm/kmsan/report.c: "Uninit was created at:", "Uninit was stored to
 *    memory at:", "Local variable buf created at:";
 *  - kernel/kcsan/report.c: "read to 0xffff... of 8 bytes by task 83 on cpu
 *    1:", "write (marked) to ...", "race at unknown origin, with read to ...";
 *  - mm/kmemleak.c: "backtrace:" (6.3+: "backtrace (crc 9a3b2c1d):");
 *  - mm/page_owner.c: "page last allocated via order 0, ...", "page last
 *    free pid 1 tgid 1 stack trace:";
 *  - kernel/locking/lockdep.c: "-> #1 (&mm->mmap_lock){++++}-{3:3}:" before
 *    each dependency chain, "stack backtrace:" before the acquiring task's
 *    stack, lock sites "(&lock){+.+.}, at: foo+0x12/0x40";
 *  - kernel/rcu/tree_stall.h: "RCU grace-period kthread stack dump:",
 *    "Task dump for CPU 1:", the stalled CPUs ("\t1-...!: (3 GPs behind)
 *    ...", "{ 1-... }" for expedited stalls) and tasks ("Tasks blocked on
 *    level-0 rcu_node (CPUs 0-1): P4567");
 *  - kernel/sched/core.c sched_show_task(): "task:comm state:R ... pid:83"
 *    (5.10+) or "comm  R  running task  0  83  2 0x00000000" before. */
#define _GNU_SOURCE
#include "oops_internal.h"

#include <stdio.h>

/* "task 83" or "interrupt": the pid, -1 for none. */
static int task_after(const char *p)
{
	const char *t = strstr(p, "by task ");
	long v;
	if (t) {
		t += 8;
		if (read_dec(&t, &v))
			return (int)v;
	}
	return -1;
}

static int cpu_after(const char *p)
{
	const char *t = strstr(p, " on cpu ");
	long v;
	if (t) {
		t += 8;
		if (read_dec(&t, &v))
			return (int)v;
	}
	return -1;
}

/* KCSAN: "[race at unknown origin, with ](read|write|read-write)[ (marked)]
 * [ (reordered)] to 0x... of N bytes by (task N|interrupt) on cpu N:". */
static bool is_kcsan_access(const char *p)
{
	if (starts(p, "race at unknown origin, with "))
		p += 29;
	if (!(starts(p, "read") || starts(p, "write")))
		return false;
	const char *to = strstr(p, " to 0x");
	const char *by = strstr(p, " bytes by ");
	return to && by && to < by && p[strlen(p) - 1] == ':';
}

/* sched_show_task() before 5.10: "comm  R  running task  27992  3917  3903
 * 0x0000000a" or "comm  D    0  83  2 0x80000000" (the comm is printed in
 * 15 columns; the state is one of TASK_STATE_TO_CHAR_STR). */
static bool old_task_line(const char *p, struct vr_crash_trace *t)
{
	size_t n = strcspn(p, " ");
	if (!n || n > 16)
		return false;
	const char *q = skip_ws(p + n);
	if (!*q || !strchr("RSDTtXZPIN", *q) || !(q[1] == ' ' || isdigit((unsigned char)q[1])))
		return false;
	const char *r = skip_ws(q + 1);
	if (starts(r, "running task"))
		r = skip_ws(r + 12);
	if (starts(r, "on cpu")) {
		/* 4.4 with CONFIG_THREAD_INFO_IN_TASK backports: "running task on cpu   0". */
		r = skip_ws(r + 6);
		long cpu;
		if (!read_dec(&r, &cpu))
			return false;
		t->cpu = (int)cpu;
		r = skip_ws(r);
	}
	long v[3];
	for (int i = 0; i < 3; i++) {
		if (!read_dec(&r, &v[i]))
			return false;
		r = skip_ws(r);
	}
	if (!starts(r, "0x"))
		return false;
	t->pid = (int)v[1];
	t->comm = vr_strndup(p, n);
	return true;
}

/* "task:comm state:R stack:0 pid:83 ..." (5.10+; the comm may be padded). */
static bool new_task_line(const char *p, struct vr_crash_trace *t)
{
	if (!starts(p, "task:"))
		return false;
	const char *st = strstr(p, " state:");
	const char *pid = strstr(p, " pid:");
	if (!st || !pid)
		return false;
	const char *q = pid + 5;
	q = skip_ws(q);
	long v;
	if (!read_dec(&q, &v))
		return false;
	t->pid = (int)v;
	t->comm = dup_trimmed(p + 5, (size_t)(st - p - 5));
	return true;
}

enum vr_section vr_oops_section_header(const char *p, struct vr_crash_trace *t)
{
	*t = (struct vr_crash_trace){.cpu = -1, .pid = -1};
	const char *role = NULL;
	enum vr_section kind = VR_SECTION_FRAMES;
	if (starts(p, "Allocated by task ") || starts(p, "Allocated:") ||
	    (starts(p, "kfence-#") && strstr(p, " allocated by task "))) {
		role = VR_ROLE_ALLOC;
	} else if (starts(p, "Freed by task ") || starts(p, "Freed:") ||
		   (starts(p, "kfence-#") && strstr(p, " freed by task "))) {
		role = VR_ROLE_FREE;
	} else if (strstr(p, "potentially related work creation:") ||
		   strstr(p, "call_rcu():") || strstr(p, "task_work_add():") ||
		   starts(p, "Last potentially related")) {
		role = VR_ROLE_AUX;
	} else if (starts(p, "Uninit was created at:") || starts(p, "Uninit was stored to memory at:") ||
		   (starts(p, "Local variable ") && strstr(p, " created at:"))) {
		role = VR_ROLE_ORIGIN;
	} else if (is_kcsan_access(p)) {
		role = VR_ROLE_RACE;
	} else if (starts(p, "backtrace:") || starts(p, "backtrace (crc ")) {
		role = VR_ROLE_LEAK;
	} else if (starts(p, "page last allocated via order")) {
		role = VR_ROLE_PAGE_ALLOC;
	} else if (starts(p, "page last free ") || starts(p, "page_owner free stack trace")) {
		role = VR_ROLE_PAGE_FREE;
	} else if (starts(p, "-> #") && p[strlen(p) - 1] == ':') {
		role = VR_ROLE_DEPENDENCY;
	} else if (starts(p, "RCU grace-period kthread stack dump:")) {
		role = VR_ROLE_GP_KTHREAD;
		kind = VR_SECTION_TRACE;
	} else if (starts(p, "Task dump for CPU ")) {
		const char *q = p + 18;
		long v;
		if (read_dec(&q, &v))
			t->cpu = (int)v;
		role = VR_ROLE_TASK;
		kind = VR_SECTION_TRACE;
	} else if (starts(p, "NMI backtrace for cpu ")) {
		const char *q = p + 22;
		long v;
		if (read_dec(&q, &v))
			t->cpu = (int)v;
		role = VR_ROLE_NMI;
		kind = VR_SECTION_TRACE;
	} else if (starts(p, "stack backtrace:")) {
		role = VR_ROLE_CALL;
		kind = VR_SECTION_TRACE;
	} else {
		return VR_SECTION_NONE;
	}
	t->role = role;
	if (role == VR_ROLE_ALLOC || role == VR_ROLE_FREE || role == VR_ROLE_RACE) {
		t->pid = task_after(p);
		t->cpu = cpu_after(p);
	}
	t->label = dup_trimmed(p, strlen(p));
	return kind;
}

bool vr_oops_task_line(const char *p, struct vr_crash_trace *t)
{
	return new_task_line(p, t) || old_task_line(p, t);
}

/* ---- lock sites ---- */

bool vr_oops_lock_site(const char *p, struct vr_frame *f)
{
	/* "(&lock){+.+.}, at: [<ffffffff81>] foo+0x12/0x40", "#0: ffff888 (&lock){+.+.}-{3:3},
	 * at: foo+0x12/0x40", "leaving the kernel with locks still held!\n ... at: foo". */
	const char *at = strstr(p, ", at: ");
	size_t skip = 6;
	if (!at) {
		at = strstr(p, "} at: ");
		skip = 6;
	}
	if (!at)
		return false;
	const char *q = skip_ws(at + skip);
	return vr_klog_parse_frame(q, f) && f->symbol;
}

/* ---- stalls ---- */

static void add_cpu(struct vr_stall *s, long cpu)
{
	if (cpu >= 0 && cpu < VR_MAX_CPUS)
		s->cpus[cpu / 64] |= 1ULL << (cpu % 64);
}

bool vr_stall_has_cpu(const struct vr_stall *s, int cpu)
{
	return cpu >= 0 && cpu < VR_MAX_CPUS && (s->cpus[cpu / 64] >> (cpu % 64)) & 1;
}

static void add_pid(struct vr_stall *s, long pid)
{
	if (s->n_pids < VR_STALL_MAX_PIDS)
		s->pids[s->n_pids++] = (int)pid;
}

bool vr_stall_has_pid(const struct vr_stall *s, int pid)
{
	for (size_t i = 0; i < s->n_pids; i++)
		if (s->pids[i] == pid)
			return true;
	return false;
}

/* "P4567" or "P4567/1:b..l" tokens. */
static void scan_pids(const char *p, struct vr_stall *s)
{
	for (; *p; p++) {
		if (*p == 'P' && (p[-1] == ' ' || p[-1] == '\t' || p[-1] == '{') &&
		    isdigit((unsigned char)p[1])) {
			const char *q = p + 1;
			long v;
			if (read_dec(&q, &v))
				add_pid(s, v);
		}
	}
}

/* "1-...!: (3 GPs behind)" or "\t 1-....: (...)": a stalled CPU line of
 * print_cpu_stall_info(); "{ 1-... 3-.... }" of an expedited stall. */
static bool cpu_token(const char *p, long *ret)
{
	const char *q = p;
	if (!read_dec(&q, ret) || *q != '-')
		return false;
	q++;
	/* "-...", "-....", "-...!", "-.N.", "-O..": flags of the stall line. */
	size_t n = 0;
	while (q[n] && strchr(".!ONDdE", q[n]))
		n++;
	return n >= 3;
}

/* Before 4.9: "\t0: (104999 ticks this GP) idle=...". */
static bool old_cpu_token(const char *p, long *ret)
{
	const char *q = p;
	return read_dec(&q, ret) && starts(q, ": (") && strstr(q, "GP");
}

void vr_oops_stall_line(const char *p, struct vr_stall *s)
{
	if (strstr(p, "self-detected stall on CPU") || strstr(p, "self-detected stall"))
		s->self_detected = true;
	if (strstr(p, "Tasks blocked on level-") || strstr(p, "blocking rcu_node") ||
	    strstr(p, "detected expedited stalls"))
		scan_pids(p, s);
	const char *b = strchr(p, '{');
	if (b && strstr(p, "stall")) {
		/* "detected expedited stalls on CPUs/tasks: { 1-... 3-... } 21003 jiffies" */
		for (const char *q = b + 1; *q && *q != '}'; q++) {
			long cpu;
			if ((q == b + 1 || q[-1] == ' ') && cpu_token(q, &cpu))
				add_cpu(s, cpu);
		}
		return;
	}
	const char *q = p;
	if (starts(q, "rcu: "))
		q += 5;
	q = skip_ws(q);
	long cpu;
	if ((cpu_token(q, &cpu) && strstr(q, ": (")) || old_cpu_token(q, &cpu)) {
		add_cpu(s, cpu);
		s->any_cpu = true;
	}
}
