/* The printk ring buffer decoder on a synthetic ring, the text splitter,
 * and the makedumpfile-style rendering. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/log.h"
#include "engine/printk.h"

#include "check.h"

struct fake_region { uint64_t addr; uint8_t *data; size_t len; };
struct fake_mem { struct fake_region r[8]; int n; };

static struct vr_error *fake_read(void *ctx, uint64_t addr, void *buf, size_t len)
{
	struct fake_mem *m = ctx;
	for (int i = 0; i < m->n; i++)
		if (addr >= m->r[i].addr && addr + len <= m->r[i].addr + m->r[i].len) {
			memcpy(buf, m->r[i].data + (addr - m->r[i].addr), len);
			return NULL;
		}
	return vr_error_create(VR_ERR_NOT_PRESENT, "page of 0x%llx not in the dump", (unsigned long long)addr);
}

static void put(uint8_t *p, uint64_t v, int n) { for (int i = 0; i < n; i++) p[i] = (uint8_t)(v >> (8 * i)); }

static void free_log(struct vr_log *log)
{
	for (size_t i = 0; i < log->n_records; i++)
		free(log->records[i].text);
	free(log->records);
	free(log->source);
	memset(log, 0, sizeof(*log));
}

static char *render(const struct vr_log *log)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	vr_log_render(log, f);
	fclose(f);
	return buf;
}

/* 6.1's layout (as VMCOREINFO of a Debian 6.1 kernel states it). */
static const struct vr_prb_layout L = {
	.prb = 0xffffffff82000000, .rb_desc_ring = 0, .rb_text_data_ring = 48,
	.dr_count_bits = 0, .dr_descs = 8, .dr_infos = 16, .dr_head_id = 24, .dr_tail_id = 32,
	.desc_size = 24, .desc_state_var = 0, .desc_text_blk_lpos = 8, .lpos_begin = 0, .lpos_next = 8,
	.info_size = 88, .info_seq = 0, .info_ts_nsec = 8, .info_text_len = 16, .info_caller_id = 20,
	.has_caller_id = true, .data_size_bits = 0, .data_data = 8, .atomic_counter = 0,
};

static void desc(uint8_t *descs, uint8_t *infos, uint64_t id, unsigned state, uint64_t begin,
		 uint64_t next, uint64_t seq, uint64_t ts, unsigned text_len, unsigned level, uint32_t caller)
{
	uint8_t *d = descs + (id & 3) * 24, *in = infos + (id & 3) * 88;
	put(d, id | (uint64_t)state << 62, 8);
	put(d + 8, begin, 8);
	put(d + 16, next, 8);
	put(in, seq, 8);
	put(in + 8, ts, 8);
	put(in + 16, text_len, 2);
	in[18] = 0;
	in[19] = (uint8_t)(level << 5 | 2);
	put(in + 20, caller, 4);
}

