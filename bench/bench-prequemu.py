#!/usr/bin/env python3
"""bench-prequemu.py - pre-QEMU latency: `systemctl start qvm@NAME` vs `virsh start NAME`.

What is timed: from the moment the start command is launched (CLOCK_MONOTONIC read
just before the fork of `systemctl start qvm@lat` or `virsh start lat`, inside the
container) to the moment QEMU is exec'd (CLOCK_MONOTONIC read by the emulator
wrapper, a tiny static C program that prints the time on stderr and execs
/usr/bin/qemu-system-x86_64 with its argv untouched). Both sides run that same
wrapper: qvm through `[qemu] binary`, libvirt through the domain's <emulator>. The
time until the command returns is printed too, but it is not the figure: after
the exec, both wait for QEMU's own start-up (QMP), which is QEMU's, not theirs.

Both in one systemd container of tests/integration/harness.py, warm:
  qvm      the tiny guest (tests/lib/tiny-guest.sh), TCG, 1 vCPU, 256M, no network,
           ready = started, with a disk ([image] source = a local 64M qcow2: cached
           base, copy-on-write overlay) and a cloud-init seed; one untimed
           start/stop first, so the base is cached, the overlay made, the seed current;
  libvirt  libvirtd (monolithic, kept running: --timeout off), an equivalent
           <domain type='qemu'> (q35, cpu max, same kernel/initrd/append, its own
           qcow2 overlay on the same base, a copy of qvm's seed, serial console,
           virtio-rng, no NIC, no balloon, no USB); one untimed start/destroy first
           (emulator capabilities probed and cached).
BENCH_ROUNDS interleaved rounds (default 7): qvm, libvirt, qvm, libvirt...; each VM
is stopped before the other starts. Prints median, min and max of each and the
ratio of the medians, then where qvm's time goes (unit and helper timestamps from
systemd's D-Bus properties: the start job, qvm-fetch@ when it runs (only for a
downloaded base), each ExecStartPre, the launcher up to QEMU's exec). Goal: qvm < 50 ms.

libvirt is installed into the container's upper layer only, never on the host (a
host install would start libvirtd in every test container, DESIGN.md section 7):
libvirt-daemon-system, libvirt-clients and libvirt-daemon-driver-qemu are
downloaded with `apt-get install --download-only` into $QVM_TEST_CACHE/libvirt-debs
(one download, then cached) and installed offline inside the container. Deviations
from Debian's qemu.conf that nspawn needs: cgroup_controllers = [ ] (no cgroup
delegation in the container), security_driver = "none" (no AppArmor/SELinux
here); the default network is not autostarted (the domain has no NIC).

The floor, in the same rounds: `systemctl start qvm-floor.service`, a unit with
qvm@.service's own sandbox and identity settings (copied from the installed
template) whose only process is the wrapper (`-version`): no helper, no launcher.
It is what systemd's fork and sandbox set-up alone cost on this machine, so no qvm
design that keeps the sandbox can reach QEMU's exec sooner.

Needs root, cc, and Debian's package registry once; exits 77 when impossible.
Run: meson test -C build --benchmark prequemu-vs-libvirt -v
"""

import glob
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests",
                                "integration"))
from harness import Container, HarnessError, log, skip, skip_unless_possible  # noqa: E402

ROUNDS = int(os.environ.get("BENCH_ROUNDS", "7"))
VM = "lat"
QEMU = "/usr/bin/qemu-system-x86_64"
WRAPPER = "/usr/local/lib/qvm-bench/qemu-stamp"
BASE = "/srv/qvm-test/lat-base.qcow2"
LV_IMAGES = "/var/lib/libvirt/images"
MARK = "qvm-bench-exec"
LIBVIRT_PKGS = ["libvirt-daemon-system", "libvirt-clients", "libvirt-daemon-driver-qemu"]

