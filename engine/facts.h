/* The facts the engine establishes about a crashed kernel. Plain data with
 * owned strings; analyzers read them, report/ prints them. A field that could
 * not be established is NULL (strings), -1 (signed ids) or has its *_known
 * flag false: never a guess. */
#ifndef VR_FACTS_H
#define VR_FACTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The most CPUs a kernel can have (NR_CPUS of the largest configurations):
 * the bound on every per-CPU walk and on every CPU number a fact holds. */
#define VR_MAX_CPUS 8192

/* The core memory regions of a module that vr_module holds. */
#define VR_MODULE_REGIONS 4

/* The most registers a register set holds (struct vr_regs.r). */
#define VR_MAX_REGS 40

struct vr_regs;

/* One cell of the text report's register block (a row holds up to four):
 * a register, the label it is printed under (padded as printed) and the
 * number of hex digits its value takes. */
struct vr_reg_cell {
	int reg;            /* index in r[], -1: the row ends */
	const char *label;
	int digits;
};

/* The registers of an architecture: their names, and which of them play
 * the roles the engine and the analyzers ask about. Defined by each
 * architecture (engine/x86_64.c, ...); r[] of struct vr_regs is indexed as
 * its names[]. The frame registers come first, in the order of the
 * kernel's NT_PRSTATUS pr_reg (struct user_regs_struct); system registers
 * (control registers, fault address) follow. */
struct vr_regset {
	const char *arch;            /* "x86_64", as uname -m prints it */
	int n;                       /* registers in r[] */
	int n_frame;                 /* r[0..n_frame): the saved frame (pt_regs) */
	int n_data;                  /* r[0..n_data): the general-purpose registers that may
				      * hold a data pointer (the bad-pointer search) */
	const char *const *names;    /* as the kernel's register dump prints them */
	int pc, sp, fp;              /* instruction pointer, stack pointer, frame pointer */
	int mode;                    /* the register that says user or kernel mode (x86's CS) */
	int fault;                   /* the faulting address of a page fault, -1 none */
	uint64_t report;             /* bit i: r[i] belongs in the report's register object */
	/* The text report's register block under an exception frame. */
	const struct vr_reg_cell (*rows)[4];
	int n_rows;
	/* Whether the registers were saved in user mode, in kernel mode (either
	 * may hold for a value no CPU would save: neither is the other's
	 * negation), and whether the mode register holds a value the CPU saves
	 * at all (x86: a CS of 0 is none). */
	bool (*user_mode)(const struct vr_regs *r);
	bool (*kernel_mode)(const struct vr_regs *r);
	bool (*mode_known)(const struct vr_regs *r);
};

struct vr_regs {
	const struct vr_regset *set; /* whose registers these are; NULL when none are known */
	uint64_t r[VR_MAX_REGS];
	bool valid;
	/* Frame registers (r[0..n_frame)) are known once valid, but for the
	 * bits set here (a log's dump that names no instruction address). */
	uint64_t unknown;
	/* System registers (r[n_frame..n)) are known only where a bit is set
	 * here (QEMU notes, or the log's register dump). */
	uint64_t known;
};

/* The roles of struct vr_regset, read through the set (0 or false when
 * regs has none). */
static inline uint64_t vr_regs_pc(const struct vr_regs *r)
{
	return r->set ? r->r[r->set->pc] : 0;
}
static inline uint64_t vr_regs_sp(const struct vr_regs *r)
{
	return r->set ? r->r[r->set->sp] : 0;
}
static inline bool vr_regs_user_mode(const struct vr_regs *r)
{
	return r->set && r->set->user_mode(r);
}
static inline bool vr_regs_kernel_mode(const struct vr_regs *r)
{
	return r->set && r->set->kernel_mode(r);
}
static inline bool vr_regs_mode_known(const struct vr_regs *r)
{
	return r->set && r->set->mode_known(r);
}
static inline void vr_regs_set_pc(struct vr_regs *r, uint64_t pc)
{
	if (r->set)
		r->r[r->set->pc] = pc;
}
/* Whether register i holds a known value. */
static inline bool vr_regs_known(const struct vr_regs *r, int i)
{
	if (!r->set || i < 0 || i >= r->set->n)
		return false;
	return i < r->set->n_frame ? r->valid && !(r->unknown & (1ull << i)) : (r->known >> i) & 1;
}
/* The faulting address the registers hold (x86's CR2), false when none. */
static inline bool vr_regs_fault(const struct vr_regs *r, uint64_t *ret)
{
	if (!r->set || r->set->fault < 0 || !vr_regs_known(r, r->set->fault))
		return false;
	*ret = r->r[r->set->fault];
	return true;
}

struct vr_inline {
	char *symbol;
	char *file;
	int line; /* 0 = unknown */
};

struct vr_frame {
	uint64_t address;
	char *symbol;      /* NULL when no symbol covers address */
	uint64_t offset;
	uint64_t size;     /* 0 = unknown */
	char *module;      /* NULL for the kernel image */
	char *file;        /* NULL = unknown */
	int line;          /* 0 = unknown */
	struct vr_inline *inlined;
	size_t n_inlined;
	bool reliable;
	bool exception;    /* this frame is an exception/interrupt frame (pt_regs) */
	struct vr_regs *regs; /* registers of an exception frame, else NULL */
	char *stack;       /* "task", "irq", "nmi", "df", "mce", "db", "entry", or NULL */
	bool from_log;     /* taken from the kernel log's report, not unwound from memory */
	bool inferred;     /* no return address proves it: the function that tail-called the
			    * frame above it (the call before the next frame's return
			    * address targets it) */
};

