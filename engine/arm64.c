/* arm64: the kernel's virtual address space (layout from VMCOREINFO, page
 * tables from the dump), its registers, and stack traces by frame records.
 *
 * Facts relied on (Linux 4.x .. 6.x):
 *  - arch/arm64/kernel/vmcore_info.c (crash_core.c before 6.9),
 *    arch_crash_save_vmcoreinfo(): NUMBER(VA_BITS) (decimal),
 *    NUMBER(kimage_voffset)=0x.., NUMBER(PHYS_OFFSET)=0x..,
 *    NUMBER(tcr_el1_t1sz)=0x.. (5.13+), NUMBER(KERNELPACMASK)=0x.. (5.12+),
 *    NUMBER(MODULES_VADDR), MODULES_END, VMALLOC_START (6.x), KERNELOFFSET;
 *    the generic part names SYMBOL(swapper_pg_dir) and PAGESIZE.
 *  - arch/arm64/include/asm/memory.h: a kernel-image address is
 *    va - kimage_voffset; the linear map is [PAGE_OFFSET, PAGE_END) and a
 *    linear address is va - PAGE_OFFSET + PHYS_OFFSET. Since 5.4 (commit
 *    14c127c957c1 "arm64: mm: Flip kernel VA space") PAGE_OFFSET is
 *    -(1 << VA_BITS) and PAGE_END -(1 << (VA_BITS_MIN - 1)), the image in
 *    the upper half; before, PAGE_OFFSET was -(1 << (VA_BITS - 1)), the
 *    linear map the upper half and the image in the lower.
 *  - ARM ARM D8 (VMSAv8-64): descriptors valid in bit 0; bit 1 set is a
 *    table (or a page at the last level), clear a block; the output address
 *    is bits [47:page_shift], with 52-bit addresses as arm64.h says.
 *  - arch/arm64/include/asm/pgtable-hwdef.h TTBR1_BADDR_4852_OFFSET: a
 *    kernel built for 52-bit VAs that runs with 48 indexes the same top
 *    table from an offset.
 *  - arch/arm64/kernel/stacktrace.c: a frame record is {fp, lr} at x29;
 *    the chain ends at a record of zeros (or fp 0); return addresses carry
 *    a pointer-authentication code in their top bits
 *    (ptrauth_strip_kernel_insn_pac: the bits of the PAC mask set).
 *  - arch/arm64/include/asm/processor.h struct cpu_context: fp, sp and pc
 *    of a task switched out (pc a return address into __switch_to's
 *    caller path).
 * Not yet read: 4 and 16 KiB granules with 52-bit VAs (LPA2, 6.9+, five
 * levels), the IRQ, overflow and SDEI stacks (a trace ends where its frame
 * records leave the task's stack), instruction decoding, and the register
 * dump of an oops printed in a log. */
#define _GNU_SOURCE
#include "arm64.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "notes.h"
#include "unwind.h"

#define MAX_FRAMES 256

/* ---- translation ---- */

static unsigned levels_of(const struct vr_arm64_regime *r)
{
	unsigned b = r->page_shift - 3;
	return (r->va_bits - r->page_shift + b - 1) / b;
}

/* The output address of descriptor d whose page or block is 1 << shift. */
static uint64_t out_addr(const struct vr_arm64_regime *r, uint64_t d, unsigned shift)
{
	uint64_t low = ~((1ull << shift) - 1);
	if (!r->pa52)
		return d & 0x0000ffffffffffffull & low;
	if (r->page_shift == 16)
		return (d & 0x0000ffffffffffffull & low) | ((d >> 12) & 0xf) << 48;
	return (d & 0x0003ffffffffffffull & low) | ((d >> 8) & 0x3) << 50;
}

