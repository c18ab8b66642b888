/* Unit tests of the oops text parser (analyzers/oops_parse.c) and of the
 * guilty-frame selection on it (analyzers/blame.c with rules/blame.yaml):
 * every tests/oops/NAME.txt is decoded and compared with NAME.expected
 * (key=value lines, see tests/oops/README); blame.* and traces keys run
 * the oops, hang and blame analyzers over the text as the program does.
 * Plus direct tests of line prefixes, frame parsing and hostile input. */
#define _GNU_SOURCE
#include "analyzers/analyzer.h"
#include "analyzers/oops_parse.h"
#include "engine/log.h"

#include <dirent.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


#include "check.h"

static char *read_all(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	char *buf = NULL;
	size_t cap = 0, n = 0;
	for (;;) {
		if (n + 4096 + 1 > cap) {
			cap = (n + 4096 + 1) * 2;
			char *nb = realloc(buf, cap);
			if (!nb) {
				free(buf);
				fclose(f);
				return NULL;
			}
			buf = nb;
		}
		size_t r = fread(buf + n, 1, 4096, f);
		n += r;
		if (r < 4096)
			break;
	}
	fclose(f);
	buf[n] = 0;
	*len = n;
	return buf;
}

static const char *str_or_empty(const char *s)
{
	return s ? s : "";
}

/* Joins one field of every trace frame with commas. */
static char *join_trace(const struct vr_trace *t, char which)
{
	size_t cap = 64 + t->n_frames * 80, n = 0;
	char *out = malloc(cap);
	out[0] = 0;
	for (size_t i = 0; i < t->n_frames; i++) {
		const struct vr_frame *f = &t->frames[i];
		char item[600];
		switch (which) {
		case 's': snprintf(item, sizeof(item), "%s", str_or_empty(f->symbol)); break;
		case 'k': snprintf(item, sizeof(item), "%s", str_or_empty(f->stack)); break;
		case 'r': snprintf(item, sizeof(item), "%d", f->reliable); break;
		case 'e': snprintf(item, sizeof(item), "%d", f->exception); break;
		default: snprintf(item, sizeof(item), "%s", str_or_empty(f->module)); break;
		}
		n += (size_t)snprintf(out + n, cap - n, "%s%s", i ? "," : "", item);
	}
	return out;
}

static char *join_strv(char **v, size_t n, const char *sep)
{
	size_t cap = 16;
	for (size_t i = 0; i < n; i++)
		cap += strlen(v[i]) + strlen(sep);
	char *out = malloc(cap);
	size_t k = 0;
	out[0] = 0;
	for (size_t i = 0; i < n; i++)
		k += (size_t)snprintf(out + k, cap - k, "%s%s", i ? sep : "", v[i]);
	return out;
}

static bool hex_eq(const char *want, bool known, uint64_t v)
{
	if (!strcmp(want, "none"))
		return !known;
	return known && strtoull(want, NULL, 0) == v;
}

