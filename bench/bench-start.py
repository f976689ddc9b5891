#!/usr/bin/env python3
"""bench-start.py - time from `systemctl start qvm@bench` to ssh-ready, beside raw QEMU.

Both sides run in one systemd container (tests/integration/harness.py), on the
Debian cloud-init guest of tests/lib/guest-image.sh, alternately, BENCH_ROUNDS
times each (default 1: one TCG first boot takes a minute or more):

  qvm:  the clock starts before `systemctl start qvm@bench` (ready = ssh) and stops
        at the first `ssh dev@127.0.0.1 true` that succeeds.  Every round starts
        from a fresh VM disk (the state dir is removed), so each one is a first
        boot with cloud-init, as for a new VM.
  raw:  qemu-system-x86_64 started by hand (a transient unit, no sandboxing) on a
        fresh qcow2 overlay of the same base image and a copy of the seed qvm-seed
        made, with the same CPUs, memory, accelerator and port forward; same clock
        and same ssh probe.

Prints each time, the medians, and the ratio qvm/raw (goal: within 3%, <= 1.03).
Needs root; exits 77 when it cannot run (no container, no guest image).
"""

import os
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests",
                                "integration"))
from harness import Container, HarnessError, log, skip, skip_unless_possible  # noqa: E402

PORT = 2230
CPUS = 2
MEMORY_MB = 1024
VM = """[vm]
description = start-time benchmark
accel = tcg
cpus = {cpus}
memory = {memory}M
ready = ssh
start-timeout = 15min
[image]
source = {image}
size = 4G
[cloud-init]
hostname = bench
user = dev
ssh-authorized-key = {key}
[network]
ssh = {port}
"""


def wait_ssh(c, key, deadline=900):
    """Poll `ssh true` until it works.

    Return: time.monotonic() of the first success.
    """
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        if c.ssh(key, PORT, "true", check=False, timeout=30).returncode == 0:
            return time.monotonic()
        time.sleep(0.25)
    raise HarnessError("ssh never worked")


def run_qvm(c, key):
    """One qvm round from a fresh disk; Return: seconds to ssh-ready."""
    c.run(["rm", "-rf", "/var/lib/qvm/bench"])
    t0 = time.monotonic()
    c.systemctl("start", "qvm@bench.service", timeout=1200)
    started = time.monotonic() - t0
    took = wait_ssh(c, key) - t0
    log(f"qvm: systemctl start returned after {started:.1f}s, ssh ready after {took:.1f}s")
    return took


def qemu_cmdline(c):
    """The argv of the QEMU that qvm@bench runs (for the record)."""
    pids = c.sh("pgrep -x 'qemu-system-.*' || true").stdout.split()
    if not pids:
        return ""
    with open(f"/proc/{pids[0]}/cmdline", "rb") as f:
        return " ".join(a.decode() for a in f.read().split(b"\0") if a)


def run_raw(c, key, image, seed):
    """One raw QEMU round on a fresh overlay; Return: seconds to ssh-ready."""
    disk = "/var/tmp/bench-raw.qcow2"
    c.run(["rm", "-f", disk])
    c.run(["qemu-img", "create", "-q", "-f", "qcow2", "-F", "qcow2", "-b", image, disk, "4G"])
    argv = ["qemu-system-x86_64", "-machine", "q35", "-accel", "tcg", "-cpu", "max",
            "-smp", str(CPUS), "-m", str(MEMORY_MB), "-nodefaults", "-nographic",
            "-serial", "stdio",
            "-drive", f"if=virtio,file={disk},format=qcow2",
            "-drive", f"if=virtio,file={seed},format=raw,readonly=on",
            "-netdev", f"user,id=net0,hostfwd=tcp:127.0.0.1:{PORT}-:22",
            "-device", "virtio-net-pci,netdev=net0"]
    t0 = time.monotonic()
    c.run(["systemd-run", "--quiet", "--unit=bench-raw-qemu", "--collect", *argv])
    took = wait_ssh(c, key) - t0
    c.systemctl("stop", "bench-raw-qemu.service", check=False)
    log(f"raw QEMU: ssh ready after {took:.1f}s ({' '.join(argv)})")
    return took


def main():
    """Boot a container, run the rounds, print the ratio."""
    skip_unless_possible()
    rounds = int(os.environ.get("BENCH_ROUNDS", "1"))
    with Container("bench-start", grace=300) as c:
        try:
            image = c.guest_image()
        except HarnessError as e:
            skip(str(e))
        c.boot()
        key, pubkey = c.ssh_keygen()
        c.write("/etc/qvm/bench.ini", VM.format(cpus=CPUS, memory=MEMORY_MB, image=image,
                                                key=pubkey, port=PORT))
        c.systemctl("daemon-reload")
        qvm, raw = [], []
        for i in range(rounds):
            qvm.append(run_qvm(c, key))
            if i == 0:
                log(f"qvm's QEMU: {qemu_cmdline(c)}")
                c.run(["cp", "/var/lib/qvm/bench/seed.iso", "/var/tmp/bench-seed.iso"])
            c.systemctl("stop", "qvm@bench.service", timeout=300)
            raw.append(run_raw(c, key, image, "/var/tmp/bench-seed.iso"))
    q, r = statistics.median(qvm), statistics.median(raw)
    print(f"qvm (systemctl start -> ssh ready): {' '.join(f'{t:.1f}s' for t in qvm)}  median {q:.1f}s")
    print(f"raw QEMU (exec -> ssh ready):       {' '.join(f'{t:.1f}s' for t in raw)}  median {r:.1f}s")
    print(f"ratio qvm/raw: {q / r:.3f} (goal <= 1.03)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