struct vr_trace {
	struct vr_frame *frames;
	size_t n_frames;
	char *stop_reason; /* why the unwind ended early, NULL if it reached the end */
};

struct vr_cpu {
	int cpu;
	int pid;           /* -1 unknown */
	char *comm;
	uint64_t task;     /* task_struct address, 0 unknown */
	char *state;       /* "running", "idle", "panic", "stopped", ... */
	bool panic;
	struct vr_regs regs; /* saved at the crash (NT_PRSTATUS / QEMU note) */
	struct vr_trace trace;
};

struct vr_task {
	int pid;
	int tgid;
	char comm[17];
	char state;        /* the kernel's letter: R S D T t X Z P I */
	int cpu;           /* -1 unknown */
	uint64_t task;     /* task_struct address */
	bool is_idle;
	bool is_current;   /* current task of its CPU */
	bool on_cpu;
	double blocked_s;  /* seconds since it last ran, <0 unknown */
	uint64_t sp;       /* saved kernel stack pointer (thread.sp) */
	uint64_t stack;    /* base of its kernel stack */
	struct vr_trace trace; /* filled for blocked tasks */
	bool from_log;     /* known only from the kernel log's reports (task == 0) */
};

struct vr_module {
	uint64_t addr;     /* struct module address */
	char *name;
	uint64_t base;
	uint64_t size;
	char *state;       /* "live", "coming", "going", "unformed" */
	char *taints;      /* letters, e.g. "OE" */
	char *version;
	char *srcversion;
	bool out_of_tree;
	int sig_ok;        /* 1 signed and verified, 0 not, -1 unknown */
	uint64_t text_base, text_size; /* the module's executable region */
	/* Its core memory, region by region (6.4+: text, data, rodata,
	 * ro_after_init; before, the one core_layout); base 0 unknown. */
	struct { uint64_t base, size; } regions[VR_MODULE_REGIONS];
	/* Not on the kernel's `modules` list: found only in the tree the
	 * kernel looks addresses up in (mod_tree), as a module that unlinked
	 * itself from the list is. */
	bool unlisted;
};

struct vr_log_record {
	uint64_t ts_nsec;
	uint64_t seq;
	int level;         /* 0-7, -1 unknown */
	int facility;
	uint32_t caller_id; /* 0 unknown; bit 31 set = CPU id, else thread id */
	bool cont;         /* continuation of the previous record */
	char *text;        /* may contain '\n' for multi-line records */
};

struct vr_log {
	struct vr_log_record *records;
	size_t n_records;
	char *source;      /* "printk_ringbuffer", "log_buf", "text" */
	size_t junk_lines; /* text: lines of binary junk skipped (serial console noise) */
};

struct vr_system {
	char *release;
	char *version;
	char *machine;
	char *nodename;
	int cpus;          /* possible, -1 unknown */
	int cpus_online;
	uint64_t memory_bytes; /* 0 unknown */
	double uptime_s;   /* <0 unknown */
	int64_t crash_time; /* unix seconds, <0 unknown */
	double load_average[3];
	bool load_known;
	int64_t tasks;     /* <0 unknown */
	uint64_t taint_mask;
	bool taint_known;
	char *taint_letters;
};

struct vr_panic {
	char *message;
	int cpu;           /* -1 unknown */
	int pid;           /* -1 unknown */
	char *comm;
	uint64_t task;
	char **sources;    /* "panic_cpu", "prstatus", "log", ... each with its value */
	size_t n_sources;
};

/* Everything the engine collected. Each part may be absent (n = 0 / NULL);
 * the reason is in the status list of the collector that owned it. */
struct vr_facts {
	struct vr_system system;
	struct vr_panic panic;
	struct vr_cpu *cpus;
	size_t n_cpus;
	struct vr_task *tasks;
	size_t n_tasks;
	struct vr_module *modules;
	size_t n_modules;
	struct vr_log log;
	/* Raw text of the input when the dump is a kernel log text. */
	char *text;
	size_t text_len;
};

/* One step of the pipeline (an engine collector or an analyzer) and how it
 * went: the contract's analyzers[] entries. */
struct vr_step {
	char *name;
	const char *status; /* "ok", "partial", "skipped", "error" (static strings) */
	char *reason;       /* NULL when ok */
	char *covered;      /* what a check examined ("462 entries"), NULL: not a check */
	double ms;
};

/* Where steps record their status and the run's warnings. */
struct vr_diag {
	struct vr_step *steps;
	size_t n_steps, cap_steps;
	char **warnings;
	size_t n_warnings, cap_warnings;
	/* A step, reason or warning could not be recorded (out of memory): the
	 * list above is short, so the run must not pass it off as whole. */
	bool lost;
};

void vr_diag_step(struct vr_diag *d, const char *name, const char *status, double ms,
		  const char *reason_fmt, ...) __attribute__((format(printf, 5, 6)));
/* Says what the last step recorded examined: a check's "no finding" then
 * means "checked and clean". */
void vr_diag_covered(struct vr_diag *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void vr_diag_warn(struct vr_diag *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void vr_diag_deinit(struct vr_diag *d);
/* Milliseconds from a monotonic clock, for step timings. */
double vr_now_ms(void);

void vr_frame_deinit(struct vr_frame *f);
void vr_trace_deinit(struct vr_trace *t);
/* Deep copies (*to is overwritten; a trace's old frames are freed): a
 * frame, and a trace from its frame first on. Fail only on out-of-memory. */
struct vr_error *vr_frame_copy(const struct vr_frame *from, struct vr_frame *to);
struct vr_error *vr_trace_copy(const struct vr_trace *from, size_t first, struct vr_trace *to);
void vr_log_deinit(struct vr_log *log);
void vr_facts_deinit(struct vr_facts *f);

#endif
