/* The layout cache over a BTF blob built here and a VMCOREINFO text:
 * precedence (VMCOREINFO's offset, BTF's size), caching of answers and of
 * misses, member names, enumerators, and no DWARF without a vmlinux. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/btf.h"
#include "engine/dwarf.h"
#include "engine/internal.h"


#include "check.h"

static uint8_t types_sec[512], strs[256];
static size_t tlen, slen = 1;

static uint32_t str(const char *s)
{
	uint32_t off = (uint32_t)slen;
	strcpy((char *)strs + slen, s);
	slen += strlen(s) + 1;
	return off;
}

static void u32(uint32_t v)
{
	memcpy(types_sec + tlen, &v, 4);
	tlen += 4;
}

static void rec(const char *name, int kind, uint32_t vlen, uint32_t st)
{
	u32(*name ? str(name) : 0);
	u32(vlen | (uint32_t)kind << 24);
	u32(st);
}

/* 1 int; 2 list_head {next, prev: 3}; 3 ptr->2; 4 char[16];
 * 5 task_struct {state@0, tasks@8, comm@24} size 40; 6 enum; 7 char */
static size_t build(uint8_t *out)
{
	rec("int", 1, 0, 4);
	u32(1u << 24 | 32);
	rec("list_head", 4, 2, 16);
	u32(str("next")); u32(3); u32(0);
	u32(str("prev")); u32(3); u32(64);
	rec("", 2, 0, 2);
	rec("", 3, 0, 0);
	u32(7); u32(1); u32(16);
	rec("task_struct", 4, 3, 40);
	u32(str("state")); u32(1); u32(0);
	u32(str("tasks")); u32(2); u32(64);
	u32(str("comm")); u32(4); u32(192);
	rec("module_state", 6, 1, 4);
	u32(str("MODULE_STATE_LIVE")); u32(0);
	rec("char", 1, 0, 1);
	u32(8);
	uint16_t magic = 0xeB9F;
	uint32_t hdr[5] = { 24, 0, (uint32_t)tlen, (uint32_t)tlen, (uint32_t)slen };
	memcpy(out, &magic, 2);
	out[2] = 1;
	out[3] = 0;
	memcpy(out + 4, hdr, 20);
	memcpy(out + 24, types_sec, tlen);
	memcpy(out + 24 + tlen, strs, slen);
	return 24 + tlen + slen;
}

