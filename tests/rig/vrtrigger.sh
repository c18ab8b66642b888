#!/bin/sh
# Installed as /bin/vrtrigger in the guest: the task that takes the bug path,
# so the panicking task's comm is "vrtrigger" in every scenario.
case $1 in
sysrq) echo c >/proc/sysrq-trigger ;;
*) echo "$1" >/proc/vrbug ;;
esac
