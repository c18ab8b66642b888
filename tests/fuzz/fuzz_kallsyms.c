/* Fuzz target: the kallsyms table decoder (engine/kallsyms.h).
 *
 * The input is a small header followed by a memory image that the decoder
 * reads as kernel virtual memory at IMAGE_BASE:
 *
 *   u32 num_syms, names, token_table, token_index,
 *       offsets, relative_base, addresses   (little-endian offsets into
 *                                            the image; 0xffffffff = absent)
 *   u8  image[]
 *
 * The image is mapped in whole 4 KiB pages (the bytes past its end read as
 * zeros); a read that leaves the last page fails, as a read of an unmapped
 * page would.
 * Built with libFuzzer under -DVR_FUZZ=ON, else as a replay program
 * (tests/fuzz/replay_main.c) run over tests/fuzz/corpus/kallsyms/. */
#include <stdint.h>
#include <string.h>

#include "failed.h"
#include "engine/kallsyms.h"

#define IMAGE_BASE 0xffffffff81000000ull
#define HEADER_LEN 28

struct image {
	const uint8_t *p;
	size_t len;
};

static struct vr_error *image_read(void *arg, uint64_t vaddr, void *buf, size_t len)
{
	const struct image *im = arg;
	uint64_t mapped = (im->len + 4095) & ~(uint64_t)4095;
	if (vaddr < IMAGE_BASE || vaddr - IMAGE_BASE > mapped || len > mapped - (vaddr - IMAGE_BASE))
		return vr_error_create(VR_ERR_FAULT, "address 0x%llx not mapped",
				       (unsigned long long)vaddr);
	uint64_t off = vaddr - IMAGE_BASE;
	size_t have = off < im->len ? im->len - off : 0;
	if (have > len)
		have = len;
	if (have)
		memcpy(buf, im->p + off, have);
	memset((uint8_t *)buf + have, 0, len - have);
	return NULL;
}

static uint64_t field(const uint8_t *h, int i)
{
	uint32_t v = (uint32_t)h[4 * i] | (uint32_t)h[4 * i + 1] << 8 |
		     (uint32_t)h[4 * i + 2] << 16 | (uint32_t)h[4 * i + 3] << 24;
	return v == UINT32_MAX ? 0 : IMAGE_BASE + v;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < HEADER_LEN)
		return 0;
	struct vr_kallsyms_tables t = {
		.num_syms = field(data, 0),
		.names = field(data, 1),
		.token_table = field(data, 2),
		.token_index = field(data, 3),
		.offsets = field(data, 4),
		.relative_base = field(data, 5),
		.addresses = field(data, 6),
	};
	struct image im = {data + HEADER_LEN, size - HEADER_LEN};
	struct vr_kallsyms ks = {0};
	if (failed(vr_kallsyms_read(&t, image_read, &im, &ks)))
		return 0;
	/* Every name must lie inside names and be terminated there. */
	size_t total = 0;
	for (size_t i = 0; i < ks.n; i++) {
		if (ks.syms[i].name >= ks.names_len)
			__builtin_trap();
		total += strnlen(ks.names + ks.syms[i].name, ks.names_len - ks.syms[i].name);
	}
	(void)total;
	vr_kallsyms_deinit(&ks);
	return 0;
}