int main(void)
{
	static uint8_t blob[1024];
	size_t len = build(blob);
	struct vr_diag diag = { 0 };
	struct vr_kernel k = { .vmlinux_fd = -1, .diag = &diag, .arch = &vr_arch_x86_64 };
	struct vr_error *err = vr_btf_create(blob, len, &k.btf);
	CHECK(!err, "btf: %s", err ? err->message : "");
	if (err)
		return 1;
	const char *vi = "OSRELEASE=6.1.0\nOFFSET(task_struct.comm)=32\nSIZE(list_head)=16\n";
	err = vr_vmcoreinfo_parse(vi, strlen(vi), &k.vmcoreinfo);
	CHECK(!err, "vmcoreinfo: %s", err ? err->message : "");
	vr_error_destroy(err);

	struct vr_member m = { 0 };
	for (int round = 0; round < 2; round++) { /* the second round is served from the cache */
		err = vr_type_member(&k, "task_struct", "tasks.prev", &m);
		CHECK(!err && m.offset == 16 && m.size == 8, "tasks.prev %llu %llu",
		      (unsigned long long)m.offset, (unsigned long long)m.size);
		vr_error_destroy(err);
		/* VMCOREINFO's offset wins over BTF's 24; the size is BTF's. */
		err = vr_type_member(&k, "task_struct", "comm", &m);
		CHECK(!err && m.offset == 32 && m.size == 16, "comm %llu %llu",
		      (unsigned long long)m.offset, (unsigned long long)m.size);
		vr_error_destroy(err);
		err = vr_type_member(&k, "task_struct", "nope", &m);
		CHECK(err && err->code == VR_ERR_NOT_FOUND && strstr(err->message, "nope"),
		      "missing member: %s", err ? err->message : "no error");
		CHECK(err && strstr(err->message, "no vmlinux in use"), "says why DWARF did not help: %s",
		      err ? err->message : "");
		vr_error_destroy(err);
		uint64_t size = 0;
		err = vr_type_size(&k, "task_struct", &size);
		CHECK(!err && size == 40, "size %llu", (unsigned long long)size);
		vr_error_destroy(err);
		err = vr_type_size(&k, "list_head", &size);
		CHECK(!err && size == 16, "size of list_head");
		vr_error_destroy(err);
		char *name = NULL;
		err = vr_type_member_name(&k, "task_struct", 0x10, &name);
		CHECK(!err && name && strcmp(name, "tasks.prev") == 0, "member at 0x10: %s",
		      err ? err->message : name);
		vr_error_destroy(err);
		free(name);
		name = NULL;
		err = vr_kernel_member_at(&k, "task_struct", 0x1a, &name);
		CHECK(!err && name && strcmp(name, "comm") == 0, "member at 0x1a: %s",
		      err ? err->message : name);
		vr_error_destroy(err);
		free(name);
		/* A variable BTF has no VAR for: its member where every type
		 * with that member has it. */
		err = vr_type_symbol_member(&k, "init_task", "tasks.prev", &m);
		CHECK(!err && m.offset == 16 && m.size == 8, "init_task.tasks.prev: %s",
		      err ? err->message : "");
		vr_error_destroy(err);
		uint64_t off = 0;
		err = vr_kernel_symbol_member_offset(&k, "init_task", "nope", &off);
		CHECK(err && err->code == VR_ERR_NOT_FOUND && strstr(err->message, "no type with a member nope"),
		      "unknown symbol member: %s", err ? err->message : "found");
		vr_error_destroy(err);
		err = vr_kernel_member_offset(&k, "list_head", "prev", &off);
		CHECK(!err && off == 8, "list_head.prev");
		vr_error_destroy(err);
		/* No struct irq_stack: the stack size is unknown, with the
		 * reason, never a default. */
		err = vr_kernel_task_stack_size(&k, &size);
		CHECK(err && err->code == VR_ERR_NOT_FOUND && strstr(err->message, "task's stack") &&
			      strstr(err->message, "irq_stack"),
		      "stack size: %s", err ? err->message : "found");
		vr_error_destroy(err);
		int64_t v = -1;
		err = vr_type_enum_value(&k, "MODULE_STATE_LIVE", &v);
		CHECK(!err && v == 0, "enum");
		vr_error_destroy(err);
		err = vr_type_enum_value(&k, "NOPE", &v);
		CHECK(err && err->code == VR_ERR_NOT_FOUND, "missing enum");
		vr_error_destroy(err);
	}

	/* Restricted to VMCOREINFO: only what it says. */
	vr_types_destroy(k.types);
	k.types = NULL;
	err = vr_types_restrict(&k, VR_TYPES_VMCOREINFO);
	vr_error_destroy(err);
	err = vr_type_member(&k, "task_struct", "comm", &m);
	CHECK(!err && m.offset == 32 && m.size == 0, "vmcoreinfo only: %llu %llu",
	      (unsigned long long)m.offset, (unsigned long long)m.size);
	vr_error_destroy(err);
	err = vr_type_member(&k, "task_struct", "tasks", &m);
	CHECK(err && err->code == VR_ERR_NOT_FOUND, "vmcoreinfo only: tasks unknown");
	vr_error_destroy(err);

	vr_types_destroy(k.types);
	vr_btf_destroy(k.btf);
	vr_dwarf_destroy(k.dwarf);
	vr_vmcoreinfo_destroy(k.vmcoreinfo);
	vr_diag_deinit(&diag);
	if (failures)
		fprintf(stderr, "%d checks failed\n", failures);
	else
		printf("test_types: all checks passed\n");
	return failures ? 1 : 0;
}
