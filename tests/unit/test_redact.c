/* --redact (report/redact.c) over every string of a full report: the
 * report of testdata/sample.vmcore, with every list given at least one
 * entry, has each of its string fields (those vr_report_visit_strings()
 * walks, which is every string the emitters print) set to a text that
 * names users and hosts in every way the redaction knows. Unredacted, the
 * markers reach every format; redacted, none does. Also the rules one by
 * one on strings that once leaked. */
#define _GNU_SOURCE
#include "analyzers/analyzer.h"
#include "engine/kernel.h"
#include "report/model.h"
#include "rules/rules.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

/* What each string field is fed: a path under a directory named after a
 * user and a host, a home directory, a user name, the host name, IPv4,
 * IPv6 and MAC addresses, the directories of the paths the input was
 * given as (relative), and a command line. */
#define HOST "mkhost7"
static const char *const feed =
	"at /tmp/srv/mkpath1-laptop/vmcore: /home/mkhome2 user=mkuser3 on " HOST
	" from 10.1.2.3 and fe80::1:2:3 via 52:54:00:ab:cd:ef; in srv/mkgiven4/vmcore"
	" with mkmods5/debug and /var/crash/mkdir6/ Command line: mkcmd8";
static const char *const markers[] = {
	"mkpath1", "mkhome2", "mkuser3", HOST, "10.1.2.3", "fe80::1:2:3", "52:54:00:ab:cd:ef",
	"mkgiven4", "mkmods5", "mkdir6", "mkcmd8",
};
#define N_MARKERS (sizeof(markers) / sizeof(markers[0]))
/* A task's comm is 16 bytes. */
static const char *const feed_comm = "on " HOST;

static const char *const dump_paths[] = {"srv/mkgiven4/vmcore"};
static const char *const module_dirs[] = {"mkmods5/debug"};
static const struct vr_open_options given = {
	.dump_paths = dump_paths,
	.n_dump_paths = 1,
	.module_dirs = module_dirs,
	.n_module_dirs = 1,
};

static size_t n_fed;

static void set_string(char **s, void *ctx)
{
	free(*s);
	*s = strdup(feed);
	n_fed++;
}

static void set_buffer(char *buf, size_t cap, void *ctx)
{
	snprintf(buf, cap, "%s", feed_comm);
	n_fed++;
}

static void check_string(char **s, void *ctx)
{
	for (size_t i = 0; *s && i < N_MARKERS; i++)
		CHECK(!strstr(*s, markers[i]), "%s: '%s' is left in '%s'", (const char *)ctx, markers[i], *s);
}

static void check_buffer(char *buf, size_t cap, void *ctx)
{
	CHECK(!strstr(buf, HOST), "%s: '%s' is left in a comm: '%s'", (const char *)ctx, HOST, buf);
}

static void *one(void **v, size_t *n, size_t size)
{
	if (!*n) {
		*v = calloc(1, size);
		*n = 1;
	}
	return *v;
}

static void frame_lists(struct vr_trace *t)
{
	one((void **)&t->frames, &t->n_frames, sizeof(*t->frames));
	one((void **)&t->frames[0].inlined, &t->frames[0].n_inlined, sizeof(*t->frames[0].inlined));
}

/* Every list of the report and its facts holds at least one entry, so
 * that every string field exists. */
