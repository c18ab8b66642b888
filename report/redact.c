/* --redact: removes what can name a user or a host from the model once,
 * before any format is written, so that no format can leak what another
 * hides: host names, IP and MAC addresses, user names, command lines, and
 * the directories of paths.
 *
 * Paths: the paths the input was given as (dump parts, vmlinux, saved
 * log) keep only their file's name ("[path]/vmcore"), and a --modules
 * directory becomes "[path]", wherever they appear, relative or not.
 * Every other absolute path of two components or more keeps only its last
 * one ("/tmp/srv/alice-laptop/vmcore" -> "[path]/vmcore", "/srv/alice/"
 * -> "[path]/"), unless it lies in a directory of the system's own that
 * names nobody (system_dirs[]: /usr/lib/debug/, /boot/, /proc/, ...). */
#define _GNU_SOURCE
#include "model.h"

#include <regex.h>
#include <stdio.h>
#include <string.h>

/* Directories whose paths name no user or host: the distribution's and
 * the kernel's own. */
static const char *const system_dirs[] = {
	"/usr/lib/debug/", "/usr/lib/modules/", "/lib/modules/", "/boot/", "/proc/", "/sys/",
	"/dev/",           "/bin/",             "/sbin/",        "/usr/bin/", "/usr/sbin/",
};

#define MAX_GIVEN 64 /* paths of the input taken from the options */

struct given {
	char *text; /* what is replaced: a file's directory with its '/', or a directory */
	const char *rep;
};

struct redactor {
	regex_t ipv4, mac, home, uid, cmdline;
	char *host; /* the nodename, replaced wherever it appears */
	struct given given[MAX_GIVEN];
	size_t n_given;
	bool ok;
};

static bool in_system_dir(const char *path, size_t len)
{
	for (size_t i = 0; i < sizeof(system_dirs) / sizeof(system_dirs[0]); i++) {
		size_t n = strlen(system_dirs[i]);
		if (len >= n && !strncmp(path, system_dirs[i], n))
			return true;
	}
	return false;
}

/* A character before which a path may start (and after a directory that
 * is replaced whole): not one that continues a word or a path. */
static bool path_delim(char c)
{
	return c == '\0' || strchr(" \t\n\r\"'(=:,;<>|{}[`", c) != NULL;
}

/* A character of a path component: anything but white space, '/',
 * quotes and punctuation that ends a path in prose. A ':' belongs to a
 * component when a component character follows it ("03:01:00"), not when
 * it ends one ("vmcore: the dump ..."). */
static bool comp_char(const char *p)
{
	if (*p == ':')
		return p[1] && p[1] != ':' && comp_char(p + 1);
	return *p && !strchr(" \t\n\r/\"'(),;<>|*{}`", *p);
}

static void add_given(struct redactor *rd, const char *path, bool dir)
{
	if (!path || rd->n_given >= MAX_GIVEN)
		return;
	size_t len = strlen(path);
	while (len > 1 && path[len - 1] == '/')
		len--;
	if (!dir) {
		/* A file: its directory and the '/' after it. */
		while (len && path[len - 1] != '/')
			len--;
		if (len <= 1 || (len == 2 && path[0] == '.'))
			return; /* no directory, "/", or "./" */
	}
	if (!len || in_system_dir(path, len))
		return;
	char *t = vr_strndup(path, len);
	if (!t)
		return;
	/* Longest first, so that a directory inside another is not cut. */
	size_t i = rd->n_given;
	while (i > 0 && strlen(rd->given[i - 1].text) < len) {
		rd->given[i] = rd->given[i - 1];
		i--;
	}
	rd->given[i] = (struct given){t, dir ? "[path]" : "[path]/"};
	rd->n_given++;
}

static struct vr_error *redactor_init(struct redactor *rd, const char *host,
				      const struct vr_open_options *given)
{
	*rd = (struct redactor){0};
	struct {
		regex_t *re;
		const char *pat;
	} pats[] = {
		{&rd->ipv4, "(^|[^0-9.])([0-9]{1,3}\\.){3}[0-9]{1,3}([^0-9.]|$)"},
		{&rd->mac, "([0-9A-Fa-f]{2}[:-]){5}[0-9A-Fa-f]{2}"},
		{&rd->home, "/(home|Users)/[^/ \t\"']+"},
		{&rd->uid, "(uid|user|USER|login)[=:] ?[0-9]*\\(?[A-Za-z_][A-Za-z0-9_.-]*\\)?"},
		{&rd->cmdline, "([Cc]ommand line|cmdline):? .*"},
	};
	for (size_t i = 0; i < sizeof(pats) / sizeof(pats[0]); i++)
		if (regcomp(pats[i].re, pats[i].pat, REG_EXTENDED))
			return vr_error_create(VR_ERR_USAGE, "internal error: bad redaction pattern %zu", i);
	rd->host = host && *host && strcmp(host, "(none)") && strcmp(host, "localhost") ? vr_strdup(host) : NULL;
	if (given) {
		for (size_t i = 0; i < given->n_dump_paths; i++)
			add_given(rd, given->dump_paths[i], false);
		add_given(rd, given->vmlinux_path, false);
		add_given(rd, given->log_path, false);
		for (size_t i = 0; i < given->n_module_dirs; i++)
			add_given(rd, given->module_dirs[i], true);
	}
	rd->ok = true;
	return NULL;
}

