/* Architectures (engine-private): what the engine must know of a CPU
 * architecture to read a dump of its kernel, one table per architecture.
 * Everything that differs between architectures is reached through
 * k->arch; no other file of the engine or the analyzers tests for one.
 *
 * How to add an architecture:
 *  1. Write engine/NAME.c (NAME as `uname -m` prints it; helpers that grow
 *     large go in engine/NAME_*.c) defining `const struct vr_arch
 *     vr_arch_NAME` and its `struct vr_regset` (facts.h): the registers in
 *     NT_PRSTATUS pr_reg order, then its system registers.
 *  2. Fill the members below; each says whether it may be NULL and what
 *     then happens. The required ones are detection (e_machine, or
 *     uts_machine for diskdump headers), init, translate, prstatus and
 *     unwind.
 *  3. Add it to vr_arches[] in engine/arch.c. The order is the order a
 *     kernel log text with no other clue is tried in.
 *  4. Give it a fixture: tests/fixtures/vr_mkdump.c writes ELF vmcores of
 *     each architecture with page tables it builds; docs/kernels.md says
 *     what is supported. */
#ifndef VR_ARCH_H
#define VR_ARCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "facts.h"
#include "kernel.h"

struct vr_kernel;
struct vr_vmcoreinfo;
struct vr_unwind_start;

/* The most stacks one CPU and its current task use (task, IRQ, exception
 * stacks...). */
#define VR_ARCH_MAX_STACKS 16

/* One stack: [lo, hi). */
struct vr_stack_span {
	uint64_t lo, hi;
};

struct vr_arch {
	/* What the analyzers may know (kernel.h): the name, the register set,
	 * the bounds of the address space of every configuration, the system
	 * call tables, instruction decoding. Required, with its name and
	 * regset. */
	const struct vr_arch_info *info;

	/* ---- detection (engine/arch.c, vr_arch_detect()) ---- */
	/* The ELF e_machine of its vmcores and vmlinux files. */
	uint16_t e_machine;
	/* The machine a diskdump header's utsname names ("x86_64",
	 * "aarch64"). */
	const char *uts_machine;
	/* Whether VMCOREINFO alone says the dump is this architecture's (for
	 * forms with neither: no ELF header, no utsname). May be NULL: never. */
	bool (*detect_vmcoreinfo)(const struct vr_vmcoreinfo *vi);

	/* ---- the address space ---- */
	/* Establishes the address space from VMCOREINFO, the saved registers
	 * (k->saved) and memory: the page-table root, the kernel's layout
	 * (k->layout, k->layout_ready) and its KASLR offset
	 * (k->layout.kaslr_offset). Called once, after the dump and
	 * VMCOREINFO are read and before the vmlinux is attached. An error
	 * is a warning: what was found is kept. Required. */
	struct vr_error *(*init)(struct vr_kernel *k);
	/* Kernel virtual to physical: page tables, or a linear-map shortcut.
	 * VR_ERR_FAULT when not mapped. Required. */
	struct vr_error *(*translate)(struct vr_kernel *k, uint64_t vaddr, uint64_t *ret);
	/* Once the kernel's symbols are loaded: what only they name (x86-64:
	 * page_offset_base where VMCOREINFO has none). Errors are not fatal.
	 * May be NULL: nothing to do. */
	struct vr_error *(*refine)(struct vr_kernel *k);
	/* The lowest address the kernel image is linked at (x86-64:
	 * __START_KERNEL_map): the KASLR offset moves a symbol of the vmlinux
	 * at or above it; one below is absolute (or a per-CPU offset), and
	 * the kernel names no code or data there. */
	uint64_t image_min;

	/* ---- saved registers ---- */
	/* Decodes the descriptor of an NT_PRSTATUS note (struct elf_prstatus:
	 * pr_reg at 112) into regs; false when it is too short. Required. */
	bool (*prstatus)(const uint8_t *desc, size_t len, struct vr_regs *ret);
	/* Decodes QEMU's own CPU-state note ("QEMU"), taking its frame
	 * registers only when have_prstatus is false, its system registers
	 * always. May be NULL: QEMU notes are ignored. */
	void (*qemu_note)(const uint8_t *desc, size_t len, bool have_prstatus, struct vr_regs *regs);
	/* One line of the register dump the kernel prints in an oops
	 * ("RAX: ... RBX: ..."): sets what it names in regs (and regs->set).
	 * True when the line was one. May be NULL: such lines are not read. */
	bool (*log_regs_line)(const char *line, struct vr_regs *regs);
	/* The line of that dump that names the instruction pointer ("RIP:
	 * 0010:sym+0x1/0x2"): sets the mode and, to ip (the address the
	 * caller read from the line, 0 unknown), the pc. May be NULL. */
	bool (*log_ip_line)(const char *line, uint64_t ip, struct vr_regs *regs);
	/* The DWARF register number of register reg (enum index of the
	 * regset), -1 none. May be NULL: no register names a variable. */
	int (*dwarf_regno)(int reg);

