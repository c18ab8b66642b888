#!/usr/bin/python3
"""Benchmark vmreport against drgn and crash on the same dumps.

usage: bench.py [--rounds N] [--vmreport PATH] [--no-others] [DUMP...]

For each dump (default: the rig's 6.1 sysrq vmcore.elf and null-deref
vmcore.zlib), runs in turn, ROUNDS times, interleaved so that a change in
the machine's load falls on every tool alike:
  vmreport            a full report (every analyzer, every CPU and blocked
                      task with source lines), with the vmlinux it finds
  vmreport-kallsyms   the same without a vmlinux (VMREPORT_NO_DISCOVERY)
  drgn                its helpers: the release, a stack trace of every
                      CPU's current task, the printk records, the tasks and
                      the modules
  crash               sys, bt -a, log, mod, ps
and prints each one's median, fastest and slowest wall time, its median CPU
time (user and system), its largest max RSS, and the ratios to vmreport. Then:
  - the same crash on a 512 MiB and a 4 GiB guest (the rig's null-deref and
    null-deref-4g), in every form: vmreport's medians side by side;
  - --batch over all of the kernel's scenario dumps against one run each.
Timings are for people; no test depends on them."""
import argparse
import glob
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time

SRC = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# Helpers Debian's drgn (0.0.22) has.
DRGN_SCRIPT = """
from drgn.helpers.linux.printk import get_printk_records
from drgn.helpers.linux.pid import for_each_task
from drgn.helpers.linux.list import list_for_each_entry
from drgn.helpers.linux.cpumask import for_each_online_cpu
from drgn.helpers.linux.percpu import per_cpu
print(prog["init_uts_ns"].name.release.string_().decode())
for cpu in for_each_online_cpu(prog):
    try:
        print(prog.stack_trace(per_cpu(prog["runqueues"], cpu).curr))
    except Exception as e:
        print("cpu", cpu, e)
for r in get_printk_records(prog):
    pass
print(sum(1 for _ in for_each_task(prog)), "tasks")
for m in list_for_each_entry("struct module", prog["modules"].address_of_(), "list"):
    print(m.name.string_().decode())
"""


def run(cmd, env=None):
    """Wall seconds and max RSS (KiB) of one run; None when it failed. The
    RSS comes from /usr/bin/time: the rusage of a child forked from this
    Python process would count the fork's copy of it."""
    with tempfile.NamedTemporaryFile("r") as rss:
        t0 = time.perf_counter()
        p = subprocess.Popen(["/usr/bin/time", "-f", "%M", "-o", rss.name] + cmd, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL, env=env)
        _, status, ru = os.wait4(p.pid, 0)
        wall = time.perf_counter() - t0
        if os.waitstatus_to_exitcode(status) not in (0, 3):
            return None
        # CPU time of time(1) and the tool it waited for.
        return wall, int(rss.read().split()[-1]), ru.ru_utime + ru.ru_stime


