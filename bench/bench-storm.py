#!/usr/bin/env python3
"""bench-storm.py - a host boot with many autostart VMs, and what qvm costs per running VM.

In one systemd container (tests/integration/harness.py), BENCH_VMS tiny guests
(default 32; tests/lib/tiny-guest.sh, TCG, 1 vCPU, 128M, ready = ssh) with
autostart = yes and the default boot-limit (the host's CPU count):

  storm:       the container's systemd start -> every qvm@ unit active, and the
               VMs' own span, first start job -> last ready (unit timestamps);
  sequential:  the same VMs stopped, then `systemctl start` one after another
               (each returns when its guest is ready): the baseline of the span;
  memory:      with all VMs running and idle, the PSS (smaps_rollup) of each
               qvm-launch plus any qvm proxy unit, against its QEMU's PSS;
  wakeups:     context switches of each qvm-launch over BENCH_IDLE seconds (default
               20) while the guests are quiet, per second; QEMU's beside it.

Prints each figure next to its baseline and the ratio. Needs root; exits 77 when
no container can be booted. Goals: PSS < 1 MiB per VM, 0 idle wakeups/s.
"""

import os
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests",
                                "integration"))
from harness import Container, HarnessError, log, skip_unless_possible  # noqa: E402
from scenarios import tiny_vm  # noqa: E402

VMS = int(os.environ.get("BENCH_VMS", "32"))
IDLE = float(os.environ.get("BENCH_IDLE", "20"))
NAMES = [f"b{i:02d}" for i in range(VMS)]

# For every qvm@ unit: unit, launcher PID, its QEMU's PID, both PSS in kB, both ctx switches.
PROBE = r"""
for u in $(systemctl list-units --plain --no-legend --state=active 'qvm@*.service' | awk '{print $1}'); do
    l=$(systemctl show -P MainPID "$u"); q=$(pgrep -P "$l" | head -n1)
    pss() { awk '/^Pss:/ {print $2}' /proc/$1/smaps_rollup; }
    sw() { awk '/ctxt_switches/ {s += $2} END {print s}' /proc/$1/status; }
    echo "$u $l $q $(pss $l) $(pss $q) $(sw $l) $(sw $q)"
done
"""

# PSS in kB of the main processes of qvm's other units (socket proxies, virtiofsd).
PROXIES = r"""
for u in $(systemctl list-units --plain --no-legend --state=active 'qvm-*.service' | awk '{print $1}'); do
    p=$(systemctl show -P MainPID "$u"); [ "$p" -gt 0 ] && awk -v u=$u '/^Pss:/ {print u, $2}' /proc/$p/smaps_rollup
done; true
"""


def probe(c):
    """Rows of PROBE as {unit: (launcher pid, qemu pid, launcher pss, qemu pss, l sw, q sw)}."""
    rows = {}
    for line in c.sh(PROBE).stdout.splitlines():
        f = line.split()
        if len(f) == 7:
            rows[f[0]] = tuple(int(x) for x in f[1:])
    return rows


def mono(c, unit, prop):
    """A monotonic timestamp property of @unit in seconds."""
    return int(c.unit_property(unit, prop) or 0) / 1e6


def storm(c, guest):
    """Boot the container with every VM autostarted.

    Return: (container's systemd start -> last VM ready, first VM start job -> last ready) in s.
    """
    for i, vm in enumerate(NAMES):
        c.write(f"/etc/qvm/{vm}.ini", tiny_vm(guest, f"bench {vm}", autostart=True, ssh=2400 + i)
                .replace("memory = 256M", "memory = 128M\nstart-timeout = 10min"))
    c.boot(timeout=3600)
    units = [f"qvm@{vm}.service" for vm in NAMES]
    states = {u: c.unit_property(u, "ActiveState") for u in units}
    if any(s != "active" for s in states.values()):
        raise HarnessError(f"not all VMs are active after boot: {states}")
    last_ready = max(mono(c, u, "ActiveEnterTimestampMonotonic") for u in units)
    first_start = min(mono(c, u, "InactiveExitTimestampMonotonic") for u in units)
    # the container's systemd started at UserspaceTimestamp (the same kernel clock)
    booted = int(c.systemctl("show", "-P", "UserspaceTimestampMonotonic").stdout.strip() or 0) / 1e6
    return last_ready - booted, last_ready - first_start


def sequential(c):
    """Stop every VM, then start them one after another. Return: seconds for all."""
    c.systemctl("stop", *[f"qvm@{vm}.service" for vm in NAMES], timeout=900)
    t0 = time.monotonic()
    for vm in NAMES:
        c.systemctl("start", f"qvm@{vm}.service", timeout=900)
    return time.monotonic() - t0


def cost(c):
    """PSS and idle context switches per VM. Return: dict of medians and totals."""
    time.sleep(10)  # let the last guests finish printing their boot
    a = probe(c)
    time.sleep(IDLE)
    b = probe(c)
    units = sorted(set(a) & set(b))
    if len(units) < VMS:
        raise HarnessError(f"only {len(units)} of {VMS} VMs could be probed")
    proxies = [line.split() for line in c.sh(PROXIES).stdout.splitlines() if line.strip()]
    return {
        "launcher_pss": statistics.median(b[u][2] for u in units),
        "qemu_pss": statistics.median(b[u][3] for u in units),
        "proxy_pss": sum(int(p[1]) for p in proxies) / VMS,
        "proxies": len(proxies),
        "launcher_wakeups": statistics.median((b[u][4] - a[u][4]) / IDLE for u in units),
        "launcher_wakeups_max": max((b[u][4] - a[u][4]) / IDLE for u in units),
        "qemu_wakeups": statistics.median((b[u][5] - a[u][5]) / IDLE for u in units),
    }


def row(what, value, unit, base, base_what):
    """One line: figure, baseline, ratio."""
    ratio = f"{value / base:.3f}" if base else "-"
    print(f"{what:<38} {value:>10.2f} {unit:<4}  {base_what:<28} {base:>10.2f} {unit:<4}  ratio {ratio}")


def main():
    """Storm, cost, sequential; print the table."""
    skip_unless_possible()
    with Container("bench-storm", grace=600) as c:
        guest = c.tiny_guest()
        boot, span = storm(c, guest)
        log(f"storm: all {VMS} ready {boot:.1f}s after the container booted (VM span {span:.1f}s)")
        k = cost(c)
        seq = sequential(c)
        log(f"sequential: {seq:.1f}s")
        cpus = c.run(["nproc"]).stdout.strip()
    print(f"\nhost load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    print(f"\n{VMS} tiny VMs (TCG, ready = ssh), {cpus} CPUs, boot-limit = default ({cpus})")
    row("host boot -> all ready", boot, "s", seq, "one after another")
    row("first start job -> last ready", span, "s", seq, "one after another")
    row("launcher PSS per VM (median)", k["launcher_pss"] / 1024, "MiB", k["qemu_pss"] / 1024,
        "QEMU PSS per VM (median)")
    row(f"proxy units PSS per VM ({k['proxies']} units)", k["proxy_pss"] / 1024, "MiB",
        k["qemu_pss"] / 1024, "QEMU PSS per VM (median)")
    row("launcher wakeups/s idle (median)", k["launcher_wakeups"], "/s", k["qemu_wakeups"],
        "QEMU wakeups/s idle (median)")
    row("launcher wakeups/s idle (max)", k["launcher_wakeups_max"], "/s", k["qemu_wakeups"],
        "QEMU wakeups/s idle (median)")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except HarnessError as e:
        print(f"bench-storm: {e}", file=sys.stderr)
        sys.exit(1)
