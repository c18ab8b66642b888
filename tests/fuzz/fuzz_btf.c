/* Fuzz target: the BTF parser and its lookups.
 * Built with libFuzzer under -DVR_FUZZ=ON, else as a replay program
 * (tests/fuzz/replay_main.c) run over tests/fuzz/corpus/btf/. */
#include <stdint.h>
#include <stdlib.h>

#include "failed.h"
#include "engine/btf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vr_btf *btf = NULL;
	if (failed(vr_btf_create(data, size, &btf)))
		return 0;
	uint32_t n = vr_btf_n_types(btf);
	for (uint32_t id = 0; id < n && id < 2000; id++) {
		int kind;
		const char *name;
		uint64_t size_ret;
		struct vr_btf_member m;
		char *at = NULL;
		if (vr_btf_type_info(btf, id, &kind, &name))
			failed(vr_btf_find_type(btf, name, &(uint32_t){ 0 }));
		failed(vr_btf_type_size(btf, id, &size_ret));
		failed(vr_btf_member(btf, id, "next", &m));
		failed(vr_btf_member(btf, id, "a.b[1].c", &m));
		if (!failed(vr_btf_member_at(btf, id, 8, &at)))
			free(at);
	}
	uint32_t id;
	int64_t v;
	failed(vr_btf_find_struct(btf, "task_struct", &id));
	failed(vr_btf_enum_value(btf, "MODULE_STATE_LIVE", &v));
	vr_btf_destroy(btf);
	return 0;
}
