/* The system summary (what crash's `sys` shows): utsname, CPUs, memory,
 * uptime and crash time, load average, task count, taint. Each fact comes
 * from a kernel variable located by VMCOREINFO or the symbol table; a fact
 * that cannot be read stays unknown and is named in the step's reason. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "taint.h"




static bool rd64(struct vr_kernel *k, uint64_t addr, uint64_t *ret)
{
	return !vr_kernel_absorb(k, vr_read_u64(k, addr, ret), VR_ERRS_READ);
}

static bool rd32(struct vr_kernel *k, uint64_t addr, uint32_t *ret)
{
	return !vr_kernel_absorb(k, vr_read_u32(k, addr, ret), VR_ERRS_READ);
}

/* Read a variable found by symbol name. */
static bool var64(struct vr_kernel *k, const char *name, uint64_t *ret)
{
	uint64_t a;
	return vr_sym(k, name, &a) && rd64(k, a, ret);
}

static bool var32(struct vr_kernel *k, const char *name, uint32_t *ret)
{
	uint64_t a;
	return vr_sym(k, name, &a) && rd32(k, a, ret);
}

/* struct new_utsname (include/uapi/linux/utsname.h): six char[65]. */
#define UTS_LEN 65
enum { UTS_SYSNAME, UTS_NODENAME, UTS_RELEASE, UTS_VERSION, UTS_MACHINE, UTS_FIELDS };

static char *uts_field(const char *buf, int i)
{
	return vr_strndup(buf + i * UTS_LEN, UTS_LEN - 1);
}

static bool read_uts(struct vr_kernel *k, struct vr_system *s)
{
	uint64_t ns, name_off;
	if (!vr_sym(k, "init_uts_ns", &ns))
		return false;
	char buf[UTS_FIELDS * UTS_LEN + 8];
	if (vr_kernel_absorb(k, vr_kernel_read(k, ns, buf, sizeof(buf)), VR_ERRS_READ))
		return false;
	if (!vr_member_off(k, "uts_namespace", "name", &name_off)) {
		/* Without a layout: struct uts_namespace began with a struct
		 * kref (4 bytes) until 5.11 moved the count into ns_common
		 * after the name; the sysname "Linux" tells which. */
		if (!memcmp(buf, "Linux", 6))
			name_off = 0;
		else if (!memcmp(buf + 4, "Linux", 6))
			name_off = 4;
		else
			return false;
	}
	if (name_off > 8)
		return false;
	const char *u = buf + name_off;
	if (!s->release)
		s->release = uts_field(u, UTS_RELEASE);
	if (!s->version)
		s->version = uts_field(u, UTS_VERSION);
	if (!s->machine)
		s->machine = uts_field(u, UTS_MACHINE);
	if (!s->nodename)
		s->nodename = uts_field(u, UTS_NODENAME);
	return true;
}

/* Count the set bits among the first nbits of a cpumask variable. */
static int mask_weight(struct vr_kernel *k, const char *const names[], uint32_t nbits)
{
	uint64_t a;
	bool found = false;
	for (int i = 0; names[i] && !found; i++)
		found = vr_sym(k, names[i], &a);
	if (!found)
		return -1;
	int n = 0;
	for (uint32_t w = 0; w * 64 < nbits; w++) {
		uint64_t v;
		if (!rd64(k, a + w * 8, &v))
			return -1;
		if (nbits - w * 64 < 64)
			v &= (1ull << (nbits - w * 64)) - 1;
		n += __builtin_popcountll(v);
	}
	return n;
}

static void read_cpus(struct vr_kernel *k, struct vr_system *s)
{
	uint32_t nr;
	if (!var32(k, "nr_cpu_ids", &nr) || nr == 0 || nr > VR_MAX_CPUS)
		nr = VR_MAX_CPUS;
	/* 4.5 renamed cpu_possible_mask's storage to __cpu_possible_mask. */
	static const char *const possible[] = {"__cpu_possible_mask", "cpu_possible_bits", NULL};
	static const char *const online[] = {"__cpu_online_mask", "cpu_online_bits", NULL};
	s->cpus = mask_weight(k, possible, nr);
	s->cpus_online = mask_weight(k, online, nr);
}

/* RAM present, as crash's `sys` MEMORY counts it: the sum of
 * node_present_pages over the NUMA nodes (node_data[], or
 * contig_page_data without NUMA). */
