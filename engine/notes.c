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

/* Keeps a descriptor for the architecture to decode (arch.h). */
static void keep(uint8_t *to, size_t *to_len, const uint8_t *desc, size_t len)
{
	if (len > VR_DUMP_CPU_NOTE_MAX)
		len = VR_DUMP_CPU_NOTE_MAX;
	memcpy(to, desc, len);
	*to_len = len;
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
		    descsz > VR_PRSTATUS_REGS) {
			err = cpu_at(&n, n_prstatus, &cap);
			if (err)
				goto fail;
			struct vr_dump_cpu *cpu = &n.cpus[n_prstatus];
			cpu->pid = (int)vr_le32(desc + VR_PRSTATUS_PID);
			keep(cpu->prstatus, &cpu->prstatus_len, desc, descsz);
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
		} else if (name_is(name, namesz, "QEMU") && descsz >= 8) {
			/* QEMU writes every CPU's NT_PRSTATUS, then every CPU's
			 * QEMU note, in the same CPU order (dump/dump.c) */
			n.qemu = true;
			err = cpu_at(&n, n.n_qemu, &cap);
			if (err)
				goto fail;
			struct vr_dump_cpu *cpu = &n.cpus[n.n_qemu];
			keep(cpu->qemu, &cpu->qemu_len, desc, descsz);
			n.n_qemu++;
		}
		pos = end;
	}
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
