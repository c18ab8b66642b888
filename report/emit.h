/* Private to report/: the emitters and the helpers they share. */
#ifndef VR_EMIT_H
#define VR_EMIT_H

#include "model.h"

struct vr_error *vr_emit_text(const struct vr_report *r, const struct vr_emit_options *o, FILE *out);
struct vr_error *vr_emit_markdown(const struct vr_report *r, const struct vr_emit_options *o, FILE *out);
struct vr_error *vr_emit_json(const struct vr_report *r, const struct vr_emit_options *o, FILE *out);
struct vr_error *vr_emit_email(const struct vr_report *r, const struct vr_emit_options *o, FILE *out);

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
