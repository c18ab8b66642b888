/* Unit tests of analyzers/blame.c (and hang.c, whose verdict blame reads)
 * on synthetic reports: a module frame at the IP, a module below core
 * code, generic frames skipped, sysrq is the operator's, machine checks
 * and bit flips are hardware, hung tasks blame the lock holder. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyzers/analyzer.h"

extern const struct vr_analyzer vr_analyzer_blame;
extern const struct vr_analyzer vr_analyzer_hang;
extern const struct vr_analyzer vr_analyzer_oops;

#include "check.h"

struct t {
	struct vr_report r;
	struct vr_facts f;
	struct vr_diag d;
	struct vr_analysis a;
};

static void setup(struct t *t, const char *kind)
{
	memset(t, 0, sizeof(*t));
	vr_report_init(&t->r, NULL, &t->f, &t->d);
	t->a = (struct vr_analysis){.facts = &t->f, .report = &t->r};
	t->r.crash.kind = kind;
}

/* "sym [mod]" entries; the first is the IP when ip is true. */
static void frames(struct vr_trace *tr, const char *first, ...)
{
	va_list ap;
	va_start(ap, first);
	tr->frames = calloc(32, sizeof(*tr->frames));
	for (const char *s = first; s; s = va_arg(ap, const char *)) {
		struct vr_frame *f = &tr->frames[tr->n_frames++];
		char sym[128] = "", mod[64] = "";
		sscanf(s, "%127s [%63[^]]]", sym, mod);
		f->symbol = strdup(sym);
		f->module = mod[0] ? strdup(mod) : NULL;
		f->reliable = true;
		f->address = 0xffffffff81000000ull + tr->n_frames * 0x100;
	}
	va_end(ap);
}

static void set_ip(struct t *t, const char *sym, const char *mod)
{
	t->r.crash.ip_known = true;
	t->r.crash.ip.symbol = strdup(sym);
	t->r.crash.ip.module = mod ? strdup(mod) : NULL;
	t->r.crash.ip.address = 0xffffffffc0001000ull;
}

static void log_lines(struct t *t, const char *first, ...)
{
	va_list ap;
	va_start(ap, first);
	t->f.log.records = calloc(64, sizeof(*t->f.log.records));
	for (const char *s = first; s; s = va_arg(ap, const char *))
		t->f.log.records[t->f.log.n_records++].text = strdup(s);
	va_end(ap);
}

static void run(struct t *t, const struct vr_analyzer *an)
{
	const char *skipped = NULL;
	struct vr_error *err = an->run(&t->a, &skipped);
	CHECK(!err, "%s: %s", an->name, err ? err->message : "");
	vr_error_destroy(err);
}

static void done(struct t *t)
{
	vr_report_deinit(&t->r);
	vr_facts_deinit(&t->f);
	vr_diag_deinit(&t->d);
}

static bool reason_has(struct t *t, const char *s)
{
	for (size_t i = 0; i < t->r.blame.n_reasons; i++)
		if (strstr(t->r.blame.reasons[i], s))
			return true;
	return false;
}

static void dump(struct t *t)
{
	const struct vr_blame *b = &t->r.blame;
	fprintf(stderr, "  culprit %s module %s function %s confidence %s\n", b->culprit ? b->culprit : "-",
		b->module ? b->module : "-", b->function ? b->function : "-",
		b->confidence ? b->confidence : "-");
	for (size_t i = 0; i < b->n_reasons; i++)
		fprintf(stderr, "    %s\n", b->reasons[i]);
}

static bool eq(const char *a, const char *b)
{
	return a && b && !strcmp(a, b);
}

static void verdict(struct t *t, const char *cul, const char *mod, const char *fn, const char *conf,
		    int line)
{
	const struct vr_blame *b = &t->r.blame;
	bool ok = eq(b->culprit, cul) && (mod ? eq(b->module, mod) : !b->module) &&
		  (!fn || eq(b->function, fn)) && (!conf || eq(b->confidence, conf));
	if (!ok) {
		failures++;
		fprintf(stderr, "%s:%d: FAILED verdict, want %s %s %s %s\n", __FILE__, line, cul,
			mod ? mod : "-", fn ? fn : "-", conf ? conf : "-");
		dump(t);
	}
}
#define VERDICT(t, cul, mod, fn, conf) verdict(t, cul, mod, fn, conf, __LINE__)

