/* BTF parser: bounds-checked reading of the format in
 * include/uapi/linux/btf.h (Documentation/bpf/btf.rst).
 *
 * Layout: struct btf_header { u16 magic = 0xeB9F; u8 version = 1; u8 flags;
 * u32 hdr_len; u32 type_off, type_len, str_off, str_len; } with the offsets
 * counted from the end of the header. The type section is a sequence of
 * struct btf_type { u32 name_off; u32 info; u32 size_or_type; } records,
 * each followed by kind-specific data; type ids count from 1 in record
 * order (0 is void). info holds vlen in bits 0-15, kind in bits 24-28 and
 * kind_flag in bit 31.
 *
 * Every record is checked to lie inside the type section when the blob is
 * loaded, so later lookups read records without re-checking their extent;
 * type ids read from records are checked at every use. */
#define _GNU_SOURCE
#include "btf.h"

#include <stdio.h>
#include <string.h>

#include "cursor.h"

#define BTF_MAGIC 0xeB9F
#define BTF_HDR_MIN 24u
/* Bounds on what a record may claim: the kernel's own limits are
 * BTF_MAX_TYPE 0xfffff types and BTF_MAX_VLEN 0xffff members. */
#define BTF_MAX_TYPES 0x100000u
/* Depth of typedef/qualifier chains, array nesting and anonymous member
 * nesting that we follow; real kernels stay well below. */
#define BTF_MAX_CHAIN 64
#define BTF_MAX_NEST 32

struct btf_name_entry {
	uint32_t name_off; /* 0 = empty slot */
	uint32_t id;
	uint32_t index;    /* enumerator index within its type */
};

struct btf_hash {
	struct btf_name_entry *slots;
	size_t mask; /* capacity - 1, capacity a power of two */
};

struct vr_btf {
	const uint8_t *data;
	uint8_t *owned;       /* data, when the BTF holds its own copy */
	size_t len;
	const uint8_t *types; /* type section */
	uint32_t types_len;
	const char *strs;     /* string section, NUL-terminated at its end */
	uint32_t strs_len;
	uint32_t *offs;       /* offs[id]: offset of the record in the type section */
	uint32_t n;           /* number of ids including 0 */
	struct btf_hash names; /* struct/union/enum/typedef/fwd/int/float names */
	struct btf_hash enumerators;
};

/* ---- records ---- */

static uint32_t rec_info(const struct vr_btf *b, uint32_t id)
{
	return vr_le32(b->types + b->offs[id] + 4);
}

static int rec_kind(const struct vr_btf *b, uint32_t id)
{
	return (int)((rec_info(b, id) >> 24) & 0x1f);
}

static uint32_t rec_vlen(const struct vr_btf *b, uint32_t id)
{
	return rec_info(b, id) & 0xffff;
}

static bool rec_kflag(const struct vr_btf *b, uint32_t id)
{
	return rec_info(b, id) >> 31;
}

static uint32_t rec_size_type(const struct vr_btf *b, uint32_t id)
{
	return vr_le32(b->types + b->offs[id] + 8);
}

/* Kind-specific data following the 12-byte header. */
static const uint8_t *rec_extra(const struct vr_btf *b, uint32_t id)
{
	return b->types + b->offs[id] + 12;
}

static const char *str_at(const struct vr_btf *b, uint32_t off)
{
	/* Offsets were checked when the record was loaded, but extra data
	 * (member and enumerator names) is checked here. */
	if (off >= b->strs_len)
		return "";
	return b->strs + off;
}

static const char *rec_name(const struct vr_btf *b, uint32_t id)
{
	return str_at(b, vr_le32(b->types + b->offs[id]));
}

/* Bytes of kind-specific data after the header, or -1 for an unknown kind. */
static int64_t extra_size(int kind, uint32_t vlen)
{
	switch (kind) {
	case VR_BTF_KIND_INT:
	case VR_BTF_KIND_VAR:
	case VR_BTF_KIND_DECL_TAG:
		return 4;
	case VR_BTF_KIND_PTR:
	case VR_BTF_KIND_FWD:
	case VR_BTF_KIND_TYPEDEF:
	case VR_BTF_KIND_VOLATILE:
	case VR_BTF_KIND_CONST:
	case VR_BTF_KIND_RESTRICT:
	case VR_BTF_KIND_FUNC:
	case VR_BTF_KIND_FLOAT:
	case VR_BTF_KIND_TYPE_TAG:
		return 0;
	case VR_BTF_KIND_ARRAY:
		return 12;
	case VR_BTF_KIND_STRUCT:
	case VR_BTF_KIND_UNION:
	case VR_BTF_KIND_DATASEC:
	case VR_BTF_KIND_ENUM64:
		return 12 * (int64_t)vlen;
	case VR_BTF_KIND_ENUM:
	case VR_BTF_KIND_FUNC_PROTO:
		return 8 * (int64_t)vlen;
	default:
		return -1;
	}
}

