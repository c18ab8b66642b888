/* Unit tests of rules/rules.c: the built-in files load, the loader's
 * errors name FILE:LINE:COLUMN, and conditions match as documented. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "report/model.h"
#include "rules/rules.h"

#include "check.h"

/* Loads text; returns the error message (caller frees) or NULL. */
static char *load_err(const char *text)
{
	struct vr_ruleset *rs = NULL;
	struct vr_error *err = vr_ruleset_create(false, &rs);
	if (err) {
		char *m = strdup(err->message);
		vr_error_destroy(err);
		return m;
	}
	err = vr_ruleset_load_buffer(rs, "t.yaml", text, strlen(text));
	char *m = err ? strdup(err->message) : NULL;
	vr_error_destroy(err);
	vr_ruleset_destroy(rs);
	return m;
}

static void expect_err(const char *text, const char *prefix, const char *word)
{
	char *m = load_err(text);
	CHECK(m && !strncmp(m, prefix, strlen(prefix)) && (!word || strstr(m, word)),
	      "expected '%s...%s', got '%s'", prefix, word ? word : "", m ? m : "(no error)");
	free(m);
}

static void test_errors(void)
{
	expect_err("rules:\n  - id: a\n    title: t\n    severity: error\n    when: {kind: bug}\n    colour: red\n",
		   "t.yaml:6:5: ", "unknown key 'colour'");
	expect_err("rules:\n  - id: a\n    title: t\n    severity: fatal\n    when: {kind: bug}\n",
		   "t.yaml:4:15: ", "severity 'fatal'");
	expect_err("rules:\n  - id: a\n    title: t\n    severity: info\n    when:\n      log: \"(unclosed\"\n",
		   "t.yaml:6:12: ", "regular expression");
	expect_err("rules:\n  - id: a\n    title: \"{blame.nothing}\"\n    severity: info\n    when: {kind: bug}\n",
		   "t.yaml:3:12: ", "unknown template field '{blame.nothing}'");
	expect_err("rules:\n  - id: a\n    title: t\n    severity: info\n    when: {colour: red}\n",
		   "t.yaml:5:12: ", "unknown condition 'colour'");
	expect_err("rules:\n  - id: a\n    title: t\n    severity: info\n    when: {kind: bug}\n"
		   "  - id: a\n    title: t\n    severity: info\n    when: {kind: bug}\n",
		   "t.yaml:6:5: ", "appears twice");
	expect_err("rules:\n  - title: t\n    severity: info\n    when: {kind: bug}\n", "t.yaml:2:5: ", "needs an id");
	expect_err("rules:\n  - id: a\n    title: t\n    severity: info\n", "t.yaml:2:5: ", "needs when");
	expect_err("rules: {a: 1}\n", "t.yaml:1:8: ", "must be a list");
	expect_err("colour: 1\n", "t.yaml:1:1: ", "unknown key 'colour'");
	expect_err("- 1\n", "t.yaml:1:1: ", "must be a mapping");
	expect_err("rules: [\n", "t.yaml:", NULL);
	expect_err("magic:\n  - name: X\n    value: -1\n    class: null\n", "t.yaml:3:12: ", "non-negative");
	expect_err("magic:\n  - name: X\n    value: 1\n    class: bogus\n", "t.yaml:4:12: ", "not a pointer class");
	expect_err("magic:\n  - name: X\n    class: redzone\n", "t.yaml:2:5: ", "needs name, value and class");
	expect_err("rules:\n  - id: a\n    title: t\n    severity: info\n    when: {taint: oe}\n",
		   "t.yaml:5:19: ", "upper-case");
	expect_err("rules:\n  - id: a\n    title: t\n    severity: info\n    when: {release: '>> 6'}\n",
		   "t.yaml:5:21: ", "bad release comparison");
	expect_err("rules:\n  - id: a\n    title: t\n    severity: info\n    when: {frame: {name: x}}\n",
		   "t.yaml:5:20: ", "unknown key 'name'");
	expect_err("rules:\n  - id: a\n    title: t\n    severity: info\n    when: {kind: bug}\n---\nrules: []\n",
		   "t.yaml: ", "one YAML document");
	expect_err("version: 2\n", "t.yaml:1:10: ", "unsupported");
	/* Deep flow nesting is refused before libyaml spends quadratic time. */
	char deep[256] = "rules: ";
	memset(deep + 7, '[', 100);
	deep[107] = '\0';
	expect_err(deep, "t.yaml:1:72: ", "nested more than 64");
	CHECK(!load_err("# [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\n"),
	      "brackets in comments are not nesting");
	expect_err("generic-frames:\n  g: []\n", "t.yaml:2:6: ", "empty list");
	/* An alias bomb stays within the node budget. */
	char *bomb = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&bomb, &len);
	fputs("a: &a [x, x, x, x, x, x, x, x, x, x]\n", f);
	for (int i = 0; i < 8; i++) {
		char prev[8];
		snprintf(prev, sizeof(prev), i ? "b%d" : "a", i - 1);
		fprintf(f, "b%d: &b%d [", i, i);
		for (int j = 0; j < 10; j++)
			fprintf(f, "%s*%s", j ? ", " : "", prev);
		fputs("]\n", f);
	}
	/* The bomb sits where patterns are expected, so the loader walks it. */
	fputs("generic-frames:\n  g: *b7\n", f);
	fclose(f);
	char *m = load_err(bomb);
	CHECK(m != NULL, "bomb refused");
	free(m);
	free(bomb);
	CHECK(!load_err(""), "empty file is fine");
	CHECK(!load_err("# only a comment\n"), "comment file is fine");
}

