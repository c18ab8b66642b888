/* The kernel oops text parser: finds every crash report in a kernel log
 * (console capture, vmcore-dmesg.txt, journalctl -k, syslog, or the records
 * of a dump's printk buffer), picks the one that brought the kernel down and
 * decodes it into a struct vr_crash.
 *
 * Pure text in, plain data out: no dump, no symbols, no printing. The oops
 * analyzer (oops.c) adds addresses and source lines when a dump has memory.
 *
 * The formats it reads are those the kernel prints, from 3.10 to today, for
 * x86-64 (arch/x86/mm/fault.c show_fault_oops(), arch/x86/kernel/dumpstack.c
 * __die()/show_regs()/show_trace_log_lvl(), process_64.c __show_regs()),
 * arm64 (arch/arm64/mm/fault.c die_kernel_fault(), kernel/traps.c die(),
 * process.c __show_regs()), and the common reporters (kernel/panic.c __warn()
 * and panic(), lib/dump_stack.c dump_stack_print_info(), kernel/hung_task.c,
 * kernel/watchdog.c, kernel/rcu/tree_stall.h, mm/kasan/report.c, lib/ubsan.c,
 * lib/list_debug.c, kernel/locking/lockdep.c, mm/oom_kill.c). Other
 * architectures get at least the kind of the crash. */
#ifndef VR_OOPS_PARSE_H
#define VR_OOPS_PARSE_H

#include <stddef.h>

#include "../engine/klog.h"
#include "../report/model.h"

/* Limits on what one log may make the parser hold. */
#define VR_OOPS_MAX_LINES 4000000   /* lines looked at */
#define VR_OOPS_MAX_LINE_LEN 4096   /* longer lines are cut */
#define VR_OOPS_MAX_REPORTS 10000   /* crash reports remembered */
#define VR_OOPS_MAX_SECONDARY 64    /* titles kept in crash.secondary */
#define VR_OOPS_MAX_FRAMES 512      /* frames of one printed trace */
#define VR_OOPS_MAX_TRACES 256      /* stacks of one report kept in crash.traces */
#define VR_OOPS_MAX_MODULES 4096    /* names in "Modules linked in:" */

/* Parses n lines (each NUL-terminated, without its newline; a line may carry
 * a "[ts]", "<N>", "kernel:" or syslog prefix). Fills ret, which must have
 * been set up with vr_crash_init() (report/model.h); crash.log_first_line/log_last_line
 * are indexes into lines. Finding no report is not an error (kind stays
 * "unknown"). Fails only on out-of-memory. */
struct vr_error *vr_oops_parse_lines(const char *const *lines, size_t n, struct vr_crash *ret);

/* The same over a text buffer split at '\n' (line indexes count from 0). */
struct vr_error *vr_oops_parse_text(const char *text, size_t len, struct vr_crash *ret);

#endif