static void redactor_deinit(struct redactor *rd)
{
	if (!rd->ok)
		return;
	regfree(&rd->ipv4);
	regfree(&rd->mac);
	regfree(&rd->home);
	regfree(&rd->uid);
	regfree(&rd->cmdline);
	free(rd->host);
	for (size_t i = 0; i < rd->n_given; i++)
		free(rd->given[i].text);
}

/* Replaces len bytes of *s at off by rep; returns the offset after rep,
 * or -1 when out of memory (*s unchanged). */
static long splice(char **s, size_t off, size_t len, const char *rep)
{
	char *n = vr_asprintf("%.*s%s%s", (int)off, *s, rep, *s + off + len);
	if (!n)
		return -1;
	free(*s);
	*s = n;
	return (long)(off + strlen(rep));
}

/* Replace every match of re in *s (group `group` of it) by rep, each
 * search starting after the last replacement. */
static void replace_re(char **s, regex_t *re, int group, const char *rep)
{
	size_t from = 0;
	for (int guard = 0; *s && guard < 256 && (*s)[from]; guard++) {
		regmatch_t m[8];
		if (regexec(re, *s + from, 8, m, from ? REG_NOTBOL : 0) != 0 || m[group].rm_so < 0)
			return;
		long next = splice(s, from + (size_t)m[group].rm_so,
				   (size_t)(m[group].rm_eo - m[group].rm_so), rep);
		if (next < 0)
			return;
		from = (size_t)next;
	}
}

static void replace_str(char **s, const char *what, const char *rep)
{
	if (!*s || !what)
		return;
	size_t wl = strlen(what), from = 0;
	for (int guard = 0; guard < 256; guard++) {
		char *p = strstr(*s + from, what);
		if (!p)
			return;
		long next = splice(s, (size_t)(p - *s), wl, rep);
		if (next < 0)
			return;
		from = (size_t)next;
	}
}

/* The paths the input was given as: where one stands as a path of its
 * own (not inside a longer name). */
static void replace_given(char **s, const struct given *g)
{
	size_t wl = strlen(g->text), from = 0;
	bool dir = g->text[wl - 1] != '/';
	for (int guard = 0; *s && guard < 256;) {
		char *p = strstr(*s + from, g->text);
		if (!p)
			return;
		size_t off = (size_t)(p - *s);
		if ((off && !path_delim(p[-1])) ||
		    (dir && !path_delim(p[wl]) && p[wl] != '/')) {
			from = off + 1;
			continue;
		}
		long next = splice(s, off, wl, g->rep);
		if (next < 0)
			return;
		from = (size_t)next;
		guard++;
	}
}

/* Every absolute path of two components or more outside system_dirs[]
 * keeps its last component only: "[path]/NAME", or "[path]" when a '/'
 * follows (a directory). */
static void redact_paths(char **s)
{
	for (size_t i = 0, guard = 0; *s && (*s)[i] && guard < 256; i++) {
		const char *p = *s;
		if (p[i] != '/' || (i && !path_delim(p[i - 1])))
			continue;
		size_t end = i, last = i, comps = 0;
		while (p[end] == '/' && comp_char(p + end + 1)) {
			last = end;
			end++;
			while (comp_char(p + end))
				end++;
			comps++;
		}
		if (comps < 2 || in_system_dir(p + i, end - i)) {
			i = end > i ? end - 1 : i;
			continue;
		}
		_cleanup_free_ char *rep = p[end] == '/' ? vr_strdup("[path]")
							 : vr_asprintf("[path]%.*s", (int)(end - last), p + last);
		if (!rep)
			return;
		long next = splice(s, i, end - i, rep);
		if (next < 0)
			return;
		i = (size_t)next - 1;
		guard++;
	}
}

