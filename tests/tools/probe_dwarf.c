/* Source lines and inline chains on a real vmlinux, driven by
 * tests/real/types.sh.
 *
 *   probe_dwarf lines VMLINUX ADDR...
 *       one line per address, addresses as the vmlinux links them:
 *       "ADDR FILE:LINE" then "  inlined SYMBOL FILE:LINE" innermost first
 *   probe_dwarf modline DUMP MODDIR SYMBOL OFFSET [VMLINUX]
 *       opens the dump (with VMLINUX, else the vmlinux found by
 *       discovery), collects its facts, and prints the source of
 *       SYMBOL+OFFSET in a module whose debug file is under MODDIR, like
 *       "lines"
 *   probe_dwarf bench VMLINUX SYSTEM_MAP N|NAME...
 *       looks up N text symbols (+4) spread over System.map, or the named
 *       ones, and prints the time and the peak resident size
 *   probe_dwarf compare VMLINUX SYSTEM_MAP N
 *       looks up N addresses spread over System.map's text symbols (each
 *       at a few offsets into its symbol) a unit at a time and through
 *       libdw's whole-file calls, prints each that differs, then a
 *       summary; exits 1 when any differs or none has a file
 */
#define _GNU_SOURCE
#include <libelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "engine/dwarf.h"
#include "engine/debuginfo.h"
#include "engine/internal.h"

static struct vr_diag diag;

static double cpu_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

static struct vr_kernel *open_vmlinux(const char *path, bool whole)
{
	elf_version(EV_CURRENT);
	struct vr_kernel *k = calloc(1, sizeof(*k));
	k->vmlinux_fd = -1;
	k->whole_dwarf = whole;
	k->diag = &diag;
	struct vr_error *err = vr_vmlinux_attach(k, path, true);
	if (err || !k->vmlinux_elf) {
		fprintf(stderr, "attaching %s: %s\n", path, err ? err->message : "not used");
		exit(2);
	}
	return k;
}

static void close_kernel(struct vr_kernel *k)
{
	vr_types_destroy(k->types);
	if (!k->btf_shared)
		vr_btf_destroy(k->btf);
	vr_dwarf_destroy(k->dwarf);
	vr_symtab_destroy(k->symtab);
	vr_debuginfo_put(k->debuginfo);
	elf_end(k->vmlinux_elf);
	close(k->vmlinux_fd);
	free(k->vmlinux_path);
	free(k->input.vmlinux_path);
	free(k->input.vmlinux_build_id);
	for (size_t i = 0; i < k->input.n_vmlinux_evidence; i++)
		free(k->input.vmlinux_evidence[i]);
	free(k->input.vmlinux_evidence);
	free(k);
}

static void print_frame(uint64_t addr, const struct vr_frame *f)
{
	printf("0x%llx %s:%d\n", (unsigned long long)addr, f->file ? f->file : "??", f->line);
	for (size_t i = 0; i < f->n_inlined; i++)
		printf("  inlined %s %s:%d\n", f->inlined[i].symbol,
		       f->inlined[i].file ? f->inlined[i].file : "??", f->inlined[i].line);
}

