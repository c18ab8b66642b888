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
#define _GNU_SOURCE
#include "internal.h"
#include "x86_64.h"
#include "cursor.h"
#include "notes.h"
#include "strings.h"
#include "x86_64_disasm.h"
#include "x86_64_unwind.h"

#include <inttypes.h>
#include <stdlib.h>
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

static uint64_t direct_map_limit(const struct vr_kernel *k)
{
	uint64_t size = ((const struct vr_x86_64 *)k->arch_state)->la57 ? DIRECT_MAP_L5 : DIRECT_MAP_L4;
	const struct vr_dump_info *di = vr_dump_get_info(k->dump);
	if (di && di->max_pfn && di->max_pfn < (size >> 12))
		size = di->max_pfn << 12;
	return size;
}

static struct vr_error *x86_64_translate(struct vr_kernel *k, uint64_t vaddr, uint64_t *ret)
{
	const struct vr_x86_64 *x = k->arch_state;
	const struct vr_kernel_layout *L = &k->layout;
	if (!x || !k->layout_ready)
		return vr_error_create(VR_ERR_UNSUPPORTED,
				       "0x%016" PRIx64 ": the kernel address space is not known", vaddr);
	if (!vr_x86_64_canonical(vaddr, x->la57))
		return vr_error_create(VR_ERR_FAULT, "0x%016" PRIx64 ": non-canonical address", vaddr);

	if (L->page_offset && vaddr >= L->page_offset && vaddr - L->page_offset < direct_map_limit(k)) {
		*ret = vaddr - L->page_offset;
		return NULL;
	}
	if (x->phys_base_known && vaddr >= L->image_start &&
	    vaddr < (x->image_end ? x->image_end : L->modules_start)) {
		*ret = vaddr - L->image_start + x->phys_base;
		return NULL;
	}
	if (!x->pgd)
		return vr_error_create(VR_ERR_UNSUPPORTED,
				       "0x%016" PRIx64 ": no page tables known (neither SYMBOL(init_top_pgt) "
				       "in VMCOREINFO nor a CR3 in the CPU notes)",
				       vaddr);
	return vr_x86_64_walk(x->pgd, x->la57, x->sme_mask, vaddr, vr_kernel_read_table_u64, k, ret, NULL);
}

/* Reads a kernel variable during init, before the layout is complete. */
static struct vr_error *read_var(struct vr_kernel *k, const char *name, uint64_t vaddr, uint64_t *ret)
{
	uint64_t paddr = 0;
	struct vr_error *err = x86_64_translate(k, vaddr, &paddr);
	if (!err)
		err = vr_kernel_read_table_u64(k, paddr, ret);
	return vr_error_wrap(err, "reading %s", name);
}

/* phys_base: VMCOREINFO first; else the ELF dump's PT_LOAD that maps the
 * kernel image (kexec-tools gives /proc/vmcore one with virtual addresses). */
static void find_phys_base(struct vr_kernel *k)
{
	struct vr_x86_64 *x = k->arch_state;
	struct vr_kernel_layout *L = &k->layout;
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
		if (!vr_vmcoreinfo_symbol(vi, probes[i], &va) || va < L->image_start)
			continue;
		if (vr_kernel_absorb(k, vr_dump_elf_vtop(k->dump, va, &pa), VR_ERR_NOT_FOUND))
			continue;
		x->phys_base = pa - (va - L->image_start);
		x->phys_base_known = true;
		return;
	}
	/* Else any address of the image that a segment maps will do: probe
	 * the image area in 2 MiB steps (the KASLR alignment). */
	for (uint64_t va = L->image_start; va < L->modules_start; va += 1ull << 21) {
		uint64_t pa = 0;
		if (vr_kernel_absorb(k, vr_dump_elf_vtop(k->dump, va, &pa), VR_ERR_NOT_FOUND))
			continue;
		x->phys_base = pa - (va - L->image_start);
		x->phys_base_known = true;
		/* kexec-tools' image segment starts at _text, linked at
		 * __START_KERNEL_map + 16 MiB (CONFIG_PHYSICAL_START): without
		 * VMCOREINFO this is the KASLR offset. */
		if (!vi && va >= L->image_start + 0x1000000)
			L->kaslr_offset = va - (L->image_start + 0x1000000);
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
	struct vr_x86_64 *x = k->arch_state;
	struct vr_kernel_layout *L = &k->layout;
	for (uint64_t va = L->image_start; va < L->modules_start; va += 1ull << 21) {
		uint64_t pa = 0;
		struct vr_error *err = walk(x->pgd, x->la57, x->sme_mask, va, vr_kernel_read_table_u64, k, &pa, NULL, NULL);
		if (err) {
			bool fault = err->code == VR_ERR_FAULT;
			vr_error_destroy(err);
			if (fault)
				continue;
			return;
		}
		L->kaslr_offset = va - (L->image_start + 0x1000000);
		x->phys_base = pa - (va - L->image_start);
		x->phys_base_known = true;
		return;
	}
}