static void test_prb(void)
{
	static uint8_t ptr[8], rb[88], descs[4 * 24], infos[4 * 88], data[64];
	struct fake_mem m = {.n = 5};
	m.r[0] = (struct fake_region){L.prb, ptr, 8};
	m.r[1] = (struct fake_region){0xffff888000100000, rb, sizeof(rb)};
	m.r[2] = (struct fake_region){0xffff888000200000, descs, sizeof(descs)};
	m.r[3] = (struct fake_region){0xffff888000300000, infos, sizeof(infos)};
	m.r[4] = (struct fake_region){0xffff888000400000, data, sizeof(data)};
	put(ptr, m.r[1].addr, 8);
	put(rb + 0, 2, 4);
	put(rb + 8, m.r[2].addr, 8);
	put(rb + 16, m.r[3].addr, 8);
	put(rb + 24, 7, 8);  /* head_id */
	put(rb + 32, 4, 8);  /* tail_id */
	put(rb + 48, 6, 4);  /* 64 bytes of text */
	put(rb + 56, m.r[4].addr, 8);

	/* id 4: recycled (its data was overwritten by id 6) */
	desc(descs, infos, 4, 3, 64, 80, 0, 1500000000, 5, 6, 1);
	/* id 5: a multi-line record with a control and a high byte */
	static const char t5[] = "a\nb\x01\xc3";
	desc(descs, infos, 5, 2, 96, 112, 1, 2000100000, 6, 3, 0x80000001);
	put(data + 32, 5, 8);
	memcpy(data + 40, t5, 6);
	/* id 6: a block that wraps, stored at the start of the ring */
	static const char t6[] = "wrapped record text!";
	desc(descs, infos, 6, 1, 112, 160, 2, 10000000000ull, 20, 4, 83);
	put(data, 6, 8);
	memcpy(data + 8, t6, 20);
	/* id 7: data-less */
	desc(descs, infos, 7, 2, 3, 3, 3, 11000000000ull, 0, 6, 0);

	struct vr_log log = {0};
	size_t skipped = 99;
	struct vr_error *err = vr_printk_read_prb(&L, fake_read, &m, &log, &skipped);
	CHECK(err == NULL);
	vr_error_destroy(err);
	CHECK(skipped == 0);
	CHECK(log.n_records == 2);
	if (log.n_records == 2) {
		CHECK(log.records[0].seq == 1 && log.records[0].level == 3);
		CHECK(log.records[0].caller_id == 0x80000001);
		CHECK(log.records[1].seq == 2 && log.records[1].level == 4 && log.records[1].caller_id == 83);
		CHECK(!strcmp(log.records[1].text, t6));
		char *out = render(&log);
		const char *want = "[    2.000100] a\n               b\\x01\\xffffffc3\n"
				   "[   10.000000] wrapped record text!\n";
		CHECK(out && !strcmp(out, want));
		if (out && strcmp(out, want))
			fprintf(stderr, "got:\n%s", out);
		free(out);
	}
	free_log(&log);

	/* The text ring missing from the dump: no crash, records skipped,
	 * an error saying so. */
	m.n = 4;
	err = vr_printk_read_prb(&L, fake_read, &m, &log, &skipped);
	CHECK(err != NULL && err->code == VR_ERR_NOT_PRESENT);
	CHECK(log.n_records == 0 && skipped == 2);
	vr_error_destroy(err);
	free_log(&log);

	/* Hostile sizes are refused. */
	m.n = 5;
	put(rb + 48, 60, 4);
	err = vr_printk_read_prb(&L, fake_read, &m, &log, &skipped);
	CHECK(err != NULL && err->code == VR_ERR_LIMIT);
	vr_error_destroy(err);
	free_log(&log);
}

static void test_logbuf(void)
{
	/* struct printk_log of 4.x: ts_nsec 0, len 8, text_len 10, dict_len 12,
	 * facility 14, flags/level 15; size 16. */
	static uint8_t vars[4 * 8], buf[128];
	struct vr_logbuf_layout l = {.log_buf = 0xffffffff81000000, .log_buf_len = 0xffffffff81000008,
				     .log_first_idx = 0xffffffff81000010, .log_next_idx = 0xffffffff81000018,
				     .size = 16, .ts_nsec = 0, .len = 8, .text_len = 10};
	struct fake_mem m = {.n = 2};
	m.r[0] = (struct fake_region){0xffffffff81000000, vars, sizeof(vars)};
	m.r[1] = (struct fake_region){0xffff888000500000, buf, sizeof(buf)};
	put(vars, m.r[1].addr, 8);
	put(vars + 8, sizeof(buf), 4);
	put(vars + 16, 80, 4); /* first */
	put(vars + 24, 32, 4); /* next */
	/* at 80: "old" (len 24), at 104: wrap marker, at 0: "new one" (len 32) */
	put(buf + 80, 5000, 8); put(buf + 88, 24, 2); put(buf + 90, 3, 2); buf[95] = 6 << 5;
	memcpy(buf + 96, "old", 3);
	put(buf + 104, 0, 8); put(buf + 112, 0, 2);
	put(buf + 0, 7000000000ull, 8); put(buf + 8, 32, 2); put(buf + 10, 7, 2); buf[15] = 1 << 5;
	memcpy(buf + 16, "new one", 7);
	struct vr_log log = {0};
	size_t skipped;
	struct vr_error *err = vr_printk_read_logbuf(&l, fake_read, &m, &log, &skipped);
	CHECK(err == NULL);
	vr_error_destroy(err);
	CHECK(log.n_records == 2);
	if (log.n_records == 2) {
		CHECK(!strcmp(log.records[0].text, "old") && log.records[0].level == 6);
		CHECK(!strcmp(log.records[1].text, "new one") && log.records[1].level == 1);
		CHECK(log.records[1].ts_nsec == 7000000000ull);
	}
	free_log(&log);
	/* A chain that never reaches next: bounded. */
	put(vars + 24, 33, 4);
	err = vr_printk_read_logbuf(&l, fake_read, &m, &log, &skipped);
	CHECK(err != NULL);
	vr_error_destroy(err);
	free_log(&log);
}

