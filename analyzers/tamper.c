/* The tamper analyzer: was the kernel that crashed still the kernel that
 * booted? Each check compares a table the kernel relies on with what the
 * kernel's own symbols, the vmlinux and its patch tables say it must hold,
 * and records in analyzers[] (as tamper.NAME) what it examined, so that no
 * finding means "checked and clean". docs/tamper.md describes each check,
 * what it can and cannot see, and how it compares with the memory-forensics
 * tools' checks of the same name. Its knowledge (which functions are
 * sensitive, what an IDT gate or a system call entry may name, the values
 * a helper path may hold, who allocates module-area memory, each finding's
 * text) is the tamper: section of the rules (rules/tamper.yaml).
 *
 * Kernel facts used, beyond the types (every layout comes from VMCOREINFO,
 * BTF or DWARF through engine/kernel.h) and what the architecture reads
 * (the system call tables, the table of exception vectors and the CPU
 * protections of the saved registers, through engine/kernel.h):
 *  - PF_KTHREAD is 0x00200000 in task_struct.flags (include/linux/sched.h);
 *  - a hidden kernel module is one the module list lacks (lsmod walks it);
 *  - an xarray entry whose low two bits are 2 and that is above 4096 is a
 *    node, one below is an internal value (include/linux/xarray.h);
 *  - mmap_min_addr is at least 4096 and 65536 on Debian: nothing runs
 *    below it (security/Kconfig DEFAULT_MMAP_MIN_ADDR), so a jump there is
 *    a bad pointer, not a payload. */
#define _GNU_SOURCE
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "../rules/rules.h"
#include "analyzer.h"

#define MAX_EVIDENCE 40
#define MAX_SYSCALLS 4096
#define MAX_TEXT_FUNCS 2048
#define MAX_FUNC_LEN (64u << 10)
#define MAX_DIFF_RUNS 16
#define MAX_LIST_STEPS 100000
#define MAX_FTRACE_OPS 1024
#define MAX_HASH_ENTRIES 200000
#define MAX_KPROBE_BUCKETS 4096
#define MAX_KPROBES 100000
#define MAX_BPF_PROGS 65536
#define MAX_TASKS_CHECKED (1u << 20)
#define MAX_VMAP_AREAS 200000
#define MMAP_MIN_ADDR 65536ull
/* include/linux/poison.h with POISON_POINTER_DELTA 0xdead000000000000
 * (CONFIG_ILLEGAL_POINTER_VALUE of x86-64 and arm64) */
#define LIST_POISON1 0xdead000000000100ull
#define LIST_POISON2 0xdead000000000122ull

#define PF_KTHREAD 0x00200000u

/* ---- context ---- */

struct hook_site {
	uint64_t addr;
	uint64_t len; /* bytes a kprobe's breakpoint or jump covers */
};

struct tctx {
	struct vr_kernel *k;
	const struct vr_facts *f;
	const struct vr_ruleset *rs;
	struct vr_report *r;
	struct vr_diag *diag;
	bool mem;
	bool have_layout;
	struct vr_kernel_layout lay;
	bool vmlinux, confirmed;
	uint64_t stext, etext, entry_start, entry_end;
	bool have_text;
	/* The handlers of the system call tables and IDT (for the text check). */
	uint64_t *handlers;
	size_t n_handlers, cap_handlers;
	/* Kprobe sites (the text check leaves their bytes to the hooks check). */
	struct hook_site *kprobes;
	size_t n_kprobes, cap_kprobes;
};

/* ---- small helpers ---- */

static uint64_t le64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static struct vr_error *rd64(struct tctx *c, uint64_t addr, uint64_t *ret)
{
	uint8_t b[8];
	struct vr_error *err = vr_kernel_read(c->k, addr, b, 8);
	if (!err)
		*ret = le64(b);
	return err;
}

static struct vr_error *rd32(struct tctx *c, uint64_t addr, uint32_t *ret)
{
	uint8_t b[4];
	struct vr_error *err = vr_kernel_read(c->k, addr, b, 4);
	if (!err)
		*ret = le32(b);
	return err;
}

/* A NUL-terminated string of at most cap - 1 bytes at addr, unprintable
 * bytes shown as '?'. */