static void test_builtin(void)
{
	struct vr_ruleset *rs = NULL;
	struct vr_error *err = vr_ruleset_create(true, &rs);
	CHECK(!err, "builtin: %s", err ? err->message : "");
	if (err) {
		vr_error_destroy(err);
		return;
	}
	CHECK(vr_ruleset_n_rules(rs) >= 15, "n rules %zu", vr_ruleset_n_rules(rs));
	const char *g = vr_ruleset_generic_frame(rs, "_raw_spin_lock_irqsave");
	CHECK(g && !strcmp(g, "locking"), "locking group: %s", g ? g : "NULL");
	g = vr_ruleset_generic_frame(rs, "__list_del_entry_valid");
	CHECK(g && !strcmp(g, "lists"), "lists group: %s", g ? g : "NULL");
	CHECK(!vr_ruleset_generic_frame(rs, "vrbug_null_deref"), "module function not generic");
	int64_t d = 0;
	const struct vr_magic *m = vr_ruleset_magic(rs, 0xdead000000000108ull, &d);
	CHECK(m && !strcmp(m->name, "LIST_POISON1") && d == 8, "LIST_POISON1+8");
	m = vr_ruleset_magic(rs, 0xdead000000000122ull, &d);
	CHECK(m && !strcmp(m->name, "LIST_POISON2") && d == 0, "LIST_POISON2");
	m = vr_ruleset_magic(rs, 0x6b6b6b6b6b6b6b6bull - 0x10, &d);
	CHECK(m && !strcmp(m->class, "slab-poison") && d == -0x10, "POISON_FREE-0x10");
	CHECK(!vr_ruleset_magic(rs, 0xffff888012345678ull, &d), "no magic");
	vr_ruleset_destroy(rs);

	CHECK(!vr_ruleset_create(false, &rs), "without builtin");
	CHECK(vr_ruleset_n_rules(rs) == 0, "no builtin rules");
	CHECK(vr_ruleset_generic_frame(rs, "panic") != NULL, "frames still there");
	vr_ruleset_destroy(rs);
}

