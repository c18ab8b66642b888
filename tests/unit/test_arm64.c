/* arm64 page-table walk over tables built in memory: the three granules
 * (4 KiB with 4 levels, 16 KiB with 4 levels whose top index is one bit,
 * 64 KiB with 3), blocks, 52-bit output addresses of 64 KiB pages (FEAT_LPA)
 * and of 16 KiB pages (FEAT_LPA2), invalid and reserved descriptors,
 * addresses outside the kernel's half, read errors; and the
 * pointer-authentication code stripped from a return address. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "engine/arm64.h"
#include "engine/internal.h"

#include "check.h"

/* Physical memory: table pages of the largest granule at small frames. */
#define GRAN 65536u
#define NPAGES 8
static uint64_t mem[NPAGES][GRAN / 8];

static struct vr_error *read_desc(void *arg, uint64_t paddr, uint64_t *ret)
{
	unsigned shift = *(const unsigned *)arg;
	uint64_t page = paddr >> shift;
	if (page >= NPAGES || (paddr & 7))
		return vr_error_create(VR_ERR_NOT_PRESENT, "physical 0x%" PRIx64 " is not in the dump", paddr);
	*ret = mem[page][(paddr & ((1ull << shift) - 1)) / 8];
	return NULL;
}

/* Descriptor of vaddr's entry at the level whose entries each map 1 << shift. */
static void set(unsigned page, uint64_t vaddr, unsigned shift, unsigned bits, uint64_t desc)
{
	mem[page][(vaddr >> shift) & ((1ull << bits) - 1)] = desc;
}

#define TABLE 3ull
#define PAGE 3ull
#define BLOCK 1ull
#define AF (1ull << 10)

static void walk(const struct vr_arm64_regime *r, uint64_t root, uint64_t va, uint64_t want, uint64_t want_size,
		 const char *what)
{
	unsigned shift = r->page_shift;
	uint64_t pa = 0, size = 0;
	struct vr_error *err = vr_arm64_walk(r, root, va, read_desc, &shift, &pa, &size);
	CHECK(!err && pa == want && size == want_size, "%s: 0x%" PRIx64 " -> 0x%" PRIx64 " (%" PRIu64 " bytes): %s",
	      what, va, pa, size, err ? err->message : "ok");
	vr_error_destroy(err);
}

static void fault(const struct vr_arm64_regime *r, uint64_t root, uint64_t va, enum vr_error_code code,
		  const char *what)
{
	unsigned shift = r->page_shift;
	uint64_t pa = 0;
	struct vr_error *err = vr_arm64_walk(r, root, va, read_desc, &shift, &pa, NULL);
	CHECK(err && err->code == code, "%s: %s", what, err ? err->message : "translated");
	vr_error_destroy(err);
}

static void test_4k(void)
{
	memset(mem, 0, sizeof(mem));
	struct vr_arm64_regime r = {12, 48, false};
	uint64_t va = 0xffff800009201234ull;
	set(1, va, 39, 9, 2ull << 12 | TABLE);
	set(2, va, 30, 9, 3ull << 12 | TABLE);
	set(3, va, 21, 9, 4ull << 12 | TABLE);
	set(4, va, 12, 9, 0x40102000ull | PAGE | AF | 1ull << 53 /* PXN */);
	walk(&r, 1ull << 12, va, 0x40102234ull, 4096, "4k page");
	/* A 2 MiB block at level 2 and a 1 GiB one at level 1. */
	uint64_t lin = 0xffff000000345678ull;
	set(1, lin, 39, 9, 5ull << 12 | TABLE);
	set(5, lin, 30, 9, 6ull << 12 | TABLE);
	set(6, lin, 21, 9, 0x40200000ull | BLOCK | AF);
	walk(&r, 1ull << 12, lin, 0x40345678ull, 1u << 21, "4k: 2 MiB block");
	uint64_t g = 0xffff000040345678ull;
	set(5, g, 30, 9, 0x80000000ull | BLOCK | AF);
	walk(&r, 1ull << 12, g, 0x80345678ull, 1u << 30, "4k: 1 GiB block");
	fault(&r, 1ull << 12, 0xffff800009400000ull, VR_ERR_FAULT, "4k: an invalid descriptor");
	set(4, va + 4096, 12, 9, 0x40103000ull | BLOCK); /* bit 1 clear at the last level */
	fault(&r, 1ull << 12, va + 4096, VR_ERR_FAULT, "4k: a reserved last-level descriptor");
	fault(&r, 1ull << 12, 0x0000800009201234ull, VR_ERR_FAULT, "4k: a user address");
	set(3, va + (1u << 21), 21, 9, 0x7000ull << 12 | TABLE); /* a table beyond the dump */
	fault(&r, 1ull << 12, va + (1u << 21), VR_ERR_NOT_PRESENT, "4k: a table not in the dump");
}