struct vr_error *vr_arm64_walk(const struct vr_arm64_regime *r, uint64_t root, uint64_t vaddr,
			       vr_arm64_read_fn read, void *arg, uint64_t *ret, uint64_t *ret_size)
{
	if ((r->page_shift != 12 && r->page_shift != 14 && r->page_shift != 16) || r->va_bits < 25 ||
	    r->va_bits > 52)
		return vr_error_create(VR_ERR_UNSUPPORTED, "arm64: no translation with %u-bit pages and %u-bit addresses",
				       r->page_shift, r->va_bits);
	/* The kernel's half: bits 63..va_bits all set. */
	if ((vaddr >> r->va_bits) != (~0ull >> r->va_bits))
		return vr_error_create(VR_ERR_FAULT, "0x%016" PRIx64 ": outside the %u-bit kernel address space",
				       vaddr, r->va_bits);
	unsigned b = r->page_shift - 3, n = levels_of(r);
	uint64_t table = root;
	for (unsigned i = 0; i < n; i++) {
		unsigned shift = r->page_shift + b * (n - 1 - i);
		unsigned bits = i == 0 ? r->va_bits - shift : b;
		uint64_t idx = (vaddr >> shift) & ((1ull << bits) - 1);
		uint64_t at = table + idx * 8, d;
		struct vr_error *err = read(arg, at, &d);
		if (err)
			return vr_error_wrap(err, "0x%016" PRIx64 ": level %u descriptor at 0x%" PRIx64, vaddr,
					     4 - n + i, at);
		bool last = i == n - 1;
		if (!(d & 1))
			return vr_error_create(VR_ERR_FAULT, "0x%016" PRIx64 ": level %u descriptor not valid",
					       vaddr, 4 - n + i);
		if (last || !(d & 2)) {
			/* A page, or a block of this level's size. */
			if (last && !(d & 2))
				return vr_error_create(VR_ERR_FAULT, "0x%016" PRIx64 ": level %u descriptor reserved",
						       vaddr, 4 - n + i);
			if (!last && (i == 0 || shift > 42))
				return vr_error_create(VR_ERR_FAULT, "0x%016" PRIx64 ": a block at level %u",
						       vaddr, 4 - n + i);
			*ret = out_addr(r, d, shift) | (vaddr & ((1ull << shift) - 1));
			if (ret_size)
				*ret_size = 1ull << shift;
			return NULL;
		}
		table = out_addr(r, d, r->page_shift);
	}
	return vr_error_create(VR_ERR_FAULT, "0x%016" PRIx64 ": no level maps it", vaddr);
}

uint64_t vr_arm64_strip_pac(uint64_t addr, uint64_t pac_mask)
{
	/* Bit 55 selects the half: a kernel address has it set. */
	return addr & (1ull << 55) ? addr | pac_mask : addr & ~pac_mask;
}

static struct vr_error *arm64_translate(struct vr_kernel *k, uint64_t vaddr, uint64_t *ret)
{
	const struct vr_arm64 *a = k->arch_state;
	if (!a || !k->layout_ready)
		return vr_error_create(VR_ERR_UNSUPPORTED,
				       "0x%016" PRIx64 ": the kernel address space is not known", vaddr);
	if (vaddr >= a->page_offset && (!a->page_end || vaddr < a->page_end)) {
		*ret = vaddr - a->page_offset + a->phys_offset;
		return NULL;
	}
	return vr_arm64_walk(&a->regime, a->root, vaddr, vr_kernel_read_table_u64, k, ret, NULL);
}

/* A VMCOREINFO value as the kernel printed it: "0x.." hex, decimal else. */
static bool vi_value(const struct vr_vmcoreinfo *vi, const char *key, uint64_t *ret)
{
	const char *s = vr_vmcoreinfo_get(vi, key);
	if (!s || !*s)
		return false;
	char *end;
	unsigned long long v = strtoull(s, &end, 0);
	if (*end)
		return false;
	*ret = v;
	return true;
}

static struct vr_error *arm64_init(struct vr_kernel *k)
{
	if (!k->dump || !vr_dump_has_memory(k->dump))
		return vr_error_create(VR_ERR_UNSUPPORTED, "the input holds no memory");
	const struct vr_vmcoreinfo *vi = k->vmcoreinfo;
	if (!vi)
		return vr_error_create(VR_ERR_NOT_FOUND,
				       "no VMCOREINFO: arm64's layout (VA_BITS, kimage_voffset) is not known");
	struct vr_arm64 *a = calloc(1, sizeof(*a));
	if (!a)
		return &vr_error_oom;
	free(k->arch_state);
	k->arch_state = a;
	struct vr_kernel_layout *L = &k->layout;
	*L = (struct vr_kernel_layout){0};

