/* x86-64: the kernel's virtual address space (layout from VMCOREINFO, page
 * tables from the dump).
 *
 * Layout facts relied on (Linux 4.x .. 6.x):
 *  - arch/x86/include/asm/page_64_types.h: __START_KERNEL_map
 *    0xffffffff80000000, KERNEL_IMAGE_SIZE 1 GiB with CONFIG_RANDOMIZE_BASE
 *    (else 512 MiB), __PAGE_OFFSET_BASE_L4/L5.
 *  - arch/x86/include/asm/pgtable_64_types.h: MODULES_VADDR =
 *    __START_KERNEL_map + KERNEL_IMAGE_SIZE, MODULES_END 0xffffffffff000000,
 *    __VMALLOC_BASE_L4/L5, __VMEMMAP_BASE_L4/L5.
 *  - arch/x86/include/asm/pgtable_types.h: _PAGE_PRESENT bit 0, _PAGE_PSE
 *    bit 7; physical address bits 12..51 (__PHYSICAL_MASK_SHIFT 52), with
 *    the SME C-bit (sme_me_mask) to be cleared and NX (bit 63) above.
 *  - arch/x86/kernel/machine_kexec_64.c (arch_crash_save_vmcoreinfo):
 *    NUMBER(phys_base), SYMBOL(init_top_pgt), NUMBER(pgtable_l5_enabled),
 *    (older kernels: SYMBOL(phys_base), the variable's address, and before
 *    4.13 SYMBOL(init_level4_pgt)),
 *    SYMBOL(page_offset_base)/vmalloc_base/vmemmap_base (when the memory
 *    layout is randomised), KERNELOFFSET, NUMBER(KERNEL_IMAGE_SIZE),
 *    NUMBER(sme_mask).
 *  - arch/x86/include/asm/page_64.h (__phys_addr_nodebug): a kernel-image
 *    address is vaddr - __START_KERNEL_map + phys_base; a direct-map address
 *    is vaddr - PAGE_OFFSET.
 */
#include "internal.h"
#include "x86_64.h"
#include "cursor.h"

#include <inttypes.h>
#include <string.h>

#define PAGE_PRESENT 0x1ull
#define PAGE_PSE 0x80ull
/* Bits 12..51: PTE_PFN_MASK with __PHYSICAL_MASK_SHIFT 52. */
#define PHYS_MASK_4K 0x000ffffffffff000ull
#define PHYS_MASK_2M 0x000fffffffe00000ull /* bit 12 is PAT in a huge entry */
#define PHYS_MASK_1G 0x000fffffc0000000ull

#define PAGE_OFFSET_L4 0xffff888000000000ull
#define PAGE_OFFSET_L4_OLD 0xffff880000000000ull /* before 4.20 */
#define PAGE_OFFSET_L5 0xff11000000000000ull
#define VMALLOC_L4 0xffffc90000000000ull
#define VMALLOC_L5 0xffa0000000000000ull
#define VMEMMAP_L4 0xffffea0000000000ull
#define VMEMMAP_L5 0xffd4000000000000ull
#define MODULES_END 0xffffffffff000000ull
/* Direct-map size: 64 TiB with 4 levels, 4 PiB with 5 (the kernel's
 * documented layout, Documentation/x86/x86_64/mm.rst). */
#define DIRECT_MAP_L4 (1ull << 46)
#define DIRECT_MAP_L5 (1ull << 52)

bool vr_x86_64_canonical(uint64_t vaddr, bool la57)
{
	int bits = la57 ? 57 : 48;
	int64_t s = (int64_t)(vaddr << (64 - bits)) >> (64 - bits);
	return (uint64_t)s == vaddr;
}

/* The walk; on a fault *fault_shift (when not NULL) is the shift of the
 * level whose entry was not present (39 for a 4-level PGD, 21 for a PMD). */