static struct vr_error *rdstr(struct tctx *c, uint64_t addr, char *buf, size_t cap)
{
	memset(buf, 0, cap);
	struct vr_error *err = NULL;
	/* A page at a time: a short string near the end of a mapping. */
	size_t got = 0;
	while (got + 1 < cap) {
		size_t chunk = 4096 - ((addr + got) & 4095);
		if (chunk > cap - 1 - got)
			chunk = cap - 1 - got;
		if ((err = vr_kernel_read(c->k, addr + got, buf + got, chunk)))
			break;
		if (memchr(buf + got, 0, chunk))
			break;
		got += chunk;
	}
	if (err && !got)
		return err;
	vr_error_destroy(err);
	buf[cap - 1] = 0;
	for (char *p = buf; *p; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
			*p = '?';
	return NULL;
}

/* "s" unless n is one. */
static const char *pl(size_t n)
{
	return n == 1 ? "" : "s";
}

static bool sym(struct tctx *c, const char *name, uint64_t *ret)
{
	return !vr_kernel_absorb(c->k, vr_kernel_symbol_address(c->k, name, ret), VR_ERR_NOT_FOUND);
}

/* The offset of a member, false (and *err set once) when unknown. */
static bool off(struct tctx *c, const char *type, const char *member, uint64_t *ret, struct vr_error **err)
{
	struct vr_error *e = vr_kernel_member_offset(c->k, type, member, ret);
	if (!e)
		return true;
	if (err && !*err)
		*err = e;
	else
		vr_error_destroy(e);
	return false;
}

static const struct vr_module *module_at(const struct tctx *c, uint64_t addr)
{
	for (size_t i = 0; i < c->f->n_modules; i++) {
		const struct vr_module *m = &c->f->modules[i];
		for (size_t j = 0; j < VR_MODULE_REGIONS; j++)
			if (m->regions[j].base && addr >= m->regions[j].base &&
			    addr - m->regions[j].base < m->regions[j].size)
				return m;
		if (!m->regions[0].base && m->base && addr >= m->base && addr - m->base < m->size)
			return m;
	}
	return NULL;
}

static const struct vr_module *module_by_addr(const struct tctx *c, uint64_t mod)
{
	for (size_t i = 0; i < c->f->n_modules; i++)
		if (c->f->modules[i].addr == mod)
			return &c->f->modules[i];
	return NULL;
}

/* Where code at addr lives. */
enum owner {
	OWN_KERNEL_TEXT,   /* the kernel image's text */
	OWN_KERNEL_IMAGE,  /* the kernel image, not its text */
	OWN_MODULE,        /* a module on the list */
	OWN_HIDDEN_MODULE, /* a module found only in the kernel's address tree */
	OWN_MODULE_AREA,   /* the module area, no module's memory */
	OWN_OTHER,         /* anywhere else: vmalloc, the direct map, user space */
};

static enum owner owner_of(const struct tctx *c, uint64_t addr, const struct vr_module **ret_mod)
{
	const struct vr_module *m = module_at(c, addr);
	if (ret_mod)
		*ret_mod = m;
	if (m)
		return m->unlisted ? OWN_HIDDEN_MODULE : OWN_MODULE;
	if (c->have_text && addr >= c->stext && addr < c->etext)
		return OWN_KERNEL_TEXT;
	if (c->have_layout && addr >= c->lay.modules_start && addr < c->lay.modules_end)
		return OWN_MODULE_AREA;
	if (c->have_layout && addr >= c->lay.image_start && addr < c->lay.modules_start)
		return OWN_KERNEL_IMAGE;
	return OWN_OTHER;
}

/* "0xffffffffc0a01230 (vrbug_hook+0x10 [vrbug], a module not on the
 * module list)": an address, its symbol and where it lives. */
static char *describe(struct tctx *c, uint64_t addr)
{
	const struct vr_module *m = NULL;
	enum owner o = owner_of(c, addr, &m);
	struct vr_symbol s;
	char symbuf[256] = "";
	if (vr_kernel_symbol_at(c->k, addr, &s) && s.name)
		snprintf(symbuf, sizeof(symbuf), "%s+0x%" PRIx64 "%s%s%s", s.name, addr - s.address,
			 s.module ? " [" : "", s.module ? s.module : "", s.module ? "]" : "");
	const char *where = "";
	char wbuf[160];
	switch (o) {
	case OWN_KERNEL_TEXT: where = "kernel text"; break;
	case OWN_KERNEL_IMAGE: where = "kernel image, not its text"; break;
	case OWN_MODULE:
		snprintf(wbuf, sizeof(wbuf), "module %s", m->name ? m->name : "?");
		where = wbuf;
		break;
	case OWN_HIDDEN_MODULE:
		snprintf(wbuf, sizeof(wbuf), "module %s, which is not on the module list", m->name ? m->name : "?");
		where = wbuf;
		break;
	case OWN_MODULE_AREA: where = "module area, in no module's memory"; break;
	case OWN_OTHER:
		if (c->have_layout && addr < c->lay.user_end)
			where = "user space";
		else if (c->have_layout && c->lay.page_offset && addr >= c->lay.page_offset &&
			 addr < c->lay.vmalloc_start)
			where = "the direct map (kernel data)";
		else if (c->have_layout && addr >= c->lay.vmalloc_start && addr < c->lay.image_start)
			where = "vmalloc or other kernel mappings";
		else
			where = "outside the kernel image and modules";
		break;
	}
	return vr_asprintf("0x%016" PRIx64 " (%s%s%s)", addr, symbuf, symbuf[0] ? ", " : "", where);
}

/* Evidence lines of one finding. */
struct evidence {
	char *v[MAX_EVIDENCE];
	size_t n;
	size_t dropped;
};

static void ev_add(struct evidence *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void ev_add(struct evidence *e, const char *fmt, ...)
{
	if (e->n >= MAX_EVIDENCE - 1) {
		e->dropped++;
		return;
	}
	va_list ap;
	va_start(ap, fmt);
	char *s = NULL;
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	if (s)
		e->v[e->n++] = s;
}

static void ev_free(struct evidence *e)
{
	for (size_t i = 0; i < e->n; i++)
		free(e->v[i]);
	*e = (struct evidence){0};
}

/* Reports the finding id (its text from the rules) with e's lines, and
 * frees them. */
static struct vr_error *report(struct tctx *c, const char *id, struct evidence *e)
{
	if (e->dropped)
		ev_add(e, "(%zu more not shown)", e->dropped), e->dropped = 0;
	const struct vr_tamper_finding *t = vr_ruleset_tamper_finding(c->rs, id);
	struct vr_error *err;
	if (t)
		err = vr_report_add_finding(c->r, t->id, t->title, t->severity, t->advice, e->v, e->n);
	else
		err = vr_report_add_finding(c->r, id, id, "error", NULL, e->v, e->n);
	ev_free(e);
	return err;
}

static void add_handler(struct tctx *c, uint64_t addr)
{
	for (size_t i = 0; i < c->n_handlers; i++)
		if (c->handlers[i] == addr)
			return;
	/* past MAX_TEXT_FUNCS the text check looks at those it has; out of
	 * memory ends the check (run_check()) */
	if (!vr_kernel_absorb(c->k, vr_grow(&c->handlers, &c->cap_handlers, c->n_handlers + 1, sizeof(*c->handlers),
					    MAX_TEXT_FUNCS),
			      VR_ERR_LIMIT))
		c->handlers[c->n_handlers++] = addr;
}

/* One check: runs fn, records tamper.NAME with its status, what it
 * covered and its time. fn sets *covered (malloc'd) and returns an error
 * for a check it could not finish (NOT_PRESENT/FAULT: partial, else the
 * check could not run: skipped with the reason). Only out-of-memory
 * stops the analyzer. */
typedef struct vr_error *(*check_fn)(struct tctx *c, char **covered);

static struct vr_error *run_check(struct tctx *c, const char *name, check_fn fn)
{
	double t0 = vr_now_ms();
	char *covered = NULL;
	struct vr_error *err = fn(c, &covered);
	double ms = vr_now_ms() - t0;
	char step[64];
	snprintf(step, sizeof(step), "tamper.%s", name);
	/* what the check absorbed where it could not return it */
	struct vr_error *fatal = vr_kernel_take_fatal(c->k);
	if (vr_error_is_fatal(err) || vr_error_is_fatal(fatal)) {
		vr_error_destroy(err);
		vr_error_destroy(fatal);
		free(covered);
		return &vr_error_oom;
	}
	if (fatal) {
		vr_diag_step(c->diag, step, "partial", ms, "cut short: %s", fatal->message);
		vr_error_destroy(fatal);
	} else if (!err)
		vr_diag_step(c->diag, step, "ok", ms, NULL);
	else if (err->code == VR_ERR_NOT_PRESENT || err->code == VR_ERR_FAULT)
		vr_diag_step(c->diag, step, "partial", ms, "%s", err->message);
	else
		vr_diag_step(c->diag, step, "skipped", ms, "could not check: %s", err->message);
	vr_diag_covered(c->diag, "%s", covered ? covered : "nothing");
	free(covered);
	vr_error_destroy(err);
	return NULL;
}

/* ---- system call tables ---- */

/* Whether the function at v is a system call handler by name. A symbol
 * table names one symbol an address (kallsyms: __do_sys_getpid where
 * __x64_sys_getpid is the same code), so the handler names the rules give
 * are also tried with the found name's system call (what follows its last
 * "sys_"). */
static bool handler_named(struct tctx *c, uint64_t v, const struct vr_symbol *s)
{
	if (vr_ruleset_tamper_group(c->rs, "syscall-handlers", s->name))
		return true;
	const char *base = NULL;
	for (const char *p = strstr(s->name, "sys_"); p; p = strstr(p + 1, "sys_"))
		base = p + 4;
	if (!base || !*base)
		return false;
	for (size_t g = 0;; g++) {
		const char *gn = vr_ruleset_tamper_group_name(c->rs, "syscall-handlers", g);
		if (!gn)
			return false;
		for (size_t j = 0;; j++) {
			const char *pat = vr_ruleset_tamper_pattern(c->rs, "syscall-handlers", gn, j);
			if (!pat)
				break;
			size_t pl = strlen(pat);
			char name[256];
			if (pl < 2 || pat[pl - 1] != '*' || memchr(pat, '*', pl - 1) ||
			    snprintf(name, sizeof(name), "%.*s%s", (int)(pl - 1), pat, base) >= (int)sizeof(name))
				continue;
			uint64_t a;
			if (sym(c, name, &a) && a == v)
				return true;
		}
	}
}

static struct vr_error *check_syscalls(struct tctx *c, char **covered)
{
	if (!c->mem)
		return vr_error_create(VR_ERR_UNSUPPORTED, "the input holds no memory");
	char cov[512] = "";
	size_t covlen = 0;
	struct evidence e = {0};
	struct vr_error *partial = NULL;
	size_t tables = 0;
	const struct vr_arch_info *arch = vr_kernel_arch(c->k);
	const struct vr_syscall_table *sctables = arch ? arch->syscall_tables : NULL;
	for (size_t t = 0; arch && t < arch->n_syscall_tables; t++) {
		struct vr_symbol ts;
		if (vr_kernel_absorb(c->k, vr_kernel_symbol_lookup(c->k, sctables[t].symbol, &ts), VR_ERR_NOT_FOUND))
			continue;
		tables++;
		uint64_t n = ts.size / 8;
		if (!ts.size || n > MAX_SYSCALLS) {
			if (!partial)
				partial = vr_error_create(VR_ERR_NOT_PRESENT, "the size of %s is unknown (%" PRIu64 " bytes)",
							  sctables[t].symbol, ts.size);
			continue;
		}
		_cleanup_free_ uint8_t *mem = malloc(n * 8);
		_cleanup_free_ uint8_t *file = c->vmlinux ? malloc(n * 8) : NULL;
		if (!mem || (c->vmlinux && !file))
			return &vr_error_oom;
		struct vr_error *err = vr_kernel_read(c->k, ts.address, mem, n * 8);
		if (err) {
			if (!partial)
				partial = vr_error_wrap(err, "reading %s at 0x%" PRIx64, sctables[t].symbol, ts.address);
			else
				vr_error_destroy(err);
			continue;
		}
		bool against_file = c->confirmed && !vr_kernel_absorb(c->k, vr_kernel_vmlinux_read(c->k, ts.address, file, n * 8), VR_ERRS_READ, VR_ERR_NOT_FOUND);
		size_t checked = 0;
		for (uint64_t i = 0; i < n; i++) {
			uint64_t v = le64(mem + i * 8);
			/* kallsyms gives no size: the table ends where its
			 * padding (zeros) starts. */
			if (!v && !against_file)
				break;
			checked++;
			uint64_t want = 0;
			bool have_want = false;
			if (against_file) {
				uint64_t fv = le64(file + i * 8);
				want = c->have_layout && fv >= c->lay.image_start ? fv + c->lay.kaslr_offset : fv;
				have_want = true;
			}
			struct vr_symbol s;
			bool named = vr_kernel_symbol_at(c->k, v, &s) && s.name;
			enum owner o = owner_of(c, v, NULL);
			bool ok;
			if (have_want)
				ok = v == want;
			else
				ok = o == OWN_KERNEL_TEXT && named && s.address == v && !s.module && handler_named(c, v, &s);
			if (ok) {
				if (o == OWN_KERNEL_TEXT)
					add_handler(c, v);
				continue;
			}
			_cleanup_free_ char *got = describe(c, v);
			const char *nm = NULL;
			char name[96] = "";
			struct vr_symbol ws;
			if (have_want && vr_kernel_symbol_at(c->k, want, &ws) && ws.name)
				nm = ws.name;
			size_t pl = strlen(sctables[t].prefix);
			if (nm && !strncmp(nm, sctables[t].prefix, pl))
				snprintf(name, sizeof(name), " (%s)", nm + pl);
			if (have_want) {
				_cleanup_free_ char *exp = describe(c, want);
				ev_add(&e, "%s[%" PRIu64 "]%s at 0x%016" PRIx64 " holds %s; the vmlinux says %s",
				       sctables[t].symbol, i, name, ts.address + i * 8, got ? got : "?", exp ? exp : "?");
				if (want >= c->stext && want < c->etext)
					add_handler(c, want);
			} else {
				ev_add(&e, "%s[%" PRIu64 "] at 0x%016" PRIx64 " holds %s, not the start of a system "
				       "call handler in the kernel's text", sctables[t].symbol, i,
				       ts.address + i * 8, got ? got : "?");
			}
		}
		covlen += (size_t)snprintf(cov + covlen, sizeof(cov) - covlen, "%s%s: %zu entries (%s)%s",
					   covlen ? ", " : "", sctables[t].symbol, checked, sctables[t].abi,
					   against_file ? " against the vmlinux" : " against the kernel's symbols");
		if (covlen >= sizeof(cov))
			covlen = sizeof(cov) - 1;
	}
	if (!tables) {
		vr_error_destroy(partial);
		return vr_error_create(VR_ERR_NOT_FOUND, "the kernel's symbols name no system call table");
	}
	*covered = vr_strdup(cov);
	if (e.n) {
		uint64_t x;
		for (size_t t = 0; t < arch->n_syscall_tables; t++) {
			if (sctables[t].dispatch && sym(c, sctables[t].dispatch, &x)) {
				ev_add(&e, "this kernel dispatches %s system calls through %s, not the table: the "
					   "changed entries prove tampering, but calls do not go through them",
				       sctables[t].abi, sctables[t].dispatch);
				break;
			}
		}
		struct vr_error *err = report(c, "tamper-syscall-table", &e);
		if (err) {
			vr_error_destroy(partial);
			return err;
		}
	}
	return partial;
}

/* ---- the IDT ---- */

static struct vr_error *check_idt(struct tctx *c, char **covered)
{
	if (!c->mem)
		return vr_error_create(VR_ERR_UNSUPPORTED, "the input holds no memory");
	_cleanup_free_ struct vr_vectors *t = malloc(sizeof(*t));
	if (!t)
		return &vr_error_oom;
	struct vr_error *err = vr_kernel_vectors(c->k, t);
	if (err)
		return err;
	struct evidence e = {0};
	size_t present = 0, early_gates = 0;
	for (int v = 0; v < t->n; v++) {
		if (!t->v[v].present)
			continue;
		present++;
		uint64_t target = t->v[v].target;
		if (t->v[v].boot_stub) {
			early_gates++; /* a vector the kernel does not use keeps its boot stub */
			continue;
		}
		struct vr_symbol s;
		bool named = vr_kernel_symbol_at(c->k, target, &s) && s.name && !s.module;
		bool in_entry = c->have_text && target >= c->entry_start && target < c->entry_end;
		bool entry_name = named && vr_ruleset_tamper_group(c->rs, "idt-entry", s.name);
		char vec[12];
		snprintf(vec, sizeof(vec), "%d", v);
		bool known = false;
		bool vec_ok = named && vr_ruleset_tamper_in(c->rs, "idt-vectors", vec, s.name, &known);
		enum owner o = owner_of(c, target, NULL);
		bool ok = o == OWN_KERNEL_TEXT && (in_entry || entry_name) && (!known || vec_ok);
		if (ok) {
			add_handler(c, target);
			continue;
		}
		_cleanup_free_ char *d = describe(c, target);
		char want[160] = "";
		if (known && !vec_ok) {
			const char *p0 = vr_ruleset_tamper_pattern(c->rs, "idt-vectors", vec, 0);
			snprintf(want, sizeof(want), "; vector %d's handler is %s", v, p0 ? p0 : "?");
		}
		ev_add(&e, "%s[%d] at 0x%016" PRIx64 " points to %s, %s%s", t->symbol, v,
		       t->address + (uint64_t)v * t->entry_size, d ? d : "?",
		       in_entry || entry_name ? "in the entry code" : "not the kernel's entry code", want);
	}
	char early_txt[96] = "";
	if (early_gates)
		snprintf(early_txt, sizeof(early_txt), ", %zu unused exception vectors on their boot-time stubs",
			 early_gates);
	*covered = vr_asprintf("%s: %d gates, %zu present, each against the kernel's entry code%s%s", t->symbol,
			       t->n, present, c->have_text ? "" : " (its bounds unknown: by name only)", early_txt);
	if (e.n)
		return report(c, "tamper-idt", &e);
	return NULL;
}

/* ---- helper paths ---- */

static struct vr_error *check_helpers(struct tctx *c, char **covered)
{
	if (!c->mem)
		return vr_error_create(VR_ERR_UNSUPPORTED, "the input holds no memory");
	struct evidence e = {0};
	char cov[512] = "";
	size_t covlen = 0;
	for (size_t i = 0;; i++) {
		const char *name = vr_ruleset_tamper_group_name(c->rs, "helper-paths", i);
		if (!name)
			break;
		uint64_t addr;
		if (!sym(c, name, &addr))
			continue; /* this kernel has no such helper (CONFIG_UEVENT_HELPER) */
		char val[256], built[256] = "";
		struct vr_error *err = rdstr(c, addr, val, sizeof(val));
		if (err) {
			ev_free(&e);
			return vr_error_wrap(err, "reading %s at 0x%" PRIx64, name, addr);
		}
		bool have_built = c->confirmed && !vr_kernel_absorb(c->k, vr_kernel_vmlinux_read(c->k, addr, built, sizeof(built) - 1), VR_ERRS_READ, VR_ERR_NOT_FOUND);
		built[sizeof(built) - 1] = 0;
		bool ok = !val[0] || (have_built && !strcmp(val, built)) ||
			  vr_ruleset_tamper_in(c->rs, "helper-paths", name, val, NULL);
		covlen += (size_t)snprintf(cov + covlen, sizeof(cov) - covlen, "%s%s", covlen ? ", " : "", name);
		if (covlen >= sizeof(cov))
			covlen = sizeof(cov) - 1;
		if (ok)
			continue;
		if (have_built)
			ev_add(&e, "%s at 0x%016" PRIx64 " is \"%s\"; the vmlinux was built with \"%s\"", name, addr,
			       val, built);
		else
			ev_add(&e, "%s at 0x%016" PRIx64 " is \"%s\", none of the usual values", name, addr, val);
	}
	if (!covlen)
		return vr_error_create(VR_ERR_NOT_FOUND, "the kernel's symbols name none of the helper paths");
	*covered = vr_asprintf("%s%s", cov, c->confirmed ? " (against the vmlinux and the usual values)"
							  : " (against the usual values)");
	if (e.n)
		return report(c, "tamper-helper-path", &e);
	return NULL;
}

/* ---- CPU protections ---- */

static struct vr_error *check_cpu_protection(struct tctx *c, char **covered)
{
	size_t ncpu = c->f->n_cpus < VR_MAX_CPUS ? c->f->n_cpus : VR_MAX_CPUS;
	_cleanup_free_ const struct vr_regs **sets = calloc(ncpu + 1, sizeof(*sets));
	_cleanup_free_ const char **who = calloc(ncpu + 1, sizeof(*who));
	_cleanup_free_ char (*names)[96] = calloc(ncpu + 1, sizeof(*names));
	if (!sets || !who || !names)
		return &vr_error_oom;
	size_t n = 0;
	for (size_t i = 0; i < ncpu; i++) {
		const struct vr_cpu *cpu = &c->f->cpus[i];
		snprintf(names[n], sizeof(names[n]), "CPU %d (its saved registers)", cpu->cpu);
		who[n] = names[n];
		sets[n++] = &cpu->regs;
	}
	const struct vr_crash *cr = &c->r->crash;
	if (cr->regs.valid || cr->regs.known) {
		if (cr->cpu >= 0)
			snprintf(names[n], sizeof(names[n]), "CPU %d (the crash's register dump in the log)", cr->cpu);
		else
			snprintf(names[n], sizeof(names[n]), "the crash's register dump in the log");
		who[n] = names[n];
		sets[n++] = &cr->regs;
	}
	struct vr_protection p;
	struct vr_error *err = vr_kernel_cpu_protection(c->k, sets, who, n, &p);
	if (err)
		return err;
	struct evidence e = {0};
	for (size_t i = 0; i < p.n_evidence; i++)
		ev_add(&e, "%s", p.evidence[i]);
	*covered = p.covered;
	p.covered = NULL;
	vr_protection_deinit(&p);
	if (e.n)
		return report(c, "tamper-cpu-protection", &e);
	return NULL;
}

/* ---- a user-space address executed in kernel mode ---- */

static bool kernel_mode(const struct vr_regs *r)
{
	return vr_regs_mode_known(r) && vr_regs_kernel_mode(r);
}

/* The names of the instruction pointer and the mode register ("RIP", "CS"). */
static const char *pc_name(const struct vr_regs *r)
{
	return r->set->names[r->set->pc];
}
static const char *mode_name(const struct vr_regs *r)
{
	return r->set->names[r->set->mode];
}

static bool user_exec_addr(const struct tctx *c, uint64_t ip)
{
	const struct vr_arch_info *arch = vr_kernel_arch(c->k);
	uint64_t end = c->have_layout ? c->lay.user_end : arch ? arch->kernel_start : 0;
	return ip >= MMAP_MIN_ADDR && ip < end;
}

static struct vr_error *check_user_exec(struct tctx *c, char **covered)
{
	struct evidence e = {0};
	size_t checked = 0;
	const struct vr_crash *cr = &c->r->crash;
	if (cr->regs.valid) {
		checked++;
		uint64_t ip = vr_regs_pc(&cr->regs);
		if (kernel_mode(&cr->regs) && user_exec_addr(c, ip))
			ev_add(&e, "the crash's registers: %s 0x%016" PRIx64 " in user space with %s 0x%" PRIx64
				   " (kernel mode)", pc_name(&cr->regs), ip, mode_name(&cr->regs),
			       cr->regs.r[cr->regs.set->mode]);
	} else if (cr->ip_known) {
		checked++;
		if (cr->access && !strcmp(cr->access, "exec") && cr->fault_address_known &&
		    user_exec_addr(c, cr->fault_address) && cr->ip.address == cr->fault_address)
			ev_add(&e, "the crash: an instruction fetch at 0x%016" PRIx64 " in user space", cr->fault_address);
	}
	for (size_t i = 0; i < c->f->n_cpus; i++) {
		const struct vr_cpu *cpu = &c->f->cpus[i];
		if (!cpu->regs.valid)
			continue;
		checked++;
		if (kernel_mode(&cpu->regs) && user_exec_addr(c, vr_regs_pc(&cpu->regs)))
			ev_add(&e, "CPU %d's saved registers: %s 0x%016" PRIx64 " in user space with %s 0x%" PRIx64,
			       cpu->cpu, pc_name(&cpu->regs), vr_regs_pc(&cpu->regs), mode_name(&cpu->regs),
			       cpu->regs.r[cpu->regs.set->mode]);
		for (size_t j = 0; j < cpu->trace.n_frames; j++) {
			const struct vr_frame *fr = &cpu->trace.frames[j];
			if (!fr->exception || !fr->regs || !fr->regs->valid)
				continue;
			checked++;
			if (kernel_mode(fr->regs) && user_exec_addr(c, vr_regs_pc(fr->regs)))
				ev_add(&e, "CPU %d: an exception frame with %s 0x%016" PRIx64 " in user space and %s 0x%" PRIx64,
				       cpu->cpu, pc_name(fr->regs), vr_regs_pc(fr->regs), mode_name(fr->regs),
				       fr->regs->r[fr->regs->set->mode]);
		}
	}
	/* The kernel says so itself (x86-64's show_fault_oops()). */
	if (e.n || checked) {
		for (size_t i = 0; i < c->f->log.n_records; i++) {
			const char *t = c->f->log.records[i].text;
			if (t && strstr(t, "unable to execute userspace code (SMEP?)")) {
				ev_add(&e, "the kernel log: \"%.*s\"", (int)strcspn(t, "\n"), t);
				break;
			}
		}
	}
	if (!checked) {
		ev_free(&e);
		return vr_error_create(VR_ERR_NOT_FOUND, "no registers: neither the dump nor the log holds any");
	}
	*covered = vr_asprintf("%zu register set%s and exception frame%s", checked, checked == 1 ? "" : "s",
			       checked == 1 ? "" : "s");
	if (e.n)
		return report(c, "tamper-user-exec", &e);
	return NULL;
}

/* ---- credentials ---- */

struct cred_layout {
	uint64_t t_cred, t_real_cred, t_parent, t_flags, t_mm;
	uint64_t c_uid, c_euid, c_suid, c_fsuid, c_user, u_uid;
	bool have_user;
	uint64_t mm_exe, f_inode, i_mode, i_uid;
	bool have_exe;
};

struct creds {
	uint64_t cred, real_cred, parent, mm;
	uint32_t flags, uid, euid, suid, fsuid, user_uid;
	bool have_user;
};

static struct vr_error *read_creds(struct tctx *c, const struct cred_layout *l, uint64_t task, struct creds *ret)
{
	struct vr_error *err;
	uint64_t user = 0;
	*ret = (struct creds){0};
	if ((err = rd64(c, task + l->t_cred, &ret->cred)) || (err = rd64(c, task + l->t_real_cred, &ret->real_cred)) ||
	    (err = rd64(c, task + l->t_parent, &ret->parent)) || (err = rd32(c, task + l->t_flags, &ret->flags)) ||
	    (err = rd64(c, task + l->t_mm, &ret->mm)) || (err = rd32(c, ret->cred + l->c_uid, &ret->uid)) ||
	    (err = rd32(c, ret->cred + l->c_euid, &ret->euid)) || (err = rd32(c, ret->cred + l->c_suid, &ret->suid)) ||
	    (err = rd32(c, ret->cred + l->c_fsuid, &ret->fsuid)))
		return err;
	if (l->have_user && !vr_kernel_absorb(c->k, rd64(c, ret->cred + l->c_user, &user), VR_ERRS_READ) && user &&
	    !vr_kernel_absorb(c->k, rd32(c, user + l->u_uid, &ret->user_uid), VR_ERRS_READ))
		ret->have_user = true;
	return NULL;
}

/* Whether the task's program is a set-user-ID file of root's: the
 * ordinary way to become root without a root parent. */
static bool setuid_root_exe(struct tctx *c, const struct cred_layout *l, uint64_t mm)
{
	uint64_t file, inode;
	uint8_t mode[2];
	uint32_t uid;
	if (!l->have_exe || !mm || vr_kernel_absorb(c->k, rd64(c, mm + l->mm_exe, &file), VR_ERRS_READ) || !file ||
	    vr_kernel_absorb(c->k, rd64(c, file + l->f_inode, &inode), VR_ERRS_READ) || !inode ||
	    vr_kernel_absorb(c->k, vr_kernel_read(c->k, inode + l->i_mode, mode, 2), VR_ERRS_READ) ||
	    vr_kernel_absorb(c->k, rd32(c, inode + l->i_uid, &uid), VR_ERRS_READ))
		return false;
	return ((mode[0] | mode[1] << 8) & 04000) && uid == 0;
}

static const struct vr_task *task_by_addr(const struct tctx *c, uint64_t addr)
{
	for (size_t i = 0; i < c->f->n_tasks; i++)
		if (c->f->tasks[i].task == addr)
			return &c->f->tasks[i];
	return NULL;
}

static struct vr_error *check_creds(struct tctx *c, char **covered)
{
	if (!c->mem)
		return vr_error_create(VR_ERR_UNSUPPORTED, "the input holds no memory");
	if (!c->f->n_tasks)
		return vr_error_create(VR_ERR_NOT_FOUND, "the task list was not read");
	struct cred_layout l = {0};
	struct vr_error *lerr = NULL;
	if (!off(c, "task_struct", "cred", &l.t_cred, &lerr) || !off(c, "task_struct", "real_cred", &l.t_real_cred, &lerr) ||
	    !off(c, "task_struct", "real_parent", &l.t_parent, &lerr) || !off(c, "task_struct", "flags", &l.t_flags, &lerr) ||
	    !off(c, "task_struct", "mm", &l.t_mm, &lerr) || !off(c, "cred", "uid", &l.c_uid, &lerr) ||
	    !off(c, "cred", "euid", &l.c_euid, &lerr) || !off(c, "cred", "suid", &l.c_suid, &lerr) ||
	    !off(c, "cred", "fsuid", &l.c_fsuid, &lerr))
		return vr_error_wrap(lerr, "the layout of credentials");
	l.have_user = off(c, "cred", "user", &l.c_user, NULL) && off(c, "user_struct", "uid", &l.u_uid, NULL);
	l.have_exe = off(c, "mm_struct", "exe_file", &l.mm_exe, NULL) && off(c, "file", "f_inode", &l.f_inode, NULL) &&
		     off(c, "inode", "i_mode", &l.i_mode, NULL) && off(c, "inode", "i_uid", &l.i_uid, NULL);
	uint64_t init_cred = 0;
	bool have_init = sym(c, "init_cred", &init_cred);

	struct evidence strong = {0}, weak = {0};
	size_t checked = 0, unreadable = 0, kthreads = 0;
	for (size_t i = 0; i < c->f->n_tasks && i < MAX_TASKS_CHECKED; i++) {
		const struct vr_task *t = &c->f->tasks[i];
		if (!t->task || t->from_log || t->is_idle)
			continue;
		struct creds cr;
		if (vr_kernel_absorb(c->k, read_creds(c, &l, t->task, &cr), VR_ERRS_READ)) {
			unreadable++;
			continue;
		}
		checked++;
		bool kthread = (cr.flags & PF_KTHREAD) || !cr.mm;
		if (kthread) {
			kthreads++;
			continue;
		}
		bool root = !cr.uid || !cr.euid || !cr.suid || !cr.fsuid;
		char who[96];
		snprintf(who, sizeof(who), "task %s (pid %d) at 0x%016" PRIx64, t->comm, t->pid, t->task);
		bool flagged = false;
		if (have_init && (cr.cred == init_cred || cr.real_cred == init_cred)) {
			ev_add(&strong, "%s, a user task (it has an mm and is not a kernel thread), uses the kernel's "
					"initial credentials init_cred at 0x%016" PRIx64 " (uid %u euid %u)",
			       who, init_cred, cr.uid, cr.euid);
			flagged = true;
		}
		if (root && cr.have_user && cr.user_uid != cr.uid) {
			ev_add(&strong, "%s: uid %u euid %u suid %u fsuid %u, but its user accounting (cred->user) "
					"still says uid %u: the ids were written into its credentials, not set by "
					"setuid() or a set-user-ID program",
			       who, cr.uid, cr.euid, cr.suid, cr.fsuid, cr.user_uid);
			flagged = true;
		}
		if (!root && !flagged)
			continue;
		/* The parent, and the program. */
		struct creds pc;
		bool parent_ok = cr.parent && !vr_kernel_absorb(c->k, read_creds(c, &l, cr.parent, &pc), VR_ERRS_READ);
		bool parent_root = parent_ok && (!pc.uid || !pc.euid || !pc.suid);
		const struct vr_task *pt = task_by_addr(c, cr.parent);
		char pwho[96] = "its parent";
		if (pt)
			snprintf(pwho, sizeof(pwho), "its parent %s (pid %d)", pt->comm, pt->pid);
		if (flagged) {
			if (parent_ok)
				ev_add(&strong, "%s: %s has uid %u euid %u", who, pwho, pc.uid, pc.euid);
			continue;
		}
		if (!cr.euid && (cr.uid || (parent_ok && !parent_root)) && !setuid_root_exe(c, &l, cr.mm)) {
			if (cr.uid)
				ev_add(&weak, "%s: euid 0 with real uid %u, and its program is not a set-user-ID file of root's",
				       who, cr.uid);
			else
				ev_add(&weak, "%s: uid %u euid %u, while %s has uid %u euid %u suid %u, and its program is "
					      "not a set-user-ID file of root's",
				       who, cr.uid, cr.euid, pwho, pc.uid, pc.euid, pc.suid);
		}
	}
	if (!checked) {
		ev_free(&strong);
		ev_free(&weak);
		return vr_error_create(VR_ERR_NOT_PRESENT, "the credentials of none of %zu tasks could be read",
				       c->f->n_tasks);
	}
	*covered = vr_asprintf("%zu task%s, %zu of them kernel threads; each user task's credentials%s%s, and root "
			       "without a root parent, a root real user or a set-user-ID program",
			       checked, pl(checked), kthreads, have_init ? ": init_cred shared" : ":",
			       l.have_user ? ", root ids against the user accounting" : "");
	struct vr_error *err = NULL;
	if (strong.n)
		err = report(c, "tamper-credentials", &strong);
	if (!err && weak.n)
		err = report(c, "tamper-root-parent", &weak);
	ev_free(&strong);
	ev_free(&weak);
	if (!err && unreadable)
		err = vr_error_create(VR_ERR_NOT_PRESENT, "the credentials of %zu tasks could not be read", unreadable);
	return err;
}

/* ---- modules ---- */

/* What a module's list links say. */
static void link_state(struct tctx *c, uint64_t node, char *buf, size_t cap)
{
	uint64_t next = 0, prev = 0;
	if (vr_kernel_absorb(c->k, rd64(c, node, &next), VR_ERRS_READ) || vr_kernel_absorb(c->k, rd64(c, node + 8, &prev), VR_ERRS_READ)) {
		snprintf(buf, cap, "its list links cannot be read");
		return;
	}
	if (next == LIST_POISON1 && prev == LIST_POISON2)
		snprintf(buf, cap, "its list links hold LIST_POISON1 and LIST_POISON2: list_del() took it off the list");
	else if (next == node && prev == node)
		snprintf(buf, cap, "its list links point to itself: list_del_init() took it off the list");
	else
		snprintf(buf, cap, "its list links point to 0x%016" PRIx64 " and 0x%016" PRIx64
			 ", whose links do not point back to it", next, prev);
}

static struct vr_error *check_hidden_sysfs(struct tctx *c, struct evidence *e, uint64_t name_off, size_t *ret_n)
{
	uint64_t kset_ptr, kset, list_off, entry_off, kobj_off, mod_off;
	struct vr_error *err = NULL;
	*ret_n = 0;
	if (!sym(c, "module_kset", &kset_ptr))
		return vr_error_create(VR_ERR_NOT_FOUND, "no module_kset");
	if (!off(c, "kset", "list", &list_off, &err) || !off(c, "kobject", "entry", &entry_off, &err) ||
	    !off(c, "module_kobject", "kobj", &kobj_off, &err) || !off(c, "module_kobject", "mod", &mod_off, &err))
		return err;
	if ((err = rd64(c, kset_ptr, &kset)) || !kset)
		return err ? err : vr_error_create(VR_ERR_NOT_FOUND, "module_kset is NULL");
	uint64_t head = kset + list_off, node;
	if ((err = rd64(c, head, &node)))
		return err;
	for (size_t steps = 0; node != head; steps++) {
		if (steps > MAX_LIST_STEPS || !node)
			return vr_error_create(VR_ERR_FORMAT, "the sysfs module list does not end");
		uint64_t mk = node - entry_off - kobj_off, mod = 0;
		if ((err = rd64(c, mk + mod_off, &mod)))
			return err;
		(*ret_n)++;
		if (mod && !module_by_addr(c, mod)) {
			char name[64] = "?";
			vr_kernel_absorb(c->k, rdstr(c, mod + name_off, name, sizeof(name)), VR_ERRS_READ);
			char links[200];
			uint64_t list_off_m = 0;
			if (!vr_kernel_absorb(c->k, vr_kernel_member_offset(c->k, "module", "list", &list_off_m), VR_ERRS_LAYOUT))
				link_state(c, mod + list_off_m, links, sizeof(links));
			else
				snprintf(links, sizeof(links), "its list links are unknown");
			ev_add(e, "module %s (struct module at 0x%016" PRIx64 ") has a directory in /sys/module but is "
				  "neither on the module list nor in the kernel's module address tree; %s",
			       name, mod, links);
		}
		if ((err = rd64(c, node, &node)))
			return err;
	}
	return NULL;
}

/* Module-area mappings (vmalloc's busy areas within the module area). */
struct vmap_walk {
	struct tctx *c;
	uint64_t va_start, va_end, va_node, va_vm, vm_addr, vm_size, vm_caller;
	uint64_t rb_left, rb_right;
	size_t areas, owned, by_group[8], nodes, init_pending, loader_unowned;
	uint64_t name_off, list_off, self_off; /* struct module: name, list, mkobj.mod */
	bool have_mod_layout;
	uint64_t pending[16];
	size_t n_pending;
	const char *groups[8];
	size_t n_groups;
	struct evidence *e;
	struct vr_error *err;
};

/* Module init memory the kernel has yet to free: do_init_module() hands it
 * to a work item through init_free_list (struct mod_initfree: init_text,
 * init_data, init_rodata since 6.4, module_init before), so a crash soon
 * after a module loaded finds it still mapped and no module's. */
static void pending_init_frees(struct vmap_walk *w)
{
	struct tctx *c = w->c;
	uint64_t head, node = 0, first_off;
	static const char *const members[] = {"init_text", "init_data", "init_rodata", "module_init"};
	if (!sym(c, "init_free_list", &head) || !off(c, "llist_head", "first", &first_off, NULL) ||
	    vr_kernel_absorb(c->k, rd64(c, head + first_off, &node), VR_ERRS_READ))
		return;
	uint64_t node_off = 0;
	if (!off(c, "mod_initfree", "node", &node_off, NULL))
		return;
	for (size_t steps = 0; node && steps < 4096; steps++) {
		uint64_t f = node - node_off;
		for (size_t i = 0; i < sizeof(members) / sizeof(members[0]) && w->n_pending < 16; i++) {
			uint64_t mo, p = 0;
			if (off(c, "mod_initfree", members[i], &mo, NULL) && !vr_kernel_absorb(c->k, rd64(c, f + mo, &p), VR_ERRS_READ) && p)
				w->pending[w->n_pending++] = p;
		}
		if (vr_kernel_absorb(c->k, rd64(c, node, &node), VR_ERRS_READ))
			break;
	}
}

static void vmap_area(struct vmap_walk *w, uint64_t va)
{
	struct tctx *c = w->c;
	uint64_t start, end, vm = 0, caller = 0, size = 0;
	if ((w->err = rd64(c, va + w->va_start, &start)) || (w->err = rd64(c, va + w->va_end, &end)) ||
	    (w->err = rd64(c, va + w->va_vm, &vm)))
		return;
	if (end <= c->lay.modules_start || start >= c->lay.modules_end || !vm)
		return;
	w->areas++;
	if (vr_kernel_absorb(c->k, rd64(c, vm + w->vm_caller, &caller), VR_ERRS_READ) || vr_kernel_absorb(c->k, rd64(c, vm + w->vm_size, &size), VR_ERRS_READ))
		caller = 0;
	/* Owned by a module when a region of one lies in it. */
	for (size_t i = 0; i < c->f->n_modules; i++)
		for (size_t j = 0; j < VR_MODULE_REGIONS; j++) {
			uint64_t b = c->f->modules[i].regions[j].base;
			if (b && b >= start && b < end) {
				w->owned++;
				return;
			}
		}
	for (size_t i = 0; i < w->n_pending; i++)
		if (w->pending[i] >= start && w->pending[i] < end) {
			w->init_pending++;
			return;
		}
	struct vr_symbol s;
	const char *cs = caller && vr_kernel_symbol_at(c->k, caller, &s) && s.name ? s.name : NULL;
	const char *g = cs ? vr_ruleset_tamper_group(c->rs, "module-area-owners", cs) : NULL;
	if (g && strcmp(g, "module-loader")) {
		size_t k;
		for (k = 0; k < w->n_groups && strcmp(w->groups[k], g); k++)
			;
		if (k == w->n_groups && k < 8)
			w->groups[w->n_groups++] = g;
		if (k < 8)
			w->by_group[k]++;
		return;
	}
	if (!g)
		return; /* not the module loader's: no module to expect */
	w->loader_unowned++;
	/* The module loader's memory that no module owns: a module's init
	 * memory awaiting its free (do_free_init() runs after an RCU grace
	 * period), or a module that took itself off the list and out of the
	 * address tree. The latter's struct module lives in its data: one
	 * whose mkobj.mod points back to itself. */
	if (!w->have_mod_layout || !size)
		return;
	uint64_t span = end - start;
	if (span > 256 * 1024)
		span = 256 * 1024;
	uint8_t page[4096];
	for (uint64_t pa = start; pa < start + span; pa += sizeof(page)) {
		if (vr_kernel_absorb(c->k, vr_kernel_read(c->k, pa, page, sizeof(page)), VR_ERRS_READ))
			continue;
		for (uint64_t o = 0; o + 64 <= sizeof(page); o += 64) {
			uint64_t m = pa + o, back = 0;
			if (w->self_off + 8 > (start + span) - m ||
			    vr_kernel_absorb(c->k, rd64(c, m + w->self_off, &back), VR_ERRS_READ) || back != m || module_by_addr(c, m))
				continue;
			char name[64] = "?";
			vr_kernel_absorb(c->k, rdstr(c, m + w->name_off, name, sizeof(name)), VR_ERRS_READ);
			char links[200];
			link_state(c, m + w->list_off, links, sizeof(links));
			ev_add(w->e, "module %s (struct module at 0x%016" PRIx64 ") lies in module memory at 0x%016" PRIx64
				     "-0x%016" PRIx64 " that the module loader (%s) allocated, but the module is neither on "
				     "the module list nor in the kernel's module address tree; %s",
			       name, m, start, end, cs, links);
			return;
		}
	}
}

static void vmap_walk_tree(struct vmap_walk *w, uint64_t node, unsigned depth)
{
	struct tctx *c = w->c;
	while (node && !w->err) {
		if (++w->nodes > MAX_VMAP_AREAS || depth > 128) {
			w->err = vr_error_create(VR_ERR_FORMAT, "the vmalloc area tree is larger or deeper than it can be");
			return;
		}
		uint64_t va = node - w->va_node, start, left = 0, right = 0;
		if ((w->err = rd64(c, va + w->va_start, &start)) || (w->err = rd64(c, node + w->rb_left, &left)) ||
		    (w->err = rd64(c, node + w->rb_right, &right)))
			return;
		/* Keyed by va_start: the left subtree is below start, the right above. */
		if (start > c->lay.modules_start)
			vmap_walk_tree(w, left, depth + 1);
		if (start < c->lay.modules_end)
			vmap_area(w, va);
		if (start >= c->lay.modules_end)
			return;
		node = right;
		depth++;
	}
}

static struct vr_error *walk_vmap(struct tctx *c, struct vmap_walk *w)
{
	struct vr_error *err = NULL;
	if (!off(c, "vmap_area", "va_start", &w->va_start, &err) || !off(c, "vmap_area", "va_end", &w->va_end, &err) ||
	    !off(c, "vmap_area", "rb_node", &w->va_node, &err) || !off(c, "vmap_area", "vm", &w->va_vm, &err) ||
	    !off(c, "vm_struct", "size", &w->vm_size, &err) || !off(c, "vm_struct", "caller", &w->vm_caller, &err) ||
	    !off(c, "rb_node", "rb_left", &w->rb_left, &err) || !off(c, "rb_node", "rb_right", &w->rb_right, &err))
		return err;
	uint64_t root_addr, nodes, busy;
	pending_init_frees(w);
	if (sym(c, "vmap_area_root", &root_addr)) {
		uint64_t root;
		if ((err = rd64(c, root_addr, &root)))
			return err;
		vmap_walk_tree(w, root, 0);
		return w->err;
	}
	/* 6.9+ (commit d093602919ad "mm: vmalloc: remove global vmap_area_root
	 * rb-tree"): one busy tree per vmap node. */
	uint64_t n_addr, node_size;
	uint32_t n = 0;
	if (!sym(c, "vmap_nodes", &nodes) || !sym(c, "nr_vmap_nodes", &n_addr))
		return vr_error_create(VR_ERR_NOT_FOUND, "neither vmap_area_root nor vmap_nodes is known");
	if (!off(c, "vmap_node", "busy.root", &busy, &err) || (err = vr_kernel_type_size(c->k, "vmap_node", &node_size)))
		return err;
	uint64_t base;
	if ((err = rd64(c, nodes, &base)) || (err = rd32(c, n_addr, &n)))
		return err;
	if (n > 4096)
		return vr_error_create(VR_ERR_FORMAT, "nr_vmap_nodes is %u", n);
	for (uint32_t i = 0; i < n && !w->err; i++) {
		uint64_t root;
		if ((err = rd64(c, base + i * node_size + busy, &root)))
			return err;
		vmap_walk_tree(w, root, 0);
	}
	return w->err;
}

static struct vr_error *check_modules(struct tctx *c, char **covered)
{
	if (!c->mem)
		return vr_error_create(VR_ERR_UNSUPPORTED, "the input holds no memory");
	uint64_t list_off, name_off;
	struct vr_error *err = NULL;
	if (!off(c, "module", "list", &list_off, &err) || !off(c, "module", "name", &name_off, &err))
		return vr_error_wrap(err, "the layout of struct module");
	struct evidence hidden = {0}, broken = {0};
	size_t listed = 0, unlisted = 0;
	for (size_t i = 0; i < c->f->n_modules; i++) {
		const struct vr_module *m = &c->f->modules[i];
		uint64_t node = m->addr + list_off;
		if (m->unlisted) {
			unlisted++;
			char links[200];
			link_state(c, node, links, sizeof(links));
			ev_add(&hidden, "module %s (struct module at 0x%016" PRIx64 ", text 0x%016" PRIx64 "-0x%016" PRIx64
					", taints %s, state %s) is in the kernel's module address tree (mod_tree) but "
					"not on the module list; %s",
			       m->name ? m->name : "?", m->addr, m->text_base, m->text_base + m->text_size,
			       m->taints && m->taints[0] ? m->taints : "none", m->state ? m->state : "?", links);
			continue;
		}
		listed++;
		uint64_t next = 0, prev = 0, back_next = 0, back_prev = 0;
		if (vr_kernel_absorb(c->k, rd64(c, node, &next), VR_ERRS_READ) || vr_kernel_absorb(c->k, rd64(c, node + 8, &prev), VR_ERRS_READ) ||
		    vr_kernel_absorb(c->k, rd64(c, next + 8, &back_prev), VR_ERRS_READ) || vr_kernel_absorb(c->k, rd64(c, prev, &back_next), VR_ERRS_READ))
			continue;
		if (back_prev != node || back_next != node)
			ev_add(&broken, "module %s (struct module at 0x%016" PRIx64 "): list.next 0x%016" PRIx64
					" points back to 0x%016" PRIx64 ", list.prev 0x%016" PRIx64 " points on to 0x%016" PRIx64
					", not to it",
			       m->name ? m->name : "?", m->addr, next, back_prev, prev, back_next);
	}
	size_t sysfs = 0;
	struct vr_error *serr = check_hidden_sysfs(c, &hidden, name_off, &sysfs);
	struct vmap_walk w = {.c = c, .e = &hidden, .name_off = name_off, .list_off = list_off};
	uint64_t mkobj, mk_mod;
	w.have_mod_layout = off(c, "module", "mkobj", &mkobj, NULL) && off(c, "module_kobject", "mod", &mk_mod, NULL);
	w.self_off = mkobj + mk_mod;
	struct vr_error *verr = c->have_layout ? walk_vmap(c, &w)
					       : vr_error_create(VR_ERR_NOT_FOUND, "the module area is unknown");
	char areas[256] = "module-area mappings not read";
	if (!verr) {
		size_t al = (size_t)snprintf(areas, sizeof(areas), "%zu module-area mappings (%zu of modules", w.areas,
					     w.owned);
		if (w.init_pending + w.loader_unowned && al < sizeof(areas))
			al += (size_t)snprintf(areas + al, sizeof(areas) - al,
					       ", %zu of the module loader with no module: init memory awaiting its free",
					       w.init_pending + w.loader_unowned);
		for (size_t i = 0; i < w.n_groups && al < sizeof(areas); i++)
			al += (size_t)snprintf(areas + al, sizeof(areas) - al, ", %zu of %s", w.by_group[i], w.groups[i]);
		if (al < sizeof(areas))
			snprintf(areas + al, sizeof(areas) - al, ")");
	}
	char sys[64] = "/sys/module not read";
	if (!serr)
		snprintf(sys, sizeof(sys), "%zu entries of /sys/module", sysfs);
	*covered = vr_asprintf("%zu module%s on the list (their links), %zu in the module address tree only; %s; %s",
			       listed, pl(listed), unlisted, sys, areas);
	struct vr_error *ret = NULL;
	if (hidden.n)
		ret = report(c, "tamper-hidden-module", &hidden);
	if (!ret && broken.n)
		ret = report(c, "tamper-module-list", &broken);
	ev_free(&hidden);
	ev_free(&broken);
	if (!ret && (serr || verr)) {
		struct vr_error *first = serr ? serr : verr;
		ret = vr_error_create(VR_ERR_NOT_PRESENT, "%s: %s", serr ? "/sys/module" : "the module-area mappings",
				      first->message);
	}
	vr_error_destroy(serr);
	vr_error_destroy(verr);
	return ret;
}

/* ---- taint ---- */

static struct vr_error *check_taint(struct tctx *c, char **covered)
{
	const struct vr_system *sy = &c->f->system;
	if (!sy->taint_known || !sy->taint_letters)
		return vr_error_create(VR_ERR_NOT_FOUND, "the kernel's taint is unknown");
	if (c->mem && !c->f->n_modules) {
		/* No module list to compare with (the collector says why),
		 * unless the kernel has none loaded. */
		bool any = strpbrk(sy->taint_letters, "OEP") != NULL;
		if (any)
			return vr_error_create(VR_ERR_NOT_FOUND, "no module was read to account for taint %s",
					       sy->taint_letters);
	}
	if (!c->mem)
		return vr_error_create(VR_ERR_UNSUPPORTED, "the input holds no module list");
	static const struct {
		char letter;
		const char *what;
	} kinds[] = {{'O', "out-of-tree"}, {'E', "unsigned"}, {'P', "proprietary"}};
	struct evidence e = {0};
	char seen[8] = "";
	size_t ns = 0;
	for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
		char L = kinds[k].letter;
		/* 'P' is the first letter of the kernel's string, "G" there
		 * means no proprietary module. */
		if (!strchr(sy->taint_letters, L))
			continue;
		seen[ns++] = L;
		bool owned = false;
		const struct vr_module *hidden = NULL;
		for (size_t i = 0; i < c->f->n_modules; i++) {
			const struct vr_module *m = &c->f->modules[i];
			if (!m->taints || !strchr(m->taints, L))
				continue;
			if (m->unlisted)
				hidden = m;
			else
				owned = true;
		}
		if (owned)
			continue;
		char why[160] = "";
		if (hidden)
			snprintf(why, sizeof(why), "; module %s, which is not on the module list, carries it",
				 hidden->name ? hidden->name : "?");
		ev_add(&e, "the kernel is tainted %c (%s module) but no module on the list carries %c%s", L,
		       kinds[k].what, L, why);
		/* The kernel names the module when it taints (kernel/module/main.c,
		 * module_augment_kernel_taints(), and module signing). */
		for (size_t i = 0; i < c->f->log.n_records; i++) {
			const char *t = c->f->log.records[i].text;
			if (!t)
				continue;
			bool hit = (L == 'O' && strstr(t, "loading out-of-tree module taints kernel")) ||
				   (L == 'E' && strstr(t, "module verification failed")) ||
				   (L == 'P' && strstr(t, "taints kernel") && strstr(t, "license"));
			if (hit) {
				ev_add(&e, "the kernel log: \"%.*s\"", (int)strcspn(t, "\n"), t);
				break;
			}
		}
	}
	*covered = vr_asprintf("taint %s%s%s against the taints of %zu modules", sy->taint_letters,
			       ns ? ": " : "", ns ? seen : "", c->f->n_modules);
	if (e.n)
		return report(c, "tamper-taint", &e);
	return NULL;
}

/* ---- hooks: ftrace and kprobes ---- */

static bool kernel_owned(const struct tctx *c, uint64_t addr)
{
	return owner_of(c, addr, NULL) == OWN_KERNEL_TEXT;
}

/* "commit_creds+0x0 (credentials)" for a probed or traced address. */
static void hooked_name(struct tctx *c, uint64_t addr, char *buf, size_t cap, const char **ret_group)
{
	struct vr_symbol s;
	*ret_group = NULL;
	if (vr_kernel_symbol_at(c->k, addr, &s) && s.name) {
		*ret_group = vr_ruleset_tamper_group(c->rs, "sensitive-functions", s.name);
		snprintf(buf, cap, "%s+0x%" PRIx64 "%s%s%s%s%s%s", s.name, addr - s.address, s.module ? " [" : "",
			 s.module ? s.module : "", s.module ? "]" : "", *ret_group ? " (" : "",
			 *ret_group ? *ret_group : "", *ret_group ? ")" : "");
	} else {
		snprintf(buf, cap, "0x%016" PRIx64, addr);
	}
}

struct kp_layout {
	uint64_t hlist, list, addr, pre, post, kret_handler;
	bool have_kret;
	uint64_t aggr, kret_pre;
};

static void one_kprobe(struct tctx *c, const struct kp_layout *l, uint64_t kp, uint64_t addr, struct evidence *e,
		       size_t *kernel, size_t *total)
{
	uint64_t pre = 0, post = 0, handler = 0;
	vr_kernel_absorb(c->k, rd64(c, kp + l->pre, &pre), VR_ERRS_READ);
	vr_kernel_absorb(c->k, rd64(c, kp + l->post, &post), VR_ERRS_READ);
	if (l->have_kret && pre == l->kret_pre)
		vr_kernel_absorb(c->k, rd64(c, kp + l->kret_handler, &handler), VR_ERRS_READ);
	(*total)++;
	uint64_t hs[3] = {pre == l->kret_pre ? 0 : pre, post, handler};
	const char *names[3] = {"pre_handler", "post_handler", "kretprobe handler"};
	bool foreign = false, unowned = false;
	for (int i = 0; i < 3; i++) {
		if (!hs[i] || kernel_owned(c, hs[i]))
			continue;
		foreign = true;
		enum owner o = owner_of(c, hs[i], NULL);
		unowned |= o != OWN_MODULE;
	}
	if (!foreign) {
		(*kernel)++;
		return;
	}
	char where[256];
	const char *group;
	hooked_name(c, addr, where, sizeof(where), &group);
	if (!group && !unowned)
		return; /* a module probing an ordinary function */
	for (int i = 0; i < 3; i++) {
		if (!hs[i] || kernel_owned(c, hs[i]))
			continue;
		_cleanup_free_ char *d = describe(c, hs[i]);
		ev_add(e, "kprobe at 0x%016" PRIx64 " on %s (struct kprobe at 0x%016" PRIx64 "): %s %s", addr, where,
		       kp, names[i], d ? d : "?");
	}
}

static struct vr_error *check_kprobes(struct tctx *c, struct evidence *e, char *cov, size_t cap)
{
	struct vr_symbol tab;
	struct vr_error *err = NULL;
	if (vr_kernel_absorb(c->k, vr_kernel_symbol_lookup(c->k, "kprobe_table", &tab), VR_ERR_NOT_FOUND)) {
		snprintf(cov, cap, "no kprobes (kprobe_table unknown)");
		return NULL;
	}
	struct kp_layout l = {0};
	if (!off(c, "kprobe", "hlist", &l.hlist, &err) || !off(c, "kprobe", "list", &l.list, &err) ||
	    !off(c, "kprobe", "addr", &l.addr, &err) || !off(c, "kprobe", "pre_handler", &l.pre, &err) ||
	    !off(c, "kprobe", "post_handler", &l.post, &err))
		return vr_error_wrap(err, "the layout of struct kprobe");
	uint64_t kp_in_kret = 0;
	l.have_kret = off(c, "kretprobe", "handler", &l.kret_handler, NULL) &&
		      off(c, "kretprobe", "kp", &kp_in_kret, NULL) && sym(c, "pre_handler_kretprobe", &l.kret_pre);
	l.kret_handler -= kp_in_kret;
	if (!sym(c, "aggr_pre_handler", &l.aggr))
		l.aggr = 0;
	uint64_t buckets = tab.size / 8;
	if (!buckets || buckets > MAX_KPROBE_BUCKETS)
		return vr_error_create(VR_ERR_NOT_FOUND, "the size of kprobe_table is unknown");
	size_t kernel = 0, total = 0, steps = 0;
	for (uint64_t b = 0; b < buckets; b++) {
		uint64_t node;
		if ((err = rd64(c, tab.address + b * 8, &node)))
			return vr_error_wrap(err, "reading kprobe_table");
		while (node) {
			if (++steps > MAX_KPROBES)
				return vr_error_create(VR_ERR_FORMAT, "kprobe_table holds more than %u probes", MAX_KPROBES);
			uint64_t kp = node - l.hlist, addr = 0, pre = 0;
			if ((err = rd64(c, kp + l.addr, &addr)) || (err = rd64(c, kp + l.pre, &pre)))
				return vr_error_wrap(err, "reading the kprobe at 0x%" PRIx64, kp);
			if ((err = vr_grow(&c->kprobes, &c->cap_kprobes, c->n_kprobes + 1, sizeof(*c->kprobes),
					   MAX_KPROBES)))
				return err; /* out of memory: more than MAX_KPROBES stopped the walk above */
			c->kprobes[c->n_kprobes++] = (struct hook_site){addr, 5};
			if (l.aggr && pre == l.aggr) {
				/* An aggregate: the probes sharing the address are on its list. */
				uint64_t head = kp + l.list, it;
				if ((err = rd64(c, head, &it)))
					return err;
				for (size_t n = 0; it != head && it; n++) {
					if (n > MAX_KPROBES)
						return vr_error_create(VR_ERR_FORMAT, "an aggregate kprobe's list does not end");
					one_kprobe(c, &l, it - l.list, addr, e, &kernel, &total);
					if ((err = rd64(c, it, &it)))
						return err;
				}
			} else {
				one_kprobe(c, &l, kp, addr, e, &kernel, &total);
			}
			if ((err = rd64(c, node, &node)))
				return err;
		}
	}
	snprintf(cov, cap, "%zu kprobe%s (%zu the kernel's own)", total, pl(total), kernel);
	return NULL;
}

struct ftrace_flag {
	const char *enumerator, *name;
};

static struct vr_error *check_ftrace(struct tctx *c, struct evidence *e, char *cov, size_t cap)
{
	uint64_t head, end;
	struct vr_error *err = NULL;
	if (!sym(c, "ftrace_ops_list", &head) || !sym(c, "ftrace_list_end", &end)) {
		snprintf(cov, cap, "no ftrace (ftrace_ops_list unknown)");
		return NULL;
	}
	uint64_t o_func, o_next, o_flags, o_hash, h_filter, fh_bits, fh_buckets, fh_count, fe_ip;
	if (!off(c, "ftrace_ops", "func", &o_func, &err) || !off(c, "ftrace_ops", "next", &o_next, &err) ||
	    !off(c, "ftrace_ops", "flags", &o_flags, &err) || !off(c, "ftrace_ops", "func_hash", &o_hash, &err) ||
	    !off(c, "ftrace_ops_hash", "filter_hash", &h_filter, &err) ||
	    !off(c, "ftrace_hash", "size_bits", &fh_bits, &err) || !off(c, "ftrace_hash", "buckets", &fh_buckets, &err) ||
	    !off(c, "ftrace_hash", "count", &fh_count, &err) || !off(c, "ftrace_func_entry", "ip", &fe_ip, &err))
		return vr_error_wrap(err, "the layout of ftrace's ops");
	static const struct ftrace_flag flags[] = {
		{"FTRACE_OPS_FL_ENABLED", "ENABLED"}, {"FTRACE_OPS_FL_SAVE_REGS", "SAVE_REGS"},
		{"FTRACE_OPS_FL_IPMODIFY", "IPMODIFY"}, {"FTRACE_OPS_FL_RECURSION", "RECURSION"},
		{"FTRACE_OPS_FL_DIRECT", "DIRECT"}, {"FTRACE_OPS_FL_PERMANENT", "PERMANENT"},
	};
	uint64_t ops;
	if ((err = rd64(c, head, &ops)))
		return vr_error_wrap(err, "reading ftrace_ops_list");
	size_t n = 0, kernel = 0;
	while (ops && ops != end) {
		if (++n > MAX_FTRACE_OPS)
			return vr_error_create(VR_ERR_FORMAT, "ftrace_ops_list does not end");
		uint64_t func = 0, next = 0, fl = 0, hash = 0, filter = 0;
		if ((err = rd64(c, ops + o_func, &func)) || (err = rd64(c, ops + o_next, &next)) ||
		    (err = rd64(c, ops + o_flags, &fl)))
			return vr_error_wrap(err, "reading the ftrace_ops at 0x%" PRIx64, ops);
		if (kernel_owned(c, func)) {
			kernel++;
			ops = next;
			continue;
		}
		char fls[160] = "";
		size_t fll = 0;
		for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++) {
			int64_t v;
			if (!vr_kernel_absorb(c->k, vr_kernel_enum_value(c->k, flags[i].enumerator, &v), VR_ERRS_LAYOUT) && v > 0 && (fl & (uint64_t)v))
				fll += (size_t)snprintf(fls + fll, sizeof(fls) - fll, "%s%s", fll ? "|" : "", flags[i].name);
			if (fll >= sizeof(fls))
				fll = sizeof(fls) - 1;
		}
		_cleanup_free_ char *d = describe(c, func);
		/* What it traces: the ops' filter hash (empty: every function). */
		uint64_t bits = 0, buckets = 0, count = 0;
		bool hash_ok = !vr_kernel_absorb(c->k, rd64(c, ops + o_hash, &hash), VR_ERRS_READ) && hash &&
			       !vr_kernel_absorb(c->k, rd64(c, hash + h_filter, &filter), VR_ERRS_READ) && filter &&
			       !vr_kernel_absorb(c->k, rd64(c, filter + fh_bits, &bits), VR_ERRS_READ) &&
			       !vr_kernel_absorb(c->k, rd64(c, filter + fh_buckets, &buckets), VR_ERRS_READ) &&
			       !vr_kernel_absorb(c->k, rd64(c, filter + fh_count, &count), VR_ERRS_READ) && bits < 20;
		enum owner o = owner_of(c, func, NULL);
		if (!hash_ok || !count) {
			ev_add(e, "ftrace_ops at 0x%016" PRIx64 " (flags %s) calls %s on %s", ops, fls[0] ? fls : "none",
			       d ? d : "?", hash_ok ? "every traced function" : "functions its filter does not say");
			ops = next;
			continue;
		}
		size_t shown = 0, sensitive = 0, entries = 0;
		for (uint64_t b = 0; b < (1ull << bits) && entries < MAX_HASH_ENTRIES; b++) {
			uint64_t node = 0;
			if (vr_kernel_absorb(c->k, rd64(c, buckets + b * 8, &node), VR_ERRS_READ))
				break;
			for (; node && entries < MAX_HASH_ENTRIES; entries++) {
				uint64_t ip = 0;
				if (vr_kernel_absorb(c->k, rd64(c, node + fe_ip, &ip), VR_ERRS_READ))
					break;
				char where[256];
				const char *group;
				hooked_name(c, ip, where, sizeof(where), &group);
				if (group || o != OWN_MODULE) {
					sensitive++;
					if (shown++ < 8)
						ev_add(e, "ftrace_ops at 0x%016" PRIx64 " (flags %s) calls %s at 0x%016" PRIx64 ", %s",
						       ops, fls[0] ? fls : "none", d ? d : "?", ip, where);
				}
				if (vr_kernel_absorb(c->k, rd64(c, node, &node), VR_ERRS_READ))
					break;
			}
		}
		if (shown > 8)
			ev_add(e, "ftrace_ops at 0x%016" PRIx64 ": %zu more sensitive functions", ops, shown - 8);
		ops = next;
	}
	snprintf(cov, cap, "%zu ftrace_ops (%zu the kernel's own)", n, kernel);
	return NULL;
}

