/* VMCOREINFO: the kernel's KEY=VALUE note about itself (kernel/vmcore_info.c,
 * arch/x86/kernel/crash.c). Engine-private. */
#ifndef VR_VMCOREINFO_H
#define VR_VMCOREINFO_H

#include "error.h"

struct vr_vmcoreinfo;

struct vr_error *vr_vmcoreinfo_parse(const char *text, size_t len, struct vr_vmcoreinfo **ret);
void vr_vmcoreinfo_destroy(struct vr_vmcoreinfo *vi);

/* Raw value of an exact key: "OSRELEASE", "SYMBOL(init_uts_ns)",
 * "OFFSET(printk_info.ts_nsec)", "NUMBER(phys_base)"... NULL if absent. */
const char *vr_vmcoreinfo_get(const struct vr_vmcoreinfo *vi, const char *key);
/* Typed accessors; false when absent or malformed. SYMBOL() is hex,
 * OFFSET()/SIZE()/LENGTH() decimal, NUMBER() decimal (may be negative),
 * KERNELOFFSET hex. */
bool vr_vmcoreinfo_symbol(const struct vr_vmcoreinfo *vi, const char *name, uint64_t *ret);
bool vr_vmcoreinfo_offset(const struct vr_vmcoreinfo *vi, const char *type, const char *member,
			  uint64_t *ret);
bool vr_vmcoreinfo_size(const struct vr_vmcoreinfo *vi, const char *type, uint64_t *ret);
bool vr_vmcoreinfo_length(const struct vr_vmcoreinfo *vi, const char *name, uint64_t *ret);
bool vr_vmcoreinfo_number(const struct vr_vmcoreinfo *vi, const char *name, int64_t *ret);
bool vr_vmcoreinfo_hex(const struct vr_vmcoreinfo *vi, const char *key, uint64_t *ret);

size_t vr_vmcoreinfo_count(const struct vr_vmcoreinfo *vi);
const char *vr_vmcoreinfo_key_at(const struct vr_vmcoreinfo *vi, size_t i);
const char *vr_vmcoreinfo_value_at(const struct vr_vmcoreinfo *vi, size_t i);

#endif