static struct vr_error *x86_64_init(struct vr_kernel *k)
{
	if (!k->dump || !vr_dump_has_memory(k->dump))
		return vr_error_create(VR_ERR_UNSUPPORTED, "the input holds no memory");
	struct vr_x86_64 *x = calloc(1, sizeof(*x));
	if (!x)
		return &vr_error_oom;
	free(k->arch_state);
	k->arch_state = x;
	struct vr_kernel_layout *L = &k->layout;
	const struct vr_vmcoreinfo *vi = k->vmcoreinfo;
	*L = (struct vr_kernel_layout){.image_start = VR_X86_64_START_KERNEL_MAP};

	int64_t n = 0;
	if (vi && vr_vmcoreinfo_number(vi, "pgtable_l5_enabled", &n))
		x->la57 = n == 1;
	if (vi)
		vr_vmcoreinfo_hex(vi, "KERNELOFFSET", &L->kaslr_offset);
	if (vi && vr_vmcoreinfo_number(vi, "sme_mask", &n))
		x->sme_mask = (uint64_t)n;
	/* The C-bit is a single bit among 32..51; anything else is bogus. */
	if (x->sme_mask & ~0x000fffff00000000ull || __builtin_popcountll(x->sme_mask) > 1)
		x->sme_mask = 0;

	uint64_t image_size = 1ull << 30; /* CONFIG_RANDOMIZE_BASE, as distributions build */
	if (vi && vr_vmcoreinfo_number(vi, "KERNEL_IMAGE_SIZE", &n) && n > 0 && n <= (1ll << 30))
		image_size = (uint64_t)n;
	L->modules_start = L->image_start + image_size;
	L->modules_end = MODULES_END;

	find_phys_base(k);

	/* Top-level table: the kernel's own (init_top_pgt, init_level4_pgt
	 * before 4.13; swapper_pg_dir names the same table on x86-64), else
	 * the CR3 QEMU saved for a CPU. */
	uint64_t sym = 0;
	if (x->phys_base_known && vi &&
	    (vr_vmcoreinfo_symbol(vi, "init_top_pgt", &sym) || vr_vmcoreinfo_symbol(vi, "init_level4_pgt", &sym) ||
	     vr_vmcoreinfo_symbol(vi, "swapper_pg_dir", &sym)) &&
	    sym >= L->image_start && sym < L->modules_start)
		x->pgd = sym - L->image_start + x->phys_base;
	for (size_t i = 0; !x->pgd && i < k->n_saved; i++) {
		const struct vr_regs *r = &k->saved[i].regs;
		/* CR3 bits 0..11 are PCID/flags and bit 63 is NOFLUSH. */
		if (vr_regs_known(r, X86_CR3) && (r->r[X86_CR3] & PHYS_MASK_4K & ~x->sme_mask))
			x->pgd = r->r[X86_CR3] & PHYS_MASK_4K & ~x->sme_mask;
	}
	if (!x->pgd && !x->phys_base_known)
		return vr_error_create(VR_ERR_NOT_FOUND, "%s",
				       vi ? "VMCOREINFO gives neither phys_base nor init_top_pgt, and no CPU note holds CR3"
					  : "no VMCOREINFO, and no CPU note holds CR3: the kernel page tables cannot be found");
	/* TASK_SIZE_MAX: one page below 1 << 47 (1 << 56 with LA57) */
	L->user_end = (x->la57 ? 1ull << 56 : 1ull << 47) - 4096;
	k->layout_ready = true;
	if (!vi && !x->phys_base_known)
		find_image(k);

