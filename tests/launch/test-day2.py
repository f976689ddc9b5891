#!/usr/bin/env python3
"""test-day2.py - day-two operations on a real tiny guest (tests/lib/tiny-guest.sh) under TCG.

Runs the real qvm-image, qvm-launch and qvm outside systemd (QVM_*_ROOT re-rooting).
The guest writes to its disks through the serial console (dd to /dev/vdX at fixed
sectors), so every check reads back what the guest itself sees:
- qvm monitor 'info block' lists the disks, 'info status' says running; qvm qmp speaks raw QMP;
- a live snapshot (RAM + disks): write A, snapshot, write B, revert -> A there, B gone,
  and a shell variable set after the snapshot is back to its old value; the VM runs on;
- qvm disk grow on the running VM: the guest sees the new size at once; smaller is refused;
- a monitor client that stays connected does not hold up the launcher's stop;
- offline snapshots across three boots (write A, stop, snapshot, boot, write B, stop,
  revert, boot -> A there, B gone), and a raised [disk:NAME] size grows the disk at
  the next start with the data intact; a smaller size refuses to start;
- a raw data disk cannot hold snapshots; unknown snapshot; duplicate create;
- ephemeral = yes: what the guest wrote is gone after stop/start, base and data disks unchanged.
"""
import hashlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

SRC = os.environ.get("QVM_SOURCE_ROOT", os.path.join(os.path.dirname(__file__), "..", ".."))
failures = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what, flush=True)
    if not cond:
        failures.append(what)


def tiny_guest():
    out = subprocess.run([os.path.join(SRC, "tests/lib/tiny-guest.sh")], check=True,
                         capture_output=True, text=True).stdout.split()
    return out[0], out[1]


def sha(path):
    return hashlib.sha256(open(path, "rb").read()).hexdigest()


class Env:
    """A re-rooted qvm world in a temp dir: etc/, state/, run/."""

    def __init__(self, bindir):
        self.tmp = tempfile.mkdtemp(prefix="qvm-day2.")
        for d in ("etc", "state", "run"):
            os.mkdir(os.path.join(self.tmp, d))
        self.bindir = bindir
        self.env = dict(os.environ, QVM_CONFIG_DIR=self.p("etc"), QVM_STATE_ROOT=self.p("state"),
                        QVM_RUNTIME_ROOT=self.p("run"), QVM_CACHE_DIR=self.p("cache"))
        for k in ("NOTIFY_SOCKET", "JOURNAL_STREAM", "STATE_DIRECTORY", "RUNTIME_DIRECTORY", "CACHE_DIRECTORY"):
            self.env.pop(k, None)

    def p(self, *rel):
        return os.path.join(self.tmp, *rel)

    def write_ini(self, name, text):
        with open(self.p("etc", name + ".ini"), "w") as f:
            f.write(text)

    def run(self, tool, *args, stdin=None):
        return subprocess.run([os.path.join(self.bindir, tool), *args], env=self.env, capture_output=True,
                              text=True, input=stdin, timeout=300)

    def qvm(self, *args, stdin=None):
        return self.run("qvm", *args, stdin=stdin)


