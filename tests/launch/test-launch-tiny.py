#!/usr/bin/env python3
"""test-launch-tiny.py - qvm-launch boots a real guest under TCG (tests/lib/tiny-guest.sh).

Checks: console lines arrive, READY=1 for ready = ssh and ready = cloud-init, a
console client can type into the guest, SIGTERM powers the guest off through
ACPI, and a guest that ignores ACPI is forced off within shutdown-timeout + 5 s.
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


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def tiny_guest():
    out = subprocess.run([os.path.join(SRC, "tests/lib/tiny-guest.sh")], check=True,
                         capture_output=True, text=True).stdout.split()
    return out[0], out[1]


INI = """[vm]
accel = tcg
memory = 256M
cpus = 1
ready = {ready}
shutdown-timeout = {stop}
[boot]
kernel = {kernel}
initrd = {initrd}
append = console=ttyS0 panic=-1 {extra}
[network]
ssh = {port}
"""


def boot(launcher, ready, stop, extra=""):
    kernel, initrd = tiny_guest()
    ini = INI.format(ready=ready, stop=stop, kernel=kernel, initrd=initrd, extra=extra, port=free_port())
    files = {}
    if ready == "cloud-init":
        ini += "[cloud-init]\nuser = dev\n"
        files["state/vm/seed.iso"] = bytes(64 * 1024)  # qvm-seed's job; the tiny guest ignores it
    return tl.Run(launcher, ini, "unused", files)


def case_ssh_ready_console_and_acpi_stop(launcher):
    r = boot(launcher, "ssh", "30s")
    check = tl.check
    check(r.wait_for("READY=1", timeout=120), "ready = ssh: READY=1 once the guest answers SSH-")
    check(any(m.startswith("STATUS=running (tcg), ssh on 127.0.0.1:") for m in r.messages),
          "STATUS=running (tcg), ssh on 127.0.0.1:PORT")
    sock = socket.socket(socket.AF_UNIX)
    sock.connect(os.path.join(r.tmp, "run", "vm", "console.sock"))
    time.sleep(0.5)
    sock.sendall(b"\necho typed-$((6*7))\n")
    time.sleep(3)
    sock.close()
    r.proc.send_signal(signal.SIGTERM)
    code, left = r.finish(timeout=60)
    lines = r.out.splitlines()
    check(code == 0, f"SIGTERM: guest powered off, exit 0 (got {code})")
    # A substring, not a whole line: the guest's echo and a kernel message (its modules are
    # loading) can share a line of the serial console.
    booted = any("qvm-tiny-guest: booted" in l for l in lines)
    check(booted, "the guest's console lines reach the log")
    if not booted:
        print("  console lines from the guest:", [l for l in lines if "tiny-guest" in l][:10])
    check(any("Linux version" in l for l in lines), "kernel boot lines too")
    check("typed-42" in r.out, "a console client typed into the guest's shell")
    check("qvm-tiny-guest: powering off" in r.out, "the guest's own shutdown messages are logged")
    check(left == [], "runtime dir clean")


def case_cloud_init_mark(launcher):
    r = boot(launcher, "cloud-init", "30s", "qvm.mark")
    tl.check(r.wait_for("READY=1", timeout=120), "ready = cloud-init: READY=1 on the console mark")
    r.proc.send_signal(signal.SIGTERM)
    code, _ = r.finish(timeout=60)
    tl.check(code == 0, "stopped")


def case_ignores_acpi(launcher):
    r = boot(launcher, "ssh", "3s", "qvm.noacpi")
    tl.check(r.wait_for("READY=1", timeout=120), "ACPI-ignoring guest ready")
    t0 = time.monotonic()
    r.proc.send_signal(signal.SIGTERM)
    code, _ = r.finish(timeout=60)
    took = time.monotonic() - t0
    tl.check(code == 0 and 3 <= took <= 8, f"forced off within shutdown-timeout + 5 s (took {took:.1f}s)")
    tl.check("qvm-tiny-guest: ignoring ACPI" in r.out, "the guest really ignored ACPI")


def boot_on_disk(launcher, disk, files=None):
    """Boot the tiny guest with [image] disk = @disk; the guest's console output once it stopped."""
    kernel, initrd = tiny_guest()
    ini = INI.format(ready="ssh", stop="30s", kernel=kernel, initrd=initrd, extra="", port=free_port())
    ini += f"[image]\ndisk = {disk}\n"
    r = tl.Run(launcher, ini, "unused", files)
    tl.check(r.wait_for("READY=1", timeout=120), "guest on [image] disk ready")
    r.proc.send_signal(signal.SIGTERM)
    r.finish(timeout=60)
    return r


def case_guest_written_qcow2_header_stays_raw(launcher):
    """H3: a raw disk whose guest wrote a qcow2 header naming a backing file is still opened raw."""
    import tempfile
    with tempfile.TemporaryDirectory(prefix="qvm-h3.") as tmp:
        disk, secret, hdr = (os.path.join(tmp, n) for n in ("disk.raw", "secret.raw", "hdr.qcow2"))
        with open(disk, "wb") as f:
            f.truncate(4 << 20)                      # 8192 sectors, raw
        with open(secret, "wb") as f:
            f.truncate(64 << 20)
        r1 = boot_on_disk(launcher, disk)
        tl.check("qvm-tiny-guest: disk vda 8192 sectors" in r1.out, "first start: the raw disk as it is")
        record_path = os.path.join(r1.tmp, "state", "vm", "disk.format")
        record = open(record_path).read() if os.path.exists(record_path) else ""
        tl.check(record == "raw\n", f"first start recorded the format (got {record!r})")
        # What a guest can write onto its raw disk: a qcow2 header naming a host file as backing file.
        subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", "-b", secret, "-F", "raw", hdr, "64M"],
                       check=True)
        with open(hdr, "rb") as f, open(disk, "r+b") as d:
            d.write(f.read())
        r2 = boot_on_disk(launcher, disk, {"state/vm/disk.format": record.encode()} if record else None)
        tl.check("qvm-tiny-guest: disk vda 8192 sectors" in r2.out and "131072 sectors" not in r2.out,
                 "second start: still raw, the backing file named by the guest is not opened")


def main():
    launcher = sys.argv[1]
    for case in (case_ssh_ready_console_and_acpi_stop, case_cloud_init_mark, case_ignores_acpi,
                 case_guest_written_qcow2_header_stays_raw):
        print(f"# {case.__name__}", flush=True)
        case(launcher)
    sys.exit(1 if tl.failures else 0)


if __name__ == "__main__":
    main()
