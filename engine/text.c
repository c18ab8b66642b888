/* The vmlinux's own copy of the kernel image, and what may rewrite its
 * text after linking: the image as it was built, to compare with the
 * image as the dump holds it.
 *
 * Two things change kernel text between the build and a crash, and both
 * are recorded by the build:
 *  - the boot-time relocation by the KASLR offset
 *    (arch/x86/boot/compressed/misc.c, handle_relocations()): each 32-bit
 *    sign-extended or 64-bit absolute address of the image gets the offset
 *    added, each 32-bit PC-relative reference to a per-CPU symbol (which
 *    does not move) gets it subtracted. Debian's 6.12 vmlinux keeps no
 *    relocation sections, so a difference is accepted as the relocation
 *    only where the vmlinux's field holds an address of the image (or a
 *    per-CPU reference) and memory holds exactly that value moved by the
 *    offset: nothing else can hide behind that rule;
 *  - run-time patching, whose sites the kernel finds in tables the build
 *    writes, and which are read here from the vmlinux:
 *      .altinstructions   struct alt_instr: s32 instr_offset (relative to
 *                         the field), u8 instrlen (arch/x86/kernel/alternative.c,
 *                         apply_alternatives())
 *      .parainstructions  struct paravirt_patch_site: u8 *instr, u8 len
 *                         (apply_paravirt(), until 6.8)
 *      __jump_table       struct jump_entry: s32 code (relative), a 2- or
 *                         5-byte jump or NOP (arch/x86/kernel/jump_label.c)
 *      .static_call_sites struct static_call_site: s32 addr (relative), a
 *                         5-byte call (arch/x86/kernel/static_call.c), and
 *                         the trampolines of .static_call.text
 *      __mcount_loc       unsigned long, a 5-byte call __fentry__ that
 *                         ftrace turns into a NOP or a call to its
 *                         trampolines (arch/x86/kernel/ftrace.c), and
 *                         ftrace_call/ftrace_regs_call/ftrace_graph_call
 *                         in ftrace's own code (ftrace_update_ftrace_func())
 *      .retpoline_sites   s32 (relative): a call, jmp or jcc to a retpoline
 *                         thunk, rewritten by apply_retpolines()
 *      .return_sites      s32: a jmp (or jcc) to __x86_return_thunk
 *                         (apply_returns())
 *      .call_sites        s32: a 5-byte call, redirected for call depth
 *                         tracking (arch/x86/kernel/callthunks.c)
 *      .ibt_endbr_seal    s32: a 4-byte ENDBR64 sealed (apply_seal_endbr())
 *      .smp_locks         s32: a LOCK prefix byte (alternatives_smp_unlock())
 *      runtime_ptr_NAME   s32: an 8-byte immediate, and runtime_shift_NAME
 *                         s32: a 1-byte shift count (6.11+,
 *                         arch/x86/include/asm/runtime-const.h)
 *    The tables are found by the linker symbols around them; the layouts
 *    of the structs come from the kernel's types (VMCOREINFO, BTF, DWARF).
 * Only bytes that one of these explains are marked; every other difference
 * is left for the caller to see. */
#define _GNU_SOURCE
#include <gelf.h>
#include <inttypes.h>
#include <libelf.h>
#include <stdlib.h>
#include <string.h>

#include "cursor.h"
#include "internal.h"

#define MAX_RANGE_LEN (1u << 20)
#define MAX_RANGES 65536
#define MAX_TABLE_BYTES (64u << 20)
#define MAX_SECTIONS 65536
/* A per-CPU symbol's link-time value is an offset into the per-CPU area
 * (zero-based on x86-64 until 6.15). */
#define IMAGE_SPAN (1ull << 30) /* KERNEL_IMAGE_SIZE with KASLR */

