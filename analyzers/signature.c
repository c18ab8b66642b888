/* The crash signature: a short id that is the same for the same bug in every
 * form of dump, across reboots and KASLR offsets, so that reports of one bug
 * can be grouped. It is built from the crash kind and a few "guilty" frames:
 * the function blame settled on, then the next frames of the crashing
 * trace that are not generic (reporting, locking, syscall entry, ...),
 * each reduced to its base name (no offset, no address, no compiler clone
 * suffix such as .constprop.0 or .isra.0, whose numbers vary between
 * builds). Frames inferred from the code in memory (tail calls) are left
 * out: a kernel log alone does not show them. The id is "vr1-" and 16 hex digits of an FNV-1a 64 hash over
 * those words; signature.frames lists the words. */
#include "analyzer.h"
#include "../rules/rules.h"

#include <fnmatch.h>
#include <stdio.h>
#include <string.h>

#define SIG_FRAMES 4       /* guilty frames in a signature */
#define SIG_MAX_NAME 256

/* Always generic for a signature; the rules' generic-frames section
 * (rules/frames.yaml) adds the fuller list. */
static const char *const builtin_generic[] = {
	"dump_stack*", "show_*", "panic", "vpanic", "nmi_panic", "check_panic_on_warn*",
	"__warn*", "warn_slowpath*", "report_bug", "handle_bug", "exc_*", "asm_exc_*",
	"asm_sysvec_*", "sysvec_*", "__sysvec_*", "asm_common_interrupt", "common_interrupt",
	"do_syscall_64", "do_syscall_x64", "entry_SYSCALL*", "syscall_*", "__x64_sys_*",
	"__ia32_sys_*", "__do_sys_*", "__se_sys_*", "ksys_*", "vfs_*", "__vfs_*", "new_sync_*",
	"proc_reg_*", "seq_read*", "full_proxy_*", "kernfs_fop_*", "ret_from_fork*", "kthread",
	"worker_thread", "process_one_work", "process_scheduled_works", "__schedule",
	"schedule*", "io_schedule*", "preempt_schedule*", "mutex_lock*", "__mutex_lock*",
	"mutex_unlock*", "_raw_spin_*", "_raw_read_*", "_raw_write_*", "queued_spin_*",
	"native_queued_spin_*", "down", "down_*", "rwsem_*", "__down*", "up", "__up*",
	"wait_for_completion*", "__wait_for_common", "wait_for_common*", "do_wait_for_common",
	"__handle_irq*", "handle_irq*", "irq_exit*", "__irq_exit_rcu", "__do_softirq",
	"do_softirq*", "handle_softirqs", "hrtimer_*", "__hrtimer_*", "watchdog*",
	"do_user_addr_fault", "page_fault_oops", "kernelmode_fixup_or_oops", "no_context",
	"__bad_area*", "bad_area*", "oops_*", "die", "die_*", "__die*", "do_trap", "do_error_trap",
	"do_invalid_op", "invalid_op", "general_protection", "do_general_protection",
	"page_fault", "do_page_fault", "__do_page_fault", "async_page_fault", "memcpy*", "memset*",
	"memmove*", "__memcpy*", "__memset*", "strlen", "strcmp", "strcpy", "strncpy", "strscpy*",
	"copy_*_user*", "_copy_*_user*", "kmem_cache_*", "__kmalloc*", "kmalloc*", "kfree",
	"__kasan_*", "kasan_*", "__asan_*", "__ubsan_*", "ubsan_*", "notifier_call_chain",
	"*_notifier_call_chain", "call_timer_fn", "expire_timers", "run_timer_softirq",
	"__run_timers", "rcu_do_batch", "rcu_core*", "smp_call_function*",
	"flush_smp_call_function*", "cpu_startup_entry", "do_idle", "default_idle*",
	"arch_cpu_idle*", "secondary_startup_64*", "start_secondary", "x86_64_start_*",
	"start_kernel", "rest_init", "kernel_init", "do_one_initcall", "el0_*", "el1_*",
	"el0t_*", "el1h_*", "do_el0_svc", "invoke_syscall", "__arm64_sys_*", "__pfx_*",
	"__sysrq_*", "__handle_sysrq*", "write_sysrq_trigger", "lock_acquire", "lock_release",
	"__lock_acquire", "check_*_usage", "print_*", "__list_add_valid*", "__list_del_entry_valid*",
	"__list_add", "__list_del_entry", "list_add", "list_del",
};

/* The base name of a symbol: without a leading '.' (ppc64 ELFv1 text
 * symbols) and without compiler clone suffixes (".constprop.0", ".isra.0",
 * ".part.1", ".cold", ".llvm.123"): everything from the first '.'. */
static void base_name(const char *sym, char *out, size_t size)
{
	if (*sym == '.')
		sym++;
	size_t n = strcspn(sym, ".");
	if (n >= size)
		n = size - 1;
	memcpy(out, sym, n);
	out[n] = 0;
}

/* Generic for a signature: the rules' generic frames, and always the
 * list above (system call entries are not generic for blame, which may
 * name one, but a signature built from them would tell bugs apart by the
 * system call that reached them). */
