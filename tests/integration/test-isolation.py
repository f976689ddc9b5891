#!/usr/bin/env python3
"""test-isolation.py - one identity per VM, under the real systemd (man qvm-security(7)).

Two tiny-guest VMs, a and b, share one base image that qvm-fetch@ downloads (as the
user qvm) from an HTTP server on the container's 127.0.0.1. While both run, a probe
enters a's QEMU (its mount namespace, its uid and groups, no capabilities) and tries
to read, write, list, connect to and signal everything of b's; each attempt must fail,
while the same probe can reach a's own disk and process (so the denials are not
vacuous). The cache must belong to qvm, be read-only to a, and no QEMU may run as qvm.
An ordinary local user (nobody, and qvm, the cache's owner) can reach neither b's
console, nor its gdb stub (gdb = unix), nor its disk, while root can (L5). Last, the
security score of the running units is at most 3.0.
"""

import hashlib
import json
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Container, log, skip_unless_possible  # noqa: E402
from scenarios import qemu_pids, tiny_vm, wait_console  # noqa: E402

MAX_EXPOSURE = 3.0

# Runs as a's QEMU identity; prints {what: "ok" | errno name} as JSON.
PROBE = r"""
import errno, json, os, socket, sys
a_disk, b_disk, b_run, b_console, b_pid, a_pid, cached = sys.argv[1:8]
res = {}
def attempt(what, fn):
    try:
        fn()
        res[what] = "ok"
    except OSError as e:
        res[what] = errno.errorcode.get(e.errno, str(e.errno))
attempt("read own disk", lambda: open(a_disk, "rb").read(4096))
attempt("signal own qemu", lambda: os.kill(int(a_pid), 0))
attempt("read b disk", lambda: open(b_disk, "rb").read(4096))
attempt("write b disk", lambda: open(b_disk, "r+b").write(b"x"))
attempt("list b runtime dir", lambda: os.listdir(b_run))
attempt("list b state dir", lambda: os.listdir(os.path.dirname(b_disk)))
def connect():
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(b_console)
attempt("connect b console", connect)
attempt("signal b qemu", lambda: os.kill(int(b_pid), 0))
attempt("see b in /proc", lambda: os.stat("/proc/%s/status" % b_pid))
attempt("write the base image", lambda: open(cached, "r+b").write(b"x"))
attempt("create in the cache", lambda: open(os.path.join(os.path.dirname(cached), "evil"), "xb"))
print(json.dumps(res))
"""


# L5: what an ordinary local user (not root, not a VM) may reach of a running VM: nothing.
# argv: the paths to try; prints {path: "ok" | errno name} as JSON.
LOCAL_PROBE = r"""
import errno, json, socket, sys
res = {}
for path in sys.argv[1:]:
    try:
        if path.endswith(".sock"):
            socket.socket(socket.AF_UNIX, socket.SOCK_STREAM).connect(path)
        else:
            open(path, "rb").read(4096)
        res[path] = "ok"
    except OSError as e:
        res[path] = errno.errorcode.get(e.errno, str(e.errno))
print(json.dumps(res))
"""


def local_user_checks(c, vm, disk):
    """L5: no console group, no readable disk, a root-only gdb stub; root itself gets through."""
    targets = [f"/run/qvm/{vm}/console.sock", f"/run/qvm/{vm}/gdb.sock", disk]
    c.write("/srv/qvm-local-probe.py", LOCAL_PROBE)
    as_root = json.loads(c.run(["python3", "/srv/qvm-local-probe.py"] + targets).stdout)
    expect(all(v == "ok" for v in as_root.values()), "root reaches b's console, gdb stub and disk", str(as_root))
    for user in ("nobody", "qvm"):
        uid = c.run(["id", "-u", user]).stdout.strip()
        gid = c.run(["id", "-g", user]).stdout.strip()
        groups = ",".join(c.run(["id", "-G", user]).stdout.split())
        r = c.run(["setpriv", f"--reuid={uid}", f"--regid={gid}", f"--groups={groups}", "--inh-caps=-all",
                   "python3", "/srv/qvm-local-probe.py"] + targets, check=False)
        res = json.loads(r.stdout)
        for path, got in res.items():
            expect(got != "ok", f"as local user {user}: {path} is refused ({got})", str(res))


def expect(cond, msg, detail=""):
    """Fail with @msg (and @detail) unless @cond."""
    if not cond:
        raise AssertionError(msg + ("\n" + detail if detail else ""))
    log(f"ok: {msg}")


def proc_ids(c, pid):
    """(uid, gid, supplementary gids) of process @pid inside the container."""
    status = c.run(["cat", f"/proc/{pid}/status"]).stdout
    uid = int(re.search(r"^Uid:\s+(\d+)", status, re.M).group(1))
    gid = int(re.search(r"^Gid:\s+(\d+)", status, re.M).group(1))
    groups = re.search(r"^Groups:\s*(.*)$", status, re.M).group(1).split()
    return uid, gid, groups


def score(c, unit):
    """systemd-analyze security's overall exposure of @unit (the running system's view)."""
    out = c.run(["systemd-analyze", "security", "--no-pager", unit], check=False).stdout
    m = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", out)
    return float(m.group(1)) if m else 99.0, out


