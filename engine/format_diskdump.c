/* kdump-compressed dumps ("diskdump"), written by makedumpfile -c/-l/-p/-z
 * and by QEMU's dump-guest-memory -z/-l/-s. Layout (makedumpfile's
 * diskdump_mod.h, QEMU's include/sysemu/dump.h):
 *
 *   block 0             struct disk_dump_header ("KDUMP   ", version, utsname,
 *                       timestamp, status, block_size, sub_hdr_size,
 *                       bitmap_blocks, max_mapnr, ...)
 *   block 1..           struct kdump_sub_header (phys_base, dump_level; split,
 *                       start/end_pfn since v2; vmcoreinfo since v3; notes
 *                       since v4; eraseinfo since v5; 64-bit pfns since v6),
 *                       then the vmcoreinfo and notes it points at
 *   1 + sub_hdr_size    bitmap_blocks blocks: the 1st bitmap (RAM pages)
 *                       then the 2nd bitmap (pages in the dump), bit pfn%8
 *                       of byte pfn/8
 *   then                struct page_desc {offset, size, flags, page_flags}
 *                       for each set bit of the 2nd bitmap, in pfn order
 *   then                page data; zero pages share one descriptor's data.
 *
 * A page's descriptor is the rank of its bit in the 2nd bitmap (counted
 * from split_start_pfn in a part of a --split dump, as crash's diskdump.c
 * does). The rank index (cumulative counts per block of 4096 pfns) is built
 * on the first read, so opening reads the headers and bitmaps only.
 *
 * Split dumps: each part holds the full bitmaps but descriptors and data of
 * its [start_pfn, end_pfn) only; opened together they form one dump, form
 * "split". */
#include <inttypes.h>
#include <string.h>

#include <lzo/lzo1x.h>
#include <snappy-c.h>
#include <libdeflate.h>
#include <zlib.h>
#include <zstd.h>

#include "cursor.h"
#include "format.h"
#include "notes.h"
#include "page_cache.h"

#define DD_SIG "KDUMP   "
#define DD_HEADER_SIZE 464
#define DD_SUB_HEADER_SIZE 104
#define DESC_SIZE 24

/* header status and page descriptor flags (diskdump_mod.h) */
#define DUMP_DH_COMPRESSED_ZLIB 0x1
#define DUMP_DH_COMPRESSED_LZO 0x2
#define DUMP_DH_COMPRESSED_SNAPPY 0x4
#define DUMP_DH_COMPRESSED_INCOMPLETE 0x8
#define DUMP_DH_COMPRESSED_ZSTD 0x20
#define COMPRESSION_MASK \
	(DUMP_DH_COMPRESSED_ZLIB | DUMP_DH_COMPRESSED_LZO | DUMP_DH_COMPRESSED_SNAPPY | \
	 DUMP_DH_COMPRESSED_ZSTD)

#define RANK_BLOCK_BITS 4096u
#define RANK_BLOCK_WORDS (RANK_BLOCK_BITS / 64)
#define MAX_BITMAP_BYTES (1ull << 31)
#define MAX_SUB_HDR_BLOCKS (1u << 16)
#define CACHE_PAGES 1024

struct part {
	struct vr_source *src;
	uint64_t start_pfn, end_pfn; /* what this file serves */
	uint64_t *bitmap2;           /* 64-bit words, little-endian bit order */
	size_t n_words;
	uint64_t *rank;              /* set bits before each block; NULL until first read */
	uint64_t start_rank;         /* rank of start_pfn */
	uint64_t desc_off;
	uint64_t n_desc;             /* set bits in [start_pfn, end_pfn) */
};

struct dd_state {
	struct part *parts;          /* sorted by start_pfn */
	size_t n_parts;
	uint32_t block_size;
	uint64_t max_mapnr;
	bool incomplete;
	uint8_t *cbuf;
	z_stream zs;
	bool zs_ready;
	struct libdeflate_decompressor *deflate; /* zlib pages, faster; zlib says why one fails */
	ZSTD_DCtx *zctx;
};

struct hdr {
	int32_t version;
	uint32_t status, block_size, sub_hdr_size, bitmap_blocks, max_mapnr32;
	int32_t nr_cpus;
	int64_t tv_sec;
	char uts[6][65];
	/* sub header */
	uint64_t phys_base;
	int32_t dump_level, split;
	uint64_t start_pfn, end_pfn;
	uint64_t off_vmcoreinfo, size_vmcoreinfo, off_note, size_note;
	uint64_t max_mapnr;
};

static uint64_t popcount_words(const uint64_t *w, size_t from, size_t to)
{
	uint64_t n = 0;
	for (size_t i = from; i < to; i++)
		n += (uint64_t)__builtin_popcountll(w[i]);
	return n;
}