	uint64_t va_bits = 0, page_size = 0, t1sz = 0, swapper = 0, pa_bits = 0;
	if (!vi_value(vi, "NUMBER(VA_BITS)", &va_bits) || va_bits < 36 || va_bits > 52)
		return vr_error_create(VR_ERR_NOT_FOUND, "VMCOREINFO gives no usable NUMBER(VA_BITS)");
	if (!vi_value(vi, "PAGESIZE", &page_size) ||
	    (page_size != 4096 && page_size != 16384 && page_size != 65536))
		return vr_error_create(VR_ERR_NOT_FOUND, "VMCOREINFO gives no arm64 PAGESIZE (4, 16 or 64 KiB)");
	if (!vi_value(vi, "NUMBER(kimage_voffset)", &a->kimage_voffset))
		return vr_error_create(VR_ERR_NOT_FOUND, "VMCOREINFO gives no NUMBER(kimage_voffset)");
	if (!vi_value(vi, "NUMBER(PHYS_OFFSET)", &a->phys_offset))
		return vr_error_create(VR_ERR_NOT_FOUND, "VMCOREINFO gives no NUMBER(PHYS_OFFSET)");
	if (!vr_vmcoreinfo_symbol(vi, "swapper_pg_dir", &swapper))
		return vr_error_create(VR_ERR_NOT_FOUND, "VMCOREINFO names no swapper_pg_dir");
	vr_vmcoreinfo_hex(vi, "KERNELOFFSET", &L->kaslr_offset);
	a->va_bits = (unsigned)va_bits;
	a->regime.page_shift = (unsigned)__builtin_ctzll(page_size);
	/* The bits the MMU translates: 64 - T1SZ, fewer than VA_BITS on a
	 * CPU without 52-bit support. */
	a->regime.va_bits = a->va_bits;
	if (vi_value(vi, "NUMBER(tcr_el1_t1sz)", &t1sz) && t1sz >= 12 && t1sz <= 39 && 64 - t1sz <= va_bits)
		a->regime.va_bits = (unsigned)(64 - t1sz);
	a->regime.pa52 = vi_value(vi, "NUMBER(MAX_PHYSMEM_BITS)", &pa_bits) && pa_bits == 52;
	/* swapper_pg_dir is in the image. With fewer bits than the top table
	 * was sized for, the walk starts inside it (TTBR1_BADDR_4852_OFFSET). */
	a->root = swapper - a->kimage_voffset;
	if (a->regime.va_bits < a->va_bits) {
		struct vr_arm64_regime full = a->regime;
		full.va_bits = a->va_bits;
		unsigned b = full.page_shift - 3;
		unsigned top_shift = full.page_shift + b * (levels_of(&full) - 1);
		if (levels_of(&full) != levels_of(&a->regime))
			return vr_error_create(VR_ERR_UNSUPPORTED,
					       "arm64: %u-bit VAs run with %u bits in another number of levels "
					       "(LPA2) are not read yet", a->va_bits, a->regime.va_bits);
		a->root += ((1ull << (full.va_bits - top_shift)) - (1ull << (a->regime.va_bits - top_shift))) * 8;
	}
	/* Which half the image is in says which layout: the upper since 5.4. */
	unsigned vmin = a->va_bits == 52 ? 48 : a->va_bits;
	bool flipped = swapper >= -(1ull << (a->va_bits - 1));
	if (flipped) {
		a->page_offset = -(1ull << a->va_bits);
		a->page_end = -(1ull << (vmin - 1));
	} else {
		a->page_offset = -(1ull << (a->va_bits - 1));
		a->page_end = 0; /* to the top of the address space */
	}
	uint64_t pac = 0;
	a->pac_mask = vi_value(vi, "NUMBER(KERNELPACMASK)", &pac) && pac ? pac : ~0ull << a->regime.va_bits;

	uint64_t v;
	if (vr_vmcoreinfo_symbol(vi, "_stext", &v))
		L->image_start = v;
	if (vi_value(vi, "NUMBER(MODULES_VADDR)", &v))
		L->modules_start = v;
	if (vi_value(vi, "NUMBER(MODULES_END)", &v))
		L->modules_end = v;
	if (vi_value(vi, "NUMBER(VMALLOC_START)", &v))
		L->vmalloc_start = v;
	L->page_offset = a->page_offset;
	L->user_end = 1ull << a->regime.va_bits; /* TASK_SIZE_64 */
	k->layout_ready = true;
	return NULL;
}

/* ---- registers ---- */

static const char *const reg_names[A64_NREGS] = {
	"x0", "x1", "x2", "x3", "x4", "x5", "x6", "x7", "x8", "x9",
	"x10", "x11", "x12", "x13", "x14", "x15", "x16", "x17", "x18", "x19",
	"x20", "x21", "x22", "x23", "x24", "x25", "x26", "x27", "x28", "x29",
	"lr", "sp", "pc", "pstate",
};