static void fill_report(struct vr_report *r, struct vr_facts *f, struct vr_diag *d)
{
	memset(f, 0, sizeof(*f));
	memset(d, 0, sizeof(*d));
	vr_report_init(r, NULL, f, d);
	f->system.release = strdup("6.1.0-56-cloud-amd64");
	f->system.taint_letters = strdup("OE");
	f->log.records = calloc(2, sizeof(*f->log.records));
	f->log.records[0].text = strdup("vrbug: loaded; write a bug path to /proc/vrbug");
	f->log.records[1].text = strdup("BUG: kernel NULL pointer dereference, address: 0000000000000010\nsecond line");
	f->log.n_records = 2;
	r->crash.kind = "null-deref";
	r->crash.title = strdup("BUG: kernel NULL pointer dereference, address: 0000000000000010");
	r->crash.ip_known = true;
	r->crash.ip.symbol = strdup("vrbug_null_deref");
	r->crash.ip.module = strdup("vrbug");
	r->crash.ip.offset = 0x15;
	r->pointer.class = "null";
	r->pointer.offset_known = true;
	r->pointer.offset = 0x10;
	r->blame.culprit = "module";
	r->blame.module = strdup("vrbug");
	r->blame.function = strdup("vrbug_null_deref");
}

static const struct vr_finding *finding(const struct vr_report *r, const char *id)
{
	for (size_t i = 0; i < r->n_findings; i++)
		if (!strcmp(r->findings[i].rule, id))
			return &r->findings[i];
	return NULL;
}

static void test_match(void)
{
	struct vr_report r;
	struct vr_facts f;
	struct vr_diag d;
	fill_report(&r, &f, &d);
	struct vr_ruleset *rs = NULL;
	CHECK(!vr_ruleset_create(true, &rs), "create");
	const char *mine =
		"rules:\n"
		"  - id: my-frame\n    title: \"frame {match.frame} in {match.module}\"\n    severity: warning\n"
		"    when:\n      frame: {symbol: \"/^vrbug_/\", module: vrbug}\n"
		"      taint: O\n      release: [\">= 6.1\", \"< 6.2\", \"6.1.*\"]\n"
		"    evidence: [\"{{literal}} {crash.ip}\"]\n"
		"  - id: my-log\n    title: \"log {match.log}\"\n    severity: info\n"
		"    when:\n      log: \"^second\"\n      not: {kind: bug}\n"
		"  - id: my-any\n    title: any\n    severity: info\n"
		"    when:\n      any:\n        - kind: bug\n        - pointer: [near-null, \"nul*\"]\n"
		"  - id: never\n    title: never\n    severity: info\n"
		"    when:\n      release: \"< 5.0\"\n"
		"  - id: never2\n    title: never\n    severity: info\n"
		"    when:\n      taint: P\n"
		"  - id: loaded\n    title: \"loaded\"\n    severity: info\n"
		"    when:\n      loaded: vrbu?\n"
		"  - id: sysrq-crash\n    title: replaced\n    severity: critical\n    when: {kind: null-deref}\n";
	struct vr_error *err = vr_ruleset_load_buffer(rs, "mine.yaml", mine, strlen(mine));
	CHECK(!err, "load: %s", err ? err->message : "");
	vr_error_destroy(err);
	CHECK(!vr_ruleset_evaluate(rs, &r), "evaluate");
	const struct vr_finding *x = finding(&r, "null-deref-in-module");
	CHECK(x && !strcmp(x->title, "NULL pointer dereference in module vrbug") &&
	      !strcmp(x->severity, "error"), "builtin null-deref-in-module: %s", x ? x->title : "missing");
	x = finding(&r, "my-frame");
	CHECK(x && !strcmp(x->title, "frame vrbug_null_deref in vrbug"), "my-frame: %s", x ? x->title : "missing");
	CHECK(x && x->n_evidence == 1 && !strcmp(x->evidence[0], "{literal} vrbug_null_deref+0x15 [vrbug]"),
	      "evidence: %s", x && x->n_evidence ? x->evidence[0] : "none");
	x = finding(&r, "my-log");
	CHECK(x && !strcmp(x->title, "log second line"), "my-log: %s", x ? x->title : "missing");
	CHECK(finding(&r, "my-any"), "any");
	CHECK(!finding(&r, "never") && !finding(&r, "never2"), "never");
	CHECK(!finding(&r, "loaded"), "loaded: no module list");
	x = finding(&r, "sysrq-crash");
	CHECK(x && !strcmp(x->title, "replaced"), "replacing a builtin rule by id");
	CHECK(finding(&r, "out-of-tree-module"), "taint rule");
	CHECK(!finding(&r, "proprietary-module"), "no P taint");
	vr_ruleset_destroy(rs);
	vr_report_deinit(&r);
	vr_facts_deinit(&f);
	vr_diag_deinit(&d);

	CHECK(vr_version_compare("6.1.0-56-cloud-amd64", "6.1") == 0, "6.1.0 == 6.1");
	CHECK(vr_version_compare("6.1.0-56", "6.12") < 0, "6.1 < 6.12");
	CHECK(vr_version_compare("5.10.0", "5.9") > 0, "5.10 > 5.9");
	CHECK(vr_version_compare("6.1.1", "6.1") > 0, "6.1.1 > 6.1");
}

