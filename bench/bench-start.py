#!/usr/bin/env python3
"""bench-start.py - time from `systemctl start qvm@bench` to a working ssh login, beside raw QEMU.

Both sides run in one systemd container (tests/integration/harness.py), on the Debian
cloud-init guest of tests/lib/guest-image.sh, taking turns, BENCH_ROUNDS rounds (default 5;
one TCG first boot takes a minute or two). Round 1 runs qvm first (its QEMU command line
is what raw QEMU runs), round 2 raw first, and so on, so a drift in the machine's load
falls on both sides alike.

  qvm:  the clock starts before `systemctl start qvm@bench` (ready = ssh: it returns once the
        launcher reads sshd's banner). Every round starts from a fresh VM disk (the state dir
        /var/lib/private/qvm/bench is removed), so each one is a first boot with cloud-init,
        as for a new VM. The base image is fetched into qvm's cache once, before round 1.
  raw:  the very QEMU command line qvm ran (read from /proc), started by hand as a transient
        unit (systemd-run) without qvm's helpers, launcher or sandboxing, on a fresh qcow2
        overlay of the same base image and a copy of the seed qvm-seed made (no QMP socket).
        The clock starts before `systemd-run`.

Both clocks stop alike: a poller inside the container waits for sshd's banner (a new
connection every 100 ms, each given up after 3 s; for qvm it answers at once), then
`ssh dev@127.0.0.1 true` is tried until it works. So the raw side gets a banner wait at
least as tight as the launcher's own.

Prints every round, the median and spread (min-max) of each side, the ratio of the medians
(goal: <= 1.00), the load average during the run, where qvm's time went (start job ->
launcher -> ready -> active -> ssh), and where the guest's first boot spent its time, from
the console lines in the journal (journalctl -u qvm@bench -o short-monotonic).
Needs root; exits 77 when it cannot run (no container, no guest image).
"""

import os
import re
import statistics
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests",
                                "integration"))
from harness import Container, HarnessError, log, skip, skip_unless_possible  # noqa: E402

PORT = 2230
CPUS = 2
MEMORY_MB = 1024
STATE = "/var/lib/private/qvm/bench"
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

# Runs inside the container: until sshd's banner arrives on 127.0.0.1:PORT. A new connection
# every 100 ms, each given up after 3 s (through user-mode networking a connection made while
# the guest's network is down stays silent until QEMU retries its SYN seconds later).
BANNER_WAIT = r"""
import selectors, socket, sys, time
port, deadline = int(sys.argv[1]), time.monotonic() + float(sys.argv[2])
sel, open_ = selectors.DefaultSelector(), {}
while time.monotonic() < deadline:
    s = socket.socket()
    s.setblocking(False)
    s.connect_ex(("127.0.0.1", port))
    open_[s] = time.monotonic()
    sel.register(s, selectors.EVENT_READ)
    until = time.monotonic() + 0.1
    while (left := until - time.monotonic()) > 0:
        for key, _ in sel.select(left):
            try:
                data = key.fileobj.recv(64)
            except OSError:
                data = b""
            if data.startswith(b"SSH-"):
                sys.exit(0)
            sel.unregister(key.fileobj)
            key.fileobj.close()
            del open_[key.fileobj]
    for s, t in list(open_.items()):
        if time.monotonic() - t > 3:
            sel.unregister(s)
            s.close()
            del open_[s]
sys.exit(1)
"""


def wait_login(c, key, t0, deadline=900):
    """Wait for sshd's banner, then until `ssh true` works.

    Return: (seconds from @t0 to the banner, to the first working login).
    """
    r = c.run(["python3", "-c", BANNER_WAIT, str(PORT), str(deadline)], check=False,
              timeout=deadline + 60)
    if r.returncode != 0:
        raise HarnessError(f"no ssh banner within {deadline}s: {r.stderr[-2000:]}")
    banner = time.monotonic() - t0
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        if c.ssh(key, PORT, "true", check=False, timeout=60).returncode == 0:
            return banner, time.monotonic() - t0
        time.sleep(0.1)
    raise HarnessError("ssh never worked")


def mono(c, unit, prop):
    """A unit's monotonic timestamp property in seconds (0 when unset)."""
    return int(c.unit_property(unit, prop) or 0) / 1e6


