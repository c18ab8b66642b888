/* Engine-private: the kernel object and the interfaces between engine
 * parts. Analyzers must not include this. */
#ifndef VR_INTERNAL_H
#define VR_INTERNAL_H

#include "arch.h"
#include "dump.h"
#include "error.h"
#include "facts.h"
#include "kernel.h"
#include "vmcoreinfo.h"

/* The most tasks the engine keeps (the task list and those known only
 * from the log). */
#define VR_MAX_TASKS (1u << 20)

struct vr_symtab;   /* symbols.c */
struct vr_debuginfo; /* debuginfo.c */
struct vr_dwarf;    /* dwarf.c */
struct vr_types;    /* types.c: layout cache over VMCOREINFO, BTF, DWARF */
struct vr_btf;      /* btf.c */
struct vr_orc;      /* x86_64_orc.c */

/* The registers a CPU saved for the dump (NT_PRSTATUS, or QEMU's CPU note),
 * decoded by the architecture. */
struct vr_saved_cpu {
	int pid;              /* pr_pid of NT_PRSTATUS, -1 unknown */
	struct vr_regs regs;
};

struct vr_kernel {
	struct vr_dump *dump;
	struct vr_vmcoreinfo *vmcoreinfo; /* NULL when the dump has none */
	const struct vr_arch *arch;      /* arch.h; NULL for a log text that names none */
	/* The architecture's own state (x86_64.h struct vr_x86_64): one
	 * malloc'ed block that holds no pointers, freed with the kernel. */
	void *arch_state;
	/* The address space, established by arch->init (and refine): valid
	 * when layout_ready. layout.kaslr_offset relocates the vmlinux. */
	struct vr_kernel_layout layout;
	bool layout_ready;
	/* Each CPU's saved registers, in the order of the dump's notes. */
	struct vr_saved_cpu *saved;
	size_t n_saved;
	struct vr_input_info input;
	struct vr_diag *diag;            /* where open-time warnings go */
	/* An error a function that cannot return one absorbed (out of memory,
	 * or a code nobody expected): the running step returns it when it
	 * ends (vr_kernel_absorb(), vr_kernel_take_fatal()). */
	struct vr_error *fatal;

	/* vmlinux, when one matches (match "yes" or "unknown") */
	char *vmlinux_path;
	int vmlinux_fd;
	struct Elf *vmlinux_elf;
	struct vr_debuginfo *debuginfo;  /* what is read from it once (shared in a batch) */
	struct vr_debuginfo_cache *debuginfo_cache; /* vr_open_options.debuginfo */

	struct vr_symtab *symtab;        /* kernel + module symbols */
	struct vr_dwarf *dwarf;          /* NULL without debug info */
	struct vr_btf *btf;              /* NULL without BTF */
	bool btf_shared;                 /* btf is the debuginfo's, not the kernel's */
	struct vr_btf_prefetch *btf_prefetch; /* types.c: the dump's BTF, being parsed */
	struct vr_types *types;
	struct vr_orc *orc;

	char **module_dirs;
	size_t n_module_dirs;
	char *log_path;                  /* vr_open_options.log_path */

	/* Facts collected so far (collectors later in the order read earlier
	 * ones: the unwinder reads tasks and modules). */
	struct vr_facts *facts;

	/* Small cache of translated pages: see memory.c */
	void *mem_cache;

	/* Pages the collectors needed and the dump lacks, by what became of
	 * them (vr_kernel_note_miss()): the filter left them out, or the
	 * file's cut end lost them. */
	bool collecting;
	struct vr_misses {
		uint64_t pfns[256]; /* distinct pages, the first 256 */
		size_t n;
		bool more;          /* more than the pfns kept */
		uint64_t first_vaddr;
	} miss_excluded, miss_cut;

	/* Tests only: vr_open_options.whole_dwarf. */
	bool whole_dwarf;

	/* Tests only: unwind with DWARF CFI alone, as if the kernel had no
	 * ORC (tests/tools/probe_cfi.c compares the two). */
	bool unwind_without_orc;
};

/* kernel.c: each CPU's saved registers, decoded by k->arch from the notes
 * the dump kept as they are, into k->saved (before arch->init, which may
 * read them). Fails only on out-of-memory. */
struct vr_error *vr_kernel_decode_saved(struct vr_kernel *k);