/* As crash's arm64 "bt" prints an exception frame. */
#define C(r, l) {r, l, 16}
static const struct vr_reg_cell reg_rows[][4] = {
	{C(A64_PC, " PC"), C(A64_LR, " LR"), C(A64_SP, " SP"), {-1, NULL, 0}},
	{C(29, "X29"), C(28, "X28"), C(27, "X27"), {-1, NULL, 0}},
	{C(26, "X26"), C(25, "X25"), C(24, "X24"), {-1, NULL, 0}},
	{C(23, "X23"), C(22, "X22"), C(21, "X21"), {-1, NULL, 0}},
	{C(20, "X20"), C(19, "X19"), C(18, "X18"), {-1, NULL, 0}},
	{C(17, "X17"), C(16, "X16"), C(15, "X15"), {-1, NULL, 0}},
	{C(14, "X14"), C(13, "X13"), C(12, "X12"), {-1, NULL, 0}},
	{C(11, "X11"), C(10, "X10"), C(9, " X9"), {-1, NULL, 0}},
	{C(8, " X8"), C(7, " X7"), C(6, " X6"), {-1, NULL, 0}},
	{C(5, " X5"), C(4, " X4"), C(3, " X3"), {-1, NULL, 0}},
	{C(2, " X2"), C(1, " X1"), C(0, " X0"), {-1, NULL, 0}},
	{{A64_PSTATE, "PSTATE", 8}, {-1, NULL, 0}, {-1, NULL, 0}, {-1, NULL, 0}},
};
#undef C

/* PSTATE.M[3:0] (arch/arm64/include/uapi/asm/ptrace.h): 0 EL0t (user),
 * 4/5 EL1t/EL1h, 8/9 EL2t/EL2h (a VHE kernel). */
static bool arm64_user_mode(const struct vr_regs *r)
{
	return (r->r[A64_PSTATE] & 0xf) == 0;
}

static bool arm64_kernel_mode(const struct vr_regs *r)
{
	uint64_t m = r->r[A64_PSTATE] & 0xf;
	return m == 4 || m == 5 || m == 8 || m == 9;
}

static bool arm64_mode_known(const struct vr_regs *r)
{
	return r->valid && !(r->unknown & (1ull << A64_PSTATE));
}

const struct vr_regset vr_regset_arm64 = {
	.arch = "arm64",
	.n = A64_NREGS,
	.n_frame = A64_NREGS,
	.n_data = A64_FP, /* x0 .. x28 */
	.names = reg_names,
	.pc = A64_PC,
	.sp = A64_SP,
	.fp = A64_FP,
	.mode = A64_PSTATE,
	.fault = -1, /* FAR_EL1 is in no note */
	.report = (1ull << A64_NREGS) - 1,
	.rows = reg_rows,
	.n_rows = sizeof(reg_rows) / sizeof(reg_rows[0]),
	.user_mode = arm64_user_mode,
	.kernel_mode = arm64_kernel_mode,
	.mode_known = arm64_mode_known,
};

static bool arm64_prstatus(const uint8_t *desc, size_t len, struct vr_regs *ret)
{
	return vr_arch_prstatus_frame(desc, len, &vr_regset_arm64, ret);
}

/* AAPCS64 DWARF numbers: x0..x30 are 0..30, sp 31. */
static int arm64_dwarf_regno(int reg)
{
	return reg >= 0 && reg <= A64_SP ? reg : -1;
}

/* ---- stacks ---- */

/* THREAD_SIZE from the kernel's types: union thread_union is the stack
 * (include/linux/sched.h). */
static struct vr_error *arm64_task_stack_size(struct vr_kernel *k, uint64_t *ret)
{
	uint64_t size;
	struct vr_error *err = vr_type_size(k, "thread_union", &size);
	if (err)
		return vr_error_wrap(err, "the size of a task's stack");
	if (size < 4096 || size > (1u << 20) || (size & (size - 1)))
		return vr_error_create(VR_ERR_FORMAT, "the size of a task's stack: union thread_union is %llu bytes",
				       (unsigned long long)size);
	*ret = size;
	return NULL;
}

/* The smallest THREAD_SIZE a kernel of this granule has: 16 KiB
 * (THREAD_SHIFT 14 without KASAN), a page with 64 KiB pages
 * (arch/arm64/include/asm/memory.h MIN_THREAD_SHIFT, THREAD_SHIFT). */
static uint64_t min_stack(const struct vr_kernel *k)
{
	const struct vr_arm64 *a = k->arch_state;
	return a && a->regime.page_shift > 14 ? 1ull << a->regime.page_shift : 16384;
}

