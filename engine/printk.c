/* The kernel log from a dump's memory: the lockless printk ring buffer
 * (5.10+) or the printk_log records of 3.5 to 5.9, and the collector that
 * falls back to a log given as text (log.c reads text and renders).
 *
 * Both in-memory forms are located through VMCOREINFO (kernel/printk/printk.c
 * log_buf_vmcoreinfo_setup()), which is what makes them readable without a
 * vmlinux; the type layer is asked only when VMCOREINFO lacks an entry. */
#define _GNU_SOURCE
#include "printk.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "file.h"
#include "internal.h"
#include "log.h"
#include "strings.h"

/* Sanity bounds on sizes read from the dump. The kernel allows
 * log_buf_len up to 2^25 (CONFIG_LOG_BUF_SHIFT max) times a per-CPU factor;
 * descriptors are a quarter as many as text bytes / 32. */
#define VR_LOG_MAX_DATA_BITS 28u
#define VR_LOG_MAX_DESC_BITS 24u
#define VR_LOG_CHUNK 4096u

/* printk_info.flags (kernel/printk/printk_ringbuffer.h enum printk_info_flags) */
#define VR_LOG_CONT 8u

/* Descriptor state (kernel/printk/printk_ringbuffer.h: the two top bits of
 * state_var; the rest is the descriptor id). */
#define VR_DESC_FLAGS_SHIFT 62
#define VR_DESC_ID_MASK (~(3ull << VR_DESC_FLAGS_SHIFT))
enum { VR_DESC_COMMITTED = 1, VR_DESC_FINALIZED = 2 };

/* A copy of a region of kernel memory, read chunk by chunk so that a page
 * missing from the dump costs only the records on it. */
struct region {
	uint64_t addr;
	uint8_t *data;
	size_t len;
	uint8_t *bad; /* one flag per VR_LOG_CHUNK-aligned chunk */
	size_t n_bad_chunks;
	struct vr_error *first_err;
};

static void region_deinit(struct region *r)
{
	free(r->data);
	free(r->bad);
	vr_error_destroy(r->first_err);
	*r = (struct region){0};
}

static struct vr_error *region_read(struct region *r, vr_printk_read_fn rd, void *ctx,
				    uint64_t addr, size_t len)
{
	*r = (struct region){.addr = addr, .len = len};
	if (addr + len < addr)
		return vr_error_create(VR_ERR_FORMAT, "region at 0x%llx of %zu bytes wraps",
				       (unsigned long long)addr, len);
	uint64_t first = addr / VR_LOG_CHUNK, last = (addr + len + VR_LOG_CHUNK - 1) / VR_LOG_CHUNK;
	size_t nchunks = (size_t)(last - first);
	r->data = calloc(len ? len : 1, 1);
	r->bad = calloc(nchunks ? nchunks : 1, 1);
	if (!r->data || !r->bad) {
		region_deinit(r);
		return &vr_error_oom;
	}
	for (size_t i = 0; i < nchunks; i++) {
		uint64_t lo = (first + i) * VR_LOG_CHUNK, hi = lo + VR_LOG_CHUNK;
		if (lo < addr)
			lo = addr;
		if (hi > addr + len)
			hi = addr + len;
		struct vr_error *err = rd(ctx, lo, r->data + (lo - addr), (size_t)(hi - lo));
		if (err) {
			if (err == &vr_error_oom) {
				region_deinit(r);
				return err;
			}
			r->bad[i] = 1;
			r->n_bad_chunks++;
			if (!r->first_err)
				r->first_err = err;
			else
				vr_error_destroy(err);
		}
	}
	return NULL;
}

/* Whether [off, off+n) lies inside the region and was read. */
static bool region_ok(const struct region *r, uint64_t off, uint64_t n)
{
	if (off > r->len || n > r->len - off)
		return false;
	if (!r->n_bad_chunks)
		return true;
	uint64_t base = r->addr / VR_LOG_CHUNK;
	uint64_t lo = (r->addr + off) / VR_LOG_CHUNK, hi = (r->addr + off + (n ? n : 1) - 1) / VR_LOG_CHUNK;
	for (uint64_t c = lo; c <= hi; c++)
		if (r->bad[c - base])
			return false;
	return true;
}

