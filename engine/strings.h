/* Small string helpers for the parsers of text the kernel printed (the
 * log's lines, rule files): bounded, allocation-free except dup_trimmed. */
#ifndef VR_STRINGS_H
#define VR_STRINGS_H

#include <ctype.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "error.h"

static inline bool vr_str_starts(const char *s, const char *p)
{
	return strncmp(s, p, strlen(p)) == 0;
}

static inline const char *vr_str_skip_ws(const char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	return s;
}

/* Reads hex digits (optional 0x) at *s; at most 16 significant digits. */
static inline bool vr_str_read_hex(const char **s, uint64_t *ret)
{
	const char *p = *s;
	if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X') && isxdigit((unsigned char)p[2]))
		p += 2;
	if (!isxdigit((unsigned char)*p))
		return false;
	uint64_t v = 0;
	int n = 0;
	while (isxdigit((unsigned char)*p)) {
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

/* Reads a decimal number at *s, at most 100000000. */
static inline bool vr_str_read_dec(const char **s, long *ret)
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

/* A copy of s[0..n) without trailing blanks; NULL when out of memory. */
static inline char *vr_str_dup_trimmed(const char *s, size_t n)
{
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
		n--;
	return vr_strndup(s, n);
}

/* The length of the valid UTF-8 sequence at s[0..avail) (RFC 3629: no
 * overlong forms, no surrogates, nothing past U+10FFFF), 0 when invalid. */
static inline size_t vr_utf8_len(const unsigned char *s, size_t avail)
{
	if (!avail)
		return 0;
	unsigned char c = s[0];
	if (c < 0x80)
		return 1;
	size_t n;
	unsigned lo = 0x80, hi = 0xbf;
	if (c >= 0xc2 && c <= 0xdf)
		n = 2;
	else if (c == 0xe0)
		n = 3, lo = 0xa0;
	else if (c >= 0xe1 && c <= 0xec)
		n = 3;
	else if (c == 0xed)
		n = 3, hi = 0x9f;
	else if (c >= 0xee && c <= 0xef)
		n = 3;
	else if (c == 0xf0)
		n = 4, lo = 0x90;
	else if (c >= 0xf1 && c <= 0xf3)
		n = 4;
	else if (c == 0xf4)
		n = 4, hi = 0x8f;
	else
		return 0;
	if (n > avail)
		return 0;
	if (s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < n; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return n;
}

#endif
