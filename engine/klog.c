/* The lines of the kernel's crash reports, one parser for every reader
 * (the engine's panic context, the oops decoder): the prefixes consoles,
 * dmesg and syslog put before a message, printed stack frames, the CPU
 * and task line, and what kind of line a message is (a report's headline,
 * a die() line, a panic), in the wording of every kernel from 3.10 to
 * today. Sources: kernel/printk/printk.c (prefixes, caller ids),
 * lib/dump_stack.c dump_stack_print_info() and arch/x86/kernel/dumpstack.c
 * (CPU lines, die lines, traces), kernel/panic.c, and the reporters named
 * beside each headline below. */
#define _GNU_SOURCE
#include "klog.h"

#include "arch.h"

#include <stdio.h>
#include <stdlib.h>

#include "strings.h"

#define starts vr_str_starts
#define skip_ws vr_str_skip_ws
#define read_hex vr_str_read_hex
#define read_dec vr_str_read_dec

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
static const char *skip_bracket_stamp(const char *p);

const char *vr_klog_skip_stamp(const char *p)
{
	const char *q = skip_bracket_stamp(p);
	return q && memchr(p, '.', (size_t)(q - p)) ? q : p;
}

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

const char *vr_klog_message(const char *line)
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
	if (!q) {
		/* Another writer's text left on the line before the kernel's
		 * ("syzkaller login: [   16.305150] INFO: ..."): a timestamp
		 * later in the line starts the kernel's message. */
		for (const char *b = strchr(p, '['); b && !q; b = strchr(b + 1, '[')) {
			const char *e = skip_bracket_stamp(b);
			if (e && memchr(b, '.', (size_t)(e - b)) && b > p && b[-1] == ' ')
				q = e;
		}
	}
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

void vr_klog_context(const char *line, char *out, size_t cap)
{
	out[0] = '\0';
	for (const char *b = strchr(line, '['); b; b = strchr(b + 1, '[')) {
		const char *e = b + 1;
		while (*e == ' ' || *e == '.' || isdigit((unsigned char)*e))
			e++;
		if (*e != ']' || !memchr(b, '.', (size_t)(e - b)))
			continue;
		/* "[    4.407581][  T123] ": the caller id follows the timestamp
		 * (dmesg and vmcore-dmesg.txt put a space between them). */
		const char *c = e + 1;
		if (*c == ' ')
			c++;
		if (*c != '[')
			return;
		c = skip_ws(c + 1);
		if (*c != 'T' && *c != 'C')
			return;
		size_t n = 1;
		while (isdigit((unsigned char)c[n]))
			n++;
		if (n < 2 || c[n] != ']' || n + 1 > cap)
			return;
		memcpy(out, c, n);
		out[n] = '\0';
		return;
	}
}

/* ---- frames ---- */

static bool is_sym_char(int c)
{
	return isalnum(c) || c == '_' || c == '.' || c == '$';
}

bool vr_klog_parse_frame(const char *text, struct vr_frame *f)
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
	/* A symbolized report adds the source line: "foo+0x12/0x40 fs/foo.c:55"
	 * (scripts/decode_stacktrace.sh), before or after "[mod]". */
	const char *file = NULL;
	size_t filelen = 0;
	long line = 0;
	for (const char *t = skip_ws(p); *t && !file; t = skip_ws(t)) {
		size_t tl = strcspn(t, " ");
		const char *colon = memrchr(t, ':', tl);
		if (colon && colon > t && *t != '[' && *t != '(' && memchr(t, '.', (size_t)(colon - t))) {
			const char *l = colon + 1;
			long v;
			if (read_dec(&l, &v) && l == t + tl) {
				file = t;
				filelen = (size_t)(colon - t);
				line = v;
			}
		}
		t += tl;
	}
	*f = (struct vr_frame){
		.address = have_addr ? addr : 0,
		.symbol = vr_strndup(sym, symlen),
		.offset = off,
		.size = size,
		.module = mod ? vr_strndup(mod, modlen) : NULL,
		.file = file ? vr_strndup(file, filelen) : NULL,
		.line = (int)line,
		.reliable = reliable,
	};
	return f->symbol != NULL;
}

