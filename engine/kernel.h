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

/* A deep copy of the kernel's input facts for a report to print (and
 * rewrite: redaction, UTF-8), freed with vr_input_deinit(). */
struct vr_error *vr_input_copy(const struct vr_input_info *src, struct vr_input_info *ret);
void vr_input_deinit(struct vr_input_info *in);
const struct vr_input_info *vr_kernel_input(const struct vr_kernel *k);

/* Runs every collector (system, log, tasks, modules, cpus and their stacks,
 * panic context); each records its status in diag. Never fails as a whole. */
void vr_kernel_collect(struct vr_kernel *k, struct vr_facts *facts, struct vr_diag *diag);

/* For a function that cannot return an error: true when err is one. The
 * codes named are expected and dropped; any other error (out of memory
 * above all) is kept for the running step, which ends with it: a
 * collector's or analyzer's step takes it with vr_kernel_take_fatal() and
 * reports itself partial with the reason. */
void vr_kernel_absorb_slow(struct vr_kernel *k, struct vr_error *err, const enum vr_error_code *codes,
			   size_t n);
static inline bool vr_kernel_absorb_codes(struct vr_kernel *k, struct vr_error *err,
					  const enum vr_error_code *codes, size_t n)
{
	if (!err)
		return false;
	vr_kernel_absorb_slow(k, err, codes, n);
	return true;
}
#define vr_kernel_absorb(k, err, ...) \
	vr_kernel_absorb_codes((k), (err), VR_ERR_CODES_(__VA_ARGS__), VR_ERR_NCODES_(__VA_ARGS__))
/* The error the running step absorbed, NULL if none; the caller owns it. */
struct vr_error *vr_kernel_take_fatal(struct vr_kernel *k);

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

/* A symbol of the kernel or of a module. Its strings live as long as the
 * kernel object. */
struct vr_symbol {
	const char *name;
	uint64_t address;
	uint64_t size;      /* 0 unknown */
	const char *module; /* NULL: kernel image */
	char type;          /* nm-style letter: 't', 'T', 'd', ... */
};
/* The symbol covering addr (as vr_kernel_symbolize() finds it, without
 * source lines: cheap enough for every entry of a table). */
bool vr_kernel_symbol_at(struct vr_kernel *k, uint64_t addr, struct vr_symbol *ret);
/* A symbol by name, kernel first: its address, size and type. */
struct vr_error *vr_kernel_symbol_lookup(struct vr_kernel *k, const char *name,
					 struct vr_symbol *ret);

/* One instruction decoded by the architecture's decoder. Register fields
 * hold an index of the architecture's register set (struct vr_regset) or
 * -1 when absent or not a general-purpose register. */
struct vr_insn {
	uint64_t address;
	uint8_t size;
	uint8_t bytes[16];
	char text[208];        /* as objdump and `crash> dis` print it: "mov    0x10(%rax),%rax" */
	bool has_mem;          /* an explicit memory operand */
	int base;              /* register, -1 none */
	int index;             /* register, -1 none */
	int scale;
	int64_t disp;
	bool pc_relative;      /* the address is relative to the next instruction */
	bool percpu;           /* a per-CPU access through a segment or system register */
	bool mem_read, mem_write; /* how the memory operand is accessed (both for
				   * read-modify-write) */
	bool is_trap;          /* the trap BUG() and WARN() are made of */
	bool has_target;       /* a call or jump to an immediate address */
	uint64_t target;
};

/* A table of system call handlers, by its symbol: the ABI it serves, the
 * prefix of its handlers' names, and the function that dispatches the
 * calls instead of the table where a kernel has it (NULL none). */
struct vr_syscall_table {
	const char *symbol, *abi, *prefix, *dispatch;
};

/* What the analyzers may know of the architecture of the dump (or of the
 * kernel that printed a log text): engine/arch.h has the rest. */
