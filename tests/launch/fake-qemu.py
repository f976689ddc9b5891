#!/usr/bin/env python3
"""fake-qemu.py - stands in for qemu-system-* in launcher tests: speaks QMP on the inherited fd 3.

Behaviour comes from $FAKE_QEMU_MODE:
  obey        prints console lines, answers QMP, powers off (exit 0) on system_powerdown
  ignore-acpi like obey, but ignores system_powerdown; exits 0 on quit
  crash       prints a line, then kills itself with SIGSEGV after 1 s
  fail        writes an error to stderr and exits 1 at once (bad option, say)
  mark        like obey, and prints the cloud-init ready mark after 1 s
  hangup      like obey, but closes the QMP connection after query-status and
              waits for the launcher to connect again
It sends an event between a command and its reply, as QEMU may.
"""
import json
import os
import select
import signal
import socket
import sys
import time

mode = os.environ.get("FAKE_QEMU_MODE", "obey")
if mode == "fail":
    sys.stderr.write("qemu-system-x86_64: -drive file=/nope: Could not open '/nope': No such file\n")
    sys.exit(1)
assert any("fd=3" in a for a in sys.argv), "expected the QMP listener on fd 3"

console = os.fdopen(1, "w", buffering=1)
console.write("fake firmware\r\n\x1b[2Jfake kernel: booting\r\n")
listener = socket.socket(fileno=3)
conn, _ = listener.accept()
f = conn.makefile("rw", buffering=1)


def send(obj):
    f.write(json.dumps(obj) + "\r\n")
    f.flush()


send({"QMP": {"version": {"qemu": {"major": 7, "minor": 2, "micro": 0}}, "capabilities": []}})
start = time.time()
marked = False
while True:
    if mode == "crash" and time.time() - start > 1:
        console.write("fake kernel: oops\n")
        os.kill(os.getpid(), signal.SIGSEGV)
    if mode == "mark" and not marked and time.time() - start > 1:
        console.write("[  1.0] cloud-init[1]: qvm-ready: cloud-init finished\n")
        marked = True
    if not select.select([conn], [], [], 0.2)[0]:
        continue
    line = f.readline()
    if not line:
        sys.exit(0)
    cmd = json.loads(line)
    name, cid = cmd["execute"], cmd.get("id")
    send({"timestamp": {"seconds": 0, "microseconds": 0}, "event": "NIC_RX_FILTER_CHANGED", "data": {}})
    if name == "query-status":
        send({"return": {"running": True, "status": "running"}, "id": cid})
        if mode == "hangup":
            mode = "obey"
            time.sleep(0.3)
            conn.close()
            listener.setblocking(True)
            conn, _ = listener.accept()
            f = conn.makefile("rw", buffering=1)
            send({"QMP": {"version": {"qemu": {"major": 7, "minor": 2, "micro": 0}}, "capabilities": []}})
    elif name == "system_powerdown":
        send({"return": {}, "id": cid})
        if mode != "ignore-acpi":
            console.write("fake guest: powering off\n")
            send({"event": "SHUTDOWN", "data": {"guest": True, "reason": "guest-shutdown"},
                  "timestamp": {"seconds": 0, "microseconds": 0}})
            sys.exit(0)
    elif name == "quit":
        send({"return": {}, "id": cid})
        sys.exit(0)
    else:
        send({"return": {}, "id": cid})