/* Line disciplines: what reads every keystroke of a terminal. An ldisc's
 * receive functions are the code of the ldisc's owner (ops->owner: the
 * kernel's own n_tty has none, a module's ldisc names its module); one
 * pointing elsewhere was hooked, as keyloggers do. */
#define MAX_TTY_DRIVERS 1024
#define MAX_TTYS 65536

static struct vr_error *check_ttys(struct tctx *c, struct evidence *e, char *cov, size_t cap)
{
	uint64_t head;
	struct vr_error *err = NULL;
	if (!sym(c, "tty_drivers", &head)) {
		snprintf(cov, cap, "no ttys (tty_drivers unknown)");
		return NULL;
	}
	uint64_t d_list, d_ttys, d_num, d_name, t_ldisc, t_name, l_ops, o_owner, o_rb, o_rb2 = 0;
	if (!off(c, "tty_driver", "tty_drivers", &d_list, &err) || !off(c, "tty_driver", "ttys", &d_ttys, &err) ||
	    !off(c, "tty_driver", "num", &d_num, &err) || !off(c, "tty_driver", "name", &d_name, &err) ||
	    !off(c, "tty_struct", "ldisc", &t_ldisc, &err) || !off(c, "tty_struct", "name", &t_name, &err) ||
	    !off(c, "tty_ldisc", "ops", &l_ops, &err) || !off(c, "tty_ldisc_ops", "owner", &o_owner, &err) ||
	    !off(c, "tty_ldisc_ops", "receive_buf", &o_rb, &err))
		return vr_error_wrap(err, "the layout of ttys");
	bool have_rb2 = off(c, "tty_ldisc_ops", "receive_buf2", &o_rb2, NULL);
	uint64_t node;
	if ((err = rd64(c, head, &node)))
		return err;
	size_t drivers = 0, ttys = 0;
	for (; node != head; drivers++) {
		if (drivers > MAX_TTY_DRIVERS || !node)
			return vr_error_create(VR_ERR_FORMAT, "the tty driver list does not end");
		uint64_t drv = node - d_list, arr = 0;
		uint32_t num = 0;
		if ((err = rd64(c, drv + d_ttys, &arr)) || (err = rd32(c, drv + d_num, &num)))
			return err;
		uint8_t chunk[4096];
		for (uint32_t i = 0; arr && i < num && ttys < MAX_TTYS; i++) {
			uint64_t tty = 0, ld = 0, ops = 0, owner = 0;
			/* The array a page at a time: pty drivers have thousands of slots. */
			uint32_t in = i % 512;
			if (!in && vr_kernel_absorb(c->k, vr_kernel_read(c->k, arr + 8ull * i, chunk,
								  8 * (num - i < 512 ? num - i : 512)), VR_ERRS_READ)) {
				i += 511;
				continue;
			}
			if (!(tty = le64(chunk + 8 * in)))
				continue;
			ttys++;
			if (vr_kernel_absorb(c->k, rd64(c, tty + t_ldisc, &ld), VR_ERRS_READ) || !ld ||
			    vr_kernel_absorb(c->k, rd64(c, ld + l_ops, &ops), VR_ERRS_READ) || !ops ||
			    vr_kernel_absorb(c->k, rd64(c, ops + o_owner, &owner), VR_ERRS_READ))
				continue;
			const struct vr_module *om = owner ? module_by_addr(c, owner) : NULL;
			uint64_t fns[2] = {0, 0};
			vr_kernel_absorb(c->k, rd64(c, ops + o_rb, &fns[0]), VR_ERRS_READ);
			if (have_rb2)
				vr_kernel_absorb(c->k, rd64(c, ops + o_rb2, &fns[1]), VR_ERRS_READ);
			for (int f = 0; f < 2; f++) {
				if (!fns[f])
					continue;
				const struct vr_module *fm = NULL;
				enum owner o = owner_of(c, fns[f], &fm);
				if (owner ? (fm && fm == om) : o == OWN_KERNEL_TEXT)
					continue;
				char tname[64] = "?";
				vr_kernel_absorb(c->k, rdstr(c, tty + t_name, tname, sizeof(tname)), VR_ERRS_READ);
				_cleanup_free_ char *dd = describe(c, fns[f]);
				ev_add(e, "tty %s (struct tty_struct at 0x%016" PRIx64 "): its line discipline's %s is %s, "
					  "not the code of the discipline's %s",
				       tname, tty, f ? "receive_buf2" : "receive_buf", dd ? dd : "?",
				       owner ? "module" : "owner (the kernel)");
			}
		}
		if ((err = rd64(c, node, &node)))
			return err;
	}
	snprintf(cov, cap, "%zu tty%s of %zu tty driver%s", ttys, ttys == 1 ? "" : "s", drivers, pl(drivers));
	return NULL;
}