/* ---- name hash ---- */

static uint64_t hash_str(const char *s)
{
	/* FNV-1a */
	uint64_t h = 0xcbf29ce484222325ull;
	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 0x100000001b3ull;
	return h;
}

static struct vr_error *hash_init(struct btf_hash *h, size_t n)
{
	size_t cap = 16;
	while (cap < 2 * n + 1)
		cap *= 2;
	h->slots = calloc(cap, sizeof(*h->slots));
	if (!h->slots)
		return &vr_error_oom;
	h->mask = cap - 1;
	return NULL;
}

static void hash_add(const struct vr_btf *b, struct btf_hash *h, uint32_t name_off, uint32_t id,
		     uint32_t index)
{
	size_t i = hash_str(str_at(b, name_off)) & h->mask;
	while (h->slots[i].name_off)
		i = (i + 1) & h->mask;
	h->slots[i] = (struct btf_name_entry){ name_off, id, index };
}

/* Calls fn for every entry named name until it returns true. */
static bool hash_find(const struct vr_btf *b, const struct btf_hash *h, const char *name,
		      bool (*fn)(const struct vr_btf *, const struct btf_name_entry *, void *),
		      void *arg)
{
	if (!h->slots)
		return false;
	size_t i = hash_str(name) & h->mask;
	for (; h->slots[i].name_off; i = (i + 1) & h->mask) {
		if (strcmp(str_at(b, h->slots[i].name_off), name) == 0 && fn(b, &h->slots[i], arg))
			return true;
	}
	return false;
}

static bool kind_is_named_type(int kind)
{
	switch (kind) {
	case VR_BTF_KIND_INT:
	case VR_BTF_KIND_STRUCT:
	case VR_BTF_KIND_UNION:
	case VR_BTF_KIND_ENUM:
	case VR_BTF_KIND_ENUM64:
	case VR_BTF_KIND_FWD:
	case VR_BTF_KIND_TYPEDEF:
	case VR_BTF_KIND_FLOAT:
		return true;
	default:
		return false;
	}
}

/* ---- loading ---- */

void vr_btf_destroy(struct vr_btf *btf)
{
	if (!btf)
		return;
	free(btf->names.slots);
	free(btf->enumerators.slots);
	free(btf->offs);
	free(btf->owned);
	free(btf);
}

static void vr_btf_destroyp(struct vr_btf **b)
{
	vr_btf_destroy(*b);
}

static struct vr_error *parse_header(struct vr_btf *b)
{
	struct vr_cursor c;
	vr_cursor_init(&c, b->data, b->len);
	uint16_t magic = vr_cursor_u16(&c);
	uint8_t version = vr_cursor_u8(&c);
	vr_cursor_u8(&c); /* flags */
	uint32_t hdr_len = vr_cursor_u32(&c);
	uint32_t type_off = vr_cursor_u32(&c);
	uint32_t type_len = vr_cursor_u32(&c);
	uint32_t str_off = vr_cursor_u32(&c);
	uint32_t str_len = vr_cursor_u32(&c);
	if (c.bad)
		return vr_error_create(VR_ERR_FORMAT, "header: %zu bytes, need %u", b->len, BTF_HDR_MIN);
	if (magic == 0x9FEB)
		return vr_error_create(VR_ERR_UNSUPPORTED, "big-endian BTF");
	if (magic != BTF_MAGIC)
		return vr_error_create(VR_ERR_FORMAT, "bad magic 0x%04x", magic);
	if (version != 1)
		return vr_error_create(VR_ERR_UNSUPPORTED, "version %u", version);
	if (hdr_len < BTF_HDR_MIN || hdr_len > b->len)
		return vr_error_create(VR_ERR_FORMAT, "header length %u out of range", hdr_len);
	uint64_t body = b->len - hdr_len;
	if ((uint64_t)type_off + type_len > body)
		return vr_error_create(VR_ERR_FORMAT,
				       "type section at 0x%x+0x%x beyond the end at 0x%zx",
				       hdr_len + type_off, type_len, b->len);
	if ((uint64_t)str_off + str_len > body)
		return vr_error_create(VR_ERR_FORMAT,
				       "string section at 0x%x+0x%x beyond the end at 0x%zx",
				       hdr_len + str_off, str_len, b->len);
	if (type_off % 4)
		return vr_error_create(VR_ERR_FORMAT, "type section offset 0x%x not aligned", type_off);
	/* The kernel requires the string section to start and end with NUL
	 * (kernel/bpf/btf.c btf_check_sec_info / btf_parse_str_sec); that
	 * makes every in-range offset a terminated string. */
	if (str_len == 0 || b->data[hdr_len + str_off] != 0 ||
	    b->data[hdr_len + str_off + str_len - 1] != 0)
		return vr_error_create(VR_ERR_FORMAT, "string section not NUL-delimited");
	b->types = b->data + hdr_len + type_off;
	b->types_len = type_len;
	b->strs = (const char *)b->data + hdr_len + str_off;
	b->strs_len = str_len;
	return NULL;
}

