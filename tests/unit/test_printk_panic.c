/* The panic context from a kernel log alone (text input): the panic line,
 * the oops headline when kdump ran before panic(), the "CPU: N PID: P
 * Comm: C" line of 6.1 and 6.12, and the system facts a log can give. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/internal.h"
#include "engine/log.h"

#include "check.h"

static void run(const char *text, struct vr_facts *f, struct vr_diag *diag)
{
	struct vr_kernel k = {.diag = diag};
	memset(f, 0, sizeof(*f));
	f->text = strdup(text);
	f->text_len = strlen(text);
	vr_error_destroy(vr_collect_log(&k, f));
	vr_error_destroy(vr_collect_panic(&k, f));
}

int main(void)
{
	struct vr_facts f;
	struct vr_diag diag = {0};

	/* 6.1 sysrq: panic line, then panic()'s own dump_stack. */
	run("[    0.000000] Linux version 6.1.0-56-cloud-amd64 (debian-kernel@lists.debian.org) (gcc-12) #1 SMP PREEMPT_DYNAMIC Debian 6.1.192-2 (2026-11-16)\n"
	    "[    5.9] CPU: 0 PID: 7 Comm: old Not tainted 6.1.0 #1\n"
	    "[    5.956214] Kernel panic - not syncing: sysrq triggered crash\n"
	    "[    5.956772] CPU: 1 PID: 100 Comm: vrtrigger Kdump: loaded Tainted: G           OE      6.1.0-56-cloud-amd64 #1  Debian 6.1.192-2\n"
	    "[    5.957000] Call Trace:\n"
	    "[    5.958000] ---[ end Kernel panic - not syncing: sysrq triggered crash ]---\n",
	    &f, &diag);
	CHECK(f.panic.message && !strcmp(f.panic.message, "sysrq triggered crash"));
	CHECK(f.panic.cpu == 1 && f.panic.pid == 100);
	CHECK(f.panic.comm && !strcmp(f.panic.comm, "vrtrigger"));
	CHECK(f.system.release && !strcmp(f.system.release, "6.1.0-56-cloud-amd64"));
	CHECK(f.system.version && !strcmp(f.system.version, "#1 SMP PREEMPT_DYNAMIC Debian 6.1.192-2 (2026-11-16)"));
	CHECK(f.system.uptime_s > 5.957 && f.system.uptime_s < 5.959);
	CHECK(f.system.cpus == -1 && f.system.tasks == -1 && f.system.crash_time == -1);
	vr_facts_deinit(&f);

	/* 6.12 oops straight to kdump: no panic line; "Oops: " prefix; UID. */
	run("[   18.55] BUG: kernel NULL pointer dereference, address: 0000000000000010\n"
	    "[   18.56] #PF: supervisor read access in kernel mode\n"
	    "[   18.56] Oops: Oops: 0000 [#1] PREEMPT SMP NOPTI\n"
	    "[   18.56] CPU: 1 UID: 0 PID: 154 Comm: vrtrigger Kdump: loaded Tainted: G           OE      6.12.117 #1\n",
	    &f, &diag);
	CHECK(f.panic.message && !strcmp(f.panic.message, "BUG: kernel NULL pointer dereference, address: 0000000000000010"));
	CHECK(f.panic.cpu == 1 && f.panic.pid == 154);
	vr_facts_deinit(&f);

	/* A gpf's die line is its own headline. */
	run("[    7.49] Oops: general protection fault, probably for non-canonical address 0xdead000000000108: 0000 [#1] PREEMPT SMP NOPTI\n"
	    "[    7.49] CPU: 0 PID: 3 Comm: kworker/0:1 H Tainted: G W 6.12 #1\n",
	    &f, &diag);
	CHECK(f.panic.message && !strcmp(f.panic.message,
		"general protection fault, probably for non-canonical address 0xdead000000000108: 0000 [#1] PREEMPT SMP NOPTI"));
	CHECK(f.panic.comm && !strcmp(f.panic.comm, "kworker/0:1 H"));
	vr_facts_deinit(&f);

	/* Panic after an oops (no kdump): the oops's CPU line, before it. */
	run("[1.0] BUG: unable to handle page fault for address: ffff\n"
	    "[1.0] Oops: 0002 [#1] SMP\n"
	    "[1.0] CPU: 3 PID: 42 Comm: bash Not tainted 5.10.0 #1\n"
	    "[1.1] Kernel panic - not syncing: Fatal exception\n"
	    "[1.1] Kernel Offset: 0x1000000 from 0xffffffff81000000\n",
	    &f, &diag);
	CHECK(f.panic.message && !strcmp(f.panic.message, "Fatal exception"));
	CHECK(f.panic.cpu == 3 && f.panic.pid == 42 && f.panic.comm && !strcmp(f.panic.comm, "bash"));
	vr_facts_deinit(&f);

	/* Nothing to find: no crash, fields unknown. */
	run("hello\n\n[ 1.0] nothing here CPU: x PID:\n", &f, &diag);
	CHECK(!f.panic.message && f.panic.cpu == -1 && f.panic.pid == -1);
	vr_facts_deinit(&f);

	vr_diag_deinit(&diag);
	if (failures)
		fprintf(stderr, "%d failures\n", failures);
	return failures != 0;
}
