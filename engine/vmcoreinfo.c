/* VMCOREINFO is a list of "KEY=VALUE\n" lines written by the kernel
 * (kernel/vmcore_info.c, arch/x86/kernel/vmcore_info_64.c): SYMBOL(x)=%lx,
 * OFFSET(t.m)=%lu, SIZE(t)=%lu, LENGTH(x)=%lu, NUMBER(x)=%ld, and plain keys
 * such as OSRELEASE, PAGESIZE, KERNELOFFSET=%lx, CRASHTIME=%lld. */
#define _GNU_SOURCE
#include "vmcoreinfo.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define MAX_LINES 100000
#define MAX_TEXT (1u << 20)

struct entry {
	const char *key, *value;
};

struct vr_vmcoreinfo {
	char *buf;
	struct entry *entries; /* in text order */
	size_t n;
	size_t *sorted;        /* indexes sorted by key, first occurrence first */
};

static int cmp_idx(const void *a, const void *b, void *ctx)
{
	const struct vr_vmcoreinfo *vi = ctx;
	size_t ia = *(const size_t *)a, ib = *(const size_t *)b;
	int c = strcmp(vi->entries[ia].key, vi->entries[ib].key);
	if (c)
		return c;
	return ia < ib ? -1 : ia > ib;
}

struct vr_error *vr_vmcoreinfo_parse(const char *text, size_t len, struct vr_vmcoreinfo **ret)
{
	if (len > MAX_TEXT)
		return vr_error_create(VR_ERR_LIMIT, "vmcoreinfo of %zu bytes exceeds the limit of %u",
				       len, MAX_TEXT);
	struct vr_vmcoreinfo *vi = calloc(1, sizeof(*vi));
	if (!vi)
		return &vr_error_oom;
	vi->buf = malloc(len + 1);
	if (!vi->buf)
		goto oom;
	memcpy(vi->buf, text, len);
	vi->buf[len] = '\0';
	/* the note may be NUL-padded; stop at the first NUL */
	len = strlen(vi->buf);

	size_t cap = 0;
	char *p = vi->buf, *end = vi->buf + len;
	while (p < end) {
		char *nl = memchr(p, '\n', (size_t)(end - p));
		char *line_end = nl ? nl : end;
		*line_end = '\0';
		if (line_end > p && line_end[-1] == '\r')
			line_end[-1] = '\0';
		char *eq = strchr(p, '=');
		if (eq && eq > p) {
			struct vr_error *err = vr_grow(&vi->entries, &cap, vi->n + 1,
						       sizeof(*vi->entries), MAX_LINES);
			if (err) {
				vr_vmcoreinfo_destroy(vi);
				return vr_error_wrap(err, "parsing vmcoreinfo");
			}
			*eq = '\0';
			vi->entries[vi->n].key = p;
			vi->entries[vi->n].value = eq + 1;
			vi->n++;
		}
		p = line_end + 1;
	}
	vi->sorted = malloc((vi->n ? vi->n : 1) * sizeof(*vi->sorted));
	if (!vi->sorted)
		goto oom;
	for (size_t i = 0; i < vi->n; i++)
		vi->sorted[i] = i;
	qsort_r(vi->sorted, vi->n, sizeof(*vi->sorted), cmp_idx, vi);
	*ret = vi;
	return NULL;
oom:
	vr_vmcoreinfo_destroy(vi);
	return &vr_error_oom;
}

void vr_vmcoreinfo_destroy(struct vr_vmcoreinfo *vi)
{
	if (!vi)
		return;
	free(vi->buf);
	free(vi->entries);
	free(vi->sorted);
	free(vi);
}

const char *vr_vmcoreinfo_get(const struct vr_vmcoreinfo *vi, const char *key)
{
	if (!vi || !key)
		return NULL;
	size_t lo = 0, hi = vi->n;
	/* lower bound: the first entry with this key */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (strcmp(vi->entries[vi->sorted[mid]].key, key) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < vi->n && strcmp(vi->entries[vi->sorted[lo]].key, key) == 0)
		return vi->entries[vi->sorted[lo]].value;
	return NULL;
}

static bool parse_u64(const char *s, int base, uint64_t *ret)
{
	if (!s || !*s || *s == '-' || *s == '+' || *s == ' ')
		return false;
	if (base == 16 && (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')))
		s += 2;
	if (!*s)
		return false;
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, base);
	if (errno || *end)
		return false;
	*ret = v;
	return true;
}

/* value of "PREFIX(a)" or "PREFIX(a.b)" */
static bool get_keyed(const struct vr_vmcoreinfo *vi, const char *prefix, const char *a,
		      const char *b, int base, uint64_t *ret)
{
	char key[512];
	int n = b ? snprintf(key, sizeof(key), "%s(%s.%s)", prefix, a, b) :
		    snprintf(key, sizeof(key), "%s(%s)", prefix, a);
	if (n < 0 || (size_t)n >= sizeof(key))
		return false;
	return parse_u64(vr_vmcoreinfo_get(vi, key), base, ret);
}

bool vr_vmcoreinfo_symbol(const struct vr_vmcoreinfo *vi, const char *name, uint64_t *ret)
{
	return get_keyed(vi, "SYMBOL", name, NULL, 16, ret);
}

bool vr_vmcoreinfo_offset(const struct vr_vmcoreinfo *vi, const char *type, const char *member,
			  uint64_t *ret)
{
	return get_keyed(vi, "OFFSET", type, member, 10, ret);
}

bool vr_vmcoreinfo_size(const struct vr_vmcoreinfo *vi, const char *type, uint64_t *ret)
{
	return get_keyed(vi, "SIZE", type, NULL, 10, ret);
}

bool vr_vmcoreinfo_length(const struct vr_vmcoreinfo *vi, const char *name, uint64_t *ret)
{
	return get_keyed(vi, "LENGTH", name, NULL, 10, ret);
}

bool vr_vmcoreinfo_number(const struct vr_vmcoreinfo *vi, const char *name, int64_t *ret)
{
	char key[512];
	int n = snprintf(key, sizeof(key), "NUMBER(%s)", name);
	if (n < 0 || (size_t)n >= sizeof(key))
		return false;
	const char *s = vr_vmcoreinfo_get(vi, key);
	if (!s || !*s || *s == ' ')
		return false;
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno || *end)
		return false;
	*ret = v;
	return true;
}

bool vr_vmcoreinfo_hex(const struct vr_vmcoreinfo *vi, const char *key, uint64_t *ret)
{
	return parse_u64(vr_vmcoreinfo_get(vi, key), 16, ret);
}

size_t vr_vmcoreinfo_count(const struct vr_vmcoreinfo *vi)
{
	return vi ? vi->n : 0;
}

const char *vr_vmcoreinfo_key_at(const struct vr_vmcoreinfo *vi, size_t i)
{
	return vi && i < vi->n ? vi->entries[i].key : NULL;
}

const char *vr_vmcoreinfo_value_at(const struct vr_vmcoreinfo *vi, size_t i)
{
	return vi && i < vi->n ? vi->entries[i].value : NULL;
}
