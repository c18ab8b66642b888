/* The unwinding members of vr_arch_x86_64 (arch.h, which says what each
 * does): the ORC walker (x86_64_orc.h) bound to a dump, the kernel's
 * stacks, its tables and its memory (engine-private). */
#ifndef VR_X86_64_UNWIND_H
#define VR_X86_64_UNWIND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arch.h"
#include "error.h"
#include "facts.h"
#include "unwind.h"
#include "x86_64_orc.h"

struct vr_kernel;

struct vr_error *vr_x86_64_unwind_prepare(struct vr_kernel *k);
/* Whether the kernel has no ORC, so that stacks are walked by DWARF CFI
 * and, where it has nothing, by the frame-pointer chain (x86-64 kernels
 * before 4.14 are built with CONFIG_FRAME_POINTER). */
bool vr_x86_64_frame_pointers(struct vr_kernel *k);
struct vr_error *vr_x86_64_unwind(struct vr_kernel *k, const struct vr_unwind_start *s,
				  struct vr_trace *trace);
size_t vr_x86_64_stacks(struct vr_kernel *k, int cpu, uint64_t task_stack, struct vr_stack_span *ret);
/* The per-CPU current_task of cpu. */
struct vr_error *vr_x86_64_current_task(struct vr_kernel *k, int cpu, uint64_t *ret);
/* The base of the stack of the task current on cpu (0 unknown): from the
 * task list, else from the CPU's own record of its top. */
uint64_t vr_x86_64_task_stack(struct vr_kernel *k, int cpu);
/* kdump saves for each CPU the registers of the code it interrupted (the
 * crash NMI's or the oops' pt_regs), not where the CPU stopped. When such a
 * pt_regs is found on one of the CPU's stacks, returns a start in the
 * function that stopped the CPU (crash_nmi_callback, machine_kexec...)
 * whose walk passes through it, like crash's "bt" shows. */
bool vr_x86_64_crash_start(struct vr_kernel *k, int cpu, uint64_t task_stack,
			   const struct vr_regs *regs, struct vr_regs *ret);
struct vr_error *vr_x86_64_switch_frame(struct vr_kernel *k, const struct vr_task *t,
					struct vr_unwind_start *ret);
bool vr_x86_64_call_target(struct vr_kernel *k, uint64_t ret, uint64_t *target);

#endif
