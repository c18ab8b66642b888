/* vr_error: every fallible function returns one, NULL on success. */
#ifndef VR_ERROR_H
#define VR_ERROR_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

enum vr_error_code {
	VR_ERR_NOMEM = 1,
	VR_ERR_IO,          /* the OS refused a read/open */
	VR_ERR_FORMAT,      /* input is corrupt, truncated or hostile */
	VR_ERR_NOT_PRESENT, /* a page that the dump does not hold (filtered, never captured) */
	VR_ERR_FAULT,       /* a virtual address that the page tables do not map */
	VR_ERR_NOT_FOUND,   /* a symbol, type, member or key that is not there */
	VR_ERR_UNSUPPORTED, /* a valid input we do not handle */
	VR_ERR_LIMIT,       /* a count or size beyond a sanity bound */
	VR_ERR_USAGE,       /* caller mistake, bad option */
};

struct vr_error {
	enum vr_error_code code;
	bool is_static;
	char *message;
};

/* The static out-of-memory error: reporting an error never allocates. */
extern struct vr_error vr_error_oom;

struct vr_error *vr_error_create(enum vr_error_code code, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
struct vr_error *vr_error_vcreate(enum vr_error_code code, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));
/* Prefix context to err's message ("context: inner"); takes ownership of err,
 * passes NULL through. */
struct vr_error *vr_error_wrap(struct vr_error *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void vr_error_destroy(struct vr_error *err);

/* Out of memory is fatal: a caller returns it and never treats it as an
 * answer ("unknown", "absent"). */
static inline bool vr_error_is_fatal(const struct vr_error *err)
{
	return err && err->code == VR_ERR_NOMEM;
}

/* Catching an error names the codes the caller expects:
 *
 *	err = vr_read_u64(k, addr, &v);
 *	if (vr_error_catch(&err, VR_ERRS_READ))
 *		v = 0;		// the dump does not hold it: unknown
 *	else if (err)
 *		return err;	// out of memory, or a code nobody expected
 *
 * When *err has one of the codes it is destroyed, *err becomes NULL and the
 * catch returns true; otherwise *err is left for the caller to return.
 * Out of memory is never caught, whatever the codes name. */
bool vr_error_catch_codes(struct vr_error **err, const enum vr_error_code *codes, size_t n);
#define VR_ERR_CODES_(...) ((const enum vr_error_code[]){__VA_ARGS__})
#define VR_ERR_NCODES_(...) (sizeof(VR_ERR_CODES_(__VA_ARGS__)) / sizeof(enum vr_error_code))
#define vr_error_catch(err, ...) \
	vr_error_catch_codes((err), VR_ERR_CODES_(__VA_ARGS__), VR_ERR_NCODES_(__VA_ARGS__))

/* Where a function cannot return an error (a bool question, a walk's
 * callback), the error is absorbed: true when err is an error. The codes
 * named are expected and dropped; any other error, out of memory above
 * all, is kept in *fatal for the step that owns it to return when it ends
 * (the first one is kept; out of memory displaces any other). */
void vr_error_absorb_slow(struct vr_error **fatal, struct vr_error *err, const enum vr_error_code *codes,
			  size_t n);
static inline bool vr_error_absorb_codes(struct vr_error **fatal, struct vr_error *err,
					 const enum vr_error_code *codes, size_t n)
{
	if (!err)
		return false;
	vr_error_absorb_slow(fatal, err, codes, n);
	return true;
}
#define vr_error_absorb(fatal, err, ...) \
	vr_error_absorb_codes((fatal), (err), VR_ERR_CODES_(__VA_ARGS__), VR_ERR_NCODES_(__VA_ARGS__))
/* Keeps err in *fatal as vr_error_absorb() keeps an unexpected one. */
void vr_error_keep(struct vr_error **fatal, struct vr_error *err);

/* The codes of the usual questions, for a catch:
 * VR_ERRS_READ: the dump cannot give these bytes (an unmapped address, a
 * page it lacks, a corrupt page or page table, a file the OS will not read,
 * an address space that could not be established);
 * VR_ERRS_LAYOUT: the debug information does not say (no such symbol,
 * type, member or enumerator; corrupt, oversized or unhandled type data). */
#define VR_ERRS_READ VR_ERR_FAULT, VR_ERR_NOT_PRESENT, VR_ERR_FORMAT, VR_ERR_IO, VR_ERR_UNSUPPORTED
#define VR_ERRS_LAYOUT VR_ERR_NOT_FOUND, VR_ERR_FORMAT, VR_ERR_LIMIT, VR_ERR_UNSUPPORTED

#define _cleanup_(f) __attribute__((cleanup(f)))
static inline void vr_freep(void *p) { free(*(void **)p); }
#define _cleanup_free_ _cleanup_(vr_freep)
static inline void vr_error_destroyp(struct vr_error **e) { vr_error_destroy(*e); }
#define _cleanup_error_ _cleanup_(vr_error_destroyp)

/* Grow *items (of element size elsize) so that it holds at least need
 * elements; *cap is updated. Bounded by limit elements (VR_ERR_LIMIT). */
struct vr_error *vr_grow(void *items, size_t *cap, size_t need, size_t elsize, size_t limit);

/* strdup that reports out-of-memory as NULL; vr_strndup copies at most n
 * bytes and always terminates. */
char *vr_strdup(const char *s);
char *vr_strndup(const char *s, size_t n);
/* The n bytes at p, NUL bytes and all, plus a terminating NUL. */
char *vr_memdup(const void *p, size_t n);
/* asprintf returning NULL on failure. */
char *vr_asprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Lists of owned strings (a panic's sources, a report's reasons, a
 * disassembly listing, warnings): *v holds *n strings in room for *cap.
 * vr_strv_add appends s and takes it (s NULL: out of memory); a list that
 * already holds limit strings refuses it with VR_ERR_LIMIT (s is freed).
 * vr_strv_addf appends a formatted string. */
struct vr_error *vr_strv_add(char ***v, size_t *n, size_t *cap, size_t limit, char *s);
struct vr_error *vr_strv_addf(char ***v, size_t *n, size_t *cap, size_t limit, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
struct vr_error *vr_strv_vaddf(char ***v, size_t *n, size_t *cap, size_t limit, const char *fmt,
			       va_list ap) __attribute__((format(printf, 5, 0)));
/* Frees the n strings of v and v. */
void vr_strv_free(char **v, size_t n);

#endif
