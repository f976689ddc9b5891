#!/usr/bin/env python3
"""scenarios.py - qvm under a real systemd: one scenario per meson test (suite 'integration').

Usage: scenarios.py SCENARIO     (run as root; exits 77 when no container can be booted)
       scenarios.py --list
Each scenario boots its own container (harness.py), asserts through the real
systemctl/journalctl inside it, and prints the journal when an assertion fails.
"""

import json
import os
import re
import shutil
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Container, HarnessError, install_path, log, skip_unless_possible  # noqa: E402


class ScenarioFailed(AssertionError):
    """An assertion about qvm's behaviour failed."""


def expect(cond, msg, detail=""):
    """Fail the scenario with @msg (and @detail) unless @cond."""
    if not cond:
        raise ScenarioFailed(msg + ("\n" + detail if detail else ""))
    log(f"ok: {msg}")


def dependencies(c, unit, *extra):
    """Units in `systemctl list-dependencies --plain @unit`, as a set of names."""
    out = c.systemctl("list-dependencies", "--plain", "--no-legend", *extra, unit).stdout
    return {line.strip() for line in out.splitlines() if line.strip()}


def dropins(c, unit):
    """The drop-in paths systemd loaded for @unit."""
    return c.unit_property(unit, "DropInPaths").split()


GENERATED = "/run/systemd/generator/qvm@{}.service.d/50-qvm.conf"

# A VM the generator accepts; nothing in these scenarios starts it.
RELOAD_VM = """\
[vm]
description = reload test VM
autostart = yes
accel = tcg
memory = 128M
[boot]
kernel = /boot/vmlinuz-test
"""


def scenario_generator_reload(c):
    """a. daemon-reload runs the generator: template + drop-in, autostart wiring, removal."""
    c.boot()
    template = install_path("qvm@.service", c.build)
    expect(GENERATED.format("vm1") not in dropins(c, "qvm@vm1.service"),
           "before the INI exists there is no generated drop-in")

    c.write("/etc/qvm/vm1.ini", RELOAD_VM)
    c.systemctl("daemon-reload")
    cat = c.systemctl("cat", "qvm@vm1.service").stdout
    expect(f"# {template}\n" in cat, "systemctl cat shows the shipped template", cat)
    expect(f"# {GENERATED.format('vm1')}\n" in cat, "systemctl cat shows the generated drop-in", cat)
    expect("SourcePath=/etc/qvm/vm1.ini" in cat and "Description=reload test VM" in cat,
           "the drop-in carries the VM's own settings", cat)
    expect(c.unit_property("qvm@vm1.service", "Description") == "reload test VM",
           "systemd applied the drop-in (Description=)")
    expect("qvm@vm1.service" in dependencies(c, "machines.target"),
           "autostart: machines.target wants qvm@vm1.service")
    expect("machines.target" in dependencies(c, "multi-user.target"),
           "autostart: multi-user.target wants machines.target")
    rdeps = dependencies(c, "qvm@vm1.service", "--reverse")
    expect({"machines.target", "multi-user.target"} <= rdeps,
           "list-dependencies --reverse shows the chain up to multi-user.target", str(rdeps))

    c.write("/etc/qvm/vm1.ini", RELOAD_VM.replace("autostart = yes", "autostart = no")
            .replace("reload test VM", "edited VM"))
    c.systemctl("daemon-reload")
    expect(c.unit_property("qvm@vm1.service", "Description") == "edited VM",
           "an edited INI takes effect on the next daemon-reload")
    expect("qvm@vm1.service" not in dependencies(c, "machines.target"),
           "autostart = no drops the machines.target wiring")

    c.remove("/etc/qvm/vm1.ini")
    c.systemctl("daemon-reload")
    expect(GENERATED.format("vm1") not in dropins(c, "qvm@vm1.service"),
           "a removed INI leaves no drop-in after daemon-reload")
    expect(c.run(["systemctl", "is-system-running"], check=False).stdout.strip() == "running",
           "the system is still running, not degraded")


