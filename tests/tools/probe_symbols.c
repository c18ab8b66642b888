/* Probe of address translation and symbols on a real dump, driven by
 * tests/real/translate.sh and tests/real/kallsyms.sh (which give it the
 * rig's dumps).
 *
 *   probe_symbols [--vmlinux PATH] [--no-vmcoreinfo] DUMP COMMAND [ARGS...]
 *     info                  the address-space layout
 *     kallsyms              every kallsyms entry: "ADDR TYPE NAME"
 *     kallsyms-search       the same from the tables found by their content,
 *                           as for kernels whose VMCOREINFO does not name
 *                           them (exit 3 when VMCOREINFO names them, and
 *                           the search finds other addresses)
 *     addr NAME...          "NAME ADDR" from the loaded symbol table
 *     string NAME           the NUL-terminated string at symbol NAME
 *     translate NAME...     for each symbol: page-table walk, fast path and
 *                           direct map agree on the physical address and
 *                           on 256 bytes read there; prints
 *                           "NAME ok VADDR PADDR"
 *     symbolize ADDR...     "ADDR SYMBOL+OFF/SIZE [MODULE]"
 *     read ADDR LEN         hex dump of kernel virtual memory
 *     bench                 time to symbolize 100000 addresses
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <inttypes.h>
#include <libelf.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "engine/internal.h"
#include "engine/kallsyms.h"
#include "engine/x86_64.h"

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int fail(struct vr_error *err, const char *what)
{
	fprintf(stderr, "probe_symbols: %s: %s\n", what, err ? err->message : "failed");
	vr_error_destroy(err);
	return 1;
}

static struct vr_error *walk_read(void *arg, uint64_t paddr, uint64_t *ret)
{
	uint8_t b[8];
	struct vr_error *err = vr_read_phys(arg, paddr, b, 8);
	if (!err)
		memcpy(ret, b, 8);
	return err;
}

static struct vr_error *mem_read(void *arg, uint64_t vaddr, void *buf, size_t len)
{
	return vr_kernel_read(arg, vaddr, buf, len);
}

static int cmd_translate(struct vr_kernel *k, int argc, char **argv)
{
	int bad = 0;
	for (int i = 0; i < argc; i++) {
		uint64_t va = 0, walk = 0, fast = 0, dm = 0;
		struct vr_error *err = vr_kernel_symbol_address(k, argv[i], &va);
		if (err)
			return fail(err, argv[i]);
		const struct vr_x86_64 *x = k->arch_state;
		err = vr_x86_64_walk(x->pgd, x->la57, x->sme_mask, va, walk_read, k, &walk, NULL);
		if (err)
			return fail(err, "page-table walk");
		err = vr_kernel_translate(k, va, &fast);
		if (err)
			return fail(err, "translation");
		if (walk != fast) {
			printf("%s MISMATCH walk 0x%" PRIx64 " fast 0x%" PRIx64 "\n", argv[i], walk, fast);
			bad++;
			continue;
		}
		/* The same bytes through the direct map. */
		uint64_t dva = k->layout.page_offset + walk;
		err = vr_kernel_translate(k, dva, &dm);
		if (err)
			return fail(err, "direct-map translation");
		uint8_t a[256], b[256], c[256];
		if ((err = vr_read_phys(k, walk, a, sizeof(a))) || (err = vr_kernel_read(k, va, b, sizeof(b))) ||
		    (err = vr_kernel_read(k, dva, c, sizeof(c))))
			return fail(err, argv[i]);
		/* And the direct-map address walked through the page tables. */
		uint64_t dwalk = 0;
		err = vr_x86_64_walk(x->pgd, x->la57, x->sme_mask, dva, walk_read, k, &dwalk, NULL);
		if (err)
			return fail(err, "page-table walk of the direct map");
		if (dm != walk || dwalk != walk || memcmp(a, b, sizeof(a)) || memcmp(a, c, sizeof(a))) {
			printf("%s MISMATCH direct map 0x%" PRIx64 " walked 0x%" PRIx64 " (or bytes differ)\n",
			       argv[i], dm, dwalk);
			bad++;
			continue;
		}
		printf("%s ok 0x%016" PRIx64 " 0x%" PRIx64 "\n", argv[i], va, walk);
	}
	return bad != 0;
}

