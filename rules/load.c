/* The rules loader. See docs/rules.md for the language.
 *
 * Files are read with libyaml's document loader; every node carries its
 * start mark, so every error names FILE:LINE:COLUMN. The schema is walked by
 * hand: each mapping lists the keys it accepts, anything else is an error.
 * A rule file is untrusted input: its size, the nodes visited (aliases can
 * make a small file describe a huge tree) and the number of rules are
 * bounded. */
#define _GNU_SOURCE
#include "rules_internal.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stddef.h>
#include <string.h>
#include <sys/stat.h>
#include <yaml.h>

#include "../engine/error.h"

extern const struct vr_builtin_rule {
	const char *name;
	const char *text;
	size_t len;
} vr_builtin_rules[];
extern const size_t vr_n_builtin_rules;

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

static void blame_rule_free(struct blame_rule *b)
{
	free(b->id);
	free(b->origin);
	free(b->alts);
	condset_free(&b->when);
	patlist_free(&b->skip);
	patlist_free(&b->anchors);
	vr_strv_free(b->keep, b->n_keep);
	vr_strv_free(b->anchor_groups, b->n_anchor_groups);
	for (size_t i = 0; i < b->n_prefer; i++) {
		patlist_free(&b->prefer[i].frames);
		free(b->prefer[i].as);
	}
	free(b->prefer);
	*b = (struct blame_rule){0};
}