static void test_module_at_ip(void)
{
	struct t t;
	setup(&t, "null-deref");
	set_ip(&t, "vrbug_null_deref", "vrbug");
	frames(&t.r.crash.trace, "vrbug_null_deref [vrbug]", "vrbug_write [vrbug]", "proc_reg_write",
	       "vfs_write", "ksys_write", "do_syscall_64", "entry_SYSCALL_64_after_hwframe", NULL);
	t.r.crash.modules_linked = calloc(1, sizeof(char *));
	t.r.crash.modules_linked[0] = strdup("vrbug(OE)");
	t.r.crash.n_modules_linked = 1;
	t.r.crash.taint = strdup("OE");
	run(&t, &vr_analyzer_blame);
	VERDICT(&t, "module", "vrbug", "vrbug_null_deref", "high");
	CHECK(reason_has(&t, "module vrbug taints the kernel (OE)"), "taint reason");
	done(&t);
}

static void test_module_below_core(void)
{
	struct t t;
	setup(&t, "gpf");
	set_ip(&t, "__list_del_entry_valid", NULL);
	frames(&t.r.crash.trace, "__list_del_entry_valid", "simple_recursive_removal", "mydrv_remove [mydrv]",
	       "pci_device_remove", "device_release_driver_internal", "do_syscall_64", NULL);
	run(&t, &vr_analyzer_blame);
	VERDICT(&t, "module", "mydrv", "mydrv_remove", "medium");
	CHECK(reason_has(&t, "core kernel function simple_recursive_removal, called from mydrv_remove") &&
	      reason_has(&t, "skipped 1 frame: __list_del_entry_valid [group lists]"), "reasons");
	done(&t);

	/* Only core code: the kernel, low confidence when tainted P. */
	setup(&t, "null-deref");
	set_ip(&t, "ext4_find_entry", NULL);
	frames(&t.r.crash.trace, "ext4_find_entry", "ext4_lookup", "__lookup_slow", "do_syscall_64", NULL);
	t.r.crash.taint = strdup("P");
	run(&t, &vr_analyzer_blame);
	VERDICT(&t, "kernel", NULL, "ext4_find_entry", "low");
	done(&t);

	/* Generic frames skipped down to the caller. */
	setup(&t, "page-fault");
	set_ip(&t, "memcpy_orig", NULL);
	frames(&t.r.crash.trace, "memcpy_orig", "_copy_to_user", "foo_read [foo]", "vfs_read", NULL);
	run(&t, &vr_analyzer_blame);
	VERDICT(&t, "module", "foo", "foo_read", "medium");
	done(&t);

	/* BUG site: file and line. */
	setup(&t, "bug");
	set_ip(&t, "vrbug_bug_on", "vrbug");
	t.r.crash.bug_file = strdup("/build/vrbug.c");
	t.r.crash.bug_line = 70;
	run(&t, &vr_analyzer_blame);
	VERDICT(&t, "module", "vrbug", "vrbug_bug_on", "high");
	CHECK(t.r.blame.file && !strcmp(t.r.blame.file, "/build/vrbug.c") && t.r.blame.line == 70, "bug site");
	done(&t);

	/* Nothing at all. */
	setup(&t, "panic");
	run(&t, &vr_analyzer_blame);
	VERDICT(&t, "unknown", NULL, NULL, "low");
	done(&t);
}