static uint64_t present_pages(struct vr_kernel *k)
{
	uint64_t o_present, a, total = 0;
	if (!vr_member_off(k, "pglist_data", "node_present_pages", &o_present))
		return 0;
	if (vr_sym(k, "node_data", &a)) {
		uint64_t n = 0;
		if (!k->vmcoreinfo || !vr_vmcoreinfo_length(k->vmcoreinfo, "node_data", &n) || n > 1024)
			n = 1024; /* MAX_NUMNODES with NODES_SHIFT 10 */
		uint64_t *nodes = calloc((size_t)n ? (size_t)n : 1, sizeof(*nodes));
		if (!nodes)
			return 0;
		if (vr_kernel_absorb(k, vr_kernel_read(k, a, nodes, (size_t)n * 8), VR_ERRS_READ))
			n = 0;
		for (uint64_t i = 0; i < n; i++) {
			uint64_t pages;
			if (nodes[i] && rd64(k, nodes[i] + o_present, &pages) && pages < (1ull << 40))
				total += pages;
		}
		free(nodes);
	} else if (vr_sym(k, "contig_page_data", &a)) {
		if (!rd64(k, a + o_present, &total) || total >= (1ull << 40))
			total = 0;
	}
	return total;
}

static void read_memory(struct vr_kernel *k, struct vr_system *s)
{
	int64_t page = VR_PAGE_SIZE;
	if (k->vmcoreinfo) {
		const char *ps = vr_vmcoreinfo_get(k->vmcoreinfo, "PAGESIZE");
		if (ps && atoll(ps) > 0)
			page = atoll(ps);
	}
	uint64_t pages = present_pages(k);
	if (pages) {
		s->memory_bytes = pages * (uint64_t)page;
		return;
	}
	/* Else the RAM the page allocator manages (less than installed: the
	 * crash kernel's reservation and the kernel image are not in it):
	 * _totalram_pages (atomic_long_t) since 5.0, totalram_pages before */
	if (var64(k, "_totalram_pages", &pages) || var64(k, "totalram_pages", &pages)) {
		if (pages && pages < (1ull << 40))
			s->memory_bytes = pages * (uint64_t)page;
	}
}

/* The timekeeper (kernel/time/timekeeping.c tk_core.timekeeper): wall clock
 * seconds (xtime_sec) and CLOCK_BOOTTIME (tkr_mono.base + offs_boot) as of
 * the last tick before the crash. Says why when it cannot read either. */
static struct vr_error *read_timekeeper(struct vr_kernel *k, struct vr_system *s)
{
	uint64_t tk, o_xtime, o_base, o_boot;
	/* Since 6.17 ("timekeeping: Provide timekeepers for auxiliary
	 * clocks") tk_core is element 0 (TIMEKEEPER_CORE) of the array
	 * timekeeper_data of struct tk_data. */
	bool core = vr_sym(k, "tk_core", &tk);
	if (!core && !vr_sym(k, "timekeeper_data", &tk))
		return vr_error_create(VR_ERR_NOT_FOUND, "neither tk_core nor timekeeper_data is a known symbol");
	/* tk_core is an anonymous struct { seqcount_raw_spinlock_t seq;
	 * struct timekeeper timekeeper; } until 6.13 named it struct tk_data:
	 * where the timekeeper lies depends on the seqcount's size (lockdep
	 * makes it bigger), so it is asked of the variable's type. */
	struct vr_member m, mx;
	struct vr_error *err = core ? vr_type_symbol_member(k, "tk_core", "timekeeper", &m)
				    : vr_type_member(k, "tk_data", "timekeeper", &m);
	if (!err)
		err = vr_type_member(k, "timekeeper", "xtime_sec", &mx);
	if (err)
		return err;
	uint64_t o_tk = m.offset;
	o_xtime = mx.offset;
	uint64_t xtime;
	if (!rd64(k, tk + o_tk + o_xtime, &xtime) || xtime < 100000000ull || xtime > (1ull << 40))
		return vr_error_create(VR_ERR_NOT_PRESENT, "tk_core.timekeeper.xtime_sec at 0x%llx: unreadable or implausible",
				       (unsigned long long)(tk + o_tk + o_xtime));
	s->crash_time = (int64_t)xtime;
	/* CLOCK_BOOTTIME needs both parts: the monotonic base and the time
	 * spent suspended. */
	uint64_t base, boot;
	if (!vr_member_off(k, "timekeeper", "tkr_mono.base", &o_base) ||
	    !vr_member_off(k, "timekeeper", "offs_boot", &o_boot))
		return vr_error_create(VR_ERR_NOT_FOUND, "the layout of timekeeper.tkr_mono.base or offs_boot is unknown");
	if (!rd64(k, tk + o_tk + o_base, &base) || !rd64(k, tk + o_tk + o_boot, &boot))
		return vr_error_create(VR_ERR_NOT_PRESENT, "tk_core.timekeeper at 0x%llx: unreadable",
				       (unsigned long long)(tk + o_tk));
	/* tkr_mono.base holds whole seconds and the monotonic offset's ns
	 * (timekeeping.c tk_update_ktime_data()); the ns of the current
	 * second are tkr_mono.xtime_nsec >> tkr_mono.shift. */
	uint64_t o_xns, o_shift, xns;
	uint32_t shift;
	if (vr_member_off(k, "timekeeper", "tkr_mono.xtime_nsec", &o_xns) &&
	    vr_member_off(k, "timekeeper", "tkr_mono.shift", &o_shift) && rd64(k, tk + o_tk + o_xns, &xns) &&
	    rd32(k, tk + o_tk + o_shift, &shift) && shift < 64 && (xns >> shift) < 1000000000ull)
		base += xns >> shift;
	if ((int64_t)base < 0 || (int64_t)boot < 0)
		return vr_error_create(VR_ERR_FORMAT, "tk_core.timekeeper: negative boot time");
	s->uptime_s = (double)(base + boot) / 1e9;
	return NULL;
}

