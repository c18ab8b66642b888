/* Stack traces, whatever the architecture (engine-private): where an unwind
 * starts, handed to the architecture's unwinder (arch.h), and the frames of
 * tail calls inferred from the code around return addresses. */
#ifndef VR_UNWIND_H
#define VR_UNWIND_H

#include <stdbool.h>
#include <stdint.h>

#include "error.h"
#include "facts.h"

struct vr_kernel;

struct vr_unwind_start {
	struct vr_regs regs;
	int cpu;              /* whose IRQ/exception stacks apply; -1 none */
	uint64_t task_stack;  /* base of the task's stack, 0 unknown */
	bool call_frame;      /* the pc of regs is a return address */
	bool first_unreliable;/* the start was found by scanning */
	/* Registers known to be true (a CPU's saved registers) that a walk
	 * which guessed its way may prove right, NULL none. */
	const struct vr_regs *anchor;
};

/* Unwinds from s with the kernel's architecture, appending symbolized
 * frames to trace. */
struct vr_error *vr_unwind_from(struct vr_kernel *k, const struct vr_unwind_start *s,
				struct vr_trace *trace);

#endif