/* ---- teardown: each part frees its own state; all accept NULL ---- */
void vr_dwarf_destroy(struct vr_dwarf *d);   /* dwarf.c */
void vr_btf_destroy(struct vr_btf *b);       /* btf.c */
void vr_orc_destroy(struct vr_orc *o);       /* x86_64_orc.c */
void vr_memory_deinit(struct vr_kernel *k);  /* memory.c: frees k->mem_cache */
/* memory.c: a read of page paddr (at vaddr, 0 unknown) failed with err:
 * while the collectors run, tally the page when the dump's filter or its
 * cut end took it. */
void vr_kernel_note_miss(struct vr_kernel *k, uint64_t vaddr, uint64_t paddr,
			 const struct vr_error *err);

/* ---- memory.c ---- */
/* A page-table entry: the 8 bytes at physical address paddr of the dump
 * of kernel arg (the walkers' read callback); a miss is noted. */
struct vr_error *vr_kernel_read_table_u64(void *arg, uint64_t paddr, uint64_t *ret);
/* Read with a translation; reports VR_ERR_FAULT / VR_ERR_NOT_PRESENT. */
struct vr_error *vr_read_u64(struct vr_kernel *k, uint64_t vaddr, uint64_t *ret);
struct vr_error *vr_read_u32(struct vr_kernel *k, uint64_t vaddr, uint32_t *ret);
/* Reads a NUL-terminated string of at most max bytes (always terminated). */
struct vr_error *vr_read_string(struct vr_kernel *k, uint64_t vaddr, char *buf, size_t max);
struct vr_error *vr_read_phys(struct vr_kernel *k, uint64_t paddr, void *buf, size_t len);

/* ---- symbols.c: sorted symbol tables, O(log n) ---- */
/* struct vr_symbol is public (kernel.h). */
/* Load the kernel's symbols: from the vmlinux symtab (relocated by the
 * KASLR offset) when one is in use, else from kallsyms in dump memory. */
struct vr_error *vr_symbols_load_kernel(struct vr_kernel *k);
/* Add one module's symbols (from its in-memory symtab); called by the
 * module collector for each module it finds. */
struct vr_error *vr_symbols_add_module(struct vr_kernel *k, const char *module,
				       const struct vr_symbol *syms, size_t n);
/* Lookup by address: the symbol covering addr (or the nearest before it,
 * within its size when known). */
bool vr_symbols_lookup_addr(struct vr_kernel *k, uint64_t addr, struct vr_symbol *ret);
/* Lookup by name (kernel first, then modules). */
bool vr_symbols_lookup_name(struct vr_kernel *k, const char *name, uint64_t *ret);
/* A symbol of the vmlinux's table, as linked: its value and section. */
struct vr_error *vr_symbols_vmlinux_symbol(struct vr_debuginfo *di, const char *name, uint64_t *ret_value,
					   unsigned *ret_shndx);
void vr_symtab_destroy(struct vr_symtab *st);

/* ---- vmlinux.c: discovery and match check ---- */
struct vr_error *vr_vmlinux_attach(struct vr_kernel *k, const char *explicit_path,
				   bool no_discovery);

/* ---- dwarf.c: file:line and inlines (libdw), lazily ---- */
struct vr_error *vr_dwarf_source(struct vr_kernel *k, uint64_t addr, struct vr_frame *f);
/* Finds the source of the n vmlinux addresses (as vr_dwarf_source() looks
 * them up) ahead, their compile units split between two CPUs, for the
 * lookups that follow to find kept. */
void vr_dwarf_prefetch(struct vr_kernel *k, const uint64_t *addrs, size_t n);
/* Walks the --modules directories (k->module_dirs) for module debug files,
 * once; one that cannot be read or holds none is a warning. Fails only on
 * out-of-memory. */
struct vr_error *vr_dwarf_list_module_dirs(struct vr_kernel *k);

/* ---- types.c: layout cache. type is the tag-less name ("task_struct");
 * member may be a dotted path ("thread.sp"). Sources in order: VMCOREINFO,
 * BTF (vmlinux .BTF or in-memory), DWARF. ---- */
struct vr_member {
	uint64_t offset;  /* bytes */
	uint64_t size;    /* bytes, 0 unknown */
};
struct vr_error *vr_type_member(struct vr_kernel *k, const char *type, const char *member,
				struct vr_member *ret);
