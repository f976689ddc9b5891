#!/usr/bin/env python3
"""scenarios.py - qvm under a real systemd: one scenario per meson test (suite 'integration').

Usage: scenarios.py SCENARIO     (run as root; exits 77 when no container can be booted)
       scenarios.py --list
Each scenario boots its own container (harness.py), asserts through the real
systemctl/journalctl inside it, and prints the journal when an assertion fails.
"""

import os
import sys

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

GOOD_VM = """\
[vm]
description = the good VM
accel = tcg
memory = 128M
[boot]
kernel = /boot/vmlinuz-test
"""


def scenario_broken_ini(c):
    """b. A broken INI beside a good one: errors with file:line in the journal, good VM loads."""
    # The container's kernel log is the host's: a name of our own tells our lines apart.
    bad = f"broken{os.getpid()}"
    c.write(f"/etc/qvm/{bad}.ini", BROKEN_VM)
    c.write("/etc/qvm/good.ini", GOOD_VM)
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
    c.systemctl("daemon-reload")
    expect(c.run(["systemctl", "is-system-running"], check=False).stdout.strip() == "running",
           "the system is running, not degraded, after boot and another daemon-reload")


# name -> (function, Container() arguments)
SCENARIOS = {
    "generator-reload": (scenario_generator_reload, {}),
    "broken-ini": (scenario_broken_ini, {"kmsg": True}),
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
