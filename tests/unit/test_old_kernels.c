/* The engine's DWARF reading and its collectors over the fixture kernels
 * (tests/fixtures/kernels/linux-*.c, built into build/fixtures/ with their
 * kdump-compressed dumps; 3.10's DWARF is version 2, 4.18's 4, 5.4's 5):
 *   - every member offset a fixture pins with AT() (which the compiler
 *     checked) is what the type layer reads from the vmlinux's DWARF
 *     alone, and every OFFSET()/SIZE() of the dump's VMCOREINFO agrees
 *     with the DWARF;
 *   - source lines of the fixture's functions, read a compile unit at a
 *     time and through libdw's whole-file lookups;
 *   - the system, log, task, module and panic collectors: what each
 *     fixture's kernel state says, task by task and module by module;
 *   - where a fixture's stacks hold frames (3.10's frame-pointer chains,
 *     a kernel without ORC), the panicking CPU's and a blocked task's
 *     stack traces, function by function. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/internal.h"

#include "check.h"

struct want_task {
	int pid, tgid, cpu;
	char state;
	const char *comm;
};

struct fixture {
	const char *version, *release;
	size_t log_records;
	const char *log_line; /* one record's text, whole */
	int cpus;
	uint64_t taint;
	struct want_task tasks[12];
	const char *modules[6];
	const char *module_taints[6];
	int panic_cpu, panic_pid;
	const char *panic_comm;
	const char *func; /* a function of the image whose line is checked */
	/* the panicking CPU's trace from memory, and one blocked task's;
	 * none: not checked */
	const char *panic_trace[24];
	int blocked_pid;
	const char *blocked_trace[24];
};

static const struct fixture fixtures[] = {
	{ "5.4", "5.4.0-150-generic", 38, "BUG: kernel NULL pointer dereference, address: 0000000000000008", 2, 0x3000,
	  { { 0, 0, 0, 'R', "swapper/0" }, { 1, 1, 0, 'S', "systemd" }, { 2, 2, 1, 'S', "kthreadd" },
	    { 10, 10, 0, 'I', "rcu_sched" }, { 1822, 1822, 1, 'R', "vrctl" }, { 1823, 1822, 0, 'S', "vrctl-worker" },
	    { 812, 812, 0, 'S', "sshd" } },
	  { "vrdev", "binfmt_misc", "dm_multipath" }, { "OE", "", "" }, 1, 1822, "vrctl", "do_vfs_ioctl" },
	{ "4.18", "4.18.0-553.el8_10.x86_64", 34, "kernel BUG at fs/vrfs/inode.c:214!", 2, 0x3000,
	  { { 0, 0, 0, 'R', "swapper/0" }, { 1, 1, 1, 'S', "systemd" }, { 2, 2, 1, 'S', "kthreadd" },
	    { 41, 41, 1, 'I', "kworker/1:1" }, { 912, 912, 1, 'S', "tuned" }, { 913, 912, 0, 'S', "gmain" },
	    { 4980, 4980, 1, 'S', "bash" }, { 5120, 5120, 0, 'R', "rm" }, { 0, 0, 1, 'R', "swapper/1" } },
	  { "vrfs", "xfs", "libcrc32c", "virtio_net" }, { "OE", "", "", "" }, 0, 5120, "rm", "iput" },
	{ "3.10", "3.10.0-1160.el7.x86_64", 46, "Kernel panic - not syncing: Fatal exception in interrupt", 4, 0x3000,
	  { { 0, 0, 0, 'R', "swapper/0" }, { 1, 1, 3, 'S', "systemd" }, { 2, 2, 1, 'S', "kthreadd" },
	    { 20, 20, 2, 'S', "ksoftirqd/2" }, { 640, 640, 0, 'S', "NetworkManager" }, { 641, 640, 3, 'D', "gdbus" },
	    { 1010, 1010, 1, 'R', "sshd" }, { 0, 0, 2, 'R', "swapper/2" }, { 0, 0, 3, 'R', "swapper/3" } },
	  { "vrnet", "virtio_net", "xfs", "libcrc32c" }, { "OE", "", "", "" }, 2, 0, "swapper/2", "schedule",
	  { "crash_kexec", "oops_end", "no_context", "__do_page_fault", "do_page_fault", "page_fault",
	    "net_rx_action", "__do_softirq", "call_softirq", "do_softirq", "irq_exit", "do_IRQ", "common_interrupt",
	    "default_idle", "arch_cpu_idle", "cpu_startup_entry", "start_secondary", "start_cpu" },
	  641, { "schedule", "schedule_timeout", "wait_for_completion", "synchronize_sched", "system_call_fastpath" } },
};