static uint64_t rd_le(const uint8_t *p, size_t n)
{
	uint64_t v = 0;
	for (size_t i = n; i-- > 0;)
		v = v << 8 | p[i];
	return v;
}

static struct vr_error *read_u(vr_printk_read_fn rd, void *ctx, uint64_t addr, size_t n,
			       uint64_t *ret, const char *what)
{
	uint8_t b[8];
	struct vr_error *err = rd(ctx, addr, b, n);
	if (err)
		return vr_error_wrap(err, "reading %s at 0x%llx", what, (unsigned long long)addr);
	*ret = rd_le(b, n);
	return NULL;
}

struct vr_error *vr_printk_read_prb(const struct vr_prb_layout *l, vr_printk_read_fn rd,
				    void *ctx, struct vr_log *log, size_t *ret_skipped)
{
	struct vr_error *err;
	uint64_t rb = 0, count_bits = 0, descs = 0, infos = 0, head_id = 0, tail_id = 0, size_bits = 0, data = 0;
	size_t skipped = 0, cap = log->n_records;

	if ((err = read_u(rd, ctx, l->prb, 8, &rb, "the printk ring buffer pointer prb")))
		return err;
	uint64_t dr = rb + l->rb_desc_ring, tr = rb + l->rb_text_data_ring;
	if ((err = read_u(rd, ctx, dr + l->dr_count_bits, 4, &count_bits, "prb_desc_ring.count_bits")) ||
	    (err = read_u(rd, ctx, dr + l->dr_descs, 8, &descs, "prb_desc_ring.descs")) ||
	    (err = read_u(rd, ctx, dr + l->dr_infos, 8, &infos, "prb_desc_ring.infos")) ||
	    (err = read_u(rd, ctx, dr + l->dr_head_id + l->atomic_counter, 8, &head_id,
			  "prb_desc_ring.head_id")) ||
	    (err = read_u(rd, ctx, dr + l->dr_tail_id + l->atomic_counter, 8, &tail_id,
			  "prb_desc_ring.tail_id")) ||
	    (err = read_u(rd, ctx, tr + l->data_size_bits, 4, &size_bits, "prb_data_ring.size_bits")) ||
	    (err = read_u(rd, ctx, tr + l->data_data, 8, &data, "prb_data_ring.data")))
		return vr_error_wrap(err, "reading the printk ring buffer at 0x%llx",
				     (unsigned long long)rb);
	if (count_bits > VR_LOG_MAX_DESC_BITS || size_bits > VR_LOG_MAX_DATA_BITS || size_bits < 4)
		return vr_error_create(VR_ERR_LIMIT,
				       "printk ring buffer at 0x%llx: implausible size (count_bits %llu, size_bits %llu)",
				       (unsigned long long)rb, (unsigned long long)count_bits,
				       (unsigned long long)size_bits);
	if (!l->desc_size || !l->info_size || l->desc_size > 4096 || l->info_size > 4096)
		return vr_error_create(VR_ERR_FORMAT, "printk ring buffer: bad descriptor sizes");

	uint64_t count = 1ull << count_bits, dsize = 1ull << size_bits;
	struct region rd_descs = {0}, rd_infos = {0}, rd_data = {0};
	if ((err = region_read(&rd_descs, rd, ctx, descs, (size_t)(count * l->desc_size))) ||
	    (err = region_read(&rd_infos, rd, ctx, infos, (size_t)(count * l->info_size))) ||
	    (err = region_read(&rd_data, rd, ctx, data, (size_t)dsize)))
		goto out;

	/* From the oldest descriptor to the newest, as the kernel's readers
	 * (and makedumpfile's dump_lockless_dmesg()) do; ids count up modulo
	 * the id mask, and there are at most `count` live descriptors. */
	uint64_t id = tail_id & VR_DESC_ID_MASK;
	head_id &= VR_DESC_ID_MASK;
	for (uint64_t step = 0; step <= count; step++, id = (id + 1) & VR_DESC_ID_MASK) {
		uint64_t idx = id & (count - 1);
		uint64_t doff = idx * l->desc_size, ioff = idx * l->info_size;
		bool last = id == head_id;
		if (!region_ok(&rd_descs, doff, l->desc_size) || !region_ok(&rd_infos, ioff, l->info_size)) {
			skipped++;
			goto next;
		}
		const uint8_t *d = rd_descs.data + doff, *in = rd_infos.data + ioff;
		if (l->desc_state_var + l->atomic_counter + 8 > l->desc_size ||
		    l->desc_text_blk_lpos + l->lpos_next + 8 > l->desc_size ||
		    l->desc_text_blk_lpos + l->lpos_begin + 8 > l->desc_size ||
		    l->info_ts_nsec + 8 > l->info_size || l->info_seq + 8 > l->info_size ||
		    l->info_text_len + 4 > l->info_size ||
		    (l->has_caller_id && l->info_caller_id + 4 > l->info_size)) {
			err = vr_error_create(VR_ERR_FORMAT, "printk ring buffer: offsets beyond record sizes");
			goto out;
		}
		uint64_t sv = rd_le(d + l->desc_state_var + l->atomic_counter, 8);
		unsigned state = (unsigned)(sv >> VR_DESC_FLAGS_SHIFT);
		if ((sv & VR_DESC_ID_MASK) != id || (state != VR_DESC_COMMITTED && state != VR_DESC_FINALIZED))
			goto next; /* reserved by a writer, or recycled: not a record */
		uint64_t begin = rd_le(d + l->desc_text_blk_lpos + l->lpos_begin, 8) % dsize;
		uint64_t end = rd_le(d + l->desc_text_blk_lpos + l->lpos_next, 8) % dsize;
		if (begin == end)
			goto next; /* data-less record (FAILED_LPOS / NO_LPOS) */
		/* A block that wraps is stored whole at the start of the ring
		 * (printk_ringbuffer.c get_data()). Each block starts with the
		 * descriptor id (an unsigned long). */
		if (begin > end)
			begin = 0;
		begin += 8;
		uint64_t text_len = rd_le(in + l->info_text_len, 2);
		if (end < begin)
			text_len = 0;
		else if (end - begin < text_len)
			text_len = end - begin; /* truncated record */
		if (!region_ok(&rd_data, begin, text_len)) {
			skipped++;
			goto next;
		}
		uint8_t fl = in[l->info_text_len + 3];
		struct vr_log_record rec = {
			.seq = rd_le(in + l->info_seq, 8),
			.ts_nsec = rd_le(in + l->info_ts_nsec, 8),
			/* struct printk_info: u16 text_len; u8 facility;
			 * u8 flags:5, level:3 (bitfields: no VMCOREINFO
			 * offsets; x86 allocates them from the low bit). */
			.facility = in[l->info_text_len + 2],
			.level = fl >> 5,
			.cont = (fl & 0x1f) & VR_LOG_CONT,
			.caller_id = l->has_caller_id ? (uint32_t)rd_le(in + l->info_caller_id, 4) : 0,
		};
		if ((err = vr_log_append(log, &cap, &rec, (const char *)rd_data.data + begin, (size_t)text_len)))
			goto out;
next:
		if (last)
			break;
	}
	if (rd_descs.first_err || rd_infos.first_err || rd_data.first_err) {
		struct vr_error *e = rd_descs.first_err ? rd_descs.first_err
				     : rd_infos.first_err ? rd_infos.first_err : rd_data.first_err;
		err = vr_error_create(e->code, "printk ring buffer: %zu records unreadable: %s", skipped,
				      e->message);
	}
out:
	region_deinit(&rd_descs);
	region_deinit(&rd_infos);
	region_deinit(&rd_data);
	*ret_skipped = skipped;
	return err;
}