struct vr_error *vr_collect_system(struct vr_kernel *k, struct vr_facts *f)
{
	struct vr_system *s = &f->system;
	char missing[256] = "";
	const struct vr_dump_info *di = k->dump ? vr_dump_get_info(k->dump) : NULL;

	s->cpus = s->cpus_online = -1;
	s->uptime_s = -1;
	s->crash_time = -1;
	s->tasks = -1;

#define MISSING(what) \
	do { \
		if (strlen(missing) + sizeof(what) + 2 < sizeof(missing)) \
			strcat(strcat(missing, *missing ? ", " : ""), what); \
	} while (0)

	if (!read_uts(k, s))
		MISSING("utsname");
	/* The dump's own copies when memory did not say. */
	if (!s->release && k->vmcoreinfo) {
		const char *r = vr_vmcoreinfo_get(k->vmcoreinfo, "OSRELEASE");
		if (r)
			s->release = vr_strdup(r);
	}
	if (di) {
		if (!s->release && di->release[0])
			s->release = vr_strndup(di->release, sizeof(di->release) - 1);
		if (!s->version && di->version[0])
			s->version = vr_strndup(di->version, sizeof(di->version) - 1);
		if (!s->machine && di->machine[0])
			s->machine = vr_strndup(di->machine, sizeof(di->machine) - 1);
		if (!s->nodename && di->nodename[0])
			s->nodename = vr_strndup(di->nodename, sizeof(di->nodename) - 1);
	}

	read_cpus(k, s);
	if (s->cpus < 0)
		MISSING("cpus");

	read_memory(k, s);
	if (!s->memory_bytes && di && di->pages_total)
		s->memory_bytes = di->pages_total * VR_PAGE_SIZE; /* RAM the dump describes */
	if (!s->memory_bytes)
		MISSING("memory");

	_cleanup_error_ struct vr_error *tk_err = read_timekeeper(k, s);
	if (tk_err && tk_err->code == VR_ERR_NOMEM)
		return &vr_error_oom;
	if (s->crash_time < 0 && di && di->dump_time > 0)
		s->crash_time = di->dump_time;
	if (s->crash_time < 0)
		MISSING("crash time");
	if (s->uptime_s < 0) {
		/* The last log record's timestamp (local_clock(): time since
		 * boot, not counting suspend) when the timekeeper is out of
		 * reach; the log collector runs after this one, so this is
		 * refined by the panic collector. */
		MISSING("uptime");
	}

	uint64_t avenrun;
	if (vr_sym(k, "avenrun", &avenrun)) {
		uint64_t a[3];
		if (!vr_kernel_absorb(k, vr_kernel_read(k, avenrun, a, sizeof(a)), VR_ERRS_READ)) {
			/* include/linux/sched/loadavg.h: fixed point, FSHIFT 11 */
			for (int i = 0; i < 3; i++)
				s->load_average[i] = (double)a[i] / 2048.0;
			s->load_known = true;
		}
	}
	if (!s->load_known)
		MISSING("load average");

	uint32_t nr_threads;
	/* nr_threads counts every task made by copy_process(), which
	 * includes the idle tasks of the secondary CPUs but not init_task. */
	if (var32(k, "nr_threads", &nr_threads) && nr_threads < 10000000)
		s->tasks = (int64_t)nr_threads + 1;

	uint64_t taint;
	if (var64(k, "tainted_mask", &taint)) {
		s->taint_mask = taint;
		s->taint_known = true;
		if (!(s->taint_letters = vr_taint_letters(taint)))
			return &vr_error_oom;
	} else {
		MISSING("taint");
	}
#undef MISSING
	if (*missing)
		return vr_error_create(VR_ERR_NOT_PRESENT, "could not read %s%s%s", missing,
				       tk_err ? "; the timekeeper: " : "", tk_err ? tk_err->message : "");
	return NULL;
}
