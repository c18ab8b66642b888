/* The engine's public face: open a dump (and maybe a vmlinux), collect the
 * facts once, and answer the few memory/symbol/type questions analyzers ask.
 * Analyzers include this, facts.h and error.h; nothing else from engine/. */
#ifndef VR_KERNEL_H
#define VR_KERNEL_H

#include "error.h"
#include "facts.h"

struct vr_kernel;

/* What is read from a vmlinux once for several dumps (a batch): a dump
 * opened with a cache reuses the symbol table, BTF and source lines an
 * earlier dump of the same vmlinux file read. Kernels may be opened with
 * one cache from several threads at once; the cache outlives them. */
struct vr_debuginfo_cache;
struct vr_debuginfo_cache *vr_debuginfo_cache_create(void);
void vr_debuginfo_cache_destroy(struct vr_debuginfo_cache *cache);

struct vr_open_options {
	const char *const *dump_paths; /* one, or several parts of a --split dump */
	size_t n_dump_paths;
	const char *vmlinux_path;      /* NULL: look in the usual places */
	const char *const *module_dirs;
	size_t n_module_dirs;
	bool no_discovery;             /* do not search for a vmlinux (tests) */
	struct vr_debuginfo_cache *debuginfo; /* NULL: read the vmlinux for this dump alone */
	bool whole_dwarf;              /* read the vmlinux's DWARF with libdw's whole-file
					* lookups, not a unit at a time (tests compare the two) */
	const char *log_path;          /* a kernel log saved beside the dump (vmcore-dmesg.txt,
					* dmesg.*): read when the dump's own log is missing or cut */
};

/* What the report's "input" says. */
struct vr_input_info {
	char *path;
	const char *form;        /* "elf", "kdump", "flattened", "qemu-elf", "qemu-kdump", "text", "split" */
	const char *compression; /* "none", "zlib", "lzo", "snappy", "zstd", "mixed", NULL unknown */
	int dump_level;          /* -1 unknown */
	bool partial;            /* the dump lacks some of the machine's memory: filtered by
				  * dump level, pages excluded, truncated or flagged incomplete,
				  * or pages the report needed missing (crash's "[PARTIAL DUMP]") */
	bool incomplete;         /* truncated, or flagged incomplete by its writer */
	uint64_t size_bytes;
	uint64_t pages_total;    /* pages of RAM the dump describes, 0 unknown */
	uint64_t pages_present;  /* of those, pages it holds */
	/* vmlinux */
	char *vmlinux_path;      /* NULL: none used */
	char *vmlinux_build_id;  /* hex */
	const char *vmlinux_match; /* "yes", "no", "unknown" */
	char **vmlinux_evidence;
	size_t n_vmlinux_evidence;
};

/* Opens the dump. Fails only when the input cannot be analysed at all (the
 * caller exits 2); problems with a vmlinux or with parts of the dump become
 * warnings in diag. */
struct vr_error *vr_kernel_open(const struct vr_open_options *opts, struct vr_diag *diag,
				struct vr_kernel **ret);
void vr_kernel_destroy(struct vr_kernel *k);

const struct vr_input_info *vr_kernel_input(const struct vr_kernel *k);

/* Runs every collector (system, log, tasks, modules, cpus and their stacks,
 * panic context); each records its status in diag. Never fails as a whole. */
void vr_kernel_collect(struct vr_kernel *k, struct vr_facts *facts, struct vr_diag *diag);

/* True when the input holds memory (false for text input). */
bool vr_kernel_has_memory(const struct vr_kernel *k);

/* Read len bytes of kernel virtual memory. VR_ERR_FAULT when not mapped,
 * VR_ERR_NOT_PRESENT when the page is not in the dump. */
struct vr_error *vr_kernel_read(struct vr_kernel *k, uint64_t vaddr, void *buf, size_t len);
struct vr_error *vr_kernel_translate(struct vr_kernel *k, uint64_t vaddr, uint64_t *ret);

/* Fill symbol, offset, size, module, file, line and inlined of f from
 * f->address (a return address is looked up at address-1 when
 * is_return_address). Leaves fields it cannot establish as they are. */
void vr_kernel_symbolize(struct vr_kernel *k, struct vr_frame *f, bool is_return_address);

struct vr_error *vr_kernel_symbol_address(struct vr_kernel *k, const char *name, uint64_t *ret);

/* Adds to t the frames of functions that tail-called the frame above them
 * (marked inferred): where the direct call before a frame's return address
 * targets another function than the frame above it. Needs dump memory;
 * without it t is left as it is. Fails only on out-of-memory. */
struct vr_error *vr_trace_infer_tail_calls(struct vr_kernel *k, struct vr_trace *t);

/* Name of the member of struct type that holds byte offset (e.g.
 * "task_struct", 0x5a8 -> "mm"); nested members dotted ("thread.sp"). */
struct vr_error *vr_kernel_member_at(struct vr_kernel *k, const char *type, uint64_t offset,
				     char **ret);

/* The struct member that an access through register reg (enum vr_reg) plus
 * disp names at pc, from the debug info of the function there (the vmlinux's
 * or a module's): "struct vrbug_obj.value". VR_ERR_NOT_FOUND when no
 * variable of pointer-to-struct type lives in reg at pc. */
struct vr_error *vr_kernel_register_member(struct vr_kernel *k, uint64_t pc, int reg, int64_t disp,
					   char **ret);

/* Source file and line for an address (NULL/0 when unknown). */
struct vr_error *vr_kernel_source_line(struct vr_kernel *k, uint64_t addr, char **ret_file,
				       int *ret_line);

#endif
