/* Replays inputs through a fuzz target's LLVMFuzzerTestOneInput when the
 * build has no libFuzzer: `fuzz_x FILE...`. Used by the test suite to run
 * each target's saved corpus as ordinary tests. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int main(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		FILE *f = fopen(argv[i], "rb");
		if (!f) {
			perror(argv[i]);
			return 1;
		}
		size_t cap = 1 << 16, len = 0;
		uint8_t *buf = malloc(cap);
		size_t n;
		while (buf && (n = fread(buf + len, 1, cap - len, f)) > 0) {
			len += n;
			if (len == cap) {
				cap *= 2;
				uint8_t *nb = realloc(buf, cap);
				if (!nb) {
					free(buf);
					buf = NULL;
				}
				buf = nb;
			}
		}
		fclose(f);
		if (!buf)
			return 1;
		LLVMFuzzerTestOneInput(buf, len);
		free(buf);
	}
	return 0;
}
