/* The rules loader and matcher. See docs/rules.md for the language.
 *
 * Files are read with libyaml's document loader; every node carries its
 * start mark, so every error names FILE:LINE:COLUMN. The schema is walked by
 * hand: each mapping lists the keys it accepts, anything else is an error.
 * A rule file is untrusted input: its size, the nodes visited (aliases can
 * make a small file describe a huge tree) and the number of rules are
 * bounded. */
#define _GNU_SOURCE
#include "rules.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fnmatch.h>
#include <inttypes.h>
#include <regex.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <yaml.h>

#include "../report/model.h"

#define VR_RULES_MAX_FILE (4u << 20)     /* bytes of one rule file */
#define VR_RULES_MAX_NODES 200000        /* nodes visited while loading one file */
#define VR_RULES_MAX_RULES 10000
#define VR_RULES_MAX_PATTERNS 100000
#define VR_RULES_MAX_MAGIC 10000
#define VR_RULES_MAX_DEPTH 16            /* nesting of any:/not: */
#define VR_RULES_MAX_FLOW_DEPTH 64       /* [ and { nesting (see check_nesting) */
#define VR_RULES_MAX_DIR_FILES 1000
#define VR_RULES_MAX_LOG_LINES 200000    /* log lines a `log:` condition scans */

extern const struct vr_builtin_rule {
	const char *name;
	const char *text;
	size_t len;
} vr_builtin_rules[];
extern const size_t vr_n_builtin_rules;

/* ---- data ---- */

struct pattern {
	char *text;
	bool is_regex;  /* written /like this/ */
	regex_t re;
};

struct patlist {
	struct pattern *v;
	size_t n, cap;
};

enum cond_kind {
	C_KIND, C_POINTER, C_CULPRIT, C_MODULE, C_FUNCTION, C_HANG, /* field patterns */
	C_FRAME, C_FIRST_FRAME, C_TAINT, C_LOG, C_RELEASE, C_LOADED, C_NOT, C_ANY,
};

struct condset;

struct cond {
	enum cond_kind kind;
	struct patlist pats;       /* field patterns, log regexes, loaded names, release globs */
	struct patlist sym, mod;   /* frame */
	char *letters;             /* taint */
	struct condset *sets;      /* not (1), any (n) */
	size_t n_sets;
};

struct condset {
	struct cond *v;
	size_t n, cap;
};

struct rule {
	char *id;
	char *title;
	const char *severity;
	char *advice;
	char **evidence;
	size_t n_evidence;
	struct condset when;
	char *origin;              /* "FILE:LINE" */
};

struct frame_group {
	char *name;
	struct patlist pats;
};

struct vr_ruleset {
	struct frame_group *groups;
	size_t n_groups, cap_groups;
	struct vr_magic *magic;
	size_t n_magic, cap_magic;
	struct rule *rules;
	size_t n_rules, cap_rules;
};

/* ---- freeing ---- */

static void patlist_free(struct patlist *pl)
{
	for (size_t i = 0; i < pl->n; i++) {
		if (pl->v[i].is_regex)
			regfree(&pl->v[i].re);
		free(pl->v[i].text);
	}
	free(pl->v);
	*pl = (struct patlist){0};
}

static void condset_free(struct condset *cs);

static void cond_free(struct cond *c)
{
	patlist_free(&c->pats);
	patlist_free(&c->sym);
	patlist_free(&c->mod);
	free(c->letters);
	for (size_t i = 0; i < c->n_sets; i++)
		condset_free(&c->sets[i]);
	free(c->sets);
}

static void condset_free(struct condset *cs)
{
	for (size_t i = 0; i < cs->n; i++)
		cond_free(&cs->v[i]);
	free(cs->v);
	*cs = (struct condset){0};
}

static void rule_free(struct rule *r)
{
	free(r->id);
	free(r->title);
	free(r->advice);
	for (size_t i = 0; i < r->n_evidence; i++)
		free(r->evidence[i]);
	free(r->evidence);
	condset_free(&r->when);
	free(r->origin);
}

static void magic_free(struct vr_magic *m)
{
	free(m->name);
	free(m->class);
	free(m->meaning);
}

static void ruleset_clear(struct vr_ruleset *rs)
{
	for (size_t i = 0; i < rs->n_groups; i++) {
		free(rs->groups[i].name);
		patlist_free(&rs->groups[i].pats);
	}
	free(rs->groups);
	for (size_t i = 0; i < rs->n_magic; i++)
		magic_free(&rs->magic[i]);
	free(rs->magic);
	for (size_t i = 0; i < rs->n_rules; i++)
		rule_free(&rs->rules[i]);
	free(rs->rules);
	*rs = (struct vr_ruleset){0};
}

void vr_ruleset_destroy(struct vr_ruleset *rs)
{
	if (!rs)
		return;
	ruleset_clear(rs);
	free(rs);
}

/* ---- template fields ---- */

enum field {
	F_CRASH_KIND, F_CRASH_TITLE, F_CRASH_COMM, F_CRASH_PID, F_CRASH_CPU, F_CRASH_FAULT,
	F_CRASH_IP, F_CRASH_BUG_FILE,
	F_PTR_CLASS, F_PTR_VALUE, F_PTR_REG, F_PTR_OFFSET, F_PTR_MEMBER, F_PTR_EXPL,
	F_PTR_INSN,
	F_BLAME_CULPRIT, F_BLAME_MODULE, F_BLAME_FUNCTION, F_BLAME_FILE, F_BLAME_LINE,
	F_BLAME_CONFIDENCE,
	F_SYS_RELEASE, F_SYS_TAINT,
	F_HANG_KIND, F_HANG_CPU, F_HANG_FUNCTION, F_HANG_WAITER, F_HANG_OWNER,
	F_MATCH_LOG, F_MATCH_FRAME, F_MATCH_MODULE,
	F_COUNT
};

static const char *const field_names[F_COUNT] = {
	"crash.kind", "crash.title", "crash.comm", "crash.pid", "crash.cpu", "crash.fault_address",
	"crash.ip", "crash.bug_file",
	"pointer.class", "pointer.value", "pointer.register", "pointer.offset", "pointer.member",
	"pointer.explanation", "pointer.instruction",
	"blame.culprit", "blame.module", "blame.function", "blame.file", "blame.line",
	"blame.confidence",
	"system.release", "system.taint",
	"hang.kind", "hang.stuck_cpu", "hang.stuck_function", "hang.waiter", "hang.owner",
	"match.log", "match.frame", "match.module",
};

static int field_lookup(const char *name, size_t len)
{
	for (int i = 0; i < F_COUNT; i++)
		if (strlen(field_names[i]) == len && !strncmp(field_names[i], name, len))
			return i;
	return -1;
}

