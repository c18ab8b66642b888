/* Layouts and the vmlinux match check on real files, driven by
 * tests/real/types.sh and tests/real/vmlinux_match.sh, which give it the
 * files.
 *
 *   probe_types members SOURCE VMLINUX DUMP|- TYPE.MEMBER...
 *       SOURCE: all, btf, dwarf; prints "TYPE.MEMBER OFFSET SIZE" (decimal)
 *       or "TYPE.MEMBER error: MESSAGE"
 *   probe_types sizes SOURCE VMLINUX DUMP|- TYPE...
 *   probe_types memberat SOURCE VMLINUX DUMP|- TYPE OFFSET...
 *   probe_types enums SOURCE VMLINUX DUMP|- NAME...
 *   probe_types symmembers SOURCE VMLINUX DUMP|- SYMBOL.MEMBER...
 *       the member's offset and size in the type of the variable SYMBOL
 *   probe_types stacksize SOURCE VMLINUX DUMP|- -
 *       a task's stack size (vr_kernel_task_stack_size)
 *   probe_types match DUMP [VMLINUX]
 *       prints "match: M", "path: P", "build_id: B", "evidence: E"..., "warning: W"...
 */
#define _GNU_SOURCE
#include <libelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/dwarf.h"
#include "engine/debuginfo.h"
#include "engine/internal.h"

static struct vr_diag diag;

static struct vr_kernel *open_kernel(const char *vmlinux, const char *dump)
{
	struct vr_kernel *k;
	if (dump && strcmp(dump, "-") != 0) {
		const char *paths[] = { dump };
		struct vr_open_options o = {
			.dump_paths = paths,
			.n_dump_paths = 1,
			.vmlinux_path = vmlinux && strcmp(vmlinux, "-") ? vmlinux : NULL,
			.no_discovery = vmlinux && strcmp(vmlinux, "-") != 0,
		};
		struct vr_error *err = vr_kernel_open(&o, &diag, &k);
		if (err) {
			fprintf(stderr, "opening %s: %s\n", dump, err->message);
			exit(2);
		}
		return k;
	}
	/* A vmlinux alone: a kernel object without memory. */
	elf_version(EV_CURRENT);
	k = calloc(1, sizeof(*k));
	k->vmlinux_fd = -1;
	k->diag = &diag;
	struct vr_error *err = vr_vmlinux_attach(k, vmlinux, true);
	if (err || !k->vmlinux_elf) {
		fprintf(stderr, "attaching %s: %s\n", vmlinux, err ? err->message : "not used");
		exit(2);
	}
	return k;
}

static void close_kernel(struct vr_kernel *k)
{
	if (k->dump) {
		vr_kernel_destroy(k);
		return;
	}
	vr_types_destroy(k->types);
	if (!k->btf_shared)
		vr_btf_destroy(k->btf);
	vr_dwarf_destroy(k->dwarf);
	vr_symtab_destroy(k->symtab);
	vr_debuginfo_put(k->debuginfo);
	elf_end(k->vmlinux_elf);
	close(k->vmlinux_fd);
	free(k->vmlinux_path);
	free(k->input.vmlinux_path);
	free(k->input.vmlinux_build_id);
	for (size_t i = 0; i < k->input.n_vmlinux_evidence; i++)
		free(k->input.vmlinux_evidence[i]);
	free(k->input.vmlinux_evidence);
	free(k);
}

