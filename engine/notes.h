/* ELF notes of a crash dump (engine-private): NT_PRSTATUS per CPU, the
 * kernel's VMCOREINFO note, and QEMU's "QEMU" CPU-state notes. Used by the
 * ELF form (PT_NOTE) and the diskdump form (offset_note/size_note). */
#ifndef VR_NOTES_H
#define VR_NOTES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dump.h"
#include "error.h"

struct vr_notes {
	struct vr_dump_cpu *cpus;
	size_t n_cpus;
	char *vmcoreinfo;      /* NUL-terminated copy of the note, NULL if none */
	size_t vmcoreinfo_len;
	bool qemu;             /* QEMU CPU-state notes were present */
	size_t n_qemu;
	/* Where parsing stopped early on a malformed note (0 = read to the end);
	 * what came before it is kept. */
	bool truncated;
	uint64_t bad_offset;
};

/* Parses a buffer of notes (4-byte aligned Elf64_Nhdr records). Only
 * out-of-memory and limits fail; a malformed note ends parsing and sets
 * truncated. */
struct vr_error *vr_notes_parse(const uint8_t *buf, size_t len, struct vr_notes *ret);
void vr_notes_deinit(struct vr_notes *n);

/* struct elf_prstatus of 64-bit kernels (include/uapi/linux/elfcore.h):
 * pr_pid at 32, pr_reg (the architecture's registers) at 112. */
#define VR_PRSTATUS_PID 32
#define VR_PRSTATUS_REGS 112

#endif
