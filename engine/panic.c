/* The panic context: the panic message, and the panicking CPU, pid and
 * command established from independent sources, each recorded in
 * panic.sources and cross-checked (a disagreement is a warning, never a
 * silent choice):
 *   - the kernel's panic_cpu (kernel/panic.c, atomic_t, -1 until a CPU
 *     enters panic() or crash_kexec());
 *   - the dump's saved registers (NT_PRSTATUS): the note whose RIP is in
 *     the kexec path, and its pr_pid (the task current on that CPU);
 *   - the log's "CPU: N PID: P Comm: C" line (lib/dump_stack.c
 *     dump_stack_print_info()) last printed before the panic line;
 *   - the runqueue's current task of that CPU (tasks collector).
 * For a kernel log given as text, only the log speaks. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "klog.h"
#include "log.h"
#include "strings.h"

#define VR_LOG_LINE_MAX 4096 /* longer lines are cut for reading */


static struct vr_error *add_source(struct vr_panic *p, size_t *cap, char *s)
{
	return vr_strv_add(&p->sources, &p->n_sources, cap, 64, s);
}

/* A line of the log: the record and the line within it. */
struct line {
	const char *s;
	size_t n;
};

/* Calls fn for each line of each record, newest last; stops when fn
 * returns true. */
static bool each_line(const struct vr_log *log, size_t from, size_t to,
		      bool (*fn)(struct line l, size_t rec, void *ctx), void *ctx)
{
	for (size_t i = from; i < to && i < log->n_records; i++) {
		const char *t = log->records[i].text;
		while (t) {
			const char *nl = strchr(t, '\n');
			struct line l = {t, nl ? (size_t)(nl - t) : strlen(t)};
			if (fn(l, i, ctx))
				return true;
			t = nl ? nl + 1 : NULL;
		}
	}
	return false;
}

/* The message of a log line (engine/klog.c), NUL-terminated in buf. */
static const char *message_of(struct line l, char *buf, size_t cap)
{
	size_t n = l.n < cap - 1 ? l.n : cap - 1;
	memcpy(buf, l.s, n);
	buf[n] = '\0';
	const char *m = vr_klog_message(buf);
	return m ? m : "";
}

struct panic_line {
	size_t rec;
	char *msg;
	bool found;
};

static bool find_panic(struct line l, size_t rec, void *ctx)
{
	struct panic_line *pl = ctx;
	char buf[VR_LOG_LINE_MAX];
	const char *m = message_of(l, buf, sizeof(buf));
	/* kernel/panic.c panic(): pr_emerg("Kernel panic - not syncing: %s\n") */
	if (vr_klog_classify(m).type == VR_KLOG_PANIC) {
		static const char tag[] = "Kernel panic - not syncing";
		const char *p = vr_str_skip_ws(m) + sizeof(tag) - 1;
		if (*p == ':')
			p++;
		free(pl->msg);
		pl->msg = vr_strdup(vr_str_skip_ws(p));
		pl->rec = rec;
		pl->found = true;
	}
	return false; /* keep the last one */
}

/* An oops report's die line: "... [#1] ..." (arch/x86/kernel/dumpstack.c
 * __die_header()). */
static bool find_die(struct line l, size_t rec, void *ctx)
{
	struct panic_line *pl = ctx;
	char buf[VR_LOG_LINE_MAX];
	const char *m = message_of(l, buf, sizeof(buf));
	if (vr_klog_has_die_counter(m) && vr_klog_classify(m).type == VR_KLOG_DIE) {
		pl->rec = rec;
		pl->found = true;
	}
	return false; /* keep the last one */
}

/* The headline of the oops whose die line is in record die: the earliest
 * report headline ("BUG: ...", "kernel BUG at ...", "Unable to handle
 * ...") of the few records before it, else the die line itself. An oops
 * sent straight to kdump (oops_end() calls crash_kexec() before panic())
 * leaves no panic line. */
static char *oops_headline(const struct vr_log *log, size_t die)
{
	size_t from = die >= 4 ? die - 4 : 0;
	char buf[VR_LOG_LINE_MAX];
	for (size_t i = from; i < die; i++) {
		const char *t = log->records[i].text;
		for (const char *ln = t; ln && *ln;) {
			const char *nl = strchr(ln, '\n');
			struct line l = {ln, nl ? (size_t)(nl - ln) : strlen(ln)};
			const char *m = message_of(l, buf, sizeof(buf));
			if (vr_klog_classify(m).type == VR_KLOG_REPORT)
				return vr_strdup(m);
			ln = nl ? nl + 1 : NULL;
		}
	}
	const char *t = log->records[die].text ? log->records[die].text : "";
	struct line l = {t, strcspn(t, "\n")};
	/* Every release says the same "general protection fault, ..." /
	 * "Oops: 0000 ..." (vr_klog_die_text()). */
	return vr_strdup(vr_klog_die_text(message_of(l, buf, sizeof(buf))));
}

