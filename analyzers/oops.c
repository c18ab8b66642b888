/* The oops analyzer: finds the crash report in the kernel log (from dump
 * memory, or the text given as input), decodes it with the oops text parser
 * (oops_parse.c) into report->crash, and, when the dump holds memory, gives
 * the instruction pointer and the printed trace frames their addresses and
 * source lines.
 *
 * crash.log_first_line and crash.log_last_line are indexes of records in
 * facts->log.records (one record per line for text input); when only raw
 * text is there, they count its lines. */
#include "analyzer.h"
#include "oops_memory.h"
#include "oops_parse.h"
#include "../engine/log.h"

#include <stdio.h>
#include <string.h>

#define OOPS_MAX_LINES VR_OOPS_MAX_LINES

/* Splits the log records into lines (a record may hold several), keeping
 * for each line the record it came from. */
static struct vr_error *log_lines(const struct vr_log *log, char ***ret_lines, size_t **ret_rec,
				  size_t *ret_n)
{
	size_t n = 0;
	for (size_t i = 0; i < log->n_records && n < OOPS_MAX_LINES; i++) {
		const char *t = log->records[i].text;
		n++;
		for (; t && *t && n < OOPS_MAX_LINES; t++)
			if (*t == '\n' && t[1])
				n++;
	}
	char **lines = calloc(n ? n : 1, sizeof(char *));
	size_t *rec = calloc(n ? n : 1, sizeof(size_t));
	if (!lines || !rec) {
		free(lines);
		free(rec);
		return &vr_error_oom;
	}
	size_t k = 0;
	for (size_t i = 0; i < log->n_records && k < n; i++) {
		const struct vr_log_record *r = &log->records[i];
		const char *t = r->text ? r->text : "";
		/* Each line as the console printed it: the record's timestamp
		 * and caller id (the parser keeps a report's lines apart from
		 * other tasks' and other programs' by them). */
		char pfx[64] = "";
		size_t pl = 0;
		if (r->ts_nsec != VR_LOG_TS_UNKNOWN)
			pl = (size_t)snprintf(pfx, sizeof(pfx), "[%5llu.%06llu]",
					      (unsigned long long)(r->ts_nsec / 1000000000ull),
					      (unsigned long long)(r->ts_nsec % 1000000000ull / 1000));
		if (r->caller_id && t[0] != '[' && pl < sizeof(pfx))
			pl += (size_t)snprintf(pfx + pl, sizeof(pfx) - pl, "[%c%u]",
					       r->caller_id & 0x80000000u ? 'C' : 'T',
					       r->caller_id & 0x7fffffffu);
		if (pl && pl + 1 < sizeof(pfx)) {
			pfx[pl++] = ' ';
			pfx[pl] = '\0';
		}
		for (;;) {
			const char *nl = strchr(t, '\n');
			size_t len = nl ? (size_t)(nl - t) : strlen(t);
			if (len > VR_OOPS_MAX_LINE_LEN)
				len = VR_OOPS_MAX_LINE_LEN;
			lines[k] = malloc(pl + len + 1);
			if (lines[k]) {
				memcpy(lines[k], pfx, pl);
				memcpy(lines[k] + pl, t, len);
				lines[k][pl + len] = '\0';
			}
			rec[k] = i;
			if (!lines[k]) {
				for (size_t j = 0; j < k; j++)
					free(lines[j]);
				free(lines);
				free(rec);
				return &vr_error_oom;
			}
			k++;
			if (!nl || !nl[1] || k >= n)
				break;
			t = nl + 1;
		}
	}
	*ret_lines = lines;
	*ret_rec = rec;
	*ret_n = k;
	return NULL;
}

/* Gives a printed frame (symbol+offset, maybe no address) its address and
 * source line. The printed symbol is the kernel's own word: when the
 * debug information names another function at that address (a static
 * function of the same name elsewhere), the lookup is dropped. */