/* Checks "{field}" references; returns an error message (static) or NULL. */
static const char *template_check(const char *t, char *bad, size_t badcap)
{
	for (const char *p = t; *p; p++) {
		if (*p == '{' && p[1] == '{') {
			p++;
			continue;
		}
		if (*p == '}' && p[1] == '}') {
			p++;
			continue;
		}
		if (*p == '}')
			return "unmatched '}' in template (write '}}' for a literal brace)";
		if (*p != '{')
			continue;
		const char *end = strchr(p, '}');
		if (!end)
			return "unterminated '{' in template (write '{{' for a literal brace)";
		if (field_lookup(p + 1, (size_t)(end - p - 1)) < 0) {
			snprintf(bad, badcap, "%.*s", (int)(end - p - 1), p + 1);
			return "unknown template field";
		}
		p = end;
	}
	return NULL;
}

/* ---- loading ---- */

struct loader {
	const char *name;
	yaml_document_t *doc;
	size_t visited;
	struct vr_error *err;
};

static struct vr_error *at(struct loader *L, const yaml_node_t *n, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static struct vr_error *at(struct loader *L, const yaml_node_t *n, const char *fmt, ...)
{
	char *msg = NULL;
	va_list ap;
	va_start(ap, fmt);
	int r = vasprintf(&msg, fmt, ap);
	va_end(ap);
	if (r < 0)
		return &vr_error_oom;
	struct vr_error *e = vr_error_create(VR_ERR_FORMAT, "%s:%zu:%zu: %s", L->name,
					     n ? n->start_mark.line + 1 : 1,
					     n ? n->start_mark.column + 1 : 1, msg);
	free(msg);
	return e;
}

static yaml_node_t *node(struct loader *L, int idx)
{
	if (++L->visited > VR_RULES_MAX_NODES)
		return NULL;
	return yaml_document_get_node(L->doc, idx);
}

static struct vr_error *budget(struct loader *L, const yaml_node_t *near)
{
	return at(L, near, "the file describes more than %d nodes (aliases?)", VR_RULES_MAX_NODES);
}

static const char *scalar(const yaml_node_t *n)
{
	return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

static const char *type_name(const yaml_node_t *n)
{
	switch (n->type) {
	case YAML_SCALAR_NODE: return "a scalar";
	case YAML_SEQUENCE_NODE: return "a list";
	case YAML_MAPPING_NODE: return "a mapping";
	default: return "empty";
	}
}

static struct vr_error *want_scalar(struct loader *L, const yaml_node_t *n, const char *what,
				    const char **ret)
{
	if (!n || n->type != YAML_SCALAR_NODE)
		return at(L, n, "%s must be a string, not %s", what, n ? type_name(n) : "missing");
	*ret = (const char *)n->data.scalar.value;
	if (strlen(*ret) != n->data.scalar.length)
		return at(L, n, "%s holds a NUL byte", what);
	return NULL;
}

static struct vr_error *parse_u64(struct loader *L, const yaml_node_t *n, const char *what,
				  uint64_t *ret)
{
	const char *s;
	struct vr_error *err = want_scalar(L, n, what, &s);
	if (err)
		return err;
	char *end = NULL;
	errno = 0;
	while (isspace((unsigned char)*s))
		s++;
	if (*s == '-' || !*s)
		return at(L, n, "%s must be a non-negative integer", what);
	unsigned long long v = strtoull(s, &end, 0);
	if (errno || !end || *end)
		return at(L, n, "%s: '%s' is not an integer", what, s);
	*ret = v;
	return NULL;
}

static struct vr_error *pattern_add(struct loader *L, const yaml_node_t *n, struct patlist *pl,
				    bool allow_regex)
{
	const char *s;
	struct vr_error *err = want_scalar(L, n, "a pattern", &s);
	if (err)
		return err;
	if (!*s)
		return at(L, n, "empty pattern");
	err = vr_grow(&pl->v, &pl->cap, pl->n + 1, sizeof(*pl->v), VR_RULES_MAX_PATTERNS);
	if (err)
		return vr_error_wrap(err, "%s:%zu:%zu", L->name, n->start_mark.line + 1,
				     n->start_mark.column + 1);
	struct pattern *p = &pl->v[pl->n];
	*p = (struct pattern){0};
	size_t len = strlen(s);
	if (allow_regex && len >= 2 && s[0] == '/' && s[len - 1] == '/') {
		p->text = vr_strndup(s + 1, len - 2);
		if (!p->text)
			return &vr_error_oom;
		int rc = regcomp(&p->re, p->text, REG_EXTENDED | REG_NOSUB);
		if (rc) {
			char buf[128];
			regerror(rc, &p->re, buf, sizeof(buf));
			free(p->text);
			return at(L, n, "invalid regular expression %s: %s", s, buf);
		}
		p->is_regex = true;
	} else {
		p->text = vr_strdup(s);
		if (!p->text)
			return &vr_error_oom;
	}
	pl->n++;
	return NULL;
}

/* A pattern or a list of patterns. */
static struct vr_error *patterns(struct loader *L, const yaml_node_t *n, struct patlist *pl,
				 bool allow_regex)
{
	if (n && n->type == YAML_SEQUENCE_NODE) {
		if (n->data.sequence.items.top == n->data.sequence.items.start)
			return at(L, n, "empty list of patterns");
		for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top; it++) {
			yaml_node_t *c = node(L, *it);
			if (!c)
				return budget(L, n);
			struct vr_error *err = pattern_add(L, c, pl, allow_regex);
			if (err)
				return err;
		}
		return NULL;
	}
	return pattern_add(L, n, pl, allow_regex);
}

static const char *const cond_names[] = {
	[C_KIND] = "kind", [C_POINTER] = "pointer", [C_CULPRIT] = "culprit",
	[C_MODULE] = "module", [C_FUNCTION] = "function", [C_HANG] = "hang",
	[C_FRAME] = "frame", [C_FIRST_FRAME] = "first-frame", [C_TAINT] = "taint",
	[C_LOG] = "log", [C_RELEASE] = "release", [C_LOADED] = "loaded",
	[C_NOT] = "not", [C_ANY] = "any",
};
#define N_CONDS (sizeof(cond_names) / sizeof(cond_names[0]))

static struct vr_error *parse_condset(struct loader *L, const yaml_node_t *n, struct condset *cs,
				      int depth);

static struct vr_error *parse_frame(struct loader *L, const yaml_node_t *n, struct cond *c)
{
	if (n->type != YAML_MAPPING_NODE)
		return at(L, n, "a frame condition must be a mapping with symbol: and/or module:");
	for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
		yaml_node_t *k = node(L, p->key), *v = node(L, p->value);
		if (!k || !v)
			return budget(L, n);
		const char *key = scalar(k);
		struct vr_error *err;
		if (key && !strcmp(key, "symbol"))
			err = c->sym.n ? at(L, k, "duplicate key 'symbol'") : patterns(L, v, &c->sym, true);
		else if (key && !strcmp(key, "module"))
			err = c->mod.n ? at(L, k, "duplicate key 'module'") : patterns(L, v, &c->mod, true);
		else
			err = at(L, k, "unknown key '%s' in a frame condition (expected symbol, module)",
				 key ? key : "?");
		if (err)
			return err;
	}
	if (!c->sym.n && !c->mod.n)
		return at(L, n, "a frame condition needs symbol: or module:");
	return NULL;
}

