/* ELF64 core dumps (of any architecture engine/arch.h knows):
 *  - kdump's /proc/vmcore as saved by cp/makedumpfile -E: PT_LOADs carry
 *    both the kernel virtual address (p_vaddr: the kernel image map and the
 *    direct map, kernel/crash_core.c crash_prepare_elf64_headers) and the
 *    physical address; makedumpfile -E leaves filtered pages out by
 *    splitting segments or by p_filesz < p_memsz;
 *  - QEMU's dump-guest-memory: PT_LOADs with physical addresses (p_vaddr 0
 *    unless paging was requested), plus "QEMU" CPU-state notes
 *    (dump/dump.c, target/i386/arch_dump.c).
 * Bytes of [p_filesz, p_memsz) were not captured and read as not present.
 * The headers are parsed by hand (all fields little-endian) so that every
 * offset is checked against the file before use. */
#include <inttypes.h>
#include <string.h>

#include "arch.h"
#include "cursor.h"
#include "format.h"
#include "notes.h"

#define ET_CORE 4
#define PT_LOAD 1
#define PT_NOTE 4
#define PN_XNUM 0xffff
#define MAX_PHDRS (1u << 20)

struct seg {
	uint64_t start; /* paddr or vaddr */
	uint64_t filesz, memsz;
	uint64_t written;  /* p_filesz as the header says it; more than filesz when cut */
	uint64_t offset;
	uint64_t paddr; /* for the vaddr map */
};

struct elf_state {
	struct seg *phys;   /* sorted by start */
	uint64_t *phys_maxend; /* prefix max of start+memsz */
	size_t n_phys;
	struct seg *virt;   /* segments with a real p_vaddr, sorted by vaddr */
	uint64_t *virt_maxend;
	size_t n_virt;
	uint16_t e_machine;
};

static int cmp_seg(const void *a, const void *b)
{
	const struct seg *x = a, *y = b;
	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	return x->memsz > y->memsz ? -1 : x->memsz < y->memsz;
}

static struct vr_error *prefix_max(struct seg *s, size_t n, uint64_t **ret)
{
	uint64_t *m = malloc((n ? n : 1) * sizeof(*m));
	if (!m)
		return &vr_error_oom;
	uint64_t cur = 0;
	for (size_t i = 0; i < n; i++) {
		uint64_t e = s[i].start + s[i].memsz;
		if (e > cur)
			cur = e;
		m[i] = cur;
	}
	*ret = m;
	return NULL;
}

/* The segment holding addr; with file data at addr when want_data. Walks
 * back from the last segment starting at or below addr while earlier
 * segments may still reach it (overlaps: the kernel image segment lies
 * inside a RAM segment). */
static const struct seg *find(const struct seg *s, const uint64_t *maxend, size_t n, uint64_t addr,
			      bool want_data)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (s[mid].start <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	const struct seg *any = NULL;
	for (size_t i = lo; i-- > 0;) {
		if (maxend[i] <= addr)
			break;
		uint64_t in = addr - s[i].start;
		if (in < s[i].filesz)
			return &s[i];
		if (in < s[i].memsz && !any)
			any = &s[i];
	}
	return want_data ? NULL : any;
}

static void elf_close(struct vr_dump *d)
{
	struct elf_state *st = d->priv;
	if (!st)
		return;
	free(st->phys);
	free(st->phys_maxend);
	free(st->virt);
	free(st->virt_maxend);
	free(st);
	d->priv = NULL;
}

/* Which length of a segment union_pages() counts. */
enum seg_len { SEG_MEM, SEG_DATA, SEG_WRITTEN };

static uint64_t union_pages(const struct seg *s, size_t n, enum seg_len which)
{
	/* pages covered by the union of sorted intervals */
	uint64_t total = 0, cur_lo = 0, cur_hi = 0;
	bool open = false;
	for (size_t i = 0; i < n; i++) {
		uint64_t lo = s[i].start / VR_PAGE_SIZE;
		uint64_t len = which == SEG_DATA ? s[i].filesz : which == SEG_WRITTEN ? s[i].written : s[i].memsz;
		if (!len)
			continue;
		uint64_t hi = (s[i].start + len + VR_PAGE_SIZE - 1) / VR_PAGE_SIZE;
		if (open && lo <= cur_hi) {
			if (hi > cur_hi)
				cur_hi = hi;
			continue;
		}
		if (open)
			total += cur_hi - cur_lo;
		cur_lo = lo;
		cur_hi = hi;
		open = true;
	}
	if (open)
		total += cur_hi - cur_lo;
	return total;
}