struct vr_error *vr_printk_read_logbuf(const struct vr_logbuf_layout *l, vr_printk_read_fn rd,
				       void *ctx, struct vr_log *log, size_t *ret_skipped)
{
	struct vr_error *err;
	uint64_t buf = 0, len = 0, first = 0, next = 0;
	size_t cap = log->n_records, skipped = 0;
	*ret_skipped = 0;
	if ((err = read_u(rd, ctx, l->log_buf, 8, &buf, "log_buf")) ||
	    (err = read_u(rd, ctx, l->log_buf_len, 4, &len, "log_buf_len")) ||
	    (err = read_u(rd, ctx, l->log_first_idx, 4, &first, "log_first_idx")) ||
	    (err = read_u(rd, ctx, l->log_next_idx, 4, &next, "log_next_idx")))
		return err;
	if (len > (1ull << VR_LOG_MAX_DATA_BITS) || first >= len || next > len)
		return vr_error_create(VR_ERR_LIMIT, "log_buf: implausible size %llu or indexes %llu, %llu",
				       (unsigned long long)len, (unsigned long long)first,
				       (unsigned long long)next);
	if (l->size < 16 || l->ts_nsec + 8 > l->size || l->len + 2 > l->size || l->text_len + 6 > l->size)
		return vr_error_create(VR_ERR_FORMAT, "log_buf: bad struct printk_log layout");
	struct region r;
	if ((err = region_read(&r, rd, ctx, buf, (size_t)len)))
		return err;
	/* kernel/printk/printk.c (before 5.10) log_from_idx()/log_next(): a
	 * record of length 0 marks the wrap to the start of the buffer. */
	uint64_t idx = first;
	for (uint64_t step = 0; idx != next; step++) {
		if (step > len / 8 + 2) {
			err = vr_error_create(VR_ERR_FORMAT, "log_buf: record chain does not reach log_next_idx");
			break;
		}
		if (!region_ok(&r, idx, l->size)) {
			if (idx + l->size > len) {
				idx = 0; /* too little room left: the kernel wrapped */
				continue;
			}
			skipped++;
			err = vr_error_create(VR_ERR_NOT_PRESENT, "log_buf: record at index %llu unreadable",
					      (unsigned long long)idx);
			break;
		}
		const uint8_t *h = r.data + idx;
		uint64_t rlen = rd_le(h + l->len, 2);
		if (rlen == 0) {
			if (idx == 0) {
				err = vr_error_create(VR_ERR_FORMAT, "log_buf: empty record at index 0");
				break;
			}
			idx = 0;
			continue;
		}
		uint64_t text_len = rd_le(h + l->text_len, 2);
		if (text_len > rlen - (rlen > l->size ? l->size : rlen))
			text_len = rlen > l->size ? rlen - l->size : 0;
		if (!region_ok(&r, idx + l->size, text_len)) {
			skipped++;
		} else {
			/* struct printk_log: u16 len, text_len, dict_len;
			 * u8 facility; u8 flags:5, level:3 */
			uint8_t fl = h[l->text_len + 5];
			struct vr_log_record rec = {
				.seq = log->n_records,
				.ts_nsec = rd_le(h + l->ts_nsec, 8),
				.facility = h[l->text_len + 4],
				.level = fl >> 5,
				.cont = (fl & 0x1f) & VR_LOG_CONT,
			};
			if ((err = vr_log_append(log, &cap, &rec, (const char *)h + l->size, (size_t)text_len)))
				break;
		}
		idx += rlen;
		if (idx > len) {
			err = vr_error_create(VR_ERR_FORMAT, "log_buf: record runs past the buffer end");
			break;
		}
	}
	if (!err && r.first_err)
		err = vr_error_create(r.first_err->code, "log_buf: %zu records unreadable: %s", skipped,
				      r.first_err->message);
	region_deinit(&r);
	*ret_skipped = skipped;
	return err;
}