struct vr_arch_info {
	const char *name;                /* "x86_64", as uname -m prints it */
	const char *label;               /* "x86-64", as the report's sentences name it */
	const struct vr_regset *regs;
	/* Bounds that hold in every configuration of the architecture: user
	 * addresses are below user_end, kernel addresses at or above
	 * kernel_start, and an address is canonical when its bits 63 down to
	 * canonical_bit are all equal. */
	uint64_t user_end, kernel_start;
	int canonical_bit;
	const struct vr_syscall_table *syscall_tables;
	size_t n_syscall_tables;
	/* Decodes forward from code[0] (at addr) while inside the buffer, at
	 * most max instructions; stops at the first undecodable byte. *ret is
	 * malloc'ed; *n may be 0. NULL: no decoder. */
	struct vr_error *(*decode)(const uint8_t *code, size_t len, uint64_t addr, size_t max,
				   struct vr_insn **ret, size_t *n);
	size_t max_insn_len;             /* the longest instruction, in bytes */
};
/* The architecture: the dump's, or for a log text the one whose register
 * dump it holds (x86-64 when it holds none). */
const struct vr_arch_info *vr_kernel_arch(const struct vr_kernel *k);

/* The CPU's table of exception and interrupt handlers (x86-64: the IDT),
 * as the tamper check reads it. */
#define VR_MAX_VECTORS 256
struct vr_vectors {
	const char *symbol;       /* the table's symbol ("idt_table") */
	uint64_t address;
	int n;                    /* entries */
	unsigned entry_size;      /* bytes */
	int n_boot;               /* the first n_boot entries may still hold boot-time stubs */
	struct {
		bool present;
		bool boot_stub;   /* still the boot-time stub of its vector (unused) */
		uint64_t target;
	} v[VR_MAX_VECTORS];
};
/* VR_ERR_UNSUPPORTED when the architecture has none the engine reads. */
struct vr_error *vr_kernel_vectors(struct vr_kernel *k, struct vr_vectors *ret);

/* The CPU protections (write protection, supervisor-mode execution and
 * access prevention) the saved registers show, for n register sets each
 * named by who[i]: how many sets held what the check needs, what it
 * examined, and one line per protection found off. */
struct vr_protection {
	size_t checked;
	char *covered;            /* "CR0.WP, and CR4's SMEP, ..." */
	char **evidence;
	size_t n_evidence;
};
/* VR_ERR_UNSUPPORTED when the architecture has no such check;
 * vr_protection_deinit() frees what it filled. */
struct vr_error *vr_kernel_cpu_protection(struct vr_kernel *k, const struct vr_regs *const *regs,
					  const char *const *who, size_t n, struct vr_protection *ret);
void vr_protection_deinit(struct vr_protection *p);

/* The kernel's virtual memory layout as the engine established it (each
 * architecture's file says from what; randomised by KASLR). */
struct vr_kernel_layout {
	uint64_t kaslr_offset;   /* the image's displacement from its link address */
	uint64_t image_start;    /* the kernel image's mapping (x86-64: __START_KERNEL_map) */
	uint64_t modules_start;  /* the module area [modules_start, modules_end) */
	uint64_t modules_end;
	uint64_t page_offset;    /* the direct map's base, 0 unknown */
	uint64_t vmalloc_start;
	uint64_t user_end;       /* user addresses are below it */
};
/* VR_ERR_NOT_FOUND when the address space is not established. */
struct vr_error *vr_kernel_get_layout(struct vr_kernel *k, struct vr_kernel_layout *ret);

/* Whether a vmlinux file is in use, and whether its build ID or banner
 * proved it the dump's own (vmlinux_match "yes"). */
bool vr_kernel_has_vmlinux(const struct vr_kernel *k, bool *ret_confirmed);
/* len bytes at run-time address addr as the vmlinux file holds them: the
 * image's initial contents, before boot-time relocation and patching.
 * VR_ERR_NOT_FOUND without a vmlinux or where no section of the file
 * holds that address (.bss, freed or absent sections). */
struct vr_error *vr_kernel_vmlinux_read(struct vr_kernel *k, uint64_t addr, void *buf, size_t len);

/* What may rewrite a byte of kernel text after the vmlinux was linked: the
 * boot-time relocation by the KASLR offset, and the kernel's run-time
 * patching, each site of which the vmlinux lists in a table of its own
 * (engine/text.c). */
