/* Private to the oops parser's two files (oops_parse.c: lines and
 * segmentation; oops_decode.c: decoding one report). */
#ifndef VR_OOPS_INTERNAL_H
#define VR_OOPS_INTERNAL_H

#include <ctype.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "oops_parse.h"
#include "../engine/klog.h"
#include "../engine/strings.h"

/* ---- small string helpers (engine/strings.h) ---- */

static inline bool starts(const char *s, const char *p)
{
	return vr_str_starts(s, p);
}

static inline const char *skip_ws(const char *s)
{
	return vr_str_skip_ws(s);
}

static inline bool read_hex(const char **s, uint64_t *ret)
{
	return vr_str_read_hex(s, ret);
}

static inline bool read_dec(const char **s, long *ret)
{
	return vr_str_read_dec(s, ret);
}

static inline char *dup_trimmed(const char *s, size_t n)
{
	return vr_str_dup_trimmed(s, n);
}

static inline void set_str(char **dst, const char *s, size_t n)
{
	if (*dst)
		return;
	*dst = dup_trimmed(s, n);
}

/* ---- segmentation (oops_parse.c), read by the decoder ---- */

struct report {
	size_t first;       /* line of its first headline */
	size_t head;        /* line of the headline giving its title */
	const char *kind;
	bool die;           /* has its die() line */
	bool closed;        /* past its header: headlines start new reports */
	bool prelude;       /* opened by a prelude: takes in the next headline */
	bool has_panic;
	size_t panic_line;
};

struct seg_state {
	struct report *r;
	size_t n, cap;
};

bool vr_oops_kind_is(const char *k, const char *want);

/* ---- the report's sections (oops_sections.c) ---- */

enum vr_section {
	VR_SECTION_NONE,   /* not a section header */
	VR_SECTION_FRAMES, /* the frames follow on the next lines */
	VR_SECTION_TRACE,  /* a "Call Trace:" follows (after a CPU or task line) */
};

/* Whether p (a message, leading spaces skipped) introduces a stack, and
 * which (t->role, label, cpu, pid). t owns label and comm. */
enum vr_section vr_oops_section_header(const char *p, struct vr_crash_trace *t);
/* sched_show_task()'s first line: sets t->comm and t->pid. */
bool vr_oops_task_line(const char *p, struct vr_crash_trace *t);
/* A lockdep lock site "(&lock){+.+.}, at: foo+0x12/0x40": its frame. */
bool vr_oops_lock_site(const char *p, struct vr_frame *f);

#define VR_STALL_MAX_PIDS 64
/* The CPUs and tasks a stall report says are stuck. */
struct vr_stall {
	uint64_t cpus[VR_MAX_CPUS / 64];
	int pids[VR_STALL_MAX_PIDS];
	size_t n_pids;
	bool self_detected; /* the reporting CPU is the stalled one */
	bool any_cpu;
};
/* Reads one line of an RCU stall header into s. */
void vr_oops_stall_line(const char *p, struct vr_stall *s);
bool vr_stall_has_cpu(const struct vr_stall *s, int cpu);
bool vr_stall_has_pid(const struct vr_stall *s, int pid);

/* Pass 1: classify the n message lines into reports (see oops_parse.c). */
struct vr_error *vr_oops_segment(char **msg, const char (*ctx)[VR_KLOG_CTX_LEN], size_t n,
				 struct seg_state *st);
/* The report the panic belongs to: the fatal one. */
size_t vr_oops_pick_fatal(const struct seg_state *st);

/* ---- decoding (oops_decode.c) ---- */

/* Pass 2: pulls the fields of report `which` of st (msg, ctx and stamped
 * as the parser made them, n lines) into c. */
struct vr_error *vr_oops_decode(char **msg, const char (*ctx)[VR_KLOG_CTX_LEN], const bool *stamped,
				size_t n, const struct seg_state *st, size_t which, struct vr_crash *c);

#endif
