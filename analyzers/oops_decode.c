/* The oops parser's second pass: decoding the fatal report's lines (and,
 * for fields its own lines do not carry, those of the panic that followed
 * it) into struct vr_crash: CPU line, registers, instruction pointer, call
 * trace, fault address, BUG/WARNING site. See oops_parse.c for pass 1. */
#define _GNU_SOURCE
#include "oops_internal.h"

#include <stdio.h>

/* ---- pass 2: decoding one report ---- */

/* "RIP: 0010:foo+0x1c/0x30 [mod]", "RIP: 0010:[<ffffffff81>]  [<ffffffff81>] foo+0x..",
 * "RIP: 0033:0x47b7a0". */
static bool parse_rip(const char *m, struct vr_frame *f, bool need_seg)
{
	const char *p = skip_ws(m);
	if (!starts(p, "RIP: "))
		return false;
	p += 5;
	uint64_t seg = 0;
	const char *q = p;
	if (read_hex(&q, &seg) && *q == ':') {
		p = q + 1;
	} else if (need_seg) {
		/* 4.x's one-line summary "RIP: foo+0x16/0x20 RSP: ffff..."
		 * after the trace, not an exception frame in it. */
		return false;
	}
	p = skip_ws(p);
	uint64_t addr = 0;
	if (starts(p, "[<")) {
		q = p + 2;
		if (read_hex(&q, &addr) && starts(q, ">]"))
			p = skip_ws(q + 2);
	}
	if (!vr_klog_parse_frame(p, f))
		return false;
	if (!f->address)
		f->address = addr;
	f->reliable = true;
	f->from_log = true;
	return true;
}

struct decode {
	struct vr_crash *c;
	const char *kind;
	bool have_regs;       /* main register dump seen */
	bool have_trace;
	bool ip_from_header;  /* ip came from "IP:" or similar, RIP may replace it */
	char *warn_func;      /* "WARNING: ... func+0x/0x" */
	struct vr_frame warn_frame;
	bool have_warn_frame;
	size_t last;          /* last line that was part of the report */
	bool have_first_die;
	size_t cap_traces;
	const char (*ctx)[VR_KLOG_CTX_LEN]; /* caller id of each line, NULL when none has one */
	const bool *stamped;  /* each line had a kernel timestamp, NULL unknown */
	const char *rctx;     /* the report's caller id, "" unknown */
	bool cpu_traceback;   /* "Sending NMI from CPU": other CPUs' lines belong to the report */
	struct vr_stall stall;
	struct vr_frame sec_rip; /* "RIP:" of a section before its trace (another CPU's registers) */
	bool have_sec_rip;
	const char *lock_role; /* role of the lock sites that follow, NULL none */
	bool lock_next_line;   /* "... at:" ended the line: the site is on the next */
};

/* Appends *t to crash.traces (taking its strings and frames). */
static struct vr_error *add_trace(struct decode *d, struct vr_crash_trace *t)
{
	struct vr_crash *c = d->c;
	if (c->n_traces >= VR_OOPS_MAX_TRACES || !t->trace.n_frames) {
		free(t->label);
		free(t->comm);
		vr_trace_deinit(&t->trace);
		*t = (struct vr_crash_trace){.cpu = -1, .pid = -1};
		return NULL;
	}
	struct vr_error *err = vr_grow(&c->traces, &d->cap_traces, c->n_traces + 1,
				       sizeof(*c->traces), VR_OOPS_MAX_TRACES);
	if (err) {
		free(t->label);
		free(t->comm);
		vr_trace_deinit(&t->trace);
		return err;
	}
	c->traces[c->n_traces++] = *t;
	*t = (struct vr_crash_trace){.cpu = -1, .pid = -1};
	return NULL;
}

static void pending_clear(struct vr_crash_trace *t)
{
	free(t->label);
	free(t->comm);
	vr_trace_deinit(&t->trace);
	*t = (struct vr_crash_trace){.cpu = -1, .pid = -1};
}

/* A one-frame trace of the given role (a lock site, a headline function). */
static struct vr_error *add_one_frame(struct decode *d, const char *role, const char *label,
				      struct vr_frame *f)
{
	struct vr_crash_trace t = {.role = role, .cpu = -1, .pid = -1};
	t.trace.frames = malloc(sizeof(*f));
	if (!t.trace.frames) {
		vr_frame_deinit(f);
		return &vr_error_oom;
	}
	f->from_log = true;
	t.trace.frames[0] = *f;
	t.trace.n_frames = 1;
	*f = (struct vr_frame){0};
	t.label = label ? dup_trimmed(label, strlen(label)) : NULL;
	return add_trace(d, &t);
}

static void take_ip(struct decode *d, struct vr_frame *f, bool from_header)
{
	if (d->c->ip_known && !(d->ip_from_header && !from_header)) {
		vr_frame_deinit(f);
		return;
	}
	vr_frame_deinit(&d->c->ip);
	d->c->ip = *f;
	*f = (struct vr_frame){0};
	d->c->ip_known = true;
	d->ip_from_header = from_header;
}

static bool is_code_line(const char *m)
{
	return starts(skip_ws(m), "Code: ");
}

static struct vr_error *trace_push(struct vr_trace *t, size_t *cap, struct vr_frame *f)
{
	if (t->n_frames >= VR_OOPS_MAX_FRAMES) {
		vr_frame_deinit(f);
		if (!t->stop_reason)
			t->stop_reason = vr_strdup("too many frames printed");
		return NULL;
	}
	struct vr_error *err = vr_grow(&t->frames, cap, t->n_frames + 1, sizeof(*t->frames),
				       VR_OOPS_MAX_FRAMES);
	if (err) {
		vr_frame_deinit(f);
		return err;
	}
	t->frames[t->n_frames++] = *f;
	*f = (struct vr_frame){0};
	return NULL;
}

/* A symbolized report's inlined frame, "__dump_stack lib/dump_stack.c:79
 * [inline]" (scripts/decode_stacktrace.sh, syzkaller): the function inlined
 * into the frame that follows. */
static bool parse_inline_line(const char *m, struct vr_inline *ret)
{
	const char *p = skip_ws(m);
	size_t n = strspn(p, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.$");
	if (!n || p[n] != ' ')
		return false;
	const char *file = p + n + 1;
	const char *end = strstr(file, " [inline]");
	if (!end || end[9] != '\0')
		return false;
	const char *colon = memrchr(file, ':', (size_t)(end - file));
	if (!colon || colon == file)
		return false;
	const char *l = colon + 1;
	long line;
	if (!read_dec(&l, &line) || l != end)
		return false;
	*ret = (struct vr_inline){
		.symbol = vr_strndup(p, n),
		.file = vr_strndup(file, (size_t)(colon - file)),
		.line = (int)line,
	};
	return ret->symbol && ret->file;
}

static bool is_arm_regs_line(const char *m)
{
	const char *p = skip_ws(m);
	int n = 0;
	while (*p == 'r' || (p[0] == 'f' && p[1] == 'p') || (p[0] == 'i' && p[1] == 'p')) {
		const char *q = p + (*p == 'r' ? 1 : 2);
		while (isdigit((unsigned char)*q))
			q++;
		if (*q != ':')
			return false;
		q++;
		uint64_t v;
		if (!read_hex(&q, &v))
			return false;
		n++;
		p = skip_ws(q);
	}
	return n > 0 && !*p;
}

#define MAX_PENDING_INLINES 32

static void inlines_free(struct vr_inline *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].symbol);
		free(v[i].file);
	}
}

/* A line that belongs to the report's structure: it ends a stack rather
 * than interrupting it. */