/* ---- classification of lines ---- */

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
bool vr_klog_is_hex_word(const char *p)
{
	uint64_t v;
	return read_hex(&p, &v) && (*p == ' ' || *p == '\0');
}

/* Kind of a die() line: "general protection fault: 0000 [#1]" etc., with
 * or without the "Oops: " prefix (vr_klog_die_text()). */
static const char *die_kind(const char *m)
{
	m = vr_klog_die_text(m);
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
		/* arm64 die(): "Oops: 96000005" (a data abort), "Oops - SP/PC
		 * alignment exception", "synchronous external abort" (a bus error
		 * on an access): all bad accesses. */
		if (starts(r, "Oops") || strstr(r, "external abort") || strstr(r, "alignment"))
			return "page-fault";
		return "bug";
	}
	if (starts(m, "Oops: ")) {
		const char *r = m + 6;
		if (vr_klog_is_hex_word(r) || strstr(r, "bad area") || strstr(r, "Kernel access"))
			return "page-fault";
		return "bug";
	}
	return "bug";
}

bool vr_klog_has_die_counter(const char *m)
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
	"still has locks held",
	"lock held when returning",
	"Invalid wait context",
};

static bool is_lockdep_text(const char *m)
{
	for (size_t i = 0; i < sizeof(lockdep_words) / sizeof(lockdep_words[0]); i++)
		if (strstr(m, lockdep_words[i]))
			return true;
	return false;
}

/* A headline the kernel prints: its message starts with one of prefixes
 * (at the message, or past a "subsys: " prefix when after_subsys), holds
 * every string of contains, and starts a line of type with kind. First match
 * wins; the table's order is the checks' order. */
struct head_rule {
	const char *prefixes[4];
	const char *contains[2];
	bool after_subsys;
	enum vr_klog_type type;
	const char *kind;
};

/* Preludes: lines printed before the report proper. */
static const struct head_rule preludes[] = {
	{{"sysrq: ", "SysRq : ", "SysRq: "}, {"Trigger a crash"}, false, VR_KLOG_PRELUDE, "sysrq"},
	{{"kernel tried to execute NX-protected page"}, {NULL}, false, VR_KLOG_PRELUDE, NULL},
	{{"BUG: "}, {"stack guard page was hit"}, false, VR_KLOG_PRELUDE, "stack-overflow"},
	{{"Insufficient stack space to handle exception"}, {NULL}, false, VR_KLOG_PRELUDE, "stack-overflow"},
};

