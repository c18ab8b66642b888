/* What the dump fuzz targets share: the input opened as a dump file through
 * vr_dump_open() (so every format's probe sees it), then read the way the
 * engine reads one: pages, the page cache, notes, VMCOREINFO. */
#ifndef VR_FUZZ_DUMP_H
#define VR_FUZZ_DUMP_H

#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#include "failed.h"
#include "engine/arch.h"
#include "engine/dump.h"

/* The input as a file: vr_dump_open() takes paths, so hand it a memfd. */
static void fuzz_dump_open_and_read(const uint8_t *data, size_t size)
{
	int fd = memfd_create("fuzz", MFD_CLOEXEC);
	if (fd < 0)
		return;
	size_t done = 0;
	while (done < size) {
		ssize_t n = write(fd, data + done, size - done);
		if (n <= 0)
			break;
		done += (size_t)n;
	}
	char path[64];
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	const char *p = path;
	struct vr_dump *d = NULL;
	struct vr_error *err = vr_dump_open(&p, 1, &d);
	if (!err) {
		const struct vr_dump_info *in = vr_dump_get_info(d);
		uint8_t page[VR_PAGE_SIZE];
		uint64_t max = in->max_pfn < 4096 ? in->max_pfn : 4096;
		unsigned reads = 0;
		for (uint64_t pfn = 0; pfn < max && reads < 64; pfn++) {
			if (!vr_dump_page_present(d, pfn * VR_PAGE_SIZE))
				continue;
			reads++;
			failed(vr_dump_read_phys(d, pfn * VR_PAGE_SIZE, page, sizeof(page)));
			/* again: now from the page cache */
			failed(vr_dump_read_phys(d, pfn * VR_PAGE_SIZE + 100, page, 200));
		}
		failed(vr_dump_read_phys(d, UINT64_MAX - 10, page, 16));
		uint64_t pa;
		failed(vr_dump_elf_vtop(d, 0xffffffff81000000ull, &pa));
		/* Every architecture decodes every CPU's notes. */
		for (size_t i = 0; i < vr_dump_n_cpus(d); i++) {
			const struct vr_dump_cpu *c = vr_dump_cpu(d, i);
			for (size_t a = 0; a < vr_n_arches; a++) {
				struct vr_regs r = {0};
				vr_arches[a]->prstatus(c->prstatus, c->prstatus_len, &r);
				if (vr_arches[a]->qemu_note && c->qemu_len)
					vr_arches[a]->qemu_note(c->qemu, c->qemu_len, r.valid, &r);
			}
		}
		size_t len;
		vr_dump_vmcoreinfo(d, &len);
		vr_dump_text(d, &len);
		FILE *devnull = fopen("/dev/null", "w");
		if (devnull) {
			vr_dump_describe(d, devnull);
			fclose(devnull);
		}
	}
	vr_error_destroy(err);
	vr_dump_destroy(d);
	close(fd);
}

#endif