static struct vr_error *parse_cond(struct loader *L, const yaml_node_t *k, const yaml_node_t *v,
				   enum cond_kind kind, struct cond *c, int depth)
{
	c->kind = kind;
	switch (kind) {
	case C_KIND: case C_POINTER: case C_CULPRIT: case C_MODULE: case C_FUNCTION: case C_HANG:
	case C_LOADED:
		return patterns(L, v, &c->pats, true);
	case C_RELEASE: {
		struct vr_error *err = patterns(L, v, &c->pats, true);
		if (err)
			return err;
		for (size_t i = 0; i < c->pats.n; i++) {
			const char *t = c->pats.v[i].text;
			if (!c->pats.v[i].is_regex && strchr("<>=!", t[0])) {
				const char *ver = t + strspn(t, "<>=!");
				while (*ver == ' ')
					ver++;
				size_t opl = strspn(t, "<>=!");
				bool op_ok = (opl == 1 && (t[0] == '<' || t[0] == '>' || t[0] == '=')) ||
					     (opl == 2 && t[1] == '=' && strchr("<>=!", t[0]));
				if (!op_ok || !isdigit((unsigned char)*ver))
					return at(L, v, "bad release comparison '%s' (expected e.g. '>= 6.1')", t);
			}
		}
		return NULL;
	}
	case C_LOG: {
		struct vr_error *err = patterns(L, v, &c->pats, true);
		if (err)
			return err;
		/* Log patterns are regular expressions, with or without slashes. */
		for (size_t i = 0; i < c->pats.n; i++) {
			struct pattern *p = &c->pats.v[i];
			if (p->is_regex)
				continue;
			int rc = regcomp(&p->re, p->text, REG_EXTENDED | REG_NOSUB);
			if (rc) {
				char buf[128];
				regerror(rc, &p->re, buf, sizeof(buf));
				return at(L, v, "invalid regular expression '%s': %s", p->text, buf);
			}
			p->is_regex = true;
		}
		return NULL;
	}
	case C_FRAME: case C_FIRST_FRAME:
		return parse_frame(L, v, c);
	case C_TAINT: {
		const char *s;
		struct vr_error *err = want_scalar(L, v, "taint", &s);
		if (err)
			return err;
		if (!*s)
			return at(L, v, "taint needs at least one letter");
		for (const char *q = s; *q; q++)
			if (!isupper((unsigned char)*q))
				return at(L, v, "taint letters are upper-case letters (like 'OE'), not '%c'", *q);
		c->letters = vr_strdup(s);
		return c->letters ? NULL : &vr_error_oom;
	}
	case C_NOT:
		c->sets = calloc(1, sizeof(*c->sets));
		if (!c->sets)
			return &vr_error_oom;
		c->n_sets = 1;
		return parse_condset(L, v, &c->sets[0], depth + 1);
	case C_ANY: {
		if (v->type != YAML_SEQUENCE_NODE)
			return at(L, v, "any: must be a list of condition mappings");
		size_t n = (size_t)(v->data.sequence.items.top - v->data.sequence.items.start);
		if (!n)
			return at(L, v, "any: must not be empty");
		c->sets = calloc(n, sizeof(*c->sets));
		if (!c->sets)
			return &vr_error_oom;
		for (size_t i = 0; i < n; i++) {
			yaml_node_t *s = node(L, v->data.sequence.items.start[i]);
			if (!s)
				return budget(L, v);
			c->n_sets = i + 1;
			struct vr_error *err = parse_condset(L, s, &c->sets[i], depth + 1);
			if (err)
				return err;
		}
		return NULL;
	}
	}
	(void)k;
	return NULL;
}

static struct vr_error *parse_condset(struct loader *L, const yaml_node_t *n, struct condset *cs,
				      int depth)
{
	if (depth > VR_RULES_MAX_DEPTH)
		return at(L, n, "conditions nested more than %d deep", VR_RULES_MAX_DEPTH);
	if (n->type != YAML_MAPPING_NODE)
		return at(L, n, "conditions must be a mapping, not %s", type_name(n));
	if (n->data.mapping.pairs.top == n->data.mapping.pairs.start)
		return at(L, n, "empty conditions");
	for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
		yaml_node_t *k = node(L, p->key), *v = node(L, p->value);
		if (!k || !v)
			return budget(L, n);
		const char *key = scalar(k);
		size_t kind = N_CONDS;
		for (size_t i = 0; key && i < N_CONDS; i++)
			if (!strcmp(cond_names[i], key))
				kind = i;
		if (kind == N_CONDS)
			return at(L, k, "unknown condition '%s' (expected kind, pointer, culprit, module, "
				  "function, hang, frame, first-frame, taint, log, release, loaded, not, any)",
				  key ? key : "?");
		for (size_t i = 0; i < cs->n; i++)
			if (cs->v[i].kind == (enum cond_kind)kind)
				return at(L, k, "duplicate condition '%s'", key);
		struct vr_error *err = vr_grow(&cs->v, &cs->cap, cs->n + 1, sizeof(*cs->v), 64);
		if (err)
			return vr_error_wrap(err, "%s:%zu:%zu", L->name, k->start_mark.line + 1,
					     k->start_mark.column + 1);
		struct cond *c = &cs->v[cs->n++];
		*c = (struct cond){0};
		err = parse_cond(L, k, v, (enum cond_kind)kind, c, depth);
		if (err)
			return err;
	}
	return NULL;
}

static struct vr_error *dup_template(struct loader *L, const yaml_node_t *n, const char *what,
				     char **ret)
{
	const char *s;
	struct vr_error *err = want_scalar(L, n, what, &s);
	if (err)
		return err;
	char bad[64] = "";
	const char *why = template_check(s, bad, sizeof(bad));
	if (why)
		return bad[0] ? at(L, n, "%s: %s '{%s}'", what, why, bad) : at(L, n, "%s: %s", what, why);
	*ret = vr_strdup(s);
	return *ret ? NULL : &vr_error_oom;
}

static bool id_ok(const char *s)
{
	size_t n = strlen(s);
	if (!n || n > 64)
		return false;
	for (const char *p = s; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '-' && *p != '_' && *p != '.')
			return false;
	return true;
}

