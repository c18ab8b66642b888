#!/bin/bash
# Benchmark: a full vmreport report against crash and drgn doing the same
# reading (system summary, backtraces of all CPUs, the log, modules, tasks),
# on the same real dump and vmlinux, in one run. Prints wall time, peak
# memory (max RSS) and the ratios. Timings never decide a test's outcome;
# this is for people.
#
#   tests/bench/bench.sh [DUMP [VMLINUX]]    (default: the rig's 6.1 sysrq dump)
#   RUNS=N (default 5)
set -euo pipefail
src=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
bin=${VMREPORT:-$src/build/vmreport}
runs=${RUNS:-5}
[[ -x $bin ]] || { echo "bench: build vmreport first (tests/quickstart.sh)" >&2; exit 1; }
for tool in crash drgn hyperfine /usr/bin/time; do
	command -v "$tool" >/dev/null || {
		echo "bench: installing crash, python3-drgn, hyperfine, time" >&2
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
			crash python3-drgn hyperfine time >&2
		break
	}
done

if (($# >= 1)); then
	dump=$1
	vmlinux=${2:-}
else
	dir=$("$src/tests/rig/rig.sh" -k 6.1)
	dump=$dir/sysrq/vmcore.elf
	vmlinux=
fi
if [[ -z $vmlinux ]]; then
	rel=$(strings -n 8 "$dump" 2>/dev/null | sed -n 's/^OSRELEASE=//p' | head -n1)
	vmlinux=/usr/lib/debug/boot/vmlinux-$rel
fi
[[ -r $vmlinux ]] || { echo "bench: no vmlinux $vmlinux" >&2; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
printf 'sys\nbt -a\nlog\nmod\nps\nquit\n' >"$tmp/crash.cmds"
cat >"$tmp/drgn.py" <<'PY'
from drgn.helpers.linux.printk import get_printk_records
from drgn.helpers.linux.pid import for_each_task
from drgn.helpers.linux.module import for_each_module
from drgn.helpers.linux.cpumask import for_each_online_cpu
from drgn.helpers.linux.sched import cpu_curr
import drgn
prog.__class__  # noqa: the drgn CLI provides prog
print(prog["init_uts_ns"].name.release.string_().decode())
for cpu in for_each_online_cpu(prog):
    try:
        print(prog.stack_trace(cpu_curr(prog, cpu)))
    except Exception as e:
        print("cpu", cpu, e)
for r in get_printk_records(prog):
    pass
n = sum(1 for _ in for_each_task(prog))
print(n, "tasks")
for m in for_each_module(prog):
    print(m.name.string_().decode())
PY

measure() { # name, command...
	local name=$1
	shift
	hyperfine --warmup 1 --runs "$runs" --export-json "$tmp/$name.json" -N -i "$*" >/dev/null 2>&1 || true
	/usr/bin/time -f '%M' -o "$tmp/$name.rss" "$@" >/dev/null 2>&1 || true
}
measure vmreport "$bin" --format json "$dump" "$vmlinux"
measure crash crash -s "$vmlinux" "$dump" -i "$tmp/crash.cmds"
measure drgn drgn -q -c "$dump" -s "$vmlinux" "$tmp/drgn.py"

/usr/bin/python3 - "$tmp" "$dump" "$(stat -c %s "$dump")" <<'PY'
import json, sys, os
tmp, dump, size = sys.argv[1], sys.argv[2], int(sys.argv[3])
rows = {}
for name in ("vmreport", "crash", "drgn"):
    try:
        r = json.load(open(f"{tmp}/{name}.json"))["results"][0]
        mean = r["mean"]
    except Exception:
        mean = None
    try:
        rss = int(open(f"{tmp}/{name}.rss").read().split()[-1]) / 1024
    except Exception:
        rss = None
    rows[name] = (mean, rss)
print(f"dump: {dump} ({size/2**20:.0f} MiB)")
print(f"{'tool':10} {'mean s':>9} {'max RSS MiB':>12} {'time vs vmreport':>17} {'RSS vs vmreport':>16}")
vm = rows["vmreport"]
for name, (mean, rss) in rows.items():
    ratio_t = f"{mean/vm[0]:.1f}x" if mean and vm[0] else "-"
    ratio_m = f"{rss/vm[1]:.1f}x" if rss and vm[1] else "-"
    print(f"{name:10} {mean if mean is not None else float('nan'):9.3f} {rss if rss is not None else float('nan'):12.1f} {ratio_t:>17} {ratio_m:>16}")
PY