	/* Randomised bases (CONFIG_RANDOMIZE_MEMORY): the fixed layout unless
	 * VMCOREINFO names the variables; Linux 6.1 does not, so the direct
	 * map is found in the page tables, and vr_x86_64_refine() reads the
	 * variables once symbols are known. */
	L->page_offset = 0; /* unknown: translate through the page tables */
	L->vmalloc_start = x->la57 ? VMALLOC_L5 : VMALLOC_L4;
	x->vmemmap_start = x->la57 ? VMEMMAP_L5 : VMEMMAP_L4;
	struct vr_error *err = read_bases(k, true);
	/* Without the variable the fixed base is only a guess: the page
	 * tables must show where the direct map starts. */
	if (!L->page_offset && x->pgd)
		L->page_offset = vr_x86_64_find_direct_map(x->pgd, x->la57, x->sme_mask, vr_kernel_read_table_u64, k);
	return err;
}

static const char *const base_names[] = {"page_offset_base", "vmalloc_base", "vmemmap_base"};

static uint64_t *base_field(struct vr_kernel *k, size_t i)
{
	struct vr_x86_64 *x = k->arch_state;
	return i == 0 ? &k->layout.page_offset : i == 1 ? &k->layout.vmalloc_start : &x->vmemmap_start;
}

/* Reads the three base variables, at addresses from VMCOREINFO (from_vmcoreinfo)
 * or else from the symbol table. */
static struct vr_error *read_bases(struct vr_kernel *k, bool from_vmcoreinfo)
{
	struct vr_x86_64 *x = k->arch_state;
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
			e = walk(x->pgd, x->la57, x->sme_mask, v, vr_kernel_read_table_u64, k, &pa, NULL, NULL);
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
		*base_field(k, i) = v;
	}
	return err;
}

static struct vr_error *x86_64_refine(struct vr_kernel *k)
{
	struct vr_x86_64 *x = k->arch_state;
	struct vr_kernel_layout *L = &k->layout;
	if (!x || !k->layout_ready)
		return NULL;
	uint64_t sym = 0;
	if (!x->pgd && x->phys_base_known &&
	    (vr_symbols_lookup_name(k, "init_top_pgt", &sym) || vr_symbols_lookup_name(k, "init_level4_pgt", &sym)) &&
	    sym >= L->image_start && sym < L->modules_start)
		x->pgd = sym - L->image_start + x->phys_base;
	/* Where the image ends: a kernel built without RANDOMIZE_BASE (3.10
	 * and most older ones) has a 512 MiB image region and its modules at
	 * 0xffffffffa0000000, which the default 1 GiB region would take for
	 * the image; the symbol settles it. */
	uint64_t end = 0;
	if (vr_symbols_lookup_name(k, "_end", &end) && end > L->image_start && end < L->modules_start)
		x->image_end = (end + (1ull << 21) - 1) & ~((1ull << 21) - 1);
	struct vr_error *err = read_bases(k, false);
	if (!L->page_offset && x->pgd)
		L->page_offset = vr_x86_64_find_direct_map(x->pgd, x->la57, x->sme_mask, vr_kernel_read_table_u64, k);
	return err;
}

/* ---- registers ---- */

static const char *const reg_names[X86_NREGS] = {
	"R15", "R14", "R13", "R12", "RBP", "RBX", "R11", "R10",
	"R09", "R08", "RAX", "RCX", "RDX", "RSI", "RDI", "ORIG_RAX",
	"RIP", "CS", "EFLAGS", "RSP", "SS", "FS_BASE", "GS_BASE",
	"DS", "ES", "FS", "GS",
	"CR0", "CR2", "CR3", "CR4",
};

/* The report's register object: struct pt_regs as the kernel prints it
 * (not the bases and data segments of user_regs_struct), and the fault
 * address and page-table root. */
#define X86_REPORT (((1ull << X86_FS_BASE) - 1) | 1ull << X86_CR2 | 1ull << X86_CR3)

