/* Fuzz target: ELF cores and their notes: the notes parser directly on the input (NT_PRSTATUS, VMCOREINFO, QEMU notes), and the input opened as an ELF dump (program headers, segments, vtop).
 * Built with libFuzzer under -DVR_FUZZ=ON, else as a replay program
 * (tests/fuzz/replay_main.c) run over tests/fuzz/corpus/elf_notes/. */
#include "fuzz_dump.h"
#include "engine/notes.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* seeds are whole ELF cores; the notes parser also sees every input raw */
	struct vr_notes n;
	if (!failed(vr_notes_parse(data, size, &n)))
		vr_notes_deinit(&n);
	fuzz_dump_open_and_read(data, size);
	return 0;
}