# A config with four errors on known lines (the same as golden 06-broken-beside-good).
BROKEN_VM = """\
[vm]
memroy = 2G
cpus = lots
[netwrk]
ssh = 2222
[image]
source = https://example.org/disk.qcow2
"""



# ---- scenarios with a running VM (the tiny guest from tests/lib/tiny-guest.sh) ----

BOOTED = "qvm-tiny-guest: booted"
POWERING_OFF = "qvm-tiny-guest: powering off"
# systemd's catalog ids for a unit's stop job and its clean end.
MSG_STOPPING = "de5b426a63be47a7b6ac3eaac82e2f6f"
MSG_STOPPED = "9d1aaa27d60140bd96365438aad20286"
MSG_SUCCESS = "7ad2d189f7e94e70a38c781354912448"


def tiny_vm(guest, description, autostart=False, ssh=None, after=None, restart=None, mode=None):
    """INI text for a small TCG VM booting the tiny guest."""
    kernel, initrd = guest
    vm = [f"description = {description}", "accel = tcg", "cpus = 1", "memory = 256M",
          "shutdown-timeout = 30s"]
    if autostart:
        vm.append("autostart = yes")
    if after:
        vm.append(f"after = {after}")
    if restart:
        vm.append(f"restart = {restart}")
    net = [f"mode = {mode or ('user' if ssh else 'none')}"]
    if mode == "tap":
        net.append("bridge = qvmbr0")
    if ssh:
        net.append(f"ssh = {ssh}")
    return ("[vm]\n" + "\n".join(vm) + "\n[network]\n" + "\n".join(net)
            + f"\n[boot]\nkernel = {kernel}\ninitrd = {initrd}\nappend = console=ttyS0 panic=-1\n")


def unit_log(c, vm, *extra):
    """The journal of qvm@@vm (this boot)."""
    return c.journal("-u", f"qvm@{vm}.service", *extra)


def wait_console(c, vm, marker, timeout=120, count=1):
    """Wait until the guest of @vm printed @marker into the journal (@count times)."""
    c.wait_until(f"'{marker}' x{count} in journalctl -u qvm@{vm}",
                 lambda: unit_log(c, vm).count(marker) >= count, timeout=timeout, interval=1)


def qemu_pids(c, vm):
    """PIDs of QEMU processes in qvm@@vm's cgroup."""
    out = c.sh("for p in $(pgrep -x 'qemu-system-.*'); do "
               f"grep -qF '/qvm@{vm}.service' /proc/$p/cgroup 2>/dev/null && echo $p; done; true").stdout
    return [int(p) for p in out.split()]


def ssh_banner(c, port, tries=10):
    """The first line a TCP connection to 127.0.0.1:@port inside the container reads ('' if none)."""
    for _ in range(tries):
        line = c.run(["timeout", "5", "bash", "-c", f"exec 3<>/dev/tcp/127.0.0.1/{port} && head -n1 <&3"],
                     check=False).stdout.strip()
        if line:
            return line
        time.sleep(1)
    return ""


def mono(c, unit, prop):
    """A monotonic timestamp property of @unit, in microseconds."""
    return int(c.unit_property(unit, prop) or 0)


