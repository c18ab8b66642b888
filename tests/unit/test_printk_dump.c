/* With VR_TEST_DUMP set (and optionally VR_TEST_VMLINUX): opens that dump,
 * collects the facts and prints the kernel log as `vmreport --log` does
 * (to VR_TEST_LOG_OUT, default stdout), then a summary of the kernel-state
 * facts as "key: value" lines on stderr. Without VR_TEST_DUMP it checks
 * nothing and passes, so it can live among the unit tests. Used by
 * tests/real/log_vs_makedumpfile.sh before the command line had --log. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/kernel.h"
#include "engine/log.h"

int main(void)
{
	const char *path = getenv("VR_TEST_DUMP");
	if (!path || !*path)
		return 0;
	const char *paths[] = {path};
	struct vr_open_options o = {.dump_paths = paths, .n_dump_paths = 1,
				    .vmlinux_path = getenv("VR_TEST_VMLINUX"), .no_discovery = true};
	if (o.vmlinux_path && !*o.vmlinux_path)
		o.vmlinux_path = NULL;
	struct vr_diag diag = {0};
	struct vr_kernel *k = NULL;
	struct vr_error *err = vr_kernel_open(&o, &diag, &k);
	if (err) {
		fprintf(stderr, "open: %s\n", err->message);
		return 2;
	}
	struct vr_facts f = {0};
	vr_kernel_collect(k, &f, &diag);
	const char *out = getenv("VR_TEST_LOG_OUT");
	FILE *lf = out && *out ? fopen(out, "w") : stdout;
	if (!lf)
		return 2;
	vr_log_render(&f.log, lf);
	if (lf != stdout)
		fclose(lf);
	const struct vr_system *s = &f.system;
	fprintf(stderr, "release: %s\nversion: %s\nmachine: %s\nnodename: %s\n", s->release, s->version,
		s->machine, s->nodename);
	fprintf(stderr, "cpus: %d online %d\nmemory: %llu\nuptime: %.2f\ncrash_time: %lld\n", s->cpus,
		s->cpus_online, (unsigned long long)s->memory_bytes, s->uptime_s, (long long)s->crash_time);
	fprintf(stderr, "load: %.2f %.2f %.2f (%d)\ntasks: %lld\ntaint: %#llx %s\n", s->load_average[0],
		s->load_average[1], s->load_average[2], s->load_known, (long long)s->tasks,
		(unsigned long long)s->taint_mask, s->taint_letters);
	fprintf(stderr, "log: %zu records from %s\n", f.log.n_records, f.log.source);
	fprintf(stderr, "panic: cpu %d pid %d comm %s task %#llx msg %s\n", f.panic.cpu, f.panic.pid, f.panic.comm,
		(unsigned long long)f.panic.task, f.panic.message);
	for (size_t i = 0; i < f.panic.n_sources; i++)
		fprintf(stderr, "panic source: %s\n", f.panic.sources[i]);
	for (size_t i = 0; i < f.n_modules; i++) {
		const struct vr_module *m = &f.modules[i];
		fprintf(stderr, "module: %#llx %s %#llx %llu %s taints=%s oot=%d sig=%d ver=%s src=%s text=%#llx+%llu\n",
			(unsigned long long)m->addr, m->name, (unsigned long long)m->base,
			(unsigned long long)m->size, m->state, m->taints, m->out_of_tree, m->sig_ok, m->version,
			m->srcversion, (unsigned long long)m->text_base, (unsigned long long)m->text_size);
	}
	for (size_t i = 0; i < f.n_tasks; i++) {
		const struct vr_task *t = &f.tasks[i];
		fprintf(stderr, "task: %d %d %c cpu=%d %#llx %s%s%s blocked=%.3f sp=%#llx stack=%#llx\n", t->pid,
			t->tgid, t->state, t->cpu, (unsigned long long)t->task, t->comm, t->is_current ? " current" : "",
			t->is_idle ? " idle" : "", t->blocked_s, (unsigned long long)t->sp,
			(unsigned long long)t->stack);
	}
	for (size_t i = 0; i < diag.n_steps; i++)
		fprintf(stderr, "step: %s %s %s\n", diag.steps[i].name, diag.steps[i].status,
			diag.steps[i].reason ? diag.steps[i].reason : "");
	for (size_t i = 0; i < diag.n_warnings; i++)
		fprintf(stderr, "warning: %s\n", diag.warnings[i]);
	vr_facts_deinit(&f);
	vr_kernel_destroy(k);
	vr_diag_deinit(&diag);
	return 0;
}