static struct vr_error *parse_types(struct vr_btf *b)
{
	/* First pass: count and check record extents. */
	size_t cap = 0;
	uint32_t n = 1;
	uint32_t pos = 0;
	struct vr_error *err;
	if ((err = vr_grow(&b->offs, &cap, 1, sizeof(*b->offs), BTF_MAX_TYPES)))
		return err;
	b->offs[0] = 0;
	size_t n_named = 0, n_enumerators = 0;
	while (pos < b->types_len) {
		if (b->types_len - pos < 12)
			return vr_error_create(VR_ERR_FORMAT, "type %u at offset 0x%x: truncated header", n,
					       pos);
		uint32_t name_off = vr_le32(b->types + pos);
		uint32_t info = vr_le32(b->types + pos + 4);
		int kind = (int)((info >> 24) & 0x1f);
		uint32_t vlen = info & 0xffff;
		int64_t extra = extra_size(kind, vlen);
		if (extra < 0)
			return vr_error_create(VR_ERR_FORMAT, "type %u at offset 0x%x: unknown kind %d", n,
					       pos, kind);
		if ((uint64_t)b->types_len - pos - 12 < (uint64_t)extra)
			return vr_error_create(VR_ERR_FORMAT,
					       "type %u at offset 0x%x: %lld bytes of data past the end",
					       n, pos, (long long)extra);
		if (name_off >= b->strs_len)
			return vr_error_create(VR_ERR_FORMAT,
					       "type %u at offset 0x%x: name offset 0x%x out of range", n,
					       pos, name_off);
		if ((err = vr_grow(&b->offs, &cap, (size_t)n + 1, sizeof(*b->offs), BTF_MAX_TYPES)))
			return vr_error_wrap(err, "type %u at offset 0x%x", n, pos);
		b->offs[n] = pos;
		if (name_off && kind_is_named_type(kind))
			n_named++;
		if (kind == VR_BTF_KIND_ENUM || kind == VR_BTF_KIND_ENUM64)
			n_enumerators += vlen;
		n++;
		pos += 12 + (uint32_t)extra;
	}
	b->n = n;

	/* Second pass: name indexes. */
	if ((err = hash_init(&b->names, n_named)) || (err = hash_init(&b->enumerators, n_enumerators)))
		return err;
	for (uint32_t id = 1; id < n; id++) {
		int kind = rec_kind(b, id);
		uint32_t name_off = vr_le32(b->types + b->offs[id]);
		if (name_off && kind_is_named_type(kind))
			hash_add(b, &b->names, name_off, id, 0);
		if (kind == VR_BTF_KIND_ENUM || kind == VR_BTF_KIND_ENUM64) {
			uint32_t stride = kind == VR_BTF_KIND_ENUM ? 8 : 12;
			const uint8_t *e = rec_extra(b, id);
			for (uint32_t i = 0; i < rec_vlen(b, id); i++) {
				uint32_t eoff = vr_le32(e + (size_t)i * stride);
				if (eoff && eoff < b->strs_len)
					hash_add(b, &b->enumerators, eoff, id, i);
			}
		}
	}
	return NULL;
}

