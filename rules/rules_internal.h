/* Private to the rules library: the loaded form of rule files (load.c
 * builds it from YAML, eval.c answers questions with it). */
#ifndef VR_RULES_INTERNAL_H
#define VR_RULES_INTERNAL_H

#include <regex.h>
#include <stdbool.h>
#include <stddef.h>

#include "rules.h"

#define VR_RULES_MAX_FILE (4u << 20)     /* bytes of one rule file */
#define VR_RULES_MAX_NODES 200000        /* nodes visited while loading one file */
#define VR_RULES_MAX_RULES 10000
#define VR_RULES_MAX_PATTERNS 100000
#define VR_RULES_MAX_MAGIC 10000
#define VR_RULES_MAX_DEPTH 16            /* nesting of any:/not: */
#define VR_RULES_MAX_FLOW_DEPTH 64       /* [ and { nesting (see check_nesting) */
#define VR_RULES_MAX_DIR_FILES 1000
#define VR_RULES_MAX_LOG_LINES 200000    /* log lines a `log:` condition scans */
#define VR_RULES_MAX_BLAME 1000          /* blame: rules */
#define VR_RULES_MAX_NAMES 64            /* group names or prefer: entries of one blame rule */
#define VR_RULES_MAX_TAMPER 10000        /* tamper: groups, and tamper: findings */

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
	C_KIND, C_POINTER, C_CULPRIT, C_MODULE, C_FUNCTION, C_HANG, C_TITLE, C_BUG_FILE,
	/* the above match one field's patterns */
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
	bool anchor;               /* an anchor-frames: group, not generic */
};

/* blame: rules. pub comes first so a struct vr_blame_rule * is one. */
struct blame_prefer {
	struct patlist frames;
	char *as;                  /* NULL: the frame's own name */
};

struct blame_rule {
	struct vr_blame_rule pub;
	char *id, *origin;
	struct vr_blame_alt *alts;
	struct condset when;
	struct patlist skip;       /* frames this rule walks past besides the generic ones */
	struct patlist anchors;    /* frames that end an outermost search besides the groups */
	char **keep;               /* generic groups this rule does not walk past */
	size_t n_keep;
	char **anchor_groups;      /* generic groups whose frames end an outermost search */
	size_t n_anchor_groups;
	struct blame_prefer *prefer;
	size_t n_prefer;
};

/* tamper: one named group of patterns of one of its lists
 * (sensitive-functions, idt-vectors, ...). */
struct tamper_group {
	const char *list;          /* static: one of tamper_lists[] (load.c) */
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
	struct blame_rule *blame;  /* consulted in order: later files' new rules first */
	size_t n_blame, cap_blame;
	struct tamper_group *tgroups;
	size_t n_tgroups, cap_tgroups;
	struct vr_tamper_finding *tfindings;
	size_t n_tfindings, cap_tfindings;
};

/* Template fields ("{crash.kind}"). */
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

/* The lists of the tamper: section, NULL-terminated (load.c). */
extern const char *const vr_tamper_lists[];

/* The field a "{name}" reference names, -1 for none. */
int vr_rules_field_lookup(const char *name, size_t len);

#endif