/* As crash prints them under "[exception RIP: ...]". */
static const struct vr_reg_cell reg_rows[][4] = {
	{{X86_RAX, "RAX", 16}, {X86_RBX, "RBX", 16}, {X86_RCX, "RCX", 16}, {-1, NULL, 0}},
	{{X86_RDX, "RDX", 16}, {X86_RSI, "RSI", 16}, {X86_RDI, "RDI", 16}, {-1, NULL, 0}},
	{{X86_RBP, "RBP", 16}, {X86_R8, " R8", 16}, {X86_R9, " R9", 16}, {-1, NULL, 0}},
	{{X86_R10, "R10", 16}, {X86_R11, "R11", 16}, {X86_R12, "R12", 16}, {-1, NULL, 0}},
	{{X86_R13, "R13", 16}, {X86_R14, "R14", 16}, {X86_R15, "R15", 16}, {-1, NULL, 0}},
	{{X86_RSP, "RSP", 16}, {X86_EFLAGS, "RFLAGS", 8}, {X86_CS, "CS", 4}, {X86_SS, "SS", 4}},
};

/* The CPL is the low two bits of CS: 3 user, 0 kernel. */
static bool x86_64_user_mode(const struct vr_regs *r)
{
	return (r->r[X86_CS] & 3) == 3;
}

static bool x86_64_kernel_mode(const struct vr_regs *r)
{
	return (r->r[X86_CS] & 3) == 0;
}

/* No CPU saves a CS of 0. */
static bool x86_64_mode_known(const struct vr_regs *r)
{
	return (r->unknown & (1ull << X86_CS)) == 0 && r->r[X86_CS];
}

const struct vr_regset vr_regset_x86_64 = {
	.arch = "x86_64",
	.n = X86_NREGS,
	.n_frame = X86_NFRAME,
	.n_data = X86_ORIG_RAX, /* r15 .. rdi */
	.names = reg_names,
	.pc = X86_RIP,
	.sp = X86_RSP,
	.fp = X86_RBP,
	.mode = X86_CS,
	.fault = X86_CR2,
	.report = X86_REPORT,
	.rows = reg_rows,
	.n_rows = sizeof(reg_rows) / sizeof(reg_rows[0]),
	.user_mode = x86_64_user_mode,
	.kernel_mode = x86_64_kernel_mode,
	.mode_known = x86_64_mode_known,
};

/* NT_PRSTATUS: pr_reg is struct user_regs_struct, the frame registers in
 * order. */
static bool x86_64_prstatus(const uint8_t *desc, size_t len, struct vr_regs *ret)
{
	return vr_arch_prstatus_frame(desc, len, &vr_regset_x86_64, ret);
}

/* QEMUCPUState (QEMU target/i386/arch_dump.c): version, size, then rax rbx
 * rcx rdx rsi rdi rsp rbp r8..r15 rip rflags, ten segments of 24 bytes
 * (selector, limit, flags, pad, base) cs ds es fs gs ss ldt tr gdt idt,
 * cr[5], kernel_gs_base. */
enum {
	Q_GPR = 8, Q_RIP = 136, Q_RFLAGS = 144, Q_SEG = 152, Q_SEGSZ = 24, Q_CR = 392,
};