# The emulator wrapper: one clock read, one write, one exec.
WRAPPER_C = r"""
#include <stdio.h>
#include <time.h>
#include <unistd.h>

/* Print CLOCK_MONOTONIC in ns on stderr, then exec the real QEMU with the same argv. */
int main(int argc, char **argv)
{
	struct timespec now;

	(void)argc;
	clock_gettime(CLOCK_MONOTONIC, &now);
	dprintf(2, "%s %lld\n", MARK, (long long)now.tv_sec * 1000000000LL + now.tv_nsec);
	execv(QEMU, argv);
	perror(QEMU);
	return 127;
}
"""

INI = """[vm]
description = pre-QEMU latency
accel = tcg
cpus = 1
memory = 256M
ready = started
shutdown-timeout = 10s
[network]
mode = none
[image]
source = {base}
[cloud-init]
hostname = lat
user = dev
ssh-authorized-key = {pubkey}
[boot]
kernel = {kernel}
initrd = {initrd}
append = console=ttyS0 panic=-1
[qemu]
binary = {wrapper}
"""

DOMAIN = """<domain type='qemu'>
  <name>{name}</name>
  <memory unit='MiB'>256</memory>
  <vcpu>1</vcpu>
  <os>
    <type arch='x86_64' machine='q35'>hvm</type>
    <kernel>{kernel}</kernel>
    <initrd>{initrd}</initrd>
    <cmdline>console=ttyS0 panic=-1</cmdline>
  </os>
  <cpu mode='maximum'/>
  <on_poweroff>destroy</on_poweroff>
  <devices>
    <emulator>{wrapper}</emulator>
    <controller type='usb' model='none'/>
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2' discard='unmap'/>
      <source file='{disk}'/>
      <target dev='vda' bus='virtio'/>
    </disk>
    <disk type='file' device='disk'>
      <driver name='qemu' type='raw'/>
      <source file='{seed}'/>
      <target dev='vdb' bus='virtio'/>
      <readonly/>
    </disk>
    <serial type='pty'/>
    <console type='pty'/>
    <rng model='virtio'><backend model='random'>/dev/urandom</backend></rng>
    <memballoon model='none'/>
  </devices>
</domain>
"""

# Inside the container: launch argv, print "rc t0 t1" (CLOCK_MONOTONIC ns before the fork
# and after the command returned).
TIMER = """
import subprocess, sys, time
t0 = time.monotonic_ns()
r = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
t1 = time.monotonic_ns()
print(r.returncode, t0, t1)
sys.stderr.write(r.stderr)
"""


def libvirt_debs():
    """The .debs libvirt needs beyond what the host has, downloaded once into the cache."""
    cache = os.path.join(os.environ.get("QVM_TEST_CACHE", "/var/tmp/qvm-test-cache"), "libvirt-debs")
    os.makedirs(os.path.join(cache, "partial"), exist_ok=True)
    r = subprocess.run(["apt-get", "install", "-y", "-q", "--download-only", "--no-install-recommends",
                        "-o", f"Dir::Cache::archives={cache}", *LIBVIRT_PKGS],
                       capture_output=True, text=True, env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"))
    if r.returncode != 0:
        skip(f"cannot download libvirt from the package registry: {r.stderr.strip()[-300:]}")
    return sorted(glob.glob(os.path.join(cache, "*.deb")))


def build_wrapper(c):
    """Compile the emulator wrapper into the container at WRAPPER."""
    cc = shutil.which("cc")
    if not cc:
        skip("no C compiler (cc) for the emulator wrapper")
    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, "qemu-stamp.c")
        with open(src, "w") as f:
            f.write(WRAPPER_C)
        out = c.path(WRAPPER)
        os.makedirs(os.path.dirname(out), exist_ok=True)
        subprocess.run([cc, "-O2", "-static", f'-DMARK="{MARK}"', f'-DQEMU="{QEMU}"', "-o", out, src],
                       check=True)
        os.chmod(out, 0o755)