static struct vr_error *parse_rule(struct loader *L, const yaml_node_t *n, struct rule *r)
{
	if (n->type != YAML_MAPPING_NODE)
		return at(L, n, "a rule must be a mapping, not %s", type_name(n));
	const yaml_node_t *when = NULL;
	for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
		yaml_node_t *k = node(L, p->key), *v = node(L, p->value);
		if (!k || !v)
			return budget(L, n);
		const char *key = scalar(k);
		struct vr_error *err = NULL;
		if (!key) {
			err = at(L, k, "a rule's keys must be strings");
		} else if (!strcmp(key, "id")) {
			const char *s;
			if (r->id)
				err = at(L, k, "duplicate key 'id'");
			else if (!(err = want_scalar(L, v, "id", &s))) {
				if (!id_ok(s))
					err = at(L, v, "id '%s' must be 1-64 letters, digits, '-', '_' or '.'", s);
				else if (!(r->id = vr_strdup(s)))
					err = &vr_error_oom;
			}
		} else if (!strcmp(key, "title")) {
			err = r->title ? at(L, k, "duplicate key 'title'") : dup_template(L, v, "title", &r->title);
		} else if (!strcmp(key, "advice")) {
			err = r->advice ? at(L, k, "duplicate key 'advice'") : dup_template(L, v, "advice", &r->advice);
		} else if (!strcmp(key, "severity")) {
			const char *s;
			if (r->severity)
				err = at(L, k, "duplicate key 'severity'");
			else if (!(err = want_scalar(L, v, "severity", &s))) {
				static const char *const sev[] = {"info", "warning", "error", "critical"};
				for (int i = 0; i < 4; i++)
					if (!strcmp(s, sev[i]))
						r->severity = sev[i];
				if (!r->severity)
					err = at(L, v, "severity '%s' is not one of info, warning, error, critical", s);
			}
		} else if (!strcmp(key, "evidence")) {
			if (r->evidence)
				err = at(L, k, "duplicate key 'evidence'");
			else if (v->type != YAML_SEQUENCE_NODE)
				err = at(L, v, "evidence must be a list of strings");
			else {
				size_t cnt = (size_t)(v->data.sequence.items.top - v->data.sequence.items.start);
				if (cnt > 64)
					err = at(L, v, "more than 64 evidence lines");
				else if (cnt && !(r->evidence = calloc(cnt, sizeof(char *))))
					err = &vr_error_oom;
				for (size_t i = 0; !err && i < cnt; i++) {
					yaml_node_t *e = node(L, v->data.sequence.items.start[i]);
					if (!e) {
						err = budget(L, v);
						break;
					}
					err = dup_template(L, e, "evidence", &r->evidence[i]);
					if (!err)
						r->n_evidence = i + 1;
				}
			}
		} else if (!strcmp(key, "when")) {
			if (when)
				err = at(L, k, "duplicate key 'when'");
			when = v;
		} else {
			err = at(L, k, "unknown key '%s' in a rule (expected id, title, severity, advice, "
				 "evidence, when)", key);
		}
		if (err)
			return err;
	}
	if (!r->id)
		return at(L, n, "a rule needs an id");
	if (!r->title)
		return at(L, n, "rule '%s' needs a title", r->id);
	if (!r->severity)
		return at(L, n, "rule '%s' needs a severity", r->id);
	if (!when)
		return at(L, n, "rule '%s' needs when: conditions", r->id);
	if (asprintf(&r->origin, "%s:%zu", L->name, n->start_mark.line + 1) < 0)
		return &vr_error_oom;
	return parse_condset(L, when, &r->when, 0);
}

static struct vr_error *parse_rules(struct loader *L, const yaml_node_t *n, struct vr_ruleset *out)
{
	if (n->type != YAML_SEQUENCE_NODE)
		return at(L, n, "rules: must be a list of rules, not %s", type_name(n));
	for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top; it++) {
		yaml_node_t *c = node(L, *it);
		if (!c)
			return budget(L, n);
		struct vr_error *err = vr_grow(&out->rules, &out->cap_rules, out->n_rules + 1,
					       sizeof(*out->rules), VR_RULES_MAX_RULES);
		if (err)
			return vr_error_wrap(err, "%s:%zu:%zu: rules", L->name, c->start_mark.line + 1,
					     c->start_mark.column + 1);
		struct rule *r = &out->rules[out->n_rules++];
		*r = (struct rule){0};
		err = parse_rule(L, c, r);
		if (err)
			return err;
		for (size_t i = 0; i + 1 < out->n_rules; i++)
			if (!strcmp(out->rules[i].id, r->id))
				return at(L, c, "rule id '%s' appears twice in this file", r->id);
	}
	return NULL;
}

static struct vr_error *parse_magic(struct loader *L, const yaml_node_t *n, struct vr_ruleset *out)
{
	static const char *const classes[] = {
		"null", "near-null", "err-ptr", "list-poison", "slab-poison", "redzone",
		"page-poison", "non-canonical", "user-address", "bit-flip", "stack-guard",
		"unmapped", "unknown",
	};
	if (n->type != YAML_SEQUENCE_NODE)
		return at(L, n, "magic: must be a list, not %s", type_name(n));
	for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top; it++) {
		yaml_node_t *c = node(L, *it);
		if (!c)
			return budget(L, n);
		if (c->type != YAML_MAPPING_NODE)
			return at(L, c, "a magic entry must be a mapping with name, value, class");
		struct vr_error *err = vr_grow(&out->magic, &out->cap_magic, out->n_magic + 1,
					       sizeof(*out->magic), VR_RULES_MAX_MAGIC);
		if (err)
			return vr_error_wrap(err, "%s:%zu:%zu: magic", L->name, c->start_mark.line + 1,
					     c->start_mark.column + 1);
		struct vr_magic *m = &out->magic[out->n_magic++];
		*m = (struct vr_magic){0};
		bool have_value = false;
		for (yaml_node_pair_t *p = c->data.mapping.pairs.start; p < c->data.mapping.pairs.top; p++) {
			yaml_node_t *k = node(L, p->key), *v = node(L, p->value);
			if (!k || !v)
				return budget(L, c);
			const char *key = scalar(k), *s = NULL;
			if (key && !strcmp(key, "name")) {
				if ((err = want_scalar(L, v, "name", &s)))
					return err;
				free(m->name);
				if (!(m->name = vr_strdup(s)))
					return &vr_error_oom;
			} else if (key && !strcmp(key, "value")) {
				if ((err = parse_u64(L, v, "value", &m->value)))
					return err;
				have_value = true;
			} else if (key && !strcmp(key, "window")) {
				if ((err = parse_u64(L, v, "window", &m->window)))
					return err;
				if (m->window > (1ull << 32))
					return at(L, v, "window is larger than 4 GiB");
			} else if (key && !strcmp(key, "class")) {
				if ((err = want_scalar(L, v, "class", &s)))
					return err;
				bool ok = false;
				for (size_t i = 0; i < sizeof(classes) / sizeof(classes[0]); i++)
					ok |= !strcmp(classes[i], s);
				if (!ok)
					return at(L, v, "class '%s' is not a pointer class", s);
				free(m->class);
				if (!(m->class = vr_strdup(s)))
					return &vr_error_oom;
			} else if (key && !strcmp(key, "meaning")) {
				if ((err = want_scalar(L, v, "meaning", &s)))
					return err;
				free(m->meaning);
				if (!(m->meaning = vr_strdup(s)))
					return &vr_error_oom;
			} else {
				return at(L, k, "unknown key '%s' in a magic entry (expected name, value, "
					  "window, class, meaning)", key ? key : "?");
			}
		}
		if (!m->name || !have_value || !m->class)
			return at(L, c, "a magic entry needs name, value and class");
	}
	return NULL;
}