/* DIR_ENV's directory / PREFIX VERSION SUFFIX */
static char *path_of(const char *dir_env, const char *prefix, const char *version, const char *suffix)
{
	const char *dir = getenv(dir_env);
	char *p = NULL;
	if (!dir || asprintf(&p, "%s/%s%s%s", dir, prefix, version, suffix) < 0)
		return NULL;
	return p;
}

static struct vr_kernel *open_fixture(const struct fixture *fx, struct vr_diag *diag, bool whole_dwarf)
{
	char *dump = path_of("VR_BUILD_DIR", "fixtures/linux-", fx->version, ".kdump");
	char *vmlinux = path_of("VR_BUILD_DIR", "fixtures/vmlinux-", fx->version, "");
	const char *paths[] = { dump };
	struct vr_open_options o = { .dump_paths = paths, .n_dump_paths = 1, .vmlinux_path = vmlinux,
				     .no_discovery = true, .whole_dwarf = whole_dwarf };
	struct vr_kernel *k = NULL;
	struct vr_error *err = dump && vmlinux ? vr_kernel_open(&o, diag, &k) : NULL;
	CHECK(dump && vmlinux && !err, "%s: %s", fx->version, err ? err->message : "VR_BUILD_DIR not set");
	vr_error_destroy(err);
	CHECK(!k || vr_kernel_has_vmlinux(k, NULL), "%s: the vmlinux is not used", fx->version);
	free(dump);
	free(vmlinux);
	return k;
}

/* Every AT(struct T, member, OFFSET) of the fixture's source, asked of
 * its DWARF alone. */
static void check_pinned_offsets(const struct fixture *fx)
{
	char *src = path_of("VR_SOURCE_DIR", "tests/fixtures/kernels/linux-", fx->version, ".c");
	FILE *f = src ? fopen(src, "r") : NULL;
	CHECK(f, "%s: cannot read %s", fx->version, src ? src : "(VR_SOURCE_DIR not set)");
	if (!f) {
		free(src);
		return;
	}
	struct vr_diag diag = { 0 };
	struct vr_kernel *k = open_fixture(fx, &diag, false);
	CHECK(!k || succeeds(vr_types_restrict(k, VR_TYPES_DWARF)));
	char line[512], type[128], member[128];
	unsigned long long off;
	int n = 0;
	while (k && fgets(line, sizeof(line), f)) {
		if (sscanf(line, "AT(struct %127[^,], %127[^,], %lli);", type, member, &off) != 3)
			continue;
		struct vr_member m = { 0 };
		struct vr_error *err = vr_type_member(k, type, member, &m);
		CHECK(!err && m.offset == off, "%s: %s.%s: DWARF says %s 0x%llx, the source pins 0x%llx", fx->version,
		      type, member, err ? err->message : "", (unsigned long long)m.offset, off);
		vr_error_destroy(err);
		n++;
	}
	CHECK(n >= 10, "%s: only %d pinned offsets found in %s", fx->version, n, src);
	fclose(f);
	free(src);
	vr_kernel_destroy(k);
	vr_diag_deinit(&diag);
}

/* The dump's OFFSET(T.m) and SIZE(T) against the vmlinux's DWARF. */
static void check_vmcoreinfo_agrees(const struct fixture *fx)
{
	struct vr_diag diag = { 0 };
	struct vr_kernel *k = open_fixture(fx, &diag, false);
	if (!k)
		return;
	size_t len = 0;
	const char *v = vr_dump_vmcoreinfo(k->dump, &len);
	char *text = v ? strndup(v, len) : NULL;
	CHECK(text, "%s: no VMCOREINFO", fx->version);
	CHECK(succeeds(vr_types_restrict(k, VR_TYPES_DWARF)));
	int n = 0;
	for (char *save = NULL, *l = text ? strtok_r(text, "\n", &save) : NULL; l; l = strtok_r(NULL, "\n", &save)) {
		char what[128];
		unsigned long long want;
		uint64_t got = ~0ull;
		struct vr_error *err = NULL;
		if (sscanf(l, "OFFSET(%127[^)])=%llu", what, &want) == 2) {
			char *dot = strchr(what, '.');
			*dot = '\0';
			struct vr_member m = { 0 };
			err = vr_type_member(k, what, dot + 1, &m);
			got = m.offset;
			*dot = '.';
		} else if (sscanf(l, "SIZE(%127[^)])=%llu", what, &want) == 2) {
			err = vr_type_size(k, what, &got);
		} else {
			continue;
		}
		CHECK(!err && got == want, "%s: VMCOREINFO %s: DWARF says %s %llu", fx->version, l,
		      err ? err->message : "", (unsigned long long)got);
		vr_error_destroy(err);
		n++;
	}
	CHECK(n >= 4, "%s: only %d OFFSET/SIZE entries", fx->version, n);
	free(text);
	vr_kernel_destroy(k);
	vr_diag_deinit(&diag);
}