/* ---- the collector ---- */

static struct vr_error *kread(void *ctx, uint64_t addr, void *buf, size_t len)
{
	return vr_kernel_read(ctx, addr, buf, len);
}

/* An offset from VMCOREINFO, else from the type layer. */

static bool size(struct vr_kernel *k, const char *type, uint64_t *ret)
{
	if (k->vmcoreinfo && vr_vmcoreinfo_size(k->vmcoreinfo, type, ret))
		return true;
	return !vr_kernel_absorb(k, vr_type_size(k, type, ret), VR_ERRS_LAYOUT);
}


static bool prb_layout(struct vr_kernel *k, struct vr_prb_layout *l)
{
	*l = (struct vr_prb_layout){0};
	if (!vr_sym(k, "prb", &l->prb))
		return false;
	bool ok = vr_member_off(k, "printk_ringbuffer", "desc_ring", &l->rb_desc_ring) &&
		  vr_member_off(k, "printk_ringbuffer", "text_data_ring", &l->rb_text_data_ring) &&
		  vr_member_off(k, "prb_desc_ring", "count_bits", &l->dr_count_bits) &&
		  vr_member_off(k, "prb_desc_ring", "descs", &l->dr_descs) &&
		  vr_member_off(k, "prb_desc_ring", "infos", &l->dr_infos) &&
		  vr_member_off(k, "prb_desc_ring", "head_id", &l->dr_head_id) &&
		  vr_member_off(k, "prb_desc_ring", "tail_id", &l->dr_tail_id) &&
		  size(k, "prb_desc", &l->desc_size) &&
		  vr_member_off(k, "prb_desc", "state_var", &l->desc_state_var) &&
		  vr_member_off(k, "prb_desc", "text_blk_lpos", &l->desc_text_blk_lpos) &&
		  vr_member_off(k, "prb_data_blk_lpos", "begin", &l->lpos_begin) &&
		  vr_member_off(k, "prb_data_blk_lpos", "next", &l->lpos_next) &&
		  size(k, "printk_info", &l->info_size) &&
		  vr_member_off(k, "printk_info", "seq", &l->info_seq) &&
		  vr_member_off(k, "printk_info", "ts_nsec", &l->info_ts_nsec) &&
		  vr_member_off(k, "printk_info", "text_len", &l->info_text_len) &&
		  vr_member_off(k, "prb_data_ring", "size_bits", &l->data_size_bits) &&
		  vr_member_off(k, "prb_data_ring", "data", &l->data_data);
	l->has_caller_id = vr_member_off(k, "printk_info", "caller_id", &l->info_caller_id);
	if (!vr_member_off(k, "atomic_long_t", "counter", &l->atomic_counter))
		l->atomic_counter = 0;
	return ok;
}