class Guest:
    """qvm-image + qvm-launch of VM @name, with a console connection for typing commands."""

    def __init__(self, env, name):
        self.env, self.name, self.n = env, name, 0
        r = env.run("qvm-image", name)
        check(r.returncode == 0, f"{name}: qvm-image prepares the disks ({r.stderr.strip()[-300:]})")
        self.log_path = env.p(f"{name}.log")
        with open(self.log_path, "w") as log:
            self.proc = subprocess.Popen([os.path.join(env.bindir, "qvm-launch"), name], env=env.env,
                                         stdout=log, stderr=subprocess.STDOUT)
        self.sock = None
        self.buf = ""
        end = time.monotonic() + 60
        while time.monotonic() < end and self.proc.poll() is None:
            try:
                self.sock = socket.socket(socket.AF_UNIX)
                self.sock.connect(env.p("run", name, "console.sock"))
                break
            except OSError:
                self.sock = None
                time.sleep(0.2)
        check(self.sock is not None, f"{name}: console socket up")
        # the console socket carries the guest's output from the start (the log file is block-buffered)
        check(self.sock is not None and self.read_until("qvm-tiny-guest: booted", 180), f"{name}: the guest booted")
        time.sleep(1)

    def read_until(self, marker, timeout):
        end = time.monotonic() + timeout
        self.sock.settimeout(0.5)
        while marker not in self.buf and time.monotonic() < end:
            try:
                data = self.sock.recv(65536)
                if not data:
                    break
                self.buf += data.decode(errors="replace")
            except socket.timeout:
                pass
        return marker in self.buf

    def sh(self, cmd, timeout=60):
        """Run @cmd in the guest's shell; return its output (between two markers)."""
        self.n += 1
        start, done = f"S{self.n}", f"D{self.n}"
        self.buf = ""
        self.sock.sendall(f"echo {start}-$((0)); {cmd}; echo {done}-$((0))\n".encode())
        ok = self.read_until(f"{done}-0", timeout)
        out = self.buf.split(f"{start}-0", 1)[-1].split(f"{done}-0", 1)[0] if ok else ""
        return out.replace("\r", "")

    def put(self, dev, sector, word):
        self.sh(f"echo {word} | dd of=/dev/{dev} bs=512 seek={sector} conv=fsync 2>/dev/null; sync")

    def get(self, dev, sector):
        out = self.sh(f"dd if=/dev/{dev} bs=512 skip={sector} count=1 2>/dev/null | head -c 8 | od -An -c")
        return "".join(out.split())

    def stop(self, timeout=90):
        t0 = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = self.proc.wait()
        if self.sock:
            self.sock.close()
        return code, time.monotonic() - t0


INI = """[vm]
accel = tcg
memory = 256M
cpus = 1
ready = started
shutdown-timeout = 30s
{vm_extra}
[image]
source = {base}
[boot]
kernel = {kernel}
initrd = {initrd}
append = console=ttyS0 panic=-1
[network]
mode = none
[disk:data]
size = {data_size}
"""


def make_vm(env, name, kernel, initrd, data_size="32M", vm_extra=""):
    base = env.p("base.qcow2")
    if not os.path.exists(base):
        subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", base, "64M"], check=True)
    env.write_ini(name, INI.format(base=base, kernel=kernel, initrd=initrd, data_size=data_size, vm_extra=vm_extra))


