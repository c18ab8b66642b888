/* The DWARF CFI fallback of the unwinder against ORC, on a real dump and
 * its vmlinux; driven by tests/real/cfi.sh.
 *
 *   probe_cfi entries DUMP VMLINUX
 *       for sampled addresses of every kernel function, the ORC entry and
 *       the entry derived from .debug_frame; prints "compared N agree M"
 *   probe_cfi bt DUMP VMLINUX orc|cfi
 *       every CPU's backtrace, one "CPU N: sym sym ..." line each, unwound
 *       with ORC (and CFI where ORC has nothing) or with CFI alone */
#include <stdio.h>
#include <string.h>

#include "engine/internal.h"
#include "engine/x86_64_cfi.h"
#include "engine/x86_64.h"
#include "engine/x86_64_orc.h"

static struct vr_kernel *open_kernel(const char *dump, const char *vmlinux, struct vr_diag *diag)
{
	const char *paths[] = {dump};
	struct vr_open_options o = {.dump_paths = paths, .n_dump_paths = 1, .vmlinux_path = vmlinux,
				    .no_discovery = true};
	struct vr_kernel *k = NULL;
	struct vr_error *err = vr_kernel_open(&o, diag, &k);
	if (err) {
		fprintf(stderr, "probe_cfi: %s\n", err->message);
		vr_error_destroy(err);
		return NULL;
	}
	if (!k->vmlinux_elf) {
		fprintf(stderr, "probe_cfi: %s was not used\n", vmlinux);
		vr_kernel_destroy(k);
		return NULL;
	}
	return k;
}

static int entries(struct vr_kernel *k)
{
	struct vr_orc *orc = NULL;
	struct vr_error *err = vr_orc_load(k, &orc);
	if (err) {
		fprintf(stderr, "probe_cfi: ORC: %s\n", err->message);
		vr_error_destroy(err);
		return 1;
	}
	uint64_t stext = 0, etext = 0;
	if (!vr_symbols_lookup_name(k, "_stext", &stext) || !vr_symbols_lookup_name(k, "_etext", &etext)) {
		fprintf(stderr, "probe_cfi: no _stext/_etext\n");
		vr_orc_destroy(orc);
		return 1;
	}
	unsigned long compared = 0, agree = 0, cfi_missing = 0;
	/* A stride that is not a multiple of any alignment samples every
	 * kind of instruction position. */
	for (uint64_t ip = stext; ip < etext && compared < 20000; ip += 4093) {
		struct vr_orc_entry o, c;
		if (!vr_orc_find(orc, ip, &o) || o.type != VR_ORC_TYPE_CALL || o.sp_reg != VR_ORC_REG_SP)
			continue;
		if (!vr_cfi_orc_entry(k, ip, &c)) {
			cfi_missing++;
			continue;
		}
		compared++;
		if (c.sp_reg == o.sp_reg && c.sp_offset == o.sp_offset)
			agree++;
		else if (compared - agree <= 5)
			printf("differ at 0x%016llx: ORC sp%+d, CFI %s%+d\n", (unsigned long long)ip,
			       o.sp_offset, c.sp_reg == VR_ORC_REG_SP ? "sp" : "bp", c.sp_offset);
	}
	printf("compared %lu agree %lu (no CFI row at %lu)\n", compared, agree, cfi_missing);
	vr_orc_destroy(orc);
	return 0;
}

static int bt(struct vr_kernel *k, struct vr_diag *diag, bool cfi_only)
{
	k->unwind_without_orc = cfi_only;
	struct vr_facts f = {0};
	vr_kernel_collect(k, &f, diag);
	for (size_t i = 0; i < f.n_cpus; i++) {
		printf("CPU %d:", f.cpus[i].cpu);
		for (size_t j = 0; j < f.cpus[i].trace.n_frames; j++) {
			const struct vr_frame *fr = &f.cpus[i].trace.frames[j];
			if (fr->reliable)
				printf(" %s", fr->symbol ? fr->symbol : "?");
		}
		printf("\n");
	}
	vr_facts_deinit(&f);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 4) {
		fprintf(stderr, "usage: probe_cfi entries DUMP VMLINUX | bt DUMP VMLINUX orc|cfi\n");
		return 2;
	}
	struct vr_diag diag = {0};
	struct vr_kernel *k = open_kernel(argv[2], argv[3], &diag);
	if (!k)
		return 1;
	int rc;
	if (!strcmp(argv[1], "entries"))
		rc = entries(k);
	else if (!strcmp(argv[1], "bt") && argc >= 5)
		rc = bt(k, &diag, !strcmp(argv[4], "cfi"));
	else
		rc = 2;
	vr_kernel_destroy(k);
	vr_diag_deinit(&diag);
	return rc;
}