static bool logbuf_layout(struct vr_kernel *k, struct vr_logbuf_layout *l)
{
	*l = (struct vr_logbuf_layout){0};
	if (!vr_sym(k, "log_buf", &l->log_buf) || !vr_sym(k, "log_buf_len", &l->log_buf_len) ||
	    !vr_sym(k, "log_first_idx", &l->log_first_idx) || !vr_sym(k, "log_next_idx", &l->log_next_idx))
		return false;
	/* The record header was struct log from 3.5 until 3.11 renamed it
	 * struct printk_log ("printk: rename struct log to struct
	 * printk_log"); VMCOREINFO says SIZE(log), OFFSET(log.ts_nsec), ...
	 * before. Some 3.10 distribution kernels (RHEL 7) carry the rename. */
	static const char *const names[] = {"printk_log", "log"};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (size(k, names[i], &l->size) && vr_member_off(k, names[i], "ts_nsec", &l->ts_nsec) &&
		    vr_member_off(k, names[i], "len", &l->len) && vr_member_off(k, names[i], "text_len", &l->text_len))
			return true;
	return false;
}

static struct vr_error *collect_log(struct vr_kernel *k, struct vr_facts *f);

#define VR_LOG_TEXT_MAX (64u << 20) /* bytes of a saved log read */

/* The log saved beside the dump (k->log_path) in place of what memory gave
 * (why: the memory read's error, or NULL when it gave nothing). */
