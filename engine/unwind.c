/* Stack traces whatever the architecture: the unwind handed to the
 * architecture's unwinder, and the frames of tail calls. */
#include <string.h>

#include "internal.h"
#include "unwind.h"

struct vr_error *vr_unwind_from(struct vr_kernel *k, const struct vr_unwind_start *s,
				struct vr_trace *trace)
{
	if (!k->arch)
		return vr_error_create(VR_ERR_UNSUPPORTED, "the dump's architecture is not known");
	return k->arch->unwind(k, s, trace);
}

struct vr_error *vr_unwind(struct vr_kernel *k, const struct vr_regs *regs, int cpu,
			   struct vr_trace *trace)
{
	if (!k->arch)
		return vr_error_create(VR_ERR_UNSUPPORTED, "the dump's architecture is not known");
	if (k->arch->unwind_prepare)
		vr_error_destroy(k->arch->unwind_prepare(k));
	struct vr_unwind_start s = {
		.regs = *regs,
		.cpu = cpu,
		.task_stack = k->arch->task_stack(k, cpu),
	};
	return vr_unwind_from(k, &s, trace);
}

/* ---- tail calls ---- */

/* A function that ends in "jmp g" instead of "call g; ret" has no frame of
 * its own: g returns straight to its caller, and the stack shows the
 * caller below g. The call before the caller's return address says which
 * function the caller called; when that is not the one in the frame above,
 * the called function tail-called (directly or through others) into it.
 * Only calls whose instruction names their target tell (the
 * architecture's call_target). */

/* Compiler and kernel glue that a call goes through without being the
 * function called (the architecture's call_glue: retpolines, static-call
 * trampolines, ftrace's entry, the padding before a function). */
static bool is_glue(const struct vr_kernel *k, const char *s)
{
	for (const char *const *g = k->arch->call_glue; g && *g; g++)
		if (!strncmp(s, *g, strlen(*g)))
			return true;
	return false;
}

/* Whether a and b name one function: the same name, or the same name
 * once compiler suffixes are taken off (foo.cold is part of foo). */
static bool same_function(const char *a, const char *b)
{
	size_t la = strcspn(a, "."), lb = strcspn(b, ".");
	return la == lb && !strncmp(a, b, la);
}

struct vr_error *vr_trace_infer_tail_calls(struct vr_kernel *k, struct vr_trace *t)
{
	if (!k || !vr_kernel_has_memory(k) || !k->arch || !k->arch->call_target)
		return NULL;
	for (size_t i = 0; i + 1 < t->n_frames; i++) {
		struct vr_frame *callee = &t->frames[i];
		size_t j = i + 1;
		/* The caller: the next frame that a return address proves. */
		while (j < t->n_frames && (!t->frames[j].reliable || t->frames[j].inferred))
			j++;
		if (j >= t->n_frames || !callee->reliable || !callee->symbol || !callee->address)
			continue;
		struct vr_frame *caller = &t->frames[j];
		uint64_t target;
		if (caller->exception || !caller->address || caller->address < k->arch->info->kernel_start ||
		    !k->arch->call_target(k, caller->address, &target))
			continue;
		if (callee->address - callee->offset == target)
			continue;
		struct vr_frame f = {.address = target};
		vr_kernel_symbolize(k, &f, false);
		bool take = f.symbol && f.offset == 0 && !is_glue(k, f.symbol) &&
			    !same_function(f.symbol, callee->symbol);
		/* A "? " frame of that function between them is its own frame,
		 * which the unwinder could not prove: no tail call. */
		for (size_t q = i + 1; take && q < j; q++)
			if (t->frames[q].symbol && same_function(t->frames[q].symbol, f.symbol))
				take = false;
		if (!take) {
			vr_frame_deinit(&f);
			continue;
		}
		f.reliable = true;
		f.inferred = true;
		f.from_log = false; /* known from the code in memory, not from the log */
		if (caller->stack && !(f.stack = vr_strdup(caller->stack))) {
			vr_frame_deinit(&f);
			return &vr_error_oom;
		}
		struct vr_frame *v = realloc(t->frames, (t->n_frames + 1) * sizeof(*v));
		if (!v) {
			vr_frame_deinit(&f);
			return &vr_error_oom;
		}
		t->frames = v;
		memmove(&t->frames[i + 2], &t->frames[i + 1], (t->n_frames - i - 1) * sizeof(*v));
		t->frames[i + 1] = f;
		t->n_frames++;
		i++;
	}
	return NULL;
}
