/* Fuzz target: the VMCOREINFO parser and its typed accessors.
 * Built with libFuzzer under -DVR_FUZZ=ON, else as a replay program
 * (tests/fuzz/replay_main.c) run over tests/fuzz/corpus/vmcoreinfo/. */
#include <stdint.h>
#include <string.h>

#include "failed.h"
#include "engine/vmcoreinfo.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vr_vmcoreinfo *vi = NULL;
	if (failed(vr_vmcoreinfo_parse((const char *)data, size, &vi)))
		return 0;
	uint64_t u;
	int64_t s;
	size_t n = vr_vmcoreinfo_count(vi);
	for (size_t i = 0; i < n && i < 1000; i++) {
		const char *k = vr_vmcoreinfo_key_at(vi, i);
		(void)vr_vmcoreinfo_get(vi, k);
		(void)vr_vmcoreinfo_hex(vi, k, &u);
		(void)strlen(vr_vmcoreinfo_value_at(vi, i));
	}
	vr_vmcoreinfo_symbol(vi, "init_uts_ns", &u);
	vr_vmcoreinfo_offset(vi, "printk_info", "ts_nsec", &u);
	vr_vmcoreinfo_size(vi, "printk_info", &u);
	vr_vmcoreinfo_length(vi, "mem_section", &u);
	vr_vmcoreinfo_number(vi, "phys_base", &s);
	vr_vmcoreinfo_hex(vi, "KERNELOFFSET", &u);
	vr_vmcoreinfo_destroy(vi);
	return 0;
}
