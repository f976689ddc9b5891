#!/usr/bin/env python3
"""test-cli.py - the qvm command against a real systemd: list, status, start/stop/restart, logs, check, new, reset.

Runs in a container of the integration harness (harness.py). Most VMs' main process
is replaced by a drop-in (Type=simple, a small program that logs "console" lines to
the journal with QVM_VM=NAME the way qvm-launch does, then sleeps), so that part
exercises qvm's sd-bus and sd-journal code exactly. Then one real VM (the tiny
guest under TCG, with the real qvm-launch): qvm start waits for ready, qvm logs
shows its boot, qvm console types into its shell, qvm stop powers it off.
"""

import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Container, log, skip_unless_possible  # noqa: E402
from scenarios import tiny_vm  # noqa: E402

BOOT = "[vm]\naccel = tcg\nmemory = 256M\n[boot]\nkernel = /boot/vmlinuz-test\n"

# Stand-in main process: three console lines into the journal with QVM_VM=NAME, then wait.
FAKE_LAUNCH_SCRIPT = """#!/usr/bin/python3
import os, socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
for i in (1, 2, 3):
    s.sendto(b"MESSAGE=console %d\\nQVM_VM=%s\\n" % (i, sys.argv[1].encode()), "/run/systemd/journal/socket")
s.sendto(b"STATUS=fake launcher of %s" % sys.argv[1].encode(), os.environ["NOTIFY_SOCKET"])
time.sleep(100000)
"""
FAKE_LAUNCH = "[Service]\nType=simple\nExecStart=\nExecStart=/usr/local/bin/fake-launch %i\n"
FAILING = "[Service]\nExecStart=\nExecStart=/bin/false\nRestart=no\n"  # Type=notify: exits before READY


def expect(cond, msg, detail=""):
    """Fail with @msg (and @detail) unless @cond."""
    if not cond:
        raise AssertionError(msg + ("\n" + detail if detail else ""))
    log(f"ok: {msg}")


def qvm(c, *args, rc=0):
    """Run qvm inside; assert its exit status; return the CompletedProcess."""
    r = c.run(["qvm", *args], check=False)
    expect(r.returncode == rc, f"qvm {' '.join(args)} exits {rc}", f"got {r.returncode}\n{r.stdout}{r.stderr}")
    return r


def states(c):
    """name -> state from qvm list --json."""
    return {v["name"]: v["state"] for v in json.loads(qvm(c, "list", "--json").stdout)}


