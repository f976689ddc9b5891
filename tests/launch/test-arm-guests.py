#!/usr/bin/env python3
"""test-arm-guests.py - ARM guests booted for real under TCG through qvm-launch (tests/lib/arm-guest.sh).

Two guests, kernels from Debian's own packages:
  - aarch64 on QEMU's virt machine (linux-image-arm64), direct kernel boot;
  - 32-bit arm on the raspi0 board (linux-image-rpi, armel) with the board's dtb,
    configured with no extra-args: the machine table gives it its CPU, RAM and CPU count.
Each must reach a shell on the serial console (a typed command runs), its console
lines must be in the launcher's log (the journal under systemd), and SIGTERM
(systemctl stop) must shut it down. Prints each guest's time from start to shell.
"""
import os
import signal
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import importlib

tl = importlib.import_module("test-launch")

SRC = os.environ.get("QVM_SOURCE_ROOT", os.path.join(os.path.dirname(__file__), "..", ".."))

AARCH64 = """[vm]
arch = aarch64
accel = tcg
memory = 512M
cpus = 1
shutdown-timeout = 30s
[boot]
kernel = {kernel}
initrd = {initrd}
append = console=ttyAMA0 panic=-1
[network]
mode = none
"""

# QEMU 7.2's raspi0 lacks the power-management block Linux 6.1's bcm2835-power
# driver probes (it oopses), so that one initcall is left out.
RASPI0 = """[vm]
arch = arm
machine = raspi0
accel = tcg
shutdown-timeout = 5s
[boot]
kernel = {kernel}
initrd = {initrd}
dtb = {dtb}
append = console=ttyAMA0 panic=-1 initcall_blacklist=bcm2835_power_driver_init
[network]
mode = none
"""


def arm_guest(arch):
    out = subprocess.run([os.path.join(SRC, "tests/lib/arm-guest.sh"), arch], capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"cannot build the {arch} guest: {out.stderr}")
    return out.stdout.split()


def shell_on_console(path, timeout):
    """Wait for the guest's shell prompt on the console socket, then type a command; its output, or None."""
    sock = socket.socket(socket.AF_UNIX)
    sock.connect(path)
    sock.settimeout(0.5)
    data = b""
    end = time.monotonic() + timeout
    typed = False
    while time.monotonic() < end:
        try:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
        except socket.timeout:
            pass
        if not typed and b"qvm-arm# " in data:
            typed = True
            sock.sendall(b"echo shell-$((6*7))\n")
        if typed and b"shell-42" in data:
            sock.close()
            return data
    sock.close()
    return None


def boot(launcher, name, ini, shell_timeout, expect_poweroff):
    t0 = time.monotonic()
    r = tl.Run(launcher, ini, "unused")
    tl.check(r.wait_for("READY=1", timeout=60), f"{name}: QEMU runs (READY=1)")
    out = shell_on_console(os.path.join(r.tmp, "run", "vm", "console.sock"), shell_timeout)
    took = time.monotonic() - t0
    tl.check(out is not None, f"{name}: a shell on the serial console ran a typed command")
    print(f"# {name}: start to shell {took:.1f}s", flush=True)
    t1 = time.monotonic()
    r.proc.send_signal(signal.SIGTERM)
    code, left = r.finish(timeout=90)
    stop = time.monotonic() - t1
    lines = r.out.splitlines()
    tl.check(code == 0, f"{name}: SIGTERM stops it, exit 0 (got {code}; {r.err[-300:]})")
    tl.check(any("Linux version" in l for l in lines), f"{name}: kernel console lines reach the log")
    tl.check(any(l.startswith("qvm-arm-guest: booted") for l in lines), f"{name}: the guest's own lines too")
    if expect_poweroff:
        tl.check("qvm-arm-guest: powering off" in r.out and "guest shut down" in r.err,
                 f"{name}: the power button (gpio-keys) powered the guest off in {stop:.1f}s")
    else:
        tl.check("quitting QEMU" in r.err and stop < 20,
                 f"{name}: a board without a power button is quit after shutdown-timeout ({stop:.1f}s)")
    tl.check(left == [], f"{name}: runtime dir clean ({left})")
    return took


def main():
    launcher = sys.argv[1]
    kernel, initrd, _ = arm_guest("arm64")
    t64 = boot(launcher, "aarch64 virt", AARCH64.format(kernel=kernel, initrd=initrd), 240, True)
    kernel, initrd, dtb = arm_guest("armel")
    t32 = boot(launcher, "arm raspi0", RASPI0.format(kernel=kernel, initrd=initrd, dtb=dtb), 240, False)
    print(f"# start to shell: aarch64 virt {t64:.1f}s, arm raspi0 {t32:.1f}s")
    sys.exit(1 if tl.failures else 0)


if __name__ == "__main__":
    main()
