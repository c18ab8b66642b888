/* The engine's pipeline: open the dump, establish the address space, attach
 * debug info, then run the collectors in order. Each step's outcome is
 * recorded in the diag list; a failing step never stops the others. */
#define _GNU_SOURCE
#include "debuginfo.h"
#include "internal.h"

#include <gelf.h>
#include <inttypes.h>
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

void vr_kernel_absorb_slow(struct vr_kernel *k, struct vr_error *err, const enum vr_error_code *codes,
			   size_t n)
{
	vr_error_absorb_slow(&k->fatal, err, codes, n);
}

struct vr_error *vr_kernel_take_fatal(struct vr_kernel *k)
{
	struct vr_error *err = k ? k->fatal : NULL;
	if (k)
		k->fatal = NULL;
	return err;
}

/* Record a step; takes ownership of err. An error absorbed while the step
 * ran (out of memory, or a code nobody expected) cut it short: what it
 * established before stays, and the step says it is partial and why. */
static void record(struct vr_kernel *k, struct vr_diag *diag, const char *name, double t0,
		   struct vr_error *err)
{
	double ms = vr_now_ms() - t0;
	struct vr_error *fatal = vr_kernel_take_fatal(k);
	if (fatal && (!err || (vr_error_is_fatal(fatal) && !vr_error_is_fatal(err)))) {
		vr_diag_step(diag, name, "partial", ms, "cut short: %s", fatal->message);
		vr_error_destroy(fatal);
		vr_error_destroy(err);
		return;
	}
	vr_error_destroy(fatal);
	if (err)
		vr_diag_step(diag, name, step_status(err), ms, "%s", err->message);
	else
		vr_diag_step(diag, name, "ok", ms, NULL);
	vr_error_destroy(err);
}

struct vr_error *vr_kernel_decode_saved(struct vr_kernel *k)
{
	size_t n = vr_dump_n_cpus(k->dump);
	if (!n)
		return NULL;
	k->saved = calloc(n, sizeof(*k->saved));
	if (!k->saved)
		return &vr_error_oom;
	k->n_saved = n;
	for (size_t i = 0; i < n; i++) {
		const struct vr_dump_cpu *dc = vr_dump_cpu(k->dump, i);
		struct vr_saved_cpu *sc = &k->saved[i];
		sc->pid = dc->pid;
		if (dc->prstatus_len)
			k->arch->prstatus(dc->prstatus, dc->prstatus_len, &sc->regs);
		if (dc->qemu_len && k->arch->qemu_note)
			k->arch->qemu_note(dc->qemu, dc->qemu_len, sc->regs.valid, &sc->regs);
	}
	return NULL;
}

static struct vr_error *input_from_dump(struct vr_kernel *k, const char *path)
{
	const struct vr_dump_info *di = vr_dump_get_info(k->dump);
	struct vr_input_info *in = &k->input;
	if (!(in->path = vr_strdup(path)))
		return &vr_error_oom;
	in->form = di->form;
	in->compression = di->compression;
	in->dump_level = di->dump_level;
	in->incomplete = di->incomplete;
	in->partial = di->incomplete || di->damage || di->filtered ||
		      (di->pages_total && di->pages_present < di->pages_total);
	in->size_bytes = di->size_bytes;
	in->pages_total = di->pages_total;
	in->pages_present = di->pages_present;
	in->vmlinux_match = "unknown";
	return NULL;
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
	k->whole_dwarf = opts->whole_dwarf;
	k->debuginfo_cache = opts->debuginfo;
	elf_version(EV_CURRENT);

	double t0 = vr_now_ms();
	struct vr_error *err = vr_dump_open(opts->dump_paths, opts->n_dump_paths, &k->dump);
	if (err) {
		free(k);
		return err;
	}
	if ((err = input_from_dump(k, opts->dump_paths[0]))) {
		vr_kernel_destroy(k);
		return err;
	}
	const struct vr_dump_info *di = vr_dump_get_info(k->dump);
	if (k->input.incomplete && di->pages_cut)
		vr_diag_warn(diag, "%s: the dump is cut short: %" PRIu64 " of its %" PRIu64
			     " dumped pages (%.0f%%) are lost with its end",
			     opts->dump_paths[0], di->pages_cut, di->pages_present + di->pages_cut,
			     100.0 * (double)di->pages_cut / (double)(di->pages_present + di->pages_cut));
	else if (k->input.incomplete)
		vr_diag_warn(diag, "%s: the dump is incomplete: the capture was cut short",
			     opts->dump_paths[0]);
	/* From here until the collectors are done, pages they need and the
	 * dump lacks are tallied (vr_kernel_note_miss()). */
	k->collecting = true;
	if (vr_dump_get_info(k->dump)->damage)
		vr_diag_warn(diag, "%s: %s", opts->dump_paths[0], vr_dump_get_info(k->dump)->damage);
	record(k, diag, "open", t0, NULL);

