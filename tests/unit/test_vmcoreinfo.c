/* VMCOREINFO parser: keys, typed accessors, malformed values, limits. */
#include <stdio.h>
#include <string.h>

#include "engine/vmcoreinfo.h"

#include "check.h"

int main(void)
{
	static const char text[] =
		"OSRELEASE=6.1.0-56-cloud-amd64\n"
		"PAGESIZE=4096\n"
		"SYMBOL(init_uts_ns)=ffffffff82a0e4c0\n"
		"SYMBOL(bad)=xyz\n"
		"OFFSET(printk_info.ts_nsec)=0\n"
		"OFFSET(list_head.next)=8\n"
		"SIZE(printk_info)=88\n"
		"LENGTH(mem_section)=2048\n"
		"NUMBER(phys_base)=-2147483648\n"
		"NUMBER(pgtable_l5_enabled)=0\n"
		"KERNELOFFSET=1e000000\n"
		"OSRELEASE=duplicate-ignored\n"
		"no equals sign here\n"
		"=novalue\n"
		"CRASHTIME=1764133200\r\n"
		"\0\0\0trailing padding";
	struct vr_vmcoreinfo *vi = NULL;
	struct vr_error *err = vr_vmcoreinfo_parse(text, sizeof(text) - 1, &vi);
	CHECK(!err && vi);
	if (!vi)
		return 1;
	uint64_t u;
	int64_t s;
	CHECK(vr_vmcoreinfo_count(vi) == 13);
	CHECK(!strcmp(vr_vmcoreinfo_get(vi, "OSRELEASE"), "6.1.0-56-cloud-amd64"));
	CHECK(!strcmp(vr_vmcoreinfo_key_at(vi, 0), "OSRELEASE"));
	CHECK(!strcmp(vr_vmcoreinfo_value_at(vi, 1), "4096"));
	CHECK(vr_vmcoreinfo_key_at(vi, 13) == NULL);
	CHECK(vr_vmcoreinfo_symbol(vi, "init_uts_ns", &u) && u == 0xffffffff82a0e4c0ull);
	CHECK(!vr_vmcoreinfo_symbol(vi, "bad", &u));
	CHECK(!vr_vmcoreinfo_symbol(vi, "missing", &u));
	CHECK(vr_vmcoreinfo_offset(vi, "printk_info", "ts_nsec", &u) && u == 0);
	CHECK(vr_vmcoreinfo_offset(vi, "list_head", "next", &u) && u == 8);
	CHECK(vr_vmcoreinfo_size(vi, "printk_info", &u) && u == 88);
	CHECK(vr_vmcoreinfo_length(vi, "mem_section", &u) && u == 2048);
	CHECK(vr_vmcoreinfo_number(vi, "phys_base", &s) && s == -2147483648ll);
	CHECK(vr_vmcoreinfo_number(vi, "pgtable_l5_enabled", &s) && s == 0);
	CHECK(vr_vmcoreinfo_hex(vi, "KERNELOFFSET", &u) && u == 0x1e000000);
	CHECK(vr_vmcoreinfo_get(vi, "CRASHTIME") && !strcmp(vr_vmcoreinfo_get(vi, "CRASHTIME"), "1764133200"));
	CHECK(vr_vmcoreinfo_get(vi, "trailing padding") == NULL);
	CHECK(!vr_vmcoreinfo_hex(vi, "OSRELEASE", &u));
	vr_vmcoreinfo_destroy(vi);

	/* empty text and absent keys */
	CHECK(!vr_vmcoreinfo_parse("", 0, &vi));
	CHECK(vr_vmcoreinfo_count(vi) == 0 && !vr_vmcoreinfo_get(vi, "X"));
	vr_vmcoreinfo_destroy(vi);

	/* over the size limit */
	size_t big = (1u << 20) + 1;
	char *b = calloc(1, big);
	err = vr_vmcoreinfo_parse(b, big, &vi);
	CHECK(err && err->code == VR_ERR_LIMIT);
	vr_error_destroy(err);
	free(b);
	vr_vmcoreinfo_destroy(NULL);

	if (failures)
		fprintf(stderr, "%d failures\n", failures);
	return failures != 0;
}