def install_libvirt(c, debs):
    """Install libvirt offline in the container, configured for nspawn; start libvirtd."""
    for deb in debs:
        shutil.copy(deb, c.path("/var/cache/apt/archives/"))
    # no service starts from the maintainer scripts: libvirtd is configured first
    c.write("/usr/sbin/policy-rc.d", "#!/bin/sh\nexit 101\n", mode=0o755)
    c.run(["apt-get", "install", "-y", "-q", "--no-download", "--no-install-recommends", *LIBVIRT_PKGS],
          env={"DEBIAN_FRONTEND": "noninteractive"}, timeout=900)
    c.remove("/usr/sbin/policy-rc.d")
    c.sh("rm -f /etc/libvirt/qemu/networks/autostart/*.xml")
    c.sh("printf '%s\\n' 'cgroup_controllers = [ ]' 'security_driver = \"none\"' >> /etc/libvirt/qemu.conf")
    c.write("/etc/default/libvirtd", 'LIBVIRTD_ARGS=""\n')
    c.systemctl("daemon-reload")
    c.systemctl("start", "libvirtd.service", timeout=300)


def define_domain(c, kernel, initrd):
    """Define the libvirt domain: its own overlay on the same base, a copy of qvm's seed."""
    c.run(["mkdir", "-p", LV_IMAGES])
    c.run(["qemu-img", "create", "-q", "-f", "qcow2", "-F", "qcow2", "-b", BASE, f"{LV_IMAGES}/{VM}.qcow2"])
    c.run(["cp", f"/var/lib/private/qvm/{VM}/seed.iso", f"{LV_IMAGES}/{VM}-seed.iso"])
    c.write(f"/srv/qvm-test/{VM}.xml", DOMAIN.format(name=VM, kernel=kernel, initrd=initrd, wrapper=WRAPPER,
                                                     disk=f"{LV_IMAGES}/{VM}.qcow2",
                                                     seed=f"{LV_IMAGES}/{VM}-seed.iso"))
    c.run(["virsh", "-q", "define", f"/srv/qvm-test/{VM}.xml"])


def timed(c, argv):
    """Run @argv inside the container. Return: (t0, t1) CLOCK_MONOTONIC ns around it."""
    r = c.run(["python3", "-c", TIMER, *argv], timeout=600)
    rc, t0, t1 = (int(x) for x in r.stdout.split())
    if rc != 0:
        raise HarnessError(f"`{' '.join(argv)}` exited {rc}: {r.stderr.strip()}")
    return t0, t1


def exec_stamp(c, source, after):
    """The first wrapper stamp later than @after that @source (a shell command) prints."""
    def stamp():
        for line in c.sh(source, check=False).stdout.splitlines():
            word = line.split()
            if len(word) == 2 and word[0] == MARK and int(word[1]) > after:
                return int(word[1])
        return None
    return c.wait_until(f"QEMU's exec stamp from {source}", stamp, timeout=60, interval=0.2)


def qvm_stamp(c, after):
    """QEMU's exec time of qvm@VM (the wrapper's line in the unit's journal)."""
    return exec_stamp(c, f"journalctl -q -o cat -u qvm@{VM}.service | grep {MARK}", after)


def libvirt_stamp(c, after):
    """QEMU's exec time of domain VM (the wrapper's line in libvirt's domain log)."""
    return exec_stamp(c, f"grep {MARK} /var/log/libvirt/qemu/{VM}.log", after)


FLOOR = "qvm-floor"
# [Service] settings of the template that are not sandbox or identity: what the floor unit drops.
NOT_SANDBOX = ("Type=", "NotifyAccess=", "Exec", "Environment=", "Restart", "KillMode=", "TimeoutStartSec=")