static void fill_lists(struct vr_report *r)
{
	struct vr_facts *f = r->facts;
	struct vr_input_info *in = r->input;
	one((void **)&in->vmlinux_evidence, &in->n_vmlinux_evidence, sizeof(char *));
	one((void **)&f->panic.sources, &f->panic.n_sources, sizeof(char *));
	one((void **)&f->cpus, &f->n_cpus, sizeof(*f->cpus));
	for (size_t i = 0; i < f->n_cpus; i++)
		frame_lists(&f->cpus[i].trace);
	one((void **)&f->tasks, &f->n_tasks, sizeof(*f->tasks));
	frame_lists(&f->tasks[0].trace);
	one((void **)&f->modules, &f->n_modules, sizeof(*f->modules));
	one((void **)&f->log.records, &f->log.n_records, sizeof(*f->log.records));
	struct vr_crash *c = &r->crash;
	frame_lists(&c->trace);
	one((void **)&c->ip.inlined, &c->ip.n_inlined, sizeof(*c->ip.inlined));
	if (!c->n_traces) {
		one((void **)&c->traces, &c->n_traces, sizeof(*c->traces));
		c->traces[0] = (struct vr_crash_trace){.role = VR_ROLE_TASK, .cpu = -1, .pid = -1};
	}
	frame_lists(&c->traces[0].trace);
	one((void **)&c->modules_linked, &c->n_modules_linked, sizeof(char *));
	one((void **)&c->secondary, &c->n_secondary, sizeof(char *));
	one((void **)&r->pointer.disassembly, &r->pointer.n_disassembly, sizeof(char *));
	one((void **)&r->blame.reasons, &r->blame.n_reasons, sizeof(char *));
	if (!r->n_findings) {
		one((void **)&r->findings, &r->n_findings, sizeof(*r->findings));
		r->findings[0].severity = "info";
	}
	one((void **)&r->findings[0].evidence, &r->findings[0].n_evidence, sizeof(char *));
	one((void **)&r->signature.frames, &r->signature.n_frames, sizeof(char *));
	if (!r->hang.n_waiters) {
		one((void **)&r->hang.waiters, &r->hang.n_waiters, sizeof(*r->hang.waiters));
		r->hang.waiters[0].owner_pid = -1;
	}
	if (!r->hang.kind)
		r->hang.kind = "hung-task";
}

/* Every format of r in one string. */
static char *emit_all(const struct vr_report *r)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (!f)
		return NULL;
	struct vr_emit_options o = {0};
	const enum vr_output_format fmts[] = {VR_OUTPUT_TEXT, VR_OUTPUT_MARKDOWN, VR_OUTPUT_JSON,
					      VR_OUTPUT_EMAIL};
	for (size_t i = 0; i < sizeof(fmts) / sizeof(fmts[0]); i++) {
		struct vr_error *err = vr_report_emit(r, fmts[i], &o, f);
		CHECK(!err, "emitting format %zu: %s", i, err ? err->message : "");
		vr_error_destroy(err);
	}
	fclose(f);
	return buf;
}

static void test_full_report(void)
{
	const char *src = getenv("VR_SOURCE_DIR");
	CHECK(src, "VR_SOURCE_DIR is not set");
	if (!src)
		return;
	char *dump = NULL;
	CHECK(asprintf(&dump, "%s/testdata/sample.vmcore", src) > 0);
	const char *paths[] = {dump};
	struct vr_open_options oo = {.dump_paths = paths, .n_dump_paths = 1, .no_discovery = true};
	struct vr_diag diag = {0};
	struct vr_kernel *k = NULL;
	struct vr_error *err = vr_kernel_open(&oo, &diag, &k);
	CHECK(!err, "opening %s: %s", dump, err ? err->message : "");
	if (err) {
		vr_error_destroy(err);
		vr_diag_deinit(&diag);
		free(dump);
		return;
	}
	struct vr_facts facts = {0};
	vr_kernel_collect(k, &facts, &diag);
	struct vr_ruleset *rules = NULL;
	err = vr_ruleset_create(true, &rules);
	CHECK(!err);
	struct vr_input_info input;
	err = vr_input_copy(vr_kernel_input(k), &input);
	CHECK(!err);
	struct vr_report r;
	vr_report_init(&r, &input, &facts, &diag);
	struct vr_analysis a = {.kernel = k, .facts = &facts, .rules = rules, .report = &r};
	vr_analyze(&a);
	CHECK(r.crash.kind && !strcmp(r.crash.kind, "null-deref"), "kind %s", r.crash.kind);

	fill_lists(&r);
	vr_report_visit_strings(&r, set_string, set_buffer, NULL);
	free(facts.system.nodename);
	facts.system.nodename = strdup(HOST);
	CHECK(n_fed > 60, "only %zu string fields fed", n_fed);

	/* Unredacted, every marker comes out: the test can fail. */
	char *plain = emit_all(&r);
	for (size_t i = 0; plain && i < N_MARKERS; i++)
		CHECK(strstr(plain, markers[i]), "'%s' is not in the unredacted report", markers[i]);
	free(plain);

	err = vr_report_redact(&r, &given);
	CHECK(!err);
	vr_error_destroy(err);
	vr_report_visit_strings(&r, check_string, check_buffer, "model");
	char *out = emit_all(&r);
	CHECK(out);
	for (size_t i = 0; out && i < N_MARKERS; i++)
		CHECK(!strstr(out, markers[i]), "'%s' is left in the redacted report", markers[i]);
	free(out);

	vr_report_deinit(&r);
	vr_input_deinit(&input);
	vr_facts_deinit(&facts);
	vr_kernel_destroy(k);
	vr_ruleset_destroy(rules);
	vr_diag_deinit(&diag);
	free(dump);
}