const char *const vr_patch_names[VR_PATCH_COUNT] = {
	[VR_PATCH_NONE] = "none",
	[VR_PATCH_RELOCATION] = "relocation",
	[VR_PATCH_ALTERNATIVE] = "alternative",
	[VR_PATCH_PARAVIRT] = "paravirt",
	[VR_PATCH_JUMP_LABEL] = "jump-label",
	[VR_PATCH_STATIC_CALL] = "static-call",
	[VR_PATCH_FTRACE] = "ftrace",
	[VR_PATCH_RETPOLINE] = "retpoline",
	[VR_PATCH_RETURN_THUNK] = "return-thunk",
	[VR_PATCH_CALL_THUNK] = "call-thunk",
	[VR_PATCH_ENDBR] = "endbr",
	[VR_PATCH_SMP_LOCK] = "smp-lock",
	[VR_PATCH_RUNTIME_CONST] = "runtime-const",
};

/* The vmlinux file image and its allocated sections. */
struct image {
	const uint8_t *raw;
	size_t raw_len;
	struct sec {
		uint64_t addr, size, offset;
		bool nobits;
		const char *name;
	} *secs;
	size_t n_secs;
	uint64_t kaslr;
	uint64_t image_min; /* struct vr_arch.image_min: the relocation moves addresses above */
};

static void image_deinit(struct image *im)
{
	free(im->secs);
	memset(im, 0, sizeof(*im));
}

static struct vr_error *image_init(struct vr_kernel *k, struct image *im)
{
	memset(im, 0, sizeof(*im));
	if (!k->vmlinux_elf)
		return vr_error_create(VR_ERR_NOT_FOUND, "no vmlinux is in use");
	Elf *elf = k->vmlinux_elf;
	size_t raw_len = 0;
	const char *raw = elf_rawfile(elf, &raw_len);
	size_t shnum = 0, shstrndx = 0;
	if (!raw || elf_getshdrnum(elf, &shnum) < 0 || elf_getshdrstrndx(elf, &shstrndx) < 0)
		return vr_error_create(VR_ERR_FORMAT, "%s: %s", k->vmlinux_path, elf_errmsg(-1));
	if (shnum > MAX_SECTIONS)
		return vr_error_create(VR_ERR_LIMIT, "%s: %zu sections", k->vmlinux_path, shnum);
	im->raw = (const uint8_t *)raw;
	im->raw_len = raw_len;
	im->kaslr = k->layout.kaslr_offset;
	im->image_min = k->arch->image_min;
	im->secs = calloc(shnum ? shnum : 1, sizeof(*im->secs));
	if (!im->secs)
		return &vr_error_oom;
	for (Elf_Scn *scn = elf_nextscn(elf, NULL); scn; scn = elf_nextscn(elf, scn)) {
		GElf_Shdr sh;
		if (!gelf_getshdr(scn, &sh) || !(sh.sh_flags & SHF_ALLOC) || !sh.sh_size)
			continue;
		bool nobits = sh.sh_type == SHT_NOBITS;
		if (!nobits && (sh.sh_offset > raw_len || sh.sh_size > raw_len - sh.sh_offset))
			continue; /* a section the file does not hold: never read */
		const char *name = elf_strptr(elf, shstrndx, sh.sh_name);
		im->secs[im->n_secs++] = (struct sec){sh.sh_addr, sh.sh_size, sh.sh_offset, nobits,
						      name ? name : ""};
	}
	return NULL;
}

/* The file's bytes at link address addr, or NULL where no section of the
 * file holds all len of them. */
static const uint8_t *image_at(const struct image *im, uint64_t addr, uint64_t len)
{
	for (size_t i = 0; i < im->n_secs; i++) {
		const struct sec *s = &im->secs[i];
		if (addr < s->addr || addr - s->addr >= s->size)
			continue;
		if (s->nobits || len > s->size - (addr - s->addr))
			return NULL;
		return im->raw + s->offset + (addr - s->addr);
	}
	return NULL;
}

/* Run-time address of the image to link address. */
static uint64_t to_link(const struct image *im, uint64_t addr)
{
	return addr >= im->image_min ? addr - im->kaslr : addr;
}

