/* The dump-format layer on fixtures written by vr-mkdump ($VR_BUILD_DIR):
 * every form and compression, page contents, excluded/zero/hole pages,
 * notes and QEMU CPU state, header versions, split parts in any order,
 * incomplete dumps, and the text/unknown-binary detection. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "engine/arch.h"
#include "engine/dump.h"
#include "engine/page_cache.h"
#include "engine/vmcoreinfo.h"
#include "engine/x86_64.h"

static char dir[] = "/tmp/vr-test-formats-XXXXXX";
static const char *mkdump;

#include "check.h"

static const char *cur = "";

static void gen(const char *name, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void gen(const char *name, const char *fmt, ...)
{
	char args[512], *cmd;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(args, sizeof(args), fmt, ap);
	va_end(ap);
	if (asprintf(&cmd, "%s gen %s %s/%s", mkdump, args, dir, name) < 0)
		exit(2);
	if (system(cmd) != 0) {
		fprintf(stderr, "failed: %s\n", cmd);
		failures++;
	}
	free(cmd);
}

static struct vr_dump *open_n(const char *const *names, size_t n)
{
	char *paths[8] = { 0 };
	for (size_t i = 0; i < n; i++)
		if (asprintf(&paths[i], "%s/%s", dir, names[i]) < 0)
			exit(2);
	struct vr_dump *d = NULL;
	struct vr_error *err = vr_dump_open((const char *const *)paths, n, &d);
	if (err) {
		fprintf(stderr, "%s: open failed: %s\n", cur, err->message);
		failures++;
		vr_error_destroy(err);
		d = NULL;
	}
	for (size_t i = 0; i < n; i++)
		free(paths[i]);
	return d;
}

static struct vr_dump *open1(const char *name)
{
	return open_n(&name, 1);
}

/* the synthetic machine of the standard spec below */
#define SPEC "--pages 512 --hole 100-120 --exclude 40-49,300 --zero 60-63 --cpus 3"
static bool hole(uint64_t p) { return p >= 100 && p <= 120; }
static bool excluded(uint64_t p) { return (p >= 40 && p <= 49) || p == 300; }
static bool zero(uint64_t p) { return p >= 60 && p <= 63; }

static void check_contents(struct vr_dump *d, bool all_pages_held)
{
	uint8_t page[4096];
	for (uint64_t pfn = 0; pfn < 520; pfn++) {
		struct vr_error *err = vr_dump_read_phys(d, pfn * 4096, page, sizeof(page));
		bool want = pfn < 512 && !hole(pfn) && (all_pages_held || !excluded(pfn));
		CHECK(vr_dump_page_present(d, pfn * 4096) == want);
		if (!want) {
			CHECK(err && err->code == VR_ERR_NOT_PRESENT);
		} else if (err) {
			fprintf(stderr, "%s: pfn %lu: %s\n", cur, (unsigned long)pfn, err->message);
			failures++;
		} else if (zero(pfn)) {
			CHECK(page[0] == 0 && !memcmp(page, page + 1, sizeof(page) - 1));
		} else {
			uint64_t v;
			memcpy(&v, page, 8);
			CHECK(v == pfn);
		}
		vr_error_destroy(err);
	}
	/* a read across a page boundary */
	uint8_t two[16];
	CHECK(succeeds(vr_dump_read_phys(d, 2 * 4096 - 8, two, sizeof(two))));
	uint64_t v;
	memcpy(&v, two + 8, 8);
	CHECK(v == 2);
}

static void check_cpus(struct vr_dump *d, bool qemu)
{
	CHECK(vr_dump_n_cpus(d) == 3);
	for (size_t i = 0; i < vr_dump_n_cpus(d); i++) {
		const struct vr_dump_cpu *c = vr_dump_cpu(d, i);
		CHECK(c->pid == 100 + (int)i);
		/* The notes are kept as they are; x86-64 decodes them. */
		struct vr_regs r = {0};
		CHECK(vr_arch_x86_64.prstatus(c->prstatus, c->prstatus_len, &r));
		if (c->qemu_len)
			vr_arch_x86_64.qemu_note(c->qemu, c->qemu_len, r.valid, &r);
		CHECK(r.valid && r.set == &vr_regset_x86_64);
		CHECK(r.r[X86_RIP] == 0xffffffff81000000ull + 0x10 * i);
		CHECK(r.r[X86_RAX] == 0x1000 * (i + 1) + X86_RAX);
		CHECK(vr_regs_known(&r, X86_CR2) == qemu);
		if (qemu)
			CHECK(r.r[X86_CR2] == 0xdead000 + i && r.r[X86_CR3] == 0x1234000);
	}
	CHECK(vr_dump_cpu(d, 3) == NULL);
}