static void test_operator_hardware_firmware(void)
{
	struct t t;
	setup(&t, "sysrq");
	set_ip(&t, "sysrq_handle_crash", NULL);
	frames(&t.r.crash.trace, "sysrq_handle_crash", "__handle_sysrq", "write_sysrq_trigger", NULL);
	t.r.crash.taint = strdup("OE");
	log_lines(&t, "sysrq: Trigger a crash", NULL);
	run(&t, &vr_analyzer_blame);
	VERDICT(&t, "operator", NULL, "sysrq_handle_crash", "high");
	done(&t);

	setup(&t, "mce");
	set_ip(&t, "native_safe_halt", NULL);
	log_lines(&t, "mce: [Hardware Error]: CPU 0: Machine Check Exception: 5 Bank 4: b200000000070f0f", NULL);
	run(&t, &vr_analyzer_blame);
	VERDICT(&t, "hardware", NULL, NULL, "high");
	done(&t);

	setup(&t, "gpf");
	set_ip(&t, "ext4_find_entry", NULL);
	t.r.pointer.class = "bit-flip";
	log_lines(&t, "EDAC MC0: 1 CE memory read error on CPU_SrcID#0_Ha#0_Chan#1_DIMM#0", NULL);
	run(&t, &vr_analyzer_blame);
	VERDICT(&t, "hardware", NULL, NULL, "medium");
	done(&t);

	/* An uncorrected memory error in the log outweighs the frames. */
	setup(&t, "null-deref");
	set_ip(&t, "vrbug_null_deref", "vrbug");
	log_lines(&t, "EDAC MC0: 1 UE memory read error on CPU_SrcID#0_Ha#0_Chan#1_DIMM#0", NULL);
	run(&t, &vr_analyzer_blame);
	VERDICT(&t, "hardware", NULL, NULL, "medium");
	done(&t);

	/* A corrected error alone only lowers the confidence. */
	setup(&t, "null-deref");
	set_ip(&t, "vrbug_null_deref", "vrbug");
	log_lines(&t, "EDAC MC0: 1 CE memory read error", NULL);
	run(&t, &vr_analyzer_blame);
	VERDICT(&t, "module", "vrbug", NULL, "medium");
	done(&t);

	setup(&t, "null-deref");
	set_ip(&t, "acpi_ns_lookup", NULL);
	log_lines(&t, "ACPI BIOS Error (bug): Could not resolve symbol [\\_SB.PCI0], AE_NOT_FOUND", NULL);
	run(&t, &vr_analyzer_blame);
	VERDICT(&t, "firmware", NULL, NULL, "medium");
	done(&t);
}