def case_live(env, kernel, initrd):
    make_vm(env, "live", kernel, initrd)
    g = Guest(env, "live")
    r = env.qvm("monitor", "live", "info block")
    check(r.returncode == 0 and "disk0" in r.stdout and "data0" in r.stdout and "data.qcow2" in r.stdout,
          f"qvm monitor NAME 'info block' lists the disks: {r.stdout.strip()[:200]} {r.stderr.strip()}")
    r = env.qvm("monitor", "live", "info", "status")
    check(r.returncode == 0 and "running" in r.stdout, f"'info status' says running: {r.stdout.strip()}")
    r = env.qvm("monitor", "live", stdin="info status\ninfo name\n")
    check(r.returncode == 0 and "running" in r.stdout, "the prompt reads commands from stdin")
    r = env.qvm("qmp", "live", stdin='{"execute":"qmp_capabilities"}\n{"execute":"query-status"}\n')
    check(r.returncode == 0 and '"QMP"' in r.stdout and '"status": "running"' in r.stdout,
          f"qvm qmp relays raw QMP: {r.stdout.strip()[-200:]}")

    g.put("vdb", 100, "AAAA")
    g.sh("X=before")
    t0 = time.monotonic()
    r = env.qvm("snapshot", "live", "create", "snap1")
    took_create = time.monotonic() - t0
    check(r.returncode == 0 and "live" in r.stdout, f"live snapshot created: {r.stdout.strip()} {r.stderr.strip()}")
    g.put("vdb", 200, "BBBB")
    g.sh("X=after")
    r = env.qvm("snapshot", "live", "list")
    line = [l for l in r.stdout.splitlines() if l.startswith("snap1")]
    check(line and "system,data" in line[0] and re.search(r"\d+\.\dM", line[0]),
          f"list: name, date, RAM state size and disks: {line}")
    r = env.qvm("snapshot", "live", "create", "snap1")
    check(r.returncode == 1 and "already exists" in r.stderr, "a second snapshot of the same name is refused")
    t0 = time.monotonic()
    r = env.qvm("snapshot", "live", "revert", "snap1")
    took_revert = time.monotonic() - t0
    check(r.returncode == 0, f"live revert: {r.stdout.strip()} {r.stderr.strip()}")
    r = env.qvm("monitor", "live", "info status")
    check("running" in r.stdout, "after a live revert the VM runs")
    # The first console reads after a live revert were seen to come back without the
    # data once in three runs (the guest's serial state is restored mid-stream): read A
    # until one read shows it, at most three times, and say what each read returned.
    reads = []
    while len(reads) < 3 and not (reads and reads[-1].startswith("AAAA")):
        reads.append(g.get("vdb", 100))
    check(reads[-1].startswith("AAAA"), f"live revert: A written before the snapshot is there (reads: {reads})")
    check(not g.get("vdb", 200).startswith("BBBB"), "live revert: B written after it is gone")
    check("before" in g.sh("echo $X"), "live revert restored the RAM state (a shell variable)")
    r = env.qvm("snapshot", "live", "revert", "nosuch")
    check(r.returncode == 1 and "no snapshot nosuch" in r.stderr, "reverting to an unknown snapshot: a clear error")
    r = env.qvm("snapshot", "live", "delete", "snap1")
    check(r.returncode == 0 and "snap1" not in env.qvm("snapshot", "live", "list").stdout, "live delete")
    print(f"# live snapshot create {took_create:.2f}s, revert {took_revert:.2f}s", flush=True)

    r = env.qvm("disk", "grow", "live", "data", "64M")
    check(r.returncode == 0 and "live" in r.stdout, f"qvm disk grow on the running VM: {r.stdout.strip()} {r.stderr.strip()}")
    check(g.sh("cat /sys/block/vdb/size").split()[:1] == ["131072"], "the guest sees the grown disk at once")
    dropin = env.p("etc", "live.ini.d", "90-qvm-disk-size-data.conf")
    check(os.path.exists(dropin) and "size = 64M" in open(dropin).read(), "the new size is recorded in a drop-in")
    r = env.qvm("disk", "grow", "live", "data", "48M")
    check(r.returncode == 1 and "64M" in r.stderr and "48M" in r.stderr, f"shrinking is refused, naming both sizes: {r.stderr.strip()}")

    # a monitor client that stays connected must not hold up the launcher's stop
    idle = socket.socket(socket.AF_UNIX)
    idle.connect(env.p("run", "live", "monitor.sock"))
    code, took = g.stop()
    idle.close()
    check(code == 0 and took < 30, f"stop with a monitor client connected: exit {code} after {took:.1f}s")
    check(not os.path.exists(env.p("run", "live", "monitor.sock")), "the monitor socket is removed at stop")
    r = env.qvm("monitor", "live", "info status")
    check(r.returncode == 1 and "not running" in r.stderr, "monitor of a stopped VM: a clear error")