static void test_16k(void)
{
	memset(mem, 0, sizeof(mem));
	/* 48 bits: 14 + 3 * 11 + 1, the top level one bit (index 1 for the
	 * upper half). */
	struct vr_arm64_regime r = {14, 48, false};
	uint64_t va = 0xffff80000920abcdull;
	set(1, va, 47, 1, 2ull << 14 | TABLE);
	set(2, va, 36, 11, 3ull << 14 | TABLE);
	set(3, va, 25, 11, 4ull << 14 | TABLE);
	set(4, va, 14, 11, 0x48004000ull | PAGE | AF);
	walk(&r, 1ull << 14, va, 0x48004000ull | (va & 0x3fff), 16384, "16k page");
	uint64_t b = 0xffff80000a20abcdull;
	set(3, b, 25, 11, 0x60000000ull | BLOCK | AF);
	walk(&r, 1ull << 14, b, 0x60000000ull | (b & 0x1ffffff), 1u << 25, "16k: 32 MiB block");
	/* FEAT_LPA2: PA[51:50] in bits 9:8 */
	struct vr_arm64_regime r2 = {14, 48, true};
	set(4, va, 14, 11, 0x48004000ull | 2ull << 8 | PAGE | AF);
	walk(&r2, 1ull << 14, va, 0x48004000ull | 2ull << 50 | (va & 0x3fff), 16384, "16k LPA2 page");
}

static void test_64k(void)
{
	memset(mem, 0, sizeof(mem));
	/* 52 bits: 16 + 2 * 13 + 10. */
	struct vr_arm64_regime r = {16, 52, true};
	uint64_t va = 0xfff8000009212345ull;
	set(1, va, 42, 10, 2ull << 16 | TABLE);
	set(2, va, 29, 13, 3ull << 16 | TABLE);
	/* FEAT_LPA: PA[51:48] in bits 15:12 */
	set(3, va, 16, 13, 0x40010000ull | 0x3ull << 12 | PAGE | AF);
	walk(&r, 1ull << 16, va, 0x0003000040010000ull | (va & 0xffff), 65536, "64k LPA page");
	uint64_t b = 0xfff8000029212345ull;
	set(2, b, 29, 13, 0x20000000ull | BLOCK | AF);
	walk(&r, 1ull << 16, b, 0x20000000ull | (b & 0x1fffffff), 1u << 29, "64k: 512 MiB block");
	/* The same tables read with 48 bits from the offset the kernel gives
	 * TTBR1 (TTBR1_BADDR_4852_OFFSET): entry 1008 + x of the 52-bit table
	 * is entry x of the 48-bit one. */
	struct vr_arm64_regime r48 = {16, 48, false};
	uint64_t va48 = 0xffff800009212345ull;
	set(1, va48, 42, 10, 5ull << 16 | TABLE);
	set(5, va48, 29, 13, 6ull << 16 | TABLE);
	set(6, va48, 16, 13, 0x50010000ull | PAGE | AF);
	uint64_t root48 = (1ull << 16) + ((1ull << 10) - (1ull << 6)) * 8;
	walk(&r48, root48, va48, 0x50010000ull | (va48 & 0xffff), 65536, "64k: 48 bits of a 52-bit table");
}

static void test_pac(void)
{
	uint64_t mask = 0xff7f000000000000ull; /* bits 63..56 and 54..48 */
	CHECK(vr_arm64_strip_pac(0x5ab4800009202004ull, mask) == 0xffff800009202004ull, "kernel return address");
	CHECK(vr_arm64_strip_pac(0xffff800009202004ull, mask) == 0xffff800009202004ull, "no PAC: unchanged");
	CHECK(vr_arm64_strip_pac(0x0034000000401000ull, mask) == 0x0000000000401000ull, "user address");
}

int main(void)
{
	test_4k();
	test_16k();
	test_64k();
	test_pac();
	if (failures)
		fprintf(stderr, "%d failure(s)\n", failures);
	return failures != 0;
}