/* Lines that name the kind of the report they are in, then the reports. */
static const struct head_rule reports[] = {
	{{"Watchdog detected hard LOCKUP", "Watchdog detected Hard LOCKUP"}, {NULL}, true, VR_KLOG_REFINER,
	 "hard-lockup"},
	{{"list_add corruption", "list_del corruption", "list_add_rcu corruption", "list_del_rcu corruption"},
	 {NULL}, false, VR_KLOG_REFINER, "list-corruption"},
	{{"Out of memory: ", "Memory cgroup out of memory: ", "Out of memory and no killable"}, {NULL}, false,
	 VR_KLOG_REFINER, "oom"},
	{{"unreferenced object 0x"}, {NULL}, false, VR_KLOG_REFINER, "memory-leak"},
	/* Hangs. */
	{{"BUG: soft lockup"}, {NULL}, true, VR_KLOG_REPORT, "soft-lockup"},
	{{"BUG: workqueue lockup"}, {NULL}, false, VR_KLOG_REPORT, "soft-lockup"},
	/* "blocked for more than", 6.15+ "blocked in I/O wait for more than",
	 * and "can't die for more than" (a task killed but stuck). */
	{{"INFO: task "}, {" blocked for more than "}, false, VR_KLOG_REPORT, "hung-task"},
	{{"INFO: task "}, {" blocked in I/O wait for more than "}, false, VR_KLOG_REPORT, "hung-task"},
	{{"INFO: task "}, {" can't die for more than "}, false, VR_KLOG_REPORT, "hung-task"},
	{{"INFO: rcu"}, {"stall"}, true, VR_KLOG_REPORT, "rcu-stall"},
	/* Sanitizers (UBSAN: below, with its die counter). */
	{{"BUG: KASAN:"}, {NULL}, false, VR_KLOG_REPORT, "kasan"},
	{{"BUG: KFENCE:"}, {NULL}, false, VR_KLOG_REPORT, "kfence"},
	{{"BUG: KMSAN:"}, {NULL}, false, VR_KLOG_REPORT, "kmsan"},
	{{"BUG: KCSAN:"}, {NULL}, false, VR_KLOG_REPORT, "kcsan"},
	{{"UBSAN: "}, {NULL}, false, VR_KLOG_REPORT, "ubsan"},
	/* Page faults. */
	{{"BUG: kernel NULL pointer dereference", "BUG: unable to handle kernel NULL pointer dereference",
	  "BUG: Kernel NULL pointer dereference", "Unable to handle kernel NULL pointer dereference"},
	 {NULL}, false, VR_KLOG_REPORT, "null-deref"},
	{{"BUG: unable to handle ", "BUG: Unable to handle kernel", "Unable to handle kernel ",
	  "Unhandled fault: "},
	 {NULL}, false, VR_KLOG_REPORT, "page-fault"},
	{{"kernel BUG at ", "Kernel BUG at ", "BUG: failure at "}, {NULL}, false, VR_KLOG_REPORT, "bug"},
	{{"BUG: sleeping function called from invalid context", "BUG: scheduling while atomic",
	  "BUG: workqueue leaked lock or atomic"},
	 {NULL}, false, VR_KLOG_REPORT, "atomic-sleep"},
	{{"BUG: Bad page state", "BUG: Bad page map", "BUG: Bad page cache", "BUG: Bad rss-counter"}, {NULL},
	 false, VR_KLOG_REPORT, "bad-page"},
	/* Lock debugging's BUGs: lockdep's tables full (MAX_LOCKDEP_ENTRIES,
	 * MAX_STACK_TRACE_ENTRIES, MAX_LOCK_DEPTH), and the spinlock and
	 * rwlock debug checks (kernel/locking/spinlock_debug.c). */
	{{"BUG: MAX_", "BUG: looking up invalid subclass", "INFO: trying to register non-static key",
	  "BUG: spinlock "},
	 {NULL}, false, VR_KLOG_REPORT, "lockdep"},
	{{"BUG: rwlock ", "BUG: Invalid wait context"}, {NULL}, false, VR_KLOG_REPORT, "lockdep"},
	{{"traps: PANIC: double fault"}, {NULL}, false, VR_KLOG_REPORT, "double-fault"},
};

/* Reports after lock debugging's WARNINGs (see vr_klog_classify()). */
static const struct head_rule later_reports[] = {
	{{"WARNING: CPU:", "WARNING: at", "WARNING: atarch"}, {NULL}, false, VR_KLOG_REPORT, "warning"},
	/* "WARNING: FILE:LINE at func, CPU#1: comm/83" */
	{{"WARNING: "}, {" at ", ", CPU#"}, false, VR_KLOG_REPORT, "warning"},
	/* The x86 unwinder's own warnings (arch/x86/kernel/unwind_frame.c):
	 * "WARNING: kernel stack regs at ... in comm:83 has bad 'bp' value". */
	{{"WARNING: kernel stack regs at ", "WARNING: kernel stack frame pointer at "}, {NULL}, false,
	 VR_KLOG_REPORT, "warning"},
	/* Memory. */
	{{""}, {" invoked oom-killer: "}, false, VR_KLOG_REPORT, "oom"},
	{{"kmemleak: "}, {"suspected memory leak"}, false, VR_KLOG_REPORT, "memory-leak"},
	/* Machine checks. */
	{{"[Hardware Error]: "}, {NULL}, true, VR_KLOG_REPORT, "mce"},
	{{"Machine check: ", "Machine Check Exception"}, {NULL}, false, VR_KLOG_REPORT, "mce"},
	{{"CPU "}, {"Machine Check Exception"}, false, VR_KLOG_REPORT, "mce"},
};