def rig_dir(release):
    out = subprocess.run(["bash", os.path.join(SRC, "tests/rig/rig.sh"), "-k", release],
                         capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit("bench: no rig dumps for %s:\n%s" % (release, out.stderr))
    return out.stdout.strip()


def release_of(dump):
    with open(dump, "rb") as f:
        head = f.read(64 << 20)
    i = head.find(b"OSRELEASE=")
    return head[i + 10:head.index(b"\n", i)].decode() if i >= 0 else None


def machine():
    cpu = "?"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return "%s, %d CPUs, %.1f GiB RAM, Linux %s" % (cpu, os.cpu_count(), mem, platform.release())


def load():
    return "%.2f %.2f %.2f" % os.getloadavg()


def fmt_ms(v):
    return "%.1f" % (v * 1000) if v is not None else "-"


def bench(tools, rounds):
    """tools: [(name, cmd, env)]; returns {name: ([walls], max_rss_kib, [cpus])}."""
    res = {name: ([], 0, []) for name, _, _ in tools}
    for r in range(rounds):
        # Start each round with another tool, so none always runs first.
        order = tools[r % len(tools):] + tools[:r % len(tools)]
        for name, cmd, env in order:
            got = run(cmd, env)
            if got:
                walls, rss, cpus = res[name]
                walls.append(got[0])
                cpus.append(got[2])
                res[name] = (walls, max(rss, got[1]), cpus)
    return res


def table(res, base="vmreport"):
    bw = statistics.median(res[base][0]) if res[base][0] else None
    br = res[base][1]
    print("  %-18s %9s %9s %9s %9s %12s %8s %8s" % ("tool", "median ms", "min ms", "max ms", "CPU ms",
                                                  "max RSS MiB", "time ×", "RSS ×"))
    for name, (walls, rss, cpus) in res.items():
        if not walls:
            print("  %-18s %9s  (failed)" % (name, "-"))
            continue
        med = statistics.median(walls)
        print("  %-18s %9s %9s %9s %9s %12.1f %8s %8s" % (
            name, fmt_ms(med), fmt_ms(min(walls)), fmt_ms(max(walls)), fmt_ms(statistics.median(cpus)),
            rss / 1024, "%.1f" % (med / bw) if bw else "-", "%.1f" % (rss / br) if br else "-"))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=int(os.environ.get("RUNS", 7)))
    ap.add_argument("--vmreport", default=os.environ.get("VMREPORT", os.path.join(SRC, "build/vmreport")))
    ap.add_argument("--no-others", action="store_true", help="vmreport only (no drgn, no crash)")
    ap.add_argument("dumps", nargs="*")
    a = ap.parse_args()
    vmr = a.vmreport
    if not os.access(vmr, os.X_OK):
        sys.exit("bench: build vmreport first (%s)" % vmr)
    d61 = None
    dumps = a.dumps
    if not dumps:
        d61 = rig_dir("6.1")
        dumps = [os.path.join(d61, "sysrq/vmcore.elf"), os.path.join(d61, "null-deref/vmcore.zlib")]
    print("# vmreport benchmark")
    print()
    print("machine: %s" % machine())
    print("date: %s" % time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()))
    print("vmreport: %s; drgn and crash as Debian packages them" % vmr)
    print("rounds: %d, interleaved; load average at the start: %s" % (a.rounds, load()))
    nodisc = dict(os.environ, VMREPORT_NO_DISCOVERY="1")
    with tempfile.TemporaryDirectory() as tmp:
        script = os.path.join(tmp, "drgn.py")
        with open(script, "w") as f:
            f.write(DRGN_SCRIPT)
        cmds = os.path.join(tmp, "crash.cmds")
        with open(cmds, "w") as f:
            f.write("sys\nbt -a\nlog\nmod\nps\nquit\n")
        for dump in dumps:
            rel = release_of(dump)
            vmlinux = "/usr/lib/debug/boot/vmlinux-%s" % rel
            print()
            print("## %s (%.0f MiB), vmlinux %s" % (dump, os.path.getsize(dump) / 2**20, vmlinux))
            tools = [("vmreport", [vmr, "--format", "json", dump], None),
                     ("vmreport-kallsyms", [vmr, "--format", "json", dump], nodisc)]
            if not a.no_others:
                tools += [("drgn", ["drgn", "-q", "-c", dump, "-s", vmlinux, script], None),
                          ("crash", ["crash", "-s", vmlinux, dump, "-i", cmds], None)]
            table(bench(tools, a.rounds))
            print("  load average after: %s" % load())

        if d61 is None:
            return
        # The same crash on 512 MiB and 4 GiB guests.
        small, big = os.path.join(d61, "null-deref"), os.path.join(d61, "null-deref-4g")
        if os.path.isdir(big):
            print()
            print("## Dump size: null-deref on a 512 MiB and a 4 GiB guest (vmreport, medians)")
            print("  %-22s %12s %12s %12s %12s %8s" % ("form", "512M MiB", "4G MiB", "512M ms", "4G ms",
                                                       "4G/512M"))
            for form in ("vmcore.elf", "vmcore.zlib", "vmcore.lzo", "vmcore.flat", "vmcore.filtered.elf",
                         "dmesg.txt"):
                s, b = os.path.join(small, form), os.path.join(big, form)
                if not (os.path.exists(s) and os.path.exists(b)):
                    continue
                res = bench([("small", [vmr, "--format", "json", s], None),
                             ("big", [vmr, "--format", "json", b], None)], a.rounds)
                ms, mb = statistics.median(res["small"][0]), statistics.median(res["big"][0])
                print("  %-22s %12.0f %12.0f %12s %12s %8.2f" % (
                    form, os.path.getsize(s) / 2**20, os.path.getsize(b) / 2**20, fmt_ms(ms), fmt_ms(mb),
                    mb / ms))
        # The batch: every scenario's kdump-compressed dump of the kernel.
        zl = sorted(glob.glob(os.path.join(d61, "*/vmcore.zlib")))
        if zl:
            walls_b, walls_s = [], []
            out = os.path.join(tmp, "batch")
            for _ in range(a.rounds):
                got = run([vmr, "--batch", "-o", "json:%s/" % out] + zl)
                if got:
                    walls_b.append(got[0])
                t = 0.0
                for z in zl:
                    g = run([vmr, "--format", "json", z])
                    t += g[0] if g else float("nan")
                walls_s.append(t)
            print()
            print("## --batch: the %d kdump-compressed dumps of %s" % (len(zl), os.path.basename(d61)))
            mb, ms = statistics.median(walls_b), statistics.median(walls_s)
            print("  one --batch run: %s ms median (%s ms a dump); one run each: %s ms in all; %.1f× faster"
                  % (fmt_ms(mb), fmt_ms(mb / len(zl)), fmt_ms(ms), ms / mb))
    print()
    print("load average at the end: %s" % load())


if __name__ == "__main__":
    main()