static void tamper_finding_free(struct vr_tamper_finding *f)
{
	free(f->id);
	free(f->title);
	free(f->advice);
	*f = (struct vr_tamper_finding){0};
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
	for (size_t i = 0; i < rs->n_blame; i++)
		blame_rule_free(&rs->blame[i]);
	free(rs->blame);
	for (size_t i = 0; i < rs->n_tgroups; i++) {
		free(rs->tgroups[i].name);
		patlist_free(&rs->tgroups[i].pats);
	}
	free(rs->tgroups);
	for (size_t i = 0; i < rs->n_tfindings; i++)
		tamper_finding_free(&rs->tfindings[i]);
	free(rs->tfindings);
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

int vr_rules_field_lookup(const char *name, size_t len)
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
		if (vr_rules_field_lookup(p + 1, (size_t)(end - p - 1)) < 0) {
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
	[C_TITLE] = "title", [C_BUG_FILE] = "bug-file",
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
	case C_TITLE: case C_BUG_FILE: case C_LOADED:
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
				  "function, hang, title, bug-file, frame, first-frame, taint, log, release, "
				  "loaded, not, any)",
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

static struct vr_error *parse_groups(struct loader *L, const yaml_node_t *n, struct vr_ruleset *out,
				     bool anchor)
{
	if (n->type != YAML_MAPPING_NODE)
		return at(L, n, "%s: must map group names to lists of patterns",
			  anchor ? "anchor-frames" : "generic-frames");
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
		for (size_t i = 0; i < out->n_groups; i++)
			if (!strcmp(out->groups[i].name, key) && out->groups[i].anchor != anchor)
				return at(L, k, "group '%s' is both in generic-frames and anchor-frames", key);
		struct frame_group *g = &out->groups[out->n_groups++];
		*g = (struct frame_group){.name = vr_strdup(key), .anchor = anchor};
		if (!g->name)
			return &vr_error_oom;
		if ((err = patterns(L, v, &g->pats, true)))
			return err;
	}
	return NULL;
}


/* ---- blame: ---- */

const char *const vr_blame_sources[] = {
	"ip", "headline", "call", "stalled", "blocked", "holder",
	"alloc", "free", "aux", "origin", "race", "leak", "page-alloc", "page-free",
	"dependency", "acquire", "held", "nmi", "task", "gp-kthread", NULL,
};

static struct vr_error *source_name(struct loader *L, const yaml_node_t *n, const char **ret)
{
	const char *s;
	struct vr_error *err = want_scalar(L, n, "a source", &s);
	if (err)
		return err;
	for (size_t i = 0; vr_blame_sources[i]; i++)
		if (!strcmp(vr_blame_sources[i], s)) {
			*ret = vr_blame_sources[i];
			return NULL;
		}
	return at(L, n, "unknown source '%s' (expected ip, headline, call, stalled, blocked, holder, "
		  "alloc, free, aux, origin, race, leak, page-alloc, page-free, dependency, acquire, "
		  "held, nmi, task, gp-kthread)", s);
}

/* from: [a, [b, c]]: alternatives, each a source or a list of sources. */
static struct vr_error *parse_from(struct loader *L, const yaml_node_t *n, struct blame_rule *b)
{
	if (n->type != YAML_SEQUENCE_NODE)
		return at(L, n, "from: must be a list of sources or lists of sources");
	size_t cnt = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
	if (!cnt || cnt > VR_RULES_MAX_NAMES)
		return at(L, n, "from: needs 1 to %d alternatives", VR_RULES_MAX_NAMES);
	b->alts = calloc(cnt, sizeof(*b->alts));
	if (!b->alts)
		return &vr_error_oom;
	for (size_t i = 0; i < cnt; i++) {
		yaml_node_t *a = node(L, n->data.sequence.items.start[i]);
		if (!a)
			return budget(L, n);
		struct vr_blame_alt *alt = &b->alts[i];
		struct vr_error *err;
		if (a->type == YAML_SEQUENCE_NODE) {
			size_t k = (size_t)(a->data.sequence.items.top - a->data.sequence.items.start);
			if (!k || k > VR_BLAME_MAX_SOURCES)
				return at(L, a, "an alternative joins 1 to %d sources", VR_BLAME_MAX_SOURCES);
			for (size_t j = 0; j < k; j++) {
				yaml_node_t *e = node(L, a->data.sequence.items.start[j]);
				if (!e)
					return budget(L, a);
				if ((err = source_name(L, e, &alt->sources[alt->n++])))
					return err;
			}
		} else if ((err = source_name(L, a, &alt->sources[alt->n++]))) {
			return err;
		}
	}
	b->pub.from = b->alts;
	b->pub.n_from = cnt;
	return NULL;
}

static struct vr_error *name_list(struct loader *L, const yaml_node_t *n, const char *what,
				  char ***ret, size_t *ret_n)
{
	if (n->type != YAML_SEQUENCE_NODE)
		return at(L, n, "%s must be a list of group names", what);
	size_t cnt = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
	if (!cnt || cnt > VR_RULES_MAX_NAMES)
		return at(L, n, "%s needs 1 to %d names", what, VR_RULES_MAX_NAMES);
	char **v = calloc(cnt, sizeof(*v));
	if (!v)
		return &vr_error_oom;
	*ret = v;
	for (size_t i = 0; i < cnt; i++) {
		yaml_node_t *e = node(L, n->data.sequence.items.start[i]);
		const char *s;
		if (!e)
			return budget(L, n);
		struct vr_error *err = want_scalar(L, e, what, &s);
		if (err)
			return err;
		if (!id_ok(s))
			return at(L, e, "group name '%s' must be 1-64 letters, digits, '-', '_' or '.'", s);
		if (!(v[i] = vr_strdup(s)))
			return &vr_error_oom;
		*ret_n = i + 1;
	}
	return NULL;
}

static struct vr_error *parse_prefer(struct loader *L, const yaml_node_t *n, struct blame_rule *b)
{
	if (n->type != YAML_SEQUENCE_NODE)
		return at(L, n, "prefer: must be a list of mappings with frames: (and as:)");
	size_t cnt = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
	if (!cnt || cnt > VR_RULES_MAX_NAMES)
		return at(L, n, "prefer: needs 1 to %d entries", VR_RULES_MAX_NAMES);
	b->prefer = calloc(cnt, sizeof(*b->prefer));
	if (!b->prefer)
		return &vr_error_oom;
	for (size_t i = 0; i < cnt; i++) {
		yaml_node_t *e = node(L, n->data.sequence.items.start[i]);
		if (!e)
			return budget(L, n);
		if (e->type != YAML_MAPPING_NODE)
			return at(L, e, "a prefer: entry must be a mapping with frames: (and as:)");
		struct blame_prefer *pr = &b->prefer[i];
		b->n_prefer = i + 1;
		for (yaml_node_pair_t *p = e->data.mapping.pairs.start; p < e->data.mapping.pairs.top; p++) {
			yaml_node_t *k = node(L, p->key), *v = node(L, p->value);
			if (!k || !v)
				return budget(L, e);
			const char *key = scalar(k), *str;
			struct vr_error *err;
			if (key && !strcmp(key, "frames"))
				err = pr->frames.n ? at(L, k, "duplicate key 'frames'")
						   : patterns(L, v, &pr->frames, true);
			else if (key && !strcmp(key, "as")) {
				if (pr->as)
					err = at(L, k, "duplicate key 'as'");
				else if (!(err = want_scalar(L, v, "as", &str)) && !(pr->as = vr_strdup(str)))
					err = &vr_error_oom;
			} else
				err = at(L, k, "unknown key '%s' in a prefer: entry (expected frames, as)",
					 key ? key : "?");
			if (err)
				return err;
		}
		if (!pr->frames.n)
			return at(L, e, "a prefer: entry needs frames:");
	}
	return NULL;
}

static struct vr_error *parse_blame_rule(struct loader *L, const yaml_node_t *n, struct blame_rule *b)
{
	if (n->type != YAML_MAPPING_NODE)
		return at(L, n, "a blame rule must be a mapping, not %s", type_name(n));
	const yaml_node_t *when = NULL;
	for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
		yaml_node_t *k = node(L, p->key), *v = node(L, p->value);
		if (!k || !v)
			return budget(L, n);
		const char *key = scalar(k), *s;
		struct vr_error *err = NULL;
		if (!key) {
			err = at(L, k, "a blame rule's keys must be strings");
		} else if (!strcmp(key, "id")) {
			if (b->id)
				err = at(L, k, "duplicate key 'id'");
			else if (!(err = want_scalar(L, v, "id", &s))) {
				if (!id_ok(s))
					err = at(L, v, "id '%s' must be 1-64 letters, digits, '-', '_' or '.'", s);
				else if (!(b->id = vr_strdup(s)))
					err = &vr_error_oom;
			}
		} else if (!strcmp(key, "when")) {
			if (when)
				err = at(L, k, "duplicate key 'when'");
			when = v;
		} else if (!strcmp(key, "from")) {
			err = b->alts ? at(L, k, "duplicate key 'from'") : parse_from(L, v, b);
		} else if (!strcmp(key, "pick")) {
			if (!(err = want_scalar(L, v, "pick", &s))) {
				if (!strcmp(s, "first"))
					b->pub.pick = VR_BLAME_FIRST;
				else if (!strcmp(s, "outermost"))
					b->pub.pick = VR_BLAME_OUTERMOST;
				else
					err = at(L, v, "pick '%s' is not first or outermost", s);
			}
		} else if (!strcmp(key, "context")) {
			if (!(err = want_scalar(L, v, "context", &s))) {
				if (!strcmp(s, "crash"))
					b->pub.context = VR_BLAME_CRASH;
				else if (!strcmp(s, "interrupted"))
					b->pub.context = VR_BLAME_INTERRUPTED;
				else
					err = at(L, v, "context '%s' is not crash or interrupted", s);
			}
		} else if (!strcmp(key, "skip")) {
			err = b->skip.n ? at(L, k, "duplicate key 'skip'") : patterns(L, v, &b->skip, true);
		} else if (!strcmp(key, "anchors")) {
			err = b->anchors.n ? at(L, k, "duplicate key 'anchors'") : patterns(L, v, &b->anchors, true);
		} else if (!strcmp(key, "keep-groups")) {
			err = b->keep ? at(L, k, "duplicate key 'keep-groups'")
				      : name_list(L, v, "keep-groups", &b->keep, &b->n_keep);
		} else if (!strcmp(key, "anchor-groups")) {
			err = b->anchor_groups ? at(L, k, "duplicate key 'anchor-groups'")
					       : name_list(L, v, "anchor-groups", &b->anchor_groups,
							   &b->n_anchor_groups);
		} else if (!strcmp(key, "prefer")) {
			err = b->prefer ? at(L, k, "duplicate key 'prefer'") : parse_prefer(L, v, b);
		} else {
			err = at(L, k, "unknown key '%s' in a blame rule (expected id, when, from, pick, "
				 "context, skip, anchors, keep-groups, anchor-groups, prefer)", key);
		}
		if (err)
			return err;
	}
	if (!b->id)
		return at(L, n, "a blame rule needs an id");
	if (!b->alts)
		return at(L, n, "blame rule '%s' needs from:", b->id);
	if (asprintf(&b->origin, "%s:%zu", L->name, n->start_mark.line + 1) < 0)
		return &vr_error_oom;
	b->pub.id = b->id;
	b->pub.origin = b->origin;
	return when ? parse_condset(L, when, &b->when, 0) : NULL;
}