/* die() lines ("Oops: 0000 [#1]", "general protection fault: 0000 [#1]"). */
static const char *const die_prefixes[] = {
	"Oops: ", "general protection fault", "stack segment", "invalid opcode", "divide error",
	"double fault", "kernel stack overflow", "stack guard page", "illegal operation",
	"Internal error: ", "int3: ", "bounds: ", "alignment check", "invalid TSS",
	"segment not present", "coprocessor", "overflow: ", "control protection",
};

static const struct head_rule *match_rule(const struct head_rule *rules, size_t n, const char *m,
					  const char *s)
{
	for (size_t i = 0; i < n; i++) {
		const struct head_rule *r = &rules[i];
		const char *t = r->after_subsys ? s : m;
		bool hit = false;
		for (size_t j = 0; !hit && j < sizeof(r->prefixes) / sizeof(r->prefixes[0]) && r->prefixes[j]; j++)
			hit = starts(t, r->prefixes[j]);
		for (size_t j = 0; hit && j < sizeof(r->contains) / sizeof(r->contains[0]) && r->contains[j]; j++)
			hit = strstr(t, r->contains[j]) != NULL;
		if (hit)
			return r;
	}
	return NULL;
}

#define MATCH(rules, m, s) match_rule(rules, sizeof(rules) / sizeof(rules[0]), m, s)

/* A die() line: an exception the kernel could not handle. The line of an
 * earlier message without its newline can run into it ("kasan: GPF could
 * be caused by NULL-ptr deref or user memory accessgeneral protection
 * fault: 0000 [#1]"); x86 since 5.4 prefixes some: "segment-related
 * general protection fault". */
static bool die_line(const char *m, struct vr_klog_head *ret)
{
	if (!vr_klog_has_die_counter(m))
		return false;
	const char *g = strstr(m, "general protection fault");
	if (g && g != m && !starts(m, "Oops: "))
		m = g;
	if (starts(m, "divide_error: ")) { /* 5.9's spelling */
		*ret = (struct vr_klog_head){VR_KLOG_DIE, "divide-error"};
		return true;
	}
	for (size_t i = 0; i < sizeof(die_prefixes) / sizeof(die_prefixes[0]); i++) {
		if (starts(m, die_prefixes[i])) {
			*ret = (struct vr_klog_head){VR_KLOG_DIE, die_kind(m)};
			return true;
		}
	}
	return false;
}

/* Any other "BUG: ..." the kernel prints, and SLUB's (mm/slub.c
 * slab_bug()): "BUG kmalloc-64 (Not tainted): Poison overwritten", "BUG
 * sas_task: Objects remaining". */
static bool other_bug(const char *m)
{
	if (starts(m, "BUG: "))
		return true;
	if (!starts(m, "BUG "))
		return false;
	size_t w = strcspn(m + 4, " :(");
	return w && (m[4 + w] == ':' || starts(m + 4 + w, " ("));
}

