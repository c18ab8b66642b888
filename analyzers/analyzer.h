/* Analyzers: each turns facts into conclusions in the report. One file each,
 * one registry (registry.c). Analyzers read facts and may ask the engine's
 * public questions (kernel.h); they never print.
 *
 * How to add one:
 *  1. write analyzers/NAME.c defining `const struct vr_analyzer vr_analyzer_NAME`;
 *  2. declare it below and add it to vr_analyzers[] in registry.c, after the
 *     analyzers whose conclusions it reads;
 *  3. set .needs to the facts it cannot do without (it is skipped, with a
 *     reason, when they are missing);
 *  4. add unit tests in tests/unit and document it in docs/design.md. */
#ifndef VR_ANALYZER_H
#define VR_ANALYZER_H

#include "../engine/kernel.h"
#include "../report/model.h"

struct vr_ruleset; /* rules/rules.h */

enum {
	VR_NEED_LOG = 1 << 0,     /* a kernel log (from memory or text) */
	VR_NEED_MEMORY = 1 << 1,  /* dump memory (not text input) */
	VR_NEED_CPUS = 1 << 2,    /* per-CPU state and traces */
	VR_NEED_TASKS = 1 << 3,
	VR_NEED_CRASH = 1 << 4,   /* a decoded crash (oops analyzer ran) */
};

struct vr_analysis {
	struct vr_kernel *kernel;          /* NULL-safe: vr_kernel_has_memory() false for text */
	const struct vr_facts *facts;
	const struct vr_ruleset *rules;    /* may be NULL */
	struct vr_report *report;
	/* An error absorbed where it could not be returned (out of memory, or
	 * a code nobody expected): the running analyzer's step ends partial
	 * with it (vr_error_absorb(&a->fatal, ...)). */
	struct vr_error *fatal;
	/* The architecture when no kernel says it (tests); NULL: the
	 * kernel's (vr_analysis_arch()). */
	const struct vr_arch_info *arch;
};

/* The architecture whose registers, address space and instructions the
 * analysis reads, NULL unknown. */
static inline const struct vr_arch_info *vr_analysis_arch(const struct vr_analysis *a)
{
	return a->arch ? a->arch : vr_kernel_arch(a->kernel);
}

struct vr_analyzer {
	const char *name;
	unsigned needs;
	/* Returns NULL when it concluded; an error makes its status "error"
	 * (or "partial" for VR_ERR_NOT_PRESENT/VR_ERR_FAULT) with the message
	 * as reason. May set *skipped_reason to a static string to report
	 * "skipped". */
	struct vr_error *(*run)(struct vr_analysis *a, const char **skipped_reason);
};

extern const struct vr_analyzer *const vr_analyzers[];
extern const size_t vr_n_analyzers;

/* Runs every analyzer in order, recording each one's status. */
void vr_analyze(struct vr_analysis *a);

#endif