static struct vr_error *parse_blame(struct loader *L, const yaml_node_t *n, struct vr_ruleset *out)
{
	if (n->type != YAML_SEQUENCE_NODE)
		return at(L, n, "blame: must be a list of blame rules, not %s", type_name(n));
	for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top; it++) {
		yaml_node_t *c = node(L, *it);
		if (!c)
			return budget(L, n);
		struct vr_error *err = vr_grow(&out->blame, &out->cap_blame, out->n_blame + 1,
					       sizeof(*out->blame), VR_RULES_MAX_BLAME);
		if (err)
			return vr_error_wrap(err, "%s:%zu:%zu: blame", L->name, c->start_mark.line + 1,
					     c->start_mark.column + 1);
		struct blame_rule *b = &out->blame[out->n_blame++];
		*b = (struct blame_rule){0};
		if ((err = parse_blame_rule(L, c, b)))
			return err;
		for (size_t i = 0; i + 1 < out->n_blame; i++)
			if (!strcmp(out->blame[i].id, b->id))
				return at(L, c, "blame rule id '%s' appears twice in this file", b->id);
	}
	return NULL;
}

/* ---- tamper: ---- */

const char *const vr_tamper_lists[] = {
	"sensitive-functions", "syscall-handlers", "idt-entry", "idt-vectors", "helper-paths",
	"module-area-owners", "ebpf-program-types", NULL,
};

