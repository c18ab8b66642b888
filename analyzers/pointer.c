/* The bad-pointer classifier: decodes the faulting instruction, finds the
 * register the address came from and says what the bad value is (NULL, an
 * error pointer, a poison value, a flipped bit...). Also lists the code
 * around the fault like `crash> dis -l` and checks the log's Code: bytes
 * against the code in dump memory.
 *
 * Kernel facts used:
 *  - ERR_PTR values are -MAX_ERRNO..-1, MAX_ERRNO 4095 (include/linux/err.h);
 *  - the first page is never mapped, and user mappings start at
 *    mmap_min_addr (65536 on Debian, security/Kconfig DEFAULT_MMAP_MIN_ADDR);
 *  - an address is canonical when its top bits are all equal, user space
 *    ends and kernel space starts where the architecture says
 *    (struct vr_arch_info: on x86-64 bits 63..47, 0x00007fffffffffff);
 *  - the kernel's "Code:" line holds 42 bytes before the faulting
 *    instruction and 21 from it, the first byte of it in <..>
 *    (arch/x86/kernel/dumpstack.c, show_opcodes(), OPCODE_BUFSIZE 64);
 *  - vmap'ed kernel stacks have an unmapped guard page below their base
 *    (kernel/fork.c, alloc_thread_stack_node() via __vmalloc_node_range).
 * Poison values come from the rules' magic: section (rules/magic.yaml). */
#define _GNU_SOURCE
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "../rules/rules.h"
#include "analyzer.h"
#include "disasm.h"

#define CODE_MAX 64               /* bytes of a Code: line */
#define FUNC_MAX (64u << 10)      /* bytes decoded from a function's start */
#define LIST_BEFORE 12            /* instructions listed before the fault */
#define LIST_AFTER 6
#define PAGE 4096ull
#define MMAP_MIN_ADDR 65536ull
#define MAX_ERRNO 4095ull
#define STACK_GUARD 8192ull       /* below a stack base, counted as its guard */

static void ruleset_destroyp(struct vr_ruleset **rs)
{
	vr_ruleset_destroy(*rs);
}