static struct vr_error *walk(uint64_t pgd, bool la57, uint64_t sme_mask, uint64_t vaddr,
			     vr_x86_64_read_fn read, void *arg, uint64_t *ret, uint64_t *ret_page_size,
			     int *fault_shift)
{
	static const char *const names4[] = {"PGD", "PUD", "PMD", "PTE"};
	static const char *const names5[] = {"PGD", "P4D", "PUD", "PMD", "PTE"};
	const char *const *names = la57 ? names5 : names4;
	int levels = la57 ? 5 : 4;

	if (!vr_x86_64_canonical(vaddr, la57))
		return vr_error_create(VR_ERR_FAULT, "0x%016" PRIx64 ": non-canonical address", vaddr);

	uint64_t table = pgd & PHYS_MASK_4K & ~sme_mask;
	for (int level = 0; level < levels; level++) {
		/* Level 0 of 5 indexes bits 48..56, of 4 bits 39..47; each level
		 * below takes the next 9 bits down to 12..20. */
		int shift = 12 + 9 * (levels - 1 - level);
		uint64_t index = (vaddr >> shift) & 0x1ff;
		uint64_t entry_addr = table + index * 8;
		uint64_t entry = 0;
		struct vr_error *err = read(arg, entry_addr, &entry);
		if (err)
			return vr_error_wrap(err, "0x%016" PRIx64 ": reading %s entry at physical 0x%" PRIx64,
					     vaddr, names[level], entry_addr);
		if (!(entry & PAGE_PRESENT)) {
			if (fault_shift)
				*fault_shift = shift;
			return vr_error_create(VR_ERR_FAULT, "0x%016" PRIx64 ": not mapped (%s entry 0x%" PRIx64 ")",
					       vaddr, names[level], entry);
		}
		entry &= ~sme_mask;
		int from_bottom = levels - 1 - level; /* 0 PTE, 1 PMD, 2 PUD */
		if (from_bottom == 2 && (entry & PAGE_PSE)) {
			*ret = (entry & PHYS_MASK_1G) | (vaddr & 0x3fffffffull);
			if (ret_page_size)
				*ret_page_size = 1ull << 30;
			return NULL;
		}
		if (from_bottom == 1 && (entry & PAGE_PSE)) {
			*ret = (entry & PHYS_MASK_2M) | (vaddr & 0x1fffffull);
			if (ret_page_size)
				*ret_page_size = 1ull << 21;
			return NULL;
		}
		if (from_bottom == 0) {
			*ret = (entry & PHYS_MASK_4K) | (vaddr & 0xfffull);
			if (ret_page_size)
				*ret_page_size = 1ull << 12;
			return NULL;
		}
		/* A PSE bit at PGD/P4D level is reserved: read the entry as a
		 * table pointer. Each level is visited once, so hostile tables
		 * that point back at themselves cannot make the walk loop. */
		table = entry & PHYS_MASK_4K;
	}
	return vr_error_create(VR_ERR_FAULT, "0x%016" PRIx64 ": not mapped", vaddr);
}

struct vr_error *vr_x86_64_walk(uint64_t pgd, bool la57, uint64_t sme_mask, uint64_t vaddr,
				vr_x86_64_read_fn read, void *arg, uint64_t *ret,
				uint64_t *ret_page_size)
{
	return walk(pgd, la57, sme_mask, vaddr, read, arg, ret, ret_page_size, NULL);
}

/* The lowest mapped address in [va, end), when it maps physical 0: the
 * direct map's base (a base is PUD-aligned); 0 otherwise. Levels found
 * empty are skipped whole, so a scan costs a few hundred entry reads. */
static uint64_t scan_direct_map(uint64_t pgd, bool la57, uint64_t sme_mask, vr_x86_64_read_fn read,
				void *arg, uint64_t va, uint64_t end)
{
	for (int steps = 0; va < end && steps < 65536; steps++) {
		uint64_t pa = 0;
		int shift = 30;
		struct vr_error *err = walk(pgd, la57, sme_mask, va, read, arg, &pa, NULL, &shift);
		if (!err)
			return pa == 0 ? va : 0;
		bool fault = err->code == VR_ERR_FAULT;
		vr_error_destroy(err);
		if (!fault)
			return 0;
		if (shift < 30)
			shift = 30; /* a hole below 1 GiB: the base is not in this PUD */
		va = (va | ((1ull << shift) - 1)) + 1;
		if (!va)
			break;
	}
	return 0;
}

