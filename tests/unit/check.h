/* The unit tests' one assertion: CHECK(cond) or CHECK(cond, fmt, ...)
 * reports a failed condition with its place and an optional message,
 * counts it, and goes on, so one run shows every failure; main() returns
 * failures != 0. */
#ifndef VR_TEST_CHECK_H
#define VR_TEST_CHECK_H

#include <stdarg.h>
#include <stdio.h>

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

#endif
