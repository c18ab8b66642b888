/* The table of architectures (arch.h) and what the engine asks of it
 * before it knows which one a dump is. */
#define _GNU_SOURCE
#include "arch.h"

#include <string.h>

#include "cursor.h"
#include "internal.h"
#include "notes.h"

const struct vr_arch *const vr_arches[] = {
	&vr_arch_x86_64,
	&vr_arch_arm64,
};
const size_t vr_n_arches = sizeof(vr_arches) / sizeof(vr_arches[0]);

const struct vr_arch *vr_arch_by_machine(uint16_t e_machine)
{
	for (size_t i = 0; e_machine && i < vr_n_arches; i++)
		if (vr_arches[i]->e_machine == e_machine)
			return vr_arches[i];
	return NULL;
}

struct vr_error *vr_arch_detect(uint16_t e_machine, const char *uts_machine,
				const struct vr_vmcoreinfo *vi, const struct vr_arch **ret)
{
	const struct vr_arch *a = vr_arch_by_machine(e_machine);
	if (!a && e_machine)
		return vr_error_create(VR_ERR_UNSUPPORTED, "ELF machine %u is no architecture vmreport reads",
				       e_machine);
	for (size_t i = 0; !a && uts_machine && uts_machine[0] && i < vr_n_arches; i++)
		if (!strcmp(vr_arches[i]->uts_machine, uts_machine))
			a = vr_arches[i];
	if (!a && uts_machine && uts_machine[0])
		return vr_error_create(VR_ERR_UNSUPPORTED, "machine \"%s\" is no architecture vmreport reads",
				       uts_machine);
	for (size_t i = 0; !a && vi && i < vr_n_arches; i++)
		if (vr_arches[i]->detect_vmcoreinfo && vr_arches[i]->detect_vmcoreinfo(vi))
			a = vr_arches[i];
	if (!a)
		return vr_error_create(VR_ERR_UNSUPPORTED,
				       "the dump names no architecture (no ELF machine, no utsname, and "
				       "VMCOREINFO matches none)");
	*ret = a;
	return NULL;
}

const struct vr_arch *vr_arch_for_text(const char *text, size_t len)
{
	const char *p = text, *end = text + len;
	char line[512];
	while (p && p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t l = (size_t)((nl ? nl : end) - p);
		if (l >= sizeof(line))
			l = sizeof(line) - 1;
		memcpy(line, p, l);
		line[l] = '\0';
		for (size_t i = 0; i < vr_n_arches; i++) {
			struct vr_regs r = {0};
			const struct vr_arch *a = vr_arches[i];
			if ((a->log_ip_line && a->log_ip_line(line, 0, &r)) ||
			    (a->log_regs_line && a->log_regs_line(line, &r)))
				return a;
		}
		p = nl ? nl + 1 : NULL;
	}
	return vr_arches[0];
}

const struct vr_arch_info *vr_kernel_arch(const struct vr_kernel *k)
{
	return k && k->arch ? k->arch->info : NULL;
}

struct vr_error *vr_kernel_vectors(struct vr_kernel *k, struct vr_vectors *ret)
{
	if (!k || !k->arch || !k->arch->vectors)
		return vr_error_create(VR_ERR_UNSUPPORTED, "%s has no table of exception vectors vmreport reads",
				       k && k->arch ? k->arch->info->label : "the architecture");
	return k->arch->vectors(k, ret);
}

struct vr_error *vr_kernel_cpu_protection(struct vr_kernel *k, const struct vr_regs *const *regs,
					  const char *const *who, size_t n, struct vr_protection *ret)
{
	*ret = (struct vr_protection){0};
	/* Without a kernel (a log read alone), the registers say whose. */
	const struct vr_arch *a = k ? k->arch : NULL;
	for (size_t i = 0; !a && i < n; i++)
		for (size_t j = 0; !a && regs[i]->set && j < vr_n_arches; j++)
			if (vr_arches[j]->info->regs == regs[i]->set)
				a = vr_arches[j];
	if (!a || !a->cpu_protection)
		return vr_error_create(VR_ERR_UNSUPPORTED, "%s has no CPU protection check",
				       a ? a->info->label : "the architecture");
	return a->cpu_protection(k, regs, who, n, ret);
}

void vr_protection_deinit(struct vr_protection *p)
{
	free(p->covered);
	for (size_t i = 0; i < p->n_evidence; i++)
		free(p->evidence[i]);
	free(p->evidence);
	*p = (struct vr_protection){0};
}

bool vr_arch_prstatus_frame(const uint8_t *desc, size_t len, const struct vr_regset *set, struct vr_regs *ret)
{
	if (len < VR_PRSTATUS_REGS + 8 * (size_t)set->n_frame)
		return false;
	ret->set = set;
	for (int r = 0; r < set->n_frame; r++)
		ret->r[r] = vr_le64(desc + VR_PRSTATUS_REGS + 8 * r);
	ret->valid = true;
	return true;
}
