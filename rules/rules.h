/* The rules language (docs/rules.md): YAML files holding
 *  - generic-frames: named lists of frame patterns that blame skips,
 *  - anchor-frames: named lists of dispatchers, where a stall's search ends,
 *  - blame: which stacks of each kind of report hold the guilty frame,
 *  - magic: poison and marker values that the pointer analyzer recognises,
 *  - rules: conditions on the report that produce findings,
 *  - tamper: what the tamper analyzer knows, and its findings.
 * The built-in files (rules/NAME.yaml) are compiled in by rules/embed.cmake.
 * Loading validates strictly: an unknown key, a wrong type or a bad pattern
 * is an error "FILE:LINE:COLUMN: message". */
#ifndef VR_RULES_H
#define VR_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../engine/error.h"

struct vr_report;
struct vr_ruleset;

/* Creates a rule set. The built-in generic-frames, anchor-frames, blame,
 * magic and tamper sections are always loaded (blame, pointer
 * classification and the tamper analyzer need them); the built-in
 * findings rules only when with_builtin. */
struct vr_error *vr_ruleset_create(bool with_builtin, struct vr_ruleset **ret);
void vr_ruleset_destroy(struct vr_ruleset *rs);

/* Adds one rule file. A rule whose id is already present replaces it. On
 * error nothing of the file is kept. */
struct vr_error *vr_ruleset_load_file(struct vr_ruleset *rs, const char *path);
/* Adds every *.yaml and *.yml file of a directory, in name order. */
struct vr_error *vr_ruleset_load_dir(struct vr_ruleset *rs, const char *path);
/* A file or a directory (what --rules takes). */
struct vr_error *vr_ruleset_load_path(struct vr_ruleset *rs, const char *path);
/* Adds a rule file held in memory; name is used in error messages. */
struct vr_error *vr_ruleset_load_buffer(struct vr_ruleset *rs, const char *name, const char *text,
					size_t len);

size_t vr_ruleset_n_rules(const struct vr_ruleset *rs);

/* The generic-frames group (e.g. "locking") a function name belongs to, or
 * NULL when it is not generic. */
const char *vr_ruleset_generic_frame(const struct vr_ruleset *rs, const char *symbol);

/* The anchor-frames group (e.g. "dispatch") a function name belongs to,
 * or NULL. */
const char *vr_ruleset_anchor_frame(const struct vr_ruleset *rs, const char *symbol);

/* A magic value (poison or marker) from the rules' magic: section. */
struct vr_magic {
	char *name;        /* "LIST_POISON1" */
	uint64_t value;
	uint64_t window;   /* also matches value - window .. value + window */
	char *class;       /* contract pointer.class, e.g. "list-poison" */
	char *meaning;     /* "list_del() writes it to entry->next", may be NULL */
};
/* The magic value that v lies within the window of (the closest one), with
 * *ret_delta = v - value. NULL when none. */
const struct vr_magic *vr_ruleset_magic(const struct vr_ruleset *rs, uint64_t v,
					int64_t *ret_delta);

/* The blame: section: which stacks of a report hold the guilty frame, and
 * how to find it there (docs/rules.md). */
enum vr_blame_pick {
	VR_BLAME_FIRST,     /* the first frame that is not walked past */
	VR_BLAME_OUTERMOST, /* the last one before the first anchor frame (a loop's entry) */
};
enum vr_blame_context {
	VR_BLAME_CRASH,       /* a stack from the frame that raised the report on */
	VR_BLAME_INTERRUPTED, /* the code an interrupt found running (stalls, lockups) */
};
#define VR_BLAME_MAX_SOURCES 8
/* One alternative of a rule's from: list: the sources whose frames are
 * joined, in order ("ip", "call", "stalled", ...; see docs/rules.md). */
struct vr_blame_alt {
	const char *sources[VR_BLAME_MAX_SOURCES];
	size_t n;
};
struct vr_blame_rule {
	const char *id;
	const char *origin;                 /* "FILE:LINE" */
	const struct vr_blame_alt *from;    /* tried in order */
	size_t n_from;
	enum vr_blame_pick pick;
	enum vr_blame_context context;
};
/* The sources a from: list may name. */
extern const char *const vr_blame_sources[];

/* The first blame rule whose when: holds for the report, NULL when none does. */
const struct vr_blame_rule *vr_ruleset_blame_rule(const struct vr_ruleset *rs,
						  const struct vr_report *r);
/* Why blame walks past a frame of function symbol under rule b (b may be
 * NULL: the generic groups alone): "group NAME" or "rule ID", written to buf;
 * NULL when the frame may be guilty. A frame in a module is walked past
 * only by the rule's own skip: patterns, never by a generic group. A name
 * with a compiler suffix (".constprop.0", ".isra.0", ".cold") is tried
 * without it too. */
const char *vr_blame_rule_skips(const struct vr_ruleset *rs, const struct vr_blame_rule *b,
				const char *symbol, bool in_module, char *buf, size_t cap);
/* Whether symbol ends an outermost search (the groups entry and dispatch
 * unless the rule names others, and the rule's anchors). */
bool vr_blame_rule_anchor(const struct vr_ruleset *rs, const struct vr_blame_rule *b,
			  const char *symbol);
/* When symbol is one of the rule's prefer: frames, the name blame gives
 * it (its as:, else symbol); NULL otherwise. *ret_rank is the entry's
 * index (earlier entries win). */
const char *vr_blame_rule_prefer(const struct vr_blame_rule *b, const char *symbol,
				 size_t *ret_rank);

/* The tamper: section (docs/rules.md), what analyzers/tamper.c knows:
 * lists of named groups of patterns, and the finding each check reports.
 * The lists: sensitive-functions, syscall-handlers, idt-entry,
 * idt-vectors, helper-paths, module-area-owners, ebpf-program-types. */
struct vr_tamper_finding {
	char *id;
	char *title;
	const char *severity; /* static */
	char *advice;
};
/* The name of the first group of list whose patterns match s, or NULL. A
 * name with a compiler suffix (".constprop.0", ".isra.0", ".cold") is
 * tried without it too. */
const char *vr_ruleset_tamper_group(const struct vr_ruleset *rs, const char *list, const char *s);
/* Whether s matches group name of list; *ret_known (may be NULL) says
 * whether the list has such a group at all. */
bool vr_ruleset_tamper_in(const struct vr_ruleset *rs, const char *list, const char *name,
			  const char *s, bool *ret_known);
/* The name of the i-th group of list (groups of one name joined), NULL
 * past the last; and its j-th pattern as written, NULL past the last. */
const char *vr_ruleset_tamper_group_name(const struct vr_ruleset *rs, const char *list, size_t i);
const char *vr_ruleset_tamper_pattern(const struct vr_ruleset *rs, const char *list, const char *name,
				      size_t j);
/* The finding a check reports, by id; NULL when no file defines it. */
const struct vr_tamper_finding *vr_ruleset_tamper_finding(const struct vr_ruleset *rs, const char *id);

/* Evaluates every rule against the report and adds a finding for each one
 * that matches. */
struct vr_error *vr_ruleset_evaluate(const struct vr_ruleset *rs, struct vr_report *r);

/* Version comparison used by the `release:` condition ("6.1.0-56" <
 * "6.12"): numeric fields compared as numbers. <0, 0, >0. */
int vr_version_compare(const char *a, const char *b);

#endif
