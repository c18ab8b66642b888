/* Private to report/: the emitters (the table in emit.c) and the helpers
 * they share (common.h). */
#ifndef VR_EMIT_H
#define VR_EMIT_H

#include "common.h"
#include "model.h"

struct vr_error *vr_emit_text(const struct vr_report *r, const struct vr_emit_options *o, FILE *out);
struct vr_error *vr_emit_markdown(const struct vr_report *r, const struct vr_emit_options *o, FILE *out);
struct vr_error *vr_emit_json(const struct vr_report *r, const struct vr_emit_options *o, FILE *out);
struct vr_error *vr_emit_email(const struct vr_report *r, const struct vr_emit_options *o, FILE *out);

#endif