struct vr_error *vr_kernel_vmlinux_read(struct vr_kernel *k, uint64_t addr, void *buf, size_t len)
{
	struct image im;
	struct vr_error *err = image_init(k, &im);
	if (err)
		return err;
	const uint8_t *p = image_at(&im, to_link(&im, addr), len);
	if (p)
		memcpy(buf, p, len);
	else
		err = vr_error_create(VR_ERR_NOT_FOUND, "no section of %s holds 0x%" PRIx64 "+%zu",
				      k->vmlinux_path, addr, len);
	image_deinit(&im);
	return err;
}

/* ---- marking the ranges ---- */

struct marker {
	struct vr_text_range *r;   /* sorted by address */
	uint64_t *link;            /* each range's link address */
	size_t n;
	/* The pages the ranges touch, from the first range's: most of a
	 * table's sites are elsewhere, and this says so without a search. */
	uint64_t page0, n_pages;
	uint8_t *pages;
	const struct image *im;
	size_t sites[VR_PATCH_COUNT]; /* sites that fell in a range, by kind */
};

static int range_cmp(const void *a, const void *b)
{
	const struct vr_text_range *x = a, *y = b;
	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

static bool page_touched(const struct marker *m, uint64_t addr)
{
	uint64_t p = (addr >> 12) - m->page0;
	return addr >> 12 >= m->page0 && p < m->n_pages && (m->pages[p >> 3] >> (p & 7) & 1);
}

/* Marks [site, site + len) (link addresses) with kind where it overlaps a
 * range and nothing marked it before. */
static void mark(struct marker *m, uint64_t site, uint64_t len, enum vr_patch kind)
{
	if (len <= 4096 && !page_touched(m, site) && !page_touched(m, site + len - 1))
		return;
	/* The first range that ends after site. */
	size_t lo = 0, hi = m->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (m->link[mid] + m->r[mid].len <= site)
			lo = mid + 1;
		else
			hi = mid;
	}
	bool any = false;
	for (size_t i = lo; i < m->n && m->link[i] < site + len; i++) {
		uint64_t from = site > m->link[i] ? site - m->link[i] : 0;
		uint64_t to = site + len - m->link[i];
		if (to > m->r[i].len)
			to = m->r[i].len;
		for (uint64_t j = from; j < to; j++)
			if (!m->r[i].patch[j])
				m->r[i].patch[j] = (uint8_t)kind;
		any = true;
	}
	if (any)
		m->sites[kind]++;
}

/* Whether [site, site + len) overlaps a range at all (cheap: decoding a
 * site's instruction is done only for those). */
static bool wanted(const struct marker *m, uint64_t site, uint64_t len)
{
	if (!page_touched(m, site) && !page_touched(m, site + len - 1))
		return false;
	size_t lo = 0, hi = m->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (m->link[mid] + m->r[mid].len <= site)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < m->n && m->link[lo] < site + len;
}

/* The length of the branch at a retpoline or return-thunk site, as
 * objtool recorded it: an optional CS prefix, then call/jmp rel32 (5) or
 * jcc rel32 (6). The longest when the bytes are unknown. */
static uint64_t branch_len(const struct image *im, uint64_t site)
{
	const uint8_t *p = image_at(im, site, 3);
	if (!p)
		return 7;
	uint64_t pre = p[0] == 0x2e ? 1 : 0;
	uint8_t op = p[pre];
	if (op == 0xe8 || op == 0xe9)
		return pre + 5;
	if (op == 0x0f && (p[pre + 1] & 0xf0) == 0x80)
		return pre + 6;
	return 7;
}

/* A jump label's site: a 2-byte jmp or NOP, else 5 bytes. */
static uint64_t jump_len(const struct image *im, uint64_t site)
{
	const uint8_t *p = image_at(im, site, 2);
	if (p && (p[0] == 0xeb || (p[0] == 0x66 && p[1] == 0x90)))
		return 2;
	return 5;
}

/* A table between two linker symbols, as link addresses and the file's
 * bytes; an empty one when the kernel has no such table (neither symbol). */