/* set bits in [0, bit) */
static uint64_t rank_slow(const struct part *p, uint64_t bit)
{
	size_t words = (size_t)(bit / 64);
	uint64_t n = popcount_words(p->bitmap2, 0, words);
	if (bit % 64)
		n += (uint64_t)__builtin_popcountll(p->bitmap2[words] & ((1ull << (bit % 64)) - 1));
	return n;
}

static struct vr_error *build_rank(struct part *p)
{
	size_t n_blocks = p->n_words / RANK_BLOCK_WORDS + 1;
	p->rank = malloc(n_blocks * sizeof(*p->rank));
	if (!p->rank)
		return &vr_error_oom;
	uint64_t sum = 0;
	for (size_t b = 0; b < n_blocks; b++) {
		p->rank[b] = sum;
		size_t from = b * RANK_BLOCK_WORDS, to = from + RANK_BLOCK_WORDS;
		if (to > p->n_words)
			to = p->n_words;
		if (from < to)
			sum += popcount_words(p->bitmap2, from, to);
	}
	return NULL;
}

/* set bits in [0, bit), O(1) with the index */
static uint64_t rank_fast(const struct part *p, uint64_t bit)
{
	size_t word = (size_t)(bit / 64);
	size_t block_word = word / RANK_BLOCK_WORDS * RANK_BLOCK_WORDS;
	uint64_t n = p->rank[word / RANK_BLOCK_WORDS] + popcount_words(p->bitmap2, block_word, word);
	if (bit % 64)
		n += (uint64_t)__builtin_popcountll(p->bitmap2[word] & ((1ull << (bit % 64)) - 1));
	return n;
}

static bool bit_set(const struct part *p, uint64_t pfn)
{
	size_t w = (size_t)(pfn / 64);
	return w < p->n_words && (p->bitmap2[w] >> (pfn % 64) & 1);
}

static void load_words(uint64_t *w, const uint8_t *bytes, size_t n_bytes, size_t n_words)
{
	memset(w, 0, n_words * 8);
	for (size_t i = 0; i < n_bytes; i++)
		w[i / 8] |= (uint64_t)bytes[i] << (8 * (i % 8));
}

static struct vr_error *read_header(struct vr_source *s, struct hdr *h)
{
	uint8_t b[DD_HEADER_SIZE];
	struct vr_error *err = vr_source_pread(s, b, sizeof(b), 0, "the kdump header");
	if (err)
		return err;
	memset(h, 0, sizeof(*h));
	h->version = (int32_t)vr_le32(b + 8);
	for (int i = 0; i < 6; i++) {
		memcpy(h->uts[i], b + 12 + 65 * i, 64);
		h->uts[i][64] = '\0';
	}
	h->tv_sec = (int64_t)vr_le64(b + 408);
	h->status = vr_le32(b + 424);
	h->block_size = vr_le32(b + 428);
	h->sub_hdr_size = vr_le32(b + 432);
	h->bitmap_blocks = vr_le32(b + 436);
	h->max_mapnr32 = vr_le32(b + 440);
	h->nr_cpus = (int32_t)vr_le32(b + 460);
	h->max_mapnr = h->max_mapnr32;

	if (h->version < 0 || h->version > 1000)
		return vr_error_create(VR_ERR_FORMAT, "kdump header at offset 0x8: bad version %d",
				       h->version);
	if (h->block_size != VR_PAGE_SIZE)
		return vr_error_create(VR_ERR_UNSUPPORTED,
				       "kdump header at offset 0x1ac: block size %u (only %u is supported)",
				       h->block_size, VR_PAGE_SIZE);
	if (h->sub_hdr_size == 0 || h->sub_hdr_size > MAX_SUB_HDR_BLOCKS)
		return vr_error_create(VR_ERR_FORMAT,
				       "kdump header at offset 0x1b0: bad sub-header size of %u blocks",
				       h->sub_hdr_size);
	if (h->bitmap_blocks == 0 || h->bitmap_blocks % 2 ||
	    (uint64_t)h->bitmap_blocks * h->block_size > MAX_BITMAP_BYTES)
		return vr_error_create(VR_ERR_FORMAT,
				       "kdump header at offset 0x1b4: bad bitmap size of %u blocks",
				       h->bitmap_blocks);