static void test_hung(void)
{
	struct t t;
	setup(&t, "hung-task");
	t.f.tasks = calloc(2, sizeof(*t.f.tasks));
	t.f.n_tasks = 2;
	struct vr_task *w = &t.f.tasks[0], *h = &t.f.tasks[1];
	w->pid = 85;
	strcpy(w->comm, "vrtrigger");
	w->state = 'D';
	frames(&w->trace, "__schedule", "schedule", "schedule_preempt_disabled", "__mutex_lock.constprop.0",
	       "vrbug_hungtask [vrbug]", "vrbug_write [vrbug]", "proc_reg_write", NULL);
	h->pid = 84;
	strcpy(h->comm, "vrbug_holder");
	h->state = 'S';
	frames(&h->trace, "__schedule", "schedule", "schedule_timeout", "msleep_interruptible",
	       "vrbug_holder [vrbug]", "kthread", "ret_from_fork", NULL);
	run(&t, &vr_analyzer_hang);
	CHECK(t.r.hang.kind && !strcmp(t.r.hang.kind, "hung-task") && t.r.hang.n_waiters == 1, "waiters");
	if (t.r.hang.n_waiters) {
		struct vr_waiter *wt = &t.r.hang.waiters[0];
		CHECK(wt->pid == 85 && wt->waits_on && strstr(wt->waits_on, "a mutex") &&
		      strstr(wt->waits_on, "vrbug_hungtask"), "waits_on %s", wt->waits_on ? wt->waits_on : "-");
		CHECK(wt->owner_pid == -1, "no memory: owner unknown");
		/* As if the mutex owner had been found. */
		wt->owner_pid = 84;
		wt->owner_comm = strdup("vrbug_holder");
	}
	run(&t, &vr_analyzer_blame);
	VERDICT(&t, "module", "vrbug", "vrbug_holder", NULL);
	CHECK(reason_has(&t, "the stack of the lock holder vrbug_holder (pid 84)"), "holder reason");
	done(&t);

	/* From the log alone. */
	setup(&t, "hung-task");
	log_lines(&t, "INFO: task vrtrigger:85 blocked for more than 5 seconds.",
		  "      Tainted: G           OE      6.1.0-56-cloud-amd64 #1 Debian 6.1.158-1",
		  "task:vrtrigger       state:D stack:0     pid:85    ppid:1      flags:0x00004002",
		  "Call Trace:", " <TASK>", " __schedule+0x34d/0x9e0", " schedule+0x5a/0xd0",
		  " schedule_preempt_disabled+0x11/0x20", " __mutex_lock.constprop.0+0x399/0x700",
		  " vrbug_hungtask+0x6b/0x80 [vrbug]", " vrbug_write+0x1a1/0x1e0 [vrbug]",
		  " proc_reg_write+0x56/0xa0", " </TASK>",
		  "Kernel panic - not syncing: hung_task: blocked tasks", NULL);
	run(&t, &vr_analyzer_oops);
	run(&t, &vr_analyzer_hang);
	CHECK(t.r.hang.n_waiters == 1 && t.r.hang.waiters[0].pid == 85 &&
	      !strcmp(t.r.hang.waiters[0].comm, "vrtrigger") &&
	      strstr(t.r.hang.waiters[0].waits_on, "vrbug_hungtask [vrbug]"), "log waiter");
	run(&t, &vr_analyzer_blame);
	VERDICT(&t, "module", "vrbug", "vrbug_hungtask", NULL);
	done(&t);

	/* Soft lockup: stuck CPU and function. */
	setup(&t, "soft-lockup");
	set_ip(&t, "vrbug_softlockup", "vrbug");
	t.r.crash.cpu = 1;
	log_lines(&t, "watchdog: BUG: soft lockup - CPU#1 stuck for 22s! [vrtrigger:85]", NULL);
	run(&t, &vr_analyzer_hang);
	CHECK(t.r.hang.stuck_cpu == 1 && t.r.hang.stuck_function &&
	      !strcmp(t.r.hang.stuck_function, "vrbug_softlockup"), "soft lockup");
	run(&t, &vr_analyzer_blame);
	VERDICT(&t, "module", "vrbug", "vrbug_softlockup", "high");
	done(&t);

	/* Kernels that name the likely owner of the mutex. */
	setup(&t, "hung-task");
	log_lines(&t, "INFO: task kworker/0:1:12 blocked for more than 120 seconds.",
		  "INFO: task kworker/0:1:12 is blocked on a mutex likely owned by task foo_worker:77.",
		  "Call Trace:", " __schedule+0x34d/0x9e0", " __mutex_lock.constprop.0+0x399/0x700",
		  " foo_flush+0x6b/0x80 [foo]", "Kernel panic - not syncing: hung_task: blocked tasks", NULL);
	run(&t, &vr_analyzer_oops);
	run(&t, &vr_analyzer_hang);
	CHECK(t.r.hang.n_waiters == 1 && t.r.hang.waiters[0].pid == 12 &&
	      !strcmp(t.r.hang.waiters[0].comm, "kworker/0:1") && t.r.hang.waiters[0].owner_pid == 77 &&
	      t.r.hang.waiters[0].owner_comm && !strcmp(t.r.hang.waiters[0].owner_comm, "foo_worker"),
	      "owner from the log");
	run(&t, &vr_analyzer_blame);
	VERDICT(&t, "module", "foo", "foo_flush", NULL);
	CHECK(reason_has(&t, "held by foo_worker (pid 77)"), "owner reason");
	done(&t);

	setup(&t, "hard-lockup");
	log_lines(&t, "NMI watchdog: Watchdog detected hard LOCKUP on cpu 2", NULL);
	run(&t, &vr_analyzer_oops);
	t.f.cpus = calloc(1, sizeof(*t.f.cpus));
	t.f.n_cpus = 1;
	t.f.cpus[0].cpu = 2;
	frames(&t.f.cpus[0].trace, "nmi_cpu_backtrace", "asm_exc_nmi", "bar_poll [bar]", NULL);
	t.f.cpus[0].trace.frames[1].exception = true;
	run(&t, &vr_analyzer_hang);
	CHECK(t.r.hang.stuck_cpu == 2 && t.r.hang.stuck_function &&
	      !strcmp(t.r.hang.stuck_function, "bar_poll"), "hard lockup %d %s", t.r.hang.stuck_cpu,
	      t.r.hang.stuck_function ? t.r.hang.stuck_function : "-");
	done(&t);

	/* Out of memory: no culprit among the allocating frames. */
	setup(&t, "oom");
	set_ip(&t, "read_swap_cache_async", NULL);
	run(&t, &vr_analyzer_blame);
	VERDICT(&t, "unknown", NULL, NULL, "low");
	done(&t);

	setup(&t, "rcu-stall");
	log_lines(&t, "rcu: INFO: rcu_preempt detected stalls on CPUs/tasks:",
		  "rcu: \t3-...!: (1 GPs behind) idle=4a4/1/0x4000000000000000", NULL);
	run(&t, &vr_analyzer_oops);
	run(&t, &vr_analyzer_hang);
	CHECK(t.r.hang.stuck_cpu == 3, "rcu stall cpu %d", t.r.hang.stuck_cpu);
	done(&t);
}

int main(void)
{
	test_module_at_ip();
	test_module_below_core();
	test_operator_hardware_firmware();
	test_hung();
	if (failures)
		fprintf(stderr, "%d failures\n", failures);
	return failures != 0;
}
