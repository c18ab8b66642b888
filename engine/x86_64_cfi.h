/* DWARF call-frame information as the unwinder's fallback where ORC has no
 * entry. Engine-private. */
#ifndef VR_X86_64_CFI_H
#define VR_X86_64_CFI_H

#include "internal.h"
#include "x86_64_orc.h"

/* The ORC entry that the vmlinux's .debug_frame row at ip amounts to: the
 * caller's SP as an offset from SP or BP, where BP was saved, and the
 * return address at CFA - 8. False when there is no vmlinux with CFI, no
 * row covers ip, or the row says something ORC cannot (then the walker
 * goes on guessing as before). ip is a runtime (KASLR-relocated) address. */
bool vr_cfi_orc_entry(struct vr_kernel *k, uint64_t ip, struct vr_orc_entry *ret);

#endif