static void x86_64_qemu_note(const uint8_t *desc, size_t len, bool have_prstatus, struct vr_regs *regs)
{
	static const int gpr[16] = {
		X86_RAX, X86_RBX, X86_RCX, X86_RDX, X86_RSI, X86_RDI, X86_RSP, X86_RBP,
		X86_R8, X86_R9, X86_R10, X86_R11, X86_R12, X86_R13, X86_R14, X86_R15,
	};
	if (len < Q_CR + 40)
		return;
	regs->set = &vr_regset_x86_64;
	if (!have_prstatus) {
		for (int i = 0; i < 16; i++)
			regs->r[gpr[i]] = vr_le64(desc + Q_GPR + 8 * i);
		regs->r[X86_RIP] = vr_le64(desc + Q_RIP);
		regs->r[X86_EFLAGS] = vr_le64(desc + Q_RFLAGS);
		static const int seg[6] = {X86_CS, X86_DS, X86_ES, X86_FS, X86_GS, X86_SS};
		for (int i = 0; i < 6; i++)
			regs->r[seg[i]] = vr_le32(desc + Q_SEG + Q_SEGSZ * i);
		regs->r[X86_FS_BASE] = vr_le64(desc + Q_SEG + Q_SEGSZ * 3 + 16);
		regs->r[X86_GS_BASE] = vr_le64(desc + Q_SEG + Q_SEGSZ * 4 + 16);
		regs->valid = true;
	}
	regs->r[X86_CR0] = vr_le64(desc + Q_CR);
	regs->r[X86_CR2] = vr_le64(desc + Q_CR + 16);
	regs->r[X86_CR3] = vr_le64(desc + Q_CR + 24);
	regs->r[X86_CR4] = vr_le64(desc + Q_CR + 32);
	regs->known |= 1ull << X86_CR0 | 1ull << X86_CR2 | 1ull << X86_CR3 | 1ull << X86_CR4;
}

static int reg_index(const char *name, size_t len)
{
	for (int r = 0; r < X86_NFRAME; r++)
		if (strlen(reg_names[r]) == len && !strncmp(reg_names[r], name, len))
			return r;
	/* Older kernels and other printers: "R8" for "R08". */
	if (len == 2 && name[0] == 'R' && (name[1] == '8' || name[1] == '9'))
		return name[1] == '8' ? X86_R8 : X86_R9;
	return -1;
}

/* One line of the register dump of arch/x86/kernel/process_64.c
 * __show_regs(): "RAX: ... RBX: ...", "RSP: 0018:ffff... EFLAGS: ...",
 * "FS: ...(0000) GS:...", "CR2: ...". CR2 and CR3 are known together, as
 * QEMU's notes give them. */
static bool x86_64_log_regs_line(const char *m, struct vr_regs *regs)
{
	const char *p = vr_str_skip_ws(m);
	if (!(p[0] >= 'A' && p[0] <= 'Z'))
		return false;
	int found = 0;
	while (*p) {
		const char *name = p;
		while (isalnum((unsigned char)*p) || *p == '_')
			p++;
		size_t len = (size_t)(p - name);
		if (*p != ':' || len == 0) {
			/* Not "NAME:": skip the token. */
			while (*p && *p != ' ')
				p++;
			p = vr_str_skip_ws(p);
			if (!found)
				return false;
			continue;
		}
		p = vr_str_skip_ws(p + 1);
		uint64_t v, v2;
		if (!vr_str_read_hex(&p, &v))
			continue;
		if (len == 3 && !strncmp(name, "RSP", 3) && *p == ':') {
			/* "RSP: 0018:ffffc90000a3bd60": SS then RSP. */
			p++;
			if (!vr_str_read_hex(&p, &v2))
				continue;
			regs->r[X86_SS] = v;
			regs->r[X86_RSP] = v2;
			found++;
		} else if (len == 2 && (!strncmp(name, "FS", 2) || !strncmp(name, "GS", 2)) &&
			   *p == '(') {
			/* "FS:  00007f..(0000) GS:ffff..(0000)": the bases. */
			regs->r[name[0] == 'F' ? X86_FS_BASE : X86_GS_BASE] = v;
			found++;
		} else if (len == 3 && !strncmp(name, "CR2", 3)) {
			regs->r[X86_CR2] = v;
			regs->known |= 1ull << X86_CR2 | 1ull << X86_CR3;
			found++;
		} else if (len == 3 && !strncmp(name, "CR3", 3)) {
			regs->r[X86_CR3] = v;
			regs->known |= 1ull << X86_CR2 | 1ull << X86_CR3;
			found++;
		} else {
			int r = reg_index(name, len);
			if (r >= 0) {
				regs->r[r] = v;
				if (r != X86_CS && r != X86_DS && r != X86_ES && r != X86_FS && r != X86_GS)
					regs->valid = true;
				found++;
			} else if (len == 3 && !strncmp(name, "CR0", 3)) {
				regs->r[X86_CR0] = v;
				regs->known |= 1ull << X86_CR0;
				found++;
			} else if (len == 3 && !strncmp(name, "CR4", 3)) {
				regs->r[X86_CR4] = v;
				regs->known |= 1ull << X86_CR4;
				found++;
			} else if (len >= 2 && (name[0] == 'C' || name[0] == 'D') && name[1] == 'R') {
				found++; /* DR0.. */
			} else if (len == 5 && !strncmp(name, "knlGS", 5)) {
				found++;
			} else if (len == 4 && !strncmp(name, "PKRU", 4)) {
				found++;
			}
		}
		while (*p && *p != ' ')
			p++;
		p = vr_str_skip_ws(p);
	}
	if (found)
		regs->set = &vr_regset_x86_64;
	return found > 0;
}