static bool is_structural(const char *m)
{
	const char *p = skip_ws(m);
	struct vr_crash_trace t;
	if (!*p || vr_klog_is_trace_start(p) || is_code_line(p) || starts(p, "---[ end") || starts(p, "RIP: ") ||
	    starts(p, "Modules linked in") || starts(p, "CPU: ") || starts(p, "Hardware name") ||
	    starts(p, "Kernel panic") || starts(p, "NMI backtrace") || starts(p, "Sending NMI") ||
	    starts(p, "=====") || starts(p, "-----") || starts(p, "INFO: ") || starts(p, "task:") ||
	    strstr(p, ", at: ") || vr_klog_is_headline(p))
		return true;
	if (vr_oops_section_header(p, &t) != VR_SECTION_NONE) {
		free(t.label);
		free(t.comm);
		return true;
	}
	return false;
}

/* Whether line j is not the report's: another task's or CPU's line when
 * lines carry caller ids, or another program's output (no kernel
 * timestamp) inside a stack whose lines have one. */
static bool foreign_line(const struct decode *d, size_t header, size_t j)
{
	if (!d)
		return false;
	if (d->ctx && d->ctx[header][0] && d->ctx[j][0] && strcmp(d->ctx[j], d->ctx[header]) &&
	    !(d->cpu_traceback && d->ctx[j][0] == 'C'))
		return true;
	return d->stamped && d->stamped[header] && !d->stamped[j];
}

#define MAX_NOISE_LINES 8    /* other messages a stack may be interrupted by */
#define MAX_FOREIGN_LINES 200 /* another program's lines */

/* Reads the frames that follow a "Call Trace:" line at msg[i]; returns the
 * index of the first line after them. A console interleaves other
 * messages: a few unknown lines followed by more frames do not end the
 * stack. */
/* The state of parse_trace() across the lines of one trace. */
struct trace_read {
	struct vr_trace *t;
	size_t cap;
	struct vr_inline inl[MAX_PENDING_INLINES]; /* inline lines waiting for their frame */
	size_t n_inl;
	const char *stack;   /* the stack the frames are on ("irq", "nmi", ...) */
	bool exc_next;       /* the next frame is an exception frame */
	struct vr_regs *regs; /* of the exception frame being read */
};

/* An exception frame printed inside the trace ("RIP: ..."): the registers
 * of an interrupt, exception or syscall entry follow it. */
static struct vr_error *trace_exception(struct trace_read *tr, struct vr_frame *f, const char *line)
{
	f->exception = true;
	f->from_log = true;
	f->stack = tr->stack ? vr_strdup(tr->stack) : NULL;
	f->regs = calloc(1, sizeof(*f->regs));
	tr->regs = f->regs;
	if (tr->regs)
		vr_klog_ip_regs(line, f->address, tr->regs);
	tr->exc_next = false;
	return trace_push(tr->t, &tr->cap, f);
}

/* A frame line, with the inline lines that came before it. */
static struct vr_error *trace_frame(struct trace_read *tr, struct vr_frame *f)
{
	tr->regs = NULL;
	f->stack = tr->stack ? vr_strdup(tr->stack) : NULL;
	f->from_log = true;
	if (tr->exc_next) {
		f->exception = true;
		tr->exc_next = false;
	}
	if (tr->n_inl && !f->n_inlined) {
		f->inlined = malloc(tr->n_inl * sizeof(*f->inlined));
		if (f->inlined) {
			memcpy(f->inlined, tr->inl, tr->n_inl * sizeof(*tr->inl));
			f->n_inlined = tr->n_inl;
		} else {
			inlines_free(tr->inl, tr->n_inl);
		}
		tr->n_inl = 0;
	}
	return trace_push(tr->t, &tr->cap, f);
}

/* A line before a frame that belongs to it: code and registers of an
 * exception frame, an inline line. */
static bool trace_before_frame(struct trace_read *tr, const char *rest)
{
	const struct vr_trace *t = tr->t;
	if (tr->regs && (is_code_line(rest) || vr_klog_regs_line(rest, tr->regs)))
		return true;
	if (!tr->regs && is_code_line(rest) && t->n_frames && t->frames[t->n_frames - 1].exception)
		return true;
	struct vr_inline in;
	if (!parse_inline_line(rest, &in))
		return false;
	if (tr->n_inl < MAX_PENDING_INLINES)
		tr->inl[tr->n_inl++] = in;
	else
		inlines_free(&in, 1);
	return true;
}

/* A line inside a trace that is no frame but does not end it: an
 * exception boundary ("--- interrupt: 901 at ..." on ppc, older "--- <IRQ
 * stack> ---"), a blank line in a register dump, arm's per-frame registers
 * (" r7:00000080 r6:60000193 ..."). */
static bool trace_between(struct trace_read *tr, const char *rest)
{
	if (starts(skip_ws(rest), "--- interrupt") || starts(skip_ws(rest), "--- <")) {
		tr->exc_next = true;
		return true;
	}
	if (tr->regs && *skip_ws(rest) == '\0')
		return true;
	return is_arm_regs_line(rest);
}

/* An unrelated message in the middle of the stack, with frames after it:
 * the line before the next frame, else 0 (the trace ends). */
static size_t trace_noise(const struct decode *d, char **msg, size_t i, size_t j, size_t end)
{
	size_t seen = 0;
	for (size_t k = j + 1; k < end && seen < MAX_NOISE_LINES; k++) {
		if (!msg[k] || foreign_line(d, i, k))
			continue;
		seen++;
		if (is_structural(msg[k]))
			return 0;
		struct vr_frame probe = {0};
		if (vr_klog_parse_frame(msg[k], &probe)) {
			vr_frame_deinit(&probe);
			return k - 1;
		}
	}
	return 0;
}

static struct vr_error *parse_trace(const struct decode *d, char **msg, size_t i, size_t end,
				    struct vr_trace *t, size_t *ret_next)
{
	struct trace_read tr = {.t = t};
	size_t foreign = 0;
	size_t j = i + 1;
	struct vr_error *err = NULL;
	for (; j < end && !err; j++) {
		const char *m = msg[j];
		if (!m)
			continue; /* another program's syslog line */
		if (foreign_line(d, i, j)) {
			if (++foreign > MAX_FOREIGN_LINES)
				break;
			continue;
		}
		const char *rest = m;
		const char *st;
		bool exc;
		const char *after = vr_klog_trace_marker(m, &st, &exc);
		if (after) {
			tr.stack = st;
			tr.exc_next = exc;
			tr.regs = NULL;
			after = vr_klog_skip_stamp(skip_ws(after));
			if (!*after)
				continue;
			rest = after;
		}
		struct vr_frame f = {0};
		if (parse_rip(rest, &f, true)) {
			err = trace_exception(&tr, &f, rest);
			continue;
		}
		if (trace_before_frame(&tr, rest))
			continue;
		if (vr_klog_parse_frame(rest, &f)) {
			err = trace_frame(&tr, &f);
			continue;
		}
		if (trace_between(&tr, rest))
			continue;
		size_t skip_to = t->n_frames && !is_structural(rest) ? trace_noise(d, msg, i, j, end) : 0;
		if (!skip_to)
			break;
		j = skip_to;
	}
	if (err)
		j--; /* the loop stepped past the line that failed */
	inlines_free(tr.inl, tr.n_inl);
	*ret_next = j;
	return err;
}

/* The report's task line (engine/klog.c vr_klog_task_line()) into c. */
static bool parse_cpu_line(const char *m, struct vr_crash *c)
{
	struct vr_klog_task t;
	if (!vr_klog_task_line(m, &t))
		return false;
	free(c->comm);
	c->comm = dup_trimmed(t.comm, t.comm_len);
	c->cpu = t.cpu;
	c->pid = t.pid;
	if (t.taint_known) {
		free(c->taint);
		c->taint = vr_strdup(t.taint);
	}
	free(c->cpu_line);
	c->cpu_line = dup_trimmed(m, strlen(m));
	return true;
}