/* The direct map starts at the lowest mapped address of the randomised
 * region (arch/x86/mm/kaslr.c keeps the regions in order: direct map,
 * vmalloc, vmemmap) and maps physical address 0 there (init_mem_mapping
 * always maps the ISA range). With 4 levels the region began at
 * 0xffff880000000000 until 4.20 ("x86/mm: Move LDT remap out of KASLR
 * region on 5-level paging" put the LDT remap there and the direct map
 * at 0xffff888000000000): that 512 GiB slot is searched first, and kept
 * only where it maps physical 0 (a process's page tables may hold its LDT
 * there). */
uint64_t vr_x86_64_find_direct_map(uint64_t pgd, bool la57, uint64_t sme_mask,
				   vr_x86_64_read_fn read, void *arg)
{
	/* The randomised region ends below the CPU entry area / fixmap. */
	const uint64_t end = la57 ? 0xfffe000000000000ull : 0xfffffe0000000000ull;
	if (!la57) {
		uint64_t base = scan_direct_map(pgd, la57, sme_mask, read, arg, PAGE_OFFSET_L4_OLD, PAGE_OFFSET_L4);
		if (base)
			return base;
	}
	return scan_direct_map(pgd, la57, sme_mask, read, arg, la57 ? PAGE_OFFSET_L5 : PAGE_OFFSET_L4, end);
}

static struct vr_error *read_phys_u64(void *arg, uint64_t paddr, uint64_t *ret)
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

static uint64_t direct_map_limit(const struct vr_kernel *k)
{
	uint64_t size = k->x86.la57 ? DIRECT_MAP_L5 : DIRECT_MAP_L4;
	const struct vr_dump_info *di = vr_dump_get_info(k->dump);
	if (di && di->max_pfn && di->max_pfn < (size >> 12))
		size = di->max_pfn << 12;
	return size;
}

static struct vr_error *x86_64_translate(struct vr_kernel *k, uint64_t vaddr, uint64_t *ret)
{
	const struct vr_x86_64 *x = &k->x86;
	if (!x->ready)
		return vr_error_create(VR_ERR_UNSUPPORTED,
				       "0x%016" PRIx64 ": the kernel address space is not known", vaddr);
	if (!vr_x86_64_canonical(vaddr, x->la57))
		return vr_error_create(VR_ERR_FAULT, "0x%016" PRIx64 ": non-canonical address", vaddr);

	if (x->page_offset && vaddr >= x->page_offset && vaddr - x->page_offset < direct_map_limit(k)) {
		*ret = vaddr - x->page_offset;
		return NULL;
	}
	if (x->phys_base_known && vaddr >= x->kernel_start &&
	    vaddr < (x->image_end ? x->image_end : x->modules_start)) {
		*ret = vaddr - x->kernel_start + x->phys_base;
		return NULL;
	}
	if (!x->pgd)
		return vr_error_create(VR_ERR_UNSUPPORTED,
				       "0x%016" PRIx64 ": no page tables known (neither SYMBOL(init_top_pgt) "
				       "in VMCOREINFO nor a CR3 in the CPU notes)",
				       vaddr);
	return vr_x86_64_walk(x->pgd, x->la57, x->sme_mask, vaddr, read_phys_u64, k, ret, NULL);
}

/* Reads a kernel variable during init, before the layout is complete. */
static struct vr_error *read_var(struct vr_kernel *k, const char *name, uint64_t vaddr, uint64_t *ret)
{
	uint64_t paddr = 0;
	struct vr_error *err = x86_64_translate(k, vaddr, &paddr);
	if (!err)
		err = read_phys_u64(k, paddr, ret);
	return vr_error_wrap(err, "reading %s", name);
}