/* The IPv4 pattern keeps its surrounding characters in groups 1 and 3. */
static void redact_ipv4(char **s, regex_t *re)
{
	for (int guard = 0; *s && guard < 256; guard++) {
		regmatch_t m[4];
		if (regexec(re, *s, 4, m, 0) != 0)
			return;
		regoff_t so = m[1].rm_eo, eo = m[3].rm_so;
		char *n = vr_asprintf("%.*s[ip]%s", (int)so, *s, *s + eo);
		if (!n)
			return;
		free(*s);
		*s = n;
	}
}

static bool is_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* Whether s[0..n) is an IPv6 address (RFC 4291 2.2 text forms, without an
 * embedded IPv4 part): groups of 1 to 4 hex digits, eight of them, or
 * fewer with one "::". Times (12:34:56), CS:RIP ("0010:") and PCI
 * addresses (0000:00:01) are not: they have neither. */
static bool is_ipv6(const char *s, size_t n)
{
	size_t groups = 0, digits = 0, run = 0;
	bool compressed = false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] != ':') {
			if (++run > 4)
				return false;
			digits++;
			continue;
		}
		if (i + 1 < n && s[i + 1] == ':') {
			if (compressed || (i + 2 < n && s[i + 2] == ':'))
				return false;
			compressed = true;
			groups += run > 0;
			run = 0;
			i++;
			continue;
		}
		if (!run || i + 1 == n)
			return false; /* a lone ':' must sit between two groups */
		groups++;
		run = 0;
	}
	groups += run > 0;
	return digits && (compressed ? groups <= 7 : groups == 8);
}

/* A letter that is not a hex digit, or '_': part of a word, not of an
 * address. */
static bool is_word(char c)
{
	return (c >= 'g' && c <= 'z') || (c >= 'G' && c <= 'Z') || c == '_';
}

static void redact_ipv6(char **s)
{
	for (size_t i = 0, guard = 0; *s && (*s)[i] && guard < 256; i++) {
		const char *p = *s;
		if (!is_hex(p[i]) && p[i] != ':')
			continue;
		size_t end = i;
		while (is_hex(p[end]) || p[end] == ':')
			end++;
		/* hex digits inside a word ("sda1", "foo::bar") are no address */
		bool word = (i && is_word(p[i - 1])) || is_word(p[end]);
		if (word || !is_ipv6(p + i, end - i)) {
			i = end - 1;
			continue;
		}
		long next = splice(s, i, end - i, "[ip]");
		if (next < 0)
			return;
		i = (size_t)next - 1;
		guard++;
	}
}

static void redact(struct redactor *rd, char **s)
{
	if (!*s)
		return;
	/* The given paths first, as they were given: the rules below would
	 * change them. */
	for (size_t i = 0; i < rd->n_given; i++)
		replace_given(s, &rd->given[i]);
	replace_re(s, &rd->cmdline, 0, "[command line redacted]");
	replace_re(s, &rd->mac, 0, "[mac]");
	redact_ipv4(s, &rd->ipv4);
	redact_ipv6(s);
	/* A home directory alone names its user: before the paths, which
	 * keep a path's last component. */
	replace_re(s, &rd->home, 0, "/home/[user]");
	redact_paths(s);
	replace_re(s, &rd->uid, 0, "[user]");
	if (rd->host)
		replace_str(s, rd->host, "[host]");
}

static void redact_one(char **s, void *ctx)
{
	redact(ctx, s);
}

/* A fixed-size field (a task's comm): redacted as a string, cut to fit. */
static void redact_buffer(char *buf, size_t cap, void *ctx)
{
	if (!cap)
		return;
	char *s = vr_strndup(buf, cap - 1);
	if (!s)
		return;
	redact(ctx, &s);
	snprintf(buf, cap, "%s", s ? s : "");
	free(s);
}

struct vr_error *vr_report_redact(struct vr_report *r, const struct vr_open_options *given)
{
	struct redactor rd;
	struct vr_facts *f = r->facts;
	struct vr_error *err = redactor_init(&rd, f ? f->system.nodename : NULL, given);
	if (err) {
		redactor_deinit(&rd);
		return err;
	}
	if (f && f->system.nodename) {
		free(f->system.nodename);
		f->system.nodename = vr_strdup("[host]");
	}
	/* Every string of the report: a path, a host name or an address can
	 * turn up in any of them (a module's source file, a log line, a
	 * finding's evidence). */
	vr_report_visit_strings(r, redact_one, redact_buffer, &rd);
	redactor_deinit(&rd);
	return NULL;
}