/* The ELF header's facts vr_elf needs: where the program headers are
 * and how many. VR_FORMAT_NOT_MINE when head is no ELF file. */
static struct vr_error *parse_ehdr(const struct vr_source *s, const uint8_t *head, size_t head_len, uint64_t *ret_phoff,
				   uint32_t *ret_phnum)
{
	const char *path = s->path;
	if (head_len < 4 || memcmp(head, "\x7f" "ELF", 4) != 0)
		return VR_FORMAT_NOT_MINE;
	if (head_len < 64)
		return vr_error_create(VR_ERR_FORMAT, "%s: ELF header: short read at offset 0x%zx: unexpected end of file",
				       path, head_len);
	if (head[4] != 2)
		return vr_error_create(VR_ERR_UNSUPPORTED,
				       "%s: ELF header at offset 0x4: only 64-bit ELF cores are supported", path);
	if (head[5] != 1)
		return vr_error_create(VR_ERR_UNSUPPORTED,
				       "%s: ELF header at offset 0x5: only little-endian ELF cores are supported", path);
	struct vr_cursor c;
	vr_cursor_init(&c, head, 64);
	vr_cursor_skip(&c, 16);
	uint16_t type = vr_cursor_u16(&c), machine = vr_cursor_u16(&c);
	vr_cursor_skip(&c, 4 + 8); /* e_version, e_entry */
	uint64_t phoff = vr_cursor_u64(&c), shoff = vr_cursor_u64(&c);
	vr_cursor_skip(&c, 4 + 2); /* e_flags, e_ehsize */
	uint16_t phentsize = vr_cursor_u16(&c);
	uint32_t phnum = vr_cursor_u16(&c);
	if (type != ET_CORE)
		return vr_error_create(VR_ERR_FORMAT, "%s: ELF header at offset 0x10: type %u is not a core file", path,
				       type);
	if (!vr_arch_by_machine(machine))
		return vr_error_create(VR_ERR_UNSUPPORTED,
				       "%s: ELF header at offset 0x12: machine %u is no architecture vmreport reads",
				       path, machine);
	if (phentsize != 56)
		return vr_error_create(VR_ERR_FORMAT, "%s: ELF header at offset 0x36: program header size %u is not 56",
				       path, phentsize);
	uint64_t phnum_at = 0x38; /* where the count was read */
	if (phnum == PN_XNUM) {
		/* more than 65534 segments: the count is in section 0's sh_info
		 * (ELF gABI "Extended numbering"); kdump uses it on big machines */
		uint8_t sh0[64];
		struct vr_error *err = vr_source_pread(s, sh0, sizeof(sh0), shoff, "section header 0");
		if (err)
			return vr_error_wrap(err, "%s", path);
		phnum = vr_le32(sh0 + 44);
		phnum_at = shoff + 44;
	}
	if (phnum == 0 || phnum > MAX_PHDRS)
		return vr_error_create(VR_ERR_LIMIT, "%s: %s at offset 0x%" PRIx64 ": %u program headers (expected 1 to %u)",
				       path, phnum_at == 0x38 ? "ELF header" : "section header 0", phnum_at, phnum,
				       MAX_PHDRS);
	if (phoff > s->size || (uint64_t)phnum * 56 > s->size - phoff)
		return vr_error_create(VR_ERR_FORMAT,
				       "%s: program headers at offset 0x%" PRIx64 " run past the end of the file (0x%" PRIx64 ")",
				       path, phoff, s->size);
	*ret_phoff = phoff;
	*ret_phnum = phnum;
	return NULL;
}

/* Room for the segments and the notes the program headers describe. */
static struct vr_error *size_segments(struct vr_dump *d, struct elf_state *st, const uint8_t *ph, uint32_t phnum,
				      uint64_t phoff, size_t *ret_notes_len)
{
	size_t n_load = 0, notes_len = 0;
	for (uint32_t i = 0; i < phnum; i++) {
		const uint8_t *p = ph + (size_t)i * 56;
		uint32_t pt = vr_le32(p);
		if (pt == PT_LOAD) {
			n_load++;
		} else if (pt == PT_NOTE) {
			uint64_t fsz = vr_le64(p + 32);
			if (fsz > VR_MAX_NOTES_BYTES || notes_len + fsz > VR_MAX_NOTES_BYTES)
				return vr_error_create(VR_ERR_LIMIT,
						       "%s: program header %u at offset 0x%" PRIx64
						       ": notes of %" PRIu64 " bytes exceed the limit",
						       d->src[0].path, i, phoff + (uint64_t)i * 56, fsz);
			notes_len += fsz;
		}
	}
	st->phys = calloc(n_load ? n_load : 1, sizeof(*st->phys));
	st->virt = calloc(n_load ? n_load : 1, sizeof(*st->virt));
	if (!st->phys || !st->virt)
		return &vr_error_oom;
	*ret_notes_len = notes_len;
	return NULL;
}