struct vr_error *vr_btf_create(const void *data, size_t len, struct vr_btf **ret)
{
	uint8_t *copy = malloc(len ? len : 1);
	if (!copy)
		return &vr_error_oom;
	if (len)
		memcpy(copy, data, len);
	return vr_btf_create_in_place(copy, len, true, ret);
}

struct vr_error *vr_btf_create_in_place(const void *data, size_t len, bool take, struct vr_btf **ret)
{
	__attribute__((cleanup(vr_btf_destroyp))) struct vr_btf *b = calloc(1, sizeof(*b));
	if (!b) {
		if (take)
			free((void *)data);
		return &vr_error_oom;
	}
	if (take)
		b->owned = (uint8_t *)data;
	if (len > VR_BTF_MAX_SIZE)
		return vr_error_create(VR_ERR_LIMIT, "parsing BTF: %zu bytes, more than the %u allowed",
				       len, VR_BTF_MAX_SIZE);
	b->data = data;
	b->len = len;
	struct vr_error *err = parse_header(b);
	if (!err)
		err = parse_types(b);
	if (err)
		return vr_error_wrap(err, "parsing BTF");
	*ret = b;
	b = NULL;
	return NULL;
}

uint32_t vr_btf_n_types(const struct vr_btf *btf)
{
	return btf->n;
}

bool vr_btf_type_info(const struct vr_btf *btf, uint32_t id, int *ret_kind, const char **ret_name)
{
	if (id == 0 || id >= btf->n)
		return false;
	*ret_kind = rec_kind(btf, id);
	*ret_name = rec_name(btf, id);
	return true;
}

/* ---- lookups ---- */

struct find_arg {
	int want;       /* kind wanted, or -1 for any named type */
	uint32_t found; /* best so far */
	int rank;       /* lower is better */
};

static int type_rank(const struct vr_btf *b, uint32_t id, int want)
{
	int kind = rec_kind(b, id);
	if (want >= 0)
		return kind == want ? 0 : -1;
	switch (kind) {
	case VR_BTF_KIND_STRUCT:
	case VR_BTF_KIND_UNION:
	case VR_BTF_KIND_ENUM:
	case VR_BTF_KIND_ENUM64:
	case VR_BTF_KIND_INT:
	case VR_BTF_KIND_FLOAT:
		return 0;
	case VR_BTF_KIND_TYPEDEF:
		return 1;
	case VR_BTF_KIND_FWD:
		return 2;
	default:
		return -1;
	}
}

static bool find_cb(const struct vr_btf *b, const struct btf_name_entry *e, void *arg)
{
	struct find_arg *fa = arg;
	int r = type_rank(b, e->id, fa->want);
	if (r < 0)
		return false;
	/* Ties go to the lowest id: the first definition, stable across runs. */
	if (!fa->found || r < fa->rank || (r == fa->rank && e->id < fa->found)) {
		fa->found = e->id;
		fa->rank = r;
	}
	return false;
}

struct vr_error *vr_btf_find_struct(const struct vr_btf *btf, const char *name, uint32_t *ret)
{
	struct find_arg fa = { .want = VR_BTF_KIND_STRUCT };
	hash_find(btf, &btf->names, name, find_cb, &fa);
	if (!fa.found) {
		fa.want = VR_BTF_KIND_UNION;
		hash_find(btf, &btf->names, name, find_cb, &fa);
	}
	if (!fa.found)
		return vr_error_create(VR_ERR_NOT_FOUND, "BTF has no struct %s", name);
	*ret = fa.found;
	return NULL;
}

struct vr_error *vr_btf_find_type(const struct vr_btf *btf, const char *name, uint32_t *ret)
{
	struct find_arg fa = { .want = -1 };
	hash_find(btf, &btf->names, name, find_cb, &fa);
	if (!fa.found)
		return vr_error_create(VR_ERR_NOT_FOUND, "BTF has no type %s", name);
	*ret = fa.found;
	return NULL;
}

/* Follows typedefs, qualifiers and type tags to the underlying type. */
static struct vr_error *resolve(const struct vr_btf *b, uint32_t id, uint32_t *ret)
{
	for (int i = 0; i < BTF_MAX_CHAIN; i++) {
		if (id == 0) {
			*ret = 0;
			return NULL;
		}
		if (id >= b->n)
			return vr_error_create(VR_ERR_FORMAT, "BTF type id %u out of range (%u types)", id,
					       b->n);
		switch (rec_kind(b, id)) {
		case VR_BTF_KIND_TYPEDEF:
		case VR_BTF_KIND_VOLATILE:
		case VR_BTF_KIND_CONST:
		case VR_BTF_KIND_RESTRICT:
		case VR_BTF_KIND_TYPE_TAG:
			id = rec_size_type(b, id);
			break;
		default:
			*ret = id;
			return NULL;
		}
	}
	return vr_error_create(VR_ERR_LIMIT, "BTF type %u: typedef chain longer than %d", id,
			       BTF_MAX_CHAIN);
}

