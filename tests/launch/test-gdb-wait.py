#!/usr/bin/env python3
"""test-gdb-wait.py - gdb-wait = yes with the real qvm-launch, QEMU and gdb on the tiny guest.

Checks: READY=1 comes at once with STATUS "waiting for gdb on ADDRESS"; the guest
stays paused (its console is silent) until gdb-multiarch attaches and continues;
then it boots (its console mark appears) and STATUS says running; SIGTERM powers
it off. Both stub kinds: 127.0.0.1:PORT and the runtime dir's unix socket
(mode checked: nobody but its owner and root may connect).
"""
import os
import shutil
import signal
import socket
import stat
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import importlib

tl = importlib.import_module("test-launch")
tiny = importlib.import_module("test-launch-tiny")

INI = """[vm]
accel = tcg
memory = 256M
cpus = 1
shutdown-timeout = 5s
[boot]
kernel = {kernel}
initrd = {initrd}
append = console=ttyS0 panic=-1
[network]
mode = none
[qemu]
gdb-wait = yes
{gdb}
"""

BOOT_MARK = b"qvm-tiny-guest: booted"


def console_read(path, seconds):
    """What the console socket delivers within @seconds."""
    sock = socket.socket(socket.AF_UNIX)
    sock.connect(path)
    sock.settimeout(0.2)
    data = b""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
        except socket.timeout:
            pass
        if BOOT_MARK in data:
            break
    sock.close()
    return data


def run_case(launcher, gdb_line, target_of):
    kernel, initrd = tiny.tiny_guest()
    r = tl.Run(launcher, INI.format(kernel=kernel, initrd=initrd, gdb=gdb_line), "unused")
    t0 = time.monotonic()
    tl.check(r.wait_for("READY=1", timeout=30), "gdb-wait: READY=1 without the guest running")
    ready_after = time.monotonic() - t0
    waiting = [m for m in r.messages if m.startswith("STATUS=waiting for gdb on ")]
    tl.check(bool(waiting), f"STATUS=waiting for gdb on ADDRESS ({waiting})")
    tl.check(ready_after < 15, f"ready at once ({ready_after:.1f}s)")
    where = waiting[0][len("STATUS=waiting for gdb on "):] if waiting else ""
    run_dir = os.path.join(r.tmp, "run", "vm")
    console = os.path.join(run_dir, "console.sock")
    silent = console_read(console, 3)
    tl.check(silent == b"", f"paused: the console says nothing before gdb continues ({silent[:80]!r})")
    gdb = shutil.which("gdb-multiarch") or "gdb"
    dbg = subprocess.Popen([gdb, "-nx", "-batch", "-ex", "set confirm off", "-ex", f"target remote {target_of(where)}",
                            "-ex", "info registers rip", "-ex", "continue"],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    booted = console_read(console, 90)
    tl.check(BOOT_MARK in booted, "after gdb continues, the guest boots (its console mark)")
    r.poll_notify()
    tl.check(any(m.startswith("STATUS=running (tcg)") for m in r.messages), "STATUS=running once the debugger let go")
    dbg.send_signal(signal.SIGINT)  # gdb stops the guest and would sit at its prompt; -batch ends it
    try:
        gdb_out = dbg.communicate(timeout=20)[0]
    except subprocess.TimeoutExpired:
        dbg.kill()
        gdb_out = dbg.communicate()[0]
    tl.check("rip" in gdb_out, f"gdb read the paused CPU's registers: {gdb_out[-300:]!r}")
    r.proc.send_signal(signal.SIGTERM)
    code, left = r.finish(timeout=60)
    tl.check(code == 0, f"SIGTERM after the debugger left: stopped (ACPI or forced after 5 s), exit 0 (got {code}; {r.err[-400:]})")
    return r, where


def case_tcp(launcher):
    port = tiny.free_port()
    _, where = run_case(launcher, f"gdb = {port}", lambda w: w)
    tl.check(where == f"127.0.0.1:{port}", f"gdb = PORT listens on 127.0.0.1 only ({where})")


def case_unix(launcher):
    seen = {}

    def target(where):
        st = os.stat(where)
        seen["mode"] = stat.S_IMODE(st.st_mode)
        seen["sock"] = stat.S_ISSOCK(st.st_mode)
        return where

    r, where = run_case(launcher, "", target)
    tl.check(where == os.path.join(r.tmp, "run", "vm", "gdb.sock"), f"default stub: RUNTIME_DIR/gdb.sock ({where})")
    tl.check(seen.get("sock") and not seen["mode"] & 0o022,
             f"the stub's socket: only its owner (and root) may connect (mode {oct(seen.get('mode', 0))})")


def main():
    os.umask(0o022)  # as under systemd (UMask=0022)
    launcher = sys.argv[1]
    for case in (case_tcp, case_unix):
        print(f"# {case.__name__}", flush=True)
        case(launcher)
    sys.exit(1 if tl.failures else 0)


if __name__ == "__main__":
    main()