static int cmd_kallsyms(struct vr_kernel *k)
{
	struct vr_kallsyms ks;
	struct vr_error *err = vr_kallsyms_load(k->vmcoreinfo, mem_read, k, k->arch->image_min, &ks);
	if (err)
		return fail(err, "kallsyms");
	for (size_t i = 0; i < ks.n; i++)
		printf("%016" PRIx64 " %c %s\n", ks.syms[i].address, ks.syms[i].type, ks.names + ks.syms[i].name);
	vr_kallsyms_deinit(&ks);
	return 0;
}

static int cmd_kallsyms_search(struct vr_kernel *k)
{
	uint64_t stext;
	if (!vr_vmcoreinfo_symbol(k->vmcoreinfo, "_stext", &stext))
		return fail(NULL, "no _stext in VMCOREINFO");
	struct vr_kallsyms_tables t, named;
	struct vr_kallsyms ks;
	struct vr_error *err = vr_kallsyms_search(mem_read, k, stext, VR_X86_64_START_KERNEL_MAP, &t, &ks);
	if (err)
		return fail(err, "kallsyms search");
	for (size_t i = 0; i < ks.n; i++)
		printf("%016" PRIx64 " %c %s\n", ks.syms[i].address, ks.syms[i].type, ks.names + ks.syms[i].name);
	vr_kallsyms_deinit(&ks);
	err = vr_kallsyms_tables_from_vmcoreinfo(k->vmcoreinfo, &named);
	if (err) {
		vr_error_destroy(err);
		return 0;
	}
	if (named.num_syms != t.num_syms || named.names != t.names || named.token_table != t.token_table ||
	    named.token_index != t.token_index || named.offsets != t.offsets) {
		fprintf(stderr, "probe_symbols: the search found other tables than VMCOREINFO names\n");
		return 3;
	}
	return 0;
}

static int cmd_symbolize(struct vr_kernel *k, int argc, char **argv)
{
	for (int i = 0; i < argc; i++) {
		struct vr_frame f = {.address = strtoull(argv[i], NULL, 0)};
		vr_kernel_symbolize(k, &f, false);
		printf("0x%" PRIx64 " %s+0x%" PRIx64 "/0x%" PRIx64 "%s%s%s\n", f.address, f.symbol ? f.symbol : "?",
		       f.offset, f.size, f.module ? " [" : "", f.module ? f.module : "", f.module ? "]" : "");
		vr_frame_deinit(&f);
	}
	return 0;
}

static int cmd_bench(struct vr_kernel *k)
{
	uint64_t start = 0, end = 0;
	if (!vr_symbols_lookup_name(k, "_stext", &start) || !vr_symbols_lookup_name(k, "_etext", &end) ||
	    end <= start)
		return fail(NULL, "no _stext/_etext");
	double t0 = now_ms();
	size_t found = 0;
	uint64_t x = 88172645463325252ull;
	for (int i = 0; i < 100000; i++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		struct vr_symbol s;
		found += vr_symbols_lookup_addr(k, start + x % (end - start), &s);
	}
	printf("100000 lookups in %.1f ms, %zu found\n", now_ms() - t0, found);
	return 0;
}

