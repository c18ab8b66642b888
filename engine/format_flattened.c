/* makedumpfile's flattened format (makedumpfile -F, for writing a dump to
 * a pipe): a 4096-byte header starting "makedumpfile" with big-endian type
 * and version, then records of {int64 offset, int64 size} (big-endian)
 * followed by size bytes that belong at offset of the real dump file, and
 * an end record {-1, -1} (makedumpfile.h struct makedumpfile_header,
 * makedumpfile_data_header, END_FLAG_FLAT_HEADER).
 *
 * Rather than rebuild the file (makedumpfile -R), we index the records
 * once into sorted, non-overlapping extents and serve reads of the
 * reconstructed file from them (vr_source_pread); a later record wins where
 * records overlap, as it would when rebuilding.
 *
 * A record header that cannot be right (a negative or huge offset or size)
 * does not cost the records after it: the index resumes at the next place
 * where a chain of sound headers starts (a plausible header, and the two
 * its sizes lead to, or the end record, or the file's end). What is lost is
 * said in the source's damage note; those bytes read as a hole. */
#include <inttypes.h>
#include <string.h>

#include "cursor.h"
#include "format.h"

#define FLAT_HEADER_SIZE 4096
#define FLAT_SIG "makedumpfile"
#define MAX_RECORDS (64u << 20)

struct rec {
	uint64_t off, len, pos, seq;
};