enum vr_patch {
	VR_PATCH_NONE,
	VR_PATCH_RELOCATION,   /* an absolute address moved by the KASLR offset */
	VR_PATCH_ALTERNATIVE,  /* .altinstructions */
	VR_PATCH_PARAVIRT,     /* .parainstructions */
	VR_PATCH_JUMP_LABEL,   /* __jump_table */
	VR_PATCH_STATIC_CALL,  /* .static_call_sites and static-call trampolines */
	VR_PATCH_FTRACE,       /* __mcount_loc, and ftrace's own call sites */
	VR_PATCH_RETPOLINE,    /* .retpoline_sites */
	VR_PATCH_RETURN_THUNK, /* .return_sites */
	VR_PATCH_CALL_THUNK,   /* .call_sites (call depth tracking) */
	VR_PATCH_ENDBR,        /* .ibt_endbr_seal */
	VR_PATCH_SMP_LOCK,     /* .smp_locks */
	VR_PATCH_RUNTIME_CONST,/* runtime_ptr_*, runtime_shift_* */
	VR_PATCH_COUNT
};
/* Their names ("relocation", "alternative", "jump-label", ...). */
extern const char *const vr_patch_names[VR_PATCH_COUNT];

/* One range of kernel text to compare with the vmlinux. */
struct vr_text_range {
	uint64_t addr, len;    /* in: run-time address and length (at most 1 MiB) */
	uint8_t *mem;          /* out: the dump's bytes, NULL when unreadable (mem_err) */
	uint8_t *file;         /* out: the vmlinux's bytes */
	uint8_t *patch;        /* out: enum vr_patch of each byte where it may differ */
	struct vr_error *mem_err;
};
/* Fills each range's bytes from the dump and the vmlinux, and marks the
 * bytes that the boot-time relocation or a patch site of the vmlinux's
 * tables may have changed. Sorts ranges by address. Fails when the vmlinux
 * or its tables cannot be read (the reason says which); a range the dump
 * lacks only has mem_err. ret_sites (VR_PATCH_COUNT counters, may be NULL)
 * counts the sites of each kind found in the ranges.
 * vr_text_ranges_deinit() frees what it filled. */
struct vr_error *vr_kernel_text_ranges(struct vr_kernel *k, struct vr_text_range *ranges, size_t n,
				       size_t *ret_sites);
void vr_text_ranges_deinit(struct vr_text_range *ranges, size_t n);

/* The value of an enumerator ("BPF_PROG_TYPE_KPROBE"), from BTF or DWARF. */
struct vr_error *vr_kernel_enum_value(struct vr_kernel *k, const char *name, int64_t *ret);

/* Adds to t the frames of functions that tail-called the frame above them
 * (marked inferred): where the direct call before a frame's return address
 * targets another function than the frame above it. Needs dump memory;
 * without it t is left as it is. Fails only on out-of-memory. */
struct vr_error *vr_trace_infer_tail_calls(struct vr_kernel *k, struct vr_trace *t);

/* Layouts for the analyzers, from the per-dump cache over VMCOREINFO, BTF
 * and DWARF (engine/types.c). Each fails with VR_ERR_NOT_FOUND, saying why
 * every source does not know, when the layout is unknown: a caller makes
 * the fact that needs it null with that reason, never a guess.
 *
 * The offset of member (a dotted path: "tkr_mono.base") in struct or union
 * type. */
struct vr_error *vr_kernel_member_offset(struct vr_kernel *k, const char *type, const char *member,
					 uint64_t *ret);
/* The size of type. */
struct vr_error *vr_kernel_type_size(struct vr_kernel *k, const char *type, uint64_t *ret);
/* The offset of member in the type of the variable symbol, that type named
 * or not (`static struct { ... } tk_core`). */
struct vr_error *vr_kernel_symbol_member_offset(struct vr_kernel *k, const char *symbol,
						const char *member, uint64_t *ret);
/* The size of a task's kernel stack (THREAD_SIZE). */
struct vr_error *vr_kernel_task_stack_size(struct vr_kernel *k, uint64_t *ret);

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