	uint8_t sb[DD_SUB_HEADER_SIZE] = { 0 };
	size_t sub_len = h->version >= 6 ? 104 : h->version >= 5 ? 80 : h->version >= 4 ? 64 :
			 h->version >= 3 ? 48 : h->version >= 2 ? 32 : 12;
	err = vr_source_pread(s, sb, sub_len, h->block_size, "the kdump sub-header");
	if (err)
		return err;
	h->phys_base = vr_le64(sb);
	h->dump_level = h->version >= 1 ? (int32_t)vr_le32(sb + 8) : -1;
	if (h->version >= 2) {
		h->split = (int32_t)vr_le32(sb + 12);
		h->start_pfn = vr_le64(sb + 16);
		h->end_pfn = vr_le64(sb + 24);
	}
	if (h->version >= 3) {
		h->off_vmcoreinfo = vr_le64(sb + 32);
		h->size_vmcoreinfo = vr_le64(sb + 40);
	}
	if (h->version >= 4) {
		h->off_note = vr_le64(sb + 48);
		h->size_note = vr_le64(sb + 56);
	}
	if (h->version >= 6) {
		/* 64-bit pfns: the 32-bit header fields are obsolete */
		h->start_pfn = vr_le64(sb + 80);
		h->end_pfn = vr_le64(sb + 88);
		h->max_mapnr = vr_le64(sb + 96);
	}
	uint64_t bitmap_bits = (uint64_t)h->bitmap_blocks * h->block_size / 2 * 8;
	if (h->max_mapnr > bitmap_bits)
		return vr_error_create(VR_ERR_FORMAT,
				       "kdump %s at offset 0x%x: max_mapnr 0x%" PRIx64
				       " exceeds the bitmap's 0x%" PRIx64 " pages",
				       h->version >= 6 ? "sub-header" : "header",
				       h->version >= 6 ? h->block_size + 96 : 440, h->max_mapnr,
				       bitmap_bits);
	if (h->split && (h->start_pfn > h->end_pfn || h->end_pfn > h->max_mapnr))
		return vr_error_create(VR_ERR_FORMAT,
				       "kdump sub-header at offset 0x%x: split range 0x%" PRIx64
				       "-0x%" PRIx64 " is outside max_mapnr 0x%" PRIx64,
				       h->block_size + 16, h->start_pfn, h->end_pfn, h->max_mapnr);
	return NULL;
}

static struct vr_error *read_blob(struct vr_source *s, uint64_t off, uint64_t size, uint64_t limit,
				  const char *what, uint8_t **ret)
{
	if (size > limit)
		return vr_error_create(VR_ERR_LIMIT, "%s of %" PRIu64 " bytes exceeds the limit of %" PRIu64,
				       what, size, limit);
	if (off > s->size || size > s->size - off)
		return vr_error_create(VR_ERR_FORMAT,
				       "%s at offset 0x%" PRIx64 " (0x%" PRIx64
				       " bytes) runs past the end of the file",
				       what, off, size);
	uint8_t *b = malloc(size + 1);
	if (!b)
		return &vr_error_oom;
	struct vr_error *err = vr_source_pread(s, b, (size_t)size, off, what);
	if (err) {
		free(b);
		return err;
	}
	b[size] = 0;
	*ret = b;
	return NULL;
}

/* Loads one file's bitmaps and locates its descriptors. first: also take
 * the dump-wide facts (info, notes, vmcoreinfo) from it. */

#define TAIL_DESCS 256        /* descriptors read at a time from the end */
#define MAX_TAIL_CHUNKS 64    /* of those, at most (16384 descriptors) */

/* Whether the page data runs past the end of the file: makedumpfile writes
 * pages in pfn order, so the last pages' data ends the file, except that
 * every zero page shares one copy written first. The latest data end among
 * the last descriptors that are not that copy is where the file must
 * reach; a dump cut by even one byte falls short of it. */
static struct vr_error *check_data_end(struct dd_state *st, const struct part *p, const struct vr_source *s)
{
	uint8_t buf[TAIL_DESCS * DESC_SIZE];
	uint64_t data_start = p->desc_off + p->n_desc * DESC_SIZE;
	uint64_t end = 0;
	for (uint64_t hi = p->n_desc, c = 0; hi > 0 && c < MAX_TAIL_CHUNKS; c++) {
		uint64_t lo = hi > TAIL_DESCS ? hi - TAIL_DESCS : 0;
		struct vr_error *err = vr_source_pread(s, buf, (size_t)(hi - lo) * DESC_SIZE,
						       p->desc_off + lo * DESC_SIZE, "the last page descriptors");
		if (err)
			return err;
		bool beyond_shared = false;
		for (uint64_t i = 0; i < hi - lo; i++) {
			uint64_t off = vr_le64(buf + i * DESC_SIZE), sz = vr_le32(buf + i * DESC_SIZE + 8);
			if (off + sz > end && off + sz >= off)
				end = off + sz;
			/* past the first pages of data: not the shared zero page */
			if (off > data_start + 2 * (uint64_t)st->block_size)
				beyond_shared = true;
		}
		if (beyond_shared)
			break;
		hi = lo;
	}
	if (end > s->size)
		st->incomplete = true;
	return NULL;
}

/* Page descriptor idx of part p (*ret): 1 when it and the data it points
 * to are in the file, 0 when not (one past the file's end, never written,
 * or unreadable), -1 when it points at the one copy of the zero page that
 * every zero page shares (written first, whatever the pfn). */
