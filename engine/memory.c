/* Kernel virtual memory: translation (through the architecture, with a
 * small cache of translated pages) and reads that cross pages. */
#include "internal.h"
#include "cursor.h"

#include <inttypes.h>
#include <string.h>

/* Direct-mapped cache of page translations, keyed by virtual page. Only
 * successful translations are kept; the dump never changes, so nothing is
 * ever invalidated. 256 entries cover the working set of a list walk. */
#define CACHE_ENTRIES 256u

struct mem_cache {
	uint64_t vpage[CACHE_ENTRIES]; /* page | 1 when valid */
	uint64_t ppage[CACHE_ENTRIES];
};

void vr_memory_deinit(struct vr_kernel *k)
{
	if (!k)
		return;
	free(k->mem_cache);
	k->mem_cache = NULL;
}

static size_t cache_slot(uint64_t vpage)
{
	uint64_t h = (vpage >> 12) * 0x9e3779b97f4a7c15ull;
	return (size_t)(h >> 56) % CACHE_ENTRIES;
}

struct vr_error *vr_kernel_translate(struct vr_kernel *k, uint64_t vaddr, uint64_t *ret)
{
	if (!k || !k->arch || !k->dump || !vr_dump_has_memory(k->dump))
		return vr_error_create(VR_ERR_UNSUPPORTED, "0x%016" PRIx64 ": the input holds no memory",
				       vaddr);
	uint64_t vpage = vaddr & ~(uint64_t)(VR_PAGE_SIZE - 1);
	struct mem_cache *c = k->mem_cache;
	if (!c)
		c = k->mem_cache = calloc(1, sizeof(*c)); /* no cache on failure: still correct */
	size_t slot = cache_slot(vpage);
	if (c && c->vpage[slot] == (vpage | 1)) {
		*ret = c->ppage[slot] | (vaddr & (VR_PAGE_SIZE - 1));
		return NULL;
	}
	uint64_t paddr = 0;
	struct vr_error *err = k->arch->translate(k, vaddr, &paddr);
	if (err)
		return err;
	if (c) {
		c->vpage[slot] = vpage | 1;
		c->ppage[slot] = paddr & ~(uint64_t)(VR_PAGE_SIZE - 1);
	}
	*ret = paddr;
	return NULL;
}

void vr_kernel_note_miss(struct vr_kernel *k, uint64_t vaddr, uint64_t paddr,
			 const struct vr_error *err)
{
	if (!k->collecting || !err || err->code != VR_ERR_NOT_PRESENT)
		return;
	enum vr_page_state st = vr_dump_page_state(k->dump, paddr);
	if (st == VR_PAGE_UNKNOWN) /* the tally of misses is short: the step says so */
		vr_error_keep(&k->fatal, &vr_error_oom);
	struct vr_misses *m = st == VR_PAGE_EXCLUDED ? &k->miss_excluded
			      : st == VR_PAGE_CUT    ? &k->miss_cut
						     : NULL;
	if (!m)
		return;
	/* The kernel frees its init code and data after boot: a return
	 * address left in them (the boot CPU's idle stack) is no kernel data
	 * lost. */
	uint64_t ib, ie;
	if (vaddr && vr_sym(k, "__init_begin", &ib) && vr_sym(k, "__init_end", &ie) && vaddr >= ib &&
	    vaddr < ie)
		return;
	uint64_t pfn = paddr / VR_PAGE_SIZE;
	for (size_t i = 0; i < m->n; i++)
		if (m->pfns[i] == pfn)
			return;
	if (!m->first_vaddr)
		m->first_vaddr = vaddr;
	if (m->n < sizeof(m->pfns) / sizeof(m->pfns[0]))
		m->pfns[m->n++] = pfn;
	else
		m->more = true;
}

struct vr_error *vr_kernel_read_table_u64(void *arg, uint64_t paddr, uint64_t *ret)
{
	struct vr_kernel *k = arg;
	uint8_t b[8];
	struct vr_error *err = vr_dump_read_phys(k->dump, paddr, b, sizeof(b));
	if (err) {
		vr_kernel_note_miss(k, 0, paddr, err); /* a page table */
		return err;
	}
	*ret = vr_le64(b);
	return NULL;
}

struct vr_error *vr_kernel_read(struct vr_kernel *k, uint64_t vaddr, void *buf, size_t len)
{
	uint8_t *out = buf;
	while (len) {
		size_t chunk = VR_PAGE_SIZE - (size_t)(vaddr & (VR_PAGE_SIZE - 1));
		if (chunk > len)
			chunk = len;
		uint64_t paddr = 0;
		struct vr_error *err = vr_kernel_translate(k, vaddr, &paddr);
		if (err)
			return err;
		err = vr_dump_read_phys(k->dump, paddr, out, chunk);
		if (err) {
			vr_kernel_note_miss(k, vaddr, paddr, err);
			return vr_error_wrap(err, "0x%016" PRIx64 " (physical 0x%" PRIx64 ")", vaddr, paddr);
		}
		out += chunk;
		len -= chunk;
		vaddr += chunk;
		if (len && vaddr < chunk) /* wrapped past the top of the address space */
			return vr_error_create(VR_ERR_FAULT, "read past the end of the address space");
	}
	return NULL;
}

struct vr_error *vr_read_u64(struct vr_kernel *k, uint64_t vaddr, uint64_t *ret)
{
	uint8_t b[8];
	struct vr_error *err = vr_kernel_read(k, vaddr, b, sizeof(b));
	if (err)
		return err;
	*ret = vr_le64(b);
	return NULL;
}

struct vr_error *vr_read_u32(struct vr_kernel *k, uint64_t vaddr, uint32_t *ret)
{
	uint8_t b[4];
	struct vr_error *err = vr_kernel_read(k, vaddr, b, sizeof(b));
	if (err)
		return err;
	*ret = vr_le32(b);
	return NULL;
}

/* Reads page by page so that a short string at the end of a mapped page
 * does not fault on the page after it. */
struct vr_error *vr_read_string(struct vr_kernel *k, uint64_t vaddr, char *buf, size_t max)
{
	if (!max)
		return vr_error_create(VR_ERR_USAGE, "reading a string into an empty buffer");
	size_t got = 0;
	while (got < max - 1) {
		size_t chunk = VR_PAGE_SIZE - (size_t)(vaddr & (VR_PAGE_SIZE - 1));
		if (chunk > max - 1 - got)
			chunk = max - 1 - got;
		struct vr_error *err = vr_kernel_read(k, vaddr, buf + got, chunk);
		if (err) {
			buf[got] = '\0';
			return err;
		}
		void *nul = memchr(buf + got, '\0', chunk);
		if (nul)
			return NULL;
		got += chunk;
		vaddr += chunk;
	}
	buf[max - 1] = '\0';
	return NULL;
}

struct vr_error *vr_read_phys(struct vr_kernel *k, uint64_t paddr, void *buf, size_t len)
{
	if (!k || !k->dump || !vr_dump_has_memory(k->dump))
		return vr_error_create(VR_ERR_UNSUPPORTED, "physical 0x%" PRIx64 ": the input holds no memory",
				       paddr);
	return vr_dump_read_phys(k->dump, paddr, buf, len);
}
