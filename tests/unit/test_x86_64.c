/* x86-64 page-table walk over page tables built in memory: 4 and 5
 * levels, 4 KiB / 2 MiB / 1 GiB pages, holes, read errors, SME bit. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "engine/internal.h"
#include "engine/x86_64.h"


#include "check.h"

/* Physical memory: a few table pages at small page frame numbers. */
#define NPAGES 32
static uint64_t mem[NPAGES][512];
static int reads;

static struct vr_error *read_entry(void *arg, uint64_t paddr, uint64_t *ret)
{
	(void)arg;
	reads++;
	uint64_t pfn = paddr >> 12;
	if (pfn >= NPAGES || (paddr & 7))
		return vr_error_create(VR_ERR_NOT_PRESENT, "physical 0x%" PRIx64 " is not in the dump", paddr);
	*ret = mem[pfn][(paddr & 0xfff) / 8];
	return NULL;
}

static void set(int page, uint64_t vaddr, int shift, uint64_t entry)
{
	mem[page][(vaddr >> shift) & 0x1ff] = entry;
}

#define P 0x1ull
#define RW 0x2ull
#define PSE 0x80ull
#define NX (1ull << 63)

static void test_4level(void)
{
	memset(mem, 0, sizeof(mem));
	/* page 1: PGD, 2: PUD, 3: PMD, 4: PTE */
	uint64_t va = 0xffffffff81234567ull;
	set(1, va, 39, 2ull << 12 | P | RW);
	set(2, va, 30, 3ull << 12 | P | RW);
	set(3, va, 21, 4ull << 12 | P | RW);
	set(4, va, 12, 0x7654321000ull | P | NX | 0x100 /* global */);
	uint64_t pa = 0, size = 0;
	struct vr_error *err = vr_x86_64_walk(1ull << 12, false, 0, va, read_entry, NULL, &pa, &size);
	CHECK(!err, "4-level 4k walk failed: %s", err ? err->message : "");
	CHECK(pa == 0x7654321567ull, "4k: got 0x%" PRIx64, pa);
	CHECK(size == 4096, "4k page size %" PRIu64, size);
	vr_error_destroy(err);

	/* 2 MiB page in the same PUD: PAT bit 12 must not reach the address. */
	uint64_t va2 = 0xffffffff81434567ull;
	set(3, va2, 21, 0x40000000ull | 0x1000 | P | PSE);
	err = vr_x86_64_walk(1ull << 12, false, 0, va2, read_entry, NULL, &pa, &size);
	CHECK(!err && pa == 0x40034567ull && size == (1u << 21), "2m: got 0x%" PRIx64 " (%s)", pa,
	      err ? err->message : "ok");
	vr_error_destroy(err);

	/* 1 GiB page in the direct map. */
	uint64_t va3 = 0xffff888012345678ull;
	set(1, va3, 39, 5ull << 12 | P);
	set(5, va3, 30, 0x80000000ull | P | PSE);
	err = vr_x86_64_walk(1ull << 12, false, 0, va3, read_entry, NULL, &pa, &size);
	CHECK(!err && pa == 0x92345678ull && size == (1u << 30), "1g: got 0x%" PRIx64 " (%s)", pa,
	      err ? err->message : "ok");
	vr_error_destroy(err);

	/* Not mapped at the PMD level: the message names the level and entry. */
	uint64_t va4 = 0xffffffff81634567ull;
	err = vr_x86_64_walk(1ull << 12, false, 0, va4, read_entry, NULL, &pa, &size);
	CHECK(err && err->code == VR_ERR_FAULT, "unmapped PMD not a fault");
	CHECK(err && strstr(err->message, "0xffffffff81634567: not mapped (PMD entry 0x0)"), "message: %s",
	      err ? err->message : "");
	vr_error_destroy(err);

	/* Not mapped at the PGD level. */
	err = vr_x86_64_walk(1ull << 12, false, 0, 0xffffc90000001000ull, read_entry, NULL, &pa, &size);
	CHECK(err && err->code == VR_ERR_FAULT && strstr(err->message, "PGD entry"), "pgd: %s",
	      err ? err->message : "ok");
	vr_error_destroy(err);

	/* A table page outside the dump: NOT_PRESENT with the entry's address. */
	uint64_t va5 = 0xffffffff81834567ull;
	set(3, va5, 21, 0x999000ull | P);
	err = vr_x86_64_walk(1ull << 12, false, 0, va5, read_entry, NULL, &pa, &size);
	CHECK(err && err->code == VR_ERR_NOT_PRESENT, "missing table page not NOT_PRESENT");
	CHECK(err && strstr(err->message, "reading PTE entry at physical 0x999"), "message: %s",
	      err ? err->message : "");
	vr_error_destroy(err);

	/* Non-canonical. */
	reads = 0;
	err = vr_x86_64_walk(1ull << 12, false, 0, 0x0000900000000000ull, read_entry, NULL, &pa, &size);
	CHECK(err && err->code == VR_ERR_FAULT && strstr(err->message, "non-canonical"), "non-canonical: %s",
	      err ? err->message : "ok");
	CHECK(reads == 0, "non-canonical address read tables");
	vr_error_destroy(err);
	CHECK(vr_x86_64_canonical(0x00007fffffffffffull, false), "user top canonical");
	CHECK(!vr_x86_64_canonical(0x0000800000000000ull, false), "hole canonical");
	CHECK(vr_x86_64_canonical(0x0000800000000000ull, true), "la57 hole not canonical");
	CHECK(!vr_x86_64_canonical(0x0100000000000000ull, true), "la57 hole canonical");

	/* The SME C-bit (here bit 47) is cleared from every entry. */
	uint64_t c = 1ull << 47;
	memset(mem, 0, sizeof(mem));
	set(1, va, 39, c | 2ull << 12 | P);
	set(2, va, 30, c | 3ull << 12 | P);
	set(3, va, 21, c | 4ull << 12 | P);
	set(4, va, 12, c | 0x5000ull | P);
	err = vr_x86_64_walk(c | 1ull << 12, false, c, va, read_entry, NULL, &pa, NULL);
	CHECK(!err && pa == 0x5567ull, "sme: got 0x%" PRIx64 " (%s)", pa, err ? err->message : "ok");
	vr_error_destroy(err);
}

