/* BTF parser: a blob built here with every kind, then lookups, then
 * truncations, byte flips and hostile records. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/btf.h"


#include "check.h"

/* ---- blob builder ---- */

struct builder {
	uint8_t types[4096];
	size_t tlen;
	char strs[1024];
	size_t slen;
	uint32_t next_id;
};

static uint32_t str(struct builder *b, const char *s)
{
	if (!*s)
		return 0;
	uint32_t off = (uint32_t)b->slen;
	strcpy(b->strs + b->slen, s);
	b->slen += strlen(s) + 1;
	return off;
}

static void u32(struct builder *b, uint32_t v)
{
	memcpy(b->types + b->tlen, &v, 4); /* x86-64 test host: little-endian */
	b->tlen += 4;
}

static uint32_t type(struct builder *b, const char *name, int kind, uint32_t vlen, bool kflag,
		     uint32_t size_type)
{
	u32(b, str(b, name));
	u32(b, vlen | (uint32_t)kind << 24 | (kflag ? 1u << 31 : 0));
	u32(b, size_type);
	return b->next_id++;
}

static void member(struct builder *b, const char *name, uint32_t t, uint32_t off)
{
	u32(b, str(b, name));
	u32(b, t);
	u32(b, off);
}

static size_t finish(struct builder *b, uint8_t *out)
{
	uint16_t magic = 0xeB9F;
	uint32_t hdr[5] = { 24, 0, (uint32_t)b->tlen, (uint32_t)b->tlen, (uint32_t)b->slen };
	memcpy(out, &magic, 2);
	out[2] = 1;
	out[3] = 0;
	memcpy(out + 4, hdr, 20);
	memcpy(out + 24, b->types, b->tlen);
	memcpy(out + 24 + b->tlen, b->strs, b->slen);
	return 24 + b->tlen + b->slen;
}

enum { INT_ID = 1 };

static size_t build(uint8_t *out)
{
	struct builder b = { .slen = 1, .next_id = 1 };
	uint32_t t_int = type(&b, "int", 1, 0, false, 4);
	u32(&b, 1u << 24 | 32); /* signed, 32 bits */
	uint32_t t_voidp = type(&b, "", 2, 0, false, 0);
	uint32_t t_list = type(&b, "list_head", 4, 2, false, 16);
	member(&b, "next", t_list + 1, 0);
	member(&b, "prev", t_list + 1, 64);
	uint32_t t_listp = type(&b, "", 2, 0, false, t_list);
	uint32_t t_uint = type(&b, "unsigned int", 1, 0, false, 4);
	u32(&b, 32);
	uint32_t t_thread = type(&b, "thread_struct", 4, 2, false, 16);
	member(&b, "sp", t_voidp, 0);
	member(&b, "flags", t_uint, 64);
	uint32_t t_char = type(&b, "char", 1, 0, false, 1);
	u32(&b, 8);
	uint32_t t_comm = type(&b, "", 3, 0, false, 0);
	u32(&b, t_char);
	u32(&b, t_int);
	u32(&b, 16);
	uint32_t t_union = type(&b, "", 5, 2, false, 8);
	member(&b, "a", t_int, 0);
	member(&b, "b", t_voidp, 0);
	uint32_t t_task = type(&b, "task_struct", 4, 6, true, 64);
	member(&b, "__state", t_int, 0);
	member(&b, "flag_a", t_uint, 1u << 24 | 32);
	member(&b, "tasks", t_list, 64);
	member(&b, "", t_union, 192);
	member(&b, "comm", t_comm, 256);
	member(&b, "thread", t_thread, 384);
	uint32_t t_enum = type(&b, "module_state", 6, 2, false, 4);
	u32(&b, str(&b, "MODULE_STATE_LIVE"));
	u32(&b, 0);
	u32(&b, str(&b, "MODULE_STATE_GOING"));
	u32(&b, 2);
	uint32_t t_enum_neg = type(&b, "neg", 6, 1, true, 4);
	u32(&b, str(&b, "NEG_ONE"));
	u32(&b, 0xffffffffu);
	uint32_t t_enum64 = type(&b, "big", 19, 1, false, 8);
	u32(&b, str(&b, "BIG_VAL"));
	u32(&b, 5);
	u32(&b, 1);
	type(&b, "double", 16, 0, false, 8);
	uint32_t t_tag = type(&b, "tag", 17, 0, false, t_task);
	u32(&b, 0xffffffffu);
	uint32_t t_ttag = type(&b, "user", 18, 0, false, t_int);
	uint32_t t_proto = type(&b, "", 13, 1, false, t_int);
	u32(&b, 0);
	u32(&b, t_ttag);
	type(&b, "foo", 12, 0, false, t_proto);
	uint32_t t_var = type(&b, "v", 14, 0, false, t_int);
	u32(&b, 1);
	type(&b, ".data", 15, 1, false, 8);
	u32(&b, t_var);
	u32(&b, 0);
	u32(&b, 4);
	uint32_t t_const = type(&b, "", 10, 0, false, t_task);
	type(&b, "task_t", 8, 0, false, t_const);
	type(&b, "task_struct", 7, 0, false, 0); /* a forward declaration */
	type(&b, "", 9, 0, false, t_int);
	type(&b, "", 11, 0, false, t_voidp);
	/* For the member-anywhere search: another type with tasks where
	 * task_struct has it (agreeing), one with flags elsewhere than
	 * thread_struct (disagreeing). */
	uint32_t t_anon = type(&b, "", 4, 2, false, 24);
	member(&b, "x", t_int, 0);
	member(&b, "tasks", t_list, 64);
	uint32_t t_other = type(&b, "other", 4, 1, false, 4);
	member(&b, "flags", t_int, 0);
	(void)t_anon;
	(void)t_other;
	(void)t_listp;
	(void)t_enum;
	(void)t_enum_neg;
	(void)t_enum64;
	(void)t_tag;
	return finish(&b, out);
}