static struct vr_error *parse_tamper_finding(struct loader *L, const yaml_node_t *n,
					     struct vr_tamper_finding *f)
{
	if (n->type != YAML_MAPPING_NODE)
		return at(L, n, "a tamper finding must be a mapping with id, title, severity, advice");
	for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
		yaml_node_t *k = node(L, p->key), *v = node(L, p->value);
		if (!k || !v)
			return budget(L, n);
		const char *key = scalar(k), *str = NULL;
		struct vr_error *err = NULL;
		char **dst = NULL;
		if (!key)
			err = at(L, k, "a tamper finding's keys must be strings");
		else if (!strcmp(key, "id"))
			dst = &f->id;
		else if (!strcmp(key, "title"))
			dst = &f->title;
		else if (!strcmp(key, "advice"))
			dst = &f->advice;
		else if (!strcmp(key, "severity")) {
			static const char *const sev[] = {"info", "warning", "error", "critical"};
			if (f->severity)
				err = at(L, k, "duplicate key 'severity'");
			else if (!(err = want_scalar(L, v, "severity", &str))) {
				for (int i = 0; i < 4; i++)
					if (!strcmp(str, sev[i]))
						f->severity = sev[i];
				if (!f->severity)
					err = at(L, v, "severity '%s' is not one of info, warning, error, critical", str);
			}
		} else
			err = at(L, k, "unknown key '%s' in a tamper finding (expected id, title, severity, advice)",
				 key);
		if (!err && dst) {
			if (*dst)
				err = at(L, k, "duplicate key '%s'", key);
			else if (!(err = want_scalar(L, v, key, &str))) {
				if (dst == &f->id && !id_ok(str))
					err = at(L, v, "id '%s' must be 1-64 letters, digits, '-', '_' or '.'", str);
				else if (!(*dst = vr_strdup(str)))
					err = &vr_error_oom;
			}
		}
		if (err)
			return err;
	}
	if (!f->id)
		return at(L, n, "a tamper finding needs an id");
	if (!f->title || !f->severity)
		return at(L, n, "tamper finding '%s' needs a title and a severity", f->id);
	return NULL;
}

