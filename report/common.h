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

/* The summary every format leads with, built once so that the formats
 * differ only in labels and layout: each field's text, NULL when the fact
 * is unknown. */
enum vr_summary_field {
	VR_SUM_CRASH,     /* "null-deref (NULL pointer dereference)" */
	VR_SUM_TITLE,     /* the kernel's headline */
	VR_SUM_HOST,
	VR_SUM_RELEASE,
	VR_SUM_VERSION,
	VR_SUM_MACHINE,
	VR_SUM_TASK,      /* "CPU 1, PID 99 (vrtrigger)" */
	VR_SUM_PANIC,     /* the panic message */
	VR_SUM_CULPRIT,   /* "module vrbug (high confidence)" */
	VR_SUM_POINTER,   /* the bad pointer's class */
	VR_SUM_TAINT,     /* "GOE (0x3000)" */
	VR_SUM_TIME,      /* ISO 8601 UTC */
	VR_SUM_UPTIME,    /* "00:00:07", "3 days, 04:05:06" */
	VR_SUM_CPUS,      /* "4", "4 (2 online)" */
	VR_SUM_LOAD,      /* "0.08, 0.02, 0.01" */
	VR_SUM_TASKS,
	VR_SUM_MEMORY,    /* "511.5 MB" */
	VR_SUM_DUMP,      /* "PATH [kdump, zlib, dump level 31, 20.6% of memory] [PARTIAL DUMP]" */
	VR_SUM_VMLINUX,   /* "PATH (match: yes)", "none (match: unknown)" */
	VR_SUM_SIGNATURE,
	VR_SUM_N
};
struct vr_summary {
	const char *v[VR_SUM_N];
	char *owned[VR_SUM_N];
};
struct vr_error *vr_report_summary(const struct vr_report *r, struct vr_summary *ret);
void vr_summary_deinit(struct vr_summary *s);

#endif