def scenario_hidden_paths(c):
    """Files under /var/tmp, /root and /tmp, hidden by PrivateTmp=/ProtectHome=, reach the VM.

    The kernel lives in "/var/tmp/a b:c%d" (a blank, a colon and a '%' to escape), the initrd in
    /root, a data disk in /tmp: the generator binds each file into the service and the guest boots
    with all three.
    """
    kernel, initrd = c.tiny_guest()
    hidden_kernel, hidden_initrd = "/var/tmp/a b:c%d/vmlinuz", "/root/qvm-tiny/initrd.img"
    disk = "/tmp/qvm-disks/data.qcow2"
    for src, dest in ((kernel, hidden_kernel), (initrd, hidden_initrd)):
        os.makedirs(os.path.dirname(c.path(dest)), exist_ok=True)
        shutil.copyfile(c.path(src), c.path(dest))
    ini = tiny_vm((hidden_kernel, hidden_initrd), "VM with hidden files")
    c.write("/etc/qvm/hidden.ini", ini + f"[disk:data]\nsize = 64M\npath = {disk}\n")
    c.boot()
    c.run(["mkdir", "-p", os.path.dirname(disk)])
    c.run(["qemu-img", "create", "-q", "-f", "qcow2", disk, "64M"])
    c.run(["chown", "qvm:qvm", disk])
    c.systemctl("daemon-reload")
    dropin = c.run(["systemctl", "cat", "qvm@hidden.service"]).stdout
    expect('BindReadOnlyPaths="-/var/tmp/a b:c%%d/vmlinuz"' in dropin,
           "the kernel under /var/tmp is bound read-only, quoted, '%' doubled", dropin)
    expect('BindReadOnlyPaths="-/root/qvm-tiny/initrd.img"' in dropin, "the initrd under /root is bound", dropin)
    expect("ProtectHome=tmpfs" in dropin, "/root is reached through a tmpfs", dropin)
    expect(f'BindPaths="-{disk}"' in dropin, "the data disk under /tmp is bound writable", dropin)
    c.systemctl("start", "qvm@hidden.service")
    wait_console(c, "hidden", BOOTED)
    pids = qemu_pids(c, "hidden")
    expect(pids, "QEMU runs")
    cmdline = c.run(["cat", f"/proc/{pids[0]}/cmdline"]).stdout.replace("\0", " ")
    expect(disk in cmdline and "a b:c%d/vmlinuz" in cmdline, "QEMU got the hidden kernel and disk", cmdline)
    c.systemctl("stop", "qvm@hidden.service")


def scenario_broken_ini(c):
    """b. A broken INI beside a good one: errors with file:line in the journal, good VM loads;
    the rejected VM does not start on the bare template; an INI edited without daemon-reload
    stops the start with the reload hint."""
    # The container's kernel log is the host's: a name of our own tells our lines apart.
    bad = f"broken{os.getpid()}"
    c.write(f"/etc/qvm/{bad}.ini", BROKEN_VM)
    c.write("/etc/qvm/good.ini", tiny_vm(c.tiny_guest(), "the good VM"))
    c.boot()   # fails if the system is degraded
    kernel_log = c.journal("-k")
    for line, text in [(2, "unknown key 'memroy' in [vm]"), (3, "invalid number 'lots' for cpus"),
                       (4, "unknown section [netwrk]"), (7, "a downloaded image must be verified")]:
        expect(f"qvm-generator[" in kernel_log and f"/etc/qvm/{bad}.ini:{line}: {text}" in kernel_log,
               f"the journal (kernel log) has {bad}.ini:{line}: {text}")
    expect(f"/etc/qvm/{bad}.ini: not generating VM {bad}" in kernel_log,
           "the journal says the broken VM was skipped")
    expect(GENERATED.format(bad) not in dropins(c, f"qvm@{bad}.service"),
           "no drop-in was generated for the broken VM")
    expect(GENERATED.format("good") in dropins(c, "qvm@good.service"),
           "the good VM's drop-in was generated")
    expect(c.unit_property("qvm@good.service", "LoadState") == "loaded"
           and c.unit_property("qvm@good.service", "Description") == "the good VM",
           "the good VM's unit is loaded with its settings")
    c.systemctl("start", "qvm@good.service", timeout=300)
    expect(c.unit_property("qvm@good.service", "ActiveState") == "active", "the good VM starts")
    wait_console(c, "good", BOOTED)

    # The generator rejected the broken VM: starting it runs the shipped template, whose
    # helpers stop before anything is prepared, and QEMU never starts.
    r = c.run(["systemctl", "start", f"qvm@{bad}.service"], check=False, timeout=120)
    expect(r.returncode != 0, "starting the VM the generator rejected fails")
    text = unit_log(c, bad, "-o", "cat")
    expect(f"VM {bad} has no generated units" in text and "daemon-reload" in text,
           "its journal says the generator rejected it and how to go on", text[-2000:])
    expect(not qemu_pids(c, bad) and "qvm-launch[" not in unit_log(c, bad),
           "no QEMU was started for the rejected VM")

    # An INI edited without daemon-reload: the next start stops with the hint, before QEMU.
    c.write("/etc/qvm/good.ini", tiny_vm(c.tiny_guest(), "the good VM, edited"))
    r = c.run(["systemctl", "restart", "qvm@good.service"], check=False, timeout=120)
    expect(r.returncode != 0 and c.unit_property("qvm@good.service", "ActiveState") != "active",
           "restarting a VM whose INI changed since the last daemon-reload fails")
    text = unit_log(c, "good", "-o", "cat")
    expect("configuration changed: run systemctl daemon-reload" in text,
           "the journal says: configuration changed: run systemctl daemon-reload", text[-2000:])
    # The rejected VM has no drop-in, so its start pulled no fetch unit: nothing of it ran.
    expect(c.unit_property(f"qvm-fetch@{bad}.service", "ActiveState") == "inactive"
           and c.unit_property(f"qvm-fetch@{bad}.service", "InactiveExitTimestampMonotonic") == "0",
           "the rejected VM's start ran no fetch unit")
    c.systemctl("reset-failed", "qvm@good.service", f"qvm@{bad}.service")
    c.systemctl("daemon-reload")
    c.systemctl("start", "qvm@good.service", timeout=300)
    expect(c.unit_property("qvm@good.service", "ActiveState") == "active"
           and c.unit_property("qvm@good.service", "Description") == "the good VM, edited",
           "after daemon-reload the edited VM starts")
    expect(c.run(["systemctl", "is-system-running"], check=False).stdout.strip() == "running",
           "the system is running, not degraded, after boot and another daemon-reload")