/* The line of FUNC(name) in the fixture's source. */
static int source_line(const struct fixture *fx, const char *name)
{
	char *src = path_of("VR_SOURCE_DIR", "tests/fixtures/kernels/linux-", fx->version, ".c");
	FILE *f = src ? fopen(src, "r") : NULL;
	char line[512], want[128];
	snprintf(want, sizeof(want), "FUNC(%s)", name);
	int n = 0, found = 0;
	while (f && fgets(line, sizeof(line), f) && !found) {
		n++;
		if (!strncmp(line, want, strlen(want)))
			found = n;
	}
	if (f)
		fclose(f);
	free(src);
	return found;
}

static void check_lines(const struct fixture *fx, bool whole)
{
	struct vr_diag diag = { 0 };
	struct vr_kernel *k = open_fixture(fx, &diag, whole);
	if (!k)
		return;
	uint64_t addr = 0;
	struct vr_error *err = vr_kernel_symbol_address(k, fx->func, &addr);
	CHECK(!err, "%s: %s: %s", fx->version, fx->func, err ? err->message : "");
	vr_error_destroy(err);
	struct vr_frame fr = { .address = addr + 4 };
	vr_kernel_symbolize(k, &fr, false);
	int want = source_line(fx, fx->func);
	CHECK(want > 0);
	CHECK(fr.symbol && !strcmp(fr.symbol, fx->func) && fr.offset == 4, "%s: %s+4 is %s+%llu", fx->version,
	      fx->func, fr.symbol ? fr.symbol : "(none)", (unsigned long long)fr.offset);
	const char *base = fr.file ? strrchr(fr.file, '/') : NULL;
	char expect[64];
	snprintf(expect, sizeof(expect), "linux-%s.c", fx->version);
	CHECK(fr.file && !strcmp(base ? base + 1 : fr.file, expect) && fr.line == want,
	      "%s (%s DWARF): %s+4 at %s:%d, want %s:%d", fx->version, whole ? "whole" : "by unit", fx->func,
	      fr.file ? fr.file : "(none)", fr.line, expect, want);
	vr_frame_deinit(&fr);
	vr_kernel_destroy(k);
	vr_diag_deinit(&diag);
}

/* The trace's functions are want's, in order, each frame proven (reliable),
 * and the walk ended with a reason. */
static void check_trace(const char *v, const char *whose, const struct vr_trace *t, const char *const *want)
{
	size_t n = 0;
	while (n < 24 && want[n])
		n++;
	CHECK(t->n_frames == n, "%s: %s: %zu frames, want %zu (%s)", v, whose, t->n_frames, n,
	      t->stop_reason ? t->stop_reason : "no stop reason");
	for (size_t i = 0; i < n && i < t->n_frames; i++) {
		const struct vr_frame *fr = &t->frames[i];
		CHECK(fr->symbol && !strcmp(fr->symbol, want[i]) && fr->reliable, "%s: %s: frame %zu is %s%s, want %s",
		      v, whose, i, fr->reliable ? "" : "? ", fr->symbol ? fr->symbol : "(none)", want[i]);
	}
	CHECK(t->stop_reason && strstr(t->stop_reason, "frame pointer"), "%s: %s: stop reason %s", v, whose,
	      t->stop_reason ? t->stop_reason : "(none)");
}