int main(int argc, char **argv)
{
	const char *vmlinux = NULL;
	bool no_vmcoreinfo = false;
	int ai = 1;
	for (;;) {
		if (argc > ai + 1 && !strcmp(argv[ai], "--vmlinux")) {
			vmlinux = argv[ai + 1];
			ai += 2;
		} else if (argc > ai && !strcmp(argv[ai], "--no-vmcoreinfo")) {
			no_vmcoreinfo = true;
			ai++;
		} else
			break;
	}
	if (argc - ai < 2) {
		fprintf(stderr, "usage: probe_symbols [--vmlinux PATH] DUMP COMMAND [ARGS...]\n");
		return 2;
	}
	const char *path = argv[ai];
	const char *cmd = argv[ai + 1];
	int nargs = argc - ai - 2;
	char **args = argv + ai + 2;

	struct vr_kernel k = {0};
	k.vmlinux_fd = -1;
	double t0 = now_ms();
	int rc = 0;
	struct vr_error *err = vr_dump_open(&path, 1, &k.dump);
	if (err) {
		rc = fail(err, path);
		goto out;
	}
	size_t vlen = 0;
	const char *vtext = vr_dump_vmcoreinfo(k.dump, &vlen);
	if (vtext && !no_vmcoreinfo && (err = vr_vmcoreinfo_parse(vtext, vlen, &k.vmcoreinfo))) {
		rc = fail(err, "VMCOREINFO");
		goto out;
	}
	double t1 = now_ms();
	k.arch = &vr_arch_x86_64;
	if ((err = vr_kernel_decode_saved(&k))) {
		rc = fail(err, "saved registers");
		goto out;
	}
	err = k.arch->init(&k);
	if (err) {
		rc = fail(err, "address space");
		goto out;
	}
	double t2 = now_ms();
	if (vmlinux) {
		elf_version(EV_CURRENT);
		k.vmlinux_fd = open(vmlinux, O_RDONLY | O_CLOEXEC);
		if (k.vmlinux_fd < 0) {
			rc = fail(NULL, vmlinux);
			goto out;
		}
		k.vmlinux_elf = elf_begin(k.vmlinux_fd, ELF_C_READ_MMAP, NULL);
		k.vmlinux_path = strdup(vmlinux);
	}
	err = vr_symbols_load_kernel(&k);
	if (err) {
		rc = fail(err, "symbols");
		goto out;
	}
	double t3 = now_ms();
	if (!strcmp(cmd, "info")) {
		const struct vr_x86_64 *x = k.arch_state;
		const struct vr_kernel_layout *l = &k.layout;
		printf("la57 %d\nkaslr_offset 0x%" PRIx64 "\nphys_base 0x%" PRIx64 "\npgd 0x%" PRIx64
		       "\npage_offset 0x%" PRIx64 "\nvmalloc_start 0x%" PRIx64 "\nvmemmap_start 0x%" PRIx64
		       "\nmodules 0x%" PRIx64 "-0x%" PRIx64 "\nms_open %.1f\nms_layout %.1f\nms_symbols %.1f\n",
		       x->la57, l->kaslr_offset, x->phys_base, x->pgd, l->page_offset, l->vmalloc_start,
		       x->vmemmap_start, l->modules_start, l->modules_end, t1 - t0, t2 - t1, t3 - t2);
	} else if (!strcmp(cmd, "kallsyms")) {
		rc = cmd_kallsyms(&k);
	} else if (!strcmp(cmd, "kallsyms-search")) {
		rc = cmd_kallsyms_search(&k);
	} else if (!strcmp(cmd, "addr")) {
		for (int i = 0; i < nargs; i++) {
			uint64_t a = 0;
			err = vr_kernel_symbol_address(&k, args[i], &a);
			if (err) {
				rc = fail(err, args[i]);
				continue;
			}
			printf("%s 0x%016" PRIx64 "\n", args[i], a);
		}
	} else if (!strcmp(cmd, "string") && nargs == 1) {
		uint64_t a = 0;
		char buf[1024];
		if ((err = vr_kernel_symbol_address(&k, args[0], &a)) || (err = vr_read_string(&k, a, buf, sizeof(buf))))
			rc = fail(err, args[0]);
		else
			fputs(buf, stdout);
	} else if (!strcmp(cmd, "translate")) {
		rc = cmd_translate(&k, nargs, args);
	} else if (!strcmp(cmd, "symbolize")) {
		rc = cmd_symbolize(&k, nargs, args);
	} else if (!strcmp(cmd, "read") && nargs == 2) {
		uint64_t a = strtoull(args[0], NULL, 0);
		size_t len = strtoul(args[1], NULL, 0);
		uint8_t buf[4096];
		if (len > sizeof(buf))
			len = sizeof(buf);
		if ((err = vr_kernel_read(&k, a, buf, len)))
			rc = fail(err, "read");
		for (size_t i = 0; !err && i < len; i++)
			printf("%02x%s", buf[i], i + 1 == len || i % 16 == 15 ? "\n" : " ");
	} else if (!strcmp(cmd, "bench")) {
		rc = cmd_bench(&k);
	} else {
		fprintf(stderr, "probe_symbols: unknown command %s\n", cmd);
		rc = 2;
	}

out:
	vr_symtab_destroy(k.symtab);
	if (k.vmlinux_elf)
		elf_end(k.vmlinux_elf);
	if (k.vmlinux_fd >= 0)
		close(k.vmlinux_fd);
	free(k.vmlinux_path);
	vr_memory_deinit(&k);
	free(k.arch_state);
	free(k.saved);
	vr_vmcoreinfo_destroy(k.vmcoreinfo);
	vr_dump_destroy(k.dump);
	return rc;
}
