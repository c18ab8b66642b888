/* The rules analyzer: evaluates the rule set (built-in rules/NAME.yaml plus
 * --rules files; docs/rules.md) against the finished conclusions and adds a
 * finding for every rule that matches. Runs after blame and hang, whose
 * verdicts the rules read. */
#include "../rules/rules.h"
#include "analyzer.h"

static void ruleset_destroyp(struct vr_ruleset **rs)
{
	vr_ruleset_destroy(*rs);
}

static struct vr_error *run(struct vr_analysis *a, const char **skipped)
{
	_cleanup_(ruleset_destroyp) struct vr_ruleset *own = NULL;
	const struct vr_ruleset *rs = a->rules;
	if (!rs) {
		/* No rule set given (a library caller): use the built-in one. */
		struct vr_error *err = vr_ruleset_create(true, &own);
		if (err)
			return vr_error_wrap(err, "loading the built-in rules");
		rs = own;
	}
	if (!vr_ruleset_n_rules(rs)) {
		*skipped = "no rules loaded";
		return NULL;
	}
	return vr_ruleset_evaluate(rs, a->report);
}

const struct vr_analyzer vr_analyzer_rules = {
	.name = "rules",
	.needs = 0,
	.run = run,
};
