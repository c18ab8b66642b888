/* Format dispatch: one report model, one emitter per format. */
#include "emit.h"

#include <string.h>

static const struct {
	const char *name;
	enum vr_output_format fmt;
	struct vr_error *(*emit)(const struct vr_report *r, const struct vr_emit_options *o, FILE *out);
} emitters[] = {
	{"text", VR_OUTPUT_TEXT, vr_emit_text},
	{"markdown", VR_OUTPUT_MARKDOWN, vr_emit_markdown},
	{"md", VR_OUTPUT_MARKDOWN, vr_emit_markdown},
	{"json", VR_OUTPUT_JSON, vr_emit_json},
	{"email", VR_OUTPUT_EMAIL, vr_emit_email},
};

struct vr_error *vr_output_format_parse(const char *name, enum vr_output_format *ret)
{
	for (size_t i = 0; i < sizeof(emitters) / sizeof(emitters[0]); i++) {
		if (!strcmp(name, emitters[i].name)) {
			*ret = emitters[i].fmt;
			return NULL;
		}
	}
	return vr_error_create(VR_ERR_USAGE, "unknown format '%s' (text, markdown, json, email)", name);
}

struct vr_error *vr_report_emit(const struct vr_report *r, enum vr_output_format fmt,
				const struct vr_emit_options *opts, FILE *out)
{
	static const struct vr_emit_options defaults = {0};
	if (!opts)
		opts = &defaults;
	for (size_t i = 0; i < sizeof(emitters) / sizeof(emitters[0]); i++) {
		if (emitters[i].fmt != fmt)
			continue;
		struct vr_error *err = emitters[i].emit(r, opts, out);
		if (err)
			return err;
		if (fflush(out) != 0 || ferror(out))
			return vr_error_create(VR_ERR_IO, "writing the %s report failed", emitters[i].name);
		return NULL;
	}
	return vr_error_create(VR_ERR_USAGE, "unknown format %d", (int)fmt);
}
