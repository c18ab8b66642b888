#define _GNU_SOURCE
#include "error.h"

#include <stdio.h>
#include <string.h>

struct vr_error vr_error_oom = {
	.code = VR_ERR_NOMEM,
	.is_static = true,
	.message = (char *)"out of memory",
};

struct vr_error *vr_error_vcreate(enum vr_error_code code, const char *fmt, va_list ap)
{
	struct vr_error *err = malloc(sizeof(*err));
	if (!err)
		return &vr_error_oom;
	if (vasprintf(&err->message, fmt, ap) < 0) {
		free(err);
		return &vr_error_oom;
	}
	err->code = code;
	err->is_static = false;
	return err;
}

struct vr_error *vr_error_create(enum vr_error_code code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	struct vr_error *err = vr_error_vcreate(code, fmt, ap);
	va_end(ap);
	return err;
}

struct vr_error *vr_error_wrap(struct vr_error *err, const char *fmt, ...)
{
	if (!err || err->is_static)
		return err;
	char *ctx = NULL, *msg = NULL;
	va_list ap;
	va_start(ap, fmt);
	int r = vasprintf(&ctx, fmt, ap);
	va_end(ap);
	if (r < 0)
		return err; /* keep the inner message rather than lose it */
	if (asprintf(&msg, "%s: %s", ctx, err->message) < 0) {
		free(ctx);
		return err;
	}
	free(ctx);
	free(err->message);
	err->message = msg;
	return err;
}

void vr_error_destroy(struct vr_error *err)
{
	if (!err || err->is_static)
		return;
	free(err->message);
	free(err);
}

static bool expected(const struct vr_error *err, const enum vr_error_code *codes, size_t n)
{
	if (vr_error_is_fatal(err))
		return false;
	for (size_t i = 0; i < n; i++)
		if (err->code == codes[i])
			return true;
	return false;
}

bool vr_error_catch_codes(struct vr_error **err, const enum vr_error_code *codes, size_t n)
{
	if (!*err || !expected(*err, codes, n))
		return false;
	vr_error_destroy(*err);
	*err = NULL;
	return true;
}

void vr_error_keep(struct vr_error **fatal, struct vr_error *err)
{
	if (!err)
		return;
	if (!*fatal || (vr_error_is_fatal(err) && !vr_error_is_fatal(*fatal))) {
		vr_error_destroy(*fatal);
		*fatal = err;
	} else {
		vr_error_destroy(err);
	}
}

void vr_error_absorb_slow(struct vr_error **fatal, struct vr_error *err, const enum vr_error_code *codes,
			  size_t n)
{
	if (expected(err, codes, n))
		vr_error_destroy(err);
	else
		vr_error_keep(fatal, err);
}

struct vr_error *vr_grow(void *items, size_t *cap, size_t need, size_t elsize, size_t limit)
{
	if (need <= *cap)
		return NULL;
	if (need > limit)
		return vr_error_create(VR_ERR_LIMIT, "more than %zu entries", limit);
	size_t ncap = *cap ? *cap : 8;
	while (ncap < need)
		ncap *= 2;
	if (ncap > limit)
		ncap = limit;
	if (!elsize || ncap > SIZE_MAX / elsize)
		return &vr_error_oom; /* no allocation holds that many bytes */
	void **p = items;
	void *n = realloc(*p, ncap * elsize);
	if (!n)
		return &vr_error_oom;
	*p = n;
	*cap = ncap;
	return NULL;
}

char *vr_strdup(const char *s)
{
	return s ? strdup(s) : NULL;
}

char *vr_strndup(const char *s, size_t n)
{
	return s ? strndup(s, n) : NULL;
}

char *vr_memdup(const void *p, size_t n)
{
	char *d = n < SIZE_MAX ? malloc(n + 1) : NULL;
	if (!d)
		return NULL;
	if (n)
		memcpy(d, p, n);
	d[n] = '\0';
	return d;
}

char *vr_asprintf(const char *fmt, ...)
{
	char *s = NULL;
	va_list ap;
	va_start(ap, fmt);
	int r = vasprintf(&s, fmt, ap);
	va_end(ap);
	return r < 0 ? NULL : s;
}

struct vr_error *vr_strv_add(char ***v, size_t *n, size_t *cap, size_t limit, char *s)
{
	if (!s)
		return &vr_error_oom;
	struct vr_error *err = vr_grow(v, cap, *n + 1, sizeof(**v), limit);
	if (err) {
		free(s);
		return err;
	}
	(*v)[(*n)++] = s;
	return NULL;
}

struct vr_error *vr_strv_vaddf(char ***v, size_t *n, size_t *cap, size_t limit, const char *fmt,
			       va_list ap)
{
	if (*n >= limit)
		return vr_error_create(VR_ERR_LIMIT, "more than %zu entries", limit);
	char *s = NULL;
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	return vr_strv_add(v, n, cap, limit, s);
}

struct vr_error *vr_strv_addf(char ***v, size_t *n, size_t *cap, size_t limit, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	struct vr_error *err = vr_strv_vaddf(v, n, cap, limit, fmt, ap);
	va_end(ap);
	return err;
}

void vr_strv_free(char **v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		free(v[i]);
	free(v);
}