/* Variables, and a member's place in every type that has it. */
static void test_anywhere(const uint8_t *blob, size_t len)
{
	struct vr_btf *btf = NULL;
	struct vr_error *err = vr_btf_create(blob, len, &btf);
	CHECK(!err);
	if (err)
		return;
	uint32_t t;
	CHECK(!vr_btf_find_var(btf, "v", &t) && t == INT_ID, "var v: %u", t);
	err = vr_btf_find_var(btf, "nosuch", &t);
	CHECK(err && err->code == VR_ERR_NOT_FOUND);
	vr_error_destroy(err);
	struct vr_btf_member m;
	/* only task_struct has thread; task_struct and an anonymous struct
	 * both have tasks at 8 */
	CHECK(!vr_btf_member_anywhere(btf, "thread", &m) && m.offset == 48 && m.size == 16, "thread %llu",
	      (unsigned long long)m.offset);
	CHECK(!vr_btf_member_anywhere(btf, "tasks", &m) && m.offset == 8 && m.size == 16, "tasks %llu",
	      (unsigned long long)m.offset);
	/* thread_struct has flags at 8, other at 0: no answer */
	err = vr_btf_member_anywhere(btf, "flags", &m);
	CHECK(err && err->code == VR_ERR_NOT_FOUND && strstr(err->message, "disagree"), "flags: %s",
	      err ? err->message : "found");
	vr_error_destroy(err);
	err = vr_btf_member_anywhere(btf, "nosuch", &m);
	CHECK(err && err->code == VR_ERR_NOT_FOUND);
	vr_error_destroy(err);
	vr_btf_destroy(btf);
}