/* "RIP: 0010:sym+0x1/0x2" (the segment is CS), or 4.x's one-line summary
 * "RIP: sym+0x16/0x20 RSP: ..." without one. */
static bool x86_64_log_ip_line(const char *m, uint64_t ip, struct vr_regs *regs)
{
	const char *p = vr_str_skip_ws(m);
	if (strncmp(p, "RIP: ", 5))
		return false;
	p += 5;
	uint64_t seg = 0;
	const char *q = p;
	if (!vr_str_read_hex(&q, &seg) || *q != ':')
		seg = 0;
	regs->set = &vr_regset_x86_64;
	regs->r[X86_CS] = seg;
	regs->r[X86_RIP] = ip;
	return true;
}

/* The x86-64 DWARF register numbers (System V psABI, table 3.36), -1 for
 * registers DWARF does not number this way. */
static int x86_64_dwarf_regno(int reg)
{
	switch (reg) {
	case X86_RAX: return 0;
	case X86_RDX: return 1;
	case X86_RCX: return 2;
	case X86_RBX: return 3;
	case X86_RSI: return 4;
	case X86_RDI: return 5;
	case X86_RBP: return 6;
	case X86_RSP: return 7;
	case X86_R8: return 8;
	case X86_R9: return 9;
	case X86_R10: return 10;
	case X86_R11: return 11;
	case X86_R12: return 12;
	case X86_R13: return 13;
	case X86_R14: return 14;
	case X86_R15: return 15;
	default: return -1;
	}
}

/* THREAD_SIZE and IRQ_STACK_SIZE are both PAGE_SIZE << (2 +
 * KASAN_STACK_ORDER) (arch/x86/include/asm/page_64_types.h), and struct
 * irq_stack is one IRQ stack (asm/processor.h: char stack[IRQ_STACK_SIZE]),
 * so its size is a task stack's. */
static struct vr_error *x86_64_task_stack_size(struct vr_kernel *k, uint64_t *ret)
{
	uint64_t size;
	struct vr_error *err = vr_type_size(k, "irq_stack", &size);
	if (err)
		return vr_error_wrap(err, "the size of a task's stack");
	if (size < 4096 || size > (1u << 20) || (size & (size - 1)))
		return vr_error_create(VR_ERR_FORMAT, "the size of a task's stack: struct irq_stack is %llu bytes",
				       (unsigned long long)size);
	*ret = size;
	return NULL;
}

/* ---- what the tamper checks read ---- */

/* An IDT gate is 16 bytes: offset 15..0, selector, type and present bit
 * (bit 15 of the third word), offset 31..16, offset 63..32 (Intel SDM vol.
 * 3, 6.14.1; arch/x86/include/asm/desc_defs.h struct gate_struct). */
#define IDT_ENTRIES 256
#define GATE_SIZE 16

