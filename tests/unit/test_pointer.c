/* Unit tests of analyzers/pointer.c on crafted crashes: every pointer
 * class from register values, fault addresses and Code: bytes, without
 * dump memory. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyzers/analyzer.h"
#include "engine/arch.h"
#include "engine/x86_64.h"

extern const struct vr_analyzer vr_analyzer_pointer;

#include "check.h"

struct t {
	struct vr_report r;
	struct vr_facts f;
	struct vr_diag d;
	struct vr_analysis a;
	const char *skipped;
	struct vr_error *err;
};

#define IP 0xffffffffc0a01015ull

/* A crash at IP in vrbug_null_deref+0x15 whose Code: line has `insn`
 * (hex, e.g. "48 8b 40 10") as the faulting instruction. */
static void setup(struct t *t, const char *kind, const char *insn)
{
	memset(t, 0, sizeof(*t));
	vr_report_init(&t->r, NULL, &t->f, &t->d);
	t->a = (struct vr_analysis){.kernel = NULL, .facts = &t->f, .report = &t->r,
				    .arch = vr_arch_x86_64.info};
	t->r.crash.kind = kind;
	t->r.crash.ip_known = true;
	t->r.crash.ip.address = IP;
	t->r.crash.ip.symbol = strdup("vrbug_null_deref");
	t->r.crash.ip.offset = 0x15;
	t->r.crash.ip.module = strdup("vrbug");
	if (insn) {
		/* 42 bytes before as the kernel prints them: nops and a push. */
		char *code = NULL;
		size_t len = 0;
		FILE *f = open_memstream(&code, &len);
		fputs("Code:", f);
		for (int i = 0; i < 41; i++)
			fputs(" 90", f);
		fputs(" 55", f);
		const char *p = insn;
		bool first = true;
		while (*p) {
			fprintf(f, first ? " <%.2s>" : " %.2s", p);
			first = false;
			p += 2;
			while (*p == ' ')
				p++;
		}
		fputs(" 5d c3 cc cc", f);
		fclose(f);
		t->r.crash.code = code;
	}
	t->r.crash.regs.valid = true;
	t->r.crash.regs.set = &vr_regset_x86_64;
}

static void fault(struct t *t, uint64_t addr)
{
	t->r.crash.fault_address_known = true;
	t->r.crash.fault_address = addr;
}

static void run(struct t *t)
{
	t->err = vr_analyzer_pointer.run(&t->a, &t->skipped);
	CHECK(!t->err, "run: %s", t->err ? t->err->message : "");
	vr_error_destroy(t->err);
}

static void done(struct t *t)
{
	vr_report_deinit(&t->r);
	vr_facts_deinit(&t->f);
	vr_diag_deinit(&t->d);
}

static bool expl_has(struct t *t, const char *s)
{
	return t->r.pointer.explanation && strstr(t->r.pointer.explanation, s);
}

#define CLASS(t, c)                                                                       \
	CHECK((t)->r.pointer.class && !strcmp((t)->r.pointer.class, c), "class %s, want %s (%s)", \
	      (t)->r.pointer.class ? (t)->r.pointer.class : "NULL", c,                        \
	      (t)->r.pointer.explanation ? (t)->r.pointer.explanation : "")

