/* The report model: the engine's facts plus the analyzers' conclusions.
 * Every emitter (json.c, text.c, markdown.c, email.c) prints this and only
 * this; nothing is computed while printing. */
#ifndef VR_MODEL_H
#define VR_MODEL_H

#include <stdio.h>

#include "../engine/error.h"
#include "../engine/facts.h"
#include "../engine/kernel.h"

#define VR_SCHEMA_VERSION "1.1"

/* Roles of the stacks in crash.traces[] (compare by pointer or string):
 * call        the report's own stack (lockdep's "stack backtrace:")
 * alloc, free where the object was allocated and freed (KASAN, KFENCE)
 * aux         KASAN's "Last potentially related work creation:" stacks
 * origin      where KMSAN's uninitialised value came from
 * race        one of KCSAN's racing accesses
 * leak        kmemleak's allocation backtrace
 * page-alloc, page-free   page_owner's stacks in a bad-page report
 * dependency  a lockdep dependency chain ("-> #1 (lock):")
 * acquire, held           a lockdep lock site: the lock being taken or
 *                         released, a lock already held
 * nmi         another CPU's "NMI backtrace for cpu N"
 * task        a task's stack dumped by a stall report (sched_show_task())
 * gp-kthread  the RCU grace-period kthread's stack
 * headline    the functions the report's headline names ("BUG: KASAN:
 *             use-after-free in foo", "KCSAN: data-race in foo / bar") */
extern const char *const VR_ROLE_CALL, *const VR_ROLE_ALLOC, *const VR_ROLE_FREE,
	*const VR_ROLE_AUX, *const VR_ROLE_ORIGIN, *const VR_ROLE_RACE, *const VR_ROLE_LEAK,
	*const VR_ROLE_PAGE_ALLOC, *const VR_ROLE_PAGE_FREE, *const VR_ROLE_DEPENDENCY,
	*const VR_ROLE_ACQUIRE, *const VR_ROLE_HELD, *const VR_ROLE_NMI, *const VR_ROLE_TASK,
	*const VR_ROLE_GP_KTHREAD, *const VR_ROLE_HEADLINE;

/* A stack the crash report prints besides its Call Trace: where KASAN saw
 * the object allocated and freed, KCSAN's racing accesses, lockdep's lock
 * sites and dependency chains, the CPUs and tasks an RCU stall report
 * dumps, kmemleak's allocation backtrace, and so on. */
struct vr_crash_trace {
	const char *role;       /* one of the VR_ROLE_* strings above */
	char *label;            /* the line that introduced it ("Freed by task 83:") */
	int cpu, pid;           /* -1 unknown */
	char *comm;
	bool stalled;           /* of a CPU or task the stall or lockup report names stuck */
	struct vr_trace trace;
};

struct vr_crash {
	const char *kind;       /* contract crash.kind; "unknown" when none found */
	char *title;            /* the kernel's own headline, e.g. "BUG: kernel NULL pointer dereference, address: 0000000000000008" */
	bool fault_address_known;
	uint64_t fault_address;
	const char *access;     /* "read", "write", "exec", NULL */
	bool error_code_known;
	uint64_t error_code;    /* #PF error code */
	bool ip_known;
	struct vr_frame ip;     /* where it happened */
	char *code;             /* "Code:" bytes as the log printed them, NULL if none */
	struct vr_regs regs;    /* the register dump of the oops (regs.valid) */
	struct vr_trace trace;  /* the Call Trace as the log printed it */
	bool trace_stalled;     /* that trace is of the CPU a stall or lockup report names stuck */
	int stalled_cpu;        /* the CPU a stall or lockup report names first, -1 */
	struct vr_crash_trace *traces; /* the report's other stacks, in log order */
	size_t n_traces;
	char *bug_file;         /* "kernel BUG at FILE:LINE" / WARNING at FILE:LINE */
	int bug_line;
	char *cpu_line;         /* "CPU: 1 PID: 83 Comm: sh Tainted: ..." */
	int cpu, pid;           /* from the oops header, -1 unknown */
	char *comm;
	char *taint;            /* taint letters printed in the oops header */
	char *hardware;         /* "Hardware name:" */
	char **modules_linked;  /* "Modules linked in:" */
	size_t n_modules_linked;
	char **secondary;       /* titles of later reports in the same log */
	size_t n_secondary;
	size_t log_first_line;  /* index into the log lines where the report starts */
	size_t log_last_line;
};

struct vr_pointer {
	const char *class;      /* contract pointer.class, NULL: no pointer analysis */
	bool value_known;
	uint64_t value;
	char *reg;              /* "RAX" */
	bool offset_known;
	int64_t offset;         /* displacement added to the register */
	char *member;           /* "struct foo.bar" */
	char *explanation;
	char **disassembly;     /* lines, the faulting one marked with "=>" */
	size_t n_disassembly;
	char *instruction;      /* the faulting instruction */
	int code_matches;       /* 1 Code: bytes equal memory, 0 differ, -1 not checked */
};

struct vr_blame {
	const char *culprit;    /* module, kernel, hardware, firmware, operator, unknown */
	char *module;
	char *function;
	char *file;
	int line;
	const char *confidence; /* high, medium, low */
	bool inferred;          /* the guilty frame is an inferred one (a tail call's) */
	char **reasons;
	size_t n_reasons;
};

