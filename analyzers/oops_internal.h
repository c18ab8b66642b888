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

/* ---- small string helpers ---- */

static inline bool starts(const char *s, const char *p)
{
	return strncmp(s, p, strlen(p)) == 0;
}

static const char *skip_ws(const char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	return s;
}

static inline bool is_hex(int c)
{
	return isxdigit((unsigned char)c) != 0;
}

/* Reads hex digits (optional 0x) at *s; at most 16 significant digits. */
static inline bool read_hex(const char **s, uint64_t *ret)
{
	const char *p = *s;
	if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X') && is_hex(p[2]))
		p += 2;
	if (!is_hex(*p))
		return false;
	uint64_t v = 0;
	int n = 0;
	while (is_hex(*p)) {
		if (++n > 16)
			return false;
		int c = tolower((unsigned char)*p);
		v = v * 16 + (uint64_t)(c <= '9' ? c - '0' : c - 'a' + 10);
		p++;
	}
	*s = p;
	*ret = v;
	return true;
}

static inline bool read_dec(const char **s, long *ret)
{
	const char *p = *s;
	if (!isdigit((unsigned char)*p))
		return false;
	long v = 0;
	while (isdigit((unsigned char)*p)) {
		if (v > 100000000)
			return false;
		v = v * 10 + (*p - '0');
		p++;
	}
	*s = p;
	*ret = v;
	return true;
}

static char *dup_trimmed(const char *s, size_t n)
{
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
		n--;
	return vr_strndup(s, n);
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

/* Line tests shared by both passes. */
bool vr_oops_is_hex_word(const char *p);
bool vr_oops_has_die_counter(const char *m);
bool vr_oops_kind_is(const char *k, const char *want);

/* Pass 1: classify the n message lines into reports (see oops_parse.c). */
struct vr_error *vr_oops_segment(char **msg, size_t n, struct seg_state *st);
/* The report the panic belongs to: the fatal one. */
size_t vr_oops_pick_fatal(const struct seg_state *st);

#endif