static struct vr_error *table(struct vr_kernel *k, const struct image *im, const char *start,
			      const char *end, uint64_t *ret_addr, const uint8_t **ret_p, uint64_t *ret_len)
{
	struct vr_symbol a, b;
	bool has_a = !vr_kernel_absorb(k, vr_kernel_symbol_lookup(k, start, &a), VR_ERR_NOT_FOUND);
	bool has_b = !vr_kernel_absorb(k, vr_kernel_symbol_lookup(k, end, &b), VR_ERR_NOT_FOUND);
	*ret_addr = 0;
	*ret_p = NULL;
	*ret_len = 0;
	if (!has_a && !has_b)
		return NULL;
	if (!has_a || !has_b)
		return vr_error_create(VR_ERR_NOT_FOUND, "the vmlinux names %s but not %s",
				       has_a ? start : end, has_a ? end : start);
	uint64_t la = to_link(im, a.address), lb = to_link(im, b.address);
	if (lb < la || lb - la > MAX_TABLE_BYTES)
		return vr_error_create(VR_ERR_FORMAT, "%s..%s spans %" PRIu64 " bytes", start, end,
				       lb > la ? lb - la : 0);
	const uint8_t *p = lb > la ? image_at(im, la, lb - la) : NULL;
	if (lb > la && !p)
		return vr_error_create(VR_ERR_NOT_FOUND, "no section of the vmlinux holds %s", start);
	*ret_addr = la;
	*ret_p = p;
	*ret_len = lb - la;
	return NULL;
}

/* A table of s32 offsets, each relative to itself, to sites of fixed
 * length (len) or of a length found at the site (len 0: a branch). */
static void rel32_sites(struct marker *m, uint64_t at, const uint8_t *p, uint64_t bytes, uint64_t len,
			enum vr_patch kind)
{
	/* Tens of thousands of entries, few of them in the ranges: the page
	 * bitmap turns most away before anything else is done. A site never
	 * spans more than two pages. */
	const uint8_t *pages = m->pages;
	uint64_t page0 = m->page0, n_pages = m->n_pages, span = len ? len : 7;
	for (uint64_t off = 0; off + 4 <= bytes; off += 4) {
		uint64_t site = at + off + (uint64_t)(int64_t)(int32_t)vr_le32(p + off);
		uint64_t p0 = (site >> 12) - page0, p1 = ((site + span - 1) >> 12) - page0;
		bool in0 = p0 < n_pages && (pages[p0 >> 3] >> (p0 & 7) & 1);
		bool in1 = p1 < n_pages && (pages[p1 >> 3] >> (p1 & 7) & 1);
		if (!in0 && !in1)
			continue;
		if (!wanted(m, site, span))
			continue;
		mark(m, site, len ? len : branch_len(m->im, site), kind);
	}
}

struct rel_table {
	const char *start, *end;
	enum vr_patch kind;
	uint64_t len; /* 0: a branch, decoded */
};

static const struct rel_table rel_tables[] = {
	{"__retpoline_sites", "__retpoline_sites_end", VR_PATCH_RETPOLINE, 0},
	{"__return_sites", "__return_sites_end", VR_PATCH_RETURN_THUNK, 0},
	{"__call_sites", "__call_sites_end", VR_PATCH_CALL_THUNK, 5},
	{"__ibt_endbr_seal", "__ibt_endbr_seal_end", VR_PATCH_ENDBR, 4},
	{"__smp_locks", "__smp_locks_end", VR_PATCH_SMP_LOCK, 1},
};

/* A struct table: entries of the type's size; the site is at member
 * site_member (relative s32, or an absolute pointer when absolute), its
 * length fixed or in the u8 member len_member. */
struct struct_table {
	const char *start, *end, *type, *site_member, *len_member;
	bool absolute;
	enum vr_patch kind;
	uint64_t len;
};

