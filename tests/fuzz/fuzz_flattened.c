/* Fuzz target: makedumpfile's flattened format (record index, overlapping records, the reconstructed kdump or ELF inside), via vr_dump_open().
 * Built with libFuzzer under -DVR_FUZZ=ON, else as a replay program
 * (tests/fuzz/replay_main.c) run over tests/fuzz/corpus/flattened/. */
#include "fuzz_dump.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_dump_open_and_read(data, size);
	return 0;
}