static uint64_t arm64_task_stack(struct vr_kernel *k, int cpu)
{
	const struct vr_facts *f = k->facts;
	for (size_t i = 0; f && i < f->n_tasks; i++)
		if (f->tasks[i].is_current && f->tasks[i].cpu == cpu && f->tasks[i].stack)
			return f->tasks[i].stack;
	return 0;
}

static size_t arm64_stacks(struct vr_kernel *k, int cpu, uint64_t task_stack, struct vr_stack_span *ret)
{
	size_t n = 0;
	uint64_t size;
	if (vr_kernel_absorb(k, arm64_task_stack_size(k, &size), VR_ERRS_LAYOUT))
		size = min_stack(k);
	if (task_stack)
		ret[n++] = (struct vr_stack_span){task_stack, task_stack + size};
	/* irq_stack_ptr: the base of cpu's IRQ stack, IRQ_STACK_SIZE =
	 * THREAD_SIZE (arch/arm64/kernel/irq.c). */
	uint64_t at, base;
	if (cpu >= 0 && !vr_kernel_absorb(k, vr_percpu_addr(k, cpu, "irq_stack_ptr", &at), VR_ERRS_READ, VR_ERR_NOT_FOUND, VR_ERR_LIMIT) &&
	    !vr_kernel_absorb(k, vr_read_u64(k, at, &base), VR_ERRS_READ) && base)
		ret[n++] = (struct vr_stack_span){base, base + size};
	return n;
}

/* ---- unwinding by frame records ---- */

static struct vr_error *push(struct vr_kernel *k, struct vr_trace *t, uint64_t pc, bool ret_addr,
			     const char *stack)
{
	struct vr_frame *v = realloc(t->frames, (t->n_frames + 1) * sizeof(*v));
	if (!v)
		return &vr_error_oom;
	t->frames = v;
	struct vr_frame *f = &t->frames[t->n_frames++];
	*f = (struct vr_frame){.address = pc, .reliable = true};
	if (stack && !(f->stack = vr_strdup(stack)))
		return &vr_error_oom;
	if (pc >= k->arch->info->kernel_start)
		vr_kernel_symbolize(k, f, ret_addr);
	return NULL;
}

static struct vr_error *arm64_unwind(struct vr_kernel *k, const struct vr_unwind_start *s,
				     struct vr_trace *trace)
{
	*trace = (struct vr_trace){0};
	const struct vr_regs *r = &s->regs;
	if (!r->valid || r->set != &vr_regset_arm64)
		return vr_error_create(VR_ERR_NOT_FOUND, "no registers to start from");
	if (arm64_user_mode(r))
		return push(k, trace, r->r[A64_PC], false, NULL);
	const struct vr_arm64 *a = k->arch_state;
	uint64_t pac = a ? a->pac_mask : ~0ull << 48;
	struct vr_stack_span spans[VR_ARCH_MAX_STACKS];
	size_t n = arm64_stacks(k, s->cpu, s->task_stack, spans);
	if (!n) {
		/* No stack known: the one the stack pointer is on, as small as
		 * any kernel of this granule makes it. */
		uint64_t size = min_stack(k);
		spans[n++] = (struct vr_stack_span){r->r[A64_SP] & ~(size - 1), (r->r[A64_SP] & ~(size - 1)) + size};
	}
	struct vr_error *err = push(k, trace, vr_arm64_strip_pac(r->r[A64_PC], pac), s->call_frame, "task");
	uint64_t fp = r->r[A64_FP], prev = 0;
	for (size_t i = 0; !err && i < MAX_FRAMES; i++) {
		if (!fp)
			return NULL; /* the end of the chain */
		bool on = false;
		for (size_t j = 0; j < n && !on; j++)
			on = fp >= spans[j].lo && fp + 16 <= spans[j].hi;
		if (!on || (fp & 7) || (prev && fp <= prev)) {
			trace->stop_reason = vr_asprintf("the frame pointer 0x%016" PRIx64 " is on no stack of the "
							 "task or CPU, or not above the last",
							 fp);
			return trace->stop_reason ? NULL : &vr_error_oom;
		}
		uint64_t rec[2];
		err = vr_kernel_read(k, fp, rec, sizeof(rec));
		if (err) {
			trace->stop_reason = vr_asprintf("reading the frame record at 0x%016" PRIx64 ": %s", fp,
							 err->message);
			vr_error_destroy(err);
			return trace->stop_reason ? NULL : &vr_error_oom;
		}
		if (!rec[0] && !rec[1])
			return NULL; /* the final record (5.15+: in the task's pt_regs) */
		uint64_t lr = vr_arm64_strip_pac(rec[1], pac);
		if (!lr)
			return NULL;
		err = push(k, trace, lr, true, "task");
		prev = fp;
		fp = rec[0];
	}
	if (!err && !trace->stop_reason &&
	    !(trace->stop_reason = vr_asprintf("more than %d frames", MAX_FRAMES)))
		err = &vr_error_oom;
	return err;
}