	if (opts->log_path && !(k->log_path = vr_strdup(opts->log_path))) {
		vr_kernel_destroy(k);
		return &vr_error_oom;
	}
	if (opts->n_module_dirs) {
		k->module_dirs = calloc(opts->n_module_dirs, sizeof(char *));
		for (size_t i = 0; k->module_dirs && i < opts->n_module_dirs; i++) {
			if (!(k->module_dirs[k->n_module_dirs] = vr_strdup(opts->module_dirs[i])))
				break;
			k->n_module_dirs++;
		}
		if (k->n_module_dirs < opts->n_module_dirs) {
			vr_kernel_destroy(k);
			return &vr_error_oom;
		}
	}
	if ((err = vr_dwarf_list_module_dirs(k))) {
		vr_kernel_destroy(k);
		return err;
	}

	if (!vr_dump_has_memory(k->dump)) {
		/* Kernel log text: nothing to translate or symbolise; its
		 * register dump says whose it is. */
		size_t tlen = 0;
		const char *text = vr_dump_text(k->dump, &tlen);
		k->arch = text ? vr_arch_for_text(text, tlen) : NULL;
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
	record(k, diag, "vmcoreinfo", t0, err);

	t0 = vr_now_ms();
	const struct vr_dump_info *dinfo = vr_dump_get_info(k->dump);
	err = vr_arch_detect(dinfo->e_machine, dinfo->machine, k->vmcoreinfo, &k->arch);
	if (err) {
		vr_kernel_destroy(k);
		return vr_error_wrap(err, "%s", opts->dump_paths[0]);
	}
	if ((err = vr_kernel_decode_saved(k))) {
		vr_kernel_destroy(k);
		return err;
	}
	err = k->arch->init(k);
	if (err)
		vr_diag_warn(diag, "address translation: %s", err->message);
	record(k, diag, "address-space", t0, err);

	t0 = vr_now_ms();
	err = vr_vmlinux_attach(k, opts->vmlinux_path, opts->no_discovery);
	record(k, diag, "vmlinux", t0, err);
	/* On another CPU while the symbols load and the collectors start. */
	if (k->vmlinux_elf)
		vr_types_prefetch_btf(k);

	t0 = vr_now_ms();
	err = vr_symbols_load_kernel(k);
	if (err)
		vr_diag_warn(diag, "kernel symbols: %s", err->message);
	record(k, diag, "symbols", t0, err);

	*ret = k;
	return NULL;
}

void vr_kernel_destroy(struct vr_kernel *k)
{
	if (!k)
		return;
	vr_orc_destroy(k->orc);
	vr_types_prefetch_end(k);
	vr_types_destroy(k->types);
	if (!k->btf_shared)
		vr_btf_destroy(k->btf);
	vr_dwarf_destroy(k->dwarf);
	vr_symtab_destroy(k->symtab);
	vr_debuginfo_put(k->debuginfo);
	if (k->vmlinux_elf)
		elf_end(k->vmlinux_elf);
	if (k->vmlinux_fd >= 0)
		close(k->vmlinux_fd);
	free(k->vmlinux_path);
	vr_memory_deinit(k);
	free(k->arch_state);
	free(k->saved);
	vr_vmcoreinfo_destroy(k->vmcoreinfo);
	vr_dump_destroy(k->dump);
	for (size_t i = 0; i < k->n_module_dirs; i++)
		free(k->module_dirs[i]);
	free(k->module_dirs);
	free(k->log_path);
	vr_input_deinit(&k->input);
	vr_error_destroy(k->fatal);
	free(k);
}

struct vr_error *vr_input_copy(const struct vr_input_info *src, struct vr_input_info *ret)
{
	*ret = *src;
	ret->path = src->path ? vr_strdup(src->path) : NULL;
	ret->vmlinux_path = src->vmlinux_path ? vr_strdup(src->vmlinux_path) : NULL;
	ret->vmlinux_build_id = src->vmlinux_build_id ? vr_strdup(src->vmlinux_build_id) : NULL;
	ret->vmlinux_evidence = src->n_vmlinux_evidence ? calloc(src->n_vmlinux_evidence, sizeof(char *)) : NULL;
	bool oom = (src->path && !ret->path) || (src->vmlinux_path && !ret->vmlinux_path) ||
		   (src->vmlinux_build_id && !ret->vmlinux_build_id) ||
		   (src->n_vmlinux_evidence && !ret->vmlinux_evidence);
	ret->n_vmlinux_evidence = ret->vmlinux_evidence ? src->n_vmlinux_evidence : 0;
	for (size_t i = 0; !oom && i < ret->n_vmlinux_evidence; i++)
		oom = !(ret->vmlinux_evidence[i] = vr_strdup(src->vmlinux_evidence[i]));
	if (oom) {
		vr_input_deinit(ret);
		return &vr_error_oom;
	}
	return NULL;
}

void vr_input_deinit(struct vr_input_info *in)
{
	free(in->path);
	free(in->vmlinux_path);
	free(in->vmlinux_build_id);
	for (size_t i = 0; i < in->n_vmlinux_evidence; i++)
		free(in->vmlinux_evidence[i]);
	free(in->vmlinux_evidence);
	*in = (struct vr_input_info){0};
}

const struct vr_input_info *vr_kernel_input(const struct vr_kernel *k)
{
	return &k->input;
}

bool vr_kernel_has_memory(const struct vr_kernel *k)
{
	return k && k->dump && vr_dump_has_memory(k->dump);
}

struct vr_error *vr_kernel_get_layout(struct vr_kernel *k, struct vr_kernel_layout *ret)
{
	if (!vr_kernel_has_memory(k) || !k->layout_ready)
		return vr_error_create(VR_ERR_NOT_FOUND, "the dump's address space is not established");
	*ret = k->layout;
	return NULL;
}

bool vr_kernel_has_vmlinux(const struct vr_kernel *k, bool *ret_confirmed)
{
	bool has = k && k->vmlinux_elf;
	if (ret_confirmed)
		*ret_confirmed = has && k->input.vmlinux_match && !strcmp(k->input.vmlinux_match, "yes");
	return has;
}

struct collector {
	const char *name;
	struct vr_error *(*run)(struct vr_kernel *k, struct vr_facts *f);
	bool needs_memory;
	bool needs_log;
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
	{"log-tasks", vr_collect_log_tasks, false, true},
};

/* What the missing pages cost, and when the filter took kernel data, why
 * and what to do. Dump levels leave out zero pages (1), page cache (2, 4),
 * user pages (8) and free pages (16), never the kernel's own data: a page
 * table, a task_struct or kernel stack, the log buffer. A makedumpfile
 * that misreads a kernel's page flags (one that does not support its
 * release) excludes them anyway. */
static void report_misses(struct vr_kernel *k, struct vr_diag *diag)
{
	const struct vr_misses *c = &k->miss_cut, *x = &k->miss_excluded;
	const struct vr_dump_info *di = vr_dump_get_info(k->dump);
	const char *path = vr_dump_path(k->dump);
	char first[64] = "";
	if (c->n) {
		if (c->first_vaddr)
			snprintf(first, sizeof(first), " (the first at 0x%" PRIx64 ")", c->first_vaddr);
		vr_diag_warn(diag, "%s: the cut cost %s%zu page%s of kernel data vmreport read%s%s",
			     path, c->more ? "more than " : "", c->n, c->n == 1 && !c->more ? "" : "s",
			     first,
			     k->log_path ? ""
					 : "; where the kernel log saved with it (vmcore-dmesg.txt, dmesg.T) "
					   "is at hand, keep it beside the dump or give its save directory: "
					   "what the cut lost is then taken from the log");
	}
	if (x->n && di->filtered) {
		const char *rel = k->facts && k->facts->system.release ? k->facts->system.release
				  : di->release[0]				    ? di->release
										    : "?";
		first[0] = '\0';
		if (x->first_vaddr)
			snprintf(first, sizeof(first), " (the first at 0x%" PRIx64 ")", x->first_vaddr);
		char level[32] = "";
		if (di->dump_level > 0)
			snprintf(level, sizeof(level), " (dump level %d)", di->dump_level);
		vr_diag_warn(diag,
			     "%s: the dump's filter%s excluded %s%zu page%s of kernel data "
			     "vmreport read%s; dump levels leave out only zero, page-cache, user and free "
			     "pages, so the makedumpfile that wrote it misread the memory of kernel %s, as "
			     "versions that do not support that release do: save with a makedumpfile that "
			     "supports it, or with dump level 1",
			     path, level, x->more ? "more than " : "", x->n,
			     x->n == 1 && !x->more ? "" : "s", first, rel);
	}
}

void vr_kernel_collect(struct vr_kernel *k, struct vr_facts *facts, struct vr_diag *diag)
{
	k->facts = facts;
	if (!vr_dump_has_memory(k->dump)) {
		size_t len = 0;
		const char *text = vr_dump_text(k->dump, &len);
		if (text) {
			facts->text = vr_memdup(text, len);
			facts->text_len = facts->text ? len : 0;
			if (!facts->text)
				vr_error_keep(&k->fatal, &vr_error_oom); /* the log step says so */
		}
	}
	for (size_t i = 0; i < sizeof(collectors) / sizeof(collectors[0]); i++) {
		const struct collector *c = &collectors[i];
		if (c->needs_memory && !vr_dump_has_memory(k->dump)) {
			vr_diag_step(diag, c->name, "skipped", 0, "the input is a kernel log, not a memory dump");
			continue;
		}
		if (c->needs_log && !facts->log.n_records) {
			vr_diag_step(diag, c->name, "skipped", 0, "no kernel log");
			continue;
		}
		double t0 = vr_now_ms();
		struct vr_error *err = c->run(k, facts);
		record(k, diag, c->name, t0, err);
	}
	k->collecting = false;
	report_misses(k, diag);
}