static struct vr_error *parse_groups(struct loader *L, const yaml_node_t *n, struct vr_ruleset *out)
{
	if (n->type != YAML_MAPPING_NODE)
		return at(L, n, "generic-frames: must map group names to lists of patterns");
	for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
		yaml_node_t *k = node(L, p->key), *v = node(L, p->value);
		if (!k || !v)
			return budget(L, n);
		const char *key;
		struct vr_error *err = want_scalar(L, k, "a group name", &key);
		if (err)
			return err;
		if (!id_ok(key))
			return at(L, k, "group name '%s' must be 1-64 letters, digits, '-', '_' or '.'", key);
		err = vr_grow(&out->groups, &out->cap_groups, out->n_groups + 1, sizeof(*out->groups), 1000);
		if (err)
			return vr_error_wrap(err, "%s:%zu:%zu", L->name, k->start_mark.line + 1,
					     k->start_mark.column + 1);
		struct frame_group *g = &out->groups[out->n_groups++];
		*g = (struct frame_group){.name = vr_strdup(key)};
		if (!g->name)
			return &vr_error_oom;
		if ((err = patterns(L, v, &g->pats, true)))
			return err;
	}
	return NULL;
}

enum { SEC_GROUPS = 1, SEC_MAGIC = 2, SEC_RULES = 4, SEC_ALL = 7 };

static struct vr_error *parse_document(struct loader *L, struct vr_ruleset *out, unsigned sections)
{
	yaml_node_t *root = yaml_document_get_root_node(L->doc);
	if (!root)
		return NULL; /* an empty file holds no rules */
	if (root->type != YAML_MAPPING_NODE)
		return at(L, root, "a rule file must be a mapping with generic-frames:, magic: or rules:");
	unsigned seen = 0;
	for (yaml_node_pair_t *p = root->data.mapping.pairs.start; p < root->data.mapping.pairs.top; p++) {
		yaml_node_t *k = node(L, p->key), *v = node(L, p->value);
		if (!k || !v)
			return budget(L, root);
		const char *key = scalar(k);
		unsigned sec = 0;
		struct vr_error *err = NULL;
		if (key && !strcmp(key, "version")) {
			uint64_t ver;
			if ((err = parse_u64(L, v, "version", &ver)))
				return err;
			if (ver != 1)
				return at(L, v, "unsupported rules version %" PRIu64 " (this vmreport reads 1)", ver);
			continue;
		} else if (key && !strcmp(key, "generic-frames")) {
			sec = SEC_GROUPS;
		} else if (key && !strcmp(key, "magic")) {
			sec = SEC_MAGIC;
		} else if (key && !strcmp(key, "rules")) {
			sec = SEC_RULES;
		} else {
			return at(L, k, "unknown key '%s' (expected version, generic-frames, magic, rules)",
				  key ? key : "?");
		}
		if (seen & sec)
			return at(L, k, "duplicate key '%s'", key);
		seen |= sec;
		if (!(sections & sec))
			continue;
		if (sec == SEC_GROUPS)
			err = parse_groups(L, v, out);
		else if (sec == SEC_MAGIC)
			err = parse_magic(L, v, out);
		else
			err = parse_rules(L, v, out);
		if (err)
			return err;
	}
	return NULL;
}

/* Moves everything of src into dst (src is left empty). Rules replace
 * earlier rules with the same id; groups of the same name are joined. */
static struct vr_error *merge(struct vr_ruleset *dst, struct vr_ruleset *src)
{
	struct vr_error *err;
	for (size_t i = 0; i < src->n_groups; i++) {
		struct frame_group *g = &src->groups[i];
		struct frame_group *d = NULL;
		for (size_t j = 0; j < dst->n_groups; j++)
			if (!strcmp(dst->groups[j].name, g->name))
				d = &dst->groups[j];
		if (!d) {
			if ((err = vr_grow(&dst->groups, &dst->cap_groups, dst->n_groups + 1,
					   sizeof(*dst->groups), 1000)))
				return err;
			dst->groups[dst->n_groups++] = *g;
		} else {
			if ((err = vr_grow(&d->pats.v, &d->pats.cap, d->pats.n + g->pats.n,
					   sizeof(*d->pats.v), VR_RULES_MAX_PATTERNS)))
				return err;
			memcpy(d->pats.v + d->pats.n, g->pats.v, g->pats.n * sizeof(*g->pats.v));
			d->pats.n += g->pats.n;
			free(g->pats.v);
			free(g->name);
		}
		*g = (struct frame_group){0};
	}
	src->n_groups = 0;
	if (src->n_magic) {
		if ((err = vr_grow(&dst->magic, &dst->cap_magic, dst->n_magic + src->n_magic,
				   sizeof(*dst->magic), VR_RULES_MAX_MAGIC)))
			return err;
		memcpy(dst->magic + dst->n_magic, src->magic, src->n_magic * sizeof(*src->magic));
		dst->n_magic += src->n_magic;
		src->n_magic = 0;
	}
	for (size_t i = 0; i < src->n_rules; i++) {
		struct rule *r = &src->rules[i];
		size_t j;
		for (j = 0; j < dst->n_rules; j++)
			if (!strcmp(dst->rules[j].id, r->id))
				break;
		if (j < dst->n_rules) {
			rule_free(&dst->rules[j]);
		} else {
			if ((err = vr_grow(&dst->rules, &dst->cap_rules, dst->n_rules + 1,
					   sizeof(*dst->rules), VR_RULES_MAX_RULES)))
				return err;
			dst->n_rules++;
		}
		dst->rules[j] = *r;
		*r = (struct rule){0};
	}
	src->n_rules = 0;
	return NULL;
}

/* libyaml's scanner looks at every open flow level for each token, so
 * deeply nested [ [ [ ... ] ] ] takes quadratic time: refuse nesting beyond
 * what any rule file needs before libyaml sees it. Brackets in quoted
 * strings count too (balanced ones, as in a regular expression, cancel
 * out), so no quoting can hide nesting from the check; comments are
 * skipped as YAML skips them (a '#' at a line's start or after a blank). */
static struct vr_error *check_nesting(const char *name, const char *text, size_t len)
{
	size_t line = 1, col = 0;
	int depth = 0;
	bool after_blank = true;
	for (size_t i = 0; i < len; i++) {
		char ch = text[i];
		col++;
		if (ch == '\n') {
			line++;
			col = 0;
			after_blank = true;
			continue;
		}
		if (ch == '#' && after_blank) {
			while (i + 1 < len && text[i + 1] != '\n')
				i++;
			continue;
		}
		after_blank = ch == ' ' || ch == '\t';
		if (ch == '[' || ch == '{') {
			if (++depth > VR_RULES_MAX_FLOW_DEPTH)
				return vr_error_create(VR_ERR_FORMAT, "%s:%zu:%zu: brackets nested more than "
						       "%d deep", name, line, col, VR_RULES_MAX_FLOW_DEPTH);
		} else if ((ch == ']' || ch == '}') && depth > 0) {
			depth--;
		}
	}
	return NULL;
}