static void check_vmcoreinfo(struct vr_dump *d)
{
	size_t len;
	const char *t = vr_dump_vmcoreinfo(d, &len);
	CHECK(t != NULL);
	if (!t)
		return;
	struct vr_vmcoreinfo *vi;
	CHECK(succeeds(vr_vmcoreinfo_parse(t, len, &vi)));
	CHECK(!strcmp(vr_vmcoreinfo_get(vi, "OSRELEASE"), "6.1.0-vrtest-amd64"));
	vr_vmcoreinfo_destroy(vi);
}

static void test_kdump(void)
{
	static const char *const comps[] = { "none", "zlib", "lzo", "snappy", "zstd" };
	for (size_t i = 0; i < 5; i++) {
		char name[32];
		snprintf(name, sizeof(name), "k.%s", comps[i]);
		cur = name;
		gen(name, SPEC " --compress %s --dump-level 31", comps[i]);
		struct vr_dump *d = open1(name);
		if (!d)
			continue;
		const struct vr_dump_info *in = vr_dump_get_info(d);
		CHECK(!strcmp(in->form, "kdump"));
		CHECK(!strcmp(in->compression, comps[i]));
		CHECK(in->dump_level == 31);
		CHECK(!in->incomplete);
		CHECK(in->max_pfn == 512);
		CHECK(in->pages_total == 512 - 21);
		CHECK(in->pages_present == 512 - 21 - 11);
		CHECK(!strcmp(in->release, "6.1.0-vrtest-amd64"));
		CHECK(in->dump_time == 1764133200);
		check_contents(d, false);
		check_cpus(d, false);
		check_vmcoreinfo(d);
		uint64_t pa;
		CHECK(fails_with(vr_dump_elf_vtop(d, 0xffffffff81000000ull, &pa), VR_ERR_NOT_FOUND));
		vr_dump_destroy(d);
	}
}

static void test_versions(void)
{
	for (int v = 1; v <= 7; v++) {
		char name[32];
		snprintf(name, sizeof(name), "v%d", v);
		cur = name;
		gen(name, SPEC " --header-version %d", v);
		struct vr_dump *d = open1(name);
		if (!d)
			continue;
		check_contents(d, false);
		CHECK((vr_dump_vmcoreinfo(d, NULL) != NULL) == (v >= 3));
		CHECK((vr_dump_n_cpus(d) == 3) == (v >= 4));
		vr_dump_destroy(d);
	}
}

static void test_elf(void)
{
	cur = "elf";
	gen("e.elf", SPEC " --form elf");
	struct vr_dump *d = open1("e.elf");
	if (d) {
		const struct vr_dump_info *in = vr_dump_get_info(d);
		CHECK(!strcmp(in->form, "elf"));
		CHECK(in->pages_present == 512 - 21 - 11);
		check_contents(d, false);
		check_cpus(d, false);
		check_vmcoreinfo(d);
		uint64_t pa = 0;
		CHECK(succeeds(vr_dump_elf_vtop(d, 0xffffffff81000123ull, &pa)) && pa == 0x10123);
		CHECK(succeeds(vr_dump_elf_vtop(d, 0xffff888000005008ull, &pa)) && pa == 0x5008);
		struct vr_error *err = vr_dump_elf_vtop(d, 0xffff888000000000ull + 45 * 4096, &pa);
		CHECK(err && err->code == VR_ERR_NOT_FOUND);
		vr_error_destroy(err);
		vr_dump_destroy(d);
	}
	cur = "qemu-elf";
	gen("q.elf", SPEC " --form qemu-elf");
	d = open1("q.elf");
	if (d) {
		CHECK(!strcmp(vr_dump_get_info(d)->form, "qemu-elf"));
		check_contents(d, false);
		check_cpus(d, true);
		uint64_t pa;
		CHECK(fails_with(vr_dump_elf_vtop(d, 0x5000, &pa), VR_ERR_NOT_FOUND));
		vr_dump_destroy(d);
	}
	cur = "qemu-kdump";
	gen("q.kdump", SPEC " --form qemu-kdump --no-vmcoreinfo");
	d = open1("q.kdump");
	if (d) {
		CHECK(!strcmp(vr_dump_get_info(d)->form, "qemu-kdump"));
		CHECK(vr_dump_vmcoreinfo(d, NULL) == NULL);
		check_contents(d, false);
		check_cpus(d, true);
		vr_dump_destroy(d);
	}
}

