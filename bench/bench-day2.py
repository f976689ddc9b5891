#!/usr/bin/env python3
"""bench-day2.py - qvm snapshot create/revert (offline and live) and qvm disk grow, next to the same by hand.

The tiny guest (tests/lib/tiny-guest.sh, 256M RAM, TCG) with a system disk and one
data disk, run by the real qvm-image/qvm-launch outside systemd. Baselines, in the
same run on the same VM:
  offline: qemu-img snapshot -c / -a on each disk, qemu-img resize;
  live:    HMP savevm / loadvm and block_resize through a plain QMP connection to the
           VM's monitor socket (what an administrator types into the QEMU monitor).
Prints the median of ROUNDS runs of each, and qvm / by-hand.
Usage: bench-day2.py QVM_LAUNCH [ROUNDS]
"""
import importlib.util
import json
import os
import socket
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location("day2", os.path.join(HERE, "..", "tests", "launch", "test-day2.py"))
day2 = importlib.util.module_from_spec(spec)
spec.loader.exec_module(day2)


def timed(fn):
    t0 = time.monotonic()
    fn()
    return time.monotonic() - t0


def hmp(path, line):
    """One HMP command over a fresh plain QMP connection, as a hand-written client would."""
    s = socket.socket(socket.AF_UNIX)
    s.connect(path)
    f = s.makefile("rwb")
    f.readline()
    for cmd in ({"execute": "qmp_capabilities"},
                {"execute": "human-monitor-command", "arguments": {"command-line": line}}):
        f.write(json.dumps(cmd).encode() + b"\n")
        f.flush()
        while True:
            msg = json.loads(f.readline())
            if "return" in msg or "error" in msg:
                break
    s.close()
    if "error" in msg or msg["return"].strip():
        raise RuntimeError(f"{line}: {msg}")


def ok(r):
    if r.returncode != 0:
        raise RuntimeError(r.stdout + r.stderr)


def row(what, qvm_times, hand_times):
    q, h = statistics.median(qvm_times), statistics.median(hand_times)
    print(f"{what:<28} qvm {q * 1000:8.0f} ms   by hand {h * 1000:8.0f} ms   ratio {q / h:5.2f}", flush=True)


def main():
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    env = day2.Env(os.path.dirname(sys.argv[1]))
    kernel, initrd = day2.tiny_guest()
    day2.make_vm(env, "b", kernel, initrd)
    disks = [env.p("state", "b", "disk.qcow2"), env.p("state", "b", "data.qcow2")]
    env.run("qvm-image", "b")
    size = 32

    # offline
    res = {k: [] for k in ("oc", "hc", "or", "hr", "og", "hg")}
    for i in range(rounds):
        res["oc"].append(timed(lambda: ok(env.qvm("snapshot", "b", "create", f"q{i}"))))
        res["hc"].append(timed(lambda: [ok(subprocess.run(["qemu-img", "snapshot", "-c", f"h{i}", d])) for d in disks]))
        res["or"].append(timed(lambda: ok(env.qvm("snapshot", "b", "revert", f"q{i}"))))
        res["hr"].append(timed(lambda: [ok(subprocess.run(["qemu-img", "snapshot", "-a", f"h{i}", d])) for d in disks]))
        size += 2
        res["og"].append(timed(lambda: ok(env.qvm("disk", "grow", "b", "data", f"{size}M"))))
        size += 2
        res["hg"].append(timed(lambda: ok(subprocess.run(["qemu-img", "resize", "-q", disks[1], f"{size}M"]))))
    print(f"# offline, {rounds} rounds, 2 disks (system overlay + data)")
    row("snapshot create", res["oc"], res["hc"])
    row("snapshot revert", res["or"], res["hr"])
    row("disk grow", res["og"], res["hg"])
    os.unlink(env.p("etc", "b.ini.d", "90-qvm-disk-size-data.conf"))
    day2.make_vm(env, "b", kernel, initrd, data_size=f"{size}M")

    # live
    g = day2.Guest(env, "b")
    mon = env.p("run", "b", "monitor.sock")
    res = {k: [] for k in ("lc", "hc", "lr", "hr", "lg", "hg")}
    for i in range(rounds):
        # alternate who goes first: a save right after a load costs QEMU more than the next one
        steps = [("lc", lambda: ok(env.qvm("snapshot", "b", "create", f"l{i}"))),
                 ("hc", lambda: hmp(mon, f"savevm m{i}"))]
        for key, fn in steps if i % 2 == 0 else reversed(steps):
            res[key].append(timed(fn))
        steps = [("lr", lambda: ok(env.qvm("snapshot", "b", "revert", f"l{i}"))),
                 ("hr", lambda: hmp(mon, f"loadvm m{i}"))]
        for key, fn in steps if i % 2 == 0 else reversed(steps):
            res[key].append(timed(fn))
        size += 2
        res["lg"].append(timed(lambda: ok(env.qvm("disk", "grow", "b", "data", f"{size}M"))))
        size += 2
        res["hg"].append(timed(lambda: hmp(mon, f"block_resize data0 {size}M")))
    g.stop()
    print(f"# live (RAM 256M, TCG), {rounds} rounds; by hand = HMP savevm/loadvm/block_resize over QMP")
    row("snapshot create", res["lc"], res["hc"])
    row("snapshot revert", res["lr"], res["hr"])
    row("disk grow", res["lg"], res["hg"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