static struct vr_error *parse_tamper(struct loader *L, const yaml_node_t *n, struct vr_ruleset *out)
{
	if (n->type != YAML_MAPPING_NODE)
		return at(L, n, "tamper: must be a mapping of lists and findings:");
	for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
		yaml_node_t *k = node(L, p->key), *v = node(L, p->value);
		if (!k || !v)
			return budget(L, n);
		const char *key = scalar(k), *list = NULL;
		for (size_t i = 0; key && vr_tamper_lists[i]; i++)
			if (!strcmp(key, vr_tamper_lists[i]))
				list = vr_tamper_lists[i];
		struct vr_error *err;
		if (key && !strcmp(key, "findings")) {
			if (v->type != YAML_SEQUENCE_NODE)
				return at(L, v, "tamper: findings: must be a list, not %s", type_name(v));
			for (yaml_node_item_t *it = v->data.sequence.items.start; it < v->data.sequence.items.top; it++) {
				yaml_node_t *c = node(L, *it);
				if (!c)
					return budget(L, v);
				if ((err = vr_grow(&out->tfindings, &out->cap_tfindings, out->n_tfindings + 1,
						   sizeof(*out->tfindings), VR_RULES_MAX_TAMPER)))
					return vr_error_wrap(err, "%s:%zu:%zu", L->name, c->start_mark.line + 1,
							     c->start_mark.column + 1);
				struct vr_tamper_finding *f = &out->tfindings[out->n_tfindings++];
				*f = (struct vr_tamper_finding){0};
				if ((err = parse_tamper_finding(L, c, f)))
					return err;
				for (size_t i = 0; i + 1 < out->n_tfindings; i++)
					if (!strcmp(out->tfindings[i].id, f->id))
						return at(L, c, "tamper finding id '%s' appears twice in this file", f->id);
			}
			continue;
		}
		if (!list)
			return at(L, k, "unknown key '%s' in tamper: (expected sensitive-functions, syscall-handlers, "
				  "idt-entry, idt-vectors, helper-paths, module-area-owners, ebpf-program-types, "
				  "findings)", key ? key : "?");
		if (v->type != YAML_MAPPING_NODE)
			return at(L, v, "tamper: %s: must map group names to lists of patterns", list);
		for (yaml_node_pair_t *q = v->data.mapping.pairs.start; q < v->data.mapping.pairs.top; q++) {
			yaml_node_t *gk = node(L, q->key), *gv = node(L, q->value);
			if (!gk || !gv)
				return budget(L, v);
			const char *name;
			if ((err = want_scalar(L, gk, "a group name", &name)))
				return err;
			if (!id_ok(name))
				return at(L, gk, "group name '%s' must be 1-64 letters, digits, '-', '_' or '.'", name);
			for (size_t i = 0; i < out->n_tgroups; i++)
				if (out->tgroups[i].list == list && !strcmp(out->tgroups[i].name, name))
					return at(L, gk, "group '%s' appears twice in tamper: %s:", name, list);
			if ((err = vr_grow(&out->tgroups, &out->cap_tgroups, out->n_tgroups + 1,
					   sizeof(*out->tgroups), VR_RULES_MAX_TAMPER)))
				return vr_error_wrap(err, "%s:%zu:%zu", L->name, gk->start_mark.line + 1,
						     gk->start_mark.column + 1);
			struct tamper_group *g = &out->tgroups[out->n_tgroups++];
			*g = (struct tamper_group){.list = list, .name = vr_strdup(name)};
			if (!g->name)
				return &vr_error_oom;
			if ((err = patterns(L, gv, &g->pats, true)))
				return err;
		}
	}
	return NULL;
}