/* One PT_LOAD program header i (at file offset where) as a physical
 * segment and, when it has a virtual address, a virtual one. */
static struct vr_error *add_segment(struct vr_dump *d, struct elf_state *st, const uint8_t *p, uint32_t i,
				    uint64_t where)
{
	const struct vr_source *s = &d->src[0];
	uint64_t off = vr_le64(p + 8), vaddr = vr_le64(p + 16), paddr = vr_le64(p + 24);
	uint64_t filesz = vr_le64(p + 32), memsz = vr_le64(p + 40);
	if (filesz > memsz)
		return vr_error_create(VR_ERR_FORMAT,
				       "%s: program header %u at offset 0x%" PRIx64 ": p_filesz 0x%" PRIx64
				       " exceeds p_memsz 0x%" PRIx64,
				       s->path, i, where, filesz, memsz);
	if (paddr + memsz < paddr || (vaddr && vaddr + memsz < vaddr))
		return vr_error_create(VR_ERR_FORMAT,
				       "%s: program header %u at offset 0x%" PRIx64 ": segment wraps the address space",
				       s->path, i, where);
	uint64_t written = filesz;
	if (memsz > filesz)
		d->info.filtered = true; /* pages left out of the segment */
	if (off > s->size || filesz > s->size - off) {
		/* a truncated dump: the rest of the segment is missing */
		d->info.incomplete = true;
		filesz = off > s->size ? 0 : s->size - off;
	}
	st->phys[st->n_phys++] = (struct seg){paddr, filesz, memsz, written, off, paddr};
	/* QEMU without paging writes p_vaddr 0: no virtual map then */
	if (vaddr)
		st->virt[st->n_virt++] = (struct seg){vaddr, filesz, memsz, written, off, paddr};
	return NULL;
}

/* The notes of PT_NOTE program header i, appended at notes[*pos]; a cut
 * file keeps what it holds. */
static struct vr_error *read_notes(struct vr_dump *d, const uint8_t *p, uint32_t i, uint8_t *notes, size_t *pos)
{
	const struct vr_source *s = &d->src[0];
	uint64_t off = vr_le64(p + 8), filesz = vr_le64(p + 32);
	if (off > s->size || filesz > s->size - off) {
		d->info.incomplete = true;
		filesz = off > s->size ? 0 : s->size - off;
	}
	struct vr_error *err = vr_source_pread(s, notes + *pos, (size_t)filesz, off, "notes");
	if (err)
		return vr_error_wrap(err, "%s: program header %u", s->path, i);
	*pos += (size_t)filesz;
	return NULL;
}

/* The dump's facts from its sorted segments and its notes. */
static struct vr_error *finish_open(struct vr_dump *d, struct elf_state *st, const uint8_t *notes, size_t notes_len)
{
	qsort(st->phys, st->n_phys, sizeof(*st->phys), cmp_seg);
	qsort(st->virt, st->n_virt, sizeof(*st->virt), cmp_seg);
	struct vr_error *err;
	if ((err = prefix_max(st->phys, st->n_phys, &st->phys_maxend)) ||
	    (err = prefix_max(st->virt, st->n_virt, &st->virt_maxend)))
		return err;
	struct vr_notes nt;
	err = vr_notes_parse(notes, notes_len, &nt);
	if (err)
		return vr_error_wrap(err, "%s: notes", d->src[0].path);
	d->cpus = nt.cpus;
	d->n_cpus = nt.n_cpus;
	d->vmcoreinfo = nt.vmcoreinfo;
	d->vmcoreinfo_len = nt.vmcoreinfo_len;
	d->info.form = nt.qemu ? "qemu-elf" : "elf";
	d->info.e_machine = st->e_machine;
	d->info.compression = "none";
	uint64_t max_end = st->n_phys ? st->phys_maxend[st->n_phys - 1] : 0;
	d->info.max_pfn = (max_end + VR_PAGE_SIZE - 1) / VR_PAGE_SIZE;
	d->info.pages_total = union_pages(st->phys, st->n_phys, SEG_MEM);
	d->info.pages_present = union_pages(st->phys, st->n_phys, SEG_DATA);
	/* Overlapping segments share pages: count each page once. */
	d->info.pages_cut = union_pages(st->phys, st->n_phys, SEG_WRITTEN) - d->info.pages_present;
	return NULL;
}