/* Hung task's second line: "      Tainted: G  OE  6.1.0 #1" or "      Not tainted 6.1.0 #1". */
static void parse_taint_only(const char *m, struct vr_crash *c)
{
	char buf[32];
	if (c->taint || strchr(m, '[') || !vr_klog_taint(m, buf, sizeof(buf)))
		return;
	c->taint = vr_strdup(buf);
}

static bool is_module_token(const char *s, size_t n)
{
	if (!n)
		return false;
	for (size_t i = 0; i < n; i++) {
		char ch = s[i];
		if (!(isalnum((unsigned char)ch) || ch == '_' || ch == '-' || ch == '(' || ch == ')' ||
		      ch == '+' || ch == '['))
			return false;
	}
	return true;
}

static struct vr_error *add_modules(const char *p, struct vr_crash *c, size_t *cap)
{
	while (*(p = skip_ws(p))) {
		if (*p == '[')
			break; /* "[last unloaded: foo]" */
		size_t n = strcspn(p, " ");
		/* "vrbug(OE)": the name without its taint flags. */
		size_t name = strcspn(p, "( ");
		if (name > n)
			name = n;
		if (name && c->n_modules_linked < VR_OOPS_MAX_MODULES) {
			struct vr_error *err = vr_strv_add(&c->modules_linked, &c->n_modules_linked, cap,
							   VR_OOPS_MAX_MODULES, vr_strndup(p, name));
			if (err)
				return err;
		}
		p += n;
	}
	return NULL;
}

/* A continuation of a long "Modules linked in:" record: module names only. */
static bool is_module_continuation(const char *m)
{
	if (*m != ' ')
		return false;
	const char *p = skip_ws(m);
	if (!*p)
		return false;
	while (*p) {
		size_t n = strcspn(p, " ");
		if (*p == '[')
			return strstr(p, "last unloaded") != NULL;
		if (!is_module_token(p, n) || memchr(p, '+', n))
			return false;
		p = skip_ws(p + n);
	}
	return true;
}

/* "FILE:LINE" at p (up to '!', ':' or space). */
static void parse_file_line(const char *p, struct vr_crash *c)
{
	if (c->bug_file)
		return;
	const char *colon = NULL;
	const char *q = p;
	while (*q && *q != ' ' && *q != '!') {
		if (*q == ':' && isdigit((unsigned char)q[1]))
			colon = q;
		if (colon)
			break;
		q++;
	}
	if (!colon || colon == p)
		return;
	const char *l = colon + 1;
	long line;
	if (!read_dec(&l, &line))
		return;
	c->bug_file = vr_strndup(p, (size_t)(colon - p));
	c->bug_line = (int)line;
}

static void set_fault_address(struct vr_crash *c, uint64_t a)
{
	if (c->fault_address_known)
		return;
	c->fault_address = a;
	c->fault_address_known = true;
}

/* Reads the hex number after the first of the markers found in m. */
static bool hex_after(const char *m, const char *marker, uint64_t *ret)
{
	const char *p = strstr(m, marker);
	if (!p)
		return false;
	p = skip_ws(p + strlen(marker));
	return read_hex(&p, ret);
}

/* Fault address, access and error code from the report's header lines. */
static void parse_fault_lines(const char *m, struct decode *d)
{
	struct vr_crash *c = d->c;
	uint64_t v;
	const char *p = skip_ws(m);
	if (starts(p, "BUG: ") || starts(p, "Unable to handle kernel")) {
		if (strstr(p, "(null)"))
			set_fault_address(c, 0);
		else if (hex_after(p, "address: ", &v) || hex_after(p, "virtual address ", &v) ||
			 hex_after(p, "paging request at ", &v) || hex_after(p, "dereference at ", &v) ||
			 hex_after(p, "at address ", &v) || hex_after(p, "guard page was hit at ", &v) ||
			 hex_after(p, "access on read at ", &v) || hex_after(p, "on read at ", &v) ||
			 hex_after(p, "on write at ", &v))
			set_fault_address(c, v);
		if (strstr(p, "for data at address ") || strstr(p, "on read at "))
			c->access = c->access ? c->access : "read";
		if (strstr(p, "instruction fetch") || strstr(p, "execute from non-executable"))
			c->access = "exec";
		if (strstr(p, "on write at ") || strstr(p, "write to read-only"))
			c->access = "write";
	} else if (strstr(p, "non-canonical address ")) {
		if (hex_after(p, "non-canonical address ", &v))
			set_fault_address(c, v);
	} else if (starts(p, "#PF: ")) {
		/* 5.1+ (arch/x86/mm/fault.c show_fault_oops()). */
		if (strstr(p, "instruction fetch"))
			c->access = "exec";
		else if (strstr(p, "write access"))
			c->access = "write";
		else if (strstr(p, "read access"))
			c->access = "read";
		if (hex_after(p, "error_code(", &v)) {
			c->error_code = v;
			c->error_code_known = true;
		}
	} else if ((starts(p, "Oops: ") && vr_klog_is_hex_word(p + 6)) && vr_klog_has_die_counter(p) && !c->error_code_known &&
		   (vr_oops_kind_is(d->kind, "null-deref") || vr_oops_kind_is(d->kind, "page-fault") ||
		    vr_oops_kind_is(d->kind, "sysrq"))) {
		/* Before 5.1 only the die line had the #PF error code; the
		 * bits are arch/x86/include/asm/trap_pf.h X86_PF_*. */
		const char *q = p + 6;
		if (read_hex(&q, &v) && (*q == ' ' || *q == '\0')) {
			c->error_code = v;
			c->error_code_known = true;
			if (!c->access)
				c->access = (v & 0x10) ? "exec" : (v & 0x2) ? "write" : "read";
		}
	} else if (starts(p, "ESR = 0x")) {
		/* arm64 (arch/arm64/mm/fault.c mem_abort_decode()). */
		if (hex_after(p, "ESR = ", &v) && !c->error_code_known) {
			c->error_code = v;
			c->error_code_known = true;
		}
	} else if (starts(p, "EC = 0x")) {
		if (strstr(p, "IABT"))
			c->access = "exec";
	} else if (starts(p, "CM = ") && strstr(p, "WnR = ")) {
		if (!c->access || strcmp(c->access, "exec"))
			c->access = strstr(p, "WnR = 1") ? "write" : "read";
	} else if (starts(p, "Internal error: Oops: ") && !c->error_code_known) {
		const char *q = p + 22;
		if (read_hex(&q, &v)) {
			c->error_code = v;
			c->error_code_known = true;
		}
	} else if ((starts(p, "Read of size ") || starts(p, "Write of size ")) && strstr(p, " at addr ")) {
		/* KASAN (mm/kasan/report.c print_error_description()). */
		if (hex_after(p, " at addr ", &v))
			set_fault_address(c, v);
		if (!c->access)
			c->access = p[0] == 'R' ? "read" : "write";
	} else if (strstr(p, "-after-free read at 0x") || strstr(p, "out-of-bounds read at 0x") ||
		   strstr(p, "-after-free write at 0x") || strstr(p, "out-of-bounds write at 0x") ||
		   starts(p, "Invalid read at 0x") || starts(p, "Invalid write at 0x") ||
		   starts(p, "Corrupted memory at 0x")) {
		/* KFENCE (mm/kfence/report.c). */
		if (hex_after(p, " at ", &v))
			set_fault_address(c, v);
		if (!c->access)
			c->access = strstr(p, " write at ") ? "write" : strstr(p, " read at ") ? "read" : NULL;
	} else if (starts(p, "Failing address: ")) {
		/* s390 */
		if (hex_after(p, "Failing address: ", &v))
			set_fault_address(c, v);
	}
}