/* struct cpu_context of a task switched out (thread.cpu_context): its fp,
 * sp and pc, the return address cpu_switch_to() saved. */
static struct vr_error *arm64_switch_frame(struct vr_kernel *k, const struct vr_task *t,
					   struct vr_unwind_start *ret)
{
	static const struct {
		const char *member;
		int reg;
	} ctx[] = {
		{"thread.cpu_context.fp", A64_FP},
		{"thread.cpu_context.sp", A64_SP},
		{"thread.cpu_context.pc", A64_PC},
	};
	struct vr_regs r = {.set = &vr_regset_arm64, .r[A64_PSTATE] = 5 /* EL1h */};
	for (size_t i = 0; i < sizeof(ctx) / sizeof(ctx[0]); i++) {
		struct vr_member m;
		struct vr_error *err = vr_type_member(k, "task_struct", ctx[i].member, &m);
		if (err)
			return vr_error_wrap(err, "the switch frame's layout");
		if ((err = vr_read_u64(k, t->task + m.offset, &r.r[ctx[i].reg])))
			return vr_error_wrap(err, "reading the switch frame of pid %d", t->pid);
	}
	r.valid = true;
	ret->regs = r;
	ret->call_frame = true;
	return NULL;
}

/* BL imm26 (ARM ARM C6.2.34): the call right before a return address. */
static bool arm64_call_target(struct vr_kernel *k, uint64_t ret, uint64_t *target)
{
	uint32_t insn;
	if (ret < 4 || vr_kernel_absorb(k, vr_read_u32(k, ret - 4, &insn), VR_ERRS_READ) || (insn & 0xfc000000u) != 0x94000000u)
		return false;
	int64_t imm = (int64_t)((uint64_t)(insn & 0x03ffffffu) << 38) >> 36; /* sign-extended, times 4 */
	*target = ret - 4 + (uint64_t)imm;
	return true;
}

/* ---- the table ---- */

static const struct vr_syscall_table syscall_tables[] = {
	{"sys_call_table", "arm64", "__arm64_sys_", NULL},
	{"compat_sys_call_table", "arm32", "__arm64_compat_sys_", NULL},
};

static const struct vr_arch_info info = {
	.name = "arm64",
	.label = "arm64",
	.regs = &vr_regset_arm64,
	/* 52-bit VAs: user space below 1 << 52, the kernel's half from
	 * 0xfff0000000000000 (fewer bits put both inside). */
	.user_end = 1ull << 52,
	.kernel_start = 0xfff0000000000000ull,
	.canonical_bit = 52,
	.syscall_tables = syscall_tables,
	.n_syscall_tables = sizeof(syscall_tables) / sizeof(syscall_tables[0]),
	.decode = NULL,
	.max_insn_len = 4,
};

/* Stubs of the system call wrappers and the padding before a function. */
static const char *const call_glue[] = {"__pfx_", "__cfi_", NULL};

/* VMCOREINFO of arm64 kernels alone gives kimage_voffset. */
static bool arm64_detect(const struct vr_vmcoreinfo *vi)
{
	return vr_vmcoreinfo_get(vi, "NUMBER(kimage_voffset)") != NULL;
}

const struct vr_arch vr_arch_arm64 = {
	.info = &info,
	.e_machine = 183, /* EM_AARCH64 */
	.uts_machine = "aarch64",
	.detect_vmcoreinfo = arm64_detect,
	/* The lowest kernel address of any configuration: vmlinux symbols
	 * below it are absolute. */
	.image_min = 0xfff0000000000000ull,
	.init = arm64_init,
	.translate = arm64_translate,
	.prstatus = arm64_prstatus,
	.dwarf_regno = arm64_dwarf_regno,
	.unwind = arm64_unwind,
	.stacks = arm64_stacks,
	.task_stack_size = arm64_task_stack_size,
	.task_stack = arm64_task_stack,
	.switch_frame = arm64_switch_frame,
	.call_target = arm64_call_target,
	.call_glue = call_glue,
};
