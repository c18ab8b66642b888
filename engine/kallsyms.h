/* The kernel's compressed symbol table (kernel/kallsyms.c), decoded from
 * memory when no vmlinux is at hand (engine-private). */
#ifndef VR_KALLSYMS_H
#define VR_KALLSYMS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

struct vr_vmcoreinfo;

/* Reads len bytes of kernel virtual memory. */
typedef struct vr_error *(*vr_kallsyms_read_fn)(void *arg, uint64_t vaddr, void *buf, size_t len);

/* Addresses of the tables (0: absent). kernel/vmcore_info.c (crash_core.c
 * before 6.9) names them in VMCOREINFO since Linux 6.0. */
struct vr_kallsyms_tables {
	uint64_t num_syms;      /* unsigned int */
	uint64_t names;         /* u8 stream */
	uint64_t token_table;   /* NUL-terminated tokens */
	uint64_t token_index;   /* u16[256] */
	uint64_t offsets;       /* int[] (CONFIG_KALLSYMS_BASE_RELATIVE, always since 6.11) */
	uint64_t relative_base; /* unsigned long */
	uint64_t addresses;     /* unsigned long[] (without BASE_RELATIVE) */
	bool pc_relative;       /* offsets from their own address (7.0+) */
};

struct vr_kallsyms_sym {
	uint64_t address;
	uint32_t name;  /* offset into names */
	char type;      /* nm letter */
};

struct vr_kallsyms {
	struct vr_kallsyms_sym *syms; /* in table order (sorted by address) */
	size_t n;
	char *names;                  /* NUL-separated */
	size_t names_len;
};

/* VR_ERR_NOT_FOUND "kallsyms tables not named in VMCOREINFO" when absent. */
struct vr_error *vr_kallsyms_tables_from_vmcoreinfo(const struct vr_vmcoreinfo *vi,
						    struct vr_kallsyms_tables *ret);
struct vr_error *vr_kallsyms_read(const struct vr_kallsyms_tables *t, vr_kallsyms_read_fn read,
				  void *arg, struct vr_kallsyms *ret);
/* The tables found by their content in the SEARCH_SPAN bytes after _stext
 * (at stext), for kernels whose VMCOREINFO does not name them: accepted
 * only when the decoded table puts _stext at stext. image_min is the
 * lowest address of the kernel image (struct vr_arch.image_min): a base
 * of relative offsets below it is no kernel address. */
struct vr_error *vr_kallsyms_search(vr_kallsyms_read_fn read, void *arg, uint64_t stext, uint64_t image_min,
				    struct vr_kallsyms_tables *ret_tables, struct vr_kallsyms *ret);
/* The tables VMCOREINFO names, else the ones vr_kallsyms_search finds. */
struct vr_error *vr_kallsyms_load(const struct vr_vmcoreinfo *vi, vr_kallsyms_read_fn read, void *arg,
				  uint64_t image_min, struct vr_kallsyms *ret);
void vr_kallsyms_deinit(struct vr_kallsyms *ks);

#endif