static bool is_generic(const struct vr_ruleset *rules, const char *sym, const char *base)
{
	if (rules && (vr_ruleset_generic_frame(rules, sym) || vr_ruleset_generic_frame(rules, base) ||
		      vr_ruleset_anchor_frame(rules, sym) || vr_ruleset_anchor_frame(rules, base)))
		return true;
	for (size_t i = 0; i < sizeof(builtin_generic) / sizeof(builtin_generic[0]); i++)
		if (!fnmatch(builtin_generic[i], base, 0))
			return true;
	return false;
}

/* FNV-1a, 64 bit (Fowler, Noll, Vo: http://www.isthe.com/chongo/tech/comp/fnv/). */
static uint64_t fnv1a(uint64_t h, const void *data, size_t len)
{
	const unsigned char *p = data;
	for (size_t i = 0; i < len; i++) {
		h ^= p[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

struct sig_builder {
	char *frames[SIG_FRAMES];
	size_t n;
};

static bool sig_has(const struct sig_builder *b, const char *base)
{
	for (size_t i = 0; i < b->n; i++)
		if (!strcmp(b->frames[i], base))
			return true;
	return false;
}

/* Adds a frame's base name unless it is generic or already there; returns
 * an error only on out-of-memory. */
static struct vr_error *sig_add(struct sig_builder *b, const struct vr_ruleset *rules,
				const char *sym, bool check_generic)
{
	if (!sym || !*sym || b->n >= SIG_FRAMES)
		return NULL;
	char base[SIG_MAX_NAME];
	base_name(sym, base, sizeof(base));
	if (!*base || sig_has(b, base))
		return NULL;
	if (check_generic && is_generic(rules, sym, base))
		return NULL;
	b->frames[b->n] = vr_strdup(base);
	if (!b->frames[b->n])
		return &vr_error_oom;
	b->n++;
	return NULL;
}

static const struct vr_trace *crash_trace(const struct vr_analysis *a)
{
	const struct vr_report *r = a->report;
	if (r->crash.trace.n_frames)
		return &r->crash.trace;
	const struct vr_facts *f = a->facts;
	for (size_t i = 0; i < f->n_cpus; i++)
		if (f->cpus[i].panic && f->cpus[i].trace.n_frames)
			return &f->cpus[i].trace;
	return NULL;
}

static struct vr_error *signature_run(struct vr_analysis *a, const char **skipped)
{
	struct vr_report *r = a->report;
	const char *kind = r->crash.kind ? r->crash.kind : "unknown";
	if (!strcmp(kind, "unknown")) {
		*skipped = "no crash report found";
		return NULL;
	}
	struct sig_builder b = {0};
	struct vr_error *err = NULL;

	/* The function blame chose is guilty by definition, generic or not;
	 * but a frame inferred from the code in memory is not in a log alone,
	 * and the signature is the same for both. */
	if (r->blame.function && !r->blame.inferred)
		err = sig_add(&b, a->rules, r->blame.function, false);
	/* Where it happened, unless that is generic code (memcpy, a lock). */
	if (!err && r->crash.ip_known && r->crash.ip.symbol)
		err = sig_add(&b, a->rules, r->crash.ip.symbol, true);
	const struct vr_trace *t = crash_trace(a);
	for (size_t i = 0; !err && t && i < t->n_frames && b.n < SIG_FRAMES; i++) {
		const struct vr_frame *f = &t->frames[i];
		/* "? " frames are stale stack words, not calls. */
		if (!f->reliable || !f->symbol || f->inferred)
			continue;
		err = sig_add(&b, a->rules, f->symbol, true);
	}
	if (!err && b.n == 0 && r->crash.ip_known && r->crash.ip.symbol)
		err = sig_add(&b, a->rules, r->crash.ip.symbol, false);
	if (err) {
		for (size_t i = 0; i < b.n; i++)
			free(b.frames[i]);
		return err;
	}

	uint64_t h = 0xcbf29ce484222325ULL;
	h = fnv1a(h, "vr1", 4);
	h = fnv1a(h, kind, strlen(kind) + 1);
	for (size_t i = 0; i < b.n; i++)
		h = fnv1a(h, b.frames[i], strlen(b.frames[i]) + 1);

	char id[32];
	snprintf(id, sizeof(id), "vr1-%016llx", (unsigned long long)h);
	free(r->signature.id);
	for (size_t i = 0; i < r->signature.n_frames; i++)
		free(r->signature.frames[i]);
	free(r->signature.frames);
	r->signature.id = vr_strdup(id);
	r->signature.frames = NULL;
	r->signature.n_frames = 0;
	if (b.n) {
		r->signature.frames = calloc(b.n, sizeof(char *));
		if (!r->signature.frames) {
			for (size_t i = 0; i < b.n; i++)
				free(b.frames[i]);
			return &vr_error_oom;
		}
		memcpy(r->signature.frames, b.frames, b.n * sizeof(char *));
		r->signature.n_frames = b.n;
	}
	return r->signature.id ? NULL : &vr_error_oom;
}

const struct vr_analyzer vr_analyzer_signature = {
	.name = "signature",
	.needs = 0,
	.run = signature_run,
};