/* phys_base: VMCOREINFO first; else the ELF dump's PT_LOAD that maps the
 * kernel image (kexec-tools gives /proc/vmcore one with virtual addresses). */
static void find_phys_base(struct vr_kernel *k)
{
	struct vr_x86_64 *x = &k->x86;
	const struct vr_vmcoreinfo *vi = k->vmcoreinfo;
	int64_t n = 0;
	if (vi && vr_vmcoreinfo_number(vi, "phys_base", &n)) {
		x->phys_base = (uint64_t)n;
		x->phys_base_known = true;
		return;
	}
	/* init_level4_pgt: init_top_pgt's name before 4.13 ("x86/boot/64:
	 * Rename init_level4_pgt and early_level4_pgt"), and phys_base
	 * itself, which older kernels' VMCOREINFO gives as SYMBOL(phys_base),
	 * the variable's address, not its value (3.10's
	 * arch_crash_save_vmcoreinfo()) */
	static const char *const probes[] = {"_stext", "init_top_pgt", "init_level4_pgt", "swapper_pg_dir",
					     "phys_base"};
	for (size_t i = 0; vi && i < sizeof(probes) / sizeof(probes[0]); i++) {
		uint64_t va = 0, pa = 0;
		if (!vr_vmcoreinfo_symbol(vi, probes[i], &va) || va < x->kernel_start)
			continue;
		if (vr_kernel_absorb(k, vr_dump_elf_vtop(k->dump, va, &pa), VR_ERR_NOT_FOUND))
			continue;
		x->phys_base = pa - (va - x->kernel_start);
		x->phys_base_known = true;
		return;
	}
	/* Else any address of the image that a segment maps will do: probe
	 * the image area in 2 MiB steps (the KASLR alignment). */
	for (uint64_t va = x->kernel_start; va < x->modules_start; va += 1ull << 21) {
		uint64_t pa = 0;
		if (vr_kernel_absorb(k, vr_dump_elf_vtop(k->dump, va, &pa), VR_ERR_NOT_FOUND))
			continue;
		x->phys_base = pa - (va - x->kernel_start);
		x->phys_base_known = true;
		/* kexec-tools' image segment starts at _text, linked at
		 * __START_KERNEL_map + 16 MiB (CONFIG_PHYSICAL_START): without
		 * VMCOREINFO this is the KASLR offset. */
		if (!vi && va >= x->kernel_start + 0x1000000)
			x->kaslr_offset = va - (x->kernel_start + 0x1000000);
		return;
	}
	/* Else the kdump-compressed header's copy (what makedumpfile read
	 * from the segments above when it wrote the dump). */
	const struct vr_dump_info *di = vr_dump_get_info(k->dump);
	if (di && di->phys_base_known) {
		x->phys_base = di->phys_base;
		x->phys_base_known = true;
	}
}

static struct vr_error *read_bases(struct vr_kernel *k, bool from_vmcoreinfo);

/* Without VMCOREINFO (a QEMU dump of a guest without the vmcoreinfo
 * device) the KASLR offset and phys_base come from the page tables: after
 * boot the image mapping covers only _text.._end (cleanup_highmap(),
 * arch/x86/mm/init_64.c), so its first mapped 2 MiB page is _text, linked
 * at __START_KERNEL_map + 16 MiB (CONFIG_PHYSICAL_START, as every
 * distribution builds). */
static void find_image(struct vr_kernel *k)
{
	struct vr_x86_64 *x = &k->x86;
	for (uint64_t va = x->kernel_start; va < x->modules_start; va += 1ull << 21) {
		uint64_t pa = 0;
		struct vr_error *err = walk(x->pgd, x->la57, x->sme_mask, va, read_phys_u64, k, &pa, NULL, NULL);
		if (err) {
			bool fault = err->code == VR_ERR_FAULT;
			vr_error_destroy(err);
			if (fault)
				continue;
			return;
		}
		x->kaslr_offset = va - (x->kernel_start + 0x1000000);
		x->phys_base = pa - (va - x->kernel_start);
		x->phys_base_known = true;
		return;
	}
}