static void check_key(const char *name, const struct vr_crash *c, const char *key, const char *want)
{
	char buf[64];
	char *got = NULL;
	if (!strcmp(key, "kind")) {
		got = strdup(c->kind);
	} else if (!strcmp(key, "title")) {
		got = strdup(str_or_empty(c->title));
	} else if (!strcmp(key, "fault_address")) {
		CHECK(hex_eq(want, c->fault_address_known, c->fault_address),
		      "%s: fault_address: want %s, got %s0x%" PRIx64, name, want,
		      c->fault_address_known ? "" : "(unknown) ", c->fault_address);
		return;
	} else if (!strcmp(key, "error_code")) {
		CHECK(hex_eq(want, c->error_code_known, c->error_code),
		      "%s: error_code: want %s, got 0x%" PRIx64, name, want, c->error_code);
		return;
	} else if (!strcmp(key, "access")) {
		got = strdup(c->access ? c->access : "none");
	} else if (!strncmp(key, "ip.", 3)) {
		if (!strcmp(want, "none")) {
			CHECK(!c->ip_known, "%s: ip should be unknown", name);
			return;
		}
		CHECK(c->ip_known, "%s: ip unknown", name);
		const char *k = key + 3;
		if (!strcmp(k, "symbol"))
			got = strdup(str_or_empty(c->ip.symbol));
		else if (!strcmp(k, "module"))
			got = strdup(str_or_empty(c->ip.module));
		else {
			uint64_t v = !strcmp(k, "address") ? c->ip.address
				     : !strcmp(k, "offset") ? c->ip.offset : c->ip.size;
			CHECK(strtoull(want, NULL, 0) == v, "%s: %s: want %s, got 0x%" PRIx64, name, key,
			      want, v);
			return;
		}
	} else if (!strcmp(key, "cpu") || !strcmp(key, "pid") || !strcmp(key, "bug_line")) {
		snprintf(buf, sizeof(buf), "%d",
			 !strcmp(key, "cpu") ? c->cpu : !strcmp(key, "pid") ? c->pid : c->bug_line);
		got = strdup(buf);
	} else if (!strcmp(key, "comm")) {
		got = strdup(str_or_empty(c->comm));
	} else if (!strcmp(key, "taint")) {
		got = strdup(c->taint ? c->taint : "none");
	} else if (!strcmp(key, "hardware")) {
		got = strdup(str_or_empty(c->hardware));
	} else if (!strcmp(key, "bug_file")) {
		got = strdup(str_or_empty(c->bug_file));
	} else if (!strcmp(key, "cpu_line")) {
		got = strdup(str_or_empty(c->cpu_line));
	} else if (!strcmp(key, "modules")) {
		got = join_strv(c->modules_linked, c->n_modules_linked, ",");
	} else if (!strcmp(key, "secondary")) {
		got = join_strv(c->secondary, c->n_secondary, "|");
	} else if (!strcmp(key, "trace")) {
		got = join_trace(&c->trace, 's');
	} else if (!strcmp(key, "trace.stacks")) {
		got = join_trace(&c->trace, 'k');
	} else if (!strcmp(key, "trace.reliable")) {
		got = join_trace(&c->trace, 'r');
	} else if (!strcmp(key, "trace.exception")) {
		got = join_trace(&c->trace, 'e');
	} else if (!strcmp(key, "trace.modules")) {
		got = join_trace(&c->trace, 'm');
	} else if (!strcmp(key, "code.starts")) {
		CHECK(c->code && !strncmp(c->code, want, strlen(want)), "%s: code: want %s..., got %s",
		      name, want, str_or_empty(c->code));
		return;
	} else if (!strncmp(key, "regs.", 5)) {
		const char *r = key + 5;
		uint64_t v = 0;
		bool found = false;
		const struct vr_regset *rs = c->regs.set;
		for (int i = 0; rs && i < rs->n; i++)
			if (!strcmp(rs->names[i], r)) {
				v = c->regs.r[i];
				found = vr_regs_known(&c->regs, i);
			}
		CHECK(found && v == strtoull(want, NULL, 0), "%s: %s: want %s, got 0x%" PRIx64 "%s",
		      name, key, want, v, found ? "" : " (no registers)");
		return;
	} else if (!strncmp(key, "blame.", 6) || !strcmp(key, "traces") || !strcmp(key, "tamper")) {
		return; /* check_analysis() */
	} else {
		CHECK(0, "%s: unknown key %s", name, key);
		return;
	}
	CHECK(!strcmp(got, want), "%s: %s:\n   want [%s]\n    got [%s]", name, key, want, got);
	free(got);
}

extern const struct vr_analyzer vr_analyzer_oops;
extern const struct vr_analyzer vr_analyzer_hang;
extern const struct vr_analyzer vr_analyzer_blame;
extern const struct vr_analyzer vr_analyzer_tamper;

/* The tamper findings of the report, comma-separated ("" for none). */
static char *join_tamper(const struct vr_report *r)
{
	size_t cap = 16, n = 0;
	for (size_t i = 0; i < r->n_findings; i++)
		cap += strlen(r->findings[i].rule) + 1;
	char *out = malloc(cap);
	out[0] = 0;
	for (size_t i = 0; i < r->n_findings; i++)
		if (!strncmp(r->findings[i].rule, "tamper-", 7))
			n += (size_t)snprintf(out + n, cap - n, "%s%s", n ? "," : "", r->findings[i].rule);
	return out;
}

/* The report's other stacks: "role[/cpuN][/pidN][*]" (* stalled), comma-separated. */
static char *join_traces(const struct vr_crash *c)
{
	size_t cap = 64 + c->n_traces * 48, n = 0;
	char *out = malloc(cap);
	out[0] = 0;
	if (c->trace_stalled && c->trace.n_frames)
		n += (size_t)snprintf(out + n, cap - n, "call*");
	for (size_t i = 0; i < c->n_traces; i++) {
		const struct vr_crash_trace *t = &c->traces[i];
		n += (size_t)snprintf(out + n, cap - n, "%s%s", n ? "," : "", t->role);
		if (t->cpu >= 0)
			n += (size_t)snprintf(out + n, cap - n, "/cpu%d", t->cpu);
		if (t->pid >= 0)
			n += (size_t)snprintf(out + n, cap - n, "/pid%d", t->pid);
		if (t->stalled)
			n += (size_t)snprintf(out + n, cap - n, "*");
	}
	return out;
}