enum { SEC_GROUPS = 1, SEC_MAGIC = 2, SEC_RULES = 4, SEC_BLAME = 8, SEC_ANCHORS = 16, SEC_TAMPER = 32,
       SEC_ALL = 63 };

static struct vr_error *parse_document(struct loader *L, struct vr_ruleset *out, unsigned sections)
{
	yaml_node_t *root = yaml_document_get_root_node(L->doc);
	if (!root)
		return NULL; /* an empty file holds no rules */
	if (root->type != YAML_MAPPING_NODE)
		return at(L, root, "a rule file must be a mapping with generic-frames:, blame:, magic:, "
			  "rules: or tamper:");
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
		} else if (key && !strcmp(key, "anchor-frames")) {
			sec = SEC_ANCHORS;
		} else if (key && !strcmp(key, "magic")) {
			sec = SEC_MAGIC;
		} else if (key && !strcmp(key, "rules")) {
			sec = SEC_RULES;
		} else if (key && !strcmp(key, "blame")) {
			sec = SEC_BLAME;
		} else if (key && !strcmp(key, "tamper")) {
			sec = SEC_TAMPER;
		} else {
			return at(L, k, "unknown key '%s' (expected version, generic-frames, anchor-frames, "
				  "blame, magic, rules, tamper)", key ? key : "?");
		}
		if (seen & sec)
			return at(L, k, "duplicate key '%s'", key);
		seen |= sec;
		if (!(sections & sec))
			continue;
		if (sec == SEC_GROUPS || sec == SEC_ANCHORS)
			err = parse_groups(L, v, out, sec == SEC_ANCHORS);
		else if (sec == SEC_MAGIC)
			err = parse_magic(L, v, out);
		else if (sec == SEC_BLAME)
			err = parse_blame(L, v, out);
		else if (sec == SEC_TAMPER)
			err = parse_tamper(L, v, out);
		else
			err = parse_rules(L, v, out);
		if (err)
			return err;
	}
	return NULL;
}

/* Moves everything of src into dst (src is left empty). Rules replace
 * earlier rules with the same id; groups of the same name are joined. */
static void rule_free_any(void *r)
{
	rule_free(r);
}

static void tamper_finding_free_any(void *f)
{
	tamper_finding_free(f);
}

/* Moves src's patterns to the end of d's. */
static struct vr_error *patlist_join(struct patlist *d, struct patlist *src)
{
	struct vr_error *err = vr_grow(&d->v, &d->cap, d->n + src->n, sizeof(*d->v), VR_RULES_MAX_PATTERNS);
	if (err)
		return err;
	memcpy(d->v + d->n, src->v, src->n * sizeof(*src->v));
	d->n += src->n;
	free(src->v);
	*src = (struct patlist){0};
	return NULL;
}

/* Moves src's n_src elements of size bytes (each with a char *id at
 * id_off) into *dst: one whose id dst holds replaces it in place (the old
 * one freed by free_one), the others are appended. */
static struct vr_error *merge_by_id(void **dst, size_t *n_dst, size_t *cap_dst, void *src, size_t *n_src,
				   size_t size, size_t id_off, size_t max, void (*free_one)(void *))
{
	for (size_t i = 0; i < *n_src; i++) {
		char *e = (char *)src + i * size;
		const char *id = *(char **)(e + id_off);
		size_t j;
		for (j = 0; j < *n_dst; j++)
			if (!strcmp(*(char **)((char *)*dst + j * size + id_off), id))
				break;
		if (j < *n_dst) {
			free_one((char *)*dst + j * size);
		} else {
			struct vr_error *err = vr_grow(dst, cap_dst, *n_dst + 1, size, max);
			if (err)
				return err;
			(*n_dst)++;
		}
		memcpy((char *)*dst + j * size, e, size);
		memset(e, 0, size);
	}
	*n_src = 0;
	return NULL;
}