static int cmp_rec(const void *a, const void *b)
{
	const struct rec *x = a, *y = b;
	if (x->off != y->off)
		return x->off < y->off ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* max-heap of record indexes by seq */
static void heap_push(size_t *h, size_t *n, const struct rec *r, size_t v)
{
	size_t i = (*n)++;
	h[i] = v;
	while (i) {
		size_t p = (i - 1) / 2;
		if (r[h[p]].seq >= r[h[i]].seq)
			break;
		size_t t = h[p];
		h[p] = h[i];
		h[i] = t;
		i = p;
	}
}

static void heap_pop(size_t *h, size_t *n, const struct rec *r)
{
	h[0] = h[--(*n)];
	size_t i = 0;
	for (;;) {
		size_t l = 2 * i + 1, g = i;
		if (l < *n && r[h[l]].seq > r[h[g]].seq)
			g = l;
		if (l + 1 < *n && r[h[l + 1]].seq > r[h[g]].seq)
			g = l + 1;
		if (g == i)
			break;
		size_t t = h[g];
		h[g] = h[i];
		h[i] = t;
		i = g;
	}
}

static struct vr_error *add_extent(struct vr_flat_extent **ext, size_t *n, size_t *cap,
				   uint64_t off, uint64_t len, uint64_t pos)
{
	if (*n && (*ext)[*n - 1].off + (*ext)[*n - 1].len == off &&
	    (*ext)[*n - 1].pos + (*ext)[*n - 1].len == pos) {
		(*ext)[*n - 1].len += len;
		return NULL;
	}
	struct vr_error *err = vr_grow(ext, cap, *n + 1, sizeof(**ext), 2 * (size_t)MAX_RECORDS);
	if (err)
		return err;
	(*ext)[(*n)++] = (struct vr_flat_extent){ off, len, pos };
	return NULL;
}

/* Painter's sweep over the record boundaries: in each elementary interval
 * the covering record with the highest sequence number wins. */
static struct vr_error *resolve_overlaps(const struct rec *r, size_t n, struct vr_flat_extent **ret,
					 size_t *ret_n)
{
	struct vr_error *err = NULL;
	uint64_t *b = malloc(2 * n * sizeof(*b));
	size_t *heap = malloc(n * sizeof(*heap));
	struct vr_flat_extent *ext = NULL;
	size_t n_ext = 0, cap = 0, nb = 0, nh = 0, j = 0;
	if (!b || !heap) {
		err = &vr_error_oom;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		b[nb++] = r[i].off;
		b[nb++] = r[i].off + r[i].len;
	}
	qsort(b, nb, sizeof(*b), cmp_u64);
	for (size_t i = 0; i + 1 < nb; i++) {
		uint64_t lo = b[i], hi = b[i + 1];
		if (lo == hi)
			continue;
		while (j < n && r[j].off <= lo)
			heap_push(heap, &nh, r, j++);
		while (nh && r[heap[0]].off + r[heap[0]].len <= lo)
			heap_pop(heap, &nh, r);
		if (!nh)
			continue;
		const struct rec *w = &r[heap[0]];
		err = add_extent(&ext, &n_ext, &cap, lo, hi - lo, w->pos + (lo - w->off));
		if (err)
			goto out;
	}
	*ret = ext;
	*ret_n = n_ext;
	ext = NULL;
out:
	free(b);
	free(heap);
	free(ext);
	return err;
}

/* Buffered sequential reader over the raw file for the record headers. A
 * header outside the buffer refills it with the page around it only:
 * small records share a page, and the data of large ones (tens of KiB) is
 * not read at all, so the index costs the records, not the file's bytes. */
struct reader {
	uint8_t buf[1 << 12];
	uint64_t buf_pos;
	size_t buf_len;
};

/* The 16 bytes of a record header at pos through the reader. */
static struct vr_error *read_header(const struct vr_source *s, struct reader *rd, uint64_t pos,
				    int64_t *off, int64_t *len)
{
	if (pos < rd->buf_pos || pos + 16 > rd->buf_pos + rd->buf_len) {
		uint64_t left = s->file_size - pos;
		size_t want = left < sizeof(rd->buf) ? (size_t)left : sizeof(rd->buf);
		struct vr_error *err = vr_source_pread(s, rd->buf, want, pos, "flattened record header");
		if (err)
			return err;
		rd->buf_pos = pos;
		rd->buf_len = want;
	}
	const uint8_t *h = rd->buf + (pos - rd->buf_pos);
	*off = (int64_t)vr_be64(h);
	*len = (int64_t)vr_be64(h + 8);
	return NULL;
}

static bool is_end(int64_t off, int64_t len)
{
	return off == -1 && len == -1;
}

/* A header makedumpfile could have written: a data offset inside a file of
 * at most 4 PiB, a size of at most 1 TiB. */
static bool plausible(int64_t off, int64_t len)
{
	return off >= 0 && len > 0 && (uint64_t)off <= (1ull << 52) && (uint64_t)len <= (1ull << 40);
}

/* Whether a chain of sound headers starts at pos (*ret): depth more
 * headers after a plausible one, each record's data inside the file,
 * ending early at the end record or exactly at the file's end. A header
 * that cannot be read (I/O, past the end) is no chain; out of memory is
 * returned. */
static struct vr_error *chain_at(const struct vr_source *s, uint64_t pos, int depth, bool *ret)
{
	*ret = false;
	for (int i = 0; i <= depth; i++) {
		if (pos >= s->file_size) {
			*ret = pos == s->file_size; /* the file ends after a record */
			return NULL;
		}
		if (pos + 16 > s->file_size)
			return NULL;
		uint8_t h[16];
		struct vr_error *err = vr_source_pread(s, h, sizeof(h), pos, "flattened record header");
		if (err)
			return vr_error_catch(&err, VR_ERR_IO, VR_ERR_FORMAT) ? NULL : err;
		int64_t off = (int64_t)vr_be64(h), len = (int64_t)vr_be64(h + 8);
		if (is_end(off, len)) {
			*ret = true;
			return NULL;
		}
		/* Resynchronising demands more than the plain walk: sizes
		 * makedumpfile's buffered writes produce. */
		if (!plausible(off, len) || (uint64_t)len > (1ull << 32) ||
		    (uint64_t)len > s->file_size - pos - 16)
			return NULL;
		pos += 16 + (uint64_t)len;
	}
	*ret = true;
	return NULL;
}

/* Where the records resume after a bad header at pos (*ret): past the
 * record when its size still leads to sound headers (only the offset was
 * hit), else the next byte from which a sound chain starts; 0 when none
 * does. */
static struct vr_error *resync(const struct vr_source *s, struct reader *rd, uint64_t pos, int64_t len,
			       uint64_t *ret)
{
	struct vr_error *err;
	bool chain = false;
	*ret = 0;
	if (len > 0 && (uint64_t)len <= s->file_size - pos - 16 && pos + 16 + (uint64_t)len < s->file_size) {
		if ((err = chain_at(s, pos + 16 + (uint64_t)len, 2, &chain)))
			return err;
		if (chain) {
			*ret = pos + 16 + (uint64_t)len;
			return NULL;
		}
	}
	for (uint64_t q = pos + 1; q + 16 <= s->file_size; q++) {
		int64_t o, l;
		if ((err = read_header(s, rd, q, &o, &l)))
			return vr_error_catch(&err, VR_ERR_IO, VR_ERR_FORMAT) ? NULL : err;
		if (!plausible(o, l) && !is_end(o, l))
			continue;
		if ((err = chain_at(s, q, 2, &chain)))
			return err;
		if (chain) {
			*ret = q;
			return NULL;
		}
	}
	return NULL;
}

/* The records of a flattened file, as its headers give them. */
struct scan {
	struct rec *recs;
	size_t n, cap;
	uint64_t size;       /* the dump's size: the end of the furthest record */
	bool sorted;         /* in order and disjoint */
	bool ended;          /* the end record was reached */
	size_t n_bad;        /* bad record headers skipped */
	uint64_t first_bad, skipped;
	bool lost_tail;      /* no sound header after the last bad one */
};

/* The flattened header: VR_FORMAT_NOT_MINE when it is not one. */
static struct vr_error *check_header(struct vr_source *s)
{
	uint8_t hdr[32];
	if (s->file_size < FLAT_HEADER_SIZE)
		return VR_FORMAT_NOT_MINE;
	struct vr_error *err = vr_source_pread(s, hdr, sizeof(hdr), 0, "flattened header");
	if (err)
		return vr_error_wrap(err, "%s", s->path);
	if (memcmp(hdr, FLAT_SIG, sizeof(FLAT_SIG)) != 0) /* includes the NUL */
		return VR_FORMAT_NOT_MINE;
	uint64_t type = vr_be64(hdr + 16), version = vr_be64(hdr + 24);
	if (type != 1)
		return vr_error_create(VR_ERR_UNSUPPORTED, "%s: flattened header at offset 0x10: unknown type %" PRIu64,
				       s->path, type);
	if (version < 1 || version > 16)
		return vr_error_create(VR_ERR_UNSUPPORTED,
				       "%s: flattened header at offset 0x18: unknown version %" PRIu64, s->path, version);
	return NULL;
}

/* Every record header from the file's start to its end record: a bad one
 * is skipped to the next sound header, a cut last record keeps what the
 * file holds. */
static struct vr_error *scan_records(struct vr_source *s, struct scan *sc)
{
	struct reader *rd = malloc(sizeof(*rd));
	if (!rd)
		return &vr_error_oom;
	rd->buf_len = 0;
	rd->buf_pos = 0;
	uint64_t pos = FLAT_HEADER_SIZE;
	struct vr_error *err = NULL;
	sc->sorted = true;
	while (pos + 16 <= s->file_size) {
		int64_t off, len;
		if ((err = read_header(s, rd, pos, &off, &len)))
			break;
		if (is_end(off, len)) {
			sc->ended = true;
			break;
		}
		if (!plausible(off, len)) {
			if (!sc->n_bad++)
				sc->first_bad = pos;
			uint64_t next;
			if ((err = resync(s, rd, pos, len, &next)))
				break;
			if (!next) {
				sc->skipped += s->file_size - pos;
				sc->lost_tail = true;
				break;
			}
			sc->skipped += next - pos;
			pos = next;
			continue;
		}
		uint64_t data = pos + 16, l = (uint64_t)len;
		if (l > s->file_size - data)
			l = s->file_size - data; /* truncated: keep what is there */
		if ((err = vr_grow(&sc->recs, &sc->cap, sc->n + 1, sizeof(*sc->recs), MAX_RECORDS))) {
			err = vr_error_wrap(err, "%s: flattened records", s->path);
			break;
		}
		if (sc->n && (uint64_t)off < sc->recs[sc->n - 1].off + sc->recs[sc->n - 1].len)
			sc->sorted = false;
		sc->recs[sc->n] = (struct rec){(uint64_t)off, l, data, sc->n};
		sc->n++;
		if ((uint64_t)off + l > sc->size)
			sc->size = (uint64_t)off + l;
		pos = data + (uint64_t)len;
		if (l == 0)
			break;
	}
	free(rd);
	return err;
}

/* What the bad record headers cost, in s->damage. */
static struct vr_error *note_damage(struct vr_source *s, const struct scan *sc)
{
	if (!sc->n_bad)
		return NULL;
	if (!sc->n)
		return vr_error_create(VR_ERR_FORMAT,
				       "%s: flattened record at offset 0x%" PRIx64 ": bad header, and no sound record after it",
				       s->path, sc->first_bad);
	s->damage = vr_asprintf("%zu bad flattened record header%s (the first at offset 0x%" PRIx64 "): %" PRIu64
				" bytes skipped%s",
				sc->n_bad, sc->n_bad == 1 ? "" : "s", sc->first_bad, sc->skipped,
				sc->lost_tail ? ", up to the end of the file" : ", the records after read");
	return s->damage ? NULL : &vr_error_oom;
}

/* The records as disjoint extents in dump order. */
static struct vr_error *build_extents(struct scan *sc, struct vr_flat_extent **ret, size_t *ret_n)
{
	struct vr_flat_extent *ext = NULL;
	size_t n_ext = 0;
	struct vr_error *err = NULL;
	if (sc->sorted) {
		/* the common case: records already in order and disjoint */
		size_t ecap = 0;
		for (size_t i = 0; i < sc->n && !err; i++)
			err = add_extent(&ext, &n_ext, &ecap, sc->recs[i].off, sc->recs[i].len, sc->recs[i].pos);
	} else {
		qsort(sc->recs, sc->n, sizeof(*sc->recs), cmp_rec);
		err = resolve_overlaps(sc->recs, sc->n, &ext, &n_ext);
	}
	if (!err && !ext && !(ext = malloc(sizeof(*ext)))) /* an empty but flattened file */
		err = &vr_error_oom;
	if (err) {
		free(ext);
		return err;
	}
	*ret = ext;
	*ret_n = n_ext;
	return NULL;
}

static struct vr_error *flattened_layer_open(struct vr_source *s)
{
	struct vr_error *err = check_header(s);
	if (err)
		return err;
	struct scan sc = {0};
	struct vr_flat_extent *ext = NULL;
	size_t n_ext = 0;
	err = scan_records(s, &sc);
	if (!err) {
		s->truncated = !sc.ended;
		err = note_damage(s, &sc);
	}
	if (!err)
		err = build_extents(&sc, &ext, &n_ext);
	free(sc.recs);
	if (err) {
		free(s->damage);
		s->damage = NULL;
		return err;
	}
	s->ext = ext;
	s->n_ext = n_ext;
	s->size = sc.size;
	return NULL;
}

/* makedumpfile -F: its records index the content in place. QEMU writes
 * its kdump output flattened too; its own form name ("qemu-kdump") says
 * more than "flattened", which dump.c keeps. */
const struct vr_source_layer vr_layer_flattened = {
	.name = "flattened",
	.form = "flattened",
	.open = flattened_layer_open,
};
