/* Unit tests of the crash signature (analyzers/signature.c): no addresses,
 * offsets or compiler clone suffixes in it; the kind and the guilty frames
 * decide it. */
#include "analyzers/analyzer.h"
#include "rules/rules.h"

#include <stdio.h>
#include <string.h>

extern const struct vr_analyzer vr_analyzer_signature;

#include "check.h"

struct fr {
	const char *sym;
	uint64_t off, addr;
	bool reliable;
};

/* Runs the signature over a crash of kind with the given trace; returns the
 * id (caller frees) and the frames joined with commas in *frames. */
static char *sig(const char *kind, const char *ip, const char *blame, const struct fr *t, size_t n,
		 const struct vr_ruleset *rules, char **frames)
{
	struct vr_facts facts = {0};
	struct vr_diag diag = {0};
	struct vr_report r;
	vr_report_init(&r, NULL, &facts, &diag);
	r.crash.kind = kind;
	if (ip) {
		r.crash.ip_known = true;
		r.crash.ip.symbol = strdup(ip);
	}
	if (blame)
		r.blame.function = strdup(blame);
	r.crash.trace.frames = calloc(n + 1, sizeof(struct vr_frame));
	for (size_t i = 0; i < n; i++)
		r.crash.trace.frames[i] = (struct vr_frame){.symbol = strdup(t[i].sym), .offset = t[i].off,
							     .address = t[i].addr, .reliable = t[i].reliable};
	r.crash.trace.n_frames = n;
	struct vr_analysis a = {.kernel = NULL, .facts = &facts, .rules = rules, .report = &r};
	const char *skipped = NULL;
	struct vr_error *err = vr_analyzer_signature.run(&a, &skipped);
	CHECK(!err && !skipped, "signature did not run");
	char *id = r.signature.id ? strdup(r.signature.id) : strdup("");
	char buf[1024] = "";
	for (size_t i = 0; i < r.signature.n_frames; i++) {
		strncat(buf, i ? "," : "", sizeof(buf) - strlen(buf) - 1);
		strncat(buf, r.signature.frames[i], sizeof(buf) - strlen(buf) - 1);
	}
	*frames = strdup(buf);
	r.crash.kind = "unknown";
	vr_report_deinit(&r);
	vr_diag_deinit(&diag);
	return id;
}

int main(void)
{
	const struct fr boot1[] = {
		{"vrbug_write", 0x187, 0xffffffffc0343284, true},
		{"proc_reg_write", 0x56, 0xffffffffba1eacb6, true},
		{"vfs_write", 0xc7, 0, true},
		{"do_fcntl", 0x577, 0, false},
		{"ksys_write", 0x6b, 0, true},
		{"do_syscall_64", 0x5d, 0, true},
		{"entry_SYSCALL_64_after_hwframe", 0x6e, 0, true},
	};
	/* Another build and boot: other offsets, addresses, clone suffixes and
	 * stale "?" frames. */
	const struct fr boot2[] = {
		{"vrbug_write", 0x175, 0xffffffffc0a11284, true},
		{"proc_reg_write", 0x56, 0xffffffff9e1eacb6, true},
		{"? path_openat", 0xa7d, 0, false},
		{"vfs_write", 0xc7, 0, true},
		{"path_openat", 0xa7d, 0, false},
		{"ksys_write", 0x6b, 0, true},
		{"do_syscall_64", 0x5d, 0, true},
	};
	char *f1, *f2, *f3, *f4, *f5;
	char *id1 = sig("null-deref", "vrbug_null_deref.isra.0", NULL, boot1, 7, NULL, &f1);
	char *id2 = sig("null-deref", "vrbug_null_deref", NULL, boot2, 7, NULL, &f2);
	CHECK(!strcmp(id1, id2), "same bug, different builds: %s vs %s", id1, id2);
	CHECK(!strncmp(id1, "vr1-", 4) && strlen(id1) == 20, "id format: %s", id1);
	CHECK(!strcmp(f1, "vrbug_null_deref,vrbug_write"), "frames: %s", f1);

	char *id3 = sig("gpf", "vrbug_null_deref", NULL, boot2, 7, NULL, &f3);
	CHECK(strcmp(id1, id3), "the kind is part of the signature");

	/* Blame's function leads, generic or not. */
	const struct fr hung[] = {
		{"__schedule", 0x34d, 0, true},      {"schedule", 0x5a, 0, true},
		{"__mutex_lock.constprop.0", 0x39d, 0, true}, {"vrbug_hungtask", 0x57, 0, true},
		{"vrbug_write", 0x159, 0, true},     {"kthread", 0xda, 0, true},
	};
	char *id4 = sig("hung-task", NULL, "vrbug_hungtask", hung, 6, NULL, &f4);
	CHECK(!strcmp(f4, "vrbug_hungtask,vrbug_write"), "hung task frames: %s", f4);

	/* With the rules' generic-frame list the result is as stable. */
	struct vr_ruleset *rs = NULL;
	struct vr_error *err = vr_ruleset_create(false, &rs);
	CHECK(!err, "ruleset");
	if (!err) {
		char *fa, *fb;
		char *ida = sig("null-deref", "vrbug_null_deref.isra.0", NULL, boot1, 7, rs, &fa);
		char *idb = sig("null-deref", "vrbug_null_deref", NULL, boot2, 7, rs, &fb);
		CHECK(!strcmp(ida, idb), "with rules: %s (%s) vs %s (%s)", ida, fa, idb, fb);
		CHECK(!strncmp(fa, "vrbug_null_deref,vrbug_write", 28), "with rules frames: %s", fa);
		free(ida), free(idb), free(fa), free(fb);
		vr_ruleset_destroy(rs);
	} else {
		vr_error_destroy(err);
	}

	/* No frames at all still gives an id from the kind. */
	char *id5 = sig("panic", NULL, NULL, NULL, 0, NULL, &f5);
	CHECK(!strncmp(id5, "vr1-", 4) && !*f5, "panic without frames: %s [%s]", id5, f5);

	free(id1), free(id2), free(id3), free(id4), free(id5);
	free(f1), free(f2), free(f3), free(f4), free(f5);
	if (failures) {
		fprintf(stderr, "%d failure(s)\n", failures);
		return 1;
	}
	printf("ok\n");
	return 0;
}