static void test_null(void)
{
	struct t t;
	setup(&t, "null-deref", "48 8b 40 10");
	fault(&t, 0x10);
	t.r.crash.regs.r[X86_RAX] = 0;
	run(&t);
	CLASS(&t, "null");
	CHECK(t.r.pointer.reg && !strcmp(t.r.pointer.reg, "RAX"), "reg");
	CHECK(t.r.pointer.offset_known && t.r.pointer.offset == 0x10, "offset");
	CHECK(expl_has(&t, "RAX is NULL") && expl_has(&t, "0x10"), "%s", t.r.pointer.explanation);
	CHECK(t.r.pointer.instruction && !strncmp(t.r.pointer.instruction, "mov", 3), "insn");
	bool marked = false;
	for (size_t i = 0; i < t.r.pointer.n_disassembly; i++)
		if (!strncmp(t.r.pointer.disassembly[i], "=> 0xffffffffc0a01015 <vrbug_null_deref+21>:", 44))
			marked = true;
	for (size_t i = 0; !marked && i < t.r.pointer.n_disassembly; i++)
		fprintf(stderr, "%s\n", t.r.pointer.disassembly[i]);
	CHECK(marked && t.r.pointer.n_disassembly >= 3, "disassembly marked (%zu lines)",
	      t.r.pointer.n_disassembly);
	CHECK(t.r.pointer.code_matches == -1, "no memory, no comparison");
	done(&t);

	/* Without code or registers: the fault address alone. */
	setup(&t, "null-deref", NULL);
	t.r.crash.regs.valid = false;
	fault(&t, 0x10);
	run(&t);
	CLASS(&t, "near-null");
	done(&t);

	setup(&t, "page-fault", NULL);
	t.r.crash.regs.valid = false;
	fault(&t, 0x8000);
	run(&t);
	CLASS(&t, "near-null");
	CHECK(expl_has(&t, "mmap_min_addr"), "%s", t.r.pointer.explanation);
	done(&t);

	/* A NULL function pointer: the IP itself faulted. */
	setup(&t, "null-deref", NULL);
	t.r.crash.ip.address = 0;
	free(t.r.crash.ip.symbol);
	t.r.crash.ip.symbol = NULL;
	fault(&t, 0);
	run(&t);
	CLASS(&t, "null");
	CHECK(t.r.pointer.reg && !strcmp(t.r.pointer.reg, "RIP"), "RIP");
	done(&t);
}

static void test_inconsistent(void)
{
	/* RAX is NULL but the fault address is not RAX+0x10: trust CR2. */
	struct t t;
	setup(&t, "page-fault", "48 8b 40 10");
	fault(&t, 0x00007fff00001000ull);
	t.r.crash.regs.r[X86_RAX] = 0;
	run(&t);
	CLASS(&t, "user-address");
	done(&t);
}

static void test_err_ptr(void)
{
	struct t t;
	/* mov 0x118(%rax),%rax with RAX = ERR_PTR(-ENOMEM): the address wraps to 0x10c. */
	setup(&t, "null-deref", "48 8b 80 18 01 00 00");
	fault(&t, 0x10c);
	t.r.crash.regs.r[X86_RAX] = 0xfffffffffffffff4ull;
	run(&t);
	CLASS(&t, "err-ptr");
	CHECK(expl_has(&t, "RAX holds ERR_PTR(-12) (-ENOMEM); 0x118 was added to it"), "%s",
	      t.r.pointer.explanation);
	done(&t);

	setup(&t, "page-fault", NULL);
	t.r.crash.regs.valid = false;
	fault(&t, 0xfffffffffffffffeull);
	run(&t);
	CLASS(&t, "err-ptr");
	CHECK(expl_has(&t, "ENOENT"), "%s", t.r.pointer.explanation);
	done(&t);
}

static void poison(const char *klass, uint64_t v, int reg, const char *insn, const char *word)
{
	struct t t;
	setup(&t, "gpf", insn);
	t.r.crash.regs.r[reg] = v;
	run(&t);
	CLASS(&t, klass);
	CHECK(expl_has(&t, word), "%s", t.r.pointer.explanation);
	done(&t);
}