static void test_text(void)
{
	const char *in =
		"[    0.000000] Linux version 6.1.0 (gcc)\r\n"
		"<4>[    4.407581] first line\n"
		"               second line\n"
		"[   12.5] [  T83] sysrq: Trigger a crash\n"
		"Nov 26 05:00:00 host kernel: [    1.000000] from journal\n"
		"Nov 26 05:00:01 host kernel: no timestamp here\n"
		"\n"
		"busybox says hi\n";
	struct vr_log log = {0};
	struct vr_error *err = vr_log_parse_text(in, strlen(in), &log);
	CHECK(err == NULL);
	vr_error_destroy(err);
	CHECK(log.source && !strcmp(log.source, "text"));
	CHECK(log.n_records == 6);
	if (log.n_records == 6) {
		CHECK(log.records[0].ts_nsec == 0 && !strcmp(log.records[0].text, "Linux version 6.1.0 (gcc)"));
		CHECK(log.records[1].level == 4 && log.records[1].ts_nsec == 4407581000ull);
		CHECK(!strcmp(log.records[1].text, "first line\nsecond line"));
		CHECK(log.records[2].ts_nsec == 12500000000ull && log.records[2].caller_id == 83);
		CHECK(!strcmp(log.records[3].text, "from journal"));
		CHECK(log.records[4].ts_nsec == VR_LOG_TS_UNKNOWN && !strcmp(log.records[4].text, "no timestamp here"));
		CHECK(!strcmp(log.records[5].text, "busybox says hi"));
		char *l = vr_log_record_line(&log.records[1]);
		CHECK(l && !strcmp(l, "[    4.407581] first line\n               second line"));
		free(l);
	}
	free_log(&log);
	/* Round trip of makedumpfile-style text. */
	const char *md = "[    1.000000] a\n               b\n[100000.000001] c\n";
	err = vr_log_parse_text(md, strlen(md), &log);
	CHECK(err == NULL);
	char *out = render(&log);
	CHECK(out && !strcmp(out, md));
	free(out);
	free_log(&log);
	/* Hostile: no newline at the end, NULs, lone brackets. */
	const char junk[] = "[\n[ 1.\n<99999999>\n[1.1]";
	err = vr_log_parse_text(junk, sizeof(junk), &log);
	CHECK(err == NULL);
	CHECK(log.n_records == 4);
	free_log(&log);
	/* A serial console's noise: binary junk lines, junk glued before a
	 * stamp, NUL bytes inside a line, a lone CR inside junk, short junk
	 * after junk. */
	const char noisy[] = "\xfe\x01\x02\x9b\xff\xc3(\x07\x10\x11\r\x80" "ab\n"
			     "'Vk\x19\n"
			     "\x80\x81\x02\x03\xfa[    1.000000] Linux version 6.1.0\n"
			     "[    2.000000] BUG: kernel NULL\0 pointer dereference\n"
			     "\x01\x02\x03\x04\x05\x06\n"
			     "[    3.000000] RIP: 0010:f+0x1/0x2\n";
	err = vr_log_parse_text(noisy, sizeof(noisy) - 1, &log);
	CHECK(err == NULL);
	CHECK(log.n_records == 3);
	CHECK(log.junk_lines == 4);
	if (log.n_records == 3) {
		CHECK(!strcmp(log.records[0].text, "Linux version 6.1.0") && log.records[0].ts_nsec == 1000000000ull);
		CHECK(!strcmp(log.records[1].text, "BUG: kernel NULL pointer dereference"));
		CHECK(!strcmp(log.records[2].text, "RIP: 0010:f+0x1/0x2"));
	}
	free_log(&log);
	/* Lines that end with CR alone. */
	const char cr[] = "[    1.000000] a\r[    2.000000] b\r[    3.000000] c\r";
	err = vr_log_parse_text(cr, sizeof(cr) - 1, &log);
	CHECK(err == NULL && log.n_records == 3 && !log.junk_lines);
	free_log(&log);
}

int main(void)
{
	test_prb();
	test_logbuf();
	test_text();
	if (failures)
		fprintf(stderr, "%d failures\n", failures);
	return failures != 0;
}