static void check_collectors(const struct fixture *fx)
{
	struct vr_diag diag = { 0 };
	struct vr_kernel *k = open_fixture(fx, &diag, false);
	if (!k)
		return;
	struct vr_facts f = { 0 };
	vr_kernel_collect(k, &f, &diag);
	const char *v = fx->version;
	for (size_t i = 0; i < diag.n_steps; i++) {
		const struct vr_step *s = &diag.steps[i];
		if (!strcmp(s->name, "log") || !strcmp(s->name, "tasks") || !strcmp(s->name, "modules") ||
		    !strcmp(s->name, "panic") || !strcmp(s->name, "vmcoreinfo") || !strcmp(s->name, "address-space"))
			CHECK(!strcmp(s->status, "ok"), "%s: step %s: %s: %s", v, s->name, s->status,
			      s->reason ? s->reason : "");
	}

	CHECK(f.system.release && !strcmp(f.system.release, fx->release), "%s: release %s", v,
	      f.system.release ? f.system.release : "(null)");
	CHECK(f.system.cpus == fx->cpus, "%s: %d cpus", v, f.system.cpus);
	CHECK(f.system.taint_known && f.system.taint_mask == fx->taint, "%s: taint 0x%llx", v,
	      (unsigned long long)f.system.taint_mask);

	CHECK(f.log.n_records == fx->log_records, "%s: %zu log records", v, f.log.n_records);
	bool line = false;
	for (size_t i = 0; i < f.log.n_records; i++)
		line |= f.log.records[i].text && !strcmp(f.log.records[i].text, fx->log_line);
	CHECK(line, "%s: no log record \"%s\"", v, fx->log_line);

	size_t want_tasks = 0;
	for (const struct want_task *w = fx->tasks; w->comm; w++, want_tasks++) {
		const struct vr_task *t = NULL;
		for (size_t i = 0; i < f.n_tasks && !t; i++)
			if (f.tasks[i].pid == w->pid && !strcmp(f.tasks[i].comm, w->comm))
				t = &f.tasks[i];
		CHECK(t, "%s: no task %d %s", v, w->pid, w->comm);
		if (t)
			CHECK(t->tgid == w->tgid && t->cpu == w->cpu && t->state == w->state,
			      "%s: task %d %s: tgid %d cpu %d state %c, want %d %d %c", v, w->pid, w->comm, t->tgid,
			      t->cpu, t->state, w->tgid, w->cpu, w->state);
	}
	CHECK(f.n_tasks == want_tasks, "%s: %zu tasks, want %zu", v, f.n_tasks, want_tasks);

	size_t want_mods = 0;
	for (size_t i = 0; fx->modules[i]; i++, want_mods++) {
		const struct vr_module *m = i < f.n_modules ? &f.modules[i] : NULL;
		CHECK(m && !strcmp(m->name, fx->modules[i]), "%s: module %zu is %s, want %s", v, i,
		      m ? m->name : "(none)", fx->modules[i]);
		if (!m)
			continue;
		CHECK(m->state && !strcmp(m->state, "live"), "%s: module %s state %s", v, m->name,
		      m->state ? m->state : "(null)");
		CHECK(m->taints && !strcmp(m->taints, fx->module_taints[i]), "%s: module %s taints %s", v, m->name,
		      m->taints ? m->taints : "(null)");
		struct vr_kernel_layout lay;
		CHECK(succeeds(vr_kernel_get_layout(k, &lay)));
		CHECK(m->base >= lay.modules_start - (1ull << 30) && m->size >= 4096, "%s: module %s at 0x%llx size %llu",
		      v, m->name, (unsigned long long)m->base, (unsigned long long)m->size);
	}
	CHECK(f.n_modules == want_mods, "%s: %zu modules", v, f.n_modules);
	/* the first module's own symbol table names its functions */
	if (f.n_modules) {
		struct vr_symbol s;
		CHECK(vr_symbols_lookup_addr(k, f.modules[0].base + 0x110, &s) && s.module &&
		      !strcmp(s.module, f.modules[0].name) && s.address == f.modules[0].base + 0x100,
		      "%s: module %s's symbols", v, f.modules[0].name);
	}

	CHECK(f.panic.cpu == fx->panic_cpu && f.panic.pid == fx->panic_pid && f.panic.comm &&
	      !strcmp(f.panic.comm, fx->panic_comm), "%s: panic CPU %d pid %d comm %s", v, f.panic.cpu, f.panic.pid,
	      f.panic.comm ? f.panic.comm : "(null)");
	if (fx->panic_trace[0]) {
		for (size_t i = 0; i < diag.n_steps; i++)
			if (!strcmp(diag.steps[i].name, "cpus") || !strcmp(diag.steps[i].name, "blocked-tasks"))
				CHECK(!strcmp(diag.steps[i].status, "ok"), "%s: step %s: %s: %s", v,
				      diag.steps[i].name, diag.steps[i].status,
				      diag.steps[i].reason ? diag.steps[i].reason : "");
		const struct vr_cpu *c = NULL;
		for (size_t i = 0; i < f.n_cpus; i++)
			if (f.cpus[i].cpu == fx->panic_cpu)
				c = &f.cpus[i];
		CHECK(c, "%s: no cpu %d", v, fx->panic_cpu);
		if (c)
			check_trace(v, "the panicking cpu", &c->trace, fx->panic_trace);
		const struct vr_task *t = NULL;
		for (size_t i = 0; i < f.n_tasks; i++)
			if (f.tasks[i].pid == fx->blocked_pid)
				t = &f.tasks[i];
		CHECK(t, "%s: no task %d", v, fx->blocked_pid);
		if (t)
			check_trace(v, "the blocked task", &t->trace, fx->blocked_trace);
	}
	vr_facts_deinit(&f);
	vr_kernel_destroy(k);
	vr_diag_deinit(&diag);
}

int main(void)
{
	for (size_t i = 0; i < sizeof(fixtures) / sizeof(fixtures[0]); i++) {
		check_pinned_offsets(&fixtures[i]);
		check_vmcoreinfo_agrees(&fixtures[i]);
		check_lines(&fixtures[i], false);
		check_lines(&fixtures[i], true);
		check_collectors(&fixtures[i]);
	}
	return failures != 0;
}