static struct vr_error *load(struct vr_ruleset *rs, const char *name, const char *text, size_t len,
			     unsigned sections)
{
	if (len > VR_RULES_MAX_FILE)
		return vr_error_create(VR_ERR_LIMIT, "%s: rule file larger than %u bytes", name,
				       VR_RULES_MAX_FILE);
	struct vr_error *nest = check_nesting(name, text, len);
	if (nest)
		return nest;
	yaml_parser_t parser;
	if (!yaml_parser_initialize(&parser))
		return &vr_error_oom;
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	yaml_document_t doc;
	if (!yaml_parser_load(&parser, &doc)) {
		struct vr_error *err;
		if (parser.error == YAML_MEMORY_ERROR)
			err = &vr_error_oom;
		else
			err = vr_error_create(VR_ERR_FORMAT, "%s:%zu:%zu: %s%s%s", name,
					      parser.problem_mark.line + 1, parser.problem_mark.column + 1,
					      parser.problem ? parser.problem : "invalid YAML",
					      parser.context ? " " : "",
					      parser.context ? parser.context : "");
		yaml_parser_delete(&parser);
		return err;
	}
	/* One document per file: a second one would be silently ignored. */
	yaml_document_t extra;
	bool more = false;
	if (yaml_document_get_root_node(&doc)) {
		if (yaml_parser_load(&parser, &extra)) {
			more = yaml_document_get_root_node(&extra) != NULL;
			yaml_document_delete(&extra);
		} else {
			more = true;
		}
	}
	yaml_parser_delete(&parser);

	struct loader L = {.name = name, .doc = &doc};
	struct vr_ruleset tmp = {0};
	struct vr_error *err = NULL;
	if (more)
		err = vr_error_create(VR_ERR_FORMAT, "%s: a rule file holds one YAML document", name);
	if (!err)
		err = parse_document(&L, &tmp, sections);
	yaml_document_delete(&doc);
	if (!err)
		err = merge(rs, &tmp);
	ruleset_clear(&tmp);
	return err;
}

struct vr_error *vr_ruleset_load_buffer(struct vr_ruleset *rs, const char *name, const char *text,
					size_t len)
{
	return load(rs, name, text, len, SEC_ALL);
}

struct vr_error *vr_ruleset_create(bool with_builtin, struct vr_ruleset **ret)
{
	struct vr_ruleset *rs = calloc(1, sizeof(*rs));
	if (!rs)
		return &vr_error_oom;
	for (size_t i = 0; i < vr_n_builtin_rules; i++) {
		const struct vr_builtin_rule *b = &vr_builtin_rules[i];
		struct vr_error *err = load(rs, b->name, b->text, b->len,
					    with_builtin ? SEC_ALL : SEC_GROUPS | SEC_MAGIC);
		if (err) {
			vr_ruleset_destroy(rs);
			return vr_error_wrap(err, "built-in rules");
		}
	}
	*ret = rs;
	return NULL;
}

static void fclosep(FILE **f)
{
	if (*f)
		fclose(*f);
}