static struct vr_error *desc_intact(const struct part *p, uint64_t idx, uint32_t block_size, int *ret)
{
	const struct vr_source *s = p->src;
	uint64_t dpos = p->desc_off + idx * DESC_SIZE;
	uint8_t desc[DESC_SIZE];
	*ret = 0;
	if (dpos > s->size || DESC_SIZE > s->size - dpos)
		return NULL;
	struct vr_error *err = vr_source_pread(s, desc, DESC_SIZE, dpos, "page descriptor");
	if (err)
		return vr_error_catch(&err, VR_ERR_IO, VR_ERR_FORMAT) ? NULL : err;
	uint64_t off = vr_le64(desc);
	uint32_t size = vr_le32(desc + 8);
	if (!off && !size)
		return NULL;
	if (off > s->size || size > s->size - off)
		return NULL;
	uint64_t data_start = p->desc_off + p->n_desc * DESC_SIZE;
	*ret = off < data_start + block_size ? -1 : 1;
	return NULL;
}

/* Descriptor idx, or when it is the shared zero page the nearest one after
 * it that is not (a bounded look), says whether the data up to there is in
 * the file. */
static struct vr_error *intact_at(const struct part *p, uint64_t idx, uint32_t block_size, bool *ret)
{
	for (uint64_t i = idx, n = 0; i < p->n_desc && n < 4096; i++, n++) {
		int r;
		struct vr_error *err = desc_intact(p, i, block_size, &r);
		if (err)
			return err;
		if (r >= 0) {
			*ret = r == 1;
			return NULL;
		}
	}
	*ret = true; /* zero pages to the end: nothing after them is lost */
	return NULL;
}

/* How many of a cut part's pages are lost: makedumpfile writes
 * descriptors and data in pfn order, so the intact ones come first and a
 * binary search finds where they end. */
static struct vr_error *pages_cut(const struct part *p, uint32_t block_size, uint64_t *ret)
{
	uint64_t lo = 0, hi = p->n_desc; /* descriptors before lo are intact, from hi on not */
	while (lo < hi) {
		uint64_t mid = lo + (hi - lo) / 2;
		bool intact;
		struct vr_error *err = intact_at(p, mid, block_size, &intact);
		if (err)
			return err;
		if (intact)
			lo = mid + 1;
		else
			hi = mid;
	}
	*ret = p->n_desc - lo;
	return NULL;
}

/* A part's 2nd bitmap (the pages it holds), only the bytes that cover
 * max_mapnr, with the bits past max_mapnr cleared so counts are exact;
 * its page descriptors' place and count. need: the bitmap bytes read. */
static struct vr_error *load_bitmap(struct dd_state *st, struct vr_source *s, struct part *p, const struct hdr *h,
				    uint64_t bitmap_off, uint64_t bitmap_len, size_t *ret_need)
{
	size_t half = (size_t)(bitmap_len / 2);
	size_t need = (size_t)((h->max_mapnr + 7) / 8);
	if (need > half)
		need = half;
	*ret_need = need;
	p->n_words = need / 8 + 1;
	p->bitmap2 = malloc(p->n_words * 8);
	uint8_t *bytes = malloc(need ? need : 1);
	if (!p->bitmap2 || !bytes) {
		free(bytes);
		return &vr_error_oom;
	}
	struct vr_error *err = vr_source_pread(s, bytes, need, bitmap_off + half, "the 2nd bitmap");
	if (!err)
		load_words(p->bitmap2, bytes, need, p->n_words);
	free(bytes);
	if (err)
		return err;
	size_t last = (size_t)(h->max_mapnr / 64);
	if (last < p->n_words) {
		if (h->max_mapnr % 64)
			p->bitmap2[last] &= (1ull << (h->max_mapnr % 64)) - 1;
		else
			p->bitmap2[last] = 0;
		for (size_t w = last + 1; w < p->n_words; w++)
			p->bitmap2[w] = 0;
	}
	p->start_rank = rank_slow(p, p->start_pfn);
	p->n_desc = rank_slow(p, p->end_pfn) - p->start_rank;
	p->desc_off = bitmap_off + bitmap_len;
	if (p->desc_off > s->size || p->n_desc * DESC_SIZE > s->size - p->desc_off)
		st->incomplete = true; /* descriptors cut off: reads past them fail */
	else if (p->n_desc && (err = check_data_end(st, p, s)))
		return err;
	return NULL;
}