static void test_5level(void)
{
	memset(mem, 0, sizeof(mem));
	uint64_t va = 0xff11000012345678ull; /* __PAGE_OFFSET_BASE_L5 + 0x12345678 */
	/* 1: PGD (bits 48..56), 2: P4D, 3: PUD, 4: PMD, 5: PTE */
	set(1, va, 48, 2ull << 12 | P);
	set(2, va, 39, 3ull << 12 | P);
	set(3, va, 30, 4ull << 12 | P);
	set(4, va, 21, 5ull << 12 | P);
	set(5, va, 12, 0xabcdef000ull | P);
	uint64_t pa = 0, size = 0;
	struct vr_error *err = vr_x86_64_walk(1ull << 12, true, 0, va, read_entry, NULL, &pa, &size);
	CHECK(!err && pa == 0xabcdef678ull && size == 4096, "5-level: got 0x%" PRIx64 " (%s)", pa,
	      err ? err->message : "ok");
	vr_error_destroy(err);

	/* The same tables read as 4-level give a different (wrong) walk:
	 * make sure the P4D level is named in 5-level faults. */
	uint64_t va2 = 0xff11008012345678ull; /* other P4D slot */
	err = vr_x86_64_walk(1ull << 12, true, 0, va2, read_entry, NULL, &pa, &size);
	CHECK(err && err->code == VR_ERR_FAULT && strstr(err->message, "P4D entry 0x0"), "p4d: %s",
	      err ? err->message : "ok");
	vr_error_destroy(err);

	/* 1 GiB page at PUD level under 5 levels. */
	set(3, va, 30, 0x40000000ull | P | PSE);
	err = vr_x86_64_walk(1ull << 12, true, 0, va, read_entry, NULL, &pa, &size);
	CHECK(!err && pa == 0x52345678ull && size == (1u << 30), "5-level 1g: got 0x%" PRIx64, pa);
	vr_error_destroy(err);
}

/* Self-referencing tables must not loop: every level is read once. */
static void test_loop(void)
{
	memset(mem, 0, sizeof(mem));
	for (int i = 0; i < 512; i++)
		mem[1][i] = 1ull << 12 | P;
	reads = 0;
	uint64_t pa = 0;
	struct vr_error *err = vr_x86_64_walk(1ull << 12, false, 0, 0xffffffff81000000ull, read_entry, NULL,
					      &pa, NULL);
	CHECK(reads == 4, "loop: %d reads", reads);
	vr_error_destroy(err);
}

/* The direct map's base is found as the first mapping of physical 0 in
 * the randomised region; holes are skipped a level at a time. */
static void test_find_direct_map(void)
{
	memset(mem, 0, sizeof(mem));
	uint64_t base = 0xffff8a2000000000ull; /* as a randomised 6.1 guest had it */
	set(1, base, 39, 2ull << 12 | P);
	set(2, base, 30, 0x0ull | P | PSE); /* physical 0, 1 GiB */
	set(2, base + (1ull << 30), 30, 0x40000000ull | P | PSE);
	reads = 0;
	uint64_t got = vr_x86_64_find_direct_map(1ull << 12, false, 0, read_entry, NULL);
	CHECK(got == base, "direct map at 0x%" PRIx64, got);
	CHECK(reads < 400, "scan took %d reads", reads);

	/* Through a PMD table rather than a 1 GiB page. */
	set(2, base, 30, 3ull << 12 | P);
	set(3, base, 21, 0x0ull | P | PSE);
	got = vr_x86_64_find_direct_map(1ull << 12, false, 0, read_entry, NULL);
	CHECK(got == base, "direct map via PMD at 0x%" PRIx64, got);

	/* The first mapping is not physical 0: no answer rather than a guess. */
	set(3, base, 21, 0x200000ull | P | PSE);
	got = vr_x86_64_find_direct_map(1ull << 12, false, 0, read_entry, NULL);
	CHECK(got == 0, "wrong direct map accepted: 0x%" PRIx64, got);

	/* Nothing mapped at all. */
	memset(mem, 0, sizeof(mem));
	got = vr_x86_64_find_direct_map(1ull << 12, false, 0, read_entry, NULL);
	CHECK(got == 0, "empty tables gave 0x%" PRIx64, got);
}

int main(void)
{
	test_find_direct_map();
	test_4level();
	test_5level();
	test_loop();
	if (failures)
		fprintf(stderr, "%d failure(s)\n", failures);
	return failures != 0;
}
