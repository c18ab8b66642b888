#!/usr/bin/env python3
"""Verdict tier over syzkaller's curated reports (not part of ctest).

Each file of the corpus holds header lines (TITLE:, TYPE:, CORRUPTED:, ...),
a blank line, then a raw console capture. The title is the verdict kernel
maintainers settled on: its prefix names the kind of crash, its last word
(after " in ") the guilty function. This script feeds each capture to
vmreport and prints how often crash.kind and blame.function agree with it.

    VMREPORT=build/vmreport tests/corpus/syzkaller.py [-v] [-j N] [DIR]

DIR defaults to $VR_SYZ_CORPUS, else ../shared/syzkaller-reports beside the
source tree. Reports syzkaller marks CORRUPTED: Y are left out, as are those
whose title names no kernel crash (executor failures). -v lists every
disagreement. The exit status is 0 when both figures reach their targets
(kind 95%, function 85%), 1 otherwise, 2 when the corpus is missing.

The mapping from title prefixes to vmreport's kinds is the one table below;
it is the contract's crash.kind list read against the kernel's reporters.
"""
import argparse
import concurrent.futures
import json
import os
import re
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.environ.get("VR_SOURCE_DIR", os.path.normpath(os.path.join(HERE, "..", "..")))

# Title prefix (a regular expression, matched at the start) -> crash.kind.
# The first match wins; None means the title is not a kernel crash.
KINDS = [
    (r"SYZFAIL|SYZFATAL", None),
    (r"INFO: rcu detected stall|INFO: rcu_(sched|preempt|bh) detected stall", "rcu-stall"),
    (r"INFO: task hung|INFO: task can't die", "hung-task"),
    (r"BUG: soft lockup|BUG: workqueue lockup", "soft-lockup"),
    (r"BUG: spinlock lockup|watchdog: BUG: hard lockup|INFO: NMI handler", "hard-lockup"),
    (r"KASAN: ", "kasan"),
    (r"KFENCE: ", "kfence"),
    (r"KMSAN: ", "kmsan"),
    (r"KCSAN: ", "kcsan"),
    (r"UBSAN: ", "ubsan"),
    (r"possible deadlock|inconsistent lock state|WARNING: locking bug|"
     r"INFO: trying to register non-static key|WARNING: (suspicious RCU usage|held lock freed|"
     r"bad unlock balance|still has locks held|nested lock was not taken)|"
     r"INFO: suspicious RCU usage|BUG: (bad unlock balance|still has locks held|"
     r"lock held when returning to user space|MAX_STACK_TRACE_ENTRIES too low|"
     r"MAX_LOCKDEP|spinlock recursion|spinlock bad magic|spinlock wrong owner|"
     r"spinlock already unlocked|looking up invalid subclass|held lock freed)", "lockdep"),
    (r"BUG: (sleeping function called from invalid context|scheduling while atomic|"
     r"workqueue leaked lock or atomic)", "atomic-sleep"),
    (r"BUG: unable to handle kernel NULL pointer dereference|BUG: kernel NULL pointer", "null-deref"),
    (r"BUG: unable to handle kernel paging request|BUG: unable to handle kernel|"
     r"Unhandled fault|Internal error( |:|$)|"
     r"BUG: unable to handle page fault", "page-fault"),
    (r"general protection fault", "gpf"),
    (r"BUG: stack guard page was hit|kernel stack overflow", "stack-overflow"),
    (r"kernel panic: (corrupted stack end|stack is corrupted)", "stack-corruption"),
    (r"PANIC: double fault", "double-fault"),
    (r"divide error", "divide-error"),
    (r"BUG: corrupted list|list_(add|del) corruption", "list-corruption"),
    (r"BUG: Bad page (state|map|cache)|BUG: Bad rss-counter", "bad-page"),
    (r"memory leak", "memory-leak"),
    (r"WARNING|trusty: ", "warning"),
    (r"kernel BUG|BUG: |VFS: Busy inodes|attempt to ", "bug"),
    (r"kernel panic: ", "panic"),
]

TARGET_KIND = 0.95
TARGET_FUNC = 0.85


def expected_kind(title):
    if not title:
        return "unknown"
    for pat, kind in KINDS:
        if re.match(pat, title):
            return kind
    return "?"


def expected_function(title):
    """The guilty function a title names, or None."""
    m = re.search(r" in (\S+)$", title or "")
    if not m or m.group(1) == "corrupted":
        return None
    return m.group(1)