def main():
    skip_unless_possible()
    with Container("isolation") as c:
        guest = c.tiny_guest()
        data = os.urandom(1 << 20)
        c.write("/srv/qvm-www/base.img", "")
        with open(c.path("/srv/qvm-www/base.img"), "wb") as f:
            f.write(data)
        image = (f"[image]\nsource = http://127.0.0.1:8117/base.img\n"
                 f"checksum = sha256:{hashlib.sha256(data).hexdigest()}\n")
        for vm in ("a", "b"):
            gdb = "[qemu]\ngdb = unix\n" if vm == "b" else ""
            c.write(f"/etc/qvm/{vm}.ini", tiny_vm(guest, f"isolation {vm}") + image + gdb)
        c.boot()
        c.run(["systemd-run", "--unit=qvm-test-www", "--property=DynamicUser=yes", "python3", "-m",
               "http.server", "--bind", "127.0.0.1", "--directory", "/srv/qvm-www", "8117"])
        c.wait_until("the test web server", lambda: c.run(
            ["python3", "-c", "import urllib.request as u; u.urlopen('http://127.0.0.1:8117/base.img')"],
            check=False).returncode == 0, timeout=30)
        for vm in ("a", "b"):
            c.systemctl("start", f"qvm@{vm}")
        for vm in ("a", "b"):
            wait_console(c, vm, "qvm-tiny-guest: booted")

        a_pid, b_pid = qemu_pids(c, "a")[0], qemu_pids(c, "b")[0]
        a_ids, b_ids = proc_ids(c, a_pid), proc_ids(c, b_pid)
        qvm_uid = int(c.run(["id", "-u", "qvm"]).stdout)
        expect(a_ids[0] != b_ids[0] and a_ids[1] != b_ids[1], "a and b run under different uids and gids",
               f"{a_ids} {b_ids}")
        expect(0 not in (a_ids[0], b_ids[0]) and qvm_uid not in (a_ids[0], b_ids[0]),
               "no QEMU runs as root or as qvm, the cache's owner")
        images = "/var/cache/qvm/images"
        cached = [f for f in c.run(["ls", images]).stdout.split() if f.startswith("sha256-")]
        expect(len(cached) == 1, "both VMs share one content-addressed base", str(cached))
        cached = f"{images}/{cached[0]}"
        st = c.run(["stat", "-c", "%u %a", cached]).stdout.split()
        expect(int(st[0]) == qvm_uid and st[1] == "444", "the base belongs to qvm, mode 0444", str(st))

        state = {vm: c.unit_property(f"qvm@{vm}", "StateDirectory") for vm in ("a", "b")}
        a_disk = "/var/lib/qvm/a/disk.qcow2"
        b_disk, b_run = "/var/lib/qvm/b/disk.qcow2", "/run/qvm/b"
        c.write("/srv/qvm-probe.py", PROBE)
        groups = ",".join(a_ids[2]) if a_ids[2] else ""
        probe = ["nsenter", "-t", str(a_pid), "-m", "setpriv", f"--reuid={a_ids[0]}", f"--regid={a_ids[1]}",
                 f"--groups={groups}" if groups else "--clear-groups", "--inh-caps=-all", "--bounding-set=-all",
                 "--no-new-privs", "python3", "/srv/qvm-probe.py", a_disk, b_disk, b_run,
                 f"{b_run}/console.sock", str(b_pid), str(a_pid), cached]
        # Twice: inside a's mount namespace, and with a's uid alone in the host's view (as
        # if QEMU had left its namespace): the uid by itself must be enough to keep b out.
        for where, argv in (("in a's namespace", probe), ("a's uid outside it", probe[probe.index("setpriv"):])):
            r = c.run(argv, check=False)
            expect(r.returncode == 0, f"the probe ran as a's QEMU ({where})", r.stdout + r.stderr + str(state))
            res = json.loads(r.stdout)
            log(f"probe ({where}): {res}")
            # Outside its namespace even a's own disk is out of reach (/var/lib/private is 0700
            # root), so there the probe proves itself by signalling a's own QEMU alone.
            own_disk = res["read own disk"] == "ok" or where != "in a's namespace"
            expect(own_disk and res["signal own qemu"] == "ok",
                   f"as a ({where}): a's own disk (in its namespace) and QEMU are reachable (the probe works)",
                   str(res))
            denied = ["read b disk", "write b disk", "list b runtime dir", "list b state dir",
                      "connect b console", "signal b qemu", "write the base image", "create in the cache"]
            if where == "in a's namespace":
                denied.append("see b in /proc")
            for what in denied:
                expect(res[what] != "ok", f"as a ({where}): {what} is refused ({res[what]})", str(res))

        local_user_checks(c, "b", b_disk)

        for unit in ("qvm@a.service", "qvm-fetch@a.service"):
            value, out = score(c, unit)
            expect(value <= MAX_EXPOSURE, f"systemd-analyze security {unit}: {value} <= {MAX_EXPOSURE}", out)

        for vm in ("a", "b"):
            c.systemctl("stop", f"qvm@{vm}")
        expect(not qemu_pids(c, "a") and not qemu_pids(c, "b"), "both VMs stopped")


if __name__ == "__main__":
    main()