static void test_lookups(const uint8_t *blob, size_t len)
{
	struct vr_btf *btf = NULL;
	struct vr_error *err = vr_btf_create(blob, len, &btf);
	CHECK(!err, "create: %s", err ? err->message : "");
	if (err) {
		vr_error_destroy(err);
		return;
	}
	CHECK(vr_btf_n_types(btf) == 28, "n_types %u", vr_btf_n_types(btf));

	uint32_t task;
	err = vr_btf_find_struct(btf, "task_struct", &task);
	CHECK(!err && task == 10, "task_struct id %u", task);
	vr_error_destroy(err);

	static const struct {
		const char *path;
		uint64_t off, size;
	} members[] = {
		{ "__state", 0, 4 },     { "flag_a", 4, 4 },       { "tasks", 8, 16 },
		{ "tasks.next", 8, 8 },  { "tasks.prev", 16, 8 },  { "a", 24, 4 },
		{ "b", 24, 8 },          { "comm", 32, 16 },       { "comm[3]", 35, 1 },
		{ "thread", 48, 16 },    { "thread.sp", 48, 8 },   { "thread.flags", 56, 4 },
	};
	for (size_t i = 0; i < sizeof(members) / sizeof(members[0]); i++) {
		struct vr_btf_member m = { 0 };
		err = vr_btf_member(btf, task, members[i].path, &m);
		CHECK(!err && m.offset == members[i].off && m.size == members[i].size,
		      "%s: %s offset %llu size %llu", members[i].path, err ? err->message : "ok",
		      (unsigned long long)m.offset, (unsigned long long)m.size);
		vr_error_destroy(err);
	}
	struct vr_btf_member m;
	err = vr_btf_member(btf, task, "flag_a", &m);
	CHECK(!err && m.bit_size == 1 && m.bit_offset == 0, "flag_a bits %u", m.bit_size);
	vr_error_destroy(err);
	err = vr_btf_member(btf, task, "nope", &m);
	CHECK(err && err->code == VR_ERR_NOT_FOUND, "missing member");
	vr_error_destroy(err);
	err = vr_btf_member(btf, task, "comm[16]", &m);
	CHECK(err && err->code == VR_ERR_NOT_FOUND, "index out of range");
	vr_error_destroy(err);
	err = vr_btf_member(btf, task, "tasks.next.x", &m);
	CHECK(err, "member of a pointer");
	vr_error_destroy(err);

	static const struct {
		uint64_t off;
		const char *name;
	} at[] = {
		{ 0, "__state" },  { 4, "flag_a" },         { 0x10, "tasks.prev" },
		{ 0x18, "a" },     { 0x1c, "b" },           { 0x23, "comm" },
		{ 0x30, "thread.sp" }, { 0x3a, "thread.flags" },
	};
	for (size_t i = 0; i < sizeof(at) / sizeof(at[0]); i++) {
		char *name = NULL;
		err = vr_btf_member_at(btf, task, at[i].off, &name);
		CHECK(!err && name && strcmp(name, at[i].name) == 0, "member at 0x%llx: %s (want %s)",
		      (unsigned long long)at[i].off, err ? err->message : name, at[i].name);
		vr_error_destroy(err);
		free(name);
	}
	char *name = NULL;
	err = vr_btf_member_at(btf, task, 0x40, &name);
	CHECK(err && err->code == VR_ERR_NOT_FOUND && !name, "beyond the end");
	vr_error_destroy(err);

	uint32_t id;
	uint64_t size = 0;
	err = vr_btf_find_type(btf, "task_t", &id);
	if (!err)
		err = vr_btf_type_size(btf, id, &size);
	CHECK(!err && size == 64, "size of task_t %llu", (unsigned long long)size);
	vr_error_destroy(err);
	err = vr_btf_find_type(btf, "double", &id);
	if (!err)
		err = vr_btf_type_size(btf, id, &size);
	CHECK(!err && size == 8, "size of double");
	vr_error_destroy(err);

	int64_t v = -5;
	err = vr_btf_enum_value(btf, "MODULE_STATE_GOING", &v);
	CHECK(!err && v == 2, "MODULE_STATE_GOING = %lld", (long long)v);
	vr_error_destroy(err);
	err = vr_btf_enum_value(btf, "MODULE_STATE_LIVE", &v);
	CHECK(!err && v == 0, "MODULE_STATE_LIVE = %lld", (long long)v);
	vr_error_destroy(err);
	err = vr_btf_enum_value(btf, "NEG_ONE", &v);
	CHECK(!err && v == -1, "NEG_ONE = %lld", (long long)v);
	vr_error_destroy(err);
	err = vr_btf_enum_value(btf, "BIG_VAL", &v);
	CHECK(!err && v == 0x100000005ll, "BIG_VAL = %llx", (long long)v);
	vr_error_destroy(err);
	err = vr_btf_enum_value(btf, "NOPE", &v);
	CHECK(err && err->code == VR_ERR_NOT_FOUND, "missing enumerator");
	vr_error_destroy(err);

	int kind;
	const char *tn;
	CHECK(vr_btf_type_info(btf, 15, &kind, &tn) && kind == VR_BTF_KIND_DECL_TAG &&
		      strcmp(tn, "tag") == 0,
	      "decl tag");
	CHECK(!vr_btf_type_info(btf, 28, &kind, &tn), "id past the end");
	vr_btf_destroy(btf);
}