/* Other architectures' and older x86 instruction pointer lines. */
static bool parse_other_ip(const char *m, struct decode *d)
{
	const char *p = skip_ws(m);
	struct vr_frame f = {0};
	const char *t = NULL;
	uint64_t addr = 0;
	bool header = false;
	if (starts(p, "IP: ")) {
		/* x86 before 4.17: "IP: [<ffffffff81>] foo+0x12/0x40 [mod]" or "IP: foo+0x12/0x40". */
		t = p + 4;
		header = true;
	} else if (starts(p, "RIP  [<") || starts(p, "EIP: [<")) {
		t = p + 5;
	} else if (starts(p, "pc : ") || starts(p, "PC is at ") || starts(p, "EIP is at ")) {
		/* arm64 "pc : foo+0x14/0x30 [mod]", 4.x "pc : [<ffff..>] lr : ..."; arm "PC is at foo". */
		t = strstr(p, " : ") ? skip_ws(strstr(p, " : ") + 3) : strstr(p, " at ") + 4;
		if (starts(t, "[<")) {
			const char *q = t + 2;
			if (read_hex(&q, &addr) && starts(q, ">]") && !strstr(q, "+0x"))
				return false; /* address only: a "PC is at" line gives the symbol */
		}
	} else if (starts(p, "EIP: ") && !isdigit((unsigned char)p[5])) {
		t = p + 5; /* x86-32 4.x: "EIP: foo+0x54/0x140 [mod]" */
	} else if (starts(p, "NIP [")) {
		t = p + 4; /* ppc: "NIP [c0000000004f4d1c] .foo+0x2c/0x60 [mod]" */
		const char *q = t + 1;
		if (!read_hex(&q, &addr) || *q != ']')
			return false;
		t = skip_ws(q + 1);
	} else if (starts(p, "Krnl PSW : ") && strchr(p, '(')) {
		t = strchr(p, '(') + 1; /* s390 */
	} else {
		return false;
	}
	if (!vr_klog_parse_frame(t, &f))
		return false;
	if (!f.address)
		f.address = addr;
	f.reliable = true;
	f.from_log = true;
	take_ip(d, &f, header);
	return true;
}

/* "WARNING: CPU: 1 PID: 2 at drivers/foo.c:55 func+0x1/0x2 [mod]" and
 * before 3.11 "WARNING: at drivers/foo.c:55 func+0x1/0x2()". */
static void parse_warning_line(const char *m, struct decode *d)
{
	struct vr_crash *c = d->c;
	const char *p = skip_ws(m);
	if (starts(p, "WARNING: CPU: ")) {
		const char *q = p + 14;
		long cpu, pid;
		if (read_dec(&q, &cpu) && starts(q, " PID: ")) {
			q += 6;
			if (read_dec(&q, &pid) && c->cpu < 0) {
				c->cpu = (int)cpu;
				c->pid = (int)pid;
			}
		}
	}
	const char *at = strstr(p, " at");
	if (!at)
		return;
	if (!starts(p, "WARNING: CPU:") && !starts(p, "WARNING: at") && strstr(p, ", CPU#")) {
		/* Newer kernels: "WARNING: drivers/foo.c:55 at func+0x1/0x2 [mod], CPU#1: sh/83". */
		parse_file_line(p + 9, c);
		const char *q = strstr(p, ", CPU#") + 6;
		long cpu;
		if (read_dec(&q, &cpu) && c->cpu < 0)
			c->cpu = (int)cpu;
	}
	at += 3;
	if (*at == ' ')
		at++;
	parse_file_line(at, c);
	const char *fn = strchr(at, ' ');
	if (fn && !d->have_warn_frame) {
		struct vr_frame f = {0};
		if (vr_klog_parse_frame(fn, &f)) {
			d->warn_frame = f;
			d->have_warn_frame = true;
		}
	}
}

static bool is_block_boundary(const char *m)
{
	const char *p = skip_ws(m);
	return starts(p, "NMI backtrace for cpu") || starts(p, "Sending NMI from CPU") ||
	       starts(p, "Kernel panic - not syncing") || starts(p, "Linux version ") ||
	       starts(p, "---[ end Kernel panic");
}

/* Lockdep's lock sites: which role the "at:" lines after p have. */
static void lock_context(const char *p, struct decode *d)
{
	if (strstr(p, "is trying to acquire lock") || strstr(p, "is trying to release lock") ||
	    (strstr(p, "] takes:") || starts(p, "takes:")) || strstr(p, "just changed the state of lock") ||
	    strstr(p, "is trying to acquire:"))
		d->lock_role = VR_ROLE_ACQUIRE;
	else if (strstr(p, "already holding lock") || strstr(p, " lock held by ") ||
		 strstr(p, " locks held by ") || strstr(p, "with a lock still held") ||
		 strstr(p, "is freeing memory") || strstr(p, "but this lock was taken by another"))
		d->lock_role = VR_ROLE_HELD;
	else
		return;
	/* "is trying to release lock (&lock) at:" then the frame on the next line. */
	size_t n = strlen(p);
	d->lock_next_line = n >= 4 && !strcmp(p + n - 4, " at:");
}

/* Reads the stack a section header announced. For a header whose frames
 * follow at once, they are read from line i + 1. */
static struct vr_error *read_section(char **msg, size_t i, size_t end, struct decode *d,
				     struct vr_crash_trace *t, size_t *ret_next)
{
	struct vr_error *err = parse_trace(d, msg, i, end, &t->trace, ret_next);
	if (err) {
		pending_clear(t);
		return err;
	}
	/* The section's "RIP:" line is where that CPU was: the first frame of
	 * the code the NMI interrupted (after "<NMI> ... </NMI>", if shown). */
	if (d->have_sec_rip && t->trace.n_frames) {
		struct vr_frame *v = realloc(t->trace.frames, (t->trace.n_frames + 1) * sizeof(*v));
		if (!v) {
			pending_clear(t);
			return &vr_error_oom;
		}
		size_t at = 0;
		if (v[0].stack && !strcmp(v[0].stack, "nmi"))
			while (at < t->trace.n_frames && v[at].stack && !strcmp(v[at].stack, "nmi"))
				at++;
		memmove(v + at + 1, v + at, (t->trace.n_frames - at) * sizeof(*v));
		v[at] = d->sec_rip;
		/* It belongs to the section that follows the NMI's. */
		if (at && at < t->trace.n_frames && v[at + 1].stack && !v[at].stack)
			v[at].stack = vr_strdup(v[at + 1].stack);
		d->sec_rip = (struct vr_frame){0};
		d->have_sec_rip = false;
		t->trace.frames = v;
		t->trace.n_frames++;
	}
	return add_trace(d, t);
}

static void sec_rip_clear(struct decode *d)
{
	vr_frame_deinit(&d->sec_rip);
	d->have_sec_rip = false;
}

/* The state of decode_block() across the lines of one block. */
struct block {
	char **msg;
	size_t from, end;
	size_t i;                  /* the line being read; a step that reads
				    * several moves it to the last it read */
	struct decode *d;
	size_t mod_cap;
	bool in_regs, in_modules;  /* inside the register dump, the module list */
	bool have_cpu_here;
	bool own;                  /* still in the report's own lines */
	struct vr_crash_trace pend; /* a stack announced and not read yet */
	enum vr_section pend_kind;
};

/* What a step did with a line. */
enum step { STEP_PASS, STEP_TAKEN, STEP_END };

/* Reads the stack that starts at line b->i into t, moving b->i to its
 * last line. */
static struct vr_error *block_section(struct block *b, struct vr_crash_trace *t)
{
	size_t next;
	struct vr_error *err = read_section(b->msg, b->i, b->end, b->d, t, &next);
	if (next > b->i + 1)
		b->i = next - 1;
	return err;
}

