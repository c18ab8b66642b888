/* Fuzz target: the oops text parser (analyzers/oops_parse.h) over a whole
 * kernel log, then its per-line helpers over every line of the input.
 * Built with libFuzzer under -DVR_FUZZ=ON, else as a replay program
 * (tests/fuzz/replay_main.c) run over tests/fuzz/corpus/oops/. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "analyzers/oops_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vr_crash c;
	vr_crash_init(&c);
	vr_error_destroy(vr_oops_parse_text((const char *)data, size, &c));
	vr_crash_deinit(&c);

	/* The same text as NUL-terminated lines, through the line interface
	 * and the helpers the analyzer calls on single lines. */
	char *copy = malloc(size + 1);
	if (!copy)
		return 0;
	memcpy(copy, data, size);
	copy[size] = '\0';
	size_t n = 1;
	for (size_t i = 0; i < size; i++)
		n += copy[i] == '\n';
	const char **lines = malloc(n * sizeof(*lines));
	if (!lines) {
		free(copy);
		return 0;
	}
	size_t k = 0;
	char *p = copy;
	for (;;) {
		lines[k++] = p;
		char *nl = strchr(p, '\n');
		if (!nl || k == n)
			break;
		*nl = '\0';
		p = nl + 1;
	}
	vr_crash_init(&c);
	vr_error_destroy(vr_oops_parse_lines(lines, k, &c));
	vr_crash_deinit(&c);
	for (size_t i = 0; i < k && i < 2000; i++) {
		const char *m = vr_klog_message(lines[i]);
		struct vr_frame f;
		if (vr_klog_parse_frame(m ? m : lines[i], &f))
			vr_frame_deinit(&f);
	}
	free(lines);
	free(copy);
	return 0;
}