struct cpu_line {
	int cpu, pid;
	char comm[17];
	char *line;
	bool found;
};

/* The report's task line, "CPU: 1 PID: 83 Comm: sh ..." (engine/klog.c). */
static bool find_cpu_line(struct line l, size_t rec, void *ctx)
{
	struct cpu_line *cl = ctx;
	char buf[VR_LOG_LINE_MAX];
	const char *m = message_of(l, buf, sizeof(buf));
	struct vr_klog_task t;
	if (!vr_klog_task_line(m, &t) || t.cpu < 0)
		return false;
	size_t n = t.comm_len > 16 ? 16 : t.comm_len;
	cl->cpu = t.cpu;
	cl->pid = t.pid;
	memcpy(cl->comm, t.comm, n);
	cl->comm[n] = '\0';
	free(cl->line);
	const char *start = vr_str_skip_ws(m);
	cl->line = vr_strndup(start, (size_t)(t.comm + t.comm_len - start));
	cl->found = true;
	(void)rec;
	return false;
}

static const struct vr_task *current_of(const struct vr_facts *f, int cpu)
{
	for (size_t i = 0; i < f->n_tasks; i++)
		if (f->tasks[i].is_current && f->tasks[i].cpu == cpu)
			return &f->tasks[i];
	return NULL;
}

static bool rip_in_kexec_path(struct vr_kernel *k, uint64_t rip, const char **ret_name)
{
	/* kernel/kexec_core.c __crash_kexec() saves the registers with
	 * crash_setup_regs() (inline asm in the caller) when panic() calls
	 * it; the other CPUs' notes hold what the crash NMI interrupted. */
	static const char *const fns[] = {"__crash_kexec", "crash_kexec", "panic", "vpanic",
					  "crash_setup_regs", "machine_crash_shutdown",
					  "native_machine_crash_shutdown", NULL};
	struct vr_symbol s;
	if (!vr_symbols_lookup_addr(k, rip, &s) || !s.name)
		return false;
	for (int i = 0; fns[i]; i++)
		if (!strcmp(s.name, fns[i])) {
			*ret_name = fns[i];
			return true;
		}
	return false;
}

/* For a kernel log given as text, the system collector does not run:
 * mark its facts unknown, and take what the log itself says: release and
 * version from the "Linux version" banner of the boot that crashed
 * (init/version.c linux_banner) and uptime from its last timestamp. */
static void system_from_log(struct vr_kernel *k, struct vr_facts *f, size_t crash_rec)
{
	struct vr_system *s = &f->system;
	const struct vr_log *log = &f->log;
	s->cpus = s->cpus_online = -1;
	s->uptime_s = -1;
	s->crash_time = -1;
	s->tasks = -1;
	size_t boot = SIZE_MAX, next_boot = log->n_records;
	for (size_t i = 0; i < log->n_records; i++) {
		const char *t = log->records[i].text;
		if (!t || strncmp(t, "Linux version ", 14))
			continue;
		if (i <= crash_rec || boot == SIZE_MAX) {
			boot = i;
		} else {
			next_boot = i;
			break;
		}
	}
	if (boot != SIZE_MAX && !s->release) {
		const char *t = log->records[boot].text + 14;
		const char *e = t + strcspn(t, " \n");
		s->release = vr_strndup(t, (size_t)(e - t));
		const char *v = strstr(t, ") #");
		if (v && !s->version)
			s->version = vr_strndup(v + 2, strcspn(v + 2, "\n"));
	}
	for (size_t i = next_boot; i-- > (boot == SIZE_MAX ? 0 : boot);) {
		if (log->records[i].ts_nsec != VR_LOG_TS_UNKNOWN) {
			s->uptime_s = (double)log->records[i].ts_nsec / 1e9;
			vr_diag_warn(k->diag, "uptime taken from the last timestamp of the log");
			break;
		}
	}
}

/* What each source says about the panic. */
struct panic_sources {
	struct panic_line pl;  /* the log's panic line, or its oops line */
	struct cpu_line cl;    /* the log's "CPU: N PID: P Comm: C" line for it */
	bool from_oops;
	int mem_cpu;           /* panic_cpu in memory, -1 unknown */
	int note_cpu, note_pid; /* the saved registers of the CPU in the kexec path */
	size_t cap;            /* of panic.sources */
};

/* The log: the panic line (or the oops line, without one), and the CPU
 * line for it. panic() dumps the stack right after its message, and an
 * oops prints "CPU: ..." right after its die line (__die() ->
 * show_regs()); a panic after an oops does not dump it again, and then the
 * oops's line before it is the one. */