static struct vr_error *elf_open(struct vr_dump *d, const uint8_t *head, size_t head_len)
{
	struct vr_source *s = &d->src[0];
	uint64_t phoff = 0;
	uint32_t phnum = 0;
	struct vr_error *err = parse_ehdr(s, head, head_len, &phoff, &phnum);
	if (err)
		return err;
	size_t ph_len = (size_t)phnum * 56;
	_cleanup_free_ uint8_t *ph = malloc(ph_len);
	if (!ph)
		return &vr_error_oom;
	err = vr_source_pread(s, ph, ph_len, phoff, "program headers");
	if (err)
		return vr_error_wrap(err, "%s", s->path);
	struct elf_state *st = calloc(1, sizeof(*st));
	if (!st)
		return &vr_error_oom;
	d->priv = st;
	st->e_machine = (uint16_t)(head[18] | head[19] << 8); /* parse_ehdr() read 64 bytes */
	size_t notes_len = 0;
	if ((err = size_segments(d, st, ph, phnum, phoff, &notes_len)))
		return err;
	_cleanup_free_ uint8_t *notes = malloc(notes_len ? notes_len : 1);
	if (!notes)
		return &vr_error_oom;
	size_t notes_pos = 0;
	for (uint32_t i = 0; i < phnum && !err; i++) {
		const uint8_t *p = ph + (size_t)i * 56;
		uint32_t pt = vr_le32(p);
		if (pt == PT_NOTE)
			err = read_notes(d, p, i, notes, &notes_pos);
		else if (pt == PT_LOAD)
			err = add_segment(d, st, p, i, phoff + (uint64_t)i * 56);
	}
	return err ? err : finish_open(d, st, notes, notes_pos);
}

static struct vr_error *elf_read(struct vr_dump *d, uint64_t paddr, void *buf, size_t len)
{
	struct elf_state *st = d->priv;
	uint8_t *p = buf;
	while (len) {
		const struct seg *sg = find(st->phys, st->phys_maxend, st->n_phys, paddr, true);
		if (!sg)
			return vr_error_create(VR_ERR_NOT_PRESENT,
					       "physical address 0x%" PRIx64 " is not in the dump", paddr);
		uint64_t in = paddr - sg->start;
		size_t n = (size_t)(sg->filesz - in < len ? sg->filesz - in : len);
		struct vr_error *err = vr_source_pread(&d->src[0], p, n, sg->offset + in, "memory");
		if (err)
			return vr_error_wrap(err, "%s: physical address 0x%" PRIx64, d->src[0].path,
					     paddr);
		p += n;
		paddr += n;
		len -= n;
	}
	return NULL;
}

static bool elf_present(struct vr_dump *d, uint64_t pfn)
{
	struct elf_state *st = d->priv;
	return find(st->phys, st->phys_maxend, st->n_phys, pfn * VR_PAGE_SIZE, true) != NULL;
}

static enum vr_page_state elf_page_state(struct vr_dump *d, uint64_t pfn)
{
	struct elf_state *st = d->priv;
	uint64_t paddr = pfn * VR_PAGE_SIZE;
	if (find(st->phys, st->phys_maxend, st->n_phys, paddr, true))
		return VR_PAGE_PRESENT;
	const struct seg *sg = find(st->phys, st->phys_maxend, st->n_phys, paddr, false);
	if (!sg)
		return VR_PAGE_ABSENT;
	return paddr - sg->start < sg->written ? VR_PAGE_CUT : VR_PAGE_EXCLUDED;
}

static struct vr_error *elf_vtop(const struct vr_dump *d, uint64_t vaddr, uint64_t *ret)
{
	const struct elf_state *st = d->priv;
	const struct seg *sg = find(st->virt, st->virt_maxend, st->n_virt, vaddr, false);
	if (!sg)
		return vr_error_create(VR_ERR_NOT_FOUND,
				       "no ELF segment maps virtual address 0x%" PRIx64, vaddr);
	*ret = sg->paddr + (vaddr - sg->start);
	return NULL;
}

const struct vr_format vr_format_elf = {
	.name = "elf",
	.open = elf_open,
	.close = elf_close,
	.read = elf_read,
	.present = elf_present,
	.page_state = elf_page_state,
	.vtop = elf_vtop,
};