static void test_flattened(void)
{
	static const char *const variants[][2] = {
		{ "f.flat", "--form flat --compress zstd" },
		{ "fs.flat", "--form flat --compress lzo --flat-shuffle" },
		{ "fe.flat", "--form flat-elf" },
	};
	for (size_t i = 0; i < 3; i++) {
		cur = variants[i][0];
		gen(variants[i][0], SPEC " %s", variants[i][1]);
		struct vr_dump *d = open1(variants[i][0]);
		if (!d)
			continue;
		CHECK(!strcmp(vr_dump_get_info(d)->form, "flattened"));
		check_contents(d, false);
		check_cpus(d, false);
		check_vmcoreinfo(d);
		vr_dump_destroy(d);
	}
}

static void test_split(void)
{
	cur = "split";
	gen("s", SPEC " --split 3 --compress snappy");
	static const char *const orders[][3] = { { "s.1", "s.2", "s.3" }, { "s.3", "s.1", "s.2" } };
	for (size_t o = 0; o < 2; o++) {
		struct vr_dump *d = open_n(orders[o], 3);
		if (!d)
			continue;
		CHECK(!strcmp(vr_dump_get_info(d)->form, "split"));
		CHECK(vr_dump_get_info(d)->pages_present == 512 - 21 - 11);
		check_contents(d, false);
		check_cpus(d, false);
		vr_dump_destroy(d);
	}
	/* one part alone holds its range only */
	struct vr_dump *d = open1("s.2");
	if (d) {
		uint8_t b[8];
		CHECK(succeeds(vr_dump_read_phys(d, 200 * 4096, b, 8)));
		struct vr_error *err = vr_dump_read_phys(d, 5 * 4096, b, 8);
		CHECK(err && err->code == VR_ERR_NOT_PRESENT);
		vr_error_destroy(err);
		vr_dump_destroy(d);
	}
	/* overlapping parts */
	static const char *const dup[] = { "s.1", "s.1" };
	const char *p[2];
	char a[128], b2[128];
	snprintf(a, sizeof(a), "%s/%s", dir, dup[0]);
	snprintf(b2, sizeof(b2), "%s/%s", dir, dup[1]);
	p[0] = a;
	p[1] = b2;
	struct vr_error *err = vr_dump_open(p, 2, &d);
	CHECK(err && strstr(err->message, "overlaps"));
	vr_error_destroy(err);
}

static void test_incomplete(void)
{
	cur = "incomplete";
	gen("inc", SPEC " --incomplete");
	struct vr_dump *d = open1("inc");
	if (!d)
		return;
	CHECK(vr_dump_get_info(d)->incomplete);
	uint8_t b[8];
	CHECK(succeeds(vr_dump_read_phys(d, 2 * 4096, b, 8)));
	struct vr_error *err = vr_dump_read_phys(d, 511 * 4096, b, 8);
	CHECK(err && err->code == VR_ERR_NOT_PRESENT);
	vr_error_destroy(err);
	vr_dump_destroy(d);
}

static void write_file(const char *name, const void *data, size_t len)
{
	char path[256];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "wb");
	fwrite(data, 1, len, f);
	fclose(f);
}

