/* The unit tests' one assertion: CHECK(cond) or CHECK(cond, fmt, ...)
 * reports a failed condition with its place and an optional message,
 * counts it, and goes on, so one run shows every failure; main() returns
 * failures != 0. */
#ifndef VR_TEST_CHECK_H
#define VR_TEST_CHECK_H

#include <stdarg.h>
#include <stdio.h>

#include "engine/error.h"

/* CHECK(cond) passes an empty format: that is meant. */
#pragma GCC diagnostic ignored "-Wformat-zero-length"

static int failures;

static inline void check_message(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static inline void check_message(const char *fmt, ...)
{
	if (fmt[0]) {
		va_list ap;
		va_start(ap, fmt);
		fputs(": ", stderr);
		vfprintf(stderr, fmt, ap);
		va_end(ap);
	}
	fputc('\n', stderr);
}

#define CHECK(cond, ...)                                                         \
	do {                                                                     \
		if (!(cond)) {                                                   \
			failures++;                                              \
			fprintf(stderr, "%s:%d: FAILED %s", __FILE__, __LINE__, #cond); \
			check_message("" __VA_ARGS__);                           \
		}                                                                \
	} while (0)

/* CHECK(succeeds(f(...))): err is NULL; else it is said and destroyed. */
static inline bool succeeds(struct vr_error *err)
{
	if (err)
		fprintf(stderr, "unexpected error (code %d): %s\n", err->code, err->message);
	vr_error_destroy(err);
	return !err;
}

/* CHECK(fails_with(f(...), CODE)): err has that code; it is destroyed. */
static inline bool fails_with(struct vr_error *err, enum vr_error_code code)
{
	bool ok = err && err->code == code;
	if (!ok)
		fprintf(stderr, "expected error code %d, got %s (code %d)\n", code, err ? err->message : "success",
			err ? (int)err->code : 0);
	vr_error_destroy(err);
	return ok;
}

#endif
