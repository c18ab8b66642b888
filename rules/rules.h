/* The rules language (docs/rules.md): YAML files holding
 *  - generic-frames: named lists of frame patterns that blame skips,
 *  - magic: poison and marker values that the pointer analyzer recognises,
 *  - rules: conditions on the report that produce findings.
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

/* Creates a rule set. The built-in generic-frames and magic sections are
 * always loaded (blame and pointer classification need them); the built-in
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

/* Evaluates every rule against the report and adds a finding for each one
 * that matches. */
struct vr_error *vr_ruleset_evaluate(const struct vr_ruleset *rs, struct vr_report *r);

/* Version comparison used by the `release:` condition ("6.1.0-56" <
 * "6.12"): numeric fields compared as numbers. <0, 0, >0. */
int vr_version_compare(const char *a, const char *b);

#endif