static const struct struct_table struct_tables[] = {
	{"__alt_instructions", "__alt_instructions_end", "alt_instr", "instr_offset", "instrlen", false,
	 VR_PATCH_ALTERNATIVE, 0},
	{"__parainstructions", "__parainstructions_end", "paravirt_patch_site", "instr", "len", true,
	 VR_PATCH_PARAVIRT, 0},
	{"__start___jump_table", "__stop___jump_table", "jump_entry", "code", NULL, false,
	 VR_PATCH_JUMP_LABEL, 0},
	{"__start_static_call_sites", "__stop_static_call_sites", "static_call_site", "addr", NULL, false,
	 VR_PATCH_STATIC_CALL, 5},
};

static struct vr_error *struct_sites(struct vr_kernel *k, struct marker *m, const struct struct_table *t)
{
	uint64_t at, bytes;
	const uint8_t *p;
	struct vr_error *err = table(k, m->im, t->start, t->end, &at, &p, &bytes);
	if (err || !bytes)
		return err;
	uint64_t size, site_off, len_off = 0;
	if ((err = vr_type_size(k, t->type, &size)) ||
	    (err = vr_kernel_member_offset(k, t->type, t->site_member, &site_off)) ||
	    (t->len_member && (err = vr_kernel_member_offset(k, t->type, t->len_member, &len_off))))
		return vr_error_wrap(err, "the layout of struct %s", t->type);
	if (!size || size > 256 || site_off + (t->absolute ? 8 : 4) > size || len_off >= size)
		return vr_error_create(VR_ERR_FORMAT, "struct %s: size %" PRIu64 " does not hold its members",
				       t->type, size);
	/* Entries are the type's size apart; the last may lack the padding
	 * after its members (5.10's .parainstructions). */
	uint64_t need = site_off + (t->absolute ? 8 : 4);
	if (t->len_member && len_off + 1 > need)
		need = len_off + 1;
	if (bytes % size && bytes % size < need)
		return vr_error_create(VR_ERR_FORMAT, "%s..%s: %" PRIu64 " bytes is not a whole number of struct %s (%" PRIu64 " bytes)",
				       t->start, t->end, bytes, t->type, size);
	for (uint64_t off = 0; off + need <= bytes; off += size) {
		const uint8_t *e = p + off;
		uint64_t site = t->absolute ? vr_le64(e + site_off)
					    : at + off + site_off + (uint64_t)(int64_t)(int32_t)vr_le32(e + site_off);
		uint64_t len = t->len ? t->len : t->len_member ? e[len_off] : 0;
		if (t->kind == VR_PATCH_JUMP_LABEL) {
			if (!wanted(m, site, 5))
				continue;
			len = jump_len(m->im, site);
		}
		if (len)
			mark(m, site, len, t->kind);
	}
	return NULL;
}

/* __mcount_loc: absolute addresses of 5-byte calls to __fentry__. */
static struct vr_error *mcount_sites(struct vr_kernel *k, struct marker *m)
{
	uint64_t at, bytes;
	const uint8_t *p;
	struct vr_error *err = table(k, m->im, "__start_mcount_loc", "__stop_mcount_loc", &at, &p, &bytes);
	if (err || !bytes)
		return err;
	for (uint64_t off = 0; off + 8 <= bytes; off += 8)
		mark(m, vr_le64(p + off), 5, VR_PATCH_FTRACE);
	return NULL;
}

/* Run-time constants (6.11+): one section per constant. */
static void runtime_const_sites(struct marker *m)
{
	for (size_t i = 0; i < m->im->n_secs; i++) {
		const struct sec *s = &m->im->secs[i];
		uint64_t len = !strncmp(s->name, "runtime_ptr_", 12) ? 8 : !strncmp(s->name, "runtime_shift_", 14) ? 1 : 0;
		if (!len || s->nobits)
			continue;
		rel32_sites(m, s->addr, m->im->raw + s->offset, s->size, len, VR_PATCH_RUNTIME_CONST);
	}
}