def scenario_autostart(c):
    """c. An autostart VM is running after boot with no systemctl start; the other one is not."""
    guest = c.tiny_guest()
    c.write("/etc/qvm/auto.ini", tiny_vm(guest, "autostarted VM", autostart=True))
    c.write("/etc/qvm/manual.ini", tiny_vm(guest, "manual VM"))
    c.boot()   # waits for the boot transaction, which includes qvm@auto's start job
    expect(c.unit_property("qvm@auto.service", "ActiveState") == "active",
           "qvm@auto is active after boot")
    expect(c.unit_property("qvm@manual.service", "ActiveState") == "inactive",
           "qvm@manual (autostart = no) was not started")
    expect(len(qemu_pids(c, "auto")) == 1, "one QEMU runs in qvm@auto's cgroup")
    wait_console(c, "auto", BOOTED)
    log("ok: the guest's console shows it booted")
    starts = c.journal("_PID=1", "-u", "qvm@auto.service", "-o", "cat")
    expect("Starting qvm@auto.service" in starts, "systemd started it as part of the boot", starts)


def scenario_ordering(c):
    """f. VM b with after = a starts only once a is ready (ready = ssh), both autostarted at boot.

    After= orders jobs that are queued together, as they are in the boot transaction.
    """
    guest = c.tiny_guest()
    # b sorts first, so without the ordering systemd would be free to start it first.
    c.write("/etc/qvm/b.ini", tiny_vm(guest, "second VM", ssh=2202, after="a", autostart=True))
    c.write("/etc/qvm/a.ini", tiny_vm(guest, "first VM", ssh=2201, autostart=True))
    c.boot()
    expect("qvm@a.service" in c.unit_property("qvm@b.service", "After").split(),
           "qvm@b is ordered After=qvm@a")
    for vm in ("a", "b"):
        expect(c.unit_property(f"qvm@{vm}.service", "ActiveState") == "active",
               f"qvm@{vm} is active after boot")
    a_ready = mono(c, "qvm@a.service", "ActiveEnterTimestampMonotonic")
    a_begin = mono(c, "qvm@a.service", "InactiveExitTimestampMonotonic")
    b_begin = mono(c, "qvm@b.service", "InactiveExitTimestampMonotonic")
    expect(a_ready > a_begin > 0, f"qvm@a took {(a_ready - a_begin) / 1e6:.2f}s to become ready")
    expect(b_begin >= a_ready,
           f"qvm@b began starting {(b_begin - a_ready) / 1e6:.2f}s after qvm@a became ready")
    expect(ssh_banner(c, 2201).startswith("SSH-2.0-"), "qvm@a answers ssh on 127.0.0.1:2201")