/* The analyzers' verdict on the text, as vmreport reaches it: the log's
 * records, then the oops, hang and blame analyzers. */
static void check_analysis(const char *name, const char *text, size_t len, const char *exp)
{
	struct vr_facts f = {0};
	struct vr_diag d = {0};
	struct vr_report r;
	struct vr_error *err = vr_log_parse_text(text, len, &f.log);
	CHECK(!err, "%s: log", name);
	vr_error_destroy(err);
	vr_report_init(&r, NULL, &f, &d);
	struct vr_analysis a = {.facts = &f, .report = &r};
	const struct vr_analyzer *an[] = {&vr_analyzer_oops, &vr_analyzer_hang, &vr_analyzer_blame,
					  &vr_analyzer_tamper};
	for (size_t i = 0; i < 4; i++) {
		const char *skipped = NULL;
		err = an[i]->run(&a, &skipped);
		CHECK(!err, "%s: %s: %s", name, an[i]->name, err ? err->message : "");
		vr_error_destroy(err);
	}
	char *copy = strdup(exp), *save = NULL;
	for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *eq = strchr(line, '=');
		if (!eq || line[0] == '#')
			continue;
		*eq = 0;
		const char *want = eq + 1;
		char *got = NULL;
		const struct vr_blame *b = &r.blame;
		if (!strcmp(line, "blame.function"))
			got = strdup(str_or_empty(b->function));
		else if (!strcmp(line, "blame.module"))
			got = strdup(str_or_empty(b->module));
		else if (!strcmp(line, "blame.culprit"))
			got = strdup(str_or_empty(b->culprit));
		else if (!strcmp(line, "traces"))
			got = join_traces(&r.crash);
		else if (!strcmp(line, "tamper"))
			got = join_tamper(&r);
		else if (!strcmp(line, "blame.rule")) {
			/* The rule named in the first reason, "blame rule ID (FILE:LINE) ...". */
			const char *why = b->n_reasons ? b->reasons[0] : "";
			char id[80] = "";
			if (!strncmp(why, "blame rule ", 11))
				sscanf(why + 11, "%79s", id);
			got = strdup(id);
		} else
			continue;
		CHECK(!strcmp(got, want), "%s: %s:\n   want [%s]\n    got [%s]", name, line, want, got);
		if (strcmp(got, want))
			for (size_t i = 0; i < b->n_reasons; i++)
				fprintf(stderr, "      %s\n", b->reasons[i]);
		free(got);
	}
	free(copy);
	/* No text gives a tamper finding it does not name: a log's register
	 * dumps are checked on every report. */
	if (!strstr(exp, "\ntamper=") && strncmp(exp, "tamper=", 7)) {
		char *t = join_tamper(&r);
		CHECK(!t[0], "%s: tamper findings %s, none expected", name, t);
		free(t);
	}
	vr_report_deinit(&r);
	vr_facts_deinit(&f);
	vr_diag_deinit(&d);
}

static void run_case(const char *dir, const char *name)
{
	char path[8192];
	size_t tlen, elen;
	snprintf(path, sizeof(path), "%s/%s.txt", dir, name);
	char *text = read_all(path, &tlen);
	snprintf(path, sizeof(path), "%s/%s.expected", dir, name);
	char *exp = read_all(path, &elen);
	CHECK(text && exp, "%s: cannot read the text or its .expected", name);
	if (!text || !exp) {
		free(text);
		free(exp);
		return;
	}
	if (strstr(exp, "blame.") || strstr(exp, "traces="))
		check_analysis(name, text, tlen, exp);
	struct vr_crash c;
	vr_crash_init(&c);
	struct vr_error *err = vr_oops_parse_text(text, tlen, &c);
	CHECK(!err, "%s: parse failed", name);
	char *save = NULL;
	for (char *line = strtok_r(exp, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (line[0] == '#' || !line[0])
			continue;
		char *eq = strchr(line, '=');
		if (!eq)
			continue;
		*eq = 0;
		check_key(name, &c, line, eq + 1);
	}
	vr_crash_deinit(&c);
	free(text);
	free(exp);
}

static void test_files(void)
{
	/* ctest passes the source tree in the environment */
	const char *src = getenv("VR_SOURCE_DIR");
	CHECK(src, "VR_SOURCE_DIR is not set");
	if (!src)
		return;
	char dir[4096];
	snprintf(dir, sizeof(dir), "%s/tests/oops", src);
	DIR *d = opendir(dir);
	CHECK(d, "cannot open %s", dir);
	if (!d)
		return;
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		size_t l = strlen(e->d_name);
		if (l < 5 || strcmp(e->d_name + l - 4, ".txt"))
			continue;
		char name[512];
		snprintf(name, sizeof(name), "%.*s", (int)(l - 4), e->d_name);
		run_case(dir, name);
		n++;
	}
	closedir(d);
	CHECK(n >= 10, "only %d oops texts in %s", n, dir);
}