static unsigned parse_source(const char *s)
{
	if (strcmp(s, "btf") == 0)
		return VR_TYPES_BTF;
	if (strcmp(s, "dwarf") == 0)
		return VR_TYPES_DWARF;
	if (strcmp(s, "vmcoreinfo") == 0)
		return VR_TYPES_VMCOREINFO;
	return VR_TYPES_VMCOREINFO | VR_TYPES_BTF | VR_TYPES_DWARF;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: probe_types COMMAND SOURCE VMLINUX DUMP|- ARGS... (see the source)\n");
		return 2;
	}
	const char *cmd = argv[1];
	if (strcmp(cmd, "match") == 0 && argc >= 3) {
		struct vr_kernel *k = open_kernel(argc >= 4 ? argv[3] : "-", argv[2]);
		const struct vr_input_info *in = vr_kernel_input(k);
		printf("match: %s\n", in->vmlinux_match ? in->vmlinux_match : "(null)");
		printf("path: %s\n", in->vmlinux_path ? in->vmlinux_path : "(null)");
		printf("build_id: %s\n", in->vmlinux_build_id ? in->vmlinux_build_id : "(null)");
		printf("used: %s\n", k->vmlinux_elf ? "yes" : "no");
		for (size_t i = 0; i < in->n_vmlinux_evidence; i++)
			printf("evidence: %s\n", in->vmlinux_evidence[i]);
		for (size_t i = 0; i < diag.n_warnings; i++)
			printf("warning: %s\n", diag.warnings[i]);
		close_kernel(k);
		vr_diag_deinit(&diag);
		return 0;
	}
	if (argc < 5) {
		fprintf(stderr, "usage: see the comment at the top of %s\n", __FILE__);
		return 1;
	}
	struct vr_kernel *k = open_kernel(argv[3], argv[4]);
	struct vr_error *err = vr_types_restrict(k, parse_source(argv[2]));
	if (err) {
		fprintf(stderr, "%s\n", err->message);
		return 1;
	}
	double t0 = vr_now_ms();
	for (int i = 5; i < argc; i++) {
		if (strcmp(cmd, "members") == 0) {
			_cleanup_free_ char *type = strdup(argv[i]);
			char *dot = strchr(type, '.');
			if (!dot) {
				printf("%s error: no member given\n", argv[i]);
				continue;
			}
			*dot = 0;
			struct vr_member m;
			err = vr_type_member(k, type, dot + 1, &m);
			if (err)
				printf("%s error: %s\n", argv[i], err->message);
			else
				printf("%s %llu %llu\n", argv[i], (unsigned long long)m.offset,
				       (unsigned long long)m.size);
		} else if (strcmp(cmd, "sizes") == 0) {
			uint64_t size;
			err = vr_type_size(k, argv[i], &size);
			if (err)
				printf("%s error: %s\n", argv[i], err->message);
			else
				printf("%s %llu\n", argv[i], (unsigned long long)size);
		} else if (strcmp(cmd, "memberat") == 0 && i + 1 < argc) {
			char *name = NULL;
			uint64_t off = strtoull(argv[i + 1], NULL, 0);
			err = vr_type_member_name(k, argv[i], off, &name);
			if (err)
				printf("%s+%s error: %s\n", argv[i], argv[i + 1], err->message);
			else
				printf("%s+%s %s\n", argv[i], argv[i + 1], name);
			free(name);
			i++;
		} else if (strcmp(cmd, "symmembers") == 0) {
			_cleanup_free_ char *sym = strdup(argv[i]);
			char *dot = strchr(sym, '.');
			if (!dot) {
				printf("%s error: no member given\n", argv[i]);
				continue;
			}
			*dot = 0;
			struct vr_member m;
			err = vr_type_symbol_member(k, sym, dot + 1, &m);
			if (err)
				printf("%s error: %s\n", argv[i], err->message);
			else
				printf("%s %llu %llu\n", argv[i], (unsigned long long)m.offset,
				       (unsigned long long)m.size);
		} else if (strcmp(cmd, "stacksize") == 0) {
			uint64_t size;
			err = vr_kernel_task_stack_size(k, &size);
			if (err)
				printf("stack error: %s\n", err->message);
			else
				printf("stack %llu\n", (unsigned long long)size);
		} else if (strcmp(cmd, "enums") == 0) {
			int64_t v;
			err = vr_type_enum_value(k, argv[i], &v);
			if (err)
				printf("%s error: %s\n", argv[i], err->message);
			else
				printf("%s %lld\n", argv[i], (long long)v);
		}
		vr_error_destroy(err);
		err = NULL;
	}
	fprintf(stderr, "lookups took %.1f ms\n", vr_now_ms() - t0);
	close_kernel(k);
	vr_diag_deinit(&diag);
	return 0;
}