static void test_text(void)
{
	static const struct {
		const char *name, *content;
		bool text;
	} cases[] = {
		{ "dmesg.txt", "[    0.000000] Linux version 6.1.0\n[    1.234567] BUG: kernel NULL pointer\n", true },
		{ "prefix.txt", "<6>[    0.000000] Linux version 6.1.0\n", true },
		{ "journal.txt", "Nov 26 05:00:00 host kernel: Oops: 0000 [#1] SMP\n", true },
		{ "console.log", "\x1b[2JSeaBIOS (version 1.16)\r\nBooting from ROM..\r\n[    0.000000] Linux version\r\n", true },
		{ "notes.txt", "just some words\nwithout any kernel lines\n", false },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cur = cases[i].name;
		write_file(cases[i].name, cases[i].content, strlen(cases[i].content));
		char path[256];
		snprintf(path, sizeof(path), "%s/%s", dir, cases[i].name);
		const char *p = path;
		struct vr_dump *d = NULL;
		struct vr_error *err = vr_dump_open(&p, 1, &d);
		CHECK(!err == cases[i].text);
		if (d) {
			size_t len;
			CHECK(!strcmp(vr_dump_get_info(d)->form, "text"));
			CHECK(vr_dump_text(d, &len) && len == strlen(cases[i].content));
			CHECK(!vr_dump_has_memory(d));
			uint8_t b[8];
			CHECK(fails_with(vr_dump_read_phys(d, 0, b, 8), VR_ERR_UNSUPPORTED));
		}
		if (err)
			CHECK(strstr(err->message, "not a crash dump or kernel log") != NULL);
		vr_error_destroy(err);
		vr_dump_destroy(d);
	}
	cur = "binary";
	uint8_t junk[600];
	for (size_t i = 0; i < sizeof(junk); i++)
		junk[i] = (uint8_t)(i * 7 + 3);
	write_file("junk.bin", junk, sizeof(junk));
	char path[256];
	snprintf(path, sizeof(path), "%s/junk.bin", dir);
	const char *p = path;
	struct vr_dump *d = NULL;
	struct vr_error *err = vr_dump_open(&p, 1, &d);
	CHECK(err && strstr(err->message, "junk.bin: not a crash dump or kernel log (offset 0: "
					  "unknown signature 03 0a 11"));
	if (err)
		fprintf(stderr, "(expected) %s\n", err->message);
	vr_error_destroy(err);
	write_file("empty", "", 0);
	snprintf(path, sizeof(path), "%s/empty", dir);
	err = vr_dump_open(&p, 1, &d);
	CHECK(err && strstr(err->message, "empty file"));
	vr_error_destroy(err);
	snprintf(path, sizeof(path), "%s/does-not-exist", dir);
	err = vr_dump_open(&p, 1, &d);
	CHECK(err && err->code == VR_ERR_IO);
	vr_error_destroy(err);
}

static void test_page_cache(void)
{
	cur = "page cache";
	struct vr_page_cache *c;
	CHECK(succeeds(vr_page_cache_create(4, 64, &c)));
	for (uint64_t k = 0; k < 10; k++) {
		uint8_t *slot = vr_page_cache_reserve(c, k);
		memset(slot, (int)k, 64);
		vr_page_cache_commit(c);
		const uint8_t *got = vr_page_cache_lookup(c, k);
		CHECK(got && got[0] == k && got[63] == k);
	}
	/* bounded: at most 4 of the 10 are still there, the newest is */
	int held = 0;
	for (uint64_t k = 0; k < 10; k++) {
		const uint8_t *got = vr_page_cache_lookup(c, k);
		if (got) {
			held++;
			CHECK(got[0] == k);
		}
	}
	CHECK(held <= 4 && held >= 1);
	CHECK(vr_page_cache_lookup(c, 9) != NULL);
	/* an aborted fill is not visible */
	vr_page_cache_reserve(c, 100);
	vr_page_cache_abort(c);
	CHECK(vr_page_cache_lookup(c, 100) == NULL);
	vr_page_cache_destroy(c);
	CHECK(fails_with(vr_page_cache_create(0, 64, &c), VR_ERR_USAGE));
}

int main(void)
{
	test_page_cache();
	const char *bd = getenv("VR_BUILD_DIR");
	if (!bd) {
		fprintf(stderr, "VR_BUILD_DIR is not set\n");
		return 1;
	}
	if (asprintf((char **)&mkdump, "%s/vr-mkdump", bd) < 0 || access(mkdump, X_OK) != 0) {
		fprintf(stderr, "%s is missing\n", mkdump);
		return 1;
	}
	if (!mkdtemp(dir))
		return 1;
	test_kdump();
	test_versions();
	test_elf();
	test_flattened();
	test_split();
	test_incomplete();
	test_text();
	char *rm = NULL;
	if (asprintf(&rm, "rm -rf %s", dir) < 0)
		rm = NULL;
	else if (system(rm) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
	free(rm);
	free((char *)mkdump);
	if (failures)
		fprintf(stderr, "%d failures\n", failures);
	return failures != 0;
}
