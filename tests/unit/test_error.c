/* Errors: a catch names the codes it expects and never takes out of
 * memory; an absorbed error is kept for the step; a list that cannot grow
 * says so. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine/error.h"
#include "engine/facts.h"
#include "check.h"

static void test_catch_by_code(void)
{
	struct vr_error *err = vr_error_create(VR_ERR_NOT_FOUND, "symbol x not found");
	CHECK(vr_error_catch(&err, VR_ERR_NOT_FOUND) && err == NULL, "a NOT_FOUND is caught");

	err = vr_error_create(VR_ERR_FORMAT, "bad bytes");
	CHECK(!vr_error_catch(&err, VR_ERR_NOT_FOUND) && err && err->code == VR_ERR_FORMAT,
	      "a FORMAT is not caught when NOT_FOUND is asked");
	CHECK(vr_error_catch(&err, VR_ERR_NOT_FOUND, VR_ERR_FORMAT) && !err, "caught when named among several");

	err = vr_error_create(VR_ERR_FAULT, "unmapped");
	CHECK(vr_error_catch(&err, VR_ERRS_READ) && !err, "the read codes catch a fault");

	err = &vr_error_oom;
	CHECK(!vr_error_catch(&err, VR_ERR_NOT_FOUND) && err == &vr_error_oom, "out of memory is not caught");
	CHECK(!vr_error_catch(&err, VR_ERR_NOMEM) && err == &vr_error_oom,
	      "out of memory is not caught even when named");
	CHECK(!vr_error_catch(&err, VR_ERRS_READ, VR_ERRS_LAYOUT) && err == &vr_error_oom);

	err = NULL;
	CHECK(!vr_error_catch(&err, VR_ERR_NOT_FOUND) && !err, "no error: nothing caught");
}

static void test_absorb(void)
{
	struct vr_error *fatal = NULL;
	CHECK(!vr_error_absorb(&fatal, NULL, VR_ERR_FAULT) && !fatal, "success absorbs nothing");
	CHECK(vr_error_absorb(&fatal, vr_error_create(VR_ERR_FAULT, "x"), VR_ERR_FAULT) && !fatal,
	      "an expected code is dropped");
	CHECK(vr_error_absorb(&fatal, vr_error_create(VR_ERR_USAGE, "bug"), VR_ERR_FAULT) && fatal &&
		      fatal->code == VR_ERR_USAGE,
	      "an unexpected code is kept");
	CHECK(vr_error_absorb(&fatal, &vr_error_oom, VR_ERR_FAULT) && fatal == &vr_error_oom,
	      "out of memory displaces any other");
	CHECK(vr_error_absorb(&fatal, vr_error_create(VR_ERR_LIMIT, "later"), VR_ERR_FAULT) &&
		      fatal == &vr_error_oom,
	      "and is not displaced");
	vr_error_destroy(fatal);
}

static void test_grow(void)
{
	uint64_t *v = NULL;
	size_t cap = 0;
	CHECK(succeeds(vr_grow(&v, &cap, 3, sizeof(*v), 100)) && cap >= 3);
	CHECK(fails_with(vr_grow(&v, &cap, 101, sizeof(*v), 100), VR_ERR_LIMIT), "past the limit");
	/* more bytes than any allocation holds: out of memory, not a wrapped
	 * size that would seem to succeed */
	struct big {
		char b[1u << 20];
	} *h = NULL;
	size_t hcap = 0;
	struct vr_error *err = vr_grow(&h, &hcap, SIZE_MAX / 4, sizeof(*h), SIZE_MAX);
	CHECK(err == &vr_error_oom && !h && hcap == 0, "an impossible size is out of memory");
	free(v);

	char **sv = NULL;
	size_t n = 0, scap = 0;
	CHECK(vr_strv_add(&sv, &n, &scap, 10, NULL) == &vr_error_oom && n == 0,
	      "a string that could not be made is out of memory");
	vr_strv_free(sv, n);
}

/* The step list is the report's say on every step: one that cannot grow is
 * marked, so the run does not pass a short list off as whole. */
static void test_diag_short(void)
{
	struct vr_diag d = {0};
	for (int i = 0; i < 4096; i++)
		vr_diag_step(&d, "step", "ok", 0, NULL);
	CHECK(d.n_steps == 4096 && !d.lost);
	vr_diag_step(&d, "one more", "ok", 0, NULL);
	CHECK(d.n_steps == 4096 && d.lost, "a step that could not be recorded marks the list");
	vr_diag_deinit(&d);
}

int main(void)
{
	test_catch_by_code();
	test_absorb();
	test_grow();
	test_diag_short();
	return failures != 0;
}
