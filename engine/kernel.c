/* The engine's pipeline: open the dump, establish the address space, attach
 * debug info, then run the collectors in order. Each step's outcome is
 * recorded in the diag list; a failing step never stops the others. */
#define _GNU_SOURCE
#include "internal.h"

#include <gelf.h>
#include <libelf.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static const char *step_status(const struct vr_error *err)
{
	if (!err)
		return "ok";
	return (err->code == VR_ERR_NOT_PRESENT || err->code == VR_ERR_FAULT) ? "partial" : "error";
}

/* Record a step; takes ownership of err. */
static void record(struct vr_diag *diag, const char *name, double t0, struct vr_error *err)
{
	double ms = vr_now_ms() - t0;
	if (err)
		vr_diag_step(diag, name, step_status(err), ms, "%s", err->message);
	else
		vr_diag_step(diag, name, "ok", ms, NULL);
	vr_error_destroy(err);
}

static void input_from_dump(struct vr_kernel *k, const char *path)
{
	const struct vr_dump_info *di = vr_dump_get_info(k->dump);
	struct vr_input_info *in = &k->input;
	in->path = vr_strdup(path);
	in->form = di->form;
	in->compression = di->compression;
	in->dump_level = di->dump_level;
	in->partial = di->incomplete;
	in->size_bytes = di->size_bytes;
	in->pages_total = di->pages_total;
	in->pages_present = di->pages_present;
	in->vmlinux_match = "unknown";
}

struct vr_error *vr_kernel_open(const struct vr_open_options *opts, struct vr_diag *diag,
				struct vr_kernel **ret)
{
	if (!opts->n_dump_paths)
		return vr_error_create(VR_ERR_USAGE, "no dump given");
	struct vr_kernel *k = calloc(1, sizeof(*k));
	if (!k)
		return &vr_error_oom;
	k->diag = diag;
	k->vmlinux_fd = -1;
	elf_version(EV_CURRENT);

	double t0 = vr_now_ms();
	struct vr_error *err = vr_dump_open(opts->dump_paths, opts->n_dump_paths, &k->dump);
	if (err) {
		free(k);
		return err;
	}
	input_from_dump(k, opts->dump_paths[0]);
	if (k->input.partial)
		vr_diag_warn(diag, "%s: the dump is marked incomplete: the capture was cut short",
			     opts->dump_paths[0]);
	record(diag, "open", t0, NULL);

	if (opts->n_module_dirs) {
		k->module_dirs = calloc(opts->n_module_dirs, sizeof(char *));
		for (size_t i = 0; k->module_dirs && i < opts->n_module_dirs; i++)
			k->module_dirs[k->n_module_dirs++] = vr_strdup(opts->module_dirs[i]);
	}

	if (!vr_dump_has_memory(k->dump)) {
		/* Kernel log text: nothing to translate or symbolise. */
		k->input.vmlinux_match = "unknown";
		*ret = k;
		return NULL;
	}

	t0 = vr_now_ms();
	size_t vlen = 0;
	const char *vtext = vr_dump_vmcoreinfo(k->dump, &vlen);
	if (vtext) {
		err = vr_vmcoreinfo_parse(vtext, vlen, &k->vmcoreinfo);
		if (err)
			err = vr_error_wrap(err, "%s: VMCOREINFO", opts->dump_paths[0]);
	} else {
		err = vr_error_create(VR_ERR_NOT_FOUND, "%s: the dump carries no VMCOREINFO",
				      opts->dump_paths[0]);
	}
	if (err)
		vr_diag_warn(diag, "%s", err->message);
	record(diag, "vmcoreinfo", t0, err);

	k->arch = &vr_arch_x86_64;
	t0 = vr_now_ms();
	err = k->arch->init(k);
	if (err)
		vr_diag_warn(diag, "address translation: %s", err->message);
	record(diag, "address-space", t0, err);

	t0 = vr_now_ms();
	err = vr_vmlinux_attach(k, opts->vmlinux_path, opts->no_discovery);
	record(diag, "vmlinux", t0, err);

	t0 = vr_now_ms();
	err = vr_symbols_load_kernel(k);
	if (err)
		vr_diag_warn(diag, "kernel symbols: %s", err->message);
	record(diag, "symbols", t0, err);

	*ret = k;
	return NULL;
}

void vr_kernel_destroy(struct vr_kernel *k)
{
	if (!k)
		return;
	vr_orc_destroy(k->orc);
	vr_types_destroy(k->types);
	vr_btf_destroy(k->btf);
	vr_dwarf_destroy(k->dwarf);
	vr_symtab_destroy(k->symtab);
	if (k->vmlinux_elf)
		elf_end(k->vmlinux_elf);
	if (k->vmlinux_fd >= 0)
		close(k->vmlinux_fd);
	free(k->vmlinux_path);
	vr_memory_deinit(k);
	vr_vmcoreinfo_destroy(k->vmcoreinfo);
	vr_dump_destroy(k->dump);
	for (size_t i = 0; i < k->n_module_dirs; i++)
		free(k->module_dirs[i]);
	free(k->module_dirs);
	struct vr_input_info *in = &k->input;
	free(in->path);
	free(in->vmlinux_path);
	free(in->vmlinux_build_id);
	for (size_t i = 0; i < in->n_vmlinux_evidence; i++)
		free(in->vmlinux_evidence[i]);
	free(in->vmlinux_evidence);
	free(k);
}

const struct vr_input_info *vr_kernel_input(const struct vr_kernel *k)
{
	return &k->input;
}

bool vr_kernel_has_memory(const struct vr_kernel *k)
{
	return k && k->dump && vr_dump_has_memory(k->dump);
}

struct collector {
	const char *name;
	struct vr_error *(*run)(struct vr_kernel *k, struct vr_facts *f);
	bool needs_memory;
};

/* Order matters: the unwinder reads tasks and modules (module symbols and
 * ORC tables); the panic context cross-checks the log, cpus and tasks. */
static const struct collector collectors[] = {
	{"system", vr_collect_system, true},
	{"log", vr_collect_log, false},
	{"modules", vr_collect_modules, true},
	{"tasks", vr_collect_tasks, true},
	{"cpus", vr_collect_cpus, true},
	{"blocked-tasks", vr_collect_blocked, true},
	{"panic", vr_collect_panic, false},
};

void vr_kernel_collect(struct vr_kernel *k, struct vr_facts *facts, struct vr_diag *diag)
{
	k->facts = facts;
	if (!vr_dump_has_memory(k->dump)) {
		size_t len = 0;
		const char *text = vr_dump_text(k->dump, &len);
		if (text) {
			facts->text = vr_strndup(text, len);
			facts->text_len = facts->text ? len : 0;
		}
	}
	for (size_t i = 0; i < sizeof(collectors) / sizeof(collectors[0]); i++) {
		const struct collector *c = &collectors[i];
		if (c->needs_memory && !vr_dump_has_memory(k->dump)) {
			vr_diag_step(diag, c->name, "skipped", 0, "the input is a kernel log, not a memory dump");
			continue;
		}
		double t0 = vr_now_ms();
		struct vr_error *err = c->run(k, facts);
		if (err && (err->code == VR_ERR_NOT_PRESENT || err->code == VR_ERR_FAULT))
			k->input.partial = true;
		record(diag, c->name, t0, err);
	}
}