static void test_files(void)
{
	char dir[] = "/tmp/vr-rules-XXXXXX";
	CHECK(mkdtemp(dir) != NULL, "mkdtemp");
	char p1[64], p2[64], p3[64];
	snprintf(p1, sizeof(p1), "%s/a.yaml", dir);
	snprintf(p2, sizeof(p2), "%s/b.yml", dir);
	snprintf(p3, sizeof(p3), "%s/ignored.txt", dir);
	FILE *f = fopen(p1, "w");
	fputs("rules:\n  - id: one\n    title: t\n    severity: info\n    when: {kind: bug}\n", f);
	fclose(f);
	f = fopen(p2, "w");
	fputs("rules:\n  - id: two\n    title: t\n    severity: info\n    when: {kind: bug}\n", f);
	fclose(f);
	f = fopen(p3, "w");
	fputs("not yaml: [", f);
	fclose(f);
	struct vr_ruleset *rs = NULL;
	CHECK(!vr_ruleset_create(false, &rs), "create");
	struct vr_error *err = vr_ruleset_load_path(rs, dir);
	CHECK(!err && vr_ruleset_n_rules(rs) == 2, "dir: %s", err ? err->message : "");
	vr_error_destroy(err);
	f = fopen(p2, "w");
	fputs("rules:\n  - id: two\n    title: t\n    severity: info\n    when: {kind: bug}\n    x: 1\n", f);
	fclose(f);
	err = vr_ruleset_load_path(rs, p2);
	CHECK(err && strstr(err->message, "b.yml:6:5:"), "file error: %s", err ? err->message : "none");
	vr_error_destroy(err);
	err = vr_ruleset_load_path(rs, "/nonexistent/rules.yaml");
	CHECK(err && err->code == VR_ERR_IO, "missing file");
	vr_error_destroy(err);
	vr_ruleset_destroy(rs);
	unlink(p1);
	unlink(p2);
	unlink(p3);
	rmdir(dir);
}

/* The tamper: section: lists of named groups, findings, their errors,
 * queries and how a file of one's own joins and replaces the built-in
 * knowledge (loaded even without the default findings rules). */