/* ftrace's own call sites, and the static-call trampolines. */
static void symbol_sites(struct vr_kernel *k, struct marker *m)
{
	static const char *const ftrace_sites[] = {"ftrace_call", "ftrace_regs_call", "ftrace_graph_call"};
	struct vr_symbol s, e;
	for (size_t i = 0; i < sizeof(ftrace_sites) / sizeof(ftrace_sites[0]); i++)
		if (!vr_kernel_absorb(k, vr_kernel_symbol_lookup(k, ftrace_sites[i], &s), VR_ERR_NOT_FOUND))
			mark(m, to_link(m->im, s.address), 5, VR_PATCH_FTRACE);
	if (!vr_kernel_absorb(k, vr_kernel_symbol_lookup(k, "__static_call_text_start", &s), VR_ERR_NOT_FOUND) &&
	    !vr_kernel_absorb(k, vr_kernel_symbol_lookup(k, "__static_call_text_end", &e), VR_ERR_NOT_FOUND) &&
	    e.address > s.address && e.address - s.address < MAX_TABLE_BYTES)
		mark(m, to_link(m->im, s.address), e.address - s.address, VR_PATCH_STATIC_CALL);
}

/* The boot-time relocation: where memory and file differ at a byte no
 * table explains, a 4- or 8-byte field around it whose memory value is
 * the file's moved by the KASLR offset, and whose file value is an address
 * of the image (or, subtracted, a PC-relative reference to a per-CPU
 * symbol), was relocated. */
static void relocations(const struct image *im, struct vr_text_range *r, uint64_t link,
			uint64_t percpu_end, size_t *count)
{
	uint64_t delta = im->kaslr;
	if (!delta || !r->mem)
		return;
	for (uint64_t i = 0; i < r->len; i++) {
		if (r->mem[i] == r->file[i] || r->patch[i])
			continue;
		bool done = false;
		for (uint64_t w = i >= 3 ? i - 3 : 0; !done && w <= i && w + 4 <= r->len; w++) {
			uint32_t f = vr_le32(r->file + w), mv = vr_le32(r->mem + w);
			uint64_t fx = (uint64_t)(int64_t)(int32_t)f;
			bool abs32 = mv == (uint32_t)(f + delta) && fx >= im->image_min &&
				     fx - im->image_min < IMAGE_SPAN;
			uint64_t target = link + w + 4 + fx;
			bool inverse = mv == (uint32_t)(f - delta) && percpu_end && target < percpu_end;
			if (abs32 || inverse) {
				memset(r->patch + w, VR_PATCH_RELOCATION, 4);
				done = true;
			}
		}
		for (uint64_t w = i >= 7 ? i - 7 : 0; !done && w <= i && w + 8 <= r->len; w++) {
			uint64_t f = vr_le64(r->file + w), mv = vr_le64(r->mem + w);
			if (mv == f + delta && f >= im->image_min && f - im->image_min < IMAGE_SPAN) {
				memset(r->patch + w, VR_PATCH_RELOCATION, 8);
				done = true;
			}
		}
		if (done)
			(*count)++;
	}
}

void vr_text_ranges_deinit(struct vr_text_range *ranges, size_t n)
{
	for (size_t i = 0; ranges && i < n; i++) {
		free(ranges[i].mem);
		free(ranges[i].file);
		free(ranges[i].patch);
		vr_error_destroy(ranges[i].mem_err);
		ranges[i].mem = ranges[i].file = ranges[i].patch = NULL;
		ranges[i].mem_err = NULL;
	}
}