static struct vr_error *merge(struct vr_ruleset *dst, struct vr_ruleset *src)
{
	struct vr_error *err;
	for (size_t i = 0; i < src->n_groups; i++) {
		struct frame_group *g = &src->groups[i];
		struct frame_group *d = NULL;
		for (size_t j = 0; j < dst->n_groups; j++)
			if (!strcmp(dst->groups[j].name, g->name))
				d = &dst->groups[j];
		if (d && d->anchor != g->anchor)
			return vr_error_create(VR_ERR_FORMAT, "group '%s' is both in generic-frames and "
					       "anchor-frames", g->name);
		if (!d) {
			if ((err = vr_grow(&dst->groups, &dst->cap_groups, dst->n_groups + 1,
					   sizeof(*dst->groups), 1000)))
				return err;
			dst->groups[dst->n_groups++] = *g;
		} else {
			if ((err = patlist_join(&d->pats, &g->pats)))
				return err;
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
	if ((err = merge_by_id((void **)&dst->rules, &dst->n_rules, &dst->cap_rules, src->rules, &src->n_rules,
			       sizeof(*src->rules), offsetof(struct rule, id), VR_RULES_MAX_RULES,
			       rule_free_any)))
		return err;
	/* Blame rules: one with a known id replaces it in place; new ones go
	 * before all earlier ones (in their file's order), so that a user's
	 * rules are consulted before the built-in ones. */
	size_t fresh = 0;
	for (size_t i = 0; i < src->n_blame; i++) {
		struct blame_rule *b = &src->blame[i];
		size_t j;
		for (j = 0; j < dst->n_blame; j++)
			if (!strcmp(dst->blame[j].id, b->id))
				break;
		if (j < dst->n_blame) {
			blame_rule_free(&dst->blame[j]);
			dst->blame[j] = *b;
			*b = (struct blame_rule){0};
			continue;
		}
		src->blame[fresh++] = *b;
		if (fresh - 1 != i)
			*b = (struct blame_rule){0};
	}
	if (fresh) {
		if ((err = vr_grow(&dst->blame, &dst->cap_blame, dst->n_blame + fresh,
				   sizeof(*dst->blame), VR_RULES_MAX_BLAME)))
			return err;
		memmove(dst->blame + fresh, dst->blame, dst->n_blame * sizeof(*dst->blame));
		memcpy(dst->blame, src->blame, fresh * sizeof(*src->blame));
		dst->n_blame += fresh;
		for (size_t i = 0; i < fresh; i++)
			src->blame[i] = (struct blame_rule){0};
	}
	src->n_blame = 0;
	/* tamper: groups of one list and name are joined; findings replace
	 * those of the same id. */
	for (size_t i = 0; i < src->n_tgroups; i++) {
		struct tamper_group *g = &src->tgroups[i], *d = NULL;
		for (size_t j = 0; j < dst->n_tgroups && !d; j++)
			if (dst->tgroups[j].list == g->list && !strcmp(dst->tgroups[j].name, g->name))
				d = &dst->tgroups[j];
		if (!d) {
			if ((err = vr_grow(&dst->tgroups, &dst->cap_tgroups, dst->n_tgroups + 1,
					   sizeof(*dst->tgroups), VR_RULES_MAX_TAMPER)))
				return err;
			dst->tgroups[dst->n_tgroups++] = *g;
		} else {
			if ((err = patlist_join(&d->pats, &g->pats)))
				return err;
			free(g->name);
		}
		*g = (struct tamper_group){0};
	}
	src->n_tgroups = 0;
	return merge_by_id((void **)&dst->tfindings, &dst->n_tfindings, &dst->cap_tfindings, src->tfindings,
			   &src->n_tfindings, sizeof(*src->tfindings), offsetof(struct vr_tamper_finding, id),
			   VR_RULES_MAX_TAMPER, tamper_finding_free_any);
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
					    with_builtin ? SEC_ALL
							 : SEC_GROUPS | SEC_ANCHORS | SEC_MAGIC | SEC_BLAME | SEC_TAMPER);
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