static struct vr_error *check_hooks(struct tctx *c, char **covered)
{
	if (!c->mem)
		return vr_error_create(VR_ERR_UNSUPPORTED, "the input holds no memory");
	struct evidence fe = {0}, ke = {0}, te = {0};
	char fcov[128], kcov[128], tcov[128];
	struct vr_error *ferr = check_ftrace(c, &fe, fcov, sizeof(fcov));
	struct vr_error *kerr = check_kprobes(c, &ke, kcov, sizeof(kcov));
	struct vr_error *terr = check_ttys(c, &te, tcov, sizeof(tcov));
	*covered = vr_asprintf("%s; %s; %s", ferr ? "ftrace ops not read" : fcov, kerr ? "kprobes not read" : kcov,
			       terr ? "ttys not read" : tcov);
	struct vr_error *err = NULL;
	if (fe.n)
		err = report(c, "tamper-ftrace-hook", &fe);
	if (!err && ke.n)
		err = report(c, "tamper-kprobe-hook", &ke);
	if (!err && te.n)
		err = report(c, "tamper-tty-hook", &te);
	ev_free(&fe);
	ev_free(&ke);
	ev_free(&te);
	struct vr_error *first = ferr ? ferr : kerr ? kerr : terr;
	if (!err && first)
		err = first == &vr_error_oom ? &vr_error_oom
					     : vr_error_create(VR_ERR_NOT_PRESENT, "%s: %s",
							       ferr ? "ftrace" : kerr ? "kprobes" : "ttys", first->message);
	vr_error_destroy(ferr);
	vr_error_destroy(kerr);
	vr_error_destroy(terr);
	return err;
}