struct vr_error *vr_kernel_text_ranges(struct vr_kernel *k, struct vr_text_range *ranges, size_t n,
				       size_t *ret_sites)
{
	if (n > MAX_RANGES)
		return vr_error_create(VR_ERR_LIMIT, "%zu text ranges (limit %u)", n, MAX_RANGES);
	struct image im;
	struct vr_error *err = image_init(k, &im);
	if (err)
		return err;
	qsort(ranges, n, sizeof(*ranges), range_cmp);
	struct marker m = {.r = ranges, .n = n, .im = &im};
	m.link = calloc(n ? n : 1, sizeof(*m.link));
	if (!m.link) {
		image_deinit(&im);
		return &vr_error_oom;
	}
	for (size_t i = 0; !err && i < n; i++) {
		struct vr_text_range *r = &ranges[i];
		if (!r->len || r->len > MAX_RANGE_LEN) {
			err = vr_error_create(VR_ERR_LIMIT, "text range 0x%" PRIx64 ": %" PRIu64 " bytes", r->addr, r->len);
			break;
		}
		m.link[i] = to_link(&im, r->addr);
		const uint8_t *p = image_at(&im, m.link[i], r->len);
		if (!p) {
			err = vr_error_create(VR_ERR_NOT_FOUND, "no section of %s holds the text at 0x%" PRIx64,
					      k->vmlinux_path, r->addr);
			break;
		}
		r->file = (uint8_t *)vr_memdup(p, r->len);
		r->patch = calloc(r->len, 1);
		r->mem = malloc(r->len);
		if (!r->file || !r->patch || !r->mem) {
			err = &vr_error_oom;
			break;
		}
		if ((r->mem_err = vr_kernel_read(k, r->addr, r->mem, r->len))) {
			free(r->mem);
			r->mem = NULL;
		}
	}
	if (!err && n) {
		m.page0 = m.link[0] >> 12;
		uint64_t last = (m.link[n - 1] + ranges[n - 1].len - 1) >> 12;
		for (size_t i = 0; i < n; i++)
			if ((m.link[i] + ranges[i].len - 1) >> 12 > last)
				last = (m.link[i] + ranges[i].len - 1) >> 12;
		m.n_pages = last - m.page0 + 1;
		if (m.n_pages > (1u << 24))
			err = vr_error_create(VR_ERR_LIMIT, "text ranges spanning %" PRIu64 " pages", m.n_pages);
		else if (!(m.pages = calloc((size_t)(m.n_pages + 7) / 8, 1)))
			err = &vr_error_oom;
		for (size_t i = 0; !err && i < n; i++)
			for (uint64_t p = m.link[i] >> 12; p <= (m.link[i] + ranges[i].len - 1) >> 12; p++)
				m.pages[(p - m.page0) >> 3] |= (uint8_t)(1u << ((p - m.page0) & 7));
	}
	for (size_t t = 0; !err && t < sizeof(struct_tables) / sizeof(struct_tables[0]); t++)
		err = vr_error_wrap(struct_sites(k, &m, &struct_tables[t]), "%s", struct_tables[t].start);
	for (size_t t = 0; !err && t < sizeof(rel_tables) / sizeof(rel_tables[0]); t++) {
		uint64_t at, bytes;
		const uint8_t *p;
		err = vr_error_wrap(table(k, &im, rel_tables[t].start, rel_tables[t].end, &at, &p, &bytes),
				    "%s", rel_tables[t].start);
		if (!err && bytes)
			rel32_sites(&m, at, p, bytes, rel_tables[t].len, rel_tables[t].kind);
	}
	if (!err)
		err = vr_error_wrap(mcount_sites(k, &m), "__mcount_loc");
	if (!err) {
		runtime_const_sites(&m);
		symbol_sites(k, &m);
		struct vr_symbol pe;
		uint64_t percpu_end = 0;
		if (!vr_kernel_absorb(k, vr_kernel_symbol_lookup(k, "__per_cpu_end", &pe), VR_ERR_NOT_FOUND) &&
		    pe.address < im.image_min)
			percpu_end = pe.address;
		size_t relocs = 0;
		for (size_t i = 0; i < n; i++)
			relocations(&im, &ranges[i], m.link[i], percpu_end, &relocs);
		m.sites[VR_PATCH_RELOCATION] = relocs;
		if (ret_sites)
			memcpy(ret_sites, m.sites, sizeof(m.sites));
	}
	free(m.link);
	free(m.pages);
	image_deinit(&im);
	if (err)
		vr_text_ranges_deinit(ranges, n);
	return err;
}
