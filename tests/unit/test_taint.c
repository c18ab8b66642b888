/* Taint letters as the kernel prints them (kernel/panic.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/taint.h"

static int failures;
static void expect(char *got, const char *want, int line)
{
	if (!got || strcmp(got, want)) {
		fprintf(stderr, "line %d: got \"%s\", want \"%s\"\n", line, got ? got : "(null)", want);
		failures++;
	}
	free(got);
}
#define EXPECT(g, w) expect((g), (w), __LINE__)

int main(void)
{
	EXPECT(vr_taint_letters(0), "G");
	EXPECT(vr_taint_letters(1), "P");
	EXPECT(vr_taint_letters(1u << 12 | 1u << 13), "GOE");
	EXPECT(vr_taint_letters(1u << 7 | 1u << 9 | 1u << 14), "GDWL");
	EXPECT(vr_taint_letters(0xfffffull), "PFSRMBUDAWCIOELKXTNJ");
	EXPECT(vr_taint_letters(1ull << 40), "G?");
	EXPECT(vr_taint_kernel_string(0, 20), "Not tainted");
	/* 6.1's oops line: "Tainted: G           OE     " (19 flags) */
	EXPECT(vr_taint_kernel_string(1u << 12 | 1u << 13, 19), "Tainted: G           OE     ");
	EXPECT(vr_taint_module_letters(1u << 12 | 1u << 13), "OE");
	EXPECT(vr_taint_module_letters(1u << 9), "");
	return failures != 0;
}