static void resolve_frame(struct vr_kernel *k, struct vr_frame *f, bool is_return_address)
{
	if (!f->symbol && !f->address)
		return;
	bool guessed = false;
	if (!f->address && f->symbol) {
		uint64_t a;
		if (vr_kernel_absorb(k, vr_kernel_symbol_address(k, f->symbol, &a), VR_ERR_NOT_FOUND))
			return;
		f->address = a + f->offset;
		guessed = true;
	}
	struct vr_frame probe = {.address = f->address};
	vr_kernel_symbolize(k, &probe, is_return_address);
	bool same = !f->symbol || (probe.symbol && !strcmp(probe.symbol, f->symbol));
	if (!same) {
		if (guessed)
			f->address = 0;
		vr_frame_deinit(&probe);
		return;
	}
	if (!f->symbol) {
		f->symbol = probe.symbol;
		probe.symbol = NULL;
		f->offset = probe.offset;
		f->size = probe.size;
	}
	if (!f->module && probe.module) {
		f->module = probe.module;
		probe.module = NULL;
	}
	if (!f->file && probe.file) {
		f->file = probe.file;
		f->line = probe.line;
		probe.file = NULL;
	}
	if (!f->n_inlined && probe.n_inlined) {
		f->inlined = probe.inlined;
		f->n_inlined = probe.n_inlined;
		probe.inlined = NULL;
		probe.n_inlined = 0;
	}
	vr_frame_deinit(&probe);
}

static struct vr_error *resolve_crash(struct vr_kernel *k, struct vr_crash *c)
{
	if (c->ip_known) {
		resolve_frame(k, &c->ip, false);
		/* An ip taken from a panic's stack dump (the caller of panic())
		 * is a return address: after a call to a noreturn function it
		 * may lie past the caller's last instruction. */
		if (!c->ip.address && c->ip.symbol)
			resolve_frame(k, &c->ip, true);
		if (c->regs.valid && !vr_regs_pc(&c->regs))
			vr_regs_set_pc(&c->regs, c->ip.address);
	}
	for (size_t i = 0; i < c->trace.n_frames; i++) {
		struct vr_frame *f = &c->trace.frames[i];
		/* Exception frames hold the interrupted instruction, the
		 * others return addresses (the call is one byte before). */
		resolve_frame(k, f, !f->exception);
		if (f->exception && f->regs && !vr_regs_pc(f->regs))
			vr_regs_set_pc(f->regs, f->address);
	}
	/* The log's trace has no frame for a function that tail-called the
	 * next one; the code in memory says which. */
	return vr_trace_infer_tail_calls(k, &c->trace);
}

static struct vr_error *oops_run(struct vr_analysis *a, const char **skipped)
{
	const struct vr_facts *facts = a->facts;
	struct vr_crash c;
	vr_crash_init(&c);
	struct vr_error *err = NULL;
	size_t *rec = NULL;
	if (facts->log.n_records) {
		char **lines = NULL;
		size_t n = 0;
		err = log_lines(&facts->log, &lines, &rec, &n);
		if (err)
			return err;
		err = vr_oops_parse_lines((const char *const *)lines, n, &c);
		for (size_t i = 0; i < n; i++)
			free(lines[i]);
		free(lines);
		if (!err && strcmp(c.kind, "unknown") && n) {
			c.log_first_line = rec[c.log_first_line < n ? c.log_first_line : n - 1];
			c.log_last_line = rec[c.log_last_line < n ? c.log_last_line : n - 1];
		}
		free(rec);
	} else if (facts->text && facts->text_len) {
		err = vr_oops_parse_text(facts->text, facts->text_len, &c);
	}
	if (err) {
		vr_crash_deinit(&c);
		return vr_error_wrap(err, "decoding the crash report");
	}
	bool from_memory = false;
	if (!strcmp(c.kind, "unknown")) {
		/* No report in the log, or no log: what memory shows. */
		err = vr_oops_from_memory(a, &c, &from_memory);
		if (err) {
			vr_crash_deinit(&c);
			return err;
		}
		if (from_memory)
			vr_diag_warn(a->report->diag,
				     "crash: the kernel log holds no report of the crash; it is taken from "
				     "CPU %d's stack in dump memory",
				     c.cpu);
	}
	if (!from_memory && !facts->log.n_records && !(facts->text && facts->text_len)) {
		vr_crash_deinit(&c);
		*skipped = "no kernel log, and no exception frame or panic call on the panicking CPU's stack";
		return NULL;
	}
	if (a->kernel && vr_kernel_has_memory(a->kernel) && !from_memory)
		err = resolve_crash(a->kernel, &c);
	if (err) {
		vr_crash_deinit(&c);
		return vr_error_wrap(err, "resolving the crash report's frames");
	}

	struct vr_crash *out = &a->report->crash;
	vr_crash_deinit(out);
	*out = c;
	if (!strcmp(c.kind, "unknown"))
		*skipped = "no crash report in the kernel log";
	return NULL;
}

const struct vr_analyzer vr_analyzer_oops = {
	.name = "oops",
	.needs = 0, /* a log from memory or raw text; checked in run */
	.run = oops_run,
};