static struct vr_error *type_size(const struct vr_btf *b, uint32_t id, int depth, uint64_t *ret)
{
	if (depth > BTF_MAX_NEST)
		return vr_error_create(VR_ERR_LIMIT, "BTF type %u: arrays nested deeper than %d", id,
				       BTF_MAX_NEST);
	struct vr_error *err = resolve(b, id, &id);
	if (err)
		return err;
	if (id == 0)
		return vr_error_create(VR_ERR_FORMAT, "BTF: size of void");
	switch (rec_kind(b, id)) {
	case VR_BTF_KIND_INT:
	case VR_BTF_KIND_STRUCT:
	case VR_BTF_KIND_UNION:
	case VR_BTF_KIND_ENUM:
	case VR_BTF_KIND_ENUM64:
	case VR_BTF_KIND_FLOAT:
	case VR_BTF_KIND_DATASEC:
		*ret = rec_size_type(b, id);
		return NULL;
	case VR_BTF_KIND_PTR:
		/* BTF does not record pointer size; x86-64 is the target. */
		*ret = 8;
		return NULL;
	case VR_BTF_KIND_ARRAY: {
		const uint8_t *a = rec_extra(b, id);
		uint32_t elem = vr_le32(a);
		uint32_t nelems = vr_le32(a + 8);
		uint64_t esz;
		if ((err = type_size(b, elem, depth + 1, &esz)))
			return err;
		if (esz && nelems > UINT64_MAX / esz)
			return vr_error_create(VR_ERR_FORMAT, "BTF type %u: array size overflows", id);
		*ret = esz * nelems;
		return NULL;
	}
	default:
		return vr_error_create(VR_ERR_FORMAT, "BTF type %u (%s) of kind %d has no size", id,
				       rec_name(b, id), rec_kind(b, id));
	}
}

struct vr_error *vr_btf_type_size(const struct vr_btf *btf, uint32_t id, uint64_t *ret)
{
	return type_size(btf, id, 0, ret);
}

static bool is_composite(const struct vr_btf *b, uint32_t id)
{
	int k = rec_kind(b, id);
	return k == VR_BTF_KIND_STRUCT || k == VR_BTF_KIND_UNION;
}

/* One struct/union member record: struct btf_member { u32 name_off; u32
 * type; u32 offset; }; with kind_flag, offset holds the bitfield size in
 * bits 24-31 and the bit offset in bits 0-23. */
static void member_rec(const struct vr_btf *b, uint32_t id, uint32_t i, uint32_t *name_off,
		       uint32_t *type, uint32_t *bit_off, uint32_t *bit_size)
{
	const uint8_t *m = rec_extra(b, id) + (size_t)i * 12;
	uint32_t off = vr_le32(m + 8);
	*name_off = vr_le32(m);
	*type = vr_le32(m + 4);
	if (rec_kflag(b, id)) {
		*bit_off = off & 0xffffff;
		*bit_size = off >> 24;
	} else {
		*bit_off = off;
		*bit_size = 0;
	}
}

/* Finds member name (length len) in composite id, looking through anonymous
 * members. On success adds the member's bit offset to *bits and sets
 * *ret_type and *ret_bit_size. */
static struct vr_error *find_member(const struct vr_btf *b, uint32_t id, const char *name,
				    size_t len, int depth, uint64_t *bits, uint32_t *ret_type,
				    uint32_t *ret_bit_size)
{
	if (depth > BTF_MAX_NEST)
		return vr_error_create(VR_ERR_LIMIT, "anonymous members nested deeper than %d",
				       BTF_MAX_NEST);
	uint32_t vlen = rec_vlen(b, id);
	for (uint32_t i = 0; i < vlen; i++) {
		uint32_t name_off, type, bit_off, bit_size;
		member_rec(b, id, i, &name_off, &type, &bit_off, &bit_size);
		const char *mname = str_at(b, name_off);
		if (*mname) {
			if (strlen(mname) == len && memcmp(mname, name, len) == 0) {
				*bits += bit_off;
				*ret_type = type;
				*ret_bit_size = bit_size;
				return NULL;
			}
			continue;
		}
		uint32_t rt;
		struct vr_error *err = resolve(b, type, &rt);
		if (err)
			return err;
		if (rt == 0 || !is_composite(b, rt))
			continue;
		uint64_t sub = 0;
		err = find_member(b, rt, name, len, depth + 1, &sub, ret_type, ret_bit_size);
		if (!err) {
			*bits += bit_off + sub;
			return NULL;
		}
		if (err->code != VR_ERR_NOT_FOUND)
			return err;
		vr_error_destroy(err);
	}
	return vr_error_create(VR_ERR_NOT_FOUND, "no member %.*s", (int)len, name);
}