static const char *errno_name(int e)
{
	static const struct {
		int e;
		const char *name;
	} t[] = {
		{1, "EPERM"}, {2, "ENOENT"}, {3, "ESRCH"}, {4, "EINTR"}, {5, "EIO"}, {6, "ENXIO"},
		{7, "E2BIG"}, {9, "EBADF"}, {10, "ECHILD"}, {11, "EAGAIN"}, {12, "ENOMEM"},
		{13, "EACCES"}, {14, "EFAULT"}, {16, "EBUSY"}, {17, "EEXIST"}, {18, "EXDEV"},
		{19, "ENODEV"}, {20, "ENOTDIR"}, {21, "EISDIR"}, {22, "EINVAL"}, {23, "ENFILE"},
		{24, "EMFILE"}, {25, "ENOTTY"}, {27, "EFBIG"}, {28, "ENOSPC"}, {30, "EROFS"},
		{32, "EPIPE"}, {34, "ERANGE"}, {35, "EDEADLK"}, {36, "ENAMETOOLONG"},
		{38, "ENOSYS"}, {39, "ENOTEMPTY"}, {40, "ELOOP"}, {61, "ENODATA"}, {62, "ETIME"},
		{71, "EPROTO"}, {74, "EBADMSG"}, {75, "EOVERFLOW"}, {95, "EOPNOTSUPP"},
		{103, "ECONNABORTED"}, {104, "ECONNRESET"}, {105, "ENOBUFS"}, {110, "ETIMEDOUT"},
		{111, "ECONNREFUSED"}, {113, "EHOSTUNREACH"}, {121, "EREMOTEIO"}, {122, "EDQUOT"},
		{125, "ECANCELED"}, {512, "ERESTARTSYS"}, {513, "ERESTARTNOINTR"},
		{517, "EPROBE_DEFER"}, {524, "ENOTSUPP"}, {526, "EIOCBQUEUED"},
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (t[i].e == e)
			return t[i].name;
	return NULL;
}

/* The contract's class names as static strings (a magic entry's class
 * lives in a rule set that does not outlive the analysis). */
static const char *class_name(const char *c)
{
	static const char *const names[] = {
		"null", "near-null", "err-ptr", "list-poison", "slab-poison", "redzone",
		"page-poison", "non-canonical", "user-address", "bit-flip", "stack-guard",
		"unmapped", "unknown",
	};
	for (size_t i = 0; c && i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcmp(names[i], c))
			return names[i];
	return "unknown";
}

static bool is_err_ptr(uint64_t v)
{
	return v >= (uint64_t)-MAX_ERRNO;
}

static bool canonical(const struct vr_arch_info *arch, uint64_t v)
{
	uint64_t top = v >> arch->canonical_bit;
	return top == 0 || top == (~0ull >> arch->canonical_bit);
}

/* "+0x10", "-0x8" or "" for 0. */
static void fmt_off(char *buf, size_t cap, int64_t off)
{
	if (!off)
		buf[0] = '\0';
	else if (off < 0)
		snprintf(buf, cap, "-0x%" PRIx64, -(uint64_t)off);
	else
		snprintf(buf, cap, "+0x%" PRIx64, (uint64_t)off);
}

struct ctx {
	struct vr_analysis *a;
	struct vr_report *r;
	const struct vr_ruleset *rules;
	bool mem;                      /* dump memory readable */
	const struct vr_arch_info *arch;
	const struct vr_regs *regs;
	/* the faulting instruction */
	bool have_insn;
	struct vr_insn insn;
	/* the base register's value, when known */
	bool have_base;
	uint64_t base_value;
};

static bool kernel_mapped(struct ctx *c, uint64_t addr)
{
	uint64_t phys;
	if (!c->mem || !canonical(c->arch, addr) || addr < c->arch->kernel_start)
		return false;
	struct vr_error *err = vr_kernel_translate(c->a->kernel, addr, &phys);
	if (!err)
		return true;
	vr_error_destroy(err);
	return false;
}

/* 1 unmapped, 0 mapped, -1 cannot tell */
static int kernel_unmapped(struct ctx *c, uint64_t addr)
{
	uint64_t phys;
	if (!c->mem)
		return -1;
	struct vr_error *err = vr_kernel_translate(c->a->kernel, addr, &phys);
	if (!err)
		return 0;
	int r = err->code == VR_ERR_FAULT ? 1 : -1;
	vr_error_destroy(err);
	return r;
}

/* A bad kernel address one bit away from a mapped address, or from a
 * register's (kernel pointer) value: a flipped bit in memory or a bus. */
static bool bit_flip(struct ctx *c, uint64_t addr, int *ret_bit, char *how, size_t cap)
{
	if (c->regs && c->regs->valid) {
		for (int i = 0; c->regs->set && i < c->regs->set->n_data; i++) {
			uint64_t v = c->regs->r[i];
			uint64_t x = v ^ addr;
			if (c->have_base && (x == 0 || (x & (x - 1))))
				x = v ^ c->base_value; /* the pointer before the offset was added */
			if (v < c->arch->kernel_start || !canonical(c->arch, v) || !x || (x & (x - 1)))
				continue;
			*ret_bit = __builtin_ctzll(x);
			snprintf(how, cap, "%s (0x%016" PRIx64 ")", c->regs->set->names[i], v);
			return true;
		}
	}
	if (!c->mem)
		return false;
	for (int b = 0; b < 64; b++) {
		uint64_t cand = addr ^ (1ull << b);
		if (cand >= c->arch->kernel_start && kernel_mapped(c, cand)) {
			*ret_bit = b;
			snprintf(how, cap, "the mapped address 0x%016" PRIx64, cand);
			return true;
		}
	}
	return false;
}

static void set_expl(struct ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void set_expl(struct ctx *c, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *s = NULL;
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	free(c->r->pointer.explanation);
	c->r->pointer.explanation = s;
}

/* The stack base of a task whose guard area holds addr. */
static const struct vr_task *stack_guard_task(struct ctx *c, uint64_t addr)
{
	const struct vr_facts *f = c->a->facts;
	for (size_t i = 0; f && i < f->n_tasks; i++) {
		uint64_t s = f->tasks[i].stack;
		if (s && s >= STACK_GUARD && addr < s && addr >= s - STACK_GUARD)
			return &f->tasks[i];
	}
	return NULL;
}

/* Classify from the value of the base register (when known). Returns true
 * when the value alone settles it. */
static bool classify_value(struct ctx *c, const char *reg, uint64_t v, int64_t disp)
{
	struct vr_pointer *p = &c->r->pointer;
	char off[32];
	fmt_off(off, sizeof(off), disp);
	if (v == 0) {
		p->class = "null";
		if (disp)
			set_expl(c, "%s is NULL and the instruction accessed offset 0x%" PRIx64
				 " from it: a NULL pointer to a structure was dereferenced",
				 reg, (uint64_t)(disp < 0 ? -disp : disp));
		else
			set_expl(c, "%s is NULL and was dereferenced", reg);
		return true;
	}
	if (is_err_ptr(v)) {
		int e = (int)-(int64_t)v;
		const char *name = errno_name(e);
		p->class = "err-ptr";
		char nm[32] = "";
		if (name)
			snprintf(nm, sizeof(nm), " (-%s)", name);
		if (disp)
			set_expl(c, "%s holds ERR_PTR(-%d)%s; %s0x%" PRIx64 " was added to it: an error "
				 "return was used as an object pointer without an IS_ERR() check",
				 reg, e, nm, disp < 0 ? "-" : "", (uint64_t)(disp < 0 ? -disp : disp));
		else
			set_expl(c, "%s holds ERR_PTR(-%d)%s: an error return was used as an object "
				 "pointer without an IS_ERR() check", reg, e, nm);
		return true;
	}
	int64_t delta = 0;
	const struct vr_magic *m = vr_ruleset_magic(c->rules, v, &delta);
	if (m) {
		p->class = class_name(m->class);
		char d[32];
		fmt_off(d, sizeof(d), delta);
		set_expl(c, "%s holds %s%s (0x%016" PRIx64 ")%s%s: %s", reg, m->name, d, v,
			 disp ? "; the access added " : "", disp ? off : "",
			 m->meaning ? m->meaning : "a poison value");
		return true;
	}
	return false;
}

/* Classify from the faulting address. */
static void classify_address(struct ctx *c, uint64_t addr, const char *reg, bool from_value)
{
	struct vr_pointer *p = &c->r->pointer;
	const struct vr_crash *cr = &c->r->crash;
	const char *what = from_value ? "the computed address" : "the fault address";
	char how[96];
	int bit;
	int64_t delta = 0;
	const struct vr_magic *m;

	if (addr < PAGE) {
		p->class = addr ? "near-null" : "null";
		if (addr)
			set_expl(c, "%s 0x%" PRIx64 " is in the first page: a NULL pointer plus a member "
				 "offset of 0x%" PRIx64 " was dereferenced", what, addr, addr);
		else
			set_expl(c, "%s is NULL: a NULL pointer was dereferenced", what);
		return;
	}
	if (addr < MMAP_MIN_ADDR) {
		p->class = "near-null";
		set_expl(c, "%s 0x%" PRIx64 " is below mmap_min_addr (65536): most likely a NULL "
			 "pointer plus a large offset, or a small integer used as a pointer", what, addr);
		return;
	}
	if (is_err_ptr(addr)) {
		int e = (int)-(int64_t)addr;
		const char *name = errno_name(e);
		p->class = "err-ptr";
		set_expl(c, "%s 0x%016" PRIx64 " is ERR_PTR(-%d)%s%s: an error return was used as a "
			 "pointer without an IS_ERR() check", what, addr, e, name ? " -" : "",
			 name ? name : "");
		return;
	}
	if ((m = vr_ruleset_magic(c->rules, addr, &delta))) {
		char d[32];
		fmt_off(d, sizeof(d), delta);
		p->class = class_name(m->class);
		set_expl(c, "%s 0x%016" PRIx64 " is %s%s: %s", what, addr, m->name, d,
			 m->meaning ? m->meaning : "a poison value");
		return;
	}
	if (!canonical(c->arch, addr)) {
		if (bit_flip(c, addr, &bit, how, sizeof(how)) && canonical(c->arch, addr ^ (1ull << bit))) {
			p->class = "bit-flip";
			set_expl(c, "%s 0x%016" PRIx64 " is non-canonical and differs from %s only in "
				 "bit %d: a flipped bit, which points at failing memory or CPU",
				 what, addr, how, bit);
			return;
		}
		p->class = "non-canonical";
		set_expl(c, "%s 0x%016" PRIx64 " is non-canonical (bits 63-%d differ): the pointer%s%s "
			 "was overwritten with data, not a valid address", what, addr, c->arch->canonical_bit,
			 reg ? " in " : "", reg ? reg : "");
		return;
	}
	if (addr < c->arch->user_end) {
		p->class = "user-address";
		const char *why = "";
		if (cr->access && !strcmp(cr->access, "exec"))
			why = "; SMEP stopped the kernel from executing user memory";
		else if (cr->error_code_known && (cr->error_code & 1) && !(cr->error_code & 4))
			why = "; the page was present, so SMAP stopped a kernel access to user memory";
		set_expl(c, "%s 0x%016" PRIx64 " is a user-space address%s: the kernel used a user "
			 "pointer directly (without copy_from_user) or an integer as a pointer",
			 what, addr, why);
		return;
	}
	const struct vr_task *t = stack_guard_task(c, addr);
	if (t) {
		p->class = "stack-guard";
		set_expl(c, "%s 0x%016" PRIx64 " is in the guard area just below the kernel stack "
			 "of %s (pid %d) at 0x%016" PRIx64 ": the stack overflowed", what, addr,
			 t->comm, t->pid, t->stack);
		return;
	}
	int un = kernel_unmapped(c, addr);
	if (un == 1) {
		if (bit_flip(c, addr, &bit, how, sizeof(how))) {
			p->class = "bit-flip";
			set_expl(c, "%s 0x%016" PRIx64 " is unmapped and differs from %s only in bit "
				 "%d: a flipped bit, which points at failing memory or CPU",
				 what, addr, how, bit);
			return;
		}
		p->class = "unmapped";
		set_expl(c, "%s 0x%016" PRIx64 " is not mapped in the kernel's page tables: a stale "
			 "pointer to freed vmalloc/module memory or a corrupted pointer", what, addr);
		return;
	}
	p->class = "unknown";
	if (un == 0)
		set_expl(c, "%s 0x%016" PRIx64 " is mapped: the access broke the page's protection "
			 "(a write to read-only data or an execute of data)", what, addr);
	else
		set_expl(c, "%s 0x%016" PRIx64 " is a kernel address that vmreport could not check "
			 "without dump memory", what, addr);
}

/* The registers of the fault: the oops' dump, else the exception frame of
 * the panicking CPU's trace whose RIP is the crash IP. */
static const struct vr_regs *fault_regs(struct ctx *c)
{
	const struct vr_crash *cr = &c->r->crash;
	if (cr->regs.valid)
		return &cr->regs;
	const struct vr_facts *f = c->a->facts;
	for (size_t i = 0; f && i < f->n_cpus; i++) {
		const struct vr_trace *t = &f->cpus[i].trace;
		for (size_t j = 0; j < t->n_frames; j++) {
			const struct vr_frame *fr = &t->frames[j];
			if (fr->exception && fr->regs && fr->regs->valid &&
			    (!cr->ip_known || !cr->ip.address || vr_regs_pc(fr->regs) == cr->ip.address))
				return fr->regs;
		}
	}
	return NULL;
}

static struct vr_error *add_line(struct vr_pointer *p, size_t *cap, char *line)
{
	return vr_strv_add(&p->disassembly, &p->n_disassembly, cap, 256, line);
}

/* Lines like `crash> dis -l`: a "FILE: LINE" header when the source line
 * changes, then "0xADDR <sym+off>:\tinsn", the faulting one marked "=>". */
/* The instruction's text with the absolute target of a call or jump, which
 * a listing without addresses decodes at a made-up base, rewritten relative
 * to the symbol ("<sym+28>" inside it, "<sym-0x3fb70d8>" outside), or
 * "<unknown>" without a symbol. */
static void relative_target(const struct vr_insn *v, const char *sym, uint64_t sym_start,
			    bool sym_known, char *out, size_t cap)
{
	snprintf(out, cap, "%s", v->text);
	if (!v->has_target)
		return;
	char hex[24];
	snprintf(hex, sizeof(hex), "0x%" PRIx64, v->target);
	char *at = strstr(out, hex);
	if (!at)
		return;
	char rel[160];
	if (!sym || !sym_known)
		snprintf(rel, sizeof(rel), "<unknown>");
	else if (v->target >= sym_start && v->target - sym_start < FUNC_MAX)
		snprintf(rel, sizeof(rel), "<%s+%" PRIu64 ">", sym, v->target - sym_start);
	else if (v->target >= sym_start)
		snprintf(rel, sizeof(rel), "<%s+0x%" PRIx64 ">", sym, v->target - sym_start);
	else
		snprintf(rel, sizeof(rel), "<%s-0x%" PRIx64 ">", sym, sym_start - v->target);
	char tail[sizeof(v->text)];
	snprintf(tail, sizeof(tail), "%s", at + strlen(hex));
	snprintf(at, cap - (size_t)(at - out), "%s%s", rel, tail);
}

static struct vr_error *listing(struct ctx *c, const struct vr_insn *v, size_t n, size_t fault_i,
				const char *sym, uint64_t sym_start, bool sym_known, bool show_addr)
{
	struct vr_pointer *p = &c->r->pointer;
	size_t cap = p->n_disassembly;
	size_t from = fault_i > LIST_BEFORE ? fault_i - LIST_BEFORE : 0;
	size_t to = fault_i + LIST_AFTER < n ? fault_i + LIST_AFTER + 1 : n;
	char *last_file = NULL;
	int last_line = 0;
	struct vr_error *err = NULL;
	for (size_t i = from; !err && i < to; i++) {
		if (c->a->kernel && show_addr) {
			char *file = NULL;
			int line = 0;
			struct vr_error *serr = vr_kernel_source_line(c->a->kernel, v[i].address, &file, &line);
			if (serr && !vr_error_catch(&serr, VR_ERRS_LAYOUT, VR_ERR_IO)) {
				err = serr; /* out of memory */
				break;
			}
			if (!serr && file && line > 0 && (line != last_line || !last_file || strcmp(file, last_file))) {
				err = add_line(p, &cap, vr_asprintf("%s: %d", file, line));
				free(last_file);
				last_file = file;
				last_line = line;
				file = NULL;
			}
			free(file);
			if (err)
				break;
		}
		char where[160] = "";
		if (sym && sym_known && v[i].address >= sym_start)
			snprintf(where, sizeof(where), "<%s+%" PRIu64 ">", sym, v[i].address - sym_start);
		else if (sym && sym_known && !show_addr)
			snprintf(where, sizeof(where), "<%s-%" PRIu64 ">", sym, sym_start - v[i].address);
		/* Name the target of a call or jump, as crash's dis does. */
		char target[160] = "";
		if (v[i].has_target && c->a->kernel && vr_kernel_has_memory(c->a->kernel)) {
			struct vr_frame tf = {.address = v[i].target};
			vr_kernel_symbolize(c->a->kernel, &tf, false);
			if (tf.symbol && tf.offset)
				snprintf(target, sizeof(target), " <%s+%" PRIu64 ">", tf.symbol, tf.offset);
			else if (tf.symbol)
				snprintf(target, sizeof(target), " <%s>", tf.symbol);
			vr_frame_deinit(&tf);
		}
		if (show_addr) {
			err = add_line(p, &cap, vr_asprintf("%s0x%016" PRIx64 "%s%s:\t%s%s",
							     i == fault_i ? "=> " : "   ", v[i].address,
							     where[0] ? " " : "", where, v[i].text, target));
		} else {
			/* No address: a call or jump target is known only
			 * relative to the symbol, and written so. */
			char text[sizeof(v[i].text) + 160];
			relative_target(&v[i], sym, sym_start, sym_known, text, sizeof(text));
			err = add_line(p, &cap, vr_asprintf("%s%s:\t%s", i == fault_i ? "=> " : "   ",
							     where, text));
		}
	}
	free(last_file);
	return err;
}

static void add_mismatch_finding(struct ctx *c, const uint8_t *log, const uint8_t *mem, size_t len,
				 uint64_t start)
{
	char *ev[4] = {0};
	size_t n = 0, diffs = 0, first = len;
	for (size_t i = 0; i < len; i++)
		if (log[i] != mem[i]) {
			diffs++;
			if (first == len)
				first = i;
		}
	ev[n++] = vr_asprintf("%zu of %zu code bytes differ between the log and dump memory", diffs, len);
	if (first < len)
		ev[n++] = vr_asprintf("first difference at 0x%016" PRIx64 ": log 0x%02x, memory 0x%02x",
				      start + first, log[first], mem[first]);
	for (size_t i = 0; i < n; i++)
		if (!ev[i]) {
			n = i;
			vr_error_keep(&c->a->fatal, &vr_error_oom); /* the step says its evidence is short */
		}
	/* a report at its bound of findings keeps those it has */
	vr_error_absorb(&c->a->fatal, vr_report_add_finding(
		c->r, "code-mismatch", "The code in memory differs from the code the oops printed",
		"warning",
		"The instructions around the fault changed between the oops and the dump. "
		"Unless the code was patched at run time (live patching, ftrace, static keys), "
		"this is memory corruption of kernel text: suspect hardware or a stray write.",
		ev, n),
		VR_ERR_LIMIT);
	for (size_t i = 0; i < 4; i++)
		free(ev[i]);
}

/* Whether a decoded listing holds an instruction that starts at addr (its
 * index into *ret_i); a listing that does not is dropped. */
static bool keep_if_listed(struct vr_insn **v, size_t *n, uint64_t addr, size_t *ret_i)
{
	for (size_t i = 0; *v && i < *n; i++) {
		if ((*v)[i].address == addr) {
			*ret_i = i;
			return true;
		}
	}
	free(*v);
	*v = NULL;
	*n = 0;
	return false;
}

/* Where the faulting instruction is, and its bytes from the log's Code:
 * line and from dump memory. */
struct code_view {
	uint8_t logcode[CODE_MAX];
	size_t loglen, logfault;
	bool have_log;
	uint64_t ip;         /* its address, when known */
	bool ip_known;
	bool rel;            /* known only as symbol+offset: a relative listing */
	uint64_t at;         /* the address it is decoded at */
	bool sym_known;      /* its function's symbol and offset are known */
	uint8_t *func;       /* its function from memory, up to just past it */
	size_t funclen;
	uint64_t func_start;
};

/* The faulting instruction's address: the crash's IP, or the faulting
 * CPU's RIP. A log gives the IP as symbol+offset ("RIP:
 * 0010:sym+0x1c/0x26") and no address: then the listing is relative to the
 * symbol, decoded at a made-up base that keeps offsets before the symbol's
 * start from wrapping around. */
static void locate_ip(const struct ctx *c, struct code_view *cv)
{
	const struct vr_crash *cr = &c->r->crash;
	/* Code: bytes that cannot be parsed are no Code: bytes */
	cv->have_log = cr->code && !vr_error_absorb(&c->a->fatal,
						     vr_code_parse(cr->code, cv->logcode, sizeof(cv->logcode),
								   &cv->loglen, &cv->logfault),
						     VR_ERR_FORMAT, VR_ERR_LIMIT, VR_ERR_NOT_PRESENT);
	if (cr->ip_known && (cr->ip.address || !cr->ip.symbol)) {
		/* "RIP: 0010:0x0" (a call through a NULL pointer) has no symbol. */
		cv->ip = cr->ip.address;
		cv->ip_known = true;
	} else if (c->regs && vr_regs_pc(c->regs)) {
		cv->ip = vr_regs_pc(c->regs);
		cv->ip_known = true;
	}
	cv->rel = !cv->ip_known && cr->ip_known && cr->ip.symbol && cr->ip.offset < FUNC_MAX;
	cv->at = cv->ip_known ? cv->ip : (cv->rel ? (1ull << 32) + cr->ip.offset : 0);
	cv->sym_known = cr->ip_known && cr->ip.symbol && cr->ip.offset < FUNC_MAX;
	cv->func_start = cv->ip;
}

/* The faulting function's bytes from dump memory, from its start (or
 * from the IP, when its start is on a page the dump lacks). */
static struct vr_error *read_function(const struct ctx *c, struct code_view *cv)
{
	const struct vr_crash *cr = &c->r->crash;
	if (!c->mem || !cv->ip_known)
		return NULL;
	cv->func_start = cv->sym_known ? cv->ip - cr->ip.offset : cv->ip;
	cv->funclen = (size_t)(cv->ip - cv->func_start) + 32;
	cv->func = malloc(cv->funclen);
	if (!cv->func)
		return &vr_error_oom;
	if (!vr_kernel_absorb(c->a->kernel, vr_kernel_read(c->a->kernel, cv->func_start, cv->func, cv->funclen), VR_ERRS_READ))
		return NULL;
	cv->func_start = cv->ip;
	cv->funclen = 32;
	if (vr_kernel_absorb(c->a->kernel, vr_kernel_read(c->a->kernel, cv->ip, cv->func, cv->funclen), VR_ERRS_READ)) {
		free(cv->func);
		cv->func = NULL;
		cv->funclen = 0;
	}
	return NULL;
}

/* The log's Code: bytes against the code in memory. */
static void compare_code(struct ctx *c, const struct code_view *cv)
{
	if (!cv->have_log || !c->mem || !cv->ip_known)
		return;
	uint8_t mem[CODE_MAX];
	uint64_t start = cv->ip - cv->logfault;
	if (vr_kernel_absorb(c->a->kernel, vr_kernel_read(c->a->kernel, start, mem, cv->loglen), VR_ERRS_READ))
		return;
	struct vr_pointer *p = &c->r->pointer;
	p->code_matches = !memcmp(mem, cv->logcode, cv->loglen);
	if (!p->code_matches)
		add_mismatch_finding(c, cv->logcode, mem, cv->loglen, start);
}

/* The faulting instruction (c->insn) and a listing around it: from the
 * function in memory, else from the log's Code: bytes. */
static struct vr_error *decode_fault(struct ctx *c, struct code_view *cv)
{
	const struct vr_crash *cr = &c->r->crash;
	struct vr_pointer *p = &c->r->pointer;
	struct vr_insn *v = NULL;
	size_t n = 0, fault_i = 0;
	bool listed = false;
	/* bytes that decode to no listing (FORMAT: not instructions, or
	 * none reaching the fault; UNSUPPORTED: no decoder) leave it to the
	 * next source; out of memory ends the step */
	struct vr_error *err = NULL;
	if (cv->func) {
		err = vr_disasm_range(c->arch, cv->func, cv->funclen, cv->func_start, 4096, &v, &n);
		if (!err)
			listed = keep_if_listed(&v, &n, cv->ip, &fault_i);
		else if (!vr_error_catch(&err, VR_ERR_FORMAT, VR_ERR_UNSUPPORTED, VR_ERR_LIMIT))
			return err;
	}
	if (!listed && cv->have_log && (cv->ip_known || cv->rel)) {
		err = vr_disasm_window(c->arch, cv->logcode, cv->loglen, cv->logfault, cv->at, &v, &n);
		if (!err)
			listed = keep_if_listed(&v, &n, cv->at, &fault_i);
		else if (!vr_error_catch(&err, VR_ERR_FORMAT, VR_ERR_UNSUPPORTED, VR_ERR_LIMIT))
			return err;
		if (listed)
			cv->sym_known = cr->ip_known && cr->ip.symbol && cr->ip.offset < FUNC_MAX;
	}
	if (!listed && cv->have_log && !cv->ip_known && !cv->rel) {
		/* No address: decode at offset 0 for the operand alone. */
		struct vr_insn one;
		err = vr_disasm_one(c->arch, cv->logcode + cv->logfault, cv->loglen - cv->logfault, 0, &one);
		if (!err) {
			c->have_insn = true;
			c->insn = one;
		} else if (!vr_error_catch(&err, VR_ERR_FORMAT, VR_ERR_UNSUPPORTED)) {
			return err;
		}
	}
	if (listed) {
		c->have_insn = true;
		c->insn = v[fault_i];
		err = listing(c, v, n, fault_i, cr->ip.symbol, cv->at - (cv->sym_known ? cr->ip.offset : 0),
			      cv->sym_known, !cv->rel);
		/* a listing is a listing without what it could not look up */
		if (err && !vr_error_catch(&err, VR_ERRS_LAYOUT, VR_ERR_IO)) {
			free(v);
			return err;
		}
	}
	free(v);
	if (c->have_insn) {
		free(p->instruction);
		p->instruction = vr_strdup(c->insn.text);
	}
	return NULL;
}

static bool faulting_kind(const struct vr_crash *cr)
{
	static const char *const kinds[] = {"null-deref", "page-fault", "gpf", "kasan", "stack-overflow",
					    "double-fault"};
	if (cr->fault_address_known)
		return true;
	for (size_t i = 0; cr->kind && i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (!strcmp(cr->kind, kinds[i]))
			return true;
	return false;
}

/* The register the faulting access went through, its value and the
 * displacement, into p and c; the struct member it meant, from debug info.
 * False when the instruction names no such register or its value is
 * unknown. */
static bool operand_value(struct ctx *c, const struct code_view *cv, const char **ret_reg, uint64_t *ret_value,
			  int64_t *ret_disp)
{
	struct vr_pointer *p = &c->r->pointer;
	*ret_reg = NULL;
	*ret_disp = 0;
	if (!c->have_insn || !c->insn.has_mem || c->insn.pc_relative)
		return false;
	bool have_value = false;
	int64_t disp = c->insn.disp;
	p->offset_known = true;
	p->offset = disp;
	int r = c->insn.base >= 0 ? c->insn.base : c->insn.index;
	if (r >= 0) {
		*ret_reg = c->arch->regs->names[r];
		if (c->regs) {
			*ret_value = c->regs->r[r];
			have_value = true;
		}
		p->reg = vr_strdup(*ret_reg);
	}
	/* With debug info, the member the access meant: the variable that
	 * lives in the base register at the IP is a pointer to a struct. */
	if (c->insn.base >= 0 && cv->ip_known && c->mem && !p->member)
		vr_kernel_absorb(c->a->kernel, vr_kernel_register_member(c->a->kernel, cv->ip, c->insn.base, disp, &p->member),
				 VR_ERRS_LAYOUT, VR_ERR_IO);
	*ret_disp = disp;
	return have_value;
}

/* The bad pointer's class: a jump to a bad address, the value of the
 * register the access went through, or else the fault address. */
static void classify_fault(struct ctx *c, const struct code_view *cv, const char **skipped)
{
	const struct vr_crash *cr = &c->r->crash;
	struct vr_pointer *p = &c->r->pointer;
	if (!faulting_kind(cr)) {
		if (!c->have_insn)
			*skipped = "the crash is not a faulting memory access";
		return;
	}
	/* An exec fault at the IP itself: the kernel jumped to a bad address. */
	if (cr->fault_address_known && cv->ip_known && cr->fault_address == cv->ip) {
		p->value_known = true;
		p->value = cv->ip;
		const char *pc = c->arch->regs->names[c->arch->regs->pc];
		p->reg = vr_strdup(pc);
		classify_address(c, cv->ip, pc, false);
		char *old = p->explanation;
		p->explanation = vr_asprintf("the kernel jumped to 0x%016" PRIx64 " (a bad function "
					     "pointer or return address); %s", cv->ip, old ? old : "");
		free(old);
		return;
	}
	const char *reg;
	uint64_t value = 0;
	int64_t disp;
	bool have_value = operand_value(c, cv, &reg, &value, &disp);
	if (have_value) {
		p->value_known = true;
		p->value = value;
		c->have_base = c->insn.base >= 0;
		c->base_value = value;
		/* An index register scaled and added to a base: the base's value
		 * alone is not the pointer; classify by the address then. */
		bool simple = c->insn.base >= 0 && (c->insn.index < 0 || c->insn.scale == 0);
		if (c->insn.percpu)
			simple = false;
		/* The registers are those of the fault, so base + displacement is
		 * the fault address; when it is not (a string instruction, a
		 * push through RSP, registers from another moment), trust the
		 * fault address instead. */
		if (simple && cr->fault_address_known && value + (uint64_t)disp != cr->fault_address)
			simple = false;
		if (simple && classify_value(c, reg, value, disp))
			return;
	}
	uint64_t addr;
	bool from_value = false;
	if (cr->fault_address_known) {
		addr = cr->fault_address;
	} else if (have_value && c->insn.base >= 0 && !c->insn.percpu) {
		addr = value + (uint64_t)disp;
		if (c->insn.index >= 0 && c->regs)
			addr += c->regs->r[c->insn.index] * (uint64_t)(c->insn.scale ? c->insn.scale : 1);
		from_value = true;
	} else {
		if (!p->class)
			*skipped = "neither the fault address nor the register of the access is known";
		return;
	}
	if (!p->value_known) {
		p->value_known = true;
		p->value = addr;
	}
	classify_address(c, addr, reg, from_value);
	if (reg && have_value && p->explanation && addr != value) {
		char d[32];
		fmt_off(d, sizeof(d), disp);
		char *old = p->explanation;
		p->explanation = vr_asprintf("%s; it came from %s (0x%016" PRIx64 ")%s", old, reg, value,
					     disp ? d : "");
		if (!p->explanation)
			p->explanation = old;
		else
			free(old);
	}
}

static struct vr_error *run_classify(struct vr_analysis *a, const char **skipped)
{
	_cleanup_(ruleset_destroyp) struct vr_ruleset *own = NULL;
	struct ctx c = {.a = a, .r = a->report, .rules = a->rules, .arch = vr_analysis_arch(a)};
	if (!c.arch) {
		*skipped = "the architecture is not known";
		return NULL;
	}
	if (!c.rules) {
		struct vr_error *err = vr_ruleset_create(false, &own);
		if (err)
			return vr_error_wrap(err, "loading the built-in magic values");
		c.rules = own;
	}
	c.mem = a->kernel && vr_kernel_has_memory(a->kernel);
	c.regs = fault_regs(&c);
	struct code_view cv = {0};
	locate_ip(&c, &cv);
	struct vr_error *err = read_function(&c, &cv);
	if (!err) {
		compare_code(&c, &cv);
		err = decode_fault(&c, &cv);
	}
	if (!err)
		classify_fault(&c, &cv, skipped);
	free(cv.func);
	return err;
}

/* The member the access meant, when debug info named it, ends the
 * explanation: "...; the access read struct vrbug_obj.value". */
static void explain_member(struct vr_pointer *p, const char *access)
{
	if (!p->member || !p->explanation)
		return;
	char *e = vr_asprintf("%s; the access %s %s", p->explanation,
			      access && !strcmp(access, "write") ? "wrote" : "read", p->member);
	if (e) {
		free(p->explanation);
		p->explanation = e;
	}
}

static struct vr_error *run(struct vr_analysis *a, const char **skipped)
{
	struct vr_error *err = run_classify(a, skipped);
	explain_member(&a->report->pointer, a->report->crash.access);
	return err;
}

const struct vr_analyzer vr_analyzer_pointer = {
	.name = "pointer",
	.needs = VR_NEED_CRASH,
	.run = run,
};
