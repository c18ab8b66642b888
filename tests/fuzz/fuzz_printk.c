/* Fuzz target: the kernel log text splitter vr_log_parse_text()
 * (engine/log.h), then both renderings of the records it made.
 * Built with libFuzzer under -DVR_FUZZ=ON, else as a replay program
 * (tests/fuzz/replay_main.c) run over tests/fuzz/corpus/printk/. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/log.h"

static void free_log(struct vr_log *log)
{
	for (size_t i = 0; i < log->n_records; i++)
		free(log->records[i].text);
	free(log->records);
	free(log->source);
	memset(log, 0, sizeof(*log));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vr_log log = {0};
	struct vr_error *err = vr_log_parse_text((const char *)data, size, &log);
	if (!err) {
		for (size_t i = 0; i < log.n_records && i < 10000; i++)
			free(vr_log_record_line(&log.records[i]));
		FILE *devnull = fopen("/dev/null", "w");
		if (devnull) {
			vr_log_render(&log, devnull);
			fclose(devnull);
		}
		/* A second call appends to the records already there. */
		err = vr_log_parse_text((const char *)data, size / 2, &log);
	}
	vr_error_destroy(err);
	free_log(&log);
	return 0;
}
