/* libFuzzer target for the rules loader: the bytes are one rule file. A
 * loaded rule set is also evaluated against an empty report, so the
 * matcher sees whatever the loader accepted. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "failed.h"
#include "report/model.h"
#include "rules/rules.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vr_ruleset *rs = NULL;
	if (failed(vr_ruleset_create(false, &rs)))
		return 0;
	struct vr_error *err = vr_ruleset_load_buffer(rs, "fuzz.yaml", (const char *)data, size);
	if (!err) {
		struct vr_facts facts;
		struct vr_diag diag;
		struct vr_report r;
		memset(&facts, 0, sizeof(facts));
		memset(&diag, 0, sizeof(diag));
		vr_report_init(&r, NULL, &facts, &diag);
		failed(vr_ruleset_evaluate(rs, &r));
		vr_report_deinit(&r);
		vr_diag_deinit(&diag);
	}
	vr_error_destroy(err);
	vr_ruleset_destroy(rs);
	return 0;
}