static void test_tamper(void)
{
	expect_err("tamper:\n  colour: {a: [x]}\n", "t.yaml:2:3: ", "unknown key 'colour' in tamper:");
	expect_err("tamper:\n  helper-paths: [x]\n", "t.yaml:2:17: ", "must map group names");
	expect_err("tamper:\n  findings:\n    - id: a\n      title: t\n      severity: grave\n",
		   "t.yaml:5:17: ", "severity 'grave'");
	expect_err("tamper:\n  findings:\n    - title: t\n      severity: info\n", "t.yaml:3:7: ", "needs an id");
	expect_err("tamper:\n  findings:\n    - id: a\n      title: t\n      severity: info\n      when: x\n",
		   "t.yaml:6:7: ", "unknown key 'when' in a tamper finding");
	expect_err("tamper:\n  idt-vectors:\n    '3': [a]\n    '3': [b]\n", "t.yaml:4:5: ", "appears twice");

	struct vr_ruleset *rs = NULL;
	CHECK(!vr_ruleset_create(false, &rs), "create without the default findings rules");
	if (!rs)
		return;
	/* The built-in knowledge is there. */
	CHECK(vr_ruleset_tamper_group(rs, "sensitive-functions", "commit_creds") &&
	      !strcmp(vr_ruleset_tamper_group(rs, "sensitive-functions", "commit_creds"), "credentials"));
	CHECK(vr_ruleset_tamper_group(rs, "sensitive-functions", "__x64_sys_kill.cold"), "suffix tried without");
	CHECK(!vr_ruleset_tamper_group(rs, "sensitive-functions", "vrbug_write"));
	bool known = true;
	CHECK(vr_ruleset_tamper_in(rs, "idt-vectors", "14", "asm_exc_page_fault", &known) && known);
	CHECK(!vr_ruleset_tamper_in(rs, "idt-vectors", "14", "asm_exc_int3", &known) && known);
	CHECK(!vr_ruleset_tamper_in(rs, "idt-vectors", "200", "x", &known) && !known, "no such vector");
	CHECK(vr_ruleset_tamper_in(rs, "helper-paths", "core_pattern", "|/lib/systemd/systemd-coredump %P %u", NULL));
	CHECK(!vr_ruleset_tamper_in(rs, "helper-paths", "modprobe_path", "/tmp/x", NULL));
	const struct vr_tamper_finding *f = vr_ruleset_tamper_finding(rs, "tamper-hidden-module");
	CHECK(f && !strcmp(f->severity, "critical") && f->advice);
	CHECK(vr_ruleset_tamper_group_name(rs, "helper-paths", 0) && !vr_ruleset_tamper_group_name(rs, "helper-paths", 99));
	CHECK(vr_ruleset_tamper_pattern(rs, "ebpf-program-types", "kprobe", 0) &&
	      !strcmp(vr_ruleset_tamper_pattern(rs, "ebpf-program-types", "kprobe", 0), "BPF_PROG_TYPE_KPROBE"));

	/* A file of one's own: a pattern joins its group, a finding replaces. */
	const char *mine = "tamper:\n  helper-paths:\n    core_pattern: ['|/opt/crashd *']\n"
			   "  sensitive-functions:\n    mine: [my_secret_fn]\n"
			   "  findings:\n    - id: tamper-hidden-module\n      title: Hidden\n      severity: warning\n";
	struct vr_error *err = vr_ruleset_load_buffer(rs, "mine.yaml", mine, strlen(mine));
	CHECK(!err, "%s", err ? err->message : "");
	vr_error_destroy(err);
	CHECK(vr_ruleset_tamper_in(rs, "helper-paths", "core_pattern", "|/opt/crashd -p 1", NULL), "joined");
	CHECK(vr_ruleset_tamper_in(rs, "helper-paths", "core_pattern", "core", NULL), "built-in kept");
	CHECK(vr_ruleset_tamper_group(rs, "sensitive-functions", "my_secret_fn") &&
	      !strcmp(vr_ruleset_tamper_group(rs, "sensitive-functions", "my_secret_fn"), "mine"));
	f = vr_ruleset_tamper_finding(rs, "tamper-hidden-module");
	CHECK(f && !strcmp(f->title, "Hidden") && !strcmp(f->severity, "warning") && !f->advice, "replaced");
	vr_ruleset_destroy(rs);
}

int main(void)
{
	test_errors();
	test_builtin();
	test_match();
	test_files();
	test_tamper();
	if (failures)
		fprintf(stderr, "%d failures\n", failures);
	return failures != 0;
}