static struct vr_error *x86_64_init(struct vr_kernel *k)
{
	struct vr_x86_64 *x = &k->x86;
	const struct vr_vmcoreinfo *vi = k->vmcoreinfo;
	memset(x, 0, sizeof(*x));
	x->kernel_start = VR_X86_64_START_KERNEL_MAP;
	if (!k->dump || !vr_dump_has_memory(k->dump))
		return vr_error_create(VR_ERR_UNSUPPORTED, "the input holds no memory");

	int64_t n = 0;
	if (vi && vr_vmcoreinfo_number(vi, "pgtable_l5_enabled", &n))
		x->la57 = n == 1;
	if (vi)
		vr_vmcoreinfo_hex(vi, "KERNELOFFSET", &x->kaslr_offset);
	if (vi && vr_vmcoreinfo_number(vi, "sme_mask", &n))
		x->sme_mask = (uint64_t)n;
	/* The C-bit is a single bit among 32..51; anything else is bogus. */
	if (x->sme_mask & ~0x000fffff00000000ull || __builtin_popcountll(x->sme_mask) > 1)
		x->sme_mask = 0;

	uint64_t image_size = 1ull << 30; /* CONFIG_RANDOMIZE_BASE, as distributions build */
	if (vi && vr_vmcoreinfo_number(vi, "KERNEL_IMAGE_SIZE", &n) && n > 0 && n <= (1ll << 30))
		image_size = (uint64_t)n;
	x->modules_start = x->kernel_start + image_size;
	x->modules_end = MODULES_END;

	find_phys_base(k);

	/* Top-level table: the kernel's own (init_top_pgt, init_level4_pgt
	 * before 4.13; swapper_pg_dir names the same table on x86-64), else
	 * the CR3 QEMU saved for a CPU. */
	uint64_t sym = 0;
	if (x->phys_base_known && vi &&
	    (vr_vmcoreinfo_symbol(vi, "init_top_pgt", &sym) || vr_vmcoreinfo_symbol(vi, "init_level4_pgt", &sym) ||
	     vr_vmcoreinfo_symbol(vi, "swapper_pg_dir", &sym)) &&
	    sym >= x->kernel_start && sym < x->modules_start)
		x->pgd = sym - x->kernel_start + x->phys_base;
	for (size_t i = 0; !x->pgd && i < vr_dump_n_cpus(k->dump); i++) {
		const struct vr_dump_cpu *c = vr_dump_cpu(k->dump, i);
		/* CR3 bits 0..11 are PCID/flags and bit 63 is NOFLUSH. */
		if (c && c->regs.has_cr && (c->regs.cr3 & PHYS_MASK_4K & ~x->sme_mask))
			x->pgd = c->regs.cr3 & PHYS_MASK_4K & ~x->sme_mask;
	}
	if (!x->pgd && !x->phys_base_known)
		return vr_error_create(VR_ERR_NOT_FOUND, "%s",
				       vi ? "VMCOREINFO gives neither phys_base nor init_top_pgt, and no CPU note holds CR3"
					  : "no VMCOREINFO, and no CPU note holds CR3: the kernel page tables cannot be found");
	x->ready = true;
	if (!vi && !x->phys_base_known)
		find_image(k);

	/* Randomised bases (CONFIG_RANDOMIZE_MEMORY): the fixed layout unless
	 * VMCOREINFO names the variables; Linux 6.1 does not, so the direct
	 * map is found in the page tables, and vr_x86_64_refine() reads the
	 * variables once symbols are known. */
	x->page_offset = 0; /* unknown: translate through the page tables */
	x->vmalloc_start = x->la57 ? VMALLOC_L5 : VMALLOC_L4;
	x->vmemmap_start = x->la57 ? VMEMMAP_L5 : VMEMMAP_L4;
	struct vr_error *err = read_bases(k, true);
	/* Without the variable the fixed base is only a guess: the page
	 * tables must show where the direct map starts. */
	if (!x->page_offset && x->pgd)
		x->page_offset = vr_x86_64_find_direct_map(x->pgd, x->la57, x->sme_mask, read_phys_u64, k);
	return err;
}