def journal_entries(text):
    """Parse `journalctl -o json` output."""
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def scenario_poweroff(c):
    """g. Powering off the host stops every running VM gracefully, in parallel."""
    guest = c.tiny_guest()
    vms = ["p1", "p2", "p3"]
    for vm in vms:
        c.write(f"/etc/qvm/{vm}.ini", tiny_vm(guest, f"poweroff test {vm}", autostart=True))
    c.boot()
    for vm in vms:
        wait_console(c, vm, BOOTED)
    took = c.poweroff(timeout=120)
    log(f"container powered off in {took:.1f}s")
    stopped_gracefully_in_parallel(c, vms)


def stopped_gracefully_in_parallel(c, vms):
    """After the container's poweroff: every VM of @vms powered off through ACPI and its
    unit deactivated successfully, with all stop jobs overlapping.

    Return: {vm: (stop job began, stop job ended)} in monotonic microseconds.
    """
    entries = journal_entries(c.host_journal("-o", "json"))
    spans = {}
    for vm in vms:
        unit = f"qvm@{vm}.service"
        mine = [e for e in entries if unit in (e.get("_SYSTEMD_UNIT"), e.get("UNIT"))]
        console = "\n".join(str(e.get("MESSAGE")) for e in mine if e.get("_SYSTEMD_UNIT") == unit)
        expect(POWERING_OFF in console, f"{vm}: the guest itself powered off (ACPI)")
        ids = {e.get("MESSAGE_ID"): int(e["__MONOTONIC_TIMESTAMP"]) for e in mine
               if e.get("UNIT") == unit}
        expect(MSG_STOPPING in ids and MSG_STOPPED in ids, f"{vm}: systemd logged its stop job")
        expect(MSG_SUCCESS in ids, f"{vm}: the unit deactivated successfully (no kill, no timeout)")
        expect(not any(m in console for m in ("did not power off", "quitting QEMU", "QEMU killed")),
               f"{vm}: powered off by the guest, not quit or killed by qvm-launch", console[-2000:])
        spans[vm] = (ids[MSG_STOPPING], ids[MSG_STOPPED])
    latest_start = max(b for b, _ in spans.values())
    earliest_end = min(e for _, e in spans.values())
    expect(latest_start < earliest_end,
           "the VMs were stopped in parallel (all stop jobs overlap)", str(spans))
    return spans



STORM_VMS = 8