static struct vr_error *x86_64_vectors(struct vr_kernel *k, struct vr_vectors *ret)
{
	uint64_t idt;
	if (!vr_symbols_lookup_name(k, "idt_table", &idt))
		return vr_error_create(VR_ERR_NOT_FOUND, "the kernel's symbols do not name idt_table");
	uint8_t tab[IDT_ENTRIES * GATE_SIZE];
	struct vr_error *err = vr_kernel_read(k, idt, tab, sizeof(tab));
	if (err)
		return vr_error_wrap(err, "reading idt_table at 0x%" PRIx64, idt);
	/* early_idt_handler_array[NUM_EXCEPTION_VECTORS][EARLY_IDT_HANDLER_SIZE]
	 * (arch/x86/kernel/head_64.S): the stub of each exception vector. */
	struct vr_symbol early;
	uint64_t early_stride = 0;
	if (!vr_kernel_absorb(k, vr_kernel_symbol_lookup(k, "early_idt_handler_array", &early), VR_ERR_NOT_FOUND) && early.size &&
	    early.size % 32 == 0)
		early_stride = early.size / 32;
	memset(ret, 0, sizeof(*ret));
	ret->symbol = "idt_table";
	ret->address = idt;
	ret->n = IDT_ENTRIES;
	ret->entry_size = GATE_SIZE;
	ret->n_boot = 32;
	for (int v = 0; v < IDT_ENTRIES; v++) {
		const uint8_t *g = tab + v * GATE_SIZE;
		uint16_t bits = (uint16_t)(g[4] | g[5] << 8);
		if (!(bits & 0x8000))
			continue;
		ret->v[v].present = true;
		ret->v[v].target = (uint64_t)(g[0] | g[1] << 8) | (uint64_t)(g[6] | g[7] << 8) << 16 |
				   (uint64_t)vr_le32(g + 8) << 32;
		ret->v[v].boot_stub = early_stride && v < 32 &&
				      ret->v[v].target == early.address + (uint64_t)v * early_stride;
	}
	return NULL;
}

/* CR0.PG is bit 31, CR0.WP bit 16; CR4.UMIP bit 11, SMEP bit 20, SMAP bit
 * 21 (arch/x86/include/uapi/asm/processor-flags.h); the kernel pins WP and
 * the CR4 bits it set in cr4_pinned_bits (5.3+, arch/x86/kernel/cpu/common.c). */
#define CR0_WP (1ull << 16)
#define CR0_PG (1ull << 31)
#define CR4_UMIP (1ull << 11)
#define CR4_SMEP (1ull << 20)
#define CR4_SMAP (1ull << 21)

static bool add_evidence(struct vr_protection *p, char *line)
{
	if (!line)
		return false;
	char **v = realloc(p->evidence, (p->n_evidence + 1) * sizeof(*v));
	if (!v) {
		free(line);
		return false;
	}
	p->evidence = v;
	p->evidence[p->n_evidence++] = line;
	return true;
}

static struct vr_error *x86_64_cpu_protection(struct vr_kernel *k, const struct vr_regs *const *regs,
					      const char *const *who, size_t n, struct vr_protection *ret)
{
	uint64_t pinned_addr, pinned = 0;
	bool cr4_known = k && vr_kernel_has_memory(k) && vr_symbols_lookup_name(k, "cr4_pinned_bits", &pinned_addr) &&
			 !vr_kernel_absorb(k, vr_read_u64(k, pinned_addr, &pinned), VR_ERRS_READ);
	uint64_t want = pinned & (CR4_SMEP | CR4_SMAP | CR4_UMIP);
	for (size_t i = 0; i < n; i++) {
		const struct vr_regs *r = regs[i];
		if (r->set != &vr_regset_x86_64 || !vr_regs_known(r, X86_CR0) || !(r->r[X86_CR0] & CR0_PG))
			continue; /* not in paging mode (an offline CPU): nothing to protect */
		ret->checked++;
		uint64_t cr0 = r->r[X86_CR0], cr4 = r->r[X86_CR4];
		if (!(cr0 & CR0_WP) &&
		    !add_evidence(ret, vr_asprintf("%s: CR0 0x%016" PRIx64 " has WP (bit 16) clear: the kernel may "
						   "write to its read-only memory; the kernel sets and pins it",
						   who[i], cr0)))
			goto oom;
		if (vr_regs_known(r, X86_CR4) && cr4_known && (cr4 & want) != want) {
			uint64_t miss = want & ~cr4;
			if (!add_evidence(ret, vr_asprintf("%s: CR4 0x%016" PRIx64 " has%s%s%s clear, which the kernel "
							   "pinned set (cr4_pinned_bits 0x%" PRIx64 ")",
							   who[i], cr4, miss & CR4_SMEP ? " SMEP (bit 20)" : "",
							   miss & CR4_SMAP ? " SMAP (bit 21)" : "",
							   miss & CR4_UMIP ? " UMIP (bit 11)" : "", want)))
				goto oom;
		}
	}
	if (!ret->checked)
		return vr_error_create(VR_ERR_NOT_FOUND, "no saved control registers: kdump's notes hold none, "
				       "and the log has no register dump with CR0");
	ret->covered = vr_asprintf("%zu register set%s: CR0.WP%s", ret->checked, ret->checked == 1 ? "" : "s",
				   cr4_known ? ", and CR4's SMEP, SMAP and UMIP against cr4_pinned_bits"
					     : " (CR4 not checked: cr4_pinned_bits is unknown)");
	if (!ret->covered)
		goto oom;
	return NULL;
oom:
	vr_protection_deinit(ret);
	return &vr_error_oom;
}