static struct vr_error *log_from_file(struct vr_kernel *k, struct vr_log *log, const struct vr_error *why)
{
	uint64_t size;
	int fd;
	struct vr_error *err = vr_file_open(k->log_path, &fd, &size);
	if (err)
		return err;
	size_t n = size > VR_LOG_TEXT_MAX ? VR_LOG_TEXT_MAX : (size_t)size;
	char *buf = malloc(n + 1);
	if (!buf) {
		close(fd);
		return &vr_error_oom;
	}
	size_t got = 0;
	while (got < n) {
		ssize_t r = pread(fd, buf + got, n - got, (off_t)got);
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	close(fd);
	struct vr_log text = {0};
	err = vr_log_parse_text(buf, got, &text);
	free(buf);
	if (err || !text.n_records) {
		vr_log_deinit(&text);
		return err ? err : vr_error_create(VR_ERR_NOT_FOUND, "%s: no kernel log lines", k->log_path);
	}
	vr_diag_warn(k->diag, "kernel log: taken from %s, saved beside the dump (%s)", k->log_path,
		     why ? why->message : "the dump's own log is empty");
	vr_log_deinit(log);
	*log = text;
	return NULL;
}

/* Text printed into a per-CPU buffer and never flushed into the log.
 * Kernels 4.11 to 5.14 print into the CPU's printk_safe buffer
 * (safe_print_seq) what printk() says while it holds its own lock (an oops
 * inside printk), and into nmi_print_seq what an NMI handler says; a later
 * irq_work, or panic(), copies it into the log, but an oops that goes
 * straight to kdump leaves it there (kernel/printk/printk_safe.c, struct
 * printk_safe_seq_buf). Its lines join the log as records of that CPU's
 * context, after the others. */
static struct vr_error *read_percpu_text(struct vr_kernel *k, struct vr_log *log)
{
	static const struct {
		const char *sym, *what;
	} bufs[] = {{"safe_print_seq", "printk_safe"}, {"nmi_print_seq", "NMI"}};
	struct vr_member m_len, m_buf;
	if (!vr_member(k, "printk_safe_seq_buf", "len", &m_len) ||
	    !vr_member(k, "printk_safe_seq_buf", "buffer", &m_buf) || !m_buf.size || m_buf.size > (1u << 20))
		return NULL;
	struct vr_error *err = NULL;
	uint8_t *present = calloc(VR_MAX_CPUS, 1);
	char *buf = malloc(2 * (size_t)m_buf.size); /* the buffer, and a line cleaned */
	if (!present || !buf) {
		err = &vr_error_oom;
		goto out;
	}
	int ncpu = vr_possible_cpus(k, present, VR_MAX_CPUS);
	size_t cap = log->n_records;
	for (size_t b = 0; b < sizeof(bufs) / sizeof(bufs[0]); b++) {
		for (int cpu = 0; cpu < ncpu; cpu++) {
			uint64_t a;
			uint32_t len;
			if (!present[cpu] || vr_kernel_absorb(k, vr_percpu_addr(k, cpu, bufs[b].sym, &a), VR_ERRS_READ, VR_ERR_NOT_FOUND, VR_ERR_LIMIT) ||
			    vr_kernel_absorb(k, vr_read_u32(k, a + m_len.offset, &len), VR_ERRS_READ) || !len)
				continue;
			if (len > m_buf.size)
				len = (uint32_t)m_buf.size;
			if (vr_kernel_absorb(k, vr_kernel_read(k, a + m_buf.offset, buf, len), VR_ERRS_READ))
				continue;
			size_t lines = 0;
			for (size_t pos = 0; pos < len;) {
				const char *line = buf + pos;
				size_t n = 0;
				while (pos + n < len && line[n] != '\n')
					n++;
				pos += n + 1;
				struct vr_log_record rec = {.seq = log->n_records, .level = -1, .facility = -1,
							    .ts_nsec = VR_LOG_TS_UNKNOWN,
							    .caller_id = 0x80000000u | (uint32_t)cpu};
				/* KERN_SOH and its level or flag, as printk() got them:
				 * at the start, and where a pr_cont() joined the line */
				char *clean = buf + m_buf.size; /* scratch past the buffer */
				size_t k2 = 0;
				for (size_t i = 0; i < n; i++) {
					if (line[i] == '\001' && i + 1 < n) {
						if (!k2 && line[i + 1] >= '0' && line[i + 1] <= '7')
							rec.level = line[i + 1] - '0';
						i++;
						continue;
					}
					clean[k2++] = line[i];
				}
				if (!k2)
					continue;
				if ((err = vr_log_append(log, &cap, &rec, clean, k2))) {
					/* a log at its bound keeps what it holds */
					if (!vr_error_catch(&err, VR_ERR_LIMIT))
						goto out;
					break;
				}
				lines++;
			}
			if (lines)
				vr_diag_warn(k->diag,
					     "kernel log: %zu line%s read from CPU %d's %s buffer, never flushed "
					     "into the log",
					     lines, lines == 1 ? "" : "s", cpu, bufs[b].what);
		}
	}
out:
	free(buf);
	free(present);
	return err;
}

struct vr_error *vr_collect_log(struct vr_kernel *k, struct vr_facts *f)
{
	struct vr_error *err = collect_log(k, f);
	if (k->log_path && (err || !f->log.n_records) && vr_kernel_has_memory(k)) {
		struct vr_error *ferr = log_from_file(k, &f->log, err);
		if (!ferr) {
			vr_error_destroy(err);
			return NULL;
		}
		if (vr_error_is_fatal(ferr)) {
			vr_error_destroy(err);
			return ferr;
		}
		vr_diag_warn(k->diag, "kernel log: %s", ferr->message);
		vr_error_destroy(ferr);
	}
	if (vr_kernel_has_memory(k)) {
		struct vr_error *perr = read_percpu_text(k, &f->log);
		if (perr) {
			vr_error_destroy(err);
			return perr;
		}
	}
	return err;
}

static struct vr_error *collect_log(struct vr_kernel *k, struct vr_facts *f)
{
	struct vr_log *log = &f->log;
	const char *text = f->text;
	size_t text_len = f->text_len;
	if (!text && k->dump)
		text = vr_dump_text(k->dump, &text_len);
	if (text)
	{
		struct vr_error *err = vr_log_parse_text(text, text_len, log);
		if (!err && log->junk_lines)
			vr_diag_warn(k->diag, "kernel log: %zu line%s of binary junk skipped", log->junk_lines,
				     log->junk_lines == 1 ? "" : "s");
		return vr_error_wrap(err, "splitting the log text");
	}