/* Lines of other tasks and CPUs, and the boundaries of the block: with
 * caller ids, a report is the lines of its own task or CPU (another CPU's
 * report printed at the same time interleaves with it), but a backtrace of
 * all CPUs brings their lines in. An NMI backtrace ends the report's own
 * lines; any other boundary ends the block. */
static enum step block_boundary(struct block *b, const char *m, const char *p, bool skip_first_boundary)
{
	struct decode *d = b->d;
	size_t i = b->i;
	if (starts(p, "Sending NMI from CPU") || starts(p, "NMI backtrace for cpu"))
		d->cpu_traceback = true;
	if (d->ctx && d->rctx[0] && d->ctx[i][0] && strcmp(d->ctx[i], d->rctx) &&
	    !(d->cpu_traceback && d->ctx[i][0] == 'C'))
		return STEP_TAKEN;
	if (!is_block_boundary(m) || (i == b->from && skip_first_boundary))
		return STEP_PASS;
	bool nmi = starts(p, "NMI backtrace for cpu") || starts(p, "Sending NMI from CPU");
	if (!nmi)
		return STEP_END;
	/* An RCU stall report shows the stalled CPU as an NMI backtrace: the
	 * first one is the report's own. */
	if (b->own && vr_oops_kind_is(d->kind, "rcu-stall") && !d->have_trace && !d->c->cpu_line)
		return STEP_TAKEN;
	b->own = false;
	b->in_regs = b->in_modules = false;
	if (starts(p, "NMI backtrace for cpu")) {
		pending_clear(&b->pend);
		sec_rip_clear(d);
		b->pend_kind = vr_oops_section_header(p, &b->pend);
	}
	return STEP_TAKEN;
}

/* Stacks announced by a header line, anywhere in the report. */
static enum step block_header(struct block *b, const char *p, struct vr_error **err)
{
	struct vr_crash_trace hdr;
	enum vr_section hk = vr_oops_section_header(p, &hdr);
	if (hk == VR_SECTION_NONE)
		return STEP_PASS;
	pending_clear(&b->pend);
	sec_rip_clear(b->d);
	b->in_regs = b->in_modules = false;
	if (hdr.role == VR_ROLE_CALL && b->own) {
		/* lockdep's "stack backtrace:": the report's own stack follows. */
		pending_clear(&hdr);
		return STEP_TAKEN;
	}
	if (hk == VR_SECTION_FRAMES) {
		*err = block_section(b, &hdr);
		return STEP_TAKEN;
	}
	b->pend = hdr;
	b->pend_kind = hk;
	return STEP_TAKEN;
}

/* Between a stack's header and its Call Trace, or anywhere after the
 * report's own lines: the CPU or task line, another CPU's "RIP:", the
 * trace itself. */
static enum step block_pending(struct block *b, const char *p, struct vr_error **err)
{
	struct decode *d = b->d;
	struct vr_crash_trace *pend = &b->pend;
	if (b->pend_kind != VR_SECTION_TRACE && b->own)
		return STEP_PASS;
	struct vr_crash_trace tl = {.cpu = -1, .pid = -1};
	if (starts(p, "CPU: ") || starts(p, "Pid: ")) {
		struct vr_crash tmp;
		vr_crash_init(&tmp);
		if (parse_cpu_line(p, &tmp)) {
			if (pend->cpu < 0)
				pend->cpu = tmp.cpu;
			pend->pid = tmp.pid;
			free(pend->comm);
			pend->comm = tmp.comm;
			tmp.comm = NULL;
		}
		vr_crash_deinit(&tmp);
		return b->own ? STEP_PASS : STEP_TAKEN;
	}
	if (vr_oops_task_line(p, &tl)) {
		pend->pid = tl.pid;
		free(pend->comm);
		pend->comm = tl.comm;
		return STEP_TAKEN;
	}
	if (!b->own && !d->have_sec_rip && starts(p, "RIP: ")) {
		struct vr_frame rf = {0};
		struct vr_regs rr = {0};
		if (parse_rip(p, &rf, true) && vr_klog_ip_regs(p, 0, &rr) && !vr_regs_user_mode(&rr) &&
		    rf.symbol) {
			rf.exception = true;
			rf.from_log = true;
			d->sec_rip = rf;
			d->have_sec_rip = true;
		} else {
			vr_frame_deinit(&rf);
		}
		return STEP_TAKEN;
	}
	if (vr_klog_is_trace_start(p)) {
		if (!pend->role)
			pend->role = b->own ? VR_ROLE_TASK : VR_ROLE_NMI;
		*err = block_section(b, pend);
		b->pend_kind = VR_SECTION_NONE;
		return STEP_TAKEN;
	}
	return STEP_PASS;
}

/* Lines of the report's other parts: a task a stall report dumps
 * (sched_show_task(); in a hung task report the first one is the report's
 * own), lockdep's lock sites, the stall's CPU list. */
static enum step block_side(struct block *b, const char *p, struct vr_error **err)
{
	struct decode *d = b->d;
	if (!vr_oops_kind_is(d->kind, "hung-task") || d->have_trace) {
		struct vr_crash_trace tl = {.cpu = -1, .pid = -1};
		if (vr_oops_task_line(p, &tl)) {
			pending_clear(&b->pend);
			b->pend = tl;
			b->pend.role = VR_ROLE_TASK;
			b->pend_kind = VR_SECTION_TRACE;
			return STEP_TAKEN;
		}
	}
	if (d->lock_next_line) {
		d->lock_next_line = false;
		struct vr_frame f = {0};
		if (vr_klog_parse_frame(p, &f) && f.symbol) {
			*err = add_one_frame(d, d->lock_role, NULL, &f);
			return STEP_TAKEN;
		}
		vr_frame_deinit(&f);
	}
	lock_context(p, d);
	if (d->lock_role) {
		struct vr_frame f = {0};
		if (vr_oops_lock_site(p, &f)) {
			*err = add_one_frame(d, d->lock_role, p, &f);
			return STEP_TAKEN;
		}
		vr_frame_deinit(&f);
	}
	if (vr_oops_kind_is(d->kind, "rcu-stall") || vr_oops_kind_is(d->kind, "hard-lockup"))
		vr_oops_stall_line(p, &d->stall);
	return STEP_PASS;
}

/* The module list and the register dump, which run over several lines. */
static enum step block_continued(struct block *b, const char *m, const char *p, struct vr_error **err)
{
	struct vr_crash *c = b->d->c;
	if (b->in_modules && is_module_continuation(m)) {
		*err = add_modules(m, c, &b->mod_cap);
		return STEP_TAKEN;
	}
	b->in_modules = false;
	if (b->in_regs) {
		if (is_code_line(p)) {
			if (!c->code)
				c->code = dup_trimmed(p + 6, strlen(p + 6));
			return STEP_TAKEN;
		}
		if (vr_klog_regs_line(p, &c->regs))
			return STEP_TAKEN;
		b->in_regs = false;
	}
	struct vr_frame f = {0};
	if (!b->d->have_regs && parse_rip(p, &f, false)) {
		b->d->have_regs = true;
		b->in_regs = true;
		vr_klog_ip_regs(p, f.address, &c->regs);
		take_ip(b->d, &f, false);
		return STEP_TAKEN;
	}
	vr_frame_deinit(&f);
	return STEP_PASS;
}

/* The report's own stack: after "Call Trace:", or right after the access
 * line for KFENCE (mm/kfence/report.c) and the headline for KMSAN, which
 * print theirs without one. */