def write_floor_unit(c):
    """qvm-floor.service: the template's sandbox, the wrapper as its one process."""
    tmpl = c.run(["systemctl", "cat", "qvm@.service"]).stdout
    service = tmpl[tmpl.index("[Service]"):tmpl.index("[Install]")]
    kept = [line for line in service.splitlines()[1:]
            if line.strip() and not line.startswith("#") and not line.startswith(NOT_SANDBOX)]
    text = "\n".join(["[Service]", "Type=oneshot", f"ExecStart={WRAPPER} -version",
                      *(line.replace("%i", FLOOR) for line in kept)]) + "\n"
    c.write(f"/etc/systemd/system/{FLOOR}.service", text)


def floor_round(c):
    """One timed start of the floor unit. Return: ms to the wrapper's exec."""
    t0, _ = timed(c, ["systemctl", "start", f"{FLOOR}.service"])
    stamp = exec_stamp(c, f"journalctl -q -o cat -u {FLOOR}.service | grep {MARK}", t0)
    return (stamp - t0) / 1e6


def bus_path(unit):
    """systemd's D-Bus object path of @unit."""
    esc = "".join(ch if ch.isalnum() else f"_{ord(ch):02x}" for ch in unit)
    return "/org/freedesktop/systemd1/unit/" + esc


def prop(c, unit, iface, name):
    """A D-Bus property of @unit, decoded from busctl's JSON."""
    out = c.run(["busctl", "--json=short", "get-property", "org.freedesktop.systemd1", bus_path(unit),
                 f"org.freedesktop.systemd1.{iface}", name]).stdout
    return json.loads(out)["data"]