def main():
    skip_unless_possible()
    with Container("cli") as c:
        c.write("/etc/qvm/web.ini", BOOT + "[network]\nssh = 2240\n")
        c.write("/etc/qvm/broken.ini", BOOT)
        c.write("/usr/local/bin/fake-launch", FAKE_LAUNCH_SCRIPT, mode=0o755)
        c.write("/etc/systemd/system/qvm@web.service.d/fake.conf", FAKE_LAUNCH)
        c.write("/etc/systemd/system/qvm@broken.service.d/fake.conf", FAILING)
        c.boot()

        expect(states(c) == {"web": "inactive", "broken": "inactive"}, "list: both VMs inactive")
        r = qvm(c, "start", "web")
        expect(r.stdout.strip() == "start qvm@web.service: done", "start prints the job result", r.stdout)
        expect(states(c)["web"] == "active", "list: web active after start")
        c.wait_until("STATUS= in qvm list --json", lambda: {v["name"]: v["status"] for v in json.loads(
            qvm(c, "list", "--json").stdout)}.get("web") == "fake launcher of web", timeout=30)
        log("ok: list --json: web's STATUS= text")
        expect(c.unit_property("qvm@web.service", "ActiveState") == "active", "systemd agrees")

        c.wait_until("console lines in the journal",
                     lambda: "console 3" in c.run(["journalctl", "QVM_VM=web"], check=False).stdout)
        expect(qvm(c, "logs", "web").stdout == "console 1\nconsole 2\nconsole 3\n", "logs: the console")
        expect(qvm(c, "logs", "-n", "1", "web").stdout == "console 3\n", "logs -n 1: the last line")
        st = qvm(c, "status", "-n", "2", "web").stdout
        expect("Unit: qvm@web.service: active (running)" in st, "status: unit state", st)
        expect(st.endswith("console 2\nconsole 3\n"), "status: last console lines", st)
        expect("127.0.0.1:2240" in qvm(c, "list").stdout, "list: ssh endpoint")

        r = qvm(c, "reset", "web", rc=1)
        expect("stop it first" in r.stderr, "reset refused while the VM runs", r.stderr)

        r = qvm(c, "restart", "web")
        expect("restart qvm@web.service: done" in r.stdout, "restart waits for done")
        r = qvm(c, "stop", "web")
        expect(r.stdout.strip() == "stop qvm@web.service: done", "stop prints the job result")
        expect(states(c)["web"] == "inactive", "list: web inactive after stop")

        r = qvm(c, "start", "broken", rc=1)
        expect("start qvm@broken.service: failed" in r.stdout, "a failing start says failed", r.stdout)
        expect(states(c)["broken"] == "failed", "list: broken failed")

        qvm(c, "check")
        c.write("/etc/qvm/clash.ini", BOOT + "[network]\nssh = 2240\n")
        r = qvm(c, "check", rc=1)
        expect("is also forwarded by VM" in r.stdout, "check: port clash", r.stdout)
        c.remove("/etc/qvm/clash.ini")

        c.write("/srv/base.qcow2", "not really an image")
        r = qvm(c, "new", "fresh", "--image", "/srv/base.qcow2")
        expect("Reloaded systemd" in r.stdout, "new: daemon-reload over the bus", r.stdout)
        dropins = c.unit_property("qvm@fresh.service", "DropInPaths")
        expect("/run/systemd/generator/qvm@fresh.service.d/50-qvm.conf" in dropins,
               "new: the generator ran for the new VM", dropins)
        expect(states(c)["fresh"] == "inactive", "list: the new VM")
        qvm(c, "new", "fresh", rc=1)

        real_vm(c)
    return 0


def real_vm(c):
    """The real launcher and QEMU: start waits for READY, logs, console, stop."""
    c.write("/etc/qvm/real.ini", tiny_vm(c.tiny_guest(), "real tiny guest", ssh=2242)
            + "[qemu]\nmonitor-group = vmadmins\n[disk:data]\nsize = 16M\n")
    c.run(["groupadd", "-f", "vmadmins"])
    c.run(["useradd", "-G", "vmadmins", "alice"])
    c.run(["useradd", "bob"])
    c.systemctl("daemon-reload")
    r = qvm(c, "start", "real")
    expect(r.stdout.strip() == "start qvm@real.service: done", "start of a real VM: done once ready")
    c.wait_until("the guest's boot in qvm logs", lambda: "qvm-tiny-guest: booted" in qvm(c, "logs", "real").stdout,
                 timeout=120, interval=1)
    st = qvm(c, "status", "real").stdout
    expect("active (running)" in st and "Status: " in st, "status: running, with the launcher's STATUS=", st)
    # Type into the guest's shell through the console socket, then detach with Ctrl-].
    r = c.run(["qvm", "console", "real"], input="\necho qvm-cli-marker-$((6*7))\n\x1d", check=False)
    expect(r.returncode == 0 and "Detached" in r.stderr, "console: attach and detach", r.stdout + r.stderr)
    c.wait_until("the console command's output in qvm logs",
                 lambda: "qvm-cli-marker-42" in qvm(c, "logs", "real").stdout, timeout=60, interval=1)
    monitor_checks(c)
    # a monitor client that stays connected must not hold up the launcher's stop
    c.sh("setsid sh -c 'sleep 120 | qvm qmp real' </dev/null >/dev/null 2>&1 &")
    c.wait_until("an idle monitor client is connected",
                 lambda: "qvm qmp real" in c.run(["ps", "-eo", "args"]).stdout.splitlines(), timeout=10)
    t0 = time.monotonic()
    r = qvm(c, "stop", "real", )
    expect(r.stdout.strip() == "stop qvm@real.service: done", "stop of a real VM: done")
    expect(time.monotonic() - t0 < 30, "a connected monitor client does not hold up the stop")
    c.wait_until("the idle client saw QEMU go (it was connected until the stop)",
                 lambda: "qvm qmp real" not in c.run(["ps", "-eo", "args"]).stdout.splitlines(), timeout=10)
    machinectl_checks(c)
    c.wait_until("power-off in the logs",
                 lambda: "qvm-tiny-guest: powering off" in qvm(c, "logs", "real").stdout, timeout=30)