/* ---- eBPF programs ---- */

struct xa_walk {
	struct tctx *c;
	uint64_t shift_off, slots_off, chunk;
	size_t entries, nodes;
	uint64_t *progs;
	size_t n_progs, cap_progs;
	bool full; /* more programs than it holds */
	struct vr_error *err;
};

static void xa_walk(struct xa_walk *w, uint64_t entry, unsigned depth)
{
	if (!entry || w->err)
		return;
	if ((entry & 3) == 2) {
		if (entry <= 4096)
			return; /* an internal value: retry, zero, sibling */
		uint64_t node = entry - 2;
		if (++w->nodes > MAX_BPF_PROGS || depth > 12) {
			w->err = vr_error_create(VR_ERR_FORMAT, "prog_idr is larger or deeper than it can be");
			return;
		}
		_cleanup_free_ uint8_t *slots = malloc(w->chunk * 8);
		if (!slots) {
			w->err = &vr_error_oom;
			return;
		}
		if ((w->err = vr_kernel_read(w->c->k, node + w->slots_off, slots, w->chunk * 8)))
			return;
		for (uint64_t i = 0; i < w->chunk && !w->err; i++)
			xa_walk(w, le64(slots + i * 8), depth + 1);
		return;
	}
	if (entry & 3)
		return; /* a value entry: not a pointer */
	struct vr_error *err = vr_grow(&w->progs, &w->cap_progs, w->n_progs + 1, sizeof(*w->progs), MAX_BPF_PROGS);
	if (vr_error_catch(&err, VR_ERR_LIMIT)) {
		w->full = true; /* the check says it looked at the first MAX_BPF_PROGS */
		return;
	}
	if ((w->err = err))
		return;
	w->progs[w->n_progs++] = entry;
}

