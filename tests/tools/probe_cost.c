/* What a full report reads, for tests/real/bounded.sh: the dump's bytes
 * and the vmlinux's compile units. Deterministic, unlike time and RSS.
 *
 *   probe_cost DUMP [VMLINUX]
 *       opens DUMP (with VMLINUX, else the one discovery finds), collects its facts and
 *       runs every analyzer with the built-in rules, as vmreport does, and
 *       prints "dump_bytes N", and with a vmlinux read a unit at a time
 *       "units N", "unit_bytes N", "debug_info_bytes N"
 */
#include <inttypes.h>
#include <stdio.h>

#include "analyzers/analyzer.h"
#include "engine/dwarf.h"
#include "engine/internal.h"
#include "report/model.h"
#include "rules/rules.h"

int main(int argc, char **argv)
{
	if (argc != 2 && argc != 3) {
		fprintf(stderr, "usage: probe_cost DUMP [VMLINUX]\n");
		return 2;
	}
	struct vr_diag diag = { 0 };
	const char *paths[] = { argv[1] };
	struct vr_open_options o = { .dump_paths = paths, .n_dump_paths = 1, .vmlinux_path = argc == 3 ? argv[2] : NULL };
	struct vr_kernel *k;
	struct vr_error *err = vr_kernel_open(&o, &diag, &k);
	if (err) {
		fprintf(stderr, "opening %s: %s\n", argv[1], err->message);
		return 2;
	}
	struct vr_ruleset *rules = NULL;
	if ((err = vr_ruleset_create(true, &rules))) {
		fprintf(stderr, "rules: %s\n", err->message);
		return 2;
	}
	struct vr_facts facts = { 0 };
	vr_kernel_collect(k, &facts, &diag);
	struct vr_input_info input;
	if ((err = vr_input_copy(vr_kernel_input(k), &input))) {
		fprintf(stderr, "%s\n", err->message);
		return 2;
	}
	struct vr_report report;
	vr_report_init(&report, &input, &facts, &diag);
	struct vr_analysis a = { .kernel = k, .facts = &facts, .rules = rules, .report = &report };
	vr_analyze(&a);

	printf("dump_bytes %" PRIu64 "\n", k->dump ? vr_dump_bytes_read(k->dump) : 0);
	size_t units;
	uint64_t bytes, info;
	if (vr_dwarf_units_read(k, &units, &bytes, &info))
		printf("units %zu\nunit_bytes %" PRIu64 "\ndebug_info_bytes %" PRIu64 "\n", units, bytes, info);

	vr_report_deinit(&report);
	vr_input_deinit(&input);
	vr_facts_deinit(&facts);
	vr_ruleset_destroy(rules);
	vr_kernel_destroy(k);
	vr_diag_deinit(&diag);
	return 0;
}
