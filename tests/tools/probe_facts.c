/* The facts the engine's collectors establish, one per line, for
 * tests/fixtures/old_kernels.sh (what crash's sys, ps and mod show):
 *
 *   probe_facts DUMP [VMLINUX]
 *       "release R", "cpus N", "taint MASK", "log RECORDS",
 *       "task PID TGID CPU STATE CURRENT COMM" for every task,
 *       "module NAME BASE SIZE STATE TAINTS SYMBOLS" for every module
 *       (SYMBOLS: how many of its symbols the symbol layer holds),
 *       "panic CPU PID COMM", and "step NAME STATUS REASON" for every
 *       collector that was not ok
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "engine/internal.h"

int main(int argc, char **argv)
{
	if (argc != 2 && argc != 3) {
		fprintf(stderr, "usage: probe_facts DUMP [VMLINUX]\n");
		return 2;
	}
	struct vr_diag diag = { 0 };
	const char *paths[] = { argv[1] };
	struct vr_open_options o = { .dump_paths = paths, .n_dump_paths = 1, .vmlinux_path = argc == 3 ? argv[2] : NULL,
				     .no_discovery = true };
	struct vr_kernel *k;
	struct vr_error *err = vr_kernel_open(&o, &diag, &k);
	if (err) {
		fprintf(stderr, "opening %s: %s\n", argv[1], err->message);
		return 2;
	}
	struct vr_facts f = { 0 };
	vr_kernel_collect(k, &f, &diag);
	const struct vr_system *s = &f.system;
	printf("release %s\ncpus %d\ntaint 0x%" PRIx64 "\nlog %zu\n", s->release ? s->release : "?", s->cpus,
	       s->taint_mask, f.log.n_records);
	for (size_t i = 0; i < f.n_tasks; i++) {
		const struct vr_task *t = &f.tasks[i];
		printf("task %d %d %d %c %d %s\n", t->pid, t->tgid, t->cpu, t->state, t->is_current, t->comm);
	}
	for (size_t i = 0; i < f.n_modules; i++) {
		const struct vr_module *m = &f.modules[i];
		size_t syms = 0;
		struct vr_symbol sym;
		for (uint64_t a = m->base; a && a < m->base + m->size; a += 16)
			if (vr_symbols_lookup_addr(k, a, &sym) && sym.address == a && sym.module &&
			    !strcmp(sym.module, m->name))
				syms++;
		printf("module %s 0x%" PRIx64 " %" PRIu64 " %s %s %zu\n", m->name, m->base, m->size,
		       m->state ? m->state : "?", m->taints && *m->taints ? m->taints : "-", syms);
	}
	printf("panic %d %d %s\n", f.panic.cpu, f.panic.pid, f.panic.comm ? f.panic.comm : "?");
	for (size_t i = 0; i < diag.n_steps; i++)
		if (strcmp(diag.steps[i].status, "ok"))
			printf("step %s %s %s\n", diag.steps[i].name, diag.steps[i].status,
			       diag.steps[i].reason ? diag.steps[i].reason : "");
	vr_facts_deinit(&f);
	vr_kernel_destroy(k);
	vr_diag_deinit(&diag);
	return 0;
}
