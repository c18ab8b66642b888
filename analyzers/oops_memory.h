/* The crash from dump memory when the log holds no report (oops_memory.c). */
#ifndef VR_OOPS_MEMORY_H
#define VR_OOPS_MEMORY_H

#include "analyzer.h"

/* Fills *out (set up with vr_crash_init()) from the panicking CPU's stack
 * in memory: its innermost kernel exception frame, or its call to panic().
 * *found says whether it could; *out is untouched when not. Fails only on
 * out-of-memory. */
struct vr_error *vr_oops_from_memory(struct vr_analysis *a, struct vr_crash *out, bool *found);

#endif