struct vr_finding {
	char *rule;
	char *title;
	const char *severity;   /* info, warning, error, critical */
	char *advice;
	char **evidence;
	size_t n_evidence;
};

struct vr_signature {
	char *id;
	char **frames;
	size_t n_frames;
};

/* Hung tasks and lockups (analyzers/hang.c). */
struct vr_waiter {
	int pid;
	char *comm;
	char *waits_on;         /* "mutex 0xffff... (my_lock)" */
	int owner_pid;          /* -1 unknown */
	char *owner_comm;
};
struct vr_hang {
	const char *kind;       /* hung-task, soft-lockup, hard-lockup, rcu-stall; NULL none */
	int stuck_cpu;          /* -1 */
	char *stuck_function;
	struct vr_waiter *waiters;
	size_t n_waiters;
};

struct vr_report {
	struct vr_input_info *input;       /* owned by the caller (a copy: see vr_input_copy()) */
	struct vr_facts *facts;            /* owned by the caller */
	struct vr_crash crash;
	struct vr_pointer pointer;
	struct vr_blame blame;
	struct vr_hang hang;
	struct vr_finding *findings;
	size_t n_findings, cap_findings;
	struct vr_signature signature;
	struct vr_diag *diag;              /* analyzers[] and warnings[] */
	const char *tool_version;
	bool timings;                      /* include per-step ms (varies run to run) */
};

/* An empty crash: kind "unknown", cpu and pid -1; deinit frees what the
 * oops decoder filled in and leaves it empty again. */
/* "func+0x12/0x40 [mod]" for a frame (malloc'd); "0xffff..." without a symbol
 * (report/common.c). */
char *vr_frame_name(const struct vr_frame *f);

void vr_crash_init(struct vr_crash *c);
void vr_crash_deinit(struct vr_crash *c);


void vr_report_init(struct vr_report *r, struct vr_input_info *input,
		    struct vr_facts *facts, struct vr_diag *diag);
void vr_report_deinit(struct vr_report *r);
struct vr_error *vr_report_add_finding(struct vr_report *r, const char *rule, const char *title,
				       const char *severity, const char *advice,
				       char **evidence, size_t n_evidence);
/* Severity rank: info 0 .. critical 3, -1 for an unknown word. */
int vr_severity_rank(const char *severity);

/* Calls fn on every string of the report, its facts included (each may be
 * NULL; fn may replace it), and bfn on the fixed-size ones (a task's
 * comm). The one list of the report's strings: redaction and the UTF-8
 * pass both use it. */
typedef void (*vr_string_fn)(char **s, void *ctx);
typedef void (*vr_buffer_fn)(char *buf, size_t cap, void *ctx);
void vr_report_visit_strings(struct vr_report *r, vr_string_fn fn, vr_buffer_fn bfn, void *ctx);

/* Every output is valid UTF-8 without control characters but tab and
 * newline, whatever the dump holds: each byte that is not is written as
 * the four characters "\xNN" (in fixed-size fields, '?'). */
struct vr_error *vr_report_clean_strings(struct vr_report *r);
/* A cleaned copy of s, or NULL when s needs no cleaning (or on OOM). */
char *vr_utf8_clean(const char *s);

/* --redact: rewrites every string of the model in place (host names, IP
 * and MAC addresses, user names, command lines, the directories of paths),
 * before any emitter runs. given (may be NULL): the paths the input was
 * given as, replaced wherever they appear (see report/redact.c). */
struct vr_error *vr_report_redact(struct vr_report *r, const struct vr_open_options *given);

/* Emitters: each writes the whole report to f. */
enum vr_output_format { VR_OUTPUT_TEXT, VR_OUTPUT_MARKDOWN, VR_OUTPUT_JSON, VR_OUTPUT_EMAIL };
struct vr_error *vr_output_format_parse(const char *name, enum vr_output_format *ret);
struct vr_emit_options {
	bool color;            /* text only: ANSI colour */
	const char *mail_to;   /* email only: To: (default root@localhost) */
	const char *mail_from; /* email only: From: */
};
struct vr_error *vr_report_emit(const struct vr_report *r, enum vr_output_format fmt,
				const struct vr_emit_options *opts, FILE *out);

/* ---- the summary of a batch (report/batch.c) ---- */
struct vr_batch_row {
	char *name;            /* the dump's name: its save directory's, else its file's */
	char *path;            /* the dump as given or found */
	int64_t crash_time;    /* unix seconds, <0 unknown */
	char *host;            /* NULL unknown, as the rest */
	char *release;
	char *kind;            /* crash.kind */
	char *culprit;         /* blame.culprit */
	char *function;        /* blame.function */
	char *signature;       /* signature.id */
	int status;            /* the dump's own exit status: 0, 2 (not analysed) or 3 (--fail-on) */
	char *error;           /* status 2: why */
};
/* Copies what the summary shows of report r into row (name, path, status
 * and error are the caller's to set). */
struct vr_error *vr_batch_row_fill(struct vr_batch_row *row, const struct vr_report *r);
void vr_batch_row_deinit(struct vr_batch_row *row);
/* The summary in fmt: a row per dump, then the number of dumps per
 * signature (most first). */
struct vr_error *vr_batch_emit(const struct vr_batch_row *rows, size_t n, enum vr_output_format fmt,
			       const struct vr_emit_options *opts, FILE *out);

#endif