static void test_prefixes(void)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{"[    4.407581] BUG: x", "BUG: x"},
		{"<4>[    4.407581] BUG: x", "BUG: x"},
		{"[    4.407581][  T123] BUG: x", "BUG: x"},
		{"[  104.6] [    C1] BUG: x", "BUG: x"},
		{"Nov  9 10:19:35 host kernel: [  1.0]  foo+0x1/0x2", " foo+0x1/0x2"},
		{"Nov 26 05:40:36 host kernel: BUG: x", "BUG: x"},
		{"2024-01-02T03:04:05.123456+00:00 host kernel: BUG: x", "BUG: x"},
		{"kernel: BUG: x", "BUG: x"},
		{"BUG: x", "BUG: x"},
		{"[drm] radeon", "[drm] radeon"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *m = vr_klog_message(cases[i].in);
		CHECK(m && !strcmp(m, cases[i].out), "prefix of [%s]: got [%s]", cases[i].in,
		      m ? m : "(null)");
	}
	CHECK(vr_klog_message("Nov  9 10:19:35 ohm openvpn[1118]: WARNING: x") == NULL,
	      "another program's syslog line must be dropped");
}

static void test_frames(void)
{
	struct vr_frame f;
	CHECK(vr_klog_parse_frame(" ? do_fcntl+0x577/0x6e0", &f) && !f.reliable &&
		      !strcmp(f.symbol, "do_fcntl") && f.offset == 0x577 && f.size == 0x6e0 && !f.module,
	      "unreliable frame");
	vr_frame_deinit(&f);
	CHECK(vr_klog_parse_frame(" vrbug_write+0x187/0x1b0 [vrbug]", &f) && f.reliable &&
		      f.module && !strcmp(f.module, "vrbug"),
	      "module frame");
	vr_frame_deinit(&f);
	CHECK(vr_klog_parse_frame(" foo.constprop.0+0x10/0x20 [mod 0123456789abcdef]", &f) &&
		      !strcmp(f.symbol, "foo.constprop.0") && !strcmp(f.module, "mod"),
	      "build-id frame");
	vr_frame_deinit(&f);
	CHECK(vr_klog_parse_frame(" [<ffffffff816606a8>] dump_stack+0x19/0x1b", &f) &&
		      f.address == 0xffffffff816606a8ULL && !strcmp(f.symbol, "dump_stack"),
	      "old x86 frame");
	vr_frame_deinit(&f);
	CHECK(vr_klog_parse_frame(" ? 0xffffffffc0400000", &f) && !f.symbol &&
		      f.address == 0xffffffffc0400000ULL,
	      "bare address frame");
	vr_frame_deinit(&f);
	CHECK(vr_klog_parse_frame("[c0000000fe1bfb10] [c000000000010fb0] .show_stack+0x90/0x1a0 (unreliable)",
				  &f) &&
		      f.address == 0xc000000000010fb0ULL && !f.reliable,
	      "ppc frame");
	vr_frame_deinit(&f);
	CHECK(!vr_klog_parse_frame("Modules linked in: foo", &f), "not a frame");
	CHECK(!vr_klog_parse_frame(" 0000000000000009 ffff88022259da58", &f), "stack words");
	CHECK(!vr_klog_parse_frame("", &f), "empty");
}

