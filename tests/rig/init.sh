#!/bin/sh
# /init of the rig's guests (busybox sh). The same script serves two roles:
#  - in the capture kernel (/proc/vmcore exists) it copies the vmcore onto
#    the virtio disk and reboots, which ends QEMU (-no-reboot);
#  - in the kernel under test it loads the kdump kernel (vrkdump=1), loads
#    the buggy module and takes the bug path named by vrscenario=.
# Lines starting with "VRRIG" are read by tests/rig/rig.sh.
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
exec </dev/console >/dev/console 2>&1

die() {
	echo "VRRIG-ERROR: $*"
	reboot -f
}

param() {
	# shellcheck disable=SC2013 # the command line is words, not lines
	for w in $(cat /proc/cmdline); do
		case $w in "$1"=*) echo "${w#*=}" ;; esac
	done
}

# Insert the modules listed in FILE (one name a line, dependency order).
load_modules() {
	while read -r m; do
		[ -n "$m" ] || continue
		insmod "/lib/modules/$m.ko" || die "insmod $m failed"
	done <"$1"
}

if [ -e /proc/vmcore ]; then
	echo "VRRIG: capture kernel up"
	load_modules /modules.capture
	i=0
	while [ ! -b /dev/vda ]; do
		i=$((i + 1))
		[ $i -lt 100 ] || die "no /dev/vda in the capture kernel"
		usleep 100000
	done
	if dd if=/proc/vmcore of=/dev/vda bs=1M conv=fsync; then
		sync
		echo "VRRIG-CAPTURE-OK"
	else
		echo "VRRIG-ERROR: copying /proc/vmcore failed"
	fi
	reboot -f
fi

scenario=$(param vrscenario)
kdump=$(param vrkdump)
cpu=$(param vrcpu)
[ -n "$cpu" ] || cpu=1
echo "VRRIG: kernel $(uname -r) up, scenario '$scenario' on CPU $cpu"

load_modules /modules.crash
echo 1 >/proc/sys/kernel/panic_on_oops

if [ "$kdump" = 1 ]; then
	kexec -p /vmlinuz --initrd=/capture.cpio \
		--append="console=ttyS0 irqpoll nr_cpus=1 reset_devices" ||
		die "kexec -p failed"
	[ "$(cat /sys/kernel/kexec_crash_loaded)" = 1 ] ||
		die "kdump kernel not loaded (crashkernel= reservation?)"
	echo "VRRIG: kdump kernel loaded"
fi

insmod /vrbug.ko || die "insmod vrbug failed"

# The bug is always taken by /bin/vrtrigger, pinned to a known CPU, so the
# panicking task's comm and CPU are known in advance.
trigger() {
	taskset -c "$cpu" /bin/vrtrigger "$@"
}

echo "VRRIG: triggering $scenario"
case $scenario in
sysrq) trigger sysrq ;;
null-deref) trigger null ;;
bug-on) trigger bug ;;
gpf) trigger gpf ;;
warn) trigger warn ;;
softlockup)
	# softlockup fires after 2 * watchdog_thresh seconds.
	echo 3 >/proc/sys/kernel/watchdog_thresh
	trigger softlockup
	;;
hungtask)
	echo 5 >/proc/sys/kernel/hung_task_timeout_secs
	trigger hungtask
	;;
tailcall) trigger tailcall ;;
rootkit)
	# A rootkit's traces before its own code crashes: as root it hooks
	# system calls and hides (vrbug.c), a root helper path is pointed at
	# a program of the attacker's, then an unprivileged user's shell asks
	# it for root and the rootkit crashes in that user's task.
	trigger rootkit || die "the rootkit path failed"
	echo /tmp/vrbug-helper >/proc/sys/kernel/modprobe
	chmod 222 /proc/vrbug
	mkdir -p /etc
	echo 'vruser:x:1000:1000::/tmp:/bin/sh' >/etc/passwd
	echo 'vruser:x:1000:' >/etc/group
	taskset -c "$cpu" su -s /bin/sh vruser -c '/bin/vrtrigger rootkit-crash; :'
	;;
busy-cpu)
	# Another CPU spins inside the module while this one crashes.
	trigger "busy $(param vrbusycpu)" || die "cannot start the spinner"
	trigger null
	;;
*) die "unknown scenario '$scenario'" ;;
esac
sleep 30
die "scenario '$scenario' did not crash the kernel"
