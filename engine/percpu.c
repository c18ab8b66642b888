/* Per-CPU data: where a CPU's copy of a per-CPU variable lives, and which
 * CPUs the kernel could have. */
#include "internal.h"

/* Whether per-CPU symbols are addresses of the template in the kernel
 * image (moved by KASLR, like any other), not offsets from 0: x86-64 since
 * 6.15 ("x86/percpu/64: Use relative percpu offsets"), where __per_cpu_start
 * is the template's address rather than 0. Either way a CPU's copy is at
 * __per_cpu_offset[cpu] + the symbol's value. */
static bool percpu_relative(struct vr_kernel *k)
{
	uint64_t start;
	if (!vr_symbols_lookup_name(k, "__per_cpu_start", &start))
		return false;
	if (start >= (1u << 24) && start - k->layout.kaslr_offset < (1u << 24))
		start -= k->layout.kaslr_offset;
	return start >= (1u << 24);
}

/* Address of a per-CPU variable of cpu. Zero-based per-CPU symbols are
 * offsets into the per-CPU area (not moved by KASLR); a symbol table that
 * relocated them anyway is corrected. */
struct vr_error *vr_percpu_addr(struct vr_kernel *k, int cpu, const char *sym, uint64_t *ret)
{
	uint64_t off, pco, base;
	if (cpu < 0 || cpu >= VR_MAX_CPUS)
		return vr_error_create(VR_ERR_LIMIT, "cpu %d out of range", cpu);
	if (!vr_symbols_lookup_name(k, sym, &off))
		return vr_error_create(VR_ERR_NOT_FOUND, "no symbol %s", sym);
	bool relative = percpu_relative(k);
	if (!relative && off >= (1u << 24) && off - k->layout.kaslr_offset < (1u << 24))
		off -= k->layout.kaslr_offset;
	if (!relative && off >= (1u << 24))
		return vr_error_create(VR_ERR_FORMAT, "%s at 0x%llx is not a per-cpu offset", sym,
				       (unsigned long long)off);
	if (!vr_symbols_lookup_name(k, "__per_cpu_offset", &pco))
		return vr_error_create(VR_ERR_NOT_FOUND, "no symbol __per_cpu_offset");
	struct vr_error *err = vr_read_u64(k, pco + 8 * (uint64_t)cpu, &base);
	if (err)
		return vr_error_wrap(err, "reading __per_cpu_offset[%d]", cpu);
	*ret = base + off;
	return NULL;
}

struct vr_error *vr_percpu_ptr(struct vr_kernel *k, int cpu, uint64_t ptr, uint64_t *ret)
{
	uint64_t pco, base;
	if (cpu < 0 || cpu >= VR_MAX_CPUS)
		return vr_error_create(VR_ERR_LIMIT, "cpu %d out of range", cpu);
	if (!vr_symbols_lookup_name(k, "__per_cpu_offset", &pco))
		return vr_error_create(VR_ERR_NOT_FOUND, "no symbol __per_cpu_offset");
	struct vr_error *err = vr_read_u64(k, pco + 8 * (uint64_t)cpu, &base);
	if (err)
		return vr_error_wrap(err, "reading __per_cpu_offset[%d]", cpu);
	*ret = base + ptr;
	return NULL;
}

/* The possible CPUs (cpu_possible_mask, bounded by nr_cpu_ids and max):
 * present[c] set for each; returns one more than the highest. Without the
 * mask, CPU 0 alone. */
int vr_possible_cpus(struct vr_kernel *k, uint8_t *present, int max)
{
	uint64_t mask;
	uint32_t nr = 0;
	uint64_t a;
	if (vr_sym(k, "nr_cpu_ids", &a))
		vr_kernel_absorb(k, vr_read_u32(k, a, &nr), VR_ERRS_READ);
	if (!nr || nr > (uint32_t)max)
		nr = (uint32_t)max;
	/* 4.5 renamed cpu_possible_mask's storage to __cpu_possible_mask. */
	if (!vr_sym(k, "__cpu_possible_mask", &mask) && !vr_sym(k, "cpu_possible_bits", &mask)) {
		for (uint32_t c = 0; c < nr; c++)
			present[c] = c == 0;
		return 1;
	}
	int n = 0;
	for (uint32_t w = 0; w * 64 < nr; w++) {
		uint64_t v;
		if (vr_kernel_absorb(k, vr_read_u64(k, mask + w * 8, &v), VR_ERRS_READ))
			v = w == 0 ? 1 : 0;
		for (uint32_t b = 0; b < 64 && w * 64 + b < nr; b++) {
			present[w * 64 + b] = v >> b & 1;
			n = present[w * 64 + b] ? (int)(w * 64 + b + 1) : n;
		}
	}
	return n;
}