struct vr_error *vr_btf_member(const struct vr_btf *btf, uint32_t id, const char *path,
			       struct vr_btf_member *ret)
{
	uint64_t bits = 0;
	uint32_t cur = id, bit_size = 0;
	const char *p = path;
	struct vr_error *err;
	const char *tname = id < btf->n && id ? rec_name(btf, id) : "?";
	for (int steps = 0;; steps++) {
		if (steps > BTF_MAX_NEST)
			return vr_error_create(VR_ERR_LIMIT, "member path %s: too deep", path);
		size_t len = strcspn(p, ".[");
		uint32_t rt;
		if ((err = resolve(btf, cur, &rt)))
			return vr_error_wrap(err, "%s.%s", tname, path);
		if (rt == 0 || !is_composite(btf, rt))
			return vr_error_create(VR_ERR_NOT_FOUND, "%s.%s: %.*s is not in a struct or union",
					       tname, path, (int)len, p);
		if (len == 0)
			return vr_error_create(VR_ERR_USAGE, "%s.%s: empty member name", tname, path);
		if ((err = find_member(btf, rt, p, len, 0, &bits, &cur, &bit_size))) {
			if (err->code == VR_ERR_NOT_FOUND) {
				vr_error_destroy(err);
				return vr_error_create(VR_ERR_NOT_FOUND, "%s has no member %s", tname, path);
			}
			return vr_error_wrap(err, "%s.%s", tname, path);
		}
		p += len;
		/* Array subscripts: name[3][1] */
		while (*p == '[') {
			char *end;
			unsigned long long idx = strtoull(p + 1, &end, 0);
			if (end == p + 1 || *end != ']')
				return vr_error_create(VR_ERR_USAGE, "%s.%s: bad subscript", tname, path);
			p = end + 1;
			uint32_t at;
			if ((err = resolve(btf, cur, &at)))
				return vr_error_wrap(err, "%s.%s", tname, path);
			if (at == 0 || rec_kind(btf, at) != VR_BTF_KIND_ARRAY)
				return vr_error_create(VR_ERR_NOT_FOUND, "%s.%s: subscript of a non-array",
						       tname, path);
			const uint8_t *a = rec_extra(btf, at);
			uint32_t elem = vr_le32(a), nelems = vr_le32(a + 8);
			/* nelems 0 is a flexible array: any index goes. */
			if (nelems && idx >= nelems)
				return vr_error_create(VR_ERR_NOT_FOUND,
						       "%s.%s: index %llu beyond %u elements", tname, path,
						       idx, nelems);
			uint64_t esz;
			if ((err = type_size(btf, elem, 0, &esz)))
				return vr_error_wrap(err, "%s.%s", tname, path);
			if (esz && idx > (UINT64_MAX / 16) / esz)
				return vr_error_create(VR_ERR_LIMIT, "%s.%s: index too large", tname, path);
			bits += idx * esz * 8;
			cur = elem;
			bit_size = 0;
		}
		if (*p == 0)
			break;
		if (*p != '.')
			return vr_error_create(VR_ERR_USAGE, "%s.%s: unexpected '%c'", tname, path, *p);
		p++;
	}
	uint64_t size = 0;
	err = type_size(btf, cur, 0, &size);
	if (err) {
		/* A member whose size is unknown (a flexible array of an
		 * incomplete type) still has an offset. */
		vr_error_destroy(err);
		size = 0;
	}
	ret->offset = bits / 8;
	ret->bit_offset = (uint32_t)(bits % 8);
	ret->bit_size = bit_size;
	ret->size = size;
	ret->type = cur;
	return NULL;
}