def qvm_phases(c, t0):
    """Where the qvm round's time went, from systemd's and the launcher's own timestamps.

    Return: {phase: seconds since t0}.
    """
    unit = "qvm@bench.service"
    phases = {"start job": mono(c, unit, "InactiveExitTimestampMonotonic") - t0,
              "qvm-launch exec": mono(c, unit, "ExecMainStartTimestampMonotonic") - t0,
              "active": mono(c, unit, "ActiveEnterTimestampMonotonic") - t0}
    since = mono(c, unit, "InactiveExitTimestampMonotonic")
    text = c.journal("-u", unit, "-t", "qvm-launch", "-o", "short-monotonic", "--no-hostname")
    for line in text.splitlines():
        m = re.match(r"\[\s*([\d.]+)\]\s+\S+:\s+(.*)", line)
        if not m or float(m.group(1)) < since:
            continue
        if m.group(2).startswith("accelerator:"):
            phases["QEMU started"] = float(m.group(1)) - t0
        elif m.group(2).startswith("guest is ready"):
            phases["READY=1"] = float(m.group(1)) - t0
    return phases


def run_qvm(c, key):
    """One qvm round from a fresh disk.

    Return: (seconds to a working ssh login, {phase: seconds}).
    """
    c.run(["rm", "-rf", STATE])
    t0 = time.monotonic()
    c.systemctl("start", "qvm@bench.service", timeout=1200)
    returned = time.monotonic() - t0
    banner, took = wait_login(c, key, t0)
    phases = qvm_phases(c, t0)
    phases.update({"systemctl start returned": returned, "banner (bench)": banner, "ssh login": took})
    log(f"qvm: systemctl start returned after {returned:.1f}s, ssh login after {took:.1f}s")
    return took, phases


def qemu_argv(c):
    """The argv of the QEMU that qvm@bench runs, as a list ([] if none runs)."""
    out = c.sh("for p in $(pgrep -x 'qemu-system-.*'); do tr '\\0' '\\n' </proc/$p/cmdline; done; true"
               ).stdout
    return [a for a in out.split("\n") if a]


def raw_argv(qvm_argv, disk, seed):
    """qvm's own QEMU argv for the raw run: the VM's disk and seed swapped for the copies, and
    no QMP or monitor socket (their fds came from the launcher); the same machine, devices
    and options otherwise, so the comparison measures what qvm adds around QEMU."""
    out, skip_next = [], False
    for i, a in enumerate(qvm_argv):
        if skip_next:
            skip_next = False
            continue
        nxt = qvm_argv[i + 1] if i + 1 < len(qvm_argv) else ""
        if a in ("-chardev", "-mon") and (re.search(r"(^|,)fd=\d", nxt) or
                                          re.search(r"chardev=(qmp|monitor)\b", nxt)):
            skip_next = True
            continue
        a = re.sub(r"/var/lib/(private/)?qvm/bench/disk\.qcow2", disk, a)
        out.append(re.sub(r"/var/lib/(private/)?qvm/bench/seed\.iso", seed, a))
    return out


def run_raw(c, key, image, seed, qvm_argv):
    """One raw QEMU round on a fresh overlay; Return: seconds to a working ssh login."""
    disk = "/var/tmp/bench-raw.qcow2"
    c.run(["rm", "-f", disk])
    c.run(["qemu-img", "create", "-q", "-f", "qcow2", "-F", "qcow2", "-b", image, disk, "4G"])
    argv = raw_argv(qvm_argv, disk, seed)
    t0 = time.monotonic()
    c.run(["systemd-run", "--quiet", "--unit=bench-raw-qemu", "--collect", *argv])
    _, took = wait_login(c, key, t0)
    c.systemctl("stop", "bench-raw-qemu.service", check=False, timeout=300)
    log(f"raw QEMU: ssh login after {took:.1f}s")
    return took


# Console milestones of a Debian cloud-init first boot: (label, pattern of the console line).
MILESTONES = [
    ("first console line (firmware)", r"."),
    ("kernel: Linux version", r"Linux version"),
    ("kernel: root mounted / init runs", r"Run /sbin/init|Run /init|EXT4-fs \(vda\d?\): mounted"),
    ("systemd: Welcome", r"Welcome to"),
    ("cloud-init init-local starts", r"running 'init-local'"),
    ("cloud-init init (network) starts", r"running 'init' at"),
    ("ssh host keys printed", r"BEGIN SSH HOST KEY"),
    ("sshd started", r"Started .*(OpenBSD Secure Shell|ssh\.service)"),
    ("cloud-init modules:config", r"running 'modules:config'"),
    ("cloud-init modules:final", r"running 'modules:final'"),
    ("cloud-init finished", r"Cloud-init v\. .* finished"),
    ("login prompt", r"login:"),
]