def machinectl_checks(c):
    """machined knows the running VM (class vm, leader, unit) and powers it off through ACPI."""
    qvm(c, "start", "real")
    r = c.run(["machinectl", "list", "--no-legend"], check=False)
    expect(any(l.split()[:3] == ["real", "vm", "qvm"] for l in r.stdout.splitlines()),
           "machinectl list shows the VM (class vm, service qvm)", r.stdout + r.stderr)
    launcher = c.unit_property("qvm@real.service", "MainPID")
    r = c.run(["machinectl", "status", "real", "--no-pager"], check=False)
    expect(f"Leader: {launcher}" in r.stdout and "qvm@real.service" in r.stdout and "qemu-system" in r.stdout,
           "machinectl status: leader, unit and its cgroup with QEMU", r.stdout + r.stderr)
    c.run(["machinectl", "poweroff", "real"])
    c.wait_until("the unit is inactive after machinectl poweroff",
                 lambda: c.unit_property("qvm@real.service", "ActiveState") == "inactive", timeout=60)
    log = c.journal("-u", "qvm@real.service")
    expect("machinectl poweroff" in log and "ACPI power button" in log, "poweroff pressed the ACPI button", log[-1500:])
    expect(log.count("qvm-tiny-guest: powering off") >= 2, "the guest powered itself off", log[-1500:])
    r = c.run(["machinectl", "list", "--no-legend"], check=False)
    expect("real" not in r.stdout, "unregistered at stop", r.stdout)


def monitor_checks(c):
    """qvm monitor/qmp against the real unit: disks, status, raw QMP, and the monitor-group access rule."""
    r = qvm(c, "monitor", "real", "info block")
    expect("data0" in r.stdout and "/var/lib/qvm/real/data.qcow2" in r.stdout, "monitor 'info block' lists the disk",
           r.stdout)
    expect("running" in qvm(c, "monitor", "real", "info status").stdout, "monitor 'info status' says running")
    r = c.run(["qvm", "qmp", "real"], input='{"execute":"qmp_capabilities"}\n{"execute":"query-status"}\n',
              check=False)
    expect(r.returncode == 0 and '"running": true' in r.stdout, "qmp: raw QMP for scripts", r.stdout + r.stderr)
    st = c.run(["stat", "-c", "%a %G", "/run/qvm/real/monitor.sock"]).stdout.split()
    expect(st == ["660", "vmadmins"], "monitor-group: the socket is 0660 and group vmadmins", str(st))
    r = c.run(["runuser", "-u", "alice", "--", "qvm", "monitor", "real", "info status"], check=False)
    expect(r.returncode == 0 and "running" in r.stdout, "a member of monitor-group may use the monitor",
           r.stdout + r.stderr)
    r = c.run(["runuser", "-u", "bob", "--", "qvm", "monitor", "real", "info status"], check=False)
    expect(r.returncode == 1 and "permission denied" in r.stderr, "anyone else may not", r.stdout + r.stderr)


if __name__ == "__main__":
    sys.exit(main())