struct vr_klog_head vr_klog_classify(const char *m0)
{
	struct vr_klog_head h = {VR_KLOG_NONE, NULL};
	const char *m = skip_ws(m0);
	if (!*m)
		return h;
	if (starts(m, "Kernel panic - not syncing"))
		return (struct vr_klog_head){VR_KLOG_PANIC, NULL};
	if (starts(m, "------------[ cut here ]") || starts(m, "------------[ cut here]"))
		return (struct vr_klog_head){VR_KLOG_PRELUDE, NULL};
	if (m != m0) {
		/* Headlines start at the beginning of the message; a lockdep
		 * banner that lost its "[" to a cut capture is the exception,
		 * and so are the sanitizers' headlines, which some versions
		 * indent (KCSAN in 5.3-5.5 printed every line with a space). */
		if ((starts(m, "INFO: ") || starts(m, "BUG: ")) && is_lockdep_text(m) &&
		    m[strlen(m) - 1] == ']')
			return (struct vr_klog_head){VR_KLOG_REPORT, "lockdep"};
		if (m - m0 > 2 || !starts(m, "BUG: K") ||
		    !(starts(m, "BUG: KASAN:") || starts(m, "BUG: KCSAN:") || starts(m, "BUG: KMSAN:") ||
		      starts(m, "BUG: KFENCE:")))
			return h;
	}
	const char *s = skip_subsys(m);
	const struct head_rule *r = MATCH(preludes, m, s);
	if (!r)
		r = MATCH(reports, m, s);
	if (r) {
		/* UBSAN's traps print a die counter: they are die() lines. */
		if (r->kind && !strcmp(r->kind, "ubsan") && vr_klog_has_die_counter(m))
			return (struct vr_klog_head){VR_KLOG_DIE, "ubsan"};
		return (struct vr_klog_head){r->type, r->kind};
	}
	/* Lock debugging: "WARNING: possible circular locking dependency
	 * detected" (4.x+), "[ INFO: possible recursive locking detected ]"
	 * (before 4.9). */
	if ((starts(m, "WARNING: ") || starts(m, "[ INFO: ") || starts(m, "INFO: ") || starts(m, "[ BUG: ")) &&
	    !starts(m, "WARNING: CPU:") && !starts(m, "WARNING: at") && is_lockdep_text(m))
		return (struct vr_klog_head){VR_KLOG_REPORT, "lockdep"};
	r = MATCH(later_reports, m, s);
	if (r)
		return (struct vr_klog_head){r->type, r->kind};
	if (die_line(m, &h))
		return h;
	if (other_bug(m))
		return (struct vr_klog_head){VR_KLOG_REPORT, "bug"};
	return (struct vr_klog_head){VR_KLOG_NONE, NULL};
}

/* Kind that a panic message stands for, NULL for a generic consequence of
 * an earlier report ("Fatal exception"); *attach_any when it follows the
 * last report whatever its kind (panic_on_warn). */
