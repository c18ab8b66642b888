/* Physical memory and notes of a dump, whatever its form (engine-private).
 * Each form is one file (format_*.c) behind the table in format.h. */
#ifndef VR_DUMP_H
#define VR_DUMP_H

#include <stdio.h>

#include "error.h"
#include "facts.h"

#define VR_PAGE_SIZE 4096u

struct vr_dump;

/* The largest note descriptor a CPU's registers are kept from. */
#define VR_DUMP_CPU_NOTE_MAX 512

/* The notes one CPU saved, as they are: the architecture decodes them
 * (arch.h). */
struct vr_dump_cpu {
	int pid;              /* pr_pid of NT_PRSTATUS, -1 unknown */
	uint8_t prstatus[VR_DUMP_CPU_NOTE_MAX]; /* NT_PRSTATUS descriptor */
	size_t prstatus_len;  /* 0: none */
	uint8_t qemu[VR_DUMP_CPU_NOTE_MAX];     /* QEMU's CPU-state note */
	size_t qemu_len;      /* 0: none */
};

struct vr_dump_info {
	const char *form;        /* see vr_input_info.form */
	const char *compression; /* "none", "zlib", "lzo", "snappy", "zstd", "mixed" */
	int dump_level;          /* -1 unknown */
	bool filtered;           /* pages were left out on purpose: a dump level above 0, or
				  * an ELF dump whose segments hold less than the memory they
				  * describe (makedumpfile -E) */
	bool incomplete;         /* the dump says it was cut short */
	uint64_t pages_cut;      /* dumped pages whose data a cut end lost, 0 none or unknown */
	const char *damage;      /* what reading the files had to skip (bad flattened
				  * record headers), NULL when nothing */
	uint64_t size_bytes;     /* sum of the files' sizes */
	uint64_t max_pfn;        /* highest page frame described + 1, 0 unknown */
	uint64_t pages_present;  /* pages whose data the dump holds (not those a cut end lost), 0 unknown */
	uint64_t pages_total;    /* pages of RAM described, 0 unknown */
	/* utsname from the diskdump header, "" when the form has none */
	char sysname[65], nodename[65], release[65], version[65], machine[65];
	uint16_t e_machine;      /* ELF machine of an ELF dump, 0 for other forms */
	int64_t dump_time;       /* seconds, from the diskdump header, -1 unknown */
	/* The kdump sub-header's phys_base: where the writer (makedumpfile,
	 * from /proc/vmcore's kernel-image segment) found the image loaded */
	uint64_t phys_base;
	bool phys_base_known;
};

/* Opens one dump (n_paths > 1: the parts of a --split dump). Detection is by
 * content. A text file that is not a dump opens as form "text".
 * A --split dump opened from all its parts (in any order) has form "split";
 * one part opened alone is form "kdump" holding only its pfn range. A
 * flattened file (makedumpfile -F) is read in place, form "flattened". */
struct vr_error *vr_dump_open(const char *const *paths, size_t n_paths, struct vr_dump **ret);
void vr_dump_destroy(struct vr_dump *d);

const struct vr_dump_info *vr_dump_get_info(const struct vr_dump *d);
bool vr_dump_has_memory(const struct vr_dump *d);

/* Reads physical memory; VR_ERR_NOT_PRESENT names the first missing page. */
struct vr_error *vr_dump_read_phys(struct vr_dump *d, uint64_t paddr, void *buf, size_t len);
/* Whether the page holding paddr is in the dump (cheap, no decompression). */
bool vr_dump_page_present(struct vr_dump *d, uint64_t paddr);

/* What became of the page holding paddr: held; left out by the dump's
 * filter (a makedumpfile dump level, an ELF segment's p_filesz short of
 * p_memsz); dumped but lost with the file's cut end (or never written by
 * an interrupted writer); or not described at all (no RAM there, beyond
 * the dump); or, out of memory, unknown. No decompression. */
enum vr_page_state {
	VR_PAGE_PRESENT,
	VR_PAGE_EXCLUDED,
	VR_PAGE_CUT,
	VR_PAGE_ABSENT,
	VR_PAGE_UNKNOWN, /* could not be told: out of memory */
};
enum vr_page_state vr_dump_page_state(struct vr_dump *d, uint64_t paddr);

/* ELF dumps whose PT_LOADs carry virtual addresses (kdump's /proc/vmcore
 * maps the kernel image, the direct map, ...): translate through them.
 * VR_ERR_NOT_FOUND when no segment covers vaddr. */
struct vr_error *vr_dump_elf_vtop(const struct vr_dump *d, uint64_t vaddr, uint64_t *ret);

/* VMCOREINFO text (NULL when the dump carries none). */
const char *vr_dump_vmcoreinfo(const struct vr_dump *d, size_t *ret_len);

size_t vr_dump_n_cpus(const struct vr_dump *d);
const struct vr_dump_cpu *vr_dump_cpu(const struct vr_dump *d, size_t i);

/* Whole text for form "text", else NULL. */
const char *vr_dump_text(const struct vr_dump *d, size_t *ret_len);

/* Path of the (first) file, for messages. */
const char *vr_dump_path(const struct vr_dump *d);

/* Prints form, compression, dump level, pages present/total, CPUs and
 * vmcoreinfo size, one "key: value" per line (for tools and tests). */
void vr_dump_describe(const struct vr_dump *d, FILE *f);

/* Bytes read from the dump's files so far: what a report costs in input,
 * for tests that bound it. */
uint64_t vr_dump_bytes_read(const struct vr_dump *d);

#endif