/* ---- the table ---- */

static const struct vr_syscall_table syscall_tables[] = {
	/* x64_sys_call: 6.9+ (commit 1e3ad78334a6 "x86/syscall: Don't force
	 * use of indirect calls for system calls") */
	{"sys_call_table", "x86-64", "__x64_sys_", "x64_sys_call"},
	{"ia32_sys_call_table", "ia32", "__ia32_sys_", NULL},
	{"x32_sys_call_table", "x32", "__x64_sys_", NULL},
};

static const struct vr_arch_info info = {
	.name = "x86_64",
	.label = "x86-64",
	.regs = &vr_regset_x86_64,
	/* 4-level paging: user space ends at 0x00007fffffffffff, the kernel's
	 * half starts at 0xffff800000000000 (5-level paging keeps both inside). */
	.user_end = 0x0000800000000000ull,
	.kernel_start = 0xffff800000000000ull,
	.canonical_bit = 47,
	.syscall_tables = syscall_tables,
	.n_syscall_tables = sizeof(syscall_tables) / sizeof(syscall_tables[0]),
	.decode = vr_x86_64_decode,
	.max_insn_len = 15, /* Intel SDM vol. 2, 2.3.11 */
};

/* Retpolines and return thunks (__x86_indirect_thunk_*, __x86_return_thunk,
 * srso_*), static-call trampolines, ftrace's entry, the padding before a
 * function (CONFIG_CALL_PADDING) and its CFI preamble. */
static const char *const call_glue[] = {
	"__x86_", "__SCT__", "__fentry__", "__pfx_", "__cfi_", "srso_", NULL,
};

/* VMCOREINFO of x86-64 kernels alone names the top-level page table
 * init_top_pgt (arch/x86/kernel/machine_kexec_64.c). */
static bool x86_64_detect(const struct vr_vmcoreinfo *vi)
{
	uint64_t v;
	return vr_vmcoreinfo_symbol(vi, "init_top_pgt", &v);
}

const struct vr_arch vr_arch_x86_64 = {
	.info = &info,
	.e_machine = 62, /* EM_X86_64 */
	.uts_machine = "x86_64",
	.detect_vmcoreinfo = x86_64_detect,
	.image_min = VR_X86_64_START_KERNEL_MAP,
	.init = x86_64_init,
	.translate = x86_64_translate,
	.refine = x86_64_refine,
	.prstatus = x86_64_prstatus,
	.qemu_note = x86_64_qemu_note,
	.log_regs_line = x86_64_log_regs_line,
	.log_ip_line = x86_64_log_ip_line,
	.dwarf_regno = x86_64_dwarf_regno,
	.unwind_prepare = vr_x86_64_unwind_prepare,
	.unwind = vr_x86_64_unwind,
	.stacks = vr_x86_64_stacks,
	.task_stack_size = x86_64_task_stack_size,
	.task_stack = vr_x86_64_task_stack,
	.current_task = vr_x86_64_current_task,
	.crash_start = vr_x86_64_crash_start,
	.switch_frame = vr_x86_64_switch_frame,
	.call_target = vr_x86_64_call_target,
	.call_glue = call_glue,
	.vectors = x86_64_vectors,
	.cpu_protection = x86_64_cpu_protection,
};