static enum step block_trace(struct block *b, const char *p, struct vr_error **err)
{
	struct decode *d = b->d;
	struct vr_crash *c = d->c;
	size_t i = b->i;
	bool kfence_stack = vr_oops_kind_is(d->kind, "kfence") && strstr(p, "(in kfence-#");
	bool kmsan_stack = vr_oops_kind_is(d->kind, "kmsan") && i == b->from && i + 1 < b->end &&
			   b->msg[i + 1] && !vr_klog_is_trace_start(b->msg[i + 1]);
	if (!vr_klog_is_trace_start(p) && !((kfence_stack || kmsan_stack) && !d->have_trace))
		return STEP_PASS;
	parse_fault_lines(p, d);
	if (d->have_trace)
		return STEP_TAKEN;
	size_t next;
	*err = parse_trace(d, b->msg, i, b->end, &c->trace, &next);
	if (*err)
		return STEP_END;
	d->have_trace = c->trace.n_frames > 0 || !kmsan_stack;
	if (next > i + 1 && next - 1 > d->last)
		d->last = next - 1;
	if (next > i + 1)
		b->i = next - 1;
	return STEP_TAKEN;
}

/* A line of the report's header part that names one frame: "caller is"
 * (lib/smp_processor_id.c) and "last function:" (a workqueue that leaked a
 * lock). */
static enum step block_named_frame(struct block *b, const char *p, struct vr_error **err)
{
	struct decode *d = b->d;
	struct vr_frame lf = {0};
	if (starts(p, "caller is ") && !d->have_trace) {
		if (vr_klog_parse_frame(p + 10, &lf) && lf.symbol) {
			lf.reliable = true;
			*err = add_one_frame(d, VR_ROLE_HEADLINE, p, &lf);
		} else {
			vr_frame_deinit(&lf);
		}
		return STEP_TAKEN;
	}
	if (starts(p, "last function: ")) {
		if (vr_klog_parse_frame(p + 15, &lf) || (lf.symbol = vr_strdup(skip_ws(p + 15)))) {
			lf.reliable = true;
			*err = add_one_frame(d, VR_ROLE_HEADLINE, p, &lf);
		}
		return STEP_TAKEN;
	}
	return STEP_PASS;
}

/* The report's own one-line facts: CPU line, hardware, modules, code,
 * the site of a BUG, WARNING, UBSAN or might_sleep report, taint, the
 * hung task's line, and the fault lines. */
static void block_fact(struct block *b, const char *p, struct vr_error **err)
{
	struct decode *d = b->d;
	struct vr_crash *c = d->c;
	if (!b->have_cpu_here && !c->cpu_line && (starts(p, "CPU: ") || starts(p, "Pid: "))) {
		if (parse_cpu_line(p, c))
			b->have_cpu_here = true;
	} else if (starts(p, "Hardware name: ")) {
		set_str(&c->hardware, p + 15, strlen(p + 15));
	} else if (starts(p, "Modules linked in:")) {
		if (!c->n_modules_linked) {
			*err = add_modules(p + 18, c, &b->mod_cap);
			b->in_modules = true;
		}
	} else if (is_code_line(p)) {
		if (!c->code)
			c->code = dup_trimmed(p + 6, strlen(p + 6));
	} else if (parse_other_ip(p, d)) {
		/* "IP:", "PC is at", "pc :" */
	} else if (starts(p, "kernel BUG at ") || starts(p, "Kernel BUG at ")) {
		parse_file_line(p + 14, c);
	} else if (starts(p, "WARNING: ")) {
		parse_warning_line(p, d);
	} else if (starts(p, "UBSAN: ") && strstr(p, " in ")) {
		parse_file_line(strstr(p, " in ") + 4, c);
	} else if (starts(p, "BUG: sleeping function called from invalid context at ")) {
		parse_file_line(p + 54, c);
	} else if (starts(p, "Tainted: ") || starts(p, "Not tainted")) {
		parse_taint_only(p, c);
	} else if (starts(p, "task:") && strstr(p, " pid:") && c->pid < 0) {
		/* hung task: "task:vrtrigger state:D stack:0 pid:100 ppid:1 flags:0x0" */
		const char *e = strstr(p, " state:");
		const char *q = strstr(p, " pid:") + 5;
		long pid;
		if (e && read_dec(&q, &pid)) {
			c->pid = (int)pid;
			free(c->comm);
			c->comm = dup_trimmed(p + 5, (size_t)(e - p - 5));
		}
	} else if (block_named_frame(b, p, err) == STEP_PASS) {
		parse_fault_lines(p, d);
	}
}

/* Reads lines [from, end) of one block of the report into d (only the
 * fields still missing). The report's own lines give its header facts;
 * after another CPU's backtrace begins ("NMI backtrace for cpu 1") only the
 * stacks are read, each with its role. A block ends at a panic line or a
 * new boot. */
static struct vr_error *decode_block(char **msg, size_t from, size_t end, struct decode *d,
				     bool skip_first_boundary)
{
	struct block b = {.msg = msg, .from = from, .end = end, .d = d, .mod_cap = d->c->n_modules_linked,
			  .own = true, .pend = {.cpu = -1, .pid = -1}, .pend_kind = VR_SECTION_NONE};
	struct vr_error *err = NULL;
	for (b.i = from; b.i < end && !err; b.i++) {
		const char *m = msg[b.i];
		if (!m)
			continue;
		const char *p = skip_ws(m);
		enum step st = block_boundary(&b, m, p, skip_first_boundary);
		if (st == STEP_END)
			break;
		if (st == STEP_TAKEN)
			continue;
		if (b.own && d->last < b.i && *p)
			d->last = b.i;
		if (block_header(&b, p, &err) == STEP_TAKEN || block_pending(&b, p, &err) == STEP_TAKEN ||
		    block_side(&b, p, &err) == STEP_TAKEN)
			continue;
		/* Past the report's own lines only the stacks are read; after
		 * "---[ end trace" 4.17+ repeats the registers, adding nothing. */
		if (!b.own || starts(p, "---[ end trace"))
			continue;
		if (block_continued(&b, m, p, &err) == STEP_TAKEN)
			continue;
		st = block_trace(&b, p, &err);
		if (st == STEP_END)
			break;
		if (st == STEP_TAKEN)
			continue;
		block_fact(&b, p, &err);
	}
	pending_clear(&b.pend);
	sec_rip_clear(d);
	return err;
}

/* The caller of panic() in a panic's own stack dump: where a panic with no
 * register dump "happened" (sysrq_handle_crash for a sysrq crash). */
static bool ip_from_panic_trace(struct vr_crash *c)
{
	const struct vr_trace *t = &c->trace;
	for (size_t i = 0; i + 1 < t->n_frames; i++) {
		const char *s = t->frames[i].symbol;
		if (!s || (strcmp(s, "panic") && strcmp(s, "vpanic") && strcmp(s, "nmi_panic")))
			continue;
		for (size_t j = i + 1; j < t->n_frames; j++) {
			const struct vr_frame *f = &t->frames[j];
			if (!f->symbol || !f->reliable)
				continue;
			/* 6.12.118 prints "vpanic, panic, caller": panic() calls
			 * vpanic() since 6.12's stable updates. */
			if (!strcmp(f->symbol, "panic") || !strcmp(f->symbol, "vpanic"))
				continue;
			c->ip = (struct vr_frame){
				.symbol = vr_strdup(f->symbol),
				.offset = f->offset,
				.size = f->size,
				.module = f->module ? vr_strdup(f->module) : NULL,
				.address = f->address,
				.reliable = true,
				.from_log = true,
			};
			c->ip_known = c->ip.symbol != NULL;
			return c->ip_known;
		}
	}
	return false;
}

/* Headline facts that the CPU line may not give (hung tasks have none):
 * "[comm:pid]" of a soft lockup, "task comm:pid blocked" of a hung task. */
