/* --redact: removes host names, IP and MAC addresses, user names and
 * command lines from the model once, before any format is written, so
 * that no format can leak what another hides. */
#define _GNU_SOURCE
#include "model.h"

#include <regex.h>
#include <string.h>

struct redactor {
	regex_t ipv4, ipv6, mac, home, uid, cmdline;
	char *host; /* the nodename, replaced wherever it appears */
	bool ok;
};

static struct vr_error *redactor_init(struct redactor *rd, const char *host)
{
	*rd = (struct redactor){0};
	struct {
		regex_t *re;
		const char *pat;
	} pats[] = {
		{&rd->ipv4, "(^|[^0-9.])([0-9]{1,3}\\.){3}[0-9]{1,3}([^0-9.]|$)"},
		/* At least three groups with two colons; keeps "0010:" (CS:RIP) and times like 12:34:56 out. */
		{&rd->ipv6, "(^|[^0-9A-Fa-f:])([0-9A-Fa-f]{1,4}:){2,7}(:|[0-9A-Fa-f]{1,4})(::?[0-9A-Fa-f]{1,4})*([^0-9A-Fa-f:]|$)"},
		{&rd->mac, "([0-9A-Fa-f]{2}[:-]){5}[0-9A-Fa-f]{2}"},
		{&rd->home, "/(home|Users)/[^/ \t\"']+"},
		{&rd->uid, "(uid|user|USER|login)[=:] ?[0-9]*\\(?[A-Za-z_][A-Za-z0-9_.-]*\\)?"},
		{&rd->cmdline, "([Cc]ommand line|cmdline):? .*"},
	};
	for (size_t i = 0; i < sizeof(pats) / sizeof(pats[0]); i++)
		if (regcomp(pats[i].re, pats[i].pat, REG_EXTENDED))
			return vr_error_create(VR_ERR_USAGE, "internal error: bad redaction pattern %zu", i);
	rd->host = host && *host && strcmp(host, "(none)") && strcmp(host, "localhost") ? vr_strdup(host) : NULL;
	rd->ok = true;
	return NULL;
}

static void redactor_deinit(struct redactor *rd)
{
	if (!rd->ok)
		return;
	regfree(&rd->ipv4);
	regfree(&rd->ipv6);
	regfree(&rd->mac);
	regfree(&rd->home);
	regfree(&rd->uid);
	regfree(&rd->cmdline);
	free(rd->host);
}

/* Replace every match of re in *s (group `group` of it) by rep. */
static void replace_re(char **s, regex_t *re, int group, const char *rep)
{
	if (!*s)
		return;
	for (int guard = 0; guard < 256; guard++) {
		regmatch_t m[8];
		if (regexec(re, *s, 8, m, 0) != 0 || m[group].rm_so < 0)
			return;
		if (strstr(*s + m[group].rm_so, rep) == *s + m[group].rm_so)
			return;
		char *n = vr_asprintf("%.*s%s%s", (int)m[group].rm_so, *s, rep, *s + m[group].rm_eo);
		if (!n)
			return;
		free(*s);
		*s = n;
	}
}

static void replace_str(char **s, const char *what, const char *rep)
{
	if (!*s || !what)
		return;
	size_t wl = strlen(what);
	for (int guard = 0; guard < 256; guard++) {
		char *p = strstr(*s, what);
		if (!p)
			return;
		char *n = vr_asprintf("%.*s%s%s", (int)(p - *s), *s, rep, p + wl);
		if (!n)
			return;
		free(*s);
		*s = n;
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

static void redact_ipv6(char **s, regex_t *re)
{
	for (int guard = 0; *s && guard < 256; guard++) {
		regmatch_t m[6];
		if (regexec(re, *s, 6, m, 0) != 0)
			return;
		regoff_t so = m[1].rm_eo, eo = m[5].rm_so;
		char *n = vr_asprintf("%.*s[ip]%s", (int)so, *s, *s + eo);
		if (!n)
			return;
		free(*s);
		*s = n;
	}
}

static void redact(struct redactor *rd, char **s)
{
	if (!*s)
		return;
	replace_re(s, &rd->cmdline, 0, "[command line redacted]");
	replace_re(s, &rd->mac, 0, "[mac]");
	redact_ipv4(s, &rd->ipv4);
	redact_ipv6(s, &rd->ipv6);
	replace_re(s, &rd->home, 0, "/home/[user]");
	replace_re(s, &rd->uid, 0, "[user]");
	if (rd->host)
		replace_str(s, rd->host, "[host]");
}

static void redact_one(char **s, void *ctx)
{
	redact(ctx, s);
}

struct vr_error *vr_report_redact(struct vr_report *r)
{
	struct redactor rd;
	struct vr_facts *f = r->facts;
	struct vr_error *err = redactor_init(&rd, f ? f->system.nodename : NULL);
	if (err)
		return err;
	if (f && f->system.nodename) {
		free(f->system.nodename);
		f->system.nodename = vr_strdup("[host]");
	}
	/* Every string of the report: a path under /home, a host name or an
	 * address can turn up in any of them (a module's source file, a
	 * log line, a finding's evidence). */
	vr_report_visit_strings(r, redact_one, NULL, &rd);
	redactor_deinit(&rd);
	return NULL;
}