static struct vr_error *panic_from_log(struct vr_facts *f, struct panic_sources *ps)
{
	struct vr_panic *p = &f->panic;
	each_line(&f->log, 0, f->log.n_records, find_panic, &ps->pl);
	if (!ps->pl.found) {
		each_line(&f->log, 0, f->log.n_records, find_die, &ps->pl);
		if ((ps->from_oops = ps->pl.found) && !(ps->pl.msg = oops_headline(&f->log, ps->pl.rec)))
			return &vr_error_oom;
	}
	if (ps->pl.found)
		each_line(&f->log, ps->pl.rec, ps->pl.rec + 4, find_cpu_line, &ps->cl);
	if (!ps->cl.found)
		each_line(&f->log, 0, ps->pl.found ? ps->pl.rec + 1 : f->log.n_records, find_cpu_line, &ps->cl);
	struct vr_error *err = NULL;
	if (ps->pl.found) {
		p->message = ps->pl.msg;
		ps->pl.msg = NULL;
		err = add_source(p, &ps->cap, vr_asprintf("log: %s%s", ps->from_oops ? "oops line: " : "panic line: ",
							 p->message ? p->message : ""));
	}
	if (!err && ps->cl.found)
		err = add_source(p, &ps->cap, vr_asprintf("log: %s", ps->cl.line ? ps->cl.line : ""));
	return err;
}

/* Memory: panic_cpu, and the saved registers: the note of the CPU whose
 * RIP is in the kexec path, else (an oops sent straight to kdump saves the
 * oops registers) the one note whose pr_pid is the log's PID. The cpus
 * collector mapped notes to CPU numbers in note order. */
static struct vr_error *panic_from_memory(struct vr_kernel *k, struct vr_facts *f, struct panic_sources *ps)
{
	struct vr_panic *p = &f->panic;
	uint64_t addr;
	uint32_t v;
	struct vr_error *err = NULL;
	if (vr_symbols_lookup_name(k, "panic_cpu", &addr) && !vr_kernel_absorb(k, vr_read_u32(k, addr, &v), VR_ERRS_READ)) {
		int c = (int32_t)v;
		if (c >= 0 && c < VR_MAX_CPUS)
			ps->mem_cpu = c;
		if ((err = add_source(p, &ps->cap, vr_asprintf("panic_cpu=%d", (int32_t)v))))
			return err;
	}
	size_t n_notes = k->n_saved;
	for (size_t i = 0; i < n_notes && i < VR_MAX_CPUS; i++) {
		const struct vr_saved_cpu *dc = &k->saved[i];
		const char *fn;
		if (!dc->regs.valid || !rip_in_kexec_path(k, vr_regs_pc(&dc->regs), &fn))
			continue;
		ps->note_cpu = f->n_cpus == n_notes && f->cpus[i].cpu >= 0 ? f->cpus[i].cpu : (int)i;
		ps->note_pid = dc->pid;
		/* The instruction pointer by its name, lower case ("rip", "pc"). */
		char pc[16];
		const char *name = dc->regs.set->names[dc->regs.set->pc];
		size_t l = 0;
		for (; name[l] && l + 1 < sizeof(pc); l++)
			pc[l] = (char)(name[l] >= 'A' && name[l] <= 'Z' ? name[l] - 'A' + 'a' : name[l]);
		pc[l] = '\0';
		return add_source(p, &ps->cap,
				  vr_asprintf("prstatus: CPU %d pid %d %s in %s", ps->note_cpu, dc->pid, pc, fn));
	}
	if (!ps->cl.found)
		return NULL;
	int hits = 0, at = -1;
	for (size_t i = 0; i < n_notes && i < VR_MAX_CPUS; i++) {
		const struct vr_saved_cpu *dc = &k->saved[i];
		if (dc->pid == ps->cl.pid && ps->cl.pid > 0) {
			hits++;
			at = (int)i;
		}
	}
	if (hits != 1)
		return NULL;
	ps->note_cpu = f->n_cpus == n_notes && f->cpus[at].cpu >= 0 ? f->cpus[at].cpu : at;
	ps->note_pid = ps->cl.pid;
	return add_source(p, &ps->cap, vr_asprintf("prstatus: CPU %d pid %d (note with the log's pid)", ps->note_cpu,
						  ps->note_pid));
}

/* The panicking CPU and task: memory first, then the saved registers, then
 * the log; disagreements are warnings. */