# Titles name a system call's entry the same way on every architecture and
# kernel: the shortest name left after taking off one of these prefixes
# (__x64_sys_open, __arm64_sys_open and SyS_open are all "sys_open").
SYSCALL_PREFIXES = ["SYSC_", "SyS_", "sys_", "__x64_", "__ia32_", "__arm64_", "____sys_",
                    "___sys_", "__sys_", "__se_", "__se_sys_", "__do_sys_", "compat_SYSC_",
                    "compat_SyS_", "ksys_"]


def base_name(sym):
    """The function as a title names it: no compiler suffix (foo.constprop.0
    is foo) and the system call prefixes above taken off."""
    if not sym:
        return sym
    sym = sym.split(".")[0]
    best = sym
    for p in SYSCALL_PREFIXES:
        if sym.startswith(p) and len(sym) - len(p) < len(best):
            best = sym[len(p):]
    return best


def read_case(path):
    with open(path, "rb") as f:
        data = f.read()
    head, sep, body = data.partition(b"\n\n")
    if not sep:
        return None
    hdr = {}
    for line in head.decode("utf-8", "replace").splitlines():
        k, _, v = line.partition(": ")
        if k and k not in hdr:
            hdr[k] = v.strip()
    return hdr, body


def run_one(vmreport, tmpdir, name, body):
    path = os.path.join(tmpdir, name + ".log")
    with open(path, "wb") as f:
        f.write(body)
    try:
        p = subprocess.run([vmreport, "--format", "json", path], capture_output=True, timeout=60)
    except subprocess.TimeoutExpired:
        return {"error": "timeout"}
    finally:
        os.unlink(path)
    if p.returncode != 0:
        return {"error": "exit %d: %s" % (p.returncode, p.stderr.decode(errors="replace").strip())}
    try:
        return json.loads(p.stdout)
    except ValueError as e:
        return {"error": "invalid JSON: %s" % e}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("dir", nargs="?")
    ap.add_argument("-v", "--verbose", action="store_true")
    ap.add_argument("-j", "--jobs", type=int, default=os.cpu_count() or 2)
    args = ap.parse_args()
    corpus = args.dir or os.environ.get("VR_SYZ_CORPUS") or os.path.join(
        SRC, "..", "shared", "syzkaller-reports")
    vmreport = os.environ.get("VMREPORT", os.path.join(SRC, "build", "vmreport"))
    if not os.path.isdir(corpus):
        print("syzkaller: %s not found" % corpus, file=sys.stderr)
        return 2
    cases = []
    for name in sorted(os.listdir(corpus), key=lambda s: (len(s), s)):
        if name.startswith("README"):
            continue
        c = read_case(os.path.join(corpus, name))
        if not c:
            continue
        hdr, body = c
        if hdr.get("CORRUPTED") == "Y":
            continue
        title = hdr.get("TITLE", "")
        kind = expected_kind(title)
        if kind is None:
            continue
        cases.append((name, title, kind, expected_function(title), body))

    with tempfile.TemporaryDirectory(prefix="vr-syz-") as tmp, \
            concurrent.futures.ThreadPoolExecutor(args.jobs) as ex:
        results = list(ex.map(lambda c: run_one(vmreport, tmp, c[0], c[4]), cases))

    kind_ok = func_ok = func_n = 0
    for (name, title, kind, func, _), rep in zip(cases, results):
        if "error" in rep:
            if args.verbose:
                print("ERROR %s: %s" % (name, rep["error"]))
            if func:
                func_n += 1
            continue
        got_kind = (rep.get("crash") or {}).get("kind")
        got_func = (rep.get("blame") or {}).get("function")
        k_ok = got_kind == kind
        kind_ok += k_ok
        f_ok = None
        if func:
            func_n += 1
            f_ok = base_name(got_func) == func
            func_ok += f_ok
        if args.verbose and (not k_ok or f_ok is False):
            print("%s: %s | kind %s%s | function %s%s" % (
                name, title, got_kind, "" if k_ok else " (want %s)" % kind,
                got_func, "" if f_ok is not False else " (want %s)" % func))
    n = len(cases)
    pk = kind_ok / n if n else 0
    pf = func_ok / func_n if func_n else 0
    print("syzkaller: kind %d/%d (%.1f%%), function %d/%d (%.1f%%)" % (
        kind_ok, n, 100 * pk, func_ok, func_n, 100 * pf))
    return 0 if pk >= TARGET_KIND and pf >= TARGET_FUNC else 1


if __name__ == "__main__":
    sys.exit(main())