/* Pages of RAM: the 1st bitmap's bits below max_mapnr, counted in chunks. */
static struct vr_error *count_ram(struct vr_source *s, uint64_t bitmap_off, size_t need, uint64_t max_mapnr,
				  uint64_t *ret)
{
	uint64_t total = 0;
	uint8_t *chunk = malloc(1 << 16);
	if (!chunk)
		return &vr_error_oom;
	struct vr_error *err = NULL;
	for (size_t pos = 0; pos < need && !err; pos += 1 << 16) {
		size_t n = need - pos < (1 << 16) ? need - pos : (1 << 16);
		err = vr_source_pread(s, chunk, n, bitmap_off + pos, "the 1st bitmap");
		for (size_t i = 0; !err && i < n; i++) {
			uint8_t byte = chunk[i];
			uint64_t bit0 = (uint64_t)(pos + i) * 8;
			if (bit0 + 8 > max_mapnr)
				byte &= (uint8_t)((1u << (max_mapnr - bit0)) - 1);
			total += (uint64_t)__builtin_popcount(byte);
		}
	}
	free(chunk);
	*ret = total;
	return err;
}

/* The dump's facts from its first part's header. */
static void header_facts(struct vr_dump *d, const struct hdr *h, uint64_t total)
{
	struct vr_dump_info *in = &d->info;
	in->dump_level = h->dump_level;
	in->filtered = h->dump_level > 0;
	in->dump_time = h->tv_sec;
	in->max_pfn = h->max_mapnr;
	in->pages_total = total;
	in->phys_base = h->phys_base;
	memcpy(in->sysname, h->uts[0], 65);
	memcpy(in->nodename, h->uts[1], 65);
	memcpy(in->release, h->uts[2], 65);
	memcpy(in->version, h->uts[3], 65);
	memcpy(in->machine, h->uts[4], 65);
	uint32_t comp = h->status & COMPRESSION_MASK;
	in->compression = comp == 0 ? "none" :
			  comp == DUMP_DH_COMPRESSED_ZLIB ? "zlib" :
			  comp == DUMP_DH_COMPRESSED_LZO ? "lzo" :
			  comp == DUMP_DH_COMPRESSED_SNAPPY ? "snappy" :
			  comp == DUMP_DH_COMPRESSED_ZSTD ? "zstd" : "mixed";
}

/* The notes (CPUs' registers, QEMU's) and VMCOREINFO the sub-header
 * points to; the raw VMCOREINFO text (no note header) is the
 * authoritative copy. */
static struct vr_error *read_notes_and_vmcoreinfo(struct vr_dump *d, struct vr_source *s, const struct hdr *h,
						  bool *qemu)
{
	struct vr_error *err;
	if (h->size_note) {
		_cleanup_free_ uint8_t *buf = NULL;
		err = read_blob(s, h->off_note, h->size_note, VR_MAX_NOTES_BYTES, "notes", &buf);
		if (err)
			return vr_error_wrap(err, "kdump sub-header at offset 0x%x", h->block_size + 48);
		struct vr_notes nt;
		err = vr_notes_parse(buf, (size_t)h->size_note, &nt);
		if (err)
			return vr_error_wrap(err, "notes");
		d->cpus = nt.cpus;
		d->n_cpus = nt.n_cpus;
		d->vmcoreinfo = nt.vmcoreinfo;
		d->vmcoreinfo_len = nt.vmcoreinfo_len;
		*qemu = nt.qemu;
	}
	if (h->size_vmcoreinfo) {
		uint8_t *buf = NULL;
		err = read_blob(s, h->off_vmcoreinfo, h->size_vmcoreinfo, VR_MAX_VMCOREINFO_BYTES, "vmcoreinfo", &buf);
		if (err)
			return vr_error_wrap(err, "kdump sub-header at offset 0x%x", h->block_size + 32);
		free(d->vmcoreinfo);
		d->vmcoreinfo = (char *)buf;
		d->vmcoreinfo_len = strnlen(d->vmcoreinfo, (size_t)h->size_vmcoreinfo);
	}
	return NULL;
}

static struct vr_error *open_part(struct vr_dump *d, struct dd_state *st, struct vr_source *s,
				  struct part *p, bool first, bool *qemu)
{
	struct hdr h;
	struct vr_error *err = read_header(s, &h);
	if (err)
		return err;
	uint64_t bitmap_off = (uint64_t)h.block_size * (1 + (uint64_t)h.sub_hdr_size);
	uint64_t bitmap_len = (uint64_t)h.block_size * h.bitmap_blocks;
	if (bitmap_off > s->size || bitmap_len > s->size - bitmap_off)
		return vr_error_create(VR_ERR_FORMAT,
				       "bitmaps at offset 0x%" PRIx64 " (0x%" PRIx64
				       " bytes) run past the end of the file (0x%" PRIx64 ")",
				       bitmap_off, bitmap_len, s->size);
	if (first) {
		st->block_size = h.block_size;
		st->max_mapnr = h.max_mapnr;
	} else if (h.max_mapnr != st->max_mapnr) {
		return vr_error_create(VR_ERR_FORMAT,
				       "kdump header: max_mapnr 0x%" PRIx64
				       " differs from the first part's 0x%" PRIx64,
				       h.max_mapnr, st->max_mapnr);
	}
	p->src = s;
	p->start_pfn = h.split ? h.start_pfn : 0;
	p->end_pfn = h.split ? h.end_pfn : h.max_mapnr;
	size_t need;
	if ((err = load_bitmap(st, s, p, &h, bitmap_off, bitmap_len, &need)))
		return err;
	/* any part cut short makes the whole dump incomplete */
	if (h.status & DUMP_DH_COMPRESSED_INCOMPLETE)
		st->incomplete = true;
	if (st->incomplete) {
		uint64_t cut;
		if ((err = pages_cut(p, h.block_size, &cut)))
			return err;
		d->info.pages_cut += cut;
	}
	if (!first)
		return NULL;
	uint64_t total;
	if ((err = count_ram(s, bitmap_off, need, h.max_mapnr, &total)))
		return err;
	header_facts(d, &h, total);
	return read_notes_and_vmcoreinfo(d, s, &h, qemu);
}