static void test_poison(void)
{
	poison("list-poison", 0xdead000000000100ull, X86_RAX, "48 8b 40 08", "LIST_POISON1");
	poison("list-poison", 0xdead000000000122ull, X86_RAX, "48 8b 40 08", "LIST_POISON2");
	poison("slab-poison", 0x6b6b6b6b6b6b6b6bull, X86_RBX, "48 8b 43 10", "POISON_FREE");
	poison("slab-poison", 0x5a5a5a5a5a5a5a5aull, X86_RBX, "48 8b 43 10", "POISON_INUSE");
	poison("redzone", 0xccccccccccccccccull, X86_RBX, "48 8b 43 10", "SLUB_RED_ACTIVE");
	poison("redzone", 0xbbbbbbbbbbbbbbbbull, X86_RBX, "48 8b 43 10", "SLUB_RED_INACTIVE");
	poison("page-poison", 0xaaaaaaaaaaaaaaaaull, X86_RBX, "48 8b 43 10", "PAGE_POISON");
	/* The kernel's GPF message gives the address with the offset added. */
	struct t t;
	setup(&t, "gpf", NULL);
	t.r.crash.regs.valid = false;
	fault(&t, 0xdead000000000108ull);
	run(&t);
	CLASS(&t, "list-poison");
	CHECK(expl_has(&t, "LIST_POISON1+0x8"), "%s", t.r.pointer.explanation);
	done(&t);
}

static void test_addresses(void)
{
	struct t t;
	setup(&t, "gpf", "48 8b 40 08");
	t.r.crash.regs.r[X86_RAX] = 0x4141414141414141ull;
	run(&t);
	CLASS(&t, "non-canonical");
	CHECK(expl_has(&t, "RAX"), "%s", t.r.pointer.explanation);
	done(&t);

	setup(&t, "page-fault", NULL);
	t.r.crash.regs.valid = false;
	fault(&t, 0x00007fff12345678ull);
	t.r.crash.error_code_known = true;
	t.r.crash.error_code = 1; /* present, kernel, read: SMAP */
	run(&t);
	CLASS(&t, "user-address");
	CHECK(expl_has(&t, "SMAP"), "%s", t.r.pointer.explanation);
	done(&t);

	setup(&t, "page-fault", NULL);
	t.r.crash.regs.valid = false;
	fault(&t, 0xffffc900003ffff8ull);
	t.f.tasks = calloc(1, sizeof(*t.f.tasks));
	t.f.n_tasks = 1;
	t.f.tasks[0].pid = 85;
	strcpy(t.f.tasks[0].comm, "vrtrigger");
	t.f.tasks[0].stack = 0xffffc90000400000ull;
	run(&t);
	CLASS(&t, "stack-guard");
	CHECK(expl_has(&t, "vrtrigger"), "%s", t.r.pointer.explanation);
	done(&t);

	/* One bit (50) away from RBX's valid pointer. */
	setup(&t, "gpf", "48 8b 40 08");
	t.r.crash.regs.r[X86_RAX] = 0xffff888012345678ull ^ (1ull << 50);
	t.r.crash.regs.r[X86_RBX] = 0xffff888012345678ull;
	run(&t);
	CLASS(&t, "bit-flip");
	CHECK(expl_has(&t, "bit 50") && expl_has(&t, "RBX"), "%s", t.r.pointer.explanation);
	done(&t);

	/* A kernel address without memory to check it against. */
	setup(&t, "page-fault", NULL);
	t.r.crash.regs.valid = false;
	fault(&t, 0xffff888012345678ull);
	run(&t);
	CLASS(&t, "unknown");
	done(&t);

	/* Not a fault: skipped, but a BUG's ud2 is still decoded. */
	setup(&t, "bug", "0f 0b");
	run(&t);
	CHECK(!t.r.pointer.class, "no class for bug");
	CHECK(t.r.pointer.instruction && strstr(t.r.pointer.instruction, "ud2"), "ud2 listed");
	done(&t);

	/* Hostile Code: line. */
	setup(&t, "null-deref", NULL);
	t.r.crash.code = strdup("Code: <zz> 48 8b");
	fault(&t, 0x10);
	run(&t);
	CLASS(&t, "near-null");
	done(&t);
}

int main(void)
{
	test_null();
	test_err_ptr();
	test_inconsistent();
	test_poison();
	test_addresses();
	if (failures)
		fprintf(stderr, "%d failures\n", failures);
	return failures != 0;
}