def qvm_phases(c, t0, stamp):
    """Where one qvm start spent its time, as [(phase, ms)], from systemd's monotonic stamps."""
    unit, fetch = f"qvm@{VM}.service", f"qvm-fetch@{VM}.service"
    us = t0 // 1000
    f_in = prop(c, fetch, "Unit", "InactiveExitTimestampMonotonic")
    f_out = prop(c, fetch, "Unit", "InactiveEnterTimestampMonotonic")
    q_in = prop(c, unit, "Unit", "InactiveExitTimestampMonotonic")
    if f_in > us:   # the generator adds qvm-fetch@ only for a downloaded base image
        phases = [("systemctl -> start job of qvm-fetch@", f_in - us),
                  ("qvm-fetch@ (qvm-image --fetch)", f_out - f_in),
                  ("qvm-fetch@ done -> qvm@ start job", q_in - f_out)]
    else:
        phases = [("systemctl -> start job of qvm@", q_in - us)]
    last = q_in
    for cmd in prop(c, unit, "Service", "ExecStartPre"):
        path, argv, start, end = cmd[0], cmd[1], cmd[4], cmd[6]
        phases.append((f"  fork gap before {os.path.basename(path)} {argv[1] if len(argv) > 2 else ''}".rstrip(),
                       start - last))
        phases.append((f"{os.path.basename(path)} {' '.join(argv[1:-1])}".rstrip(), end - start))
        last = end
    main_start = prop(c, unit, "Service", "ExecMainStartTimestampMonotonic")
    phases.append(("  fork gap before qvm-launch", main_start - last))
    phases.append(("qvm-launch -> QEMU exec", stamp // 1000 - main_start))
    return [(what, v / 1000) for what, v in phases]


def qvm_round(c):
    """One timed `systemctl start`; stop afterwards. Return: (to exec, to return, phases) ms."""
    t0, t1 = timed(c, ["systemctl", "start", f"qvm@{VM}.service"])
    stamp = qvm_stamp(c, t0)
    phases = qvm_phases(c, t0, stamp)
    c.systemctl("stop", f"qvm@{VM}.service", timeout=120)
    return (stamp - t0) / 1e6, (t1 - t0) / 1e6, phases


def libvirt_round(c):
    """One timed `virsh start`; destroy afterwards. Return: (to exec, to return) ms."""
    t0, t1 = timed(c, ["virsh", "-q", "start", VM])
    stamp = libvirt_stamp(c, t0)
    c.run(["virsh", "-q", "destroy", VM])
    return (stamp - t0) / 1e6, (t1 - t0) / 1e6


def spread(values):
    """'median (min-max)' of @values in ms."""
    return f"{statistics.median(values):7.1f} ms ({min(values):.1f}-{max(values):.1f})"


def report(qvm, libvirt, floor, phases, load):
    """Print both figures, their ratio, the floor and qvm's phases."""
    q_exec, l_exec = [r[0] for r in qvm], [r[0] for r in libvirt]
    q_ret, l_ret = [r[1] for r in qvm], [r[1] for r in libvirt]
    print(f"\nhost load average {load[0]:.1f} before, {load[1]:.1f} after, on {os.cpu_count()} CPUs")
    print(f"{ROUNDS} interleaved rounds, warm; median (min-max)\n")
    print(f"{'start -> QEMU exec':<24} qvm {spread(q_exec)}   libvirt {spread(l_exec)}   "
          f"ratio {statistics.median(q_exec) / statistics.median(l_exec):.3f}")
    print(f"{'start -> command returns':<24} qvm {spread(q_ret)}   libvirt {spread(l_ret)}   "
          f"ratio {statistics.median(q_ret) / statistics.median(l_ret):.3f}")
    print(f"{'floor: start -> exec':<24} the template's sandbox, no helper: {spread(floor)}; "
          f"qvm / floor {statistics.median(q_exec) / statistics.median(floor):.2f}")
    print("\nqvm's start -> QEMU exec, by phase (median over the rounds, ms):")
    for i, (what, _) in enumerate(phases[0]):
        print(f"  {what:<44} {statistics.median(p[i][1] for p in phases):7.1f}")
    print(f"  {'(sum of the medians)':<44} {sum(statistics.median(p[i][1] for p in phases) for i in range(len(phases[0]))):7.1f}")


def main():
    """Set both up in one container, warm them, run the interleaved rounds, print."""
    skip_unless_possible()
    if ROUNDS < 1:
        skip("BENCH_ROUNDS < 1")
    debs = libvirt_debs()
    with Container("bench-prequemu", grace=120) as c:
        kernel, initrd = c.tiny_guest()
        build_wrapper(c)
        c.boot(timeout=300)
        _, pubkey = c.ssh_keygen()
        c.run(["qemu-img", "create", "-q", "-f", "qcow2", BASE, "64M"])
        c.write(f"/etc/qvm/{VM}.ini", INI.format(base=BASE, pubkey=pubkey, kernel=kernel, initrd=initrd,
                                                 wrapper=WRAPPER))
        write_floor_unit(c)
        c.systemctl("daemon-reload")
        install_libvirt(c, debs)
        log("warm-up: one untimed start/stop of each (makes qvm's overlay and seed)")
        qvm_round(c)
        define_domain(c, kernel, initrd)
        libvirt_round(c)
        floor_round(c)
        libvirtd = c.unit_property("libvirtd.service", "MainPID")
        load = [os.getloadavg()[0]]
        qvm, libvirt, floor, phases = [], [], [], []
        for i in range(ROUNDS):
            q = qvm_round(c)
            qvm.append(q[:2])
            phases.append(q[2])
            libvirt.append(libvirt_round(c))
            floor.append(floor_round(c))
            log(f"round {i + 1}: qvm {qvm[-1][0]:.1f} ms, libvirt {libvirt[-1][0]:.1f} ms, "
                f"floor {floor[-1]:.1f} ms to QEMU's exec")
        load.append(os.getloadavg()[0])
        if c.unit_property("libvirtd.service", "MainPID") != libvirtd:
            raise HarnessError("libvirtd restarted during the rounds: its figures include a daemon start")
    report(qvm, libvirt, floor, phases, load)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except HarnessError as e:
        print(f"bench-prequemu: {e}", file=sys.stderr)
        sys.exit(1)
