#!/usr/bin/env python3
"""bench-launch.py - qvm-launch's overhead: time to QEMU's exec, and its RSS next to QEMU's.

Time to exec: [qemu] binary is a tiny program that records when it starts, then
behaves as a minimal QMP peer. The baseline runs that same program directly from
this script; the ratio compares the two start latencies in the same run.
RSS: the tiny guest (tests/lib/tiny-guest.sh) under TCG, launcher vs its QEMU.
Usage: bench-launch.py QVM_LAUNCH [ROUNDS]
"""
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.dirname(HERE)

STAMP = r"""#!/usr/bin/python3 -S
import os, sys, time, socket
open(os.environ["BENCH_STAMP"], "w").write(repr(time.monotonic()))
if any("fd=3" in a for a in sys.argv):
    c, _ = socket.socket(fileno=3).accept()
    c.sendall(b'{"QMP": {"version": {}, "capabilities": []}}\r\n')
    f = c.makefile("rb")
    while True:
        l = f.readline()
        if not l:
            break
        if b"quit" in l or b"system_powerdown" in l:
            break
        i = l.split(b'"id":')[1].split(b"}")[0].strip()
        c.sendall(b'{"return": {"running": true, "status": "running"}, "id": ' + i + b"}\r\n")
"""


def rss_kib(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def private_kib(pid):
    """Memory only this process uses (not shared library pages): Private_Clean + Private_Dirty."""
    total = 0
    for line in open(f"/proc/{pid}/smaps_rollup"):
        if line.startswith(("Private_Clean:", "Private_Dirty:")):
            total += int(line.split()[1])
    return total


def time_to_exec(launcher, tmp, rounds):
    stamp_prog = os.path.join(tmp, "stamp-qemu")
    with open(stamp_prog, "w") as f:
        f.write(STAMP)
    os.chmod(stamp_prog, 0o755)
    os.makedirs(os.path.join(tmp, "etc"), exist_ok=True)
    with open(os.path.join(tmp, "etc", "b.ini"), "w") as f:
        f.write(f"[vm]\naccel = tcg\nready = started\n[boot]\nkernel = /dev/null\n[network]\nmode = none\n"
                f"[qemu]\nbinary = {stamp_prog}\n")
    env = dict(os.environ, QVM_CONFIG_DIR=os.path.join(tmp, "etc"), QVM_STATE_ROOT=os.path.join(tmp, "s"),
               QVM_RUNTIME_ROOT=os.path.join(tmp, "r"), BENCH_STAMP=os.path.join(tmp, "stamp"))
    env.pop("NOTIFY_SOCKET", None)
    env.pop("JOURNAL_STREAM", None)
    qvm, raw = [], []
    for _ in range(rounds):
        for kind in ("qvm", "raw"):
            if os.path.exists(env["BENCH_STAMP"]):
                os.unlink(env["BENCH_STAMP"])
            t0 = time.monotonic()
            argv = [launcher, "b"] if kind == "qvm" else [stamp_prog]
            p = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            while not os.path.exists(env["BENCH_STAMP"]) or not open(env["BENCH_STAMP"]).read():
                time.sleep(0.001)
            started = float(open(env["BENCH_STAMP"]).read())
            (qvm if kind == "qvm" else raw).append((started - t0) * 1000)
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
    return statistics.median(qvm), statistics.median(raw)


def rss(launcher, tmp):
    kernel, initrd = subprocess.run([os.path.join(SRC, "tests/lib/tiny-guest.sh")], capture_output=True,
                                    text=True, check=True).stdout.split()
    with open(os.path.join(tmp, "etc", "t.ini"), "w") as f:
        f.write(f"[vm]\naccel = tcg\nmemory = 256M\ncpus = 1\nready = started\nshutdown-timeout = 10s\n"
                f"[boot]\nkernel = {kernel}\n"
                f"initrd = {initrd}\nappend = console=ttyS0\n[network]\nmode = none\n")
    env = dict(os.environ, QVM_CONFIG_DIR=os.path.join(tmp, "etc"), QVM_STATE_ROOT=os.path.join(tmp, "s"),
               QVM_RUNTIME_ROOT=os.path.join(tmp, "r"))
    env.pop("NOTIFY_SOCKET", None)
    console = os.path.join(tmp, "console")
    p = subprocess.Popen([launcher, "t"], env=env, stdout=open(console, "w"), stderr=subprocess.DEVNULL)
    for _ in range(240):  # until the guest has booted, so both processes are in their steady state
        if "qvm-tiny-guest: booted" in open(console).read():
            break
        time.sleep(0.5)
    time.sleep(2)
    children = open(f"/proc/{p.pid}/task/{p.pid}/children").read().split()
    launcher_kib, qemu_kib = rss_kib(p.pid), rss_kib(int(children[0])) if children else 0
    print(f"qvm-launch private memory (not shared with other processes): {private_kib(p.pid) / 1024:.2f} MiB")
    p.send_signal(signal.SIGTERM)
    p.wait(timeout=60)
    return launcher_kib, qemu_kib


def main():
    launcher = os.path.abspath(sys.argv[1])
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 20
    with tempfile.TemporaryDirectory() as tmp:
        q, r = time_to_exec(launcher, tmp, rounds)
        print(f"time to QEMU exec: qvm-launch {q:.1f} ms, direct exec {r:.1f} ms, "
              f"launcher overhead {q - r:.1f} ms (ratio {q / r:.2f}); goal: overhead < 20 ms")
        lk, qk = rss(launcher, tmp)
        print(f"RSS: qvm-launch {lk / 1024:.2f} MiB next to QEMU {qk / 1024:.1f} MiB "
              f"(ratio {lk / qk:.3f}); goal: launcher < 2 MiB")


if __name__ == "__main__":
    main()