const char *vr_klog_panic_kind(const char *msg, bool *attach_die, bool *attach_any)
{
	*attach_die = *attach_any = false;
	if (starts(msg, "Fatal exception") || starts(msg, "Attempted to kill init") ||
	    starts(msg, "Aiee, killing interrupt handler") ||
	    starts(msg, "Attempted to kill the idle task") || starts(msg, "Oops")) {
		*attach_die = true;
		return NULL;
	}
	/* "panic_on_warn set ...", "panic_on_kmsan set ...", "kasan.fault=panic
	 * set ...": the report before it was made fatal by a setting. */
	if ((strstr(msg, "panic_on_") && strstr(msg, " set")) || strstr(msg, "panic_on_taint") ||
	    strstr(msg, ".fault=panic")) {
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

bool vr_klog_is_headline(const char *m)
{
	return vr_klog_classify(m).type != VR_KLOG_NONE;
}


const char *vr_klog_die_text(const char *m)
{
	if (starts(m, "Oops: ") && !vr_klog_is_hex_word(m + 6))
		return m + 6;
	return m;
}

/* ---- the task line ---- */

bool vr_klog_taint(const char *p, char *out, size_t cap)
{
	p = skip_ws(p);
	size_t n = 0;
	if (starts(p, "Not tainted")) {
		out[0] = '\0';
		return true;
	}
	if (!starts(p, "Tainted: ") && !starts(p, "Tainted:"))
		return false;
	p += 8;
	/* Letters and the spaces standing for unset flags, up to the
	 * release (a token that is not all capital letters). */
	while (*p && n + 1 < cap) {
		if (*p == ' ') {
			p++;
			continue;
		}
		const char *w = p;
		while (*w && *w != ' ' && isupper((unsigned char)*w))
			w++;
		if (*w && *w != ' ')
			break;
		for (; p < w && n + 1 < cap; p++)
			out[n++] = *p;
	}
	out[n] = '\0';
	return true;
}

bool vr_klog_task_line(const char *m, struct vr_klog_task *ret)
{
	const char *p = skip_ws(m);
	long cpu = -1, pid = -1, v;
	const char *comm;
	if (starts(p, "CPU: ")) {
		p += 5;
		if (!read_dec(&p, &cpu))
			return false;
		p = skip_ws(p);
		if (starts(p, "UID: ")) {
			p += 5;
			if (!read_dec(&p, &v))
				return false;
			p = skip_ws(p);
		}
		if (!starts(p, "PID: "))
			return false;
		p += 5;
		if (!read_dec(&p, &pid))
			return false;
		p = skip_ws(p);
		if (!starts(p, "Comm: "))
			return false;
		comm = p + 6;
	} else if (starts(p, "Pid: ")) {
		p += 5;
		if (!read_dec(&p, &pid) || !starts(p, ", comm: "))
			return false;
		comm = p + 8;
	} else {
		return false;
	}
	/* The comm may hold spaces: it ends where the taint words begin. */
	const char *end = NULL;
	static const char *const stops[] = {" Kdump: ", " Tainted: ", " Not tainted", " Tainted:"};
	for (size_t i = 0; i < sizeof(stops) / sizeof(stops[0]); i++) {
		const char *s = strstr(comm, stops[i]);
		if (s && (!end || s < end))
			end = s;
	}
	if (!end)
		end = comm + strcspn(comm, " ");
	size_t cl = (size_t)(end - comm);
	while (cl && comm[cl - 1] == ' ')
		cl--;
	*ret = (struct vr_klog_task){.cpu = (int)cpu, .pid = (int)pid, .comm = comm, .comm_len = cl,
				     .len = (size_t)(end - m)};
	const char *t = strstr(end, " Tainted: ");
	if (!t)
		t = strstr(end, " Not tainted");
	if (t)
		ret->taint_known = vr_klog_taint(t, ret->taint, sizeof(ret->taint));
	return true;
}

bool vr_klog_is_trace_start(const char *m)
{
	m = skip_ws(m);
	if (starts(m, "Call Trace:") || starts(m, "Call trace:") || starts(m, "Backtrace:"))
		return true;
	/* 4.x prints raw stack words before the trace; a console that drops
	 * a newline leaves "dffffc0000000000Call Trace:". */
	size_t h = strspn(m, "0123456789abcdef");
	return h >= 8 && starts(m + h, "Call Trace:");
}

const char *vr_klog_trace_marker(const char *m, const char **stack, bool *exception_next)
{
	static const struct {
		const char *tag;
		const char *stack;
		bool exc;
	} marks[] = {
		{"<IRQ>", "irq", false},    {"</IRQ>", "task", true}, {"<NMI>", "nmi", false},
		{"</NMI>", "task", true},   {"<TASK>", "task", false}, {"</TASK>", NULL, false},
		{"<#DF>", "df", false},     {"</#DF>", "task", true},  {"<#MC>", "mce", false},
		{"</#MC>", "task", true},   {"<#DB>", "db", false},    {"</#DB>", "task", true},
		{"<SOFTIRQ>", "irq", false}, {"</SOFTIRQ>", "irq", true},
		{"<EOI>", "task", true},    {"<EOE>", "task", true},
		{"<ENTRY_TRAMPOLINE>", "entry", false}, {"</ENTRY_TRAMPOLINE>", "task", true},
		{"<#VC>", "exception", false}, {"</#VC>", "task", true},
	};
	m = skip_ws(m);
	for (size_t i = 0; i < sizeof(marks) / sizeof(marks[0]); i++) {
		if (starts(m, marks[i].tag)) {
			*stack = marks[i].stack;
			*exception_next = marks[i].exc;
			return skip_ws(m + strlen(marks[i].tag));
		}
	}
	return NULL;
}

bool vr_klog_regs_line(const char *m, struct vr_regs *regs)
{
	for (size_t i = 0; i < vr_n_arches; i++) {
		const struct vr_arch *a = vr_arches[i];
		if (regs->set && regs->set != a->info->regs)
			continue;
		if (a->log_regs_line && a->log_regs_line(m, regs))
			return true;
	}
	return false;
}

bool vr_klog_ip_regs(const char *m, uint64_t ip, struct vr_regs *regs)
{
	for (size_t i = 0; i < vr_n_arches; i++) {
		const struct vr_arch *a = vr_arches[i];
		if (regs->set && regs->set != a->info->regs)
			continue;
		if (a->log_ip_line && a->log_ip_line(m, ip, regs))
			return true;
	}
	return false;
}