def boot_breakdown(c, since):
    """Where the first boot of the last qvm round spent its time: console milestones, in
    seconds since QEMU started (journal time) and the kernel's own printk time when shown.

    Return: list of (label, seconds since QEMU started, printk time or None).
    """
    text = c.journal("-u", "qvm@bench.service", "-o", "short-monotonic", "--no-hostname")
    lines = []
    for line in text.splitlines():
        m = re.match(r"\[\s*([\d.]+)\]\s+(\S+?)(\[\d+\])?:\s?(.*)", line)
        if m and float(m.group(1)) >= since:
            lines.append((float(m.group(1)), m.group(2), m.group(4)))
    start = next((t for t, ident, msg in lines if msg.startswith("accelerator:")), since)
    console = [(t, msg) for t, ident, msg in lines if ident != "qvm-launch" and t >= start]
    out = []
    for label, pattern in MILESTONES:
        hit = next(((t, msg) for t, msg in console if re.search(pattern, msg)), None)
        if hit:
            printk = re.match(r"\[\s*([\d.]+)\]", hit[1])
            out.append((label, hit[0] - start, float(printk.group(1)) if printk else None))
    return out


class LoadSampler:
    """The host's 1-minute load average, sampled every 5 s in a thread."""

    def __init__(self):
        self.samples, self.done = [], threading.Event()
        self.thread = threading.Thread(target=self.sample, daemon=True)
        self.thread.start()

    def sample(self):
        """Append (monotonic time, load) until stopped."""
        while not self.done.is_set():
            self.samples.append((time.monotonic(), os.getloadavg()[0]))
            self.done.wait(5)

    def between(self, t0, t1):
        """(min, max) of the samples taken from @t0 to @t1."""
        xs = [v for t, v in self.samples if t0 <= t <= t1] or [os.getloadavg()[0]]
        return min(xs), max(xs)

    def stop(self):
        """Stop sampling."""
        self.done.set()
        self.thread.join()


def spread(xs):
    """min-max of @xs as text."""
    return f"{min(xs):.1f}-{max(xs):.1f}s"


def report(qvm, raw, phases, loads, breakdown):
    """Print every round, medians, spreads, the ratio, the load, and the breakdowns."""
    for i, (q, r) in enumerate(zip(qvm, raw), 1):
        print(f"round {i} ({'qvm first' if i % 2 else 'raw first'}): qvm {q:.1f}s  raw {r:.1f}s  "
              f"qvm/raw {q / r:.3f}  load {loads[i - 1][0]:.1f}-{loads[i - 1][1]:.1f}")
    q, r = statistics.median(qvm), statistics.median(raw)
    print(f"qvm (systemctl start -> ssh login): median {q:.1f}s  spread {spread(qvm)}")
    print(f"raw QEMU (systemd-run -> ssh login): median {r:.1f}s  spread {spread(raw)}")
    print(f"ratio of medians qvm/raw: {q / r:.3f} (goal <= 1.00); "
          f"median of per-round ratios {statistics.median(a / b for a, b in zip(qvm, raw)):.3f}")
    print(f"load average (1 min) during the run: {min(l[0] for l in loads):.1f}-"
          f"{max(l[1] for l in loads):.1f}")
    print("qvm's time, median over the rounds (seconds since systemctl start):")
    for name in phases[0]:
        vals = [p[name] for p in phases if name in p]
        print(f"  {name:28s} {statistics.median(vals):7.2f}")
    print("first boot of the last qvm round (seconds since QEMU started; guest printk time):")
    for label, t, printk in breakdown:
        print(f"  {label:36s} {t:7.1f}" + (f"   [{printk:8.2f}]" if printk is not None else ""))


def main():
    """Boot a container, run the rounds, print the figures."""
    skip_unless_possible()
    rounds = int(os.environ.get("BENCH_ROUNDS", "5"))
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
        c.systemctl("start", "qvm-fetch@bench.service", timeout=600)   # the base, cached once
        qvm, raw, phases, loads, argv = [], [], [], [], []
        breakdown, sampler = [], LoadSampler()
        for i in range(rounds):
            began = time.monotonic()
            order = ("qvm", "raw") if i % 2 == 0 else ("raw", "qvm")
            for side in order:
                if side == "qvm":
                    took, ph = run_qvm(c, key)
                    qvm.append(took)
                    phases.append(ph)
                    if not argv:
                        argv = qemu_argv(c)
                        if not argv:
                            raise HarnessError("found no QEMU process of qvm@bench")
                        log(f"qvm's QEMU: {' '.join(argv)}")
                        c.run(["cp", f"{STATE}/seed.iso", "/var/tmp/bench-seed.iso"])
                    breakdown = boot_breakdown(c, mono(c, "qvm@bench.service",
                                                       "InactiveExitTimestampMonotonic"))
                    c.systemctl("stop", "qvm@bench.service", timeout=300)
                else:
                    raw.append(run_raw(c, key, image, "/var/tmp/bench-seed.iso", argv))
            loads.append(sampler.between(began, time.monotonic()))
        sampler.stop()
    report(qvm, raw, phases, loads, breakdown)
    return 0


if __name__ == "__main__":
    sys.exit(main())
