/* The kernel's taint flags (kernel/panic.c taint_flags[], include/linux/panic.h
 * TAINT_*) and the letters the kernel prints for them. */
#ifndef VR_TAINT_H
#define VR_TAINT_H

#include <stdbool.h>
#include <stdint.h>

struct vr_taint_flag {
	char c_true;        /* letter when set */
	char c_false;       /* letter when clear (' ' except 'G' for bit 0) */
	bool module;        /* also a per-module taint (module_flags_taint()) */
	const char *name;   /* TAINT_* without the prefix, lower case */
};

/* TAINT_FLAGS_COUNT of the newest kernel known; bits beyond print as '?'. */
#define VR_TAINT_FLAGS_COUNT 20
extern const struct vr_taint_flag vr_taint_flags[VR_TAINT_FLAGS_COUNT];

enum {
	VR_TAINT_PROPRIETARY_MODULE = 0,
	VR_TAINT_DIE = 7,
	VR_TAINT_WARN = 9,
	VR_TAINT_OOT_MODULE = 12,
	VR_TAINT_UNSIGNED_MODULE = 13,
	VR_TAINT_SOFTLOCKUP = 14,
};

/* Compact letters: 'P' or 'G' for bit 0, then the letter of each other set
 * flag in bit order ("GOE"). NULL only when out of memory. */
char *vr_taint_letters(uint64_t mask);
/* What print_tainted() prints: "Not tainted", or "Tainted: " and one
 * column per flag ("Tainted: G           OE      "), for the flags this
 * kernel had (nflags; VR_TAINT_FLAGS_COUNT when unknown). */
char *vr_taint_kernel_string(uint64_t mask, unsigned nflags);
/* A module's taints as module_flags_taint() prints them, without the
 * parentheses ("OE"); "" when none. */
char *vr_taint_module_letters(uint64_t mask);

#endif