static void dd_close(struct vr_dump *d)
{
	struct dd_state *st = d->priv;
	if (!st)
		return;
	for (size_t i = 0; i < st->n_parts; i++) {
		free(st->parts[i].bitmap2);
		free(st->parts[i].rank);
	}
	free(st->parts);
	free(st->cbuf);
	if (st->zs_ready)
		inflateEnd(&st->zs);
	if (st->deflate)
		libdeflate_free_decompressor(st->deflate);
	ZSTD_freeDCtx(st->zctx);
	free(st);
	d->priv = NULL;
}

static int cmp_part(const void *a, const void *b)
{
	const struct part *x = a, *y = b;
	return x->start_pfn < y->start_pfn ? -1 : x->start_pfn > y->start_pfn;
}

static struct vr_error *open_parts(struct vr_dump *d)
{
	struct dd_state *st = calloc(1, sizeof(*st));
	if (!st)
		return &vr_error_oom;
	d->priv = st;
	st->parts = calloc(d->n_src, sizeof(*st->parts));
	st->cbuf = malloc(VR_PAGE_SIZE);
	if (!st->parts || !st->cbuf)
		return &vr_error_oom;
	bool qemu = false;
	for (size_t i = 0; i < d->n_src; i++) {
		struct vr_source *s = &d->src[i];
		if (d->n_src > 1) {
			uint8_t sig[8];
			struct vr_error *err = vr_source_pread(s, sig, 8, 0, "the kdump header");
			if (err)
				return vr_error_wrap(err, "%s", s->path);
			if (memcmp(sig, DD_SIG, 8) != 0)
				return vr_error_create(VR_ERR_FORMAT,
						       "%s: offset 0: not a kdump-compressed part of a "
						       "split dump",
						       s->path);
		}
		struct vr_error *err = open_part(d, st, s, &st->parts[i], i == 0, &qemu);
		st->n_parts = i + 1;
		if (err)
			return vr_error_wrap(err, "%s", s->path);
	}
	qsort(st->parts, st->n_parts, sizeof(*st->parts), cmp_part);
	uint64_t present = 0;
	for (size_t i = 0; i < st->n_parts; i++) {
		if (i && st->parts[i].start_pfn < st->parts[i - 1].end_pfn)
			return vr_error_create(VR_ERR_FORMAT,
					       "%s: pfn range 0x%" PRIx64 "-0x%" PRIx64
					       " overlaps that of %s",
					       st->parts[i].src->path, st->parts[i].start_pfn,
					       st->parts[i].end_pfn, st->parts[i - 1].src->path);
		present += st->parts[i].n_desc;
	}
	d->info.pages_present = present - (d->info.pages_cut < present ? d->info.pages_cut : present);
	d->info.incomplete |= st->incomplete;
	if (d->n_src > 1)
		d->info.form = "split";
	else
		d->info.form = qemu ? "qemu-kdump" : "kdump";
	/* makedumpfile writes the phys_base it read from /proc/vmcore's
	 * kernel-image segment; QEMU writes 0 unless the guest's VMCOREINFO
	 * said otherwise, so its copy proves nothing. */
	d->info.phys_base_known = !qemu;
	struct vr_error *err = vr_page_cache_create(CACHE_PAGES, VR_PAGE_SIZE, &d->cache);
	if (err)
		return err;
	return NULL;
}

static struct vr_error *dd_open(struct vr_dump *d, const uint8_t *head, size_t head_len)
{
	if (head_len < 8 || memcmp(head, DD_SIG, 8) != 0)
		return VR_FORMAT_NOT_MINE;
	return open_parts(d);
}

static const struct part *find_part(const struct dd_state *st, uint64_t pfn)
{
	for (size_t i = 0; i < st->n_parts; i++)
		if (pfn >= st->parts[i].start_pfn && pfn < st->parts[i].end_pfn)
			return &st->parts[i];
	return NULL;
}