static struct vr_error *check_ebpf(struct tctx *c, char **covered)
{
	if (!c->mem)
		return vr_error_create(VR_ERR_UNSUPPORTED, "the input holds no memory");
	uint64_t idr;
	if (!sym(c, "prog_idr", &idr))
		return vr_error_create(VR_ERR_NOT_FOUND, "the kernel's symbols do not name prog_idr (no eBPF)");
	struct vr_error *err = NULL;
	uint64_t rt, head, marks, p_type, p_aux, p_tag, a_id, a_name;
	struct xa_walk w = {.c = c};
	if (!off(c, "idr", "idr_rt", &rt, &err) || !off(c, "xarray", "xa_head", &head, &err) ||
	    !off(c, "xa_node", "slots", &w.slots_off, &err) || !off(c, "xa_node", "marks", &marks, &err) ||
	    !off(c, "bpf_prog", "type", &p_type, &err) || !off(c, "bpf_prog", "aux", &p_aux, &err) ||
	    !off(c, "bpf_prog", "tag", &p_tag, &err) || !off(c, "bpf_prog_aux", "id", &a_id, &err) ||
	    !off(c, "bpf_prog_aux", "name", &a_name, &err))
		return vr_error_wrap(err, "the layout of eBPF programs");
	/* XA_CHUNK_SIZE: the slots run up to the marks. */
	w.chunk = marks > w.slots_off ? (marks - w.slots_off) / 8 : 0;
	if (w.chunk < 4 || w.chunk > 256)
		return vr_error_create(VR_ERR_FORMAT, "struct xa_node holds %" PRIu64 " slots", w.chunk);
	uint64_t root;
	if ((err = rd64(c, idr + rt + head, &root)))
		return vr_error_wrap(err, "reading prog_idr");
	xa_walk(&w, root, 0);
	if (w.err) {
		free(w.progs);
		return vr_error_wrap(w.err, "walking prog_idr");
	}
	/* The program types of interest, by value. */
	struct {
		int64_t value;
		const char *group, *name;
	} types[32];
	size_t nt = 0;
	for (size_t g = 0; nt < 32; g++) {
		const char *gn = vr_ruleset_tamper_group_name(c->rs, "ebpf-program-types", g);
		if (!gn)
			break;
		for (size_t j = 0; nt < 32; j++) {
			const char *en = vr_ruleset_tamper_pattern(c->rs, "ebpf-program-types", gn, j);
			int64_t v;
			if (!en)
				break;
			if (!vr_kernel_absorb(c->k, vr_kernel_enum_value(c->k, en, &v), VR_ERRS_LAYOUT))
				types[nt++] = (typeof(types[0])){v, gn, en};
		}
	}
	struct evidence e = {0};
	size_t tracing = 0;
	for (size_t i = 0; i < w.n_progs; i++) {
		uint64_t p = w.progs[i], aux = 0;
		uint32_t type = 0, id = 0;
		uint8_t tag[8] = {0};
		char name[17] = "";
		if (vr_kernel_absorb(c->k, rd32(c, p + p_type, &type), VR_ERRS_READ))
			continue;
		size_t t;
		for (t = 0; t < nt && types[t].value != (int64_t)type; t++)
			;
		if (t == nt)
			continue;
		tracing++;
		vr_kernel_absorb(c->k, vr_kernel_read(c->k, p + p_tag, tag, 8), VR_ERRS_READ);
		if (!vr_kernel_absorb(c->k, rd64(c, p + p_aux, &aux), VR_ERRS_READ) && aux) {
			vr_kernel_absorb(c->k, rd32(c, aux + a_id, &id), VR_ERRS_READ);
			vr_kernel_absorb(c->k, rdstr(c, aux + a_name, name, sizeof(name)), VR_ERRS_READ);
		}
		ev_add(&e, "program %u \"%s\" at 0x%016" PRIx64 ": %s (%s), tag %02x%02x%02x%02x%02x%02x%02x%02x", id, name,
		       p, types[t].group, types[t].name, tag[0], tag[1], tag[2], tag[3], tag[4], tag[5], tag[6], tag[7]);
	}
	*covered = vr_asprintf("%s%zu eBPF program%s of prog_idr, %zu of them of tracing types",
			       w.full ? "the first " : "", w.n_progs, pl(w.n_progs), tracing);
	free(w.progs);
	if (e.n)
		return report(c, "tamper-ebpf", &e);
	return NULL;
}