/* Whatever the input, the parser returns an error or an object that can be
 * queried without crashing. */
static void exercise(const uint8_t *blob, size_t len)
{
	struct vr_btf *btf = NULL;
	struct vr_error *err = vr_btf_create(blob, len, &btf);
	if (err) {
		CHECK(!btf, "object despite error");
		CHECK(err->message && strncmp(err->message, "parsing BTF", 11) == 0, "message %s",
		      err->message);
		vr_error_destroy(err);
		return;
	}
	static const char *paths[] = { "tasks.next", "comm[3]", "thread.flags", "a", "b" };
	for (uint32_t id = 0; id < vr_btf_n_types(btf) + 2; id++) {
		for (size_t i = 0; i < 5; i++) {
			struct vr_btf_member m;
			vr_error_destroy(vr_btf_member(btf, id, paths[i], &m)); /* any answer, no crash */
		}
		for (uint64_t off = 0; off < 70; off += 3) {
			char *name = NULL;
			struct vr_error *at_err = vr_btf_member_at(btf, id, off, &name);
			if (!at_err)
				free(name);
			vr_error_destroy(at_err);
		}
		uint64_t size;
		vr_error_destroy(vr_btf_type_size(btf, id, &size));
	}
	uint32_t id;
	int64_t v;
	vr_error_destroy(vr_btf_find_struct(btf, "task_struct", &id));
	vr_error_destroy(vr_btf_enum_value(btf, "BIG_VAL", &v));
	vr_btf_destroy(btf);
}

static void test_hostile(const uint8_t *blob, size_t len)
{
	uint8_t *copy = malloc(len);
	for (size_t n = 0; n < len; n++) {
		memcpy(copy, blob, n);
		exercise(copy, n); /* every truncation */
	}
	srand(1);
	for (int round = 0; round < 1500; round++) {
		memcpy(copy, blob, len);
		int flips = 1 + rand() % 4;
		for (int i = 0; i < flips; i++)
			copy[24 + rand() % (int)(len - 24)] = (uint8_t)rand();
		exercise(copy, len);
	}
	free(copy);

	/* A typedef cycle: 1 -> 2 -> 1. */
	struct builder b = { .slen = 1, .next_id = 1 };
	type(&b, "a", 8, 0, false, 2);
	type(&b, "b", 8, 0, false, 1);
	uint8_t out[256];
	size_t n = finish(&b, out);
	struct vr_btf *btf;
	struct vr_error *err = vr_btf_create(out, n, &btf);
	CHECK(!err, "cycle blob parses");
	if (!err) {
		uint64_t size;
		err = vr_btf_type_size(btf, 1, &size);
		CHECK(err && err->code == VR_ERR_LIMIT, "cycle: %s", err ? err->message : "no error");
		vr_error_destroy(err);
		vr_btf_destroy(btf);
	}

	/* Bad header fields. */
	uint8_t hdr[64];
	memcpy(hdr, blob, sizeof(hdr));
	hdr[0] = 0x00;
	err = vr_btf_create(hdr, sizeof(hdr), &btf);
	CHECK(err && err->code == VR_ERR_FORMAT, "bad magic");
	vr_error_destroy(err);
	memcpy(hdr, blob, sizeof(hdr));
	hdr[2] = 2;
	err = vr_btf_create(hdr, sizeof(hdr), &btf);
	CHECK(err && err->code == VR_ERR_UNSUPPORTED, "version 2");
	vr_error_destroy(err);
	memcpy(copy = malloc(len), blob, len);
	copy[len - 1] = 'x'; /* string section not terminated */
	err = vr_btf_create(copy, len, &btf);
	CHECK(err && err->code == VR_ERR_FORMAT, "unterminated strings");
	vr_error_destroy(err);
	free(copy);
}

int main(void)
{
	static uint8_t blob[8192];
	size_t len = build(blob);
	test_lookups(blob, len);
	test_anywhere(blob, len);
	test_hostile(blob, len);
	if (failures)
		fprintf(stderr, "%d checks failed\n", failures);
	else
		printf("test_btf: all checks passed\n");
	return failures ? 1 : 0;
}