static bool dd_present(struct vr_dump *d, uint64_t pfn)
{
	const struct dd_state *st = d->priv;
	if (pfn >= st->max_mapnr)
		return false;
	const struct part *p = find_part(st, pfn);
	return p && bit_set(p, pfn);
}

static enum vr_page_state dd_page_state(struct vr_dump *d, uint64_t pfn)
{
	struct dd_state *st = d->priv;
	if (pfn >= st->max_mapnr)
		return VR_PAGE_ABSENT;
	struct part *p = (struct part *)find_part(st, pfn);
	if (!p)
		return VR_PAGE_ABSENT;
	if (!bit_set(p, pfn))
		return VR_PAGE_EXCLUDED;
	/* build_rank() fails only when out of memory, desc_intact() besides
	 * only when an error's message cannot be made */
	struct vr_error *err = p->rank ? NULL : build_rank(p);
	int r = 0;
	if (!err)
		err = desc_intact(p, rank_fast(p, pfn) - p->start_rank, st->block_size, &r);
	if (err) {
		vr_error_destroy(err);
		return VR_PAGE_UNKNOWN;
	}
	/* the shared zero page (-1) is held too */
	return r ? VR_PAGE_PRESENT : VR_PAGE_CUT;
}

static struct vr_error *decompress(struct dd_state *st, uint32_t flags, const uint8_t *in,
				   size_t in_len, uint8_t *out)
{
	size_t out_len = VR_PAGE_SIZE;
	switch (flags & COMPRESSION_MASK) {
	case 0:
		if (in_len != VR_PAGE_SIZE)
			return vr_error_create(VR_ERR_FORMAT, "uncompressed page of %zu bytes", in_len);
		memcpy(out, in, VR_PAGE_SIZE);
		return NULL;
	case DUMP_DH_COMPRESSED_ZLIB: {
		/* makedumpfile and QEMU use compress2(): a zlib stream. libdeflate
		 * inflates a whole page two to three times faster than zlib; a
		 * page it refuses goes to zlib, which says what is wrong the
		 * way zlib says it. Both accept bytes after the stream's end and
		 * check its Adler-32. */
		if (!st->deflate)
			st->deflate = libdeflate_alloc_decompressor();
		size_t got = 0, used = 0;
		if (st->deflate &&
		    libdeflate_zlib_decompress_ex(st->deflate, in, in_len, out, VR_PAGE_SIZE, &used, &got) ==
			    LIBDEFLATE_SUCCESS &&
		    got == VR_PAGE_SIZE)
			return NULL;
		if (!st->zs_ready) {
			memset(&st->zs, 0, sizeof(st->zs));
			if (inflateInit(&st->zs) != Z_OK)
				return &vr_error_oom;
			st->zs_ready = true;
		} else if (inflateReset(&st->zs) != Z_OK) {
			return vr_error_create(VR_ERR_FORMAT, "zlib: cannot reset the stream");
		}
		st->zs.next_in = (Bytef *)in;
		st->zs.avail_in = (uInt)in_len;
		st->zs.next_out = out;
		st->zs.avail_out = VR_PAGE_SIZE;
		int r = inflate(&st->zs, Z_FINISH);
		if (r != Z_STREAM_END || st->zs.total_out != VR_PAGE_SIZE)
			return vr_error_create(VR_ERR_FORMAT, "zlib: %s",
					       st->zs.msg ? st->zs.msg : "bad compressed data");
		return NULL;
	}
	case DUMP_DH_COMPRESSED_LZO: {
		lzo_uint n = VR_PAGE_SIZE;
		int r = lzo1x_decompress_safe(in, in_len, out, &n, NULL);
		if (r != LZO_E_OK || n != VR_PAGE_SIZE)
			return vr_error_create(VR_ERR_FORMAT, "lzo: bad compressed data (error %d)", r);
		return NULL;
	}
	case DUMP_DH_COMPRESSED_SNAPPY: {
		size_t n;
		if (snappy_uncompressed_length((const char *)in, in_len, &n) != SNAPPY_OK ||
		    n != VR_PAGE_SIZE)
			return vr_error_create(VR_ERR_FORMAT, "snappy: bad uncompressed length");
		if (snappy_uncompress((const char *)in, in_len, (char *)out, &out_len) != SNAPPY_OK ||
		    out_len != VR_PAGE_SIZE)
			return vr_error_create(VR_ERR_FORMAT, "snappy: bad compressed data");
		return NULL;
	}
	case DUMP_DH_COMPRESSED_ZSTD: {
		if (!st->zctx && !(st->zctx = ZSTD_createDCtx()))
			return &vr_error_oom;
		size_t r = ZSTD_decompressDCtx(st->zctx, out, VR_PAGE_SIZE, in, in_len);
		if (ZSTD_isError(r))
			return vr_error_create(VR_ERR_FORMAT, "zstd: %s", ZSTD_getErrorName(r));
		if (r != VR_PAGE_SIZE)
			return vr_error_create(VR_ERR_FORMAT, "zstd: page of %zu bytes", r);
		return NULL;
	}
	default:
		return vr_error_create(VR_ERR_FORMAT, "flags 0x%x name several compressions", flags);
	}
}