def scenario_boot_storm(c):
    """i. A host boots with 8 autostart VMs (ready = ssh) on a host with fewer CPUs: boot-limit
    (default: the CPU count) lets only that many boot at once, the rest wait without their
    start timeout running, all 8 become active with no failure or restart; the host's
    poweroff then stops all of them through ACPI, in parallel, within the shutdown-timeout."""
    guest = c.tiny_guest()
    vms = [f"s{i}" for i in range(1, STORM_VMS + 1)]
    for i, vm in enumerate(vms):
        # start-timeout far below the whole storm's length: waiting for a slot must not count
        c.write(f"/etc/qvm/{vm}.ini", tiny_vm(guest, f"storm {vm}", autostart=True, ssh=2300 + i)
                .replace("memory = 256M", "memory = 128M\nstart-timeout = 90s"))
    c.boot(timeout=600)
    cpus = int(c.run(["nproc"]).stdout)
    limit = min(cpus, 1024)
    intervals, waited = [], 0
    for vm in vms:
        unit = f"qvm@{vm}.service"
        expect(c.unit_property(unit, "ActiveState") == "active", f"{vm} is active after boot")
        expect(c.unit_property(unit, "NRestarts") == "0", f"{vm} was not restarted (no start failure)")
        entries = journal_entries(c.journal("-u", unit, "-o", "json"))
        msgs = [(int(e["__MONOTONIC_TIMESTAMP"]), str(e.get("MESSAGE"))) for e in entries]
        taken = [(t, m) for t, m in msgs if re.match(r"boot slot \d+ of \d+ taken", m)]
        ready = [t for t, m in msgs if m.startswith("guest is ready")]
        expect(len(taken) == 1 and len(ready) == 1, f"{vm} took one boot slot and became ready once",
               "\n".join(m for _, m in msgs[-40:]))
        slot, of = map(int, re.match(r"boot slot (\d+) of (\d+)", taken[0][1]).groups())
        expect(of == limit and slot < limit, f"{vm} booted in slot {slot} of {of} (the host's {cpus} CPUs)")
        waited += any(m.startswith("waiting for a boot slot") for _, m in msgs)
        intervals.append((taken[0][0], ready[0]))
    # The most VMs booting at once (slot taken .. ready); a slot handed on within 50 ms
    # of its release is not an overlap (two journal streams, stamped as they are read).
    events = sorted([(b + 50000, 1) for b, _ in intervals] + [(e, -1) for _, e in intervals])
    most = running = 0
    for _, d in events:
        running += d
        most = max(most, running)
    expect(most <= limit, f"at most {limit} VMs booted at once ({most})", str(intervals))
    if limit < STORM_VMS:
        expect(waited >= 1, f"{waited} VMs waited for a boot slot")
    expect(ssh_banner(c, 2300).startswith("SSH-2.0-"), "the first VM answers ssh")
    took = c.poweroff(timeout=120)
    log(f"container powered off in {took:.1f}s")
    spans = stopped_gracefully_in_parallel(c, vms)
    whole = (max(e for _, e in spans.values()) - min(b for b, _ in spans.values())) / 1e6
    expect(whole < 30, f"all {STORM_VMS} stopped within the shutdown-timeout of 30s ({whole:.1f}s)")


def scenario_qemu_crash(c):
    """h. kill -9 of QEMU: the unit fails with a clear message, restarts per policy, leaves nothing."""
    guest = c.tiny_guest()
    c.write("/etc/qvm/crash.ini", tiny_vm(guest, "restarting VM"))
    # On a tap of its own (qvm-net up/down), so the crash must not leave the tap behind.
    c.write("/etc/qvm/once.ini", tiny_vm(guest, "VM that is not restarted", restart="no", mode="tap"))
    c.boot()
    c.systemctl("start", "qvm@crash.service", "qvm@once.service", timeout=600)
    for vm in ("crash", "once"):
        wait_console(c, vm, BOOTED)

    [qemu] = qemu_pids(c, "crash")
    c.run(["kill", "-9", str(qemu)])
    c.wait_until("qvm@crash to restart", lambda: int(c.unit_property("qvm@crash.service", "NRestarts"))
                 >= 1 and c.unit_property("qvm@crash.service", "ActiveState") == "active", timeout=120)
    new = qemu_pids(c, "crash")
    expect(len(new) == 1 and new[0] != qemu, "restart = on-failure: a new QEMU runs after the crash")
    text = unit_log(c, "crash", "-t", "qvm-launch", "-o", "cat")
    expect(re.search(r"QEMU.*(signal 9|SIGKILL|[Kk]illed)", text) is not None,
           "qvm-launch says in the journal that QEMU was killed", text[-3000:])
    wait_console(c, "crash", BOOTED, count=2)

    taps = c.run(["ip", "-o", "link", "show", "type", "tun"]).stdout
    expect(taps.count(": ") >= 1, "qvm@once runs on a tap device", taps)
    [qemu] = qemu_pids(c, "once")
    c.run(["kill", "-9", str(qemu)])
    c.wait_until("qvm@once to fail", lambda: c.unit_property("qvm@once.service", "ActiveState")
                 == "failed", timeout=60)
    expect(c.unit_property("qvm@once.service", "NRestarts") == "0", "restart = no: not restarted")
    text = unit_log(c, "once", "-t", "qvm-launch", "-o", "cat")
    expect(re.search(r"QEMU.*(signal 9|SIGKILL|[Kk]illed)", text) is not None,
           "qvm-launch says in the journal that QEMU was killed", text[-3000:])
    expect(qemu_pids(c, "once") == [], "no QEMU of qvm@once is left")
    left = c.sh("find /run/qvm/once -type s 2>/dev/null; ip -o link show type tun; true").stdout
    expect(left.strip() == "", "no socket or tap device is left behind", left)


