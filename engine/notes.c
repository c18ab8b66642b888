#include "notes.h"

#include <string.h>

#include "cursor.h"
#include "format.h"

/* Elf64_Nhdr: namesz, descsz, type; the name and the descriptor are each
 * padded to 4 bytes (the kernel's and QEMU's writers both use 4 for ELF64
 * core notes, see kernel/crash_core.c append_elf_note). */
#define NT_PRSTATUS 1
#define NOTE_ALIGN(x) (((x) + 3) & ~(uint64_t)3)

static bool name_is(const uint8_t *name, uint32_t namesz, const char *want)
{
	size_t n = strlen(want);
	/* namesz counts the terminating NUL; tolerate writers that omit it */
	if (namesz == n + 1)
		return memcmp(name, want, n) == 0 && name[n] == '\0';
	return namesz == n && memcmp(name, want, n) == 0;
}

static void regs_from_prstatus(const uint8_t *desc, struct vr_dump_cpu *cpu)
{
	/* pr_reg is struct user_regs_struct, whose order is enum vr_reg */
	cpu->pid = (int)vr_le32(desc + VR_PRSTATUS_PID);
	for (int r = 0; r < VR_NREGS; r++)
		cpu->regs.r[r] = vr_le64(desc + VR_PRSTATUS_REGS + 8 * r);
	cpu->regs.valid = true;
}

/* QEMUCPUState: version, size, then rax rbx rcx rdx rsi rdi rsp rbp r8..r15
 * rip rflags, ten segments of 24 bytes (selector, limit, flags, pad, base)
 * cs ds es fs gs ss ldt tr gdt idt, cr[5], kernel_gs_base. */
enum {
	Q_GPR = 8, Q_RIP = 136, Q_RFLAGS = 144, Q_SEG = 152, Q_SEGSZ = 24, Q_CR = 392,
};

static void regs_from_qemu(const uint8_t *desc, size_t descsz, struct vr_dump_cpu *cpu,
			   bool have_prstatus)
{
	static const enum vr_reg gpr[16] = {
		VR_RAX, VR_RBX, VR_RCX, VR_RDX, VR_RSI, VR_RDI, VR_RSP, VR_RBP,
		VR_R8, VR_R9, VR_R10, VR_R11, VR_R12, VR_R13, VR_R14, VR_R15,
	};
	if (!have_prstatus) {
		for (int i = 0; i < 16; i++)
			cpu->regs.r[gpr[i]] = vr_le64(desc + Q_GPR + 8 * i);
		cpu->regs.r[VR_RIP] = vr_le64(desc + Q_RIP);
		cpu->regs.r[VR_EFLAGS] = vr_le64(desc + Q_RFLAGS);
		static const enum vr_reg seg[6] = { VR_CS, VR_DS, VR_ES, VR_FS, VR_GS, VR_SS };
		for (int i = 0; i < 6; i++)
			cpu->regs.r[seg[i]] = vr_le32(desc + Q_SEG + Q_SEGSZ * i);
		cpu->regs.r[VR_FS_BASE] = vr_le64(desc + Q_SEG + Q_SEGSZ * 3 + 16);
		cpu->regs.r[VR_GS_BASE] = vr_le64(desc + Q_SEG + Q_SEGSZ * 4 + 16);
		cpu->regs.valid = true;
	}
	(void)descsz;
	cpu->regs.cr0 = vr_le64(desc + Q_CR);
	cpu->regs.cr2 = vr_le64(desc + Q_CR + 16);
	cpu->regs.cr3 = vr_le64(desc + Q_CR + 24);
	cpu->regs.cr4 = vr_le64(desc + Q_CR + 32);
	cpu->regs.has_cr = cpu->regs.has_cr0 = cpu->regs.has_cr4 = true;
}

static struct vr_error *cpu_at(struct vr_notes *n, size_t i, size_t *cap)
{
	if (i < n->n_cpus)
		return NULL;
	struct vr_error *err = vr_grow(&n->cpus, cap, i + 1, sizeof(*n->cpus), VR_MAX_CPUS);
	if (err)
		return err;
	for (size_t j = n->n_cpus; j <= i; j++) {
		memset(&n->cpus[j], 0, sizeof(n->cpus[j]));
		n->cpus[j].pid = -1;
	}
	n->n_cpus = i + 1;
	return NULL;
}

struct vr_error *vr_notes_parse(const uint8_t *buf, size_t len, struct vr_notes *ret)
{
	struct vr_notes n = { 0 };
	size_t cap = 0, n_prstatus = 0;
	uint64_t pos = 0;
	struct vr_error *err = NULL;

	while (pos < len) {
		if (len - pos < 12) {
			/* trailing padding of fewer than one header is harmless if zero */
			for (uint64_t i = pos; i < len; i++)
				if (buf[i]) {
					n.truncated = true;
					n.bad_offset = pos;
				}
			break;
		}
		uint32_t namesz = vr_le32(buf + pos), descsz = vr_le32(buf + pos + 4);
		uint32_t type = vr_le32(buf + pos + 8);
		uint64_t name_off = pos + 12;
		uint64_t desc_off = name_off + NOTE_ALIGN(namesz);
		uint64_t end = desc_off + NOTE_ALIGN(descsz);
		if (desc_off > len || end > len || desc_off + descsz > len) {
			n.truncated = true;
			n.bad_offset = pos;
			break;
		}
		const uint8_t *name = buf + name_off, *desc = buf + desc_off;
		if (namesz == 0 && descsz == 0 && type == 0) {
			pos = end; /* padding some writers leave between notes */
			continue;
		}
		if (type == NT_PRSTATUS && name_is(name, namesz, "CORE") &&
		    descsz >= VR_PRSTATUS_REGS + 8 * VR_NREGS) {
			err = cpu_at(&n, n_prstatus, &cap);
			if (err)
				goto fail;
			regs_from_prstatus(desc, &n.cpus[n_prstatus]);
			n_prstatus++;
		} else if (name_is(name, namesz, "VMCOREINFO") && !n.vmcoreinfo) {
			size_t l = strnlen((const char *)desc, descsz);
			if (l > VR_MAX_VMCOREINFO_BYTES)
				l = VR_MAX_VMCOREINFO_BYTES;
			n.vmcoreinfo = vr_strndup((const char *)desc, l);
			if (!n.vmcoreinfo) {
				err = &vr_error_oom;
				goto fail;
			}
			n.vmcoreinfo_len = l;
		} else if (name_is(name, namesz, "QEMU") && descsz >= Q_CR + 40) {
			/* QEMU writes every CPU's NT_PRSTATUS, then every CPU's
			 * QEMU note, in the same CPU order (dump/dump.c) */
			n.qemu = true;
			err = cpu_at(&n, n.n_qemu, &cap);
			if (err)
				goto fail;
			regs_from_qemu(desc, descsz, &n.cpus[n.n_qemu], n.n_qemu < n_prstatus);
			n.n_qemu++;
		}
		pos = end;
	}
	/* QEMU notes seen before the PRSTATUS notes filled regs from their
	 * own copy; a PRSTATUS note that came later overwrote them, keeping cr */
	*ret = n;
	return NULL;
fail:
	vr_notes_deinit(&n);
	return err;
}

void vr_notes_deinit(struct vr_notes *n)
{
	free(n->cpus);
	free(n->vmcoreinfo);
	memset(n, 0, sizeof(*n));
}
