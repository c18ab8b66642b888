/* The tamper analyzer (analyzers/tamper.c) on testdata/sample.vmcore, a
 * real dump of a kernel nobody tampered with, read without its vmlinux:
 * every check that kallsyms and BTF allow runs, says what it covered, and
 * finds nothing; the one that needs the vmlinux says why it could not
 * check. Also the engine questions the checks ask (engine/kernel.h). */
#define _GNU_SOURCE
#include "analyzers/analyzer.h"
#include "engine/kernel.h"
#include "report/model.h"
#include "rules/rules.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

static const struct vr_step *step(const struct vr_diag *d, const char *name)
{
	for (size_t i = 0; i < d->n_steps; i++)
		if (!strcmp(d->steps[i].name, name))
			return &d->steps[i];
	return NULL;
}

static void test_sample(void)
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

	/* The questions the checks ask of the engine. */
	struct vr_kernel_layout lay;
	err = vr_kernel_get_layout(k, &lay);
	CHECK(!err && lay.kaslr_offset && lay.modules_start < lay.modules_end && lay.user_end == (1ull << 47) - 4096,
	      "layout: %s", err ? err->message : "");
	vr_error_destroy(err);
	struct vr_symbol s;
	err = vr_kernel_symbol_lookup(k, "sys_call_table", &s);
	CHECK(!err && s.size && !s.module, "sys_call_table: %s", err ? err->message : "");
	vr_error_destroy(err);
	if (!err) {
		struct vr_symbol at;
		CHECK(vr_kernel_symbol_at(k, s.address + 8, &at) && !strcmp(at.name, "sys_call_table"));
	}
	int64_t v;
	err = vr_kernel_enum_value(k, "MODULE_STATE_LIVE", &v);
	CHECK(!err && v == 0, "MODULE_STATE_LIVE: %s", err ? err->message : "");
	vr_error_destroy(err);
	bool confirmed = true;
	CHECK(!vr_kernel_has_vmlinux(k, &confirmed) && !confirmed);
	struct vr_text_range r = {.addr = s.address, .len = 16};
	err = vr_kernel_text_ranges(k, &r, 1, NULL);
	CHECK(err && err->code == VR_ERR_NOT_FOUND, "text ranges without a vmlinux: %s", err ? err->message : "none");
	vr_error_destroy(err);
	uint8_t b[8];
	err = vr_kernel_vmlinux_read(k, s.address, b, sizeof(b));
	CHECK(err && err->code == VR_ERR_NOT_FOUND);
	vr_error_destroy(err);
	/* Module regions: the module's text is its first. */
	for (size_t i = 0; i < facts.n_modules; i++)
		CHECK(facts.modules[i].regions[0].base == facts.modules[i].text_base && !facts.modules[i].unlisted,
		      "module %s", facts.modules[i].name);

	struct vr_ruleset *rules = NULL;
	err = vr_ruleset_create(true, &rules);
	CHECK(!err);
	struct vr_input_info input;
	err = vr_input_copy(vr_kernel_input(k), &input);
	CHECK(!err);
	struct vr_report rep;
	vr_report_init(&rep, &input, &facts, &diag);
	struct vr_analysis a = {.kernel = k, .facts = &facts, .rules = rules, .report = &rep};
	vr_analyze(&a);

	for (size_t i = 0; i < rep.n_findings; i++)
		CHECK(strncmp(rep.findings[i].rule, "tamper-", 7), "finding %s: %s", rep.findings[i].rule,
		      rep.findings[i].n_evidence ? rep.findings[i].evidence[0] : "");
	static const char *const ran[] = {
		"tamper.syscall-table", "tamper.idt", "tamper.hooks", "tamper.modules", "tamper.taint",
		"tamper.ebpf", "tamper.cpu-protection", "tamper.helper-paths", "tamper.credentials",
		"tamper.user-exec",
	};
	for (size_t i = 0; i < sizeof(ran) / sizeof(ran[0]); i++) {
		const struct vr_step *st = step(&diag, ran[i]);
		CHECK(st && !strcmp(st->status, "ok") && st->covered && strcmp(st->covered, "nothing"),
		      "%s: %s: %s (%s)", ran[i], st ? st->status : "missing", st && st->covered ? st->covered : "",
		      st && st->reason ? st->reason : "");
	}
	const struct vr_step *st = step(&diag, "tamper.syscall-table");
	CHECK(st && st->covered && strstr(st->covered, "sys_call_table: 451 entries"), "%s",
	      st && st->covered ? st->covered : "");
	st = step(&diag, "tamper.idt");
	CHECK(st && st->covered && strstr(st->covered, "256 gates"), "%s", st && st->covered ? st->covered : "");
	st = step(&diag, "tamper.kernel-text");
	CHECK(st && !strcmp(st->status, "skipped") && st->reason && strstr(st->reason, "no vmlinux"),
	      "kernel-text: %s: %s", st ? st->status : "missing", st && st->reason ? st->reason : "");
	st = step(&diag, "tamper");
	CHECK(st && !strcmp(st->status, "ok"));

	vr_report_deinit(&rep);
	vr_input_deinit(&input);
	vr_ruleset_destroy(rules);
	vr_facts_deinit(&facts);
	vr_kernel_destroy(k);
	vr_diag_deinit(&diag);
	free(dump);
}

int main(void)
{
	test_sample();
	if (failures)
		fprintf(stderr, "%d failures\n", failures);
	return failures != 0;
}