# ---- the full Debian cloud-init guest (tests/lib/guest-image.sh) ----

DEB_PORT = 2222


def deb_vm(image, pubkey):
    """INI text for the Debian guest: cloud-init user with our key, ready = ssh."""
    return f"""[vm]
description = Debian cloud-init guest
accel = tcg
cpus = 2
memory = 1G
ready = ssh
start-timeout = 10min
shutdown-timeout = 2min
[image]
source = {image}
size = 4G
[cloud-init]
hostname = deb
user = dev
ssh-authorized-key = {pubkey}
[network]
ssh = {DEB_PORT}
"""


def scenario_full_guest(c):
    """d + e: systemctl start returns when ssh works; data survives a graceful stop/start;
    and the container's poweroff stops the running guest gracefully (one booted guest for all)."""
    image = c.guest_image()
    c.boot()
    key, pubkey = c.ssh_keygen()
    c.write("/etc/qvm/deb.ini", deb_vm(image, pubkey))
    c.systemctl("daemon-reload")

    # d. Full guest.
    t0 = time.monotonic()
    c.systemctl("start", "qvm@deb.service", timeout=900)
    log(f"systemctl start qvm@deb returned after {time.monotonic() - t0:.1f}s")
    r = c.ssh(key, DEB_PORT, "true", check=False)
    expect(r.returncode == 0, "right after systemctl start returns, ssh dev@127.0.0.1 true works",
           r.stderr)
    expect(c.ssh(key, DEB_PORT, "hostname").stdout.strip() == "deb", "cloud-init set the hostname")
    text = unit_log(c, "deb")
    expect("Linux version" in text, "journalctl -u qvm@deb shows the guest kernel booting")
    expect(re.search(r"cloud-init\[\d+\]|Cloud-init v\.", text) is not None,
           "journalctl -u qvm@deb shows cloud-init's console lines")
    status = c.unit_property("qvm@deb.service", "StatusText")
    expect(status != "", f"systemctl status shows a STATUS: {status!r}")
    shown = c.systemctl("status", "qvm@deb.service", check=False).stdout
    expect(f"Status: \"{status}\"" in shown, "systemctl status prints it", shown)

    # e. Data survives a graceful stop and a start.
    c.ssh(key, DEB_PORT, "echo qvm-data-$((6*7)) > ~/marker && sync")
    since = c.run(["date", "+%Y-%m-%d %H:%M:%S"]).stdout.strip()
    t0 = time.monotonic()
    c.systemctl("stop", "qvm@deb.service", timeout=300)
    log(f"systemctl stop qvm@deb took {time.monotonic() - t0:.1f}s")
    text = unit_log(c, "deb", "--since", since)
    expect("reboot: Power down" in text, "the guest's own shutdown is in the journal (reboot: Power down)",
           text[-3000:])
    expect(c.unit_property("qvm@deb.service", "Result") == "success",
           "the stop was clean (Result=success: no timeout, no kill)")
    c.systemctl("start", "qvm@deb.service", timeout=900)
    expect(c.ssh(key, DEB_PORT, "cat ~/marker").stdout.strip() == "qvm-data-42",
           "the file written before the stop is still there after the start")

    # g, with the real guest: the container's poweroff shuts it down through ACPI.
    took = c.poweroff(timeout=300)
    log(f"container powered off in {took:.1f}s")
    boots = c.host_journal("-u", "qvm@deb.service", "-o", "cat").count("reboot: Power down")
    expect(boots == 2, "poweroff of the host shut the guest down gracefully as well")