struct vr_error *vr_ruleset_load_file(struct vr_ruleset *rs, const char *path)
{
	_cleanup_(fclosep) FILE *f = fopen(path, "rb");
	if (!f)
		return vr_error_create(VR_ERR_IO, "%s: %s", path, strerror(errno));
	_cleanup_free_ char *buf = malloc(VR_RULES_MAX_FILE + 1);
	if (!buf)
		return &vr_error_oom;
	size_t len = fread(buf, 1, VR_RULES_MAX_FILE + 1, f);
	if (ferror(f))
		return vr_error_create(VR_ERR_IO, "%s: read error", path);
	if (len > VR_RULES_MAX_FILE)
		return vr_error_create(VR_ERR_LIMIT, "%s: rule file larger than %u bytes", path,
				       VR_RULES_MAX_FILE);
	return load(rs, path, buf, len, SEC_ALL);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void closedirp(DIR **d)
{
	if (*d)
		closedir(*d);
}

struct vr_error *vr_ruleset_load_dir(struct vr_ruleset *rs, const char *path)
{
	_cleanup_(closedirp) DIR *d = opendir(path);
	if (!d)
		return vr_error_create(VR_ERR_IO, "%s: %s", path, strerror(errno));
	char **names = NULL;
	size_t n = 0, cap = 0;
	struct vr_error *err = NULL;
	struct dirent *e;
	while (!err && (e = readdir(d))) {
		size_t l = strlen(e->d_name);
		if (e->d_name[0] == '.')
			continue;
		if (!((l > 5 && !strcmp(e->d_name + l - 5, ".yaml")) ||
		      (l > 4 && !strcmp(e->d_name + l - 4, ".yml"))))
			continue;
		err = vr_grow(&names, &cap, n + 1, sizeof(*names), VR_RULES_MAX_DIR_FILES);
		if (!err && asprintf(&names[n], "%s/%s", path, e->d_name) < 0)
			err = &vr_error_oom;
		if (!err)
			n++;
	}
	if (!err)
		qsort(names, n, sizeof(*names), cmp_str);
	for (size_t i = 0; !err && i < n; i++)
		err = vr_ruleset_load_file(rs, names[i]);
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	if (err && err->code == VR_ERR_LIMIT && !strstr(err->message, path))
		err = vr_error_wrap(err, "%s", path);
	return err;
}

struct vr_error *vr_ruleset_load_path(struct vr_ruleset *rs, const char *path)
{
	struct stat st;
	if (stat(path, &st) < 0)
		return vr_error_create(VR_ERR_IO, "%s: %s", path, strerror(errno));
	if (S_ISDIR(st.st_mode))
		return vr_ruleset_load_dir(rs, path);
	return vr_ruleset_load_file(rs, path);
}

size_t vr_ruleset_n_rules(const struct vr_ruleset *rs)
{
	return rs ? rs->n_rules : 0;
}

/* ---- queries ---- */

static bool pat_match(const struct pattern *p, const char *s)
{
	if (!s)
		return false;
	if (p->is_regex)
		return regexec(&p->re, s, 0, NULL, 0) == 0;
	return fnmatch(p->text, s, 0) == 0;
}

static bool pats_match(const struct patlist *pl, const char *s)
{
	for (size_t i = 0; i < pl->n; i++)
		if (pat_match(&pl->v[i], s))
			return true;
	return false;
}

const char *vr_ruleset_generic_frame(const struct vr_ruleset *rs, const char *symbol)
{
	if (!rs || !symbol)
		return NULL;
	for (size_t i = 0; i < rs->n_groups; i++)
		if (pats_match(&rs->groups[i].pats, symbol))
			return rs->groups[i].name;
	return NULL;
}

const struct vr_magic *vr_ruleset_magic(const struct vr_ruleset *rs, uint64_t v, int64_t *ret_delta)
{
	const struct vr_magic *best = NULL;
	uint64_t best_dist = 0;
	for (size_t i = 0; rs && i < rs->n_magic; i++) {
		const struct vr_magic *m = &rs->magic[i];
		uint64_t dist = v >= m->value ? v - m->value : m->value - v;
		if (dist > m->window)
			continue;
		if (!best || dist < best_dist) {
			best = m;
			best_dist = dist;
		}
	}
	if (best && ret_delta)
		*ret_delta = (int64_t)(v - best->value);
	return best;
}

int vr_version_compare(const char *a, const char *b)
{
	while (*a || *b) {
		if (isdigit((unsigned char)*a) && isdigit((unsigned char)*b)) {
			while (*a == '0' && isdigit((unsigned char)a[1]))
				a++;
			while (*b == '0' && isdigit((unsigned char)b[1]))
				b++;
			size_t la = strspn(a, "0123456789"), lb = strspn(b, "0123456789");
			if (la != lb)
				return la < lb ? -1 : 1;
			int c = strncmp(a, b, la);
			if (c)
				return c < 0 ? -1 : 1;
			a += la;
			b += lb;
			continue;
		}
		/* A separator against the end: "6.1" equals "6.1.0"'s prefix; the
		 * longer one is greater only when it has a non-zero field. */
		if (!*a || !*b) {
			const char *rest = *a ? a : b;
			bool nonzero = false;
			for (; *rest && (isdigit((unsigned char)*rest) || *rest == '.'); rest++)
				nonzero |= *rest > '0' && *rest <= '9';
			if (!nonzero && (!*rest || *rest == '-' || *rest == '+'))
				return 0;
			return *a ? 1 : -1;
		}
		if (*a != *b)
			return (unsigned char)*a < (unsigned char)*b ? -1 : 1;
		a++;
		b++;
	}
	return 0;
}

/* ---- evaluation ---- */

struct match {
	const struct vr_report *r;
	const char *log_line;        /* borrowed from a scratch buffer below */
	char log_buf[512];
	const char *frame;
	const char *frame_module;
	/* The frames conditions look at. */
	const struct vr_frame *ip;
	const struct vr_frame *frames;
	size_t n_frames;
};

static const char *taint_letters(const struct vr_report *r)
{
	if (r->facts && r->facts->system.taint_letters && r->facts->system.taint_letters[0])
		return r->facts->system.taint_letters;
	return r->crash.taint;
}

static const char *field_value(const struct match *m, int f, char *buf, size_t cap)
{
	const struct vr_report *r = m->r;
	const struct vr_crash *c = &r->crash;
	const struct vr_pointer *p = &r->pointer;
	const struct vr_blame *b = &r->blame;
	const struct vr_hang *h = &r->hang;
	switch (f) {
	case F_CRASH_KIND: return c->kind;
	case F_CRASH_TITLE: return c->title;
	case F_CRASH_COMM: return c->comm;
	case F_CRASH_PID:
		if (c->pid < 0)
			return NULL;
		snprintf(buf, cap, "%d", c->pid);
		return buf;
	case F_CRASH_CPU:
		if (c->cpu < 0)
			return NULL;
		snprintf(buf, cap, "%d", c->cpu);
		return buf;
	case F_CRASH_FAULT:
		if (!c->fault_address_known)
			return NULL;
		snprintf(buf, cap, "0x%016" PRIx64, c->fault_address);
		return buf;
	case F_CRASH_IP:
		if (!c->ip_known)
			return NULL;
		if (c->ip.symbol)
			snprintf(buf, cap, "%s+0x%" PRIx64 "%s%s%s", c->ip.symbol, c->ip.offset,
				 c->ip.module ? " [" : "", c->ip.module ? c->ip.module : "",
				 c->ip.module ? "]" : "");
		else
			snprintf(buf, cap, "0x%016" PRIx64, c->ip.address);
		return buf;
	case F_CRASH_BUG_FILE:
		if (!c->bug_file)
			return NULL;
		if (c->bug_line > 0)
			snprintf(buf, cap, "%s:%d", c->bug_file, c->bug_line);
		else
			snprintf(buf, cap, "%s", c->bug_file);
		return buf;
	case F_PTR_CLASS: return p->class;
	case F_PTR_VALUE:
		if (!p->value_known)
			return NULL;
		snprintf(buf, cap, "0x%016" PRIx64, p->value);
		return buf;
	case F_PTR_REG: return p->reg;
	case F_PTR_OFFSET:
		if (!p->offset_known)
			return NULL;
		snprintf(buf, cap, "%s0x%" PRIx64, p->offset < 0 ? "-" : "",
			 p->offset < 0 ? -(uint64_t)p->offset : (uint64_t)p->offset);
		return buf;
	case F_PTR_MEMBER: return p->member;
	case F_PTR_EXPL: return p->explanation;
	case F_PTR_INSN: return p->instruction;
	case F_BLAME_CULPRIT: return b->culprit;
	case F_BLAME_MODULE: return b->module;
	case F_BLAME_FUNCTION: return b->function;
	case F_BLAME_FILE: return b->file;
	case F_BLAME_LINE:
		if (b->line <= 0)
			return NULL;
		snprintf(buf, cap, "%d", b->line);
		return buf;
	case F_BLAME_CONFIDENCE: return b->confidence;
	case F_SYS_RELEASE: return r->facts ? r->facts->system.release : NULL;
	case F_SYS_TAINT: return taint_letters(r);
	case F_HANG_KIND: return h->kind;
	case F_HANG_CPU:
		if (h->stuck_cpu < 0)
			return NULL;
		snprintf(buf, cap, "%d", h->stuck_cpu);
		return buf;
	case F_HANG_FUNCTION: return h->stuck_function;
	case F_HANG_WAITER:
		if (!h->n_waiters)
			return NULL;
		snprintf(buf, cap, "%s:%d", h->waiters[0].comm ? h->waiters[0].comm : "?",
			 h->waiters[0].pid);
		return buf;
	case F_HANG_OWNER:
		if (!h->n_waiters || h->waiters[0].owner_pid < 0)
			return NULL;
		snprintf(buf, cap, "%s:%d", h->waiters[0].owner_comm ? h->waiters[0].owner_comm : "?",
			 h->waiters[0].owner_pid);
		return buf;
	case F_MATCH_LOG: return m->log_line;
	case F_MATCH_FRAME: return m->frame;
	case F_MATCH_MODULE: return m->frame_module;
	}
	return NULL;
}

static bool frame_match(const struct cond *c, const struct vr_frame *f, struct match *m)
{
	if (c->sym.n && !pats_match(&c->sym, f->symbol))
		return false;
	if (c->mod.n && !pats_match(&c->mod, f->module))
		return false;
	m->frame = f->symbol;
	m->frame_module = f->module;
	return true;
}

static bool log_match(const struct cond *c, struct match *m)
{
	const struct vr_facts *f = m->r->facts;
	if (!f)
		return false;
	size_t lines = 0;
	for (size_t i = 0; i < f->log.n_records; i++) {
		const char *t = f->log.records[i].text;
		while (t && *t) {
			if (++lines > VR_RULES_MAX_LOG_LINES)
				return false;
			const char *nl = strchr(t, '\n');
			size_t len = nl ? (size_t)(nl - t) : strlen(t);
			if (len >= sizeof(m->log_buf))
				len = sizeof(m->log_buf) - 1;
			memcpy(m->log_buf, t, len);
			m->log_buf[len] = '\0';
			if (pats_match(&c->pats, m->log_buf)) {
				m->log_line = m->log_buf;
				return true;
			}
			t = nl ? nl + 1 : NULL;
		}
	}
	return false;
}

static bool release_match(const struct cond *c, const char *rel)
{
	if (!rel)
		return false;
	for (size_t i = 0; i < c->pats.n; i++) {
		const struct pattern *p = &c->pats.v[i];
		if (!p->is_regex && strchr("<>=!", p->text[0])) {
			size_t opl = strspn(p->text, "<>=!");
			const char *ver = p->text + opl;
			while (*ver == ' ')
				ver++;
			int cmp = vr_version_compare(rel, ver);
			bool ok;
			if (!strncmp(p->text, ">=", 2))
				ok = cmp >= 0;
			else if (!strncmp(p->text, "<=", 2))
				ok = cmp <= 0;
			else if (!strncmp(p->text, "!=", 2))
				ok = cmp != 0;
			else if (p->text[0] == '>')
				ok = cmp > 0;
			else if (p->text[0] == '<')
				ok = cmp < 0;
			else
				ok = cmp == 0;
			if (!ok)
				return false;
		} else if (!pat_match(p, rel)) {
			return false;
		}
	}
	return true;
}

static bool loaded_match(const struct cond *c, const struct vr_report *r)
{
	const struct vr_facts *f = r->facts;
	for (size_t i = 0; f && i < f->n_modules; i++)
		if (pats_match(&c->pats, f->modules[i].name))
			return true;
	for (size_t i = 0; i < r->crash.n_modules_linked; i++) {
		/* "vrbug(OE)": the name without its taint flags. */
		char name[128];
		snprintf(name, sizeof(name), "%s", r->crash.modules_linked[i]);
		name[strcspn(name, "( ")] = '\0';
		if (pats_match(&c->pats, name))
			return true;
	}
	return false;
}

static bool condset_match(const struct condset *cs, struct match *m, int depth);

static bool cond_match(const struct cond *c, struct match *m, int depth)
{
	const struct vr_report *r = m->r;
	char buf[64];
	switch (c->kind) {
	case C_KIND: return pats_match(&c->pats, r->crash.kind);
	case C_POINTER: return pats_match(&c->pats, r->pointer.class);
	case C_CULPRIT: return pats_match(&c->pats, r->blame.culprit);
	case C_MODULE: return pats_match(&c->pats, r->blame.module);
	case C_FUNCTION: return pats_match(&c->pats, r->blame.function);
	case C_HANG: return pats_match(&c->pats, r->hang.kind);
	case C_FRAME:
		if (m->ip && frame_match(c, m->ip, m))
			return true;
		for (size_t i = 0; i < m->n_frames; i++)
			if (frame_match(c, &m->frames[i], m))
				return true;
		return false;
	case C_FIRST_FRAME:
		if (m->ip)
			return frame_match(c, m->ip, m);
		return m->n_frames && frame_match(c, &m->frames[0], m);
	case C_TAINT: {
		const char *t = taint_letters(r);
		if (!t)
			return false;
		for (const char *q = c->letters; *q; q++)
			if (!strchr(t, *q))
				return false;
		return true;
	}
	case C_LOG: return log_match(c, m);
	case C_RELEASE: return release_match(c, field_value(m, F_SYS_RELEASE, buf, sizeof(buf)));
	case C_LOADED: return loaded_match(c, r);
	case C_NOT: return !condset_match(&c->sets[0], m, depth + 1);
	case C_ANY:
		for (size_t i = 0; i < c->n_sets; i++)
			if (condset_match(&c->sets[i], m, depth + 1))
				return true;
		return false;
	}
	return false;
}

static bool condset_match(const struct condset *cs, struct match *m, int depth)
{
	if (depth > VR_RULES_MAX_DEPTH)
		return false;
	for (size_t i = 0; i < cs->n; i++)
		if (!cond_match(&cs->v[i], m, depth))
			return false;
	return true;
}

/* Expands "{field}" references; a field without a value reads "unknown". */
static char *render(const char *t, const struct match *m)
{
	if (!t)
		return NULL;
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);
	if (!f)
		return NULL;
	for (const char *p = t; *p; p++) {
		if ((*p == '{' && p[1] == '{') || (*p == '}' && p[1] == '}')) {
			fputc(*p, f);
			p++;
			continue;
		}
		const char *end = *p == '{' ? strchr(p, '}') : NULL;
		if (!end) {
			fputc(*p, f);
			continue;
		}
		int fi = field_lookup(p + 1, (size_t)(end - p - 1));
		char buf[512];
		const char *v = fi >= 0 ? field_value(m, fi, buf, sizeof(buf)) : NULL;
		fputs(v ? v : "unknown", f);
		p = end;
	}
	if (fclose(f) != 0) {
		free(out);
		return NULL;
	}
	return out;
}