static const char *const base_names[] = {"page_offset_base", "vmalloc_base", "vmemmap_base"};

static uint64_t *base_field(struct vr_x86_64 *x, size_t i)
{
	return i == 0 ? &x->page_offset : i == 1 ? &x->vmalloc_start : &x->vmemmap_start;
}

/* Reads the three base variables, at addresses from VMCOREINFO (from_vmcoreinfo)
 * or else from the symbol table. */
static struct vr_error *read_bases(struct vr_kernel *k, bool from_vmcoreinfo)
{
	struct vr_x86_64 *x = &k->x86;
	struct vr_error *err = NULL;
	for (size_t i = 0; i < 3; i++) {
		uint64_t va = 0, v = 0;
		bool named = k->vmcoreinfo && vr_vmcoreinfo_symbol(k->vmcoreinfo, base_names[i], &va);
		if (from_vmcoreinfo ? !named : (named || !vr_symbols_lookup_name(k, base_names[i], &va)))
			continue;
		struct vr_error *e = read_var(k, base_names[i], va, &v);
		if (!e && (!vr_x86_64_canonical(v, x->la57) || v < 0x8000000000000000ull || (v & 0xfff)))
			e = vr_error_create(VR_ERR_FORMAT, "%s holds a bad value 0x%" PRIx64, base_names[i], v);
		if (!e && i == 0 && x->pgd) {
			/* The direct map must map physical 0 at its base. */
			uint64_t pa = 1;
			e = walk(x->pgd, x->la57, x->sme_mask, v, read_phys_u64, k, &pa, NULL, NULL);
			if (!e && pa != 0)
				e = vr_error_create(VR_ERR_FORMAT,
						    "page_offset_base 0x%" PRIx64 " maps physical 0x%" PRIx64 ", not 0",
						    v, pa);
			e = vr_error_wrap(e, "checking page_offset_base");
		}
		if (e) {
			if (!err)
				err = e;
			else
				vr_error_destroy(e);
			continue;
		}
		*base_field(x, i) = v;
	}
	return err;
}

struct vr_error *vr_x86_64_refine(struct vr_kernel *k)
{
	struct vr_x86_64 *x = &k->x86;
	if (!x->ready)
		return NULL;
	uint64_t sym = 0;
	if (!x->pgd && x->phys_base_known &&
	    (vr_symbols_lookup_name(k, "init_top_pgt", &sym) || vr_symbols_lookup_name(k, "init_level4_pgt", &sym)) &&
	    sym >= x->kernel_start && sym < x->modules_start)
		x->pgd = sym - x->kernel_start + x->phys_base;
	/* Where the image ends: a kernel built without RANDOMIZE_BASE (3.10
	 * and most older ones) has a 512 MiB image region and its modules at
	 * 0xffffffffa0000000, which the default 1 GiB region would take for
	 * the image; the symbol settles it. */
	uint64_t end = 0;
	if (vr_symbols_lookup_name(k, "_end", &end) && end > x->kernel_start && end < x->modules_start)
		x->image_end = (end + (1ull << 21) - 1) & ~((1ull << 21) - 1);
	struct vr_error *err = read_bases(k, false);
	if (!x->page_offset && x->pgd)
		x->page_offset = vr_x86_64_find_direct_map(x->pgd, x->la57, x->sme_mask, read_phys_u64, k);
	return err;
}

/* How to add an architecture: write a file like this one defining a
 * const struct vr_arch with init (may not be NULL) and translate (may not
 * be NULL), and have kernel.c pick it from the dump's machine. */
const struct vr_arch vr_arch_x86_64 = {
	.name = "x86_64",
	.init = x86_64_init,
	.translate = x86_64_translate,
};