static struct vr_error *load_page(struct vr_dump *d, uint64_t pfn, uint8_t *out)
{
	struct dd_state *st = d->priv;
	uint64_t paddr = pfn * VR_PAGE_SIZE;
	if (pfn >= st->max_mapnr)
		return vr_error_create(VR_ERR_NOT_PRESENT,
				       "physical address 0x%" PRIx64 " is beyond the dump's last page "
				       "(max_mapnr 0x%" PRIx64 ")",
				       paddr, st->max_mapnr);
	struct part *p = (struct part *)find_part(st, pfn);
	if (!p)
		return vr_error_create(VR_ERR_NOT_PRESENT,
				       "physical address 0x%" PRIx64 " is in no part of the split dump",
				       paddr);
	if (!bit_set(p, pfn))
		return vr_error_create(VR_ERR_NOT_PRESENT,
				       "physical address 0x%" PRIx64 " is not in the dump (excluded)",
				       paddr);
	if (!p->rank) {
		struct vr_error *err = build_rank(p);
		if (err)
			return err;
	}
	const char *path = p->src->path;
	uint64_t idx = rank_fast(p, pfn) - p->start_rank;
	uint64_t dpos = p->desc_off + idx * DESC_SIZE;
	uint8_t desc[DESC_SIZE];
	if (dpos > p->src->size || DESC_SIZE > p->src->size - dpos)
		return vr_error_create(d->info.incomplete ? VR_ERR_NOT_PRESENT : VR_ERR_FORMAT,
				       "%s: page descriptor of physical address 0x%" PRIx64
				       " at offset 0x%" PRIx64 ": past the end of the file%s",
				       path, paddr, dpos, d->info.incomplete ? " (incomplete dump)" : "");
	struct vr_error *err = vr_source_pread(p->src, desc, DESC_SIZE, dpos, "page descriptor");
	if (err)
		return vr_error_wrap(err, "%s", path);
	uint64_t off = vr_le64(desc);
	uint32_t size = vr_le32(desc + 8), flags = vr_le32(desc + 12);
	if (off == 0 && size == 0 && d->info.incomplete)
		return vr_error_create(VR_ERR_NOT_PRESENT,
				       "%s: physical address 0x%" PRIx64
				       " was not written (incomplete dump)",
				       path, paddr);
	if (size == 0 || size > st->block_size)
		return vr_error_create(VR_ERR_FORMAT,
				       "%s: page descriptor at offset 0x%" PRIx64
				       " (physical address 0x%" PRIx64 "): bad size %u",
				       path, dpos, paddr, size);
	if (off > p->src->size || size > p->src->size - off)
		return vr_error_create(d->info.incomplete ? VR_ERR_NOT_PRESENT : VR_ERR_FORMAT,
				       "%s: page descriptor at offset 0x%" PRIx64
				       " (physical address 0x%" PRIx64 "): data at 0x%" PRIx64
				       " runs past the end of the file",
				       path, dpos, paddr, off);
	err = vr_source_pread(p->src, st->cbuf, size, off, "page data");
	if (err)
		return vr_error_wrap(err, "%s: physical address 0x%" PRIx64, path, paddr);
	err = decompress(st, flags, st->cbuf, size, out);
	if (err)
		return vr_error_wrap(err, "%s: page of physical address 0x%" PRIx64
				     " (descriptor at offset 0x%" PRIx64 ", data at 0x%" PRIx64 ")",
				     path, paddr, dpos, off);
	return NULL;
}

static struct vr_error *dd_read(struct vr_dump *d, uint64_t paddr, void *buf, size_t len)
{
	uint64_t pfn = paddr / VR_PAGE_SIZE;
	const uint8_t *page = vr_page_cache_lookup(d->cache, pfn);
	if (!page) {
		uint8_t *slot = vr_page_cache_reserve(d->cache, pfn);
		struct vr_error *err = load_page(d, pfn, slot);
		if (err) {
			vr_page_cache_abort(d->cache);
			return err;
		}
		vr_page_cache_commit(d->cache);
		page = slot;
	}
	memcpy(buf, page + paddr % VR_PAGE_SIZE, len);
	return NULL;
}

const struct vr_format vr_format_diskdump = {
	.name = "kdump",
	.multi_file = true,
	.open = dd_open,
	.close = dd_close,
	.read = dd_read,
	.present = dd_present,
	.page_state = dd_page_state,
};