struct vr_error *vr_type_size(struct vr_kernel *k, const char *type, uint64_t *ret);
struct vr_error *vr_type_member_name(struct vr_kernel *k, const char *type, uint64_t offset,
				     char **ret);
/* Member of the type of the variable symbol, that type named or not
 * (tk_core's anonymous struct): from the variable's BTF or DWARF type, or
 * where every BTF type with such a member has it. */
struct vr_error *vr_type_symbol_member(struct vr_kernel *k, const char *symbol, const char *member,
				       struct vr_member *ret);
/* Value of an enumerator (e.g. "MODULE_STATE_LIVE"), from BTF or DWARF. */
struct vr_error *vr_type_enum_value(struct vr_kernel *k, const char *name, int64_t *ret);
void vr_types_destroy(struct vr_types *t);

/* Layout sources types.c may use (all by default). For tests that compare
 * the sources with each other; call before the first lookup. */
enum {
	VR_TYPES_VMCOREINFO = 1,
	VR_TYPES_BTF = 2,
	VR_TYPES_DWARF = 4,
};
struct vr_error *vr_types_restrict(struct vr_kernel *k, unsigned sources);
/* Starts parsing the vmlinux's BTF in a thread of its own, for the first
 * layout question to find ready. */
void vr_types_prefetch_btf(struct vr_kernel *k);
/* Without a vmlinux: reads the dump's BTF (kallsyms names its bounds) and
 * starts parsing it in a thread of its own; vr_types_prefetch_end() waits
 * for one nothing asked for. */
void vr_types_prefetch_memory_btf(struct vr_kernel *k, uint64_t start, uint64_t stop);
void vr_types_prefetch_end(struct vr_kernel *k);

/* Shorthands for the collectors, false when unknown: a symbol's address
 * (VMCOREINFO's word first, which needs no symbol table, then the symbol
 * tables), and a member's layout or offset (vr_type_member). */
bool vr_sym(struct vr_kernel *k, const char *name, uint64_t *ret);
bool vr_member(struct vr_kernel *k, const char *type, const char *member, struct vr_member *ret);
bool vr_member_off(struct vr_kernel *k, const char *type, const char *member, uint64_t *ret);

/* ---- collectors: each fills its part of k->facts; errors are recorded by
 * the caller as the step's status. A collector that produced part of its
 * facts returns an error of code VR_ERR_NOT_PRESENT/FAULT after filling
 * what it could and the step is "partial". ---- */
/* percpu.c: the address of CPU cpu's copy of per-CPU variable sym, and the
 * possible CPUs (present[c] set for each; returns one more than the
 * highest). */
struct vr_error *vr_percpu_addr(struct vr_kernel *k, int cpu, const char *sym, uint64_t *ret);
/* cpu's copy of what a __percpu pointer (a value read from memory) points
 * to: ptr + __per_cpu_offset[cpu]. */
struct vr_error *vr_percpu_ptr(struct vr_kernel *k, int cpu, uint64_t ptr, uint64_t *ret);
int vr_possible_cpus(struct vr_kernel *k, uint8_t *present, int max);

struct vr_error *vr_collect_system(struct vr_kernel *k, struct vr_facts *f);   /* system.c */
struct vr_error *vr_collect_log(struct vr_kernel *k, struct vr_facts *f);      /* printk.c */
struct vr_error *vr_collect_tasks(struct vr_kernel *k, struct vr_facts *f);    /* tasks.c */
struct vr_error *vr_collect_modules(struct vr_kernel *k, struct vr_facts *f);  /* modules.c */
struct vr_error *vr_collect_cpus(struct vr_kernel *k, struct vr_facts *f);     /* stack.c: cpus[] + traces */
struct vr_error *vr_collect_blocked(struct vr_kernel *k, struct vr_facts *f);  /* stack.c: traces of D tasks */
struct vr_error *vr_collect_panic(struct vr_kernel *k, struct vr_facts *f);    /* panic.c */
struct vr_error *vr_collect_log_tasks(struct vr_kernel *k, struct vr_facts *f); /* logtasks.c */

/* ---- unwinder (unwind.c, and the architecture's: arch.h) ---- */
/* Unwind from regs (a CPU's saved registers, or a switch frame), appending
 * symbolized frames to trace. */
struct vr_error *vr_unwind(struct vr_kernel *k, const struct vr_regs *regs, int cpu,
			   struct vr_trace *trace);

#endif