/* ---- kernel text against the vmlinux ---- */

struct func {
	uint64_t addr, len;
};

static void add_func(struct tctx *c, struct func *v, size_t *n, uint64_t addr)
{
	struct vr_symbol s;
	if (*n >= MAX_TEXT_FUNCS || !vr_kernel_symbol_at(c->k, addr, &s) || s.module || !s.size ||
	    owner_of(c, addr, NULL) != OWN_KERNEL_TEXT)
		return;
	uint64_t len = s.size > MAX_FUNC_LEN ? MAX_FUNC_LEN : s.size;
	for (size_t i = 0; i < *n; i++)
		if (v[i].addr == s.address)
			return;
	v[(*n)++] = (struct func){s.address, len};
}

static int func_cmp(const void *a, const void *b)
{
	const struct func *x = a, *y = b;
	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

static bool kprobe_byte(const struct tctx *c, uint64_t addr)
{
	for (size_t i = 0; i < c->n_kprobes; i++)
		if (addr >= c->kprobes[i].addr && addr - c->kprobes[i].addr < c->kprobes[i].len)
			return true;
	return false;
}

static void hex(char *buf, size_t cap, const uint8_t *p, size_t n)
{
	size_t l = 0;
	for (size_t i = 0; i < n && l + 3 < cap; i++)
		l += (size_t)snprintf(buf + l, cap - l, "%s%02x", i ? " " : "", p[i]);
}

static struct vr_error *check_text(struct tctx *c, char **covered)
{
	if (!c->mem)
		return vr_error_create(VR_ERR_UNSUPPORTED, "the input holds no memory");
	if (!c->vmlinux)
		return vr_error_create(VR_ERR_NOT_FOUND, "no vmlinux: the kernel's code has nothing to be compared with");
	if (!c->confirmed)
		return vr_error_create(VR_ERR_NOT_FOUND, "the vmlinux is not proven the dump's own (no matching build ID "
				       "or banner): its code may differ for that reason alone");
	if (!c->have_text)
		return vr_error_create(VR_ERR_NOT_FOUND, "the bounds of the kernel's text are unknown");
	_cleanup_free_ struct func *funcs = calloc(MAX_TEXT_FUNCS + 1, sizeof(*funcs));
	if (!funcs)
		return &vr_error_oom;
	size_t n = 0, crash_funcs = 0, handler_funcs = 0;
	/* The entry code, whole. */
	uint64_t entry_len = c->entry_end - c->entry_start;
	if (entry_len && entry_len <= MAX_FUNC_LEN * 4)
		funcs[n++] = (struct func){c->entry_start, entry_len};
	/* The crash path: the crash's IP and trace, the panicking CPU's frames. */
	const struct vr_crash *cr = &c->r->crash;
	size_t before = n;
	if (cr->ip_known && cr->ip.address)
		add_func(c, funcs, &n, cr->ip.address);
	for (size_t i = 0; i < cr->trace.n_frames; i++)
		if (cr->trace.frames[i].address)
			add_func(c, funcs, &n, cr->trace.frames[i].address - 1);
	for (size_t i = 0; i < c->f->n_cpus; i++) {
		const struct vr_cpu *cpu = &c->f->cpus[i];
		if (!cpu->panic)
			continue;
		for (size_t j = 0; j < cpu->trace.n_frames; j++) {
			const struct vr_frame *fr = &cpu->trace.frames[j];
			if (fr->address && !fr->from_log)
				add_func(c, funcs, &n, fr->address - (j && !fr->exception ? 1 : 0));
		}
	}
	crash_funcs = n - before;
	before = n;
	for (size_t i = 0; i < c->n_handlers; i++)
		add_func(c, funcs, &n, c->handlers[i]);
	handler_funcs = n - before;
	/* One range per run of overlapping functions (the entry code holds the
	 * IDT's handlers). */
	qsort(funcs, n, sizeof(*funcs), func_cmp);
	_cleanup_free_ struct vr_text_range *ranges = calloc(n ? n : 1, sizeof(*ranges));
	if (!ranges)
		return &vr_error_oom;
	size_t nr = 0;
	uint64_t bytes = 0;
	for (size_t i = 0; i < n; i++) {
		uint64_t a = funcs[i].addr, e = a + funcs[i].len;
		if (nr && a <= ranges[nr - 1].addr + ranges[nr - 1].len) {
			uint64_t pe = ranges[nr - 1].addr + ranges[nr - 1].len;
			if (e > pe && e - ranges[nr - 1].addr <= (1u << 20))
				ranges[nr - 1].len = e - ranges[nr - 1].addr;
			continue;
		}
		ranges[nr++] = (struct vr_text_range){.addr = a, .len = funcs[i].len};
	}
	size_t sites[VR_PATCH_COUNT] = {0};
	struct vr_error *err = vr_kernel_text_ranges(c->k, ranges, nr, sites);
	if (err)
		return vr_error_wrap(err, "reading the vmlinux's text and patch tables");
	struct evidence e = {0};
	size_t missing = 0, runs = 0, kp_bytes = 0;
	for (size_t i = 0; i < nr; i++) {
		const struct vr_text_range *r = &ranges[i];
		if (!r->mem) {
			missing++;
			continue;
		}
		bytes += r->len;
		for (uint64_t j = 0; j < r->len; j++) {
			if (r->mem[j] == r->file[j] || r->patch[j])
				continue;
			if (kprobe_byte(c, r->addr + j)) {
				kp_bytes++;
				continue;
			}
			/* A run of differences, gaps of up to 4 equal bytes within it. */
			uint64_t k = j, last = j;
			while (k < r->len && k - last <= 4) {
				if (r->mem[k] != r->file[k] && !r->patch[k] && !kprobe_byte(c, r->addr + k))
					last = k;
				k++;
			}
			size_t len = (size_t)(last - j + 1);
			if (runs++ < MAX_DIFF_RUNS) {
				char hm[100], hf[100];
				size_t show = len > 16 ? 16 : len;
				hex(hm, sizeof(hm), r->mem + j, show);
				hex(hf, sizeof(hf), r->file + j, show);
				_cleanup_free_ char *d = describe(c, r->addr + j);
				ev_add(&e, "%zu byte%s at %s: memory %s%s, vmlinux %s%s", len, len == 1 ? "" : "s", d ? d : "?",
				       hm, len > show ? " ..." : "", hf, len > show ? " ..." : "");
			}
			j = last;
		}
	}
	vr_text_ranges_deinit(ranges, nr);
	if (runs > MAX_DIFF_RUNS)
		ev_add(&e, "%zu more differing runs", runs - MAX_DIFF_RUNS);
	char allowed[400] = "";
	size_t al = 0;
	for (int k = 1; k < VR_PATCH_COUNT; k++)
		if (sites[k] && al < sizeof(allowed))
			al += (size_t)snprintf(allowed + al, sizeof(allowed) - al, "%s%zu %s", al ? ", " : "", sites[k],
					       vr_patch_names[k]);
	*covered = vr_asprintf("%zu functions in %zu ranges, %" PRIu64 " bytes (the entry code, %zu system call and "
			       "interrupt handlers, %zu functions of the crash path) against the vmlinux; "
			       "patch sites in them: %s%s",
			       n, nr, bytes, handler_funcs, crash_funcs, al ? allowed : "none",
			       kp_bytes ? "; bytes under kprobes left to the hooks check" : "");
	if (e.n)
		err = report(c, "tamper-kernel-text", &e);
	if (!err && missing)
		err = vr_error_create(VR_ERR_NOT_PRESENT, "%zu of %zu ranges are not in the dump", missing, nr);
	return err;
}

/* ---- the analyzer ---- */

static void ruleset_destroyp(struct vr_ruleset **rs)
{
	vr_ruleset_destroy(*rs);
}

struct check {
	const char *name;
	check_fn fn;
};

/* In this order: the tables and hooks first, whose handlers and probe
 * sites the text check then compares or leaves alone. */
static const struct check checks[] = {
	{"syscall-table", check_syscalls},
	{"idt", check_idt},
	{"hooks", check_hooks},
	{"kernel-text", check_text},
	{"modules", check_modules},
	{"taint", check_taint},
	{"ebpf", check_ebpf},
	{"cpu-protection", check_cpu_protection},
	{"helper-paths", check_helpers},
	{"credentials", check_creds},
	{"user-exec", check_user_exec},
};

static struct vr_error *run(struct vr_analysis *a, const char **skipped)
{
	_cleanup_(ruleset_destroyp) struct vr_ruleset *own = NULL;
	const struct vr_ruleset *rs = a->rules;
	if (!rs) {
		struct vr_error *err = vr_ruleset_create(false, &own);
		if (err)
			return vr_error_wrap(err, "loading the built-in rules");
		rs = own;
	}
	struct tctx c = {
		.k = a->kernel,
		.f = a->facts,
		.rs = rs,
		.r = a->report,
		.diag = a->report->diag,
		.mem = a->kernel && vr_kernel_has_memory(a->kernel),
	};
	if (c.mem) {
		c.have_layout = !vr_kernel_absorb(c.k, vr_kernel_get_layout(c.k, &c.lay), VR_ERR_NOT_FOUND);
		c.vmlinux = vr_kernel_has_vmlinux(c.k, &c.confirmed);
		c.have_text = sym(&c, "_stext", &c.stext) && sym(&c, "_etext", &c.etext) &&
			      sym(&c, "__entry_text_start", &c.entry_start) &&
			      sym(&c, "__entry_text_end", &c.entry_end) && c.stext < c.etext;
	}
	struct vr_error *err = NULL;
	for (size_t i = 0; !err && i < sizeof(checks) / sizeof(checks[0]); i++)
		err = run_check(&c, checks[i].name, checks[i].fn);
	free(c.handlers);
	free(c.kprobes);
	if (err)
		return err;
	if (!c.mem)
		*skipped = "the input is a kernel log: only the checks the log allows ran";
	return NULL;
}

const struct vr_analyzer vr_analyzer_tamper = {
	.name = "tamper",
	.needs = 0,
	.run = run,
};