static bool str_eq(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

static bool frames_equal(const struct vr_frame *a, const struct vr_frame *b)
{
	if (!str_eq(a->file, b->file) || a->line != b->line || a->n_inlined != b->n_inlined)
		return false;
	for (size_t i = 0; i < a->n_inlined; i++)
		if (!str_eq(a->inlined[i].symbol, b->inlined[i].symbol) ||
		    !str_eq(a->inlined[i].file, b->inlined[i].file) || a->inlined[i].line != b->inlined[i].line)
			return false;
	return true;
}

/* The text symbols of a System.map, in its order. */
static size_t read_text_symbols(const char *path, uint64_t **ret)
{
	FILE *fp = fopen(path, "r");
	if (!fp) {
		perror(path);
		exit(2);
	}
	size_t cap = 0, n = 0;
	uint64_t *addrs = NULL;
	char line[512];
	while (fgets(line, sizeof(line), fp)) {
		unsigned long long a;
		char t;
		char name[256];
		if (sscanf(line, "%llx %c %255s", &a, &t, name) != 3 || (t != 't' && t != 'T'))
			continue;
		struct vr_error *err = vr_grow(&addrs, &cap, n + 1, sizeof(*addrs), 1u << 22);
		if (err) {
			fprintf(stderr, "probe_dwarf: %s\n", err->message);
			vr_error_destroy(err);
			break;
		}
		addrs[n++] = a;
	}
	fclose(fp);
	*ret = addrs;
	return n;
}

static int compare(const char *vmlinux, const char *map, size_t want)
{
	uint64_t *syms;
	size_t n = read_text_symbols(map, &syms);
	struct vr_kernel *fast = open_vmlinux(vmlinux, false), *whole = open_vmlinux(vmlinux, true);
	static const uint64_t offsets[] = { 0, 1, 4, 0x13, 0x40, 0x101 };
	size_t done = 0, differ = 0, files = 0, inlined = 0;
	for (size_t i = 0; n && i < want; i++) {
		uint64_t addr = syms[(i / 6 * 7919) % n] + offsets[i % 6];
		struct vr_frame a = { .address = addr }, b = { .address = addr };
		struct vr_error *ea = vr_dwarf_source(fast, addr, &a), *eb = vr_dwarf_source(whole, addr, &b);
		if (!ea != !eb || !frames_equal(&a, &b)) {
			differ++;
			printf("differs at 0x%llx (%s / %s):\n", (unsigned long long)addr,
			       ea ? ea->message : "ok", eb ? eb->message : "ok");
			printf(" a unit at a time:\n");
			print_frame(addr, &a);
			printf(" whole file:\n");
			print_frame(addr, &b);
		}
		files += a.file != NULL;
		inlined += a.n_inlined;
		vr_error_destroy(ea);
		vr_error_destroy(eb);
		vr_frame_deinit(&a);
		vr_frame_deinit(&b);
		done++;
	}
	printf("%zu addresses, %zu with a file, %zu inlined entries, %zu differ\n", done, files, inlined,
	       differ);
	free(syms);
	close_kernel(fast);
	close_kernel(whole);
	return differ || !files ? 1 : 0;
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: probe_dwarf lines|modline|bench|compare ... (see the source)\n");
		return 2;
	}
	if (strcmp(argv[1], "modline") == 0 && argc >= 6) {
		const char *paths[] = { argv[2] };
		const char *dirs[] = { argv[3] };
		struct vr_open_options o = { .dump_paths = paths, .n_dump_paths = 1,
					     .module_dirs = dirs, .n_module_dirs = 1,
					     .vmlinux_path = argc >= 7 ? argv[6] : NULL };
		struct vr_kernel *k;
		struct vr_error *err = vr_kernel_open(&o, &diag, &k);
		if (err) {
			fprintf(stderr, "opening %s: %s\n", argv[2], err->message);
			return 2;
		}
		struct vr_facts facts = { 0 };
		vr_kernel_collect(k, &facts, &diag);
		uint64_t addr = 0;
		int rc = 0;
		err = vr_kernel_symbol_address(k, argv[4], &addr);
		if (!err) {
			addr += strtoull(argv[5], NULL, 0);
			struct vr_frame f = { .address = addr };
			err = vr_dwarf_source(k, addr, &f);
			if (!err)
				print_frame(addr, &f);
			vr_frame_deinit(&f);
		}
		if (err) {
			printf("error: %s\n", err->message);
			vr_error_destroy(err);
			rc = 1;
		}
		vr_facts_deinit(&facts);
		vr_kernel_destroy(k);
		vr_diag_deinit(&diag);
		return rc;
	}
	if (strcmp(argv[1], "compare") == 0 && argc == 5) {
		int rc = compare(argv[2], argv[3], strtoul(argv[4], NULL, 0));
		vr_diag_deinit(&diag);
		return rc;
	}
	struct vr_kernel *k = open_vmlinux(argv[2], false);
	int rc = 0;
	if (strcmp(argv[1], "lines") == 0) {
		for (int i = 3; i < argc; i++) {
			uint64_t addr = strtoull(argv[i], NULL, 0);
			struct vr_frame f = { .address = addr };
			struct vr_error *err = vr_dwarf_source(k, addr, &f);
			if (err) {
				printf("0x%llx error: %s\n", (unsigned long long)addr, err->message);
				vr_error_destroy(err);
			} else {
				print_frame(addr, &f);
			}
			vr_frame_deinit(&f);
		}
	} else if (strcmp(argv[1], "bench") == 0 && argc >= 5) {
		FILE *fp = fopen(argv[3], "r");
		if (!fp) {
			perror(argv[3]);
			return 2;
		}
		size_t cap = 0, n = 0;
		uint64_t *addrs = NULL;
		/* N, or the names of the functions to look up */
		bool named = argv[4][0] < '0' || argv[4][0] > '9';
		char line[512];
		while (fgets(line, sizeof(line), fp)) {
			unsigned long long a;
			char t;
			char name[256];
			if (sscanf(line, "%llx %c %255s", &a, &t, name) != 3 || (t != 't' && t != 'T'))
				continue;
			if (!named)
				;
			else {
				bool hit = false;
				for (int j = 4; j < argc; j++)
					hit |= strcmp(argv[j], name) == 0;
				if (!hit)
					continue;
			}
			struct vr_error *err = vr_grow(&addrs, &cap, n + 1, sizeof(*addrs), 1u << 22);
			if (err) {
				fprintf(stderr, "probe_dwarf: %s\n", err->message);
				vr_error_destroy(err);
				break;
			}
			addrs[n++] = a + 4;
		}
		fclose(fp);
		size_t want = named ? n : strtoul(argv[4], NULL, 0);
		size_t ok = 0, inl = 0, done = 0;
		double t0 = vr_now_ms(), c0 = cpu_ms();
		for (size_t i = 0; n && i < want; i++) {
			uint64_t addr = addrs[(i * (n / want + 1)) % n];
			struct vr_frame f = { .address = addr };
			struct vr_error *err = vr_dwarf_source(k, addr, &f);
			if (err && !vr_error_catch(&err, VR_ERR_NOT_FOUND, VR_ERR_FORMAT, VR_ERR_IO)) {
				fprintf(stderr, "probe_dwarf: %s\n", err->message);
				vr_error_destroy(err);
				vr_frame_deinit(&f);
				break;
			}
			if (!err && f.file) {
				ok++;
				inl += f.n_inlined;
			}
			vr_frame_deinit(&f);
			done++;
		}
		double ms = vr_now_ms() - t0, cms = cpu_ms() - c0;
		struct rusage ru;
		getrusage(RUSAGE_SELF, &ru);
		/* Anonymous memory is what the lookups cost; file-backed pages
		 * are the mapped vmlinux, shared with the page cache. */
		long anon_kb = -1, file_kb = -1;
		FILE *st = fopen("/proc/self/status", "r");
		while (st && fgets(line, sizeof(line), st)) {
			sscanf(line, "RssAnon: %ld", &anon_kb);
			sscanf(line, "RssFile: %ld", &file_kb);
		}
		if (st)
			fclose(st);
		printf("%zu lookups, %zu with a file, %zu inlined entries, %.1f ms (%.1f ms of CPU), %.2f ms each, max rss %ld MB (anonymous %ld MB, file-backed %ld MB)\n",
		       done, ok, inl, ms, cms, done ? ms / (double)done : 0.0, ru.ru_maxrss / 1024,
		       anon_kb / 1024, file_kb / 1024);
		free(addrs);
		if (ok == 0)
			rc = 1;
	} else {
		fprintf(stderr, "usage: see the comment at the top of %s\n", __FILE__);
		rc = 1;
	}
	close_kernel(k);
	vr_diag_deinit(&diag);
	return rc;
}