static void parse_headline_task(const char *title, struct vr_crash *c)
{
	const char *p;
	if (c->pid >= 0)
		return;
	if ((p = strstr(title, "INFO: task ")) && strstr(title, " blocked for")) {
		p += 11;
		const char *b = strstr(p, " blocked for");
		const char *colon = NULL;
		for (const char *q = p; q < b; q++)
			if (*q == ':')
				colon = q;
		long pid;
		const char *q = colon ? colon + 1 : NULL;
		if (q && read_dec(&q, &pid)) {
			c->pid = (int)pid;
			free(c->comm);
			c->comm = vr_strndup(p, (size_t)(colon - p));
		}
	} else if ((p = strstr(title, "soft lockup - CPU#"))) {
		const char *q = p + 18;
		long cpu, pid;
		if (read_dec(&q, &cpu))
			c->cpu = (int)cpu;
		const char *br = strrchr(title, '[');
		const char *colon = br ? strrchr(br, ':') : NULL;
		if (colon) {
			q = colon + 1;
			if (read_dec(&q, &pid)) {
				c->pid = (int)pid;
				free(c->comm);
				c->comm = vr_strndup(br + 1, (size_t)(colon - br - 1));
			}
		}
	}
}

/* Which of the report's stacks are of the stuck CPU or task: for an RCU
 * stall, the CPUs and tasks its header lists (a self-detected stall is the
 * reporting CPU's own); for a soft lockup the reporting CPU; for a hard
 * lockup the CPU "Watchdog detected hard LOCKUP on cpu N" names, which
 * newer kernels' buddy detector reports from another CPU. */
static void mark_stalled(struct decode *d)
{
	struct vr_crash *c = d->c;
	const struct vr_stall *s = &d->stall;
	bool rcu = vr_oops_kind_is(c->kind, "rcu-stall");
	bool hard = vr_oops_kind_is(c->kind, "hard-lockup");
	if (vr_oops_kind_is(c->kind, "soft-lockup")) {
		/* "BUG: soft lockup - CPU#1 stuck for 22s!": the reporting CPU. */
		const char *p = strstr(c->title, "CPU#");
		long v;
		c->trace_stalled = true;
		c->stalled_cpu = p && (p += 4, read_dec(&p, &v)) ? (int)v : c->cpu;
		return;
	}
	if (!rcu && !hard)
		return;
	int named = -1;
	if (hard) {
		const char *on = strstr(c->title, " on cpu ");
		long v;
		if (on && (on += 8, read_dec(&on, &v)))
			named = (int)v;
	}
	bool other = false;
	for (size_t i = 0; i < c->n_traces; i++) {
		struct vr_crash_trace *t = &c->traces[i];
		if (t->role == VR_ROLE_NMI || t->role == VR_ROLE_TASK) {
			if ((t->cpu >= 0 && (vr_stall_has_cpu(s, t->cpu) || t->cpu == named)) ||
			    (t->role == VR_ROLE_TASK && t->pid >= 0 && vr_stall_has_pid(s, t->pid)))
				t->stalled = true;
		}
		if (t->stalled && t->role == VR_ROLE_NMI)
			other = true;
	}
	if (hard)
		c->trace_stalled = named < 0 || c->cpu == named || (c->cpu < 0 && !other);
	else
		c->trace_stalled = s->self_detected || vr_stall_has_cpu(s, c->cpu);
	/* A report that names no stuck CPU or task ("All QSes seen", a header
	 * cut by the console) dumps the stacks it thinks matter: those. */
	bool any = c->trace_stalled;
	for (size_t i = 0; i < c->n_traces; i++)
		any |= c->traces[i].stalled;
	for (size_t i = 0; !any && rcu && i < c->n_traces; i++)
		if (c->traces[i].role == VR_ROLE_NMI || c->traces[i].role == VR_ROLE_TASK)
			c->traces[i].stalled = true;
	for (int cpu = 0; cpu < VR_MAX_CPUS && c->stalled_cpu < 0; cpu++)
		if (vr_stall_has_cpu(s, cpu))
			c->stalled_cpu = cpu;
	if (c->stalled_cpu < 0 && named >= 0)
		c->stalled_cpu = named;
	if (c->stalled_cpu < 0 && (s->self_detected || hard))
		c->stalled_cpu = c->cpu;
}

/* The functions the headline names: "BUG: KASAN: use-after-free in foo+0x1/0x2",
 * "BUG: KCSAN: data-race in foo / bar", "stack-protector: Kernel stack is
 * corrupted in: foo", the function of a WARNING line. */