	struct vr_prb_layout pl;
	struct vr_logbuf_layout ll;
	struct vr_error *err;
	size_t skipped = 0;
	if (prb_layout(k, &pl)) {
		if (!log->source && !(log->source = vr_strdup("printk_ringbuffer")))
			return &vr_error_oom;
		err = vr_printk_read_prb(&pl, kread, k, log, &skipped);
	} else if (logbuf_layout(k, &ll)) {
		if (!log->source && !(log->source = vr_strdup("log_buf")))
			return &vr_error_oom;
		err = vr_printk_read_logbuf(&ll, kread, k, log, &skipped);
	} else {
		return vr_error_create(VR_ERR_NOT_FOUND,
				       "the log buffer is described neither by VMCOREINFO nor by the kernel's types");
	}
	if (err && log->n_records) {
		vr_diag_warn(k->diag, "kernel log: %s (%zu records read)", err->message, log->n_records);
		enum vr_error_code c = err->code;
		if (c != VR_ERR_NOMEM && c != VR_ERR_NOT_PRESENT && c != VR_ERR_FAULT) {
			/* Some records came out: the step is partial. */
			struct vr_error *p = vr_error_create(VR_ERR_NOT_PRESENT, "reading the kernel log: %s",
							     err->message);
			vr_error_destroy(err);
			return p;
		}
	}
	return vr_error_wrap(err, "reading the kernel log");
}
