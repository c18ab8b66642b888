/* The lines of the kernel's crash reports (see klog.c): one parser, used by
 * the engine's panic context (panic.c) and the oops decoder (analyzers/). */
#ifndef VR_KLOG_H
#define VR_KLOG_H

#include <stdbool.h>
#include <stddef.h>

#include "facts.h"

/* The message part of one log line: skips a syslog or journal prefix
 * ("Nov 26 05:40:36 host kernel: "), a "<N>" level, a "[    4.407581]"
 * timestamp and a "[  T123]" caller id, and another writer's text left
 * before a timestamp. Returns NULL for a syslog line of another program
 * than the kernel. */
const char *vr_klog_message(const char *line);

/* The caller id of a line printed with CONFIG_PRINTK_CALLER, "T123" (a
 * task) or "C1" (a CPU in interrupt context), into out; "" when none. */
#define VR_KLOG_CTX_LEN 12
void vr_klog_context(const char *line, char *out, size_t cap);

/* p past a "[  420.408595] " timestamp at its start, else p: 4.x consoles
 * print one inside a line after "<IRQ> " and "<EOI> ". */
const char *vr_klog_skip_stamp(const char *p);

/* Parses one printed stack frame ("? foo+0x12/0x40 [mod]",
 * "[<ffffffff81000000>] foo+0x12/0x40", "0xffffffffc0001000", arm's
 * "[<c0014318>] (show_stack+0x24/0x2c) from ...", a symbolized "foo+0x1/0x2
 * fs/foo.c:55") into f (symbol, offset, size, module, file, line, address,
 * reliable). Returns false when the text is not a frame. */
bool vr_klog_parse_frame(const char *text, struct vr_frame *f);

/* The task line of a report: "CPU: 1 PID: 83 Comm: sh Tainted: G   OE
 * 6.1.0 #1", with "UID: 0" (6.10+) and "Kdump: loaded", and before 3.11
 * "Pid: 83, comm: sh Not tainted 3.0.0 #1". */
struct vr_klog_task {
	int cpu;              /* -1: the line names none (before 3.11) */
	int pid;
	const char *comm;     /* into the line; may hold spaces */
	size_t comm_len;
	bool taint_known;
	char taint[32];       /* the letters of "Tainted: G   OE" ("GOE"), "" for "Not tainted" */
	size_t len;           /* of the line up to the end of the comm's taint words */
};
bool vr_klog_task_line(const char *m, struct vr_klog_task *ret);

/* "Tainted: G   OE  6.1.0 #1" or "Not tainted 6.1.0 #1" at p: the letters
 * into out (cap bytes). False when p is neither. */
bool vr_klog_taint(const char *p, char *out, size_t cap);

/* What kind of line a message is, and the crash kind it names. */
enum vr_klog_type {
	VR_KLOG_NONE,
	VR_KLOG_REPORT,  /* starts a report */
	VR_KLOG_DIE,     /* "...: 0000 [#1]": the die() line, part of the report before it */
	VR_KLOG_PRELUDE, /* announces the report that follows ("cut here", sysrq) */
	VR_KLOG_REFINER, /* names the kind of the report it sits in ("Watchdog detected hard LOCKUP") */
	VR_KLOG_PANIC,   /* "Kernel panic - not syncing: ..." */
};
struct vr_klog_head {
	enum vr_klog_type type;
	const char *kind; /* contract crash.kind, static; NULL: none of its own */
};
struct vr_klog_head vr_klog_classify(const char *m);
bool vr_klog_is_headline(const char *m);

/* The kind a panic message ("sysrq triggered crash", "hung_task: blocked
 * tasks") stands for, NULL for a consequence of an earlier report ("Fatal
 * exception"; *attach_die), or of whatever report came last ("panic_on_warn
 * set"; *attach_any); "panic" for none more specific. */
const char *vr_klog_panic_kind(const char *msg, bool *attach_die, bool *attach_any);

/* A die() line's counter "[#1]"; a word of hex digits as die() prints the
 * error code ("0002 "). */
bool vr_klog_has_die_counter(const char *m);
bool vr_klog_is_hex_word(const char *p);

/* A die line without the "Oops: " prefix x86 puts before every die()
 * message in newer kernels (6.12 and later print it, 6.1 does not): the
 * same "general protection fault, ..." or "Oops: 0000 [#1]" on every
 * release. */
const char *vr_klog_die_text(const char *m);

/* The line that starts a printed trace: "Call Trace:" (x86), "Call trace:"
 * (arm64), "Backtrace:" (arm), also with raw stack words glued before it. */
bool vr_klog_is_trace_start(const char *m);

/* Stack section markers of show_trace_log_lvl() ("<IRQ>", "</IRQ>",
 * "<TASK>" since 5.16, "<#DF>", ...) and of kernels before 4.9
 * ("<IRQ>  [<ffffffff81>] foo", "<EOI>  [<...>] bar", "<EOE>"): the stack
 * the frames after it are on ("irq", "nmi", "task", ...; NULL after
 * "</TASK>"), whether the next frame is where an exception interrupted,
 * and the text after the marker; NULL when m does not start with one. */
const char *vr_klog_trace_marker(const char *m, const char **stack, bool *exception_next);

/* One line of a register dump (x86-64: arch/x86/kernel/process_64.c
 * __show_regs(): "RAX: ... RBX: ...", "RSP: 0018:ffff... EFLAGS: ...",
 * "FS: ...(0000) GS:...", "CR2: ..."), read by the architecture that prints
 * it (struct vr_arch.log_regs_line; regs->set, when set, says which): the
 * registers it names are set in *regs. True when the line was one. */
bool vr_klog_regs_line(const char *m, struct vr_regs *regs);
/* The line of a register dump that names the instruction pointer (x86-64:
 * "RIP: 0010:sym+0x1/0x2"), read likewise (struct vr_arch.log_ip_line):
 * sets the mode it names and, to ip, the pc. True when the line was one. */
bool vr_klog_ip_regs(const char *m, uint64_t ip, struct vr_regs *regs);

#endif