	/* ---- stacks and unwinding (engine/stack.c drives them) ---- */
	/* Loads what unwinding needs once (x86-64: the ORC tables). An error
	 * says the traces are guesses. May be NULL. */
	struct vr_error *(*unwind_prepare)(struct vr_kernel *k);
	/* Unwinds from s, appending symbolized frames to trace (which it
	 * initializes). Required. */
	struct vr_error *(*unwind)(struct vr_kernel *k, const struct vr_unwind_start *s,
				   struct vr_trace *trace);
	/* The stacks of cpu (IRQ, exception, ...) and of the task whose stack
	 * starts at task_stack (0: none), at most VR_ARCH_MAX_STACKS; returns
	 * how many. Required. */
	size_t (*stacks)(struct vr_kernel *k, int cpu, uint64_t task_stack, struct vr_stack_span *ret);
	/* The size of a task's kernel stack (THREAD_SIZE), from the kernel's
	 * types; VR_ERR_NOT_FOUND saying why when they do not tell. May be
	 * NULL: never known. */
	struct vr_error *(*task_stack_size)(struct vr_kernel *k, uint64_t *ret);
	/* The base of the stack of the task current on cpu, 0 unknown.
	 * Required. */
	uint64_t (*task_stack)(struct vr_kernel *k, int cpu);
	/* The task current on cpu, from the per-CPU data. May be NULL:
	 * unknown. */
	struct vr_error *(*current_task)(struct vr_kernel *k, int cpu, uint64_t *ret);
	/* Where the CPU stopped for the dump, when its saved registers are
	 * those of the code it interrupted (kdump's notes): a start whose walk
	 * passes through them. May be NULL: start from the saved registers. */
	bool (*crash_start)(struct vr_kernel *k, int cpu, uint64_t task_stack,
			    const struct vr_regs *regs, struct vr_regs *ret);
	/* The registers a switched-out task resumes with, from its saved
	 * stack pointer (thread.sp) and the kernel's switch frame: fills
	 * ret->regs and ret->call_frame. May be NULL: sleeping tasks are not
	 * traced (the reason says so). */
	struct vr_error *(*switch_frame)(struct vr_kernel *k, const struct vr_task *t,
					 struct vr_unwind_start *ret);
	/* The target of the direct call that ends right before return
	 * address ret. May be NULL: tail calls are not inferred. */
	bool (*call_target)(struct vr_kernel *k, uint64_t ret, uint64_t *target);
	/* Prefixes of the glue a call passes through without it being the
	 * function called (retpolines, trampolines): NULL-terminated. */
	const char *const *call_glue;

	/* ---- tamper checks (kernel.h) ---- */
	/* The CPU's table of exception and interrupt handlers. May be NULL:
	 * the check says the architecture has none it reads. */
	struct vr_error *(*vectors)(struct vr_kernel *k, struct vr_vectors *ret);
	/* The CPU protections the saved registers show (kernel.h); k is NULL
	 * for a log read without a kernel object (tests). May be NULL: none
	 * are checked. */
	struct vr_error *(*cpu_protection)(struct vr_kernel *k, const struct vr_regs *const *regs,
					   const char *const *who, size_t n, struct vr_protection *ret);
};

extern const struct vr_arch vr_arch_x86_64;
extern const struct vr_arch vr_arch_arm64;

/* Every architecture, in the order a log text is tried in. */
extern const struct vr_arch *const vr_arches[];
extern const size_t vr_n_arches;

/* The architecture of a dump: by its ELF e_machine (0 none), else by the
 * machine its header's utsname names ("" none), else by VMCOREINFO (NULL
 * none). VR_ERR_UNSUPPORTED when none is known. */
struct vr_error *vr_arch_detect(uint16_t e_machine, const char *uts_machine,
				const struct vr_vmcoreinfo *vi, const struct vr_arch **ret);
/* The architecture of ELF machine e_machine, NULL when none. */
const struct vr_arch *vr_arch_by_machine(uint16_t e_machine);
/* The architecture whose kernel printed a log text: the first whose
 * register dump it holds, else the first of the table (a log without a
 * register dump is read by its conventions: whose "Code:" lines, whose
 * address space). */
const struct vr_arch *vr_arch_for_text(const char *text, size_t len);

/* NT_PRSTATUS's pr_reg as set's frame registers, in their order (every
 * architecture's struct user_regs_struct is its saved frame); false when
 * the note is too short. */
bool vr_arch_prstatus_frame(const uint8_t *desc, size_t len, const struct vr_regset *set, struct vr_regs *ret);

#endif
