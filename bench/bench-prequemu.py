#!/usr/bin/env python3
"""bench-prequemu.py - time from `systemctl start qvm@NAME` to QEMU's exec, under a real systemd.

In one systemd container (tests/integration/harness.py): a VM with a cached base
image (a local qcow2), a current cloud-init seed and the tiny guest's kernel
(tests/lib/tiny-guest.sh), ready = started. [qemu] binary is a bash wrapper that
writes $EPOCHREALTIME first thing and then execs the real QEMU, so the figure
includes the wrapper's own start (a few ms: it counts against qvm).

  qvm:       `systemctl start` (its exec, stamped by the same bash) -> QEMU's exec,
             after a first start that downloaded nothing but made the overlay and
             seed; BENCH_ROUNDS rounds (default 9), median and spread;
  baseline:  `systemd-run` of the same wrapper (QEMU -version) as a transient
             service with no helpers and no sandbox: what systemd itself costs
             to reach an exec.

libvirt's `virsh start` is not measured here: installing libvirt-daemon-system on
this shared host would enable its units in every test container. Goal: < 50 ms.
Needs root; exits 77 when no container can be booted.
"""

import os
import statistics
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests",
                                "integration"))
from harness import Container, HarnessError, log, skip_unless_possible  # noqa: E402

ROUNDS = int(os.environ.get("BENCH_ROUNDS", "9"))
STAMP = "/run/qvm/lat/exec-stamp"

WRAPPER = """#!/bin/bash
# stamp the exec of the VM's QEMU (not of a `-machine help` probe), then become QEMU
case " $* " in *" help "*) ;; *) echo "$EPOCHREALTIME" > {stamp} ;; esac
exec /usr/bin/qemu-system-x86_64 "$@"
"""

VM = """[vm]
description = pre-QEMU latency
accel = tcg
cpus = 1
memory = 128M
ready = started
[image]
source = /srv/bench/base.qcow2
size = 256M
[cloud-init]
user = dev
ssh-authorized-key = ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBenchBenchBenchBenchBenchBenchBenchBench bench
[network]
mode = none
[boot]
kernel = {kernel}
initrd = {initrd}
append = console=ttyS0 panic=-1
[qemu]
binary = /srv/bench/qemu-stamp
"""

# `systemctl start` stamped by the same bash clock; prints start stamp and exec stamp.
START = """rm -f {stamp}; s=$EPOCHREALTIME; {cmd}
for i in $(seq 200); do [ -s {stamp} ] && break; sleep 0.05; done; echo "$s $(cat {stamp})"
"""


def once(c, cmd):
    """Run @cmd after a stamp; Return: ms from the stamp to QEMU's exec stamp."""
    out = c.sh(START.format(stamp=STAMP, cmd=cmd), timeout=120).stdout.split()
    if len(out) != 2:
        raise HarnessError(f"no QEMU exec stamp after {cmd}: {out}")
    return (float(out[1]) - float(out[0])) * 1000


def spread(xs):
    """'median (min-max)' in ms."""
    return f"{statistics.median(xs):7.1f} ms (min {min(xs):.1f}, max {max(xs):.1f})"


def main():
    """Warm up, then alternate qvm and systemd-run rounds; print the table."""
    skip_unless_possible()
    with Container("bench-prequemu", grace=120) as c:
        kernel, initrd = c.tiny_guest()
        c.write("/srv/bench/qemu-stamp", WRAPPER.format(stamp=STAMP), mode=0o755)
        c.write("/etc/qvm/lat.ini", VM.format(kernel=kernel, initrd=initrd))
        c.boot()
        c.run(["qemu-img", "create", "-q", "-f", "qcow2", "/srv/bench/base.qcow2", "64M"])
        c.systemctl("start", "qvm@lat.service", timeout=300)   # warm: overlay and seed made
        c.systemctl("stop", "qvm@lat.service", timeout=120)
        c.run(["mkdir", "-p", "/run/qvm/lat"])
        qvm, base = [], []
        for i in range(ROUNDS):
            qvm.append(once(c, "systemctl start qvm@lat.service"))
            c.systemctl("stop", "qvm@lat.service", timeout=120)
            c.run(["mkdir", "-p", "/run/qvm/lat"])
            base.append(once(c, "systemd-run --quiet --collect --unit=lat-raw -p Type=exec "
                                "/srv/bench/qemu-stamp -version"))
            c.systemctl("stop", "lat-raw.service", check=False)
            log(f"round {i + 1}: qvm {qvm[-1]:.1f} ms, systemd-run {base[-1]:.1f} ms")
    print(f"\nsystemctl start -> QEMU exec, {ROUNDS} rounds, image cached and seed current")
    print(f"qvm (systemctl start qvm@lat)     {spread(qvm)}")
    print(f"baseline (systemd-run, no qvm)    {spread(base)}")
    print(f"ratio of medians {statistics.median(qvm) / statistics.median(base):.2f}; "
          f"qvm's own share {statistics.median(qvm) - statistics.median(base):.1f} ms")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except HarnessError as e:
        print(f"bench-prequemu: {e}", file=sys.stderr)
        sys.exit(1)