/* Nothing in a log can crash, hang or blow up the parser. */
static void test_hostile(void)
{
	struct vr_crash c;
	vr_crash_init(&c);
	CHECK(!vr_oops_parse_text("", 0, &c) && !strcmp(c.kind, "unknown"), "empty log");
	vr_crash_deinit(&c);

	/* Many reports, an endless trace, long lines, NUL bytes. */
	size_t cap = 4 << 20, n = 0;
	char *buf = malloc(cap);
	for (int i = 0; i < 3000 && n + 200 < cap; i++)
		n += (size_t)snprintf(buf + n, cap - n, "BUG: unable to handle page fault for address: %d\n"
					  "Oops: 0000 [#%d] SMP\nCall Trace:\n",
				      i, i);
	for (int i = 0; i < 20000 && n + 100 < cap; i++)
		n += (size_t)snprintf(buf + n, cap - n, " ? f%d+0x1/0x2 [m]\n", i);
	memset(buf + n, 'A', 10000);
	n += 10000;
	buf[n++] = 0;
	memcpy(buf + n, "\nRIP: 0010:\nCPU: 99999999999999999999 PID:\nWARNING: at\n", 54);
	n += 54;
	vr_crash_init(&c);
	CHECK(!vr_oops_parse_text(buf, n, &c), "hostile log");
	CHECK(!strcmp(c.kind, "null-deref") || !strcmp(c.kind, "page-fault"), "hostile log kind %s", c.kind);
	CHECK(c.trace.n_frames <= VR_OOPS_MAX_FRAMES, "frame limit");
	CHECK(c.n_secondary <= VR_OOPS_MAX_SECONDARY, "secondary limit");
	vr_crash_deinit(&c);

	/* Random bytes with headline words sprinkled in. */
	static const char *words[] = {"BUG: ", "Oops: ", "[#1]", "Call Trace:\n", "RIP: 0010:", "+0x",
				      "/0x", "<IRQ>", "CPU: 1 PID: 2 Comm: ", "Kernel panic - not syncing: ",
				      "\n", " [", "]", "? ", "WARNING: CPU: "};
	srand(1);
	for (int round = 0; round < 300; round++) {
		n = 0;
		while (n < 4000) {
			if (rand() % 3 == 0) {
				const char *w = words[rand() % (sizeof(words) / sizeof(words[0]))];
				size_t l = strlen(w);
				memcpy(buf + n, w, l);
				n += l;
			} else {
				buf[n++] = (char)(rand() % 256);
			}
		}
		vr_crash_init(&c);
		CHECK(!vr_oops_parse_text(buf, n, &c), "random log %d", round);
		vr_crash_deinit(&c);
	}
	free(buf);
}

/* Without a panic line (kdump captured at oops_end()), the last oops is
 * the fatal one: the kernel survived the earlier. */
static void test_pick(void)
{
	static const char text[] =
		"[ 10.0] BUG: unable to handle page fault for address: ffff888000001000\n"
		"[ 10.0] Oops: 0000 [#1] SMP PTI\n"
		"[ 10.0] CPU: 0 PID: 5 Comm: first Not tainted 5.10.0 #1\n"
		"[ 10.0] RIP: 0010:first_fn+0x1/0x2\n"
		"[ 20.0] WARNING: CPU: 1 PID: 6 at kernel/foo.c:1 warn_fn+0x1/0x2\n"
		"[ 20.0] CPU: 1 PID: 6 Comm: warner Not tainted 5.10.0 #1\n"
		"[ 30.0] general protection fault: 0000 [#2] SMP PTI\n"
		"[ 30.0] CPU: 1 PID: 7 Comm: second Tainted: G      D W         5.10.0 #1\n"
		"[ 30.0] RIP: 0010:second_fn+0x1/0x2 [mod]\n";
	struct vr_crash c;
	vr_crash_init(&c);
	CHECK(!vr_oops_parse_text(text, sizeof(text) - 1, &c), "pick: parse");
	CHECK(!strcmp(c.kind, "gpf") && c.pid == 7 && c.ip.symbol && !strcmp(c.ip.symbol, "second_fn"),
	      "pick: got %s pid %d", c.kind, c.pid);
	CHECK(c.n_secondary == 2 && c.log_first_line == 6 && c.log_last_line == 8,
	      "pick: %zu secondary, lines %zu..%zu", c.n_secondary, c.log_first_line, c.log_last_line);
	CHECK(c.taint && !strcmp(c.taint, "GDW"), "pick: taint %s", c.taint ? c.taint : "(null)");
	vr_crash_deinit(&c);
}

int main(void)
{
	test_pick();
	test_prefixes();
	test_frames();
	test_files();
	test_hostile();
	if (failures) {
		fprintf(stderr, "%d failure(s)\n", failures);
		return 1;
	}
	printf("ok\n");
	return 0;
}
