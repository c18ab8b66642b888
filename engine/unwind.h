/* The ORC walker (unwind_orc.h) bound to a dump: the kernel's stacks, its
 * tables and its memory (engine-private). */
#ifndef VR_UNWIND_H
#define VR_UNWIND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "facts.h"
#include "unwind_orc.h"

struct vr_kernel;

struct vr_unwind_start {
	struct vr_regs regs;
	int cpu;              /* whose IRQ/exception stacks apply; -1 none */
	uint64_t task_stack;  /* base of the task's stack, 0 unknown */
	bool call_frame;      /* regs.r[VR_RIP] is a return address */
	bool first_unreliable;/* the start was found by scanning */
	const struct vr_regs *anchor; /* see struct vr_unwinder */
};
struct vr_error *vr_unwind_from(struct vr_kernel *k, const struct vr_unwind_start *s,
				struct vr_trace *trace);
/* The stacks of cpu (IRQ, exception, entry) and of the task whose stack
 * starts at task_stack (0: none); returns how many were found. */
size_t vr_unwind_stacks(struct vr_kernel *k, int cpu, uint64_t task_stack,
			struct vr_stack_range out[VR_STACK_N]);
/* Whether the kernel has no ORC, so that stacks are walked by DWARF CFI
 * and, where it has nothing, by the frame-pointer chain (x86-64 kernels
 * before 4.14 are built with CONFIG_FRAME_POINTER). */
bool vr_unwind_frame_pointers(struct vr_kernel *k);
/* The per-CPU current_task of cpu. */
struct vr_error *vr_unwind_current_task(struct vr_kernel *k, int cpu, uint64_t *ret);
/* The base of the stack of the task current on cpu (0 unknown): from the
 * task list, else from the CPU's own record of its top. */
uint64_t vr_unwind_task_stack(struct vr_kernel *k, int cpu);
/* kdump saves for each CPU the registers of the code it interrupted (the
 * crash NMI's or the oops' pt_regs), not where the CPU stopped. When such a
 * pt_regs is found on one of the CPU's stacks, returns a start in the
 * function that stopped the CPU (crash_nmi_callback, machine_kexec...)
 * whose walk passes through it, like crash's "bt" shows. */
bool vr_unwind_crash_start(struct vr_kernel *k, int cpu, uint64_t task_stack,
			   const struct vr_regs *regs, struct vr_regs *ret);

#endif