/* Appends ".name" (or "name" at the start) to the growing path. */
static struct vr_error *path_append(char **path, const char *name)
{
	char *n = vr_asprintf("%s%s%s", *path ? *path : "", *path ? "." : "", name);
	if (!n)
		return &vr_error_oom;
	free(*path);
	*path = n;
	return NULL;
}

/* Appends an array subscript "[idx]". */
static struct vr_error *path_index(char **path, uint64_t idx)
{
	char *n = vr_asprintf("%s[%llu]", *path ? *path : "", (unsigned long long)idx);
	if (!n)
		return &vr_error_oom;
	free(*path);
	*path = n;
	return NULL;
}

/* Descends into composite id for byte offset off, appending names to
 * *path. VR_ERR_NOT_FOUND when off falls in padding. */
static struct vr_error *member_at(const struct vr_btf *b, uint32_t id, uint64_t off, int depth,
				  char **path)
{
	if (depth > BTF_MAX_NEST)
		return NULL; /* deep enough: name what we have */
	/* corrupt or over-deep type data (FORMAT, LIMIT) ends the path where
	 * it is, as padding does */
	struct vr_error *err;
	uint32_t vlen = rec_vlen(b, id);
	for (uint32_t i = 0; i < vlen; i++) {
		uint32_t name_off, type, bit_off, bit_size;
		member_rec(b, id, i, &name_off, &type, &bit_off, &bit_size);
		uint64_t start = bit_off / 8, size;
		if (bit_size) {
			size = (bit_off % 8 + bit_size + 7) / 8;
		} else if ((err = type_size(b, type, 0, &size))) {
			if (!vr_error_catch(&err, VR_ERR_FORMAT, VR_ERR_LIMIT, VR_ERR_NOT_FOUND))
				return err;
			continue;
		}
		if (size == 0 || off < start || off - start >= size)
			continue;
		const char *mname = str_at(b, name_off);
		uint32_t rt;
		if ((err = resolve(b, type, &rt))) {
			if (!vr_error_catch(&err, VR_ERR_FORMAT, VR_ERR_LIMIT, VR_ERR_NOT_FOUND))
				return err;
			rt = 0;
		}
		_cleanup_free_ char *before = NULL;
		if (*path && !(before = vr_strdup(*path)))
			return &vr_error_oom;
		if (*mname && (err = path_append(path, mname)))
			return err;
		uint64_t rel = off - start;
		/* Arrays of structs: name the element, then descend into it;
		 * an array of scalars is named as a whole ("comm"). */
		for (int n = 0; rt && rec_kind(b, rt) == VR_BTF_KIND_ARRAY && n < BTF_MAX_NEST; n++) {
			uint32_t elem = vr_le32(rec_extra(b, rt)), ert;
			uint64_t esz = 0;
			if ((err = resolve(b, elem, &ert)) || (err = type_size(b, elem, 0, &esz)))
				return vr_error_catch(&err, VR_ERR_FORMAT, VR_ERR_LIMIT, VR_ERR_NOT_FOUND) ? NULL : err;
			if (ert == 0 || !(is_composite(b, ert) || rec_kind(b, ert) == VR_BTF_KIND_ARRAY) || esz == 0)
				return NULL;
			if ((err = path_index(path, rel / esz)))
				return err;
			rel %= esz;
			if ((err = resolve(b, elem, &rt)))
				return vr_error_catch(&err, VR_ERR_FORMAT, VR_ERR_LIMIT, VR_ERR_NOT_FOUND) ? NULL : err;
		}
		bool composite = rt && is_composite(b, rt);
		if (!*mname && !composite)
			continue; /* anonymous padding bitfield */
		if (!composite)
			return NULL;
		err = member_at(b, rt, rel, depth + 1, path);
		if (!err || err->code != VR_ERR_NOT_FOUND)
			return err;
		vr_error_destroy(err);
		if (*mname)
			return NULL; /* padding inside a named member: name the member */
		/* Padding inside an anonymous member: a later union member
		 * may still cover off. */
		free(*path);
		*path = before;
		before = NULL;
	}
	return vr_error_create(VR_ERR_NOT_FOUND, "no member at offset 0x%llx",
			       (unsigned long long)off);
}