TAP_PORT = 2223


def scenario_tap_guest(c):
    """Issue 6 in the real thing: a cloud-init guest in tap mode on qvm's bridge, its static
    address from the seed, and host ssh through the 127.0.0.1 socket-proxyd forward."""
    image = c.guest_image()
    c.boot()
    key, pubkey = c.ssh_keygen()
    c.write("/etc/qvm/debtap.ini", f"""[vm]
description = Debian cloud-init guest on a tap
accel = tcg
cpus = 2
memory = 1G
ready = ssh
start-timeout = 10min
[image]
source = {image}
[cloud-init]
hostname = debtap
user = dev
ssh-authorized-key = {pubkey}
[network]
mode = tap
bridge = qvmbr0
address = 10.88.0.11/24
gateway = 10.88.0.1
ssh = {TAP_PORT}
""")
    c.systemctl("daemon-reload")
    t0 = time.monotonic()
    c.systemctl("start", "qvm@debtap.service", timeout=900)
    log(f"systemctl start qvm@debtap returned after {time.monotonic() - t0:.1f}s")
    r = c.ssh(key, TAP_PORT, "ip -4 -o addr show", check=False)
    expect(r.returncode == 0, "tap mode: ssh -p PORT dev@127.0.0.1 works through the forward", r.stderr)
    expect("10.88.0.11/24" in r.stdout, "the guest has the static address from the seed", r.stdout)
    links = c.run(["ip", "-o", "link", "show", "qvm-debtap"], check=False).stdout
    expect("master qvmbr0" in links, "its tap qvm-debtap is on qvmbr0", links)
    sock = c.systemctl("is-active", f"qvm-fwd-debtap-{TAP_PORT}.socket", check=False).stdout.strip()
    expect(sock == "active", f"the forward socket unit is active ({sock})")
    c.systemctl("stop", "qvm@debtap.service", timeout=300)
    links = c.run(["ip", "-o", "link", "show", "qvm-debtap"], check=False)
    expect(links.returncode != 0, "the tap is gone after stop", links.stdout)
    sock = c.systemctl("is-active", f"qvm-fwd-debtap-{TAP_PORT}.socket", check=False).stdout.strip()
    expect(sock != "active", f"the forward stopped with the VM ({sock})")


# name -> (function, Container() arguments)
SCENARIOS = {
    "generator-reload": (scenario_generator_reload, {}),
    "broken-ini": (scenario_broken_ini, {"kmsg": True}),
    "autostart": (scenario_autostart, {}),
    "ordering": (scenario_ordering, {}),
    "poweroff": (scenario_poweroff, {}),
    "boot-storm": (scenario_boot_storm, {"grace": 180}),
    "hidden-paths": (scenario_hidden_paths, {}),
    "qemu-crash": (scenario_qemu_crash, {}),
    "full-guest": (scenario_full_guest, {"grace": 300}),
    "tap-guest": (scenario_tap_guest, {"grace": 300}),
}


def main():
    """Run the scenario named on the command line."""
    if len(sys.argv) == 2 and sys.argv[1] == "--list":
        print("\n".join(SCENARIOS))
        return 0
    if len(sys.argv) != 2 or sys.argv[1] not in SCENARIOS:
        print(__doc__, file=sys.stderr)
        return 2
    skip_unless_possible()
    name = sys.argv[1]
    try:
        func, options = SCENARIOS[name]
        with Container(name, **options) as c:
            func(c)
    except (ScenarioFailed, HarnessError) as e:
        print(f"FAIL: {name}: {e}", flush=True)
        return 1
    log(f"PASS: {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