static void strv_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

struct vr_error *vr_ruleset_evaluate(const struct vr_ruleset *rs, struct vr_report *r)
{
	if (!rs)
		return NULL;
	struct match m = {.r = r};
	if (r->crash.ip_known)
		m.ip = &r->crash.ip;
	m.frames = r->crash.trace.frames;
	m.n_frames = r->crash.trace.n_frames;
	if (!m.n_frames && r->facts) {
		for (size_t i = 0; i < r->facts->n_cpus; i++) {
			if (r->facts->cpus[i].panic) {
				m.frames = r->facts->cpus[i].trace.frames;
				m.n_frames = r->facts->cpus[i].trace.n_frames;
				break;
			}
		}
	}
	for (size_t i = 0; i < rs->n_rules; i++) {
		const struct rule *rule = &rs->rules[i];
		m.log_line = m.frame = m.frame_module = NULL;
		if (!condset_match(&rule->when, &m, 0))
			continue;
		char *title = render(rule->title, &m);
		char *advice = render(rule->advice, &m);
		char **ev = rule->n_evidence ? calloc(rule->n_evidence, sizeof(char *)) : NULL;
		bool oom = !title || (rule->advice && !advice) || (rule->n_evidence && !ev);
		for (size_t j = 0; !oom && j < rule->n_evidence; j++)
			oom = !(ev[j] = render(rule->evidence[j], &m));
		struct vr_error *err = oom ? &vr_error_oom
					   : vr_report_add_finding(r, rule->id, title, rule->severity,
								   advice, ev, rule->n_evidence);
		free(title);
		free(advice);
		strv_free(ev, ev ? rule->n_evidence : 0);
		if (err)
			return err;
	}
	return NULL;
}