struct vr_error *vr_btf_member_at(const struct vr_btf *btf, uint32_t id, uint64_t offset,
				  char **ret)
{
	uint32_t rt;
	struct vr_error *err = resolve(btf, id, &rt);
	if (err)
		return err;
	if (rt == 0 || !is_composite(btf, rt))
		return vr_error_create(VR_ERR_NOT_FOUND, "BTF type %u is not a struct or union", id);
	char *path = NULL;
	err = member_at(btf, rt, offset, 0, &path);
	if (!err && !path)
		err = vr_error_create(VR_ERR_NOT_FOUND, "no member at offset 0x%llx",
				      (unsigned long long)offset);
	if (err) {
		free(path);
		return vr_error_wrap(err, "%s", rec_name(btf, rt));
	}
	*ret = path;
	return NULL;
}

struct enum_arg {
	int64_t value;
	bool found;
};

static bool enum_cb(const struct vr_btf *b, const struct btf_name_entry *e, void *arg)
{
	struct enum_arg *ea = arg;
	const uint8_t *ex = rec_extra(b, e->id);
	bool is_signed = rec_kflag(b, e->id);
	if (rec_kind(b, e->id) == VR_BTF_KIND_ENUM) {
		/* struct btf_enum { u32 name_off; s32 val; }; kind_flag marks
		 * a signed enum, else the value is unsigned. */
		uint32_t v = vr_le32(ex + (size_t)e->index * 8 + 4);
		ea->value = is_signed ? (int64_t)(int32_t)v : (int64_t)v;
	} else {
		/* struct btf_enum64 { u32 name_off; u32 val_lo32; u32 val_hi32; } */
		const uint8_t *p = ex + (size_t)e->index * 12;
		ea->value = (int64_t)((uint64_t)vr_le32(p + 4) | (uint64_t)vr_le32(p + 8) << 32);
	}
	ea->found = true;
	return true;
}

struct vr_error *vr_btf_enum_value(const struct vr_btf *btf, const char *name, int64_t *ret)
{
	struct enum_arg ea = { 0 };
	hash_find(btf, &btf->enumerators, name, enum_cb, &ea);
	if (!ea.found)
		return vr_error_create(VR_ERR_NOT_FOUND, "BTF has no enumerator %s", name);
	*ret = ea.value;
	return NULL;
}

/* ---- variables ---- */

struct vr_error *vr_btf_find_var(const struct vr_btf *btf, const char *name, uint32_t *ret)
{
	/* VAR records are few and not in the name index: a linear scan. */
	for (uint32_t id = 1; id < btf->n; id++) {
		if (rec_kind(btf, id) != VR_BTF_KIND_VAR || strcmp(rec_name(btf, id), name) != 0)
			continue;
		uint32_t type = rec_size_type(btf, id);
		if (type >= btf->n)
			return vr_error_create(VR_ERR_FORMAT, "BTF variable %s: type id %u out of range",
					       name, type);
		*ret = type;
		return NULL;
	}
	return vr_error_create(VR_ERR_NOT_FOUND, "BTF has no variable %s", name);
}

struct vr_error *vr_btf_member_anywhere(const struct vr_btf *btf, const char *member,
					struct vr_btf_member *ret)
{
	struct vr_btf_member first = {0};
	uint32_t first_id = 0, n = 0;
	for (uint32_t id = 1; id < btf->n; id++) {
		if (!is_composite(btf, id))
			continue;
		uint32_t vlen = rec_vlen(btf, id);
		bool has = false;
		for (uint32_t i = 0; i < vlen && !has; i++) {
			uint32_t name_off, type, bit_off, bit_size;
			member_rec(btf, id, i, &name_off, &type, &bit_off, &bit_size);
			has = !strcmp(str_at(btf, name_off), member);
		}
		if (!has)
			continue;
		struct vr_btf_member m;
		struct vr_error *err = vr_btf_member(btf, id, member, &m);
		if (err)
			return err;
		if (n++ == 0) {
			first = m;
			first_id = id;
		} else if (m.offset != first.offset || m.size != first.size) {
			const char *a = rec_name(btf, first_id), *b = rec_name(btf, id);
			return vr_error_create(VR_ERR_NOT_FOUND,
					       "BTF: the types with a member %s disagree on its place "
					       "(%s%s at %llu, %s%s at %llu)",
					       member, *a ? "struct " : "an anonymous type", a,
					       (unsigned long long)first.offset, *b ? "struct " : "an anonymous type",
					       b, (unsigned long long)m.offset);
		}
	}
	if (!n)
		return vr_error_create(VR_ERR_NOT_FOUND, "BTF has no type with a member %s", member);
	*ret = first;
	return NULL;
}
