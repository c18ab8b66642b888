/* The kernel oops text parser (see oops_parse.h for what it reads).
 *
 * Two passes over the log:
 *  1. segmentation: every line is classified (headline of a report, a line
 *     that belongs to the header of the report before it, a panic line);
 *     reports are opened, merged and closed as the kernel prints them, and
 *     each panic line is attached to the report that caused it;
 *  2. decoding: the fatal report's lines (and, for fields its own lines do
 *     not carry, the lines of the panic that followed it) are read for the
 *     CPU line, registers, instruction pointer, call trace and so on. */
#define _GNU_SOURCE
#include "oops_internal.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- line prefixes ---- */

static bool is_month(const char *s)
{
	static const char *const m[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
					"Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
	for (size_t i = 0; i < 12; i++)
		if (!strncmp(s, m[i], 3))
			return true;
	return false;
}

/* "host kernel: " after a syslog date: returns the message, or NULL when the
 * tag is another program's; *matched false when the shape is not there. */
static const char *after_syslog_host(const char *p, bool *matched)
{
	*matched = false;
	const char *host = p;
	while (*p && *p != ' ')
		p++;
	if (p == host || *p != ' ')
		return NULL;
	p++;
	const char *tag = p;
	while (*p && *p != ' ' && *p != ':')
		p++;
	if (*p != ':')
		return NULL;
	*matched = true;
	if ((size_t)(p - tag) == 6 && !strncmp(tag, "kernel", 6))
		return p[1] == ' ' ? p + 2 : p + 1;
	return NULL;
}

/* "[  123.456789]" or "[T123]"-like bracket with digits, dots, spaces, a
 * leading T or C: returns the text after it and one space, or NULL. */
static const char *skip_bracket_stamp(const char *p)
{
	if (*p != '[')
		return NULL;
	const char *q = p + 1;
	q = skip_ws(q);
	if (*q == 'T' || *q == 'C')
		q++;
	if (!isdigit((unsigned char)*q))
		return NULL;
	while (isdigit((unsigned char)*q) || *q == '.' || *q == ' ')
		q++;
	if (*q != ']')
		return NULL;
	q++;
	if (*q == ' ')
		q++;
	return q;
}

const char *vr_oops_line_message(const char *line)
{
	const char *p = line;
	/* Syslog: "Nov  9 10:19:35 host kernel: ". */
	if (is_month(p) && p[3] == ' ') {
		const char *q = p + 4;
		q = skip_ws(q);
		if (isdigit((unsigned char)q[0]) && (q[1] == ' ' || (isdigit((unsigned char)q[1]) && q[2] == ' '))) {
			q += q[1] == ' ' ? 2 : 3;
			/* "HH:MM:SS " needs nine characters: a cut line must not be
			 * read past its end. */
			if (strnlen(q, 9) == 9 && isdigit((unsigned char)q[0]) &&
			    isdigit((unsigned char)q[1]) && q[2] == ':' && q[5] == ':' && q[8] == ' ') {
				bool matched;
				const char *m = after_syslog_host(q + 9, &matched);
				if (matched) {
					if (!m)
						return NULL;
					p = m;
				}
			}
		}
	} else if (isdigit((unsigned char)p[0]) && strlen(p) > 20 && p[4] == '-' && p[7] == '-' &&
		   p[10] == 'T') {
		/* RFC 3339 syslog: "2024-01-01T12:00:00.123+00:00 host kernel: ". */
		const char *q = strchr(p, ' ');
		if (q) {
			bool matched;
			const char *m = after_syslog_host(q + 1, &matched);
			if (matched) {
				if (!m)
					return NULL;
				p = m;
			}
		}
	}
	/* "<4>" level. */
	if (p[0] == '<' && isdigit((unsigned char)p[1])) {
		const char *q = p + 1;
		while (isdigit((unsigned char)*q))
			q++;
		if (*q == '>')
			p = q + 1;
	}
	/* "[ts]" then maybe "[ T123]" caller id. */
	const char *q = skip_bracket_stamp(p);
	if (q) {
		p = q;
		q = skip_bracket_stamp(p);
		if (q && (strchr(p, 'T') < q || strchr(p, 'C') < q))
			p = q;
		/* journalctl -o short-monotonic: "[  4.4] host kernel: msg". */
		bool matched;
		const char *m = after_syslog_host(p, &matched);
		if (matched && m)
			p = m;
	}
	if (starts(p, "kernel: "))
		p += 8;
	return p;
}

/* ---- frames ---- */

static bool is_sym_char(int c)
{
	return isalnum(c) || c == '_' || c == '.' || c == '$';
}

bool vr_oops_parse_frame(const char *text, struct vr_frame *f)
{
	const char *p = skip_ws(text);
	uint64_t addr = 0;
	bool have_addr = false;
	/* "[<ffffffff81000000>]" (x86 before 4.x, arm, s390), or ppc's
	 * "[c0000000fe1bfb10] [c000000000010fb0]" (stack pointer, then pc). */
	for (int k = 0; k < 2 && *p == '['; k++) {
		const char *q = p + 1;
		bool angle = *q == '<';
		if (angle)
			q++;
		uint64_t v;
		if (!read_hex(&q, &v))
			break;
		if (angle && *q++ != '>')
			return false;
		if (*q != ']')
			return false;
		addr = v;
		have_addr = true;
		p = skip_ws(q + 1);
		if (angle)
			break;
	}
	bool reliable = true;
	if (p[0] == '?' && p[1] == ' ') {
		reliable = false;
		p = skip_ws(p + 2);
	}
	/* arm (32-bit): "[<c0014318>] (show_stack+0x24/0x2c) from [<...>]". */
	bool paren = false;
	if (*p == '(' && have_addr) {
		paren = true;
		p++;
	}
	const char *sym = p;
	while (is_sym_char((unsigned char)*p))
		p++;
	size_t symlen = (size_t)(p - sym);
	uint64_t off = 0, size = 0;
	bool have_off = false;
	if (symlen && p[0] == '+' && p[1] == '0' && p[2] == 'x') {
		const char *q = p + 1;
		if (!read_hex(&q, &off) || *q++ != '/' || !read_hex(&q, &size))
			return false;
		p = q;
		have_off = true;
	}
	if (!have_off) {
		/* A bare address ("? 0xffffffffc0400000"), or arm's "(func)". */
		const char *q = sym;
		uint64_t v;
		if (symlen && q[0] == '0' && q[1] == 'x' && read_hex(&q, &v) && q == p) {
			*f = (struct vr_frame){.address = v, .reliable = reliable};
			return true;
		}
		if (!(paren && symlen && *p == ')'))
			return false;
	}
	if (symlen == 0 || symlen > 512)
		return false;
	if (paren && *p == ')')
		p++;
	/* "[mod]" or "[mod buildid]". */
	const char *mod = NULL;
	size_t modlen = 0;
	const char *q = skip_ws(p);
	if (*q == '[' && q[1] != '<') {
		mod = q + 1;
		while (is_sym_char((unsigned char)mod[modlen]) || mod[modlen] == '-')
			modlen++;
		if (modlen == 0 || (mod[modlen] != ']' && mod[modlen] != ' '))
			mod = NULL;
	}
	if (strstr(p, "(unreliable)"))
		reliable = false;
	*f = (struct vr_frame){
		.address = have_addr ? addr : 0,
		.symbol = vr_strndup(sym, symlen),
		.offset = off,
		.size = size,
		.module = mod ? vr_strndup(mod, modlen) : NULL,
		.reliable = reliable,
	};
	return f->symbol != NULL;
}

/* ---- classification of lines ---- */

enum head_type {
	H_NONE,
	H_REPORT,  /* starts a report */
	H_DIE,     /* "...: 0000 [#1]": the die() line, part of the report before it */
	H_PRELUDE, /* announces the report that follows ("cut here", sysrq) */
	H_REFINER, /* names the kind of the report it sits in ("Watchdog detected hard LOCKUP") */
	H_PANIC,   /* "Kernel panic - not syncing: ..." */
};

struct head {
	enum head_type type;
	const char *kind; /* NULL: none of its own */
};

/* Strips the "watchdog: ", "NMI watchdog: ", "rcu: ", "mce: " subsystem
 * prefixes that pr_fmt() adds in newer kernels. */
static const char *skip_subsys(const char *m)
{
	static const char *const pfx[] = {"watchdog: ", "NMI watchdog: ", "rcu: ", "mce: ",
					  "sysrq: ", "kernel: "};
	for (size_t i = 0; i < sizeof(pfx) / sizeof(pfx[0]); i++)
		if (starts(m, pfx[i]))
			return m + strlen(pfx[i]);
	return m;
}

/* "0002 " or "96000005 [": a number as die() prints the error code, not a
 * word that happens to start with hex letters ("divide error"). */
bool vr_oops_is_hex_word(const char *p)
{
	uint64_t v;
	return read_hex(&p, &v) && (*p == ' ' || *p == '\0');
}

/* Kind of a die() line: "general protection fault: 0000 [#1]" etc. Since
 * about 6.9 x86 prefixes them with "Oops: " (arch/x86/kernel/dumpstack.c
 * __die_header()). */
static const char *die_kind(const char *m)
{
	if (starts(m, "Oops: ") && !vr_oops_is_hex_word(m + 6))
		m += 6;
	if (starts(m, "general protection fault") || starts(m, "stack segment"))
		return "gpf";
	if (starts(m, "invalid opcode") || starts(m, "illegal operation"))
		return "invalid-opcode";
	if (starts(m, "divide error"))
		return "divide-error";
	if (starts(m, "double fault"))
		return "double-fault";
	if (starts(m, "kernel stack overflow") || starts(m, "stack guard page"))
		return "stack-overflow";
	if (starts(m, "UBSAN"))
		return "ubsan";
	if (starts(m, "Internal error: ")) {
		const char *r = m + 16;
		if (strstr(r, "BUG"))
			return "bug";
		if (strcasestr(r, "undefined instruction"))
			return "invalid-opcode";
		if (starts(r, "Oops: "))
			return "page-fault";
		return "bug";
	}
	if (starts(m, "Oops: ")) {
		const char *r = m + 6;
		if (vr_oops_is_hex_word(r) || strstr(r, "bad area") || strstr(r, "Kernel access"))
			return "page-fault";
		return "bug";
	}
	return "bug";
}

bool vr_oops_has_die_counter(const char *m)
{
	const char *p = strstr(m, "[#");
	return p && isdigit((unsigned char)p[2]);
}

static const char *lockdep_words[] = {
	"possible circular locking dependency",
	"possible recursive locking",
	"inconsistent lock state",
	"irq lock inversion",
	"suspicious RCU usage",
	"suspicious rcu_dereference",
	"bad unlock balance",
	"held lock freed",
	"lock held when returning",
	"Nested lock was not taken",
	"lock order detected",
	"held locks",
	"possible deadlock",
};

static bool is_lockdep_text(const char *m)
{
	for (size_t i = 0; i < sizeof(lockdep_words) / sizeof(lockdep_words[0]); i++)
		if (strstr(m, lockdep_words[i]))
			return true;
	return false;
}

static struct head classify(const char *m0)
{
	struct head h = {H_NONE, NULL};
	const char *m = skip_ws(m0);
	if (!*m)
		return h;
	if (starts(m, "Kernel panic - not syncing")) {
		h.type = H_PANIC;
		return h;
	}
	if (starts(m, "------------[ cut here ]") || starts(m, "------------[ cut here]")) {
		h.type = H_PRELUDE;
		return h;
	}
	if (m != m0) {
		/* Headlines start at the beginning of the message; a lockdep
		 * banner that lost its "[" to a cut capture is the exception. */
		if ((starts(m, "INFO: ") || starts(m, "BUG: ")) && is_lockdep_text(m) &&
		    m[strlen(m) - 1] == ']')
			return (struct head){H_REPORT, "lockdep"};
		return h;
	}
	const char *s = skip_subsys(m);

	/* Preludes: lines printed before the report proper. */
	if ((starts(m, "sysrq: ") || starts(m, "SysRq : ") || starts(m, "SysRq: ")) &&
	    strstr(m, "Trigger a crash"))
		return (struct head){H_PRELUDE, "sysrq"};
	if (starts(m, "kernel tried to execute NX-protected page"))
		return (struct head){H_PRELUDE, NULL};
	if (starts(m, "BUG: ") && strstr(m, "stack guard page was hit"))
		return (struct head){H_PRELUDE, "stack-overflow"};
	if (starts(m, "Insufficient stack space to handle exception"))
		return (struct head){H_PRELUDE, "stack-overflow"};

	/* Lines that name the kind of the report they are in. */
	if (starts(s, "Watchdog detected hard LOCKUP") || starts(s, "Watchdog detected Hard LOCKUP"))
		return (struct head){H_REFINER, "hard-lockup"};
	if (starts(m, "list_add corruption") || starts(m, "list_del corruption") ||
	    starts(m, "list_add_rcu corruption") || starts(m, "list_del_rcu corruption"))
		return (struct head){H_REFINER, "list-corruption"};
	if (starts(m, "Out of memory: ") || starts(m, "Memory cgroup out of memory: ") ||
	    starts(m, "Out of memory and no killable"))
		return (struct head){H_REFINER, "oom"};
	if (starts(m, "unreferenced object 0x"))
		return (struct head){H_REFINER, "memory-leak"};

	/* Hangs. */
	if (starts(s, "BUG: soft lockup"))
		return (struct head){H_REPORT, "soft-lockup"};
	if (starts(m, "INFO: task ") && strstr(m, " blocked for more than "))
		return (struct head){H_REPORT, "hung-task"};
	if (starts(s, "INFO: rcu") && strstr(s, "stall"))
		return (struct head){H_REPORT, "rcu-stall"};

	/* Sanitizers. */
	if (starts(m, "BUG: KASAN:"))
		return (struct head){H_REPORT, "kasan"};
	if (starts(m, "BUG: KFENCE:"))
		return (struct head){H_REPORT, "kfence"};
	if (starts(m, "BUG: KMSAN:"))
		return (struct head){H_REPORT, "kmsan"};
	if (starts(m, "BUG: KCSAN:"))
		return (struct head){H_REPORT, "kcsan"};
	if (starts(m, "UBSAN: ")) {
		if (vr_oops_has_die_counter(m))
			return (struct head){H_DIE, "ubsan"};
		return (struct head){H_REPORT, "ubsan"};
	}

	/* Page faults. */
	if (starts(m, "BUG: kernel NULL pointer dereference") ||
	    starts(m, "BUG: unable to handle kernel NULL pointer dereference") ||
	    starts(m, "BUG: Kernel NULL pointer dereference") ||
	    starts(m, "Unable to handle kernel NULL pointer dereference"))
		return (struct head){H_REPORT, "null-deref"};
	if (starts(m, "BUG: unable to handle ") || starts(m, "BUG: Unable to handle kernel") ||
	    starts(m, "Unable to handle kernel "))
		return (struct head){H_REPORT, "page-fault"};

	if (starts(m, "kernel BUG at ") || starts(m, "Kernel BUG at ") || starts(m, "BUG: failure at "))
		return (struct head){H_REPORT, "bug"};
	if (starts(m, "BUG: sleeping function called from invalid context") ||
	    starts(m, "BUG: scheduling while atomic") ||
	    starts(m, "BUG: workqueue leaked lock or atomic"))
		return (struct head){H_REPORT, "atomic-sleep"};
	if (starts(m, "BUG: Bad page state") || starts(m, "BUG: Bad page map") ||
	    starts(m, "BUG: Bad page cache") || starts(m, "BUG: Bad rss-counter"))
		return (struct head){H_REPORT, "bad-page"};
	if (starts(m, "BUG: MAX_LOCKDEP") || starts(m, "BUG: looking up invalid subclass") ||
	    starts(m, "INFO: trying to register non-static key"))
		return (struct head){H_REPORT, "lockdep"};
	if (starts(m, "traps: PANIC: double fault"))
		return (struct head){H_REPORT, "double-fault"};

	/* Lock debugging: "WARNING: possible circular locking dependency
	 * detected" (4.x+), "[ INFO: possible recursive locking detected ]"
	 * (before 4.9). */
	if ((starts(m, "WARNING: ") || starts(m, "[ INFO: ") || starts(m, "INFO: ") ||
	     starts(m, "[ BUG: ")) &&
	    !starts(m, "WARNING: CPU:") && !starts(m, "WARNING: at") && is_lockdep_text(m))
		return (struct head){H_REPORT, "lockdep"};
	if (starts(m, "WARNING: CPU:") || starts(m, "WARNING: at") || starts(m, "WARNING: atarch"))
		return (struct head){H_REPORT, "warning"};
	if (starts(m, "WARNING: ") && strstr(m, " at ") && strstr(m, ", CPU#"))
		return (struct head){H_REPORT, "warning"}; /* "WARNING: FILE:LINE at func, CPU#1: comm/83" */

	/* Memory. */
	if (strstr(m, " invoked oom-killer: "))
		return (struct head){H_REPORT, "oom"};
	if (starts(m, "kmemleak: ") && strstr(m, "suspected memory leak"))
		return (struct head){H_REPORT, "memory-leak"};

	/* Machine checks. */
	if (starts(s, "[Hardware Error]: ") || starts(m, "Machine check: ") ||
	    (starts(m, "CPU ") && strstr(m, "Machine Check Exception")) ||
	    starts(m, "Machine Check Exception"))
		return (struct head){H_REPORT, "mce"};

	/* die() lines. */
	if (vr_oops_has_die_counter(m)) {
		if (starts(m, "Oops: ") || starts(m, "general protection fault") ||
		    starts(m, "stack segment") || starts(m, "invalid opcode") ||
		    starts(m, "divide error") || starts(m, "double fault") ||
		    starts(m, "kernel stack overflow") || starts(m, "stack guard page") ||
		    starts(m, "illegal operation") || starts(m, "Internal error: ") ||
		    starts(m, "int3: ") || starts(m, "bounds: ") || starts(m, "alignment check") ||
		    starts(m, "invalid TSS") || starts(m, "segment not present") ||
		    starts(m, "coprocessor") || starts(m, "overflow: ") ||
		    starts(m, "control protection"))
			return (struct head){H_DIE, die_kind(m)};
	}

	/* Any other "BUG: ..." the kernel prints, and SLUB's "BUG kmalloc-64
	 * (Not tainted): Poison overwritten". */
	if (starts(m, "BUG: "))
		return (struct head){H_REPORT, "bug"};
	if (starts(m, "BUG ")) {
		/* SLUB (mm/slub.c slab_bug()): "BUG kmalloc-64 (Not tainted):
		 * Poison overwritten", "BUG sas_task: Objects remaining". */
		size_t w = strcspn(m + 4, " :(");
		if (w && (m[4 + w] == ':' || starts(m + 4 + w, " (")))
			return (struct head){H_REPORT, "bug"};
	}
	return h;
}

/* Kind that a panic message stands for, NULL for a generic consequence of
 * an earlier report ("Fatal exception"); *attach_any when it follows the
 * last report whatever its kind (panic_on_warn). */
static const char *panic_kind(const char *msg, bool *attach_die, bool *attach_any)
{
	*attach_die = *attach_any = false;
	if (starts(msg, "Fatal exception") || starts(msg, "Attempted to kill init") ||
	    starts(msg, "Aiee, killing interrupt handler") ||
	    starts(msg, "Attempted to kill the idle task") || starts(msg, "Oops")) {
		*attach_die = true;
		return NULL;
	}
	if (strstr(msg, "panic_on_warn set") || strstr(msg, "panic_on_taint")) {
		*attach_any = true;
		return NULL;
	}
	if (strstr(msg, "softlockup: hung tasks") || strstr(msg, "soft lockup"))
		return "soft-lockup";
	if (strstr(msg, "hung_task: blocked tasks"))
		return "hung-task";
	if (strcasestr(msg, "hard LOCKUP"))
		return "hard-lockup";
	if (strstr(msg, "sysrq triggered crash"))
		return "sysrq";
	if (strcasestr(msg, "out of memory") || strstr(msg, "deadlocked on memory"))
		return "oom";
	if (strcasestr(msg, "machine check") || strstr(msg, "MCE") ||
	    strstr(msg, "Fatal hardware error"))
		return "mce";
	if (strstr(msg, "stack-protector") || strstr(msg, "corrupted stack end"))
		return "stack-corruption";
	if (strstr(msg, "stack overflow"))
		return "stack-overflow";
	if (strcasestr(msg, "RCU Stall"))
		return "rcu-stall";
	if (strstr(msg, "double fault"))
		return "double-fault";
	return "panic";
}

/* ---- pass 1: segmentation ---- */

/* Lines that end a report's header: after them a headline is a new report. */
static bool closes_header(const char *m)
{
	m = skip_ws(m);
	return starts(m, "CPU: ") || starts(m, "Pid: ") || starts(m, "Call Trace:") ||
	       starts(m, "Call trace:") || starts(m, "Backtrace:") || starts(m, "RIP: ") ||
	       starts(m, "pc : ") || starts(m, "---[ end trace") || starts(m, "Modules linked in") ||
	       starts(m, "EIP: ") || starts(m, "NIP ") || starts(m, "Krnl PSW");
}

static struct vr_error *add_report(struct seg_state *st, size_t line, struct head h)
{
	if (st->n >= VR_OOPS_MAX_REPORTS)
		return NULL;
	struct vr_error *err = vr_grow(&st->r, &st->cap, st->n + 1, sizeof(*st->r),
				       VR_OOPS_MAX_REPORTS);
	if (err)
		return err;
	st->r[st->n++] = (struct report){
		.first = line,
		.head = line,
		.kind = h.kind,
		.die = h.type == H_DIE,
		.prelude = h.type == H_PRELUDE,
	};
	return NULL;
}

bool vr_oops_kind_is(const char *k, const char *want)
{
	return k && !strcmp(k, want);
}

struct vr_error *vr_oops_segment(char **msg, size_t n, struct seg_state *st)
{
	struct vr_error *err;
	for (size_t i = 0; i < n; i++) {
		const char *m = msg[i];
		if (!m)
			continue;
		struct report *cur = st->n ? &st->r[st->n - 1] : NULL;
		if (starts(m, "Linux version ") && cur) {
			cur->closed = true; /* a new boot */
			continue;
		}
		struct head h = classify(m);
		if (h.type == H_NONE) {
			if (cur && !cur->closed && closes_header(m))
				cur->closed = true;
			continue;
		}
		if (h.type == H_PANIC) {
			const char *pm = skip_ws(m) + strlen("Kernel panic - not syncing");
			if (*pm == ':')
				pm++;
			pm = skip_ws(pm);
			bool attach_die, attach_any;
			const char *k = panic_kind(pm, &attach_die, &attach_any);
			struct report *to = NULL;
			for (size_t j = st->n; j-- > 0 && !to;) {
				struct report *r = &st->r[j];
				if (r->has_panic)
					break;
				if (attach_any || (attach_die && r->die) ||
				    (k && r->kind && !strcmp(r->kind, k)))
					to = r;
			}
			if (!to && attach_die && cur && !cur->has_panic)
				to = cur;
			/* "Kernel panic - not syncing: Unable to continue" right
			 * after a machine check report is that machine check. */
			if (!to && k && !strcmp(k, "panic") && cur && !cur->has_panic &&
			    vr_oops_kind_is(cur->kind, "mce") && i - cur->first < 64)
				to = cur;
			if (to && vr_oops_kind_is(to->kind, "hung-task")) {
				/* Several blocked tasks reported in one scan: the
				 * first of them set off the panic. */
				while (to > st->r && vr_oops_kind_is(to[-1].kind, "hung-task") && !to[-1].has_panic)
					to--;
			}
			if (to) {
				to->has_panic = true;
				to->panic_line = i;
				if (cur)
					cur->closed = true;
				continue;
			}
			err = add_report(st, i, (struct head){H_REPORT, k ? k : "panic"});
			if (err)
				return err;
			if (st->n) {
				st->r[st->n - 1].has_panic = true;
				st->r[st->n - 1].panic_line = i;
			}
			continue;
		}
		if (cur && !cur->closed) {
			if (cur->prelude) {
				/* The report a prelude announced: keep the prelude's
				 * kind when it has one (a sysrq crash stays sysrq). */
				if (!cur->kind) {
					cur->kind = h.kind;
					cur->head = i;
				}
				if (h.type == H_DIE)
					cur->die = true;
				if (h.type != H_PRELUDE)
					cur->prelude = false;
				continue;
			}
			if (h.type == H_DIE && !cur->die) {
				cur->die = true;
				continue;
			}
			if (h.type == H_REFINER &&
			    (vr_oops_kind_is(cur->kind, "warning") || vr_oops_kind_is(cur->kind, "bug") ||
			     vr_oops_kind_is(cur->kind, h.kind))) {
				if (!vr_oops_kind_is(cur->kind, h.kind)) {
					cur->kind = h.kind;
					cur->head = i;
				}
				continue;
			}
		}
		if (cur && h.type == H_REFINER && vr_oops_kind_is(cur->kind, h.kind) && !cur->has_panic)
			continue; /* "Out of memory: Killed process" closing its oom report */
		if (cur && h.type == H_REPORT && vr_oops_kind_is(h.kind, "mce") && vr_oops_kind_is(cur->kind, "mce") &&
		    i - cur->first < 64)
			continue; /* the further "[Hardware Error]:" lines of one machine check */
		if (h.type == H_REFINER && vr_oops_kind_is(h.kind, "list-corruption")) {
			/* Since 4.10 the message comes first, then BUG or WARN. */
			err = add_report(st, i, (struct head){H_PRELUDE, "list-corruption"});
			if (err)
				return err;
			continue;
		}
		err = add_report(st, i, h);
		if (err)
			return err;
	}
	/* A prelude that nothing followed is no report. */
	size_t w = 0;
	for (size_t j = 0; j < st->n; j++)
		if (st->r[j].kind)
			st->r[w++] = st->r[j];
	st->n = w;
	return NULL;
}

/* The report that brought the kernel down: the one a panic is attached to;
 * else the last that died (with kdump loaded, panic_on_oops goes straight
 * to crash_kexec() from oops_end() and no panic line is printed; an
 * earlier oops the kernel survived was not the fatal one); else the first. */
size_t vr_oops_pick_fatal(const struct seg_state *st)
{
	for (size_t j = 0; j < st->n; j++)
		if (st->r[j].has_panic)
			return j;
	for (size_t j = st->n; j-- > 0;)
		if (st->r[j].die)
			return j;
	return 0;
}