/* One string through the redaction, with the input given as `given`. */
static void expect(const char *in, const char *want)
{
	struct vr_diag diag = {0};
	struct vr_facts facts = {0};
	facts.system.nodename = strdup(HOST);
	struct vr_report r;
	vr_report_init(&r, NULL, &facts, &diag);
	r.crash.title = strdup(in);
	struct vr_error *err = vr_report_redact(&r, &given);
	CHECK(!err);
	CHECK(r.crash.title && !strcmp(r.crash.title, want), "'%s' -> '%s', want '%s'", in,
	      r.crash.title, want);
	vr_report_deinit(&r);
	vr_facts_deinit(&facts);
	vr_diag_deinit(&diag);
}

static void test_rules(void)
{
	/* Every occurrence, not only the first. */
	expect("vmlinux /tmp/home/[user]/vmlinux not used: /tmp/home/bob/vmlinux",
	       "vmlinux [path]/vmlinux not used: [path]/vmlinux");
	expect("/home/alice and /home/bob", "[path]/[user] and [path]/[user]");
	expect("user=alice user=bob", "[user] [user]");
	expect(HOST " and " HOST, "[host] and [host]");
	/* Addresses; not times, CS:RIP or PCI slots. */
	expect("fe80::1:2:3 and 2001:db8:0:0:1:0:0:1, ::1", "[ip] and [ip], [ip]");
	expect("10.1.2.3 at 12:34:56 RIP: 0010:foo pci 0000:00:01.1", "[ip] at 12:34:56 RIP: 0010:foo pci 0000:00:01.1");
	expect("kernel::fmt::bar", "kernel::fmt::bar");
	/* Directories of absolute paths; a directory alone; the system's
	 * own directories stay. */
	expect("/tmp/srv/alice-laptop/vmcore: cut short", "[path]/vmcore: cut short");
	expect("saved in /srv/alice/ today", "saved in [path]/ today");
	expect("/var/crash/127.0.0.1-2026-12-01-03:01:00/vmcore", "[path]/vmcore");
	expect("looked for /usr/lib/debug/boot/vmlinux-6.1.0-56-cloud-amd64, /boot/vmlinux-6.1",
	       "looked for /usr/lib/debug/boot/vmlinux-6.1.0-56-cloud-amd64, /boot/vmlinux-6.1");
	expect("file /build/alice/vrbug/vrbug.c:42", "file [path]/vrbug.c:42");
	/* Not paths: a single component, offsets, relative source files. */
	expect("Run /init as init process", "Run /init as init process");
	expect("RIP: 0010:vrbug_null_deref+0x1c/0x26 [vrbug]", "RIP: 0010:vrbug_null_deref+0x1c/0x26 [vrbug]");
	expect("at drivers/net/foo.c:12 r/w", "at drivers/net/foo.c:12 r/w");
	/* The paths the input was given as, relative ones too. */
	expect("srv/mkgiven4/vmcore: the dump is cut short", "[path]/vmcore: the dump is cut short");
	expect("--modules mkmods5/debug: no module debug file", "--modules [path]: no module debug file");
	expect("xsrv/mkgiven4/vmcore", "xsrv/mkgiven4/vmcore");
}

int main(void)
{
	test_rules();
	test_full_report();
	if (failures)
		fprintf(stderr, "%d failure(s)\n", failures);
	return failures != 0;
}
