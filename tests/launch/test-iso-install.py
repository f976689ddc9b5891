#!/usr/bin/env python3
"""test-iso-install.py - an install from an ISO with the real qvm-image, qvm-launch, QEMU and SeaBIOS.

The ISO is built by tests/lib/iso-installer.sh (grub-mkrescue around the tiny
guest's kernel): its installer writes a bootable system and a marker onto the
disk and powers off. Checks:
  - [image] size with [boot] cdrom and no source: qvm-image makes a blank disk of that size;
  - first start: the CD boots (the installer's lines), display = vnc answers the
    RFB handshake on the runtime dir's vnc.sock, qvm display prints that socket and
    the ssh -L line; the installer's poweroff ends the install (state file "installed");
  - next start, config unchanged: the disk boots, and the marker is on it.
"""
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import importlib

tl = importlib.import_module("test-launch")

SRC = os.environ.get("QVM_SOURCE_ROOT", os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.environ.get("QVM_BUILD_ROOT", "")

INI = """[vm]
accel = tcg
firmware = bios
memory = 256M
cpus = 1
display = vnc
shutdown-timeout = 20s
[image]
size = 128M
[boot]
cdrom = {iso}
[network]
mode = none
"""


def env_of(r):
    return dict(os.environ, QVM_CONFIG_DIR=os.path.join(r.tmp, "etc"), QVM_STATE_ROOT=os.path.join(r.tmp, "state"),
                QVM_RUNTIME_ROOT=os.path.join(r.tmp, "run"))


def prepare(r, image_helper):
    out = subprocess.run([image_helper, "vm"], env=env_of(r), capture_output=True, text=True)
    tl.check(out.returncode == 0, f"qvm-image prepares the VM ({out.stderr[-300:]})")
    return out


def rfb_banner(path):
    for _ in range(50):
        if os.path.exists(path):
            break
        time.sleep(0.1)
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(10)
    s.connect(path)
    banner = s.recv(12)
    s.close()
    return banner


class Held:
    """A tl.Run-like second start in the same directories (tl.Run makes a new temp dir)."""

    def __init__(self, first, launcher):
        self.__dict__.update(first.__dict__)
        self.messages = []
        env = env_of(first)
        env["NOTIFY_SOCKET"] = first.notify_path
        env.pop("JOURNAL_STREAM", None)
        self.start = time.monotonic()
        self.proc = subprocess.Popen([launcher, "vm"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True)

    poll_notify = tl.Run.poll_notify
    wait_for = tl.Run.wait_for
    finish = tl.Run.finish


def main():
    launcher, image_helper, qvm = sys.argv[1], sys.argv[2], sys.argv[3]
    iso = subprocess.run([os.path.join(SRC, "tests/lib/iso-installer.sh")], check=True, capture_output=True,
                         text=True).stdout.strip()
    # tl.Run starts the launcher at once, but qvm-image must make the disk first: the same layout by hand
    first = tl.Run.__new__(tl.Run)
    first.tmp = tempfile.mkdtemp(prefix="qvm-iso-test.")
    for d in ("etc", "state", "run"):
        os.mkdir(os.path.join(first.tmp, d))
    with open(os.path.join(first.tmp, "etc", "vm.ini"), "w") as f:
        f.write(INI.format(iso=iso))
    first.notify_path = os.path.join(first.tmp, "notify.sock")
    first.notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    first.notify.bind(first.notify_path)
    first.notify.setblocking(False)

    prepare(first, image_helper)
    disk = os.path.join(first.tmp, "state", "vm", "disk.qcow2")
    info = subprocess.run(["qemu-img", "info", "--output=json", disk], capture_output=True, text=True).stdout
    tl.check('"virtual-size": 134217728' in info, "a blank qcow2 system disk of [image] size (128M)")

    # first start: the installer
    r = Held(first, launcher)
    tl.check(r.wait_for("READY=1", timeout=60), "first start: ready")
    vnc = os.path.join(first.tmp, "run", "vm", "vnc.sock")
    banner = rfb_banner(vnc)
    tl.check(banner.startswith(b"RFB 003."), f"display = vnc: the VNC server answers on vnc.sock ({banner!r})")
    shown = subprocess.run([qvm, "display", "vm"], env=dict(env_of(first), RUNTIME_DIRECTORY=os.path.join(
        first.tmp, "run", "vm")), capture_output=True, text=True)
    tl.check(shown.returncode == 0 and vnc in shown.stdout and f"ssh -N -L 5900:{vnc} root@" in shown.stdout,
             f"qvm display names the socket and the ssh -L line: {shown.stdout!r}")
    code, _ = r.finish(timeout=240)
    tl.check("qvm-installer: installing" in r.out and "qvm-installer: done" in r.out,
             "first start boots the CD: the installer ran")
    tl.check(code == 0, f"the installer's poweroff ends the unit cleanly (exit {code}; {r.err[-300:]})")
    tl.check(os.path.exists(os.path.join(first.tmp, "state", "vm", "installed")),
             "the end of the install is recorded (state file installed)")
    tl.check("install boot over" in r.err, "and logged")

    # next start, same config: the disk
    prepare(first, image_helper)
    r2 = Held(first, launcher)
    tl.check(r2.wait_for("READY=1", timeout=60), "second start: ready")
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and r2.proc.poll() is None:
        time.sleep(2)
        try:  # the shell answers once the installed system is up
            s = socket.socket(socket.AF_UNIX)
            s.connect(os.path.join(first.tmp, "run", "vm", "console.sock"))
            s.settimeout(1)
            s.sendall(b"\necho probe-$((6*7))\n")
            got = b""
            end = time.monotonic() + 3
            while time.monotonic() < end:
                try:
                    got += s.recv(4096)
                except socket.timeout:
                    pass
            s.close()
            if b"probe-42" in got:
                break
        except OSError:
            pass
    r2.proc.send_signal(signal.SIGTERM)
    code2, _ = r2.finish(timeout=90)
    tl.check("qvm-system: booted from disk" in r2.out, "the next start boots the installed disk")
    tl.check("qvm-installer" not in r2.out, "and not the installer")
    tl.check("qvm-system: marker qvm-installed-marker-7e3a" in r2.out, "the installer's marker is on the disk")
    tl.check(code2 == 0, f"stopped cleanly (exit {code2})")
    sys.exit(1 if tl.failures else 0)


if __name__ == "__main__":
    main()