static struct vr_error *decide(struct vr_kernel *k, struct vr_facts *f, struct panic_sources *ps)
{
	struct vr_panic *p = &f->panic;
	const struct cpu_line *cl = &ps->cl;
	p->cpu = ps->mem_cpu >= 0 ? ps->mem_cpu : ps->note_cpu >= 0 ? ps->note_cpu : cl->found ? cl->cpu : -1;
	if (ps->mem_cpu >= 0 && ps->note_cpu >= 0 && ps->mem_cpu != ps->note_cpu)
		vr_diag_warn(k->diag, "panic: panic_cpu says CPU %d but the saved registers say CPU %d", ps->mem_cpu,
			     ps->note_cpu);
	if (cl->found && p->cpu >= 0 && cl->cpu != p->cpu)
		vr_diag_warn(k->diag, "panic: the log's last \"CPU: %d\" line disagrees with CPU %d from %s", cl->cpu,
			     p->cpu, ps->mem_cpu >= 0 ? "panic_cpu" : "the saved registers");

	const struct vr_task *cur = p->cpu >= 0 ? current_of(f, p->cpu) : NULL;
	struct vr_error *err;
	if (cur && (err = add_source(p, &ps->cap, vr_asprintf("runqueue: CPU %d current pid %d comm %s task 0x%llx",
							      p->cpu, cur->pid, cur->comm,
							      (unsigned long long)cur->task))))
		return err;
	if (cur) {
		p->pid = cur->pid;
		p->task = cur->task;
		p->comm = vr_strdup(cur->comm);
	} else if (cl->found && (p->cpu < 0 || cl->cpu == p->cpu)) {
		p->pid = cl->pid;
		p->comm = vr_strdup(cl->comm);
	} else if (ps->note_pid >= 0 && ps->note_cpu == p->cpu) {
		p->pid = ps->note_pid;
	}
	if (p->pid >= 0 && !p->task) {
		for (size_t i = 0; i < f->n_tasks; i++)
			if (f->tasks[i].pid == p->pid && p->pid > 0) {
				p->task = f->tasks[i].task;
				if (!p->comm)
					p->comm = vr_strdup(f->tasks[i].comm);
				break;
			}
	}
	if (cl->found && p->pid >= 0 && cl->pid != p->pid)
		vr_diag_warn(k->diag, "panic: the log says PID %d (%s), the panicking CPU ran PID %d (%s)", cl->pid,
			     cl->comm, p->pid, p->comm ? p->comm : "?");
	if (ps->note_pid >= 0 && p->pid >= 0 && ps->note_cpu == p->cpu && ps->note_pid != p->pid)
		vr_diag_warn(k->diag, "panic: the saved registers of CPU %d name pid %d, not %d", ps->note_cpu,
			     ps->note_pid, p->pid);
	for (size_t i = 0; i < f->n_cpus && p->cpu >= 0; i++)
		if (f->cpus[i].cpu == p->cpu)
			f->cpus[i].panic = true;
	return NULL;
}

/* Uptime when the timekeeper was out of reach: the last log record's
 * timestamp (local_clock(), time since boot). */
static void uptime_from_log(struct vr_kernel *k, struct vr_facts *f)
{
	for (size_t i = f->log.n_records; i-- > 0;) {
		if (f->log.records[i].ts_nsec != VR_LOG_TS_UNKNOWN) {
			f->system.uptime_s = (double)f->log.records[i].ts_nsec / 1e9;
			vr_diag_warn(k->diag, "uptime taken from the last log timestamp (the timekeeper was unreadable)");
			return;
		}
	}
}

struct vr_error *vr_collect_panic(struct vr_kernel *k, struct vr_facts *f)
{
	struct vr_panic *p = &f->panic;
	p->cpu = p->pid = -1;
	struct panic_sources ps = {.cl = {.cpu = -1, .pid = -1}, .mem_cpu = -1, .note_cpu = -1, .note_pid = -1};
	bool have_mem = vr_kernel_has_memory(k);
	struct vr_error *err = panic_from_log(f, &ps);
	if (!err && have_mem)
		err = panic_from_memory(k, f, &ps);
	if (!err)
		err = decide(k, f, &ps);
	if (err)
		goto out;
	if (f->system.uptime_s < 0 && have_mem)
		uptime_from_log(k, f);
	if (!have_mem)
		system_from_log(k, f, ps.pl.found ? ps.pl.rec : f->log.n_records);
	if (p->cpu < 0 && !p->message)
		err = vr_error_create(VR_ERR_NOT_FOUND, "no panic found: no panic line in the log and no panicking CPU");
	else if (p->cpu < 0 || p->pid < 0)
		err = vr_error_create(VR_ERR_NOT_PRESENT, "the panicking %s is unknown", p->cpu < 0 ? "CPU" : "task");
out:
	free(ps.pl.msg);
	free(ps.cl.line);
	return err;
}