static struct vr_error *headline_frames(struct decode *d, const char *panic_line)
{
	struct vr_crash *c = d->c;
	const char *k = c->kind;
	const char *in = NULL;
	struct vr_error *err = NULL;
	if (vr_oops_kind_is(k, "kasan") || vr_oops_kind_is(k, "kfence") || vr_oops_kind_is(k, "kmsan") ||
	    vr_oops_kind_is(k, "kcsan") || vr_oops_kind_is(k, "ubsan"))
		in = strstr(c->title, " in ");
	if (in) {
		in += 4;
		/* KCSAN names both racing functions, "foo / bar". */
		for (int part = 0; part < 2 && in && *in && !err; part++) {
			struct vr_frame f = {0};
			const char *sep = strstr(in, " / ");
			if (!vr_klog_parse_frame(in, &f)) {
				/* A bare name: "data-race in foo / bar". */
				size_t nl = strspn(in, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.");
				if (nl && nl < 256 && (!in[nl] || in[nl] == ' '))
					f = (struct vr_frame){.symbol = vr_strndup(in, nl)};
			}
			if (f.symbol && !strchr(f.symbol, '/') && !strstr(f.symbol, ".c")) {
				f.reliable = true;
				err = add_one_frame(d, VR_ROLE_HEADLINE, c->title, &f);
			} else {
				vr_frame_deinit(&f);
			}
			in = sep ? sep + 3 : NULL;
		}
	}
	if (!err && panic_line && strstr(panic_line, "corrupted in: ")) {
		struct vr_frame f = {0};
		if (vr_klog_parse_frame(strstr(panic_line, "corrupted in: ") + 14, &f) && f.symbol) {
			f.reliable = true;
			err = add_one_frame(d, VR_ROLE_HEADLINE, panic_line, &f);
		} else {
			vr_frame_deinit(&f);
		}
	}
	if (!err && d->have_warn_frame && d->warn_frame.symbol) {
		struct vr_frame f = {
			.symbol = vr_strdup(d->warn_frame.symbol),
			.module = d->warn_frame.module ? vr_strdup(d->warn_frame.module) : NULL,
			.offset = d->warn_frame.offset,
			.size = d->warn_frame.size,
			.reliable = true,
		};
		if (!f.symbol) {
			vr_frame_deinit(&f);
			return &vr_error_oom;
		}
		err = add_one_frame(d, VR_ROLE_HEADLINE, c->title, &f);
	}
	/* A headline names a function without its module ("data-race in foo
	 * / bar"): the stacks that show it do. */
	for (size_t i = 0; !err && i < c->n_traces; i++) {
		struct vr_crash_trace *h = &c->traces[i];
		if (h->role != VR_ROLE_HEADLINE || !h->trace.n_frames || h->trace.frames[0].module)
			continue;
		struct vr_frame *hf = &h->trace.frames[0];
		const struct vr_frame *m = NULL;
		for (size_t j = 0; j < c->n_traces + 1 && !m; j++) {
			const struct vr_trace *t = j < c->n_traces ? &c->traces[j].trace : &c->trace;
			for (size_t q = 0; q < t->n_frames && !m; q++)
				if (t->frames[q].module && t->frames[q].symbol && hf->symbol &&
				    !strcmp(t->frames[q].symbol, hf->symbol))
					m = &t->frames[q];
		}
		if (m && !(hf->module = vr_strdup(m->module)))
			err = &vr_error_oom;
	}
	return err;
}

/* A copy of frame f as the crash's instruction pointer. */
static void ip_from_frame(struct vr_crash *c, const struct vr_frame *f)
{
	c->ip = (struct vr_frame){
		.symbol = vr_strdup(f->symbol), .offset = f->offset, .size = f->size,
		.address = f->address, .reliable = true,
		.module = f->module ? vr_strdup(f->module) : NULL,
	};
	c->ip_known = c->ip.symbol != NULL;
}

/* The instruction pointer when no register dump named it, from what the
 * report's kind prints instead: an exception frame in its trace, the
 * WARNING line's function, the function a stack protector or a sanitizer
 * names, the caller of a UBSAN handler, the caller of panic(). */
static void ip_from_report(struct decode *d, const struct report *r, char **msg)
{
	struct vr_crash *c = d->c;
	if (!c->ip_known && (vr_oops_kind_is(r->kind, "warning") || vr_oops_kind_is(r->kind, "bug") ||
			     vr_oops_kind_is(r->kind, "list-corruption") || vr_oops_kind_is(r->kind, "rcu-stall") ||
			     vr_oops_kind_is(r->kind, "soft-lockup") || vr_oops_kind_is(r->kind, "hard-lockup"))) {
		for (size_t i = 0; i < c->trace.n_frames && !c->ip_known; i++) {
			struct vr_frame *f = &c->trace.frames[i];
			if (f->exception && f->symbol && f->regs && !vr_regs_user_mode(f->regs)) {
				ip_from_frame(c, f);
				c->ip_known = true;
			}
		}
	}
	/* The WARNING line's function, when nothing better: not for a hard
	 * lockup reported through WARN (3.x), where it is the watchdog. */
	if (!c->ip_known && d->have_warn_frame &&
	    (vr_oops_kind_is(c->kind, "warning") || vr_oops_kind_is(c->kind, "list-corruption"))) {
		c->ip = d->warn_frame;
		d->warn_frame = (struct vr_frame){0};
		c->ip_known = true;
	}
	vr_frame_deinit(&d->warn_frame);
	const char *in = NULL;
	if (!c->ip_known && vr_oops_kind_is(r->kind, "stack-corruption") && r->has_panic && msg[r->panic_line]) {
		/* "stack-protector: Kernel stack is corrupted in: foo+0x5c/0x60 [mod]" */
		in = strstr(msg[r->panic_line], "corrupted in: ");
		in = in ? in + 14 : NULL;
	} else if (!c->ip_known && (vr_oops_kind_is(r->kind, "kasan") || vr_oops_kind_is(r->kind, "kfence") ||
				    vr_oops_kind_is(r->kind, "kmsan"))) {
		/* "BUG: KASAN: slab-use-after-free in foo+0x9e/0x140 [mod]": the
		 * sanitizer names the function that made the bad access. */
		in = strstr(c->title, " in ");
		in = in ? in + 4 : NULL;
	}
	struct vr_frame f = {0};
	if (in && vr_klog_parse_frame(in, &f)) {
		c->ip = f;
		c->ip_known = true;
	}
	if (!c->ip_known && vr_oops_kind_is(r->kind, "ubsan")) {
		/* The caller of __ubsan_handle_*() is the function with the
		 * undefined behaviour (lib/ubsan.c). */
		const struct vr_trace *t = &c->trace;
		for (size_t i = 0; i + 1 < t->n_frames && !c->ip_known; i++) {
			const struct vr_frame *g = &t->frames[i + 1];
			if (t->frames[i].symbol && starts(t->frames[i].symbol, "__ubsan_handle") && g->symbol &&
			    g->reliable)
				ip_from_frame(c, g);
		}
	}
	if (!c->ip_known && (vr_oops_kind_is(r->kind, "panic") || vr_oops_kind_is(r->kind, "sysrq") ||
			     vr_oops_kind_is(r->kind, "stack-corruption")))
		ip_from_panic_trace(c);
}

/* What the decoded facts say about the kind beyond the headline: a fault
 * below the first page is a NULL pointer dereference whichever wording the
 * kernel used; a BUG or WARN in lib/list_debug.c is list corruption, one
 * in lockdep itself ("DEBUG_LOCKS_WARN_ON") a lock debugging report. */
static void refine_kind(struct vr_crash *c, const struct report *r)
{
	uint64_t fault;
	if (c->regs.valid && vr_regs_fault(&c->regs, &fault) &&
	    (vr_oops_kind_is(r->kind, "null-deref") || vr_oops_kind_is(r->kind, "page-fault")))
		set_fault_address(c, fault);
	if (vr_oops_kind_is(c->kind, "page-fault") && c->fault_address_known && c->fault_address < 4096)
		c->kind = "null-deref";
	parse_headline_task(c->title, c);
	if (c->bug_file && strstr(c->bug_file, "list_debug.c") &&
	    (vr_oops_kind_is(c->kind, "bug") || vr_oops_kind_is(c->kind, "warning")))
		c->kind = "list-corruption";
	if (c->bug_file && strstr(c->bug_file, "kernel/locking/lockdep.c") && vr_oops_kind_is(c->kind, "warning"))
		c->kind = "lockdep";
}

/* Where report which ends: at the next report, or, with caller ids
 * (interleaved reports), where the next of its own task or CPU begins. */
static size_t report_end(const char (*ctx)[VR_KLOG_CTX_LEN], size_t n, const struct seg_state *st, size_t which)
{
	const struct report *r = &st->r[which];
	size_t end = which + 1 < st->n ? st->r[which + 1].first : n;
	if (!ctx || !ctx[r->head][0])
		return end;
	for (size_t j = which + 1; j < st->n; j++)
		if (!ctx[st->r[j].head][0] || !strcmp(ctx[st->r[j].head], ctx[r->head]))
			return st->r[j].first;
	return n;
}

struct vr_error *vr_oops_decode(char **msg, const char (*ctx)[VR_KLOG_CTX_LEN], const bool *stamped,
				size_t n, const struct seg_state *st, size_t which, struct vr_crash *c)
{
	const struct report *r = &st->r[which];
	size_t end = report_end(ctx, n, st, which);
	struct decode d = {.c = c, .kind = r->kind, .last = r->first, .ctx = ctx, .stamped = stamped,
			   .rctx = ctx ? ctx[r->head] : ""};
	struct vr_error *err;

	c->kind = r->kind;
	const char *title_line = msg[r->head] ? msg[r->head] : "";
	if (vr_oops_kind_is(r->kind, "sysrq") && r->has_panic && msg[r->panic_line])
		title_line = msg[r->panic_line];
	c->title = dup_trimmed(skip_ws(title_line), strlen(skip_ws(title_line)));
	if (!c->title)
		return &vr_error_oom;

	/* The report's own lines, then those of the panic that followed it
	 * (for what the report itself did not print: a sysrq crash, or
	 * panic_on_warn before 6.2 that panicked before the registers). */
	err = decode_block(msg, r->first, end, &d, true);
	if (!err && r->has_panic && r->panic_line != r->first && !vr_oops_kind_is(r->kind, "hung-task")) {
		size_t pend = r->panic_line < end ? end : n;
		if (pend - r->panic_line > 2000)
			pend = r->panic_line + 2000;
		err = decode_block(msg, r->panic_line, pend, &d, true);
	}
	for (size_t i = r->first; !err && i <= r->head && i < n; i++)
		if (msg[i])
			parse_fault_lines(msg[i], &d);
	if (!err) {
		mark_stalled(&d);
		err = headline_frames(&d, r->has_panic ? msg[r->panic_line] : NULL);
	}
	if (err) {
		vr_frame_deinit(&d.warn_frame);
		return err;
	}
	if (r->has_panic && r->panic_line > d.last)
		d.last = r->panic_line;
	c->log_first_line = r->first;
	c->log_last_line = d.last;
	ip_from_report(&d, r, msg);
	refine_kind(c, r);
	if (!c->ip_known)
		vr_frame_deinit(&c->ip);
	c->ip.from_log = c->ip_known; /* every fact of the decoder comes from the log */
	return NULL;
}