def case_offline(env, kernel, initrd):
    make_vm(env, "off", kernel, initrd)
    g = Guest(env, "off")
    g.put("vda", 100, "AAAA")
    g.put("vdb", 100, "AAAA")
    g.stop()
    r = env.qvm("snapshot", "off", "create", "before")
    check(r.returncode == 0 and "offline" in r.stdout, f"offline snapshot of a stopped VM: {r.stdout.strip()} {r.stderr.strip()}")
    g = Guest(env, "off")
    g.put("vda", 200, "BBBB")
    g.put("vdb", 200, "BBBB")
    r = env.qvm("snapshot", "off", "revert", "before")
    check(r.returncode == 1 and "needs the VM stopped" in r.stderr,
          f"a disk-only snapshot cannot be reverted live: {r.stderr.strip()}")
    g.stop()
    r = env.qvm("snapshot", "off", "revert", "before")
    check(r.returncode == 0, f"offline revert: {r.stdout.strip()} {r.stderr.strip()}")
    info = subprocess.run(["qemu-img", "snapshot", "-l", env.p("state", "off", "data.qcow2")],
                          capture_output=True, text=True).stdout
    check("qvm-undo" not in info, "the revert's temporary undo snapshot is gone")
    # raise the data disk's size: the next start grows it, data intact
    make_vm(env, "off", kernel, initrd, data_size="48M")
    g = Guest(env, "off")
    check(g.get("vda", 100).startswith("AAAA") and g.get("vdb", 100).startswith("AAAA"),
          "offline revert: A is there on both disks")
    check(not g.get("vda", 200).startswith("BBBB") and not g.get("vdb", 200).startswith("BBBB"),
          "offline revert: B is gone from both disks")
    check(g.sh("cat /sys/block/vdb/size").split()[:1] == ["98304"], "raised [disk:data] size: the guest sees 48M")
    g.stop()
    make_vm(env, "off", kernel, initrd, data_size="40M")
    r = env.run("qvm-image", "off")
    check(r.returncode == 1 and "40M" in r.stderr and "48M" in r.stderr and "never shrinks" in r.stderr,
          f"a smaller size is an error naming both: {r.stderr.strip()}")

    env.write_ini("rawvm", INI.format(base=env.p("base.qcow2"), kernel=kernel, initrd=initrd, data_size="16M",
                                      vm_extra="") + "format = raw\n")
    env.run("qvm-image", "rawvm")
    r = env.qvm("snapshot", "rawvm", "create", "x")
    check(r.returncode == 1 and "raw" in r.stderr and "cannot hold snapshots" in r.stderr,
          f"a raw disk cannot hold snapshots: {r.stderr.strip()}")
    r = env.qvm("snapshot", "rawvm", "create", "bad,name")
    check(r.returncode == 2 and "invalid snapshot name" in r.stderr, "a snapshot name with a comma is refused")


def case_ephemeral(env, kernel, initrd):
    make_vm(env, "eph", kernel, initrd, vm_extra="ephemeral = yes")
    base_sum = sha(env.p("base.qcow2"))
    g = Guest(env, "eph")
    overlay = env.p("run", "eph", "disk.qcow2")
    check(os.path.exists(overlay) and not os.path.exists(env.p("state", "eph", "disk.qcow2")),
          "ephemeral: the system disk is an overlay in the runtime dir")
    data = env.p("state", "eph", "data.qcow2")
    data_sum = sha(data)
    g.put("vda", 300, "CCCC")
    check(g.get("vda", 300).startswith("CCCC"), "the guest wrote to its throwaway disk")
    g.stop()
    check(not os.path.exists(overlay), "the overlay is gone at stop")
    g = Guest(env, "eph")
    check(not g.get("vda", 300).startswith("CCCC"), "ephemeral: the file written before is gone after stop/start")
    g.stop()
    check(sha(env.p("base.qcow2")) == base_sum, "the base image is unchanged")
    check(sha(data) == data_sum, "the data disk is unchanged")
    r = env.qvm("snapshot", "eph", "create", "x")
    listing = env.qvm("snapshot", "eph", "list").stdout
    check(r.returncode == 0 and re.search(r"^x .* data$", listing, re.M),
          f"a snapshot of an ephemeral VM covers its data disk only: {listing.strip()}")


def main():
    bindir = os.path.dirname(sys.argv[1])
    kernel, initrd = tiny_guest()
    env = Env(bindir)
    try:
        for case in (case_live, case_offline, case_ephemeral):
            print(f"# {case.__name__}", flush=True)
            case(env, kernel, initrd)
    finally:
        if failures:
            for f in os.listdir(env.tmp):
                if f.endswith(".log"):
                    print(f"--- {f}\n" + open(env.p(f)).read()[-3000:])
        shutil.rmtree(env.tmp, ignore_errors=True)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
