/* Private to report/: helpers every emitter shares (common.c), so that all
 * formats say the same thing. */
#ifndef VR_REPORT_COMMON_H
#define VR_REPORT_COMMON_H

#include <stddef.h>
#include <stdint.h>

#include "model.h"

/* The one-line verdict every format leads with, e.g.
 * "NULL pointer dereference in vrbug_proc_write [vrbug]: culprit module vrbug (high confidence)".
 * Returns a malloc'd string. */
char *vr_report_verdict(const struct vr_report *r);

/* The panicking CPU's entry in facts->cpus, or NULL. */
const struct vr_cpu *vr_report_panic_cpu(const struct vr_report *r);

/* ISO 8601 UTC for unix seconds into buf (at least 32 bytes). */
void vr_format_time(int64_t t, char *buf, size_t len);

/* Human words for a crash kind ("NULL pointer dereference"). */
const char *vr_kind_words(const char *kind);

#endif
