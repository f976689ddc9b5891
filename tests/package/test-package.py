#!/usr/bin/env python3
"""test-package.py - the Debian package: it builds, lintian finds no error, and under a real systemd
it installs, runs a VM, and removes and purges without touching the VM's disk.

1. dpkg-buildpackage -b on a copy of the tracked tree (a build dir of its own, so the
   checkout stays clean), then `lintian --fail-on error` on the .deb.
2. A container of the integration harness with NO qvm installed (harness.py, install=False),
   holding one tiny-guest VM file with a data disk before the package arrives:
   - `dpkg -i`: the maintainer scripts create the qvm user and /etc/qvm and run
     daemon-reload, so qvm@tiny exists without anyone reloading by hand;
   - `systemctl start qvm@tiny`: the guest boots (its console mark is in the journal) and
     qvm-image made the data disk;
   - `dpkg -r`: the VM is shut down first and the binaries are gone; the disk, the cache and
     /etc/qvm/tiny.ini are still there, byte for byte;
   - `dpkg -P`: the same holds after purge.
"""

import hashlib
import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
from harness import Container, log, skip, skip_unless_possible  # noqa: E402
from scenarios import BOOTED, tiny_vm, wait_console  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from deb import build_deb  # noqa: E402

VM_DIRS = "/var/lib/qvm /var/lib/private/qvm"


def expect(cond, msg, detail=""):
    """Fail with @msg (and @detail) unless @cond."""
    if not cond:
        raise AssertionError(msg + ("\n" + detail if detail else ""))
    log(f"ok: {msg}")


def digest(path):
    """SHA-256 of a file (inside the container, through the host path)."""
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def vm_files(c):
    """The files under qvm's state and cache directories inside the container, with their digests."""
    out = c.sh(f"find {VM_DIRS} /var/cache/qvm -type f 2>/dev/null; true").stdout.split()
    return {p: digest(c.path(p)) for p in out if not os.path.islink(c.path(p))}


def check_package_install(deb):
    """Install, run a VM, remove and purge inside a systemd container with no qvm."""
    with Container("package", install=False) as c:
        kernel, initrd = c.tiny_guest()
        vm = tiny_vm((kernel, initrd), "packaged VM") + "[disk:data]\nsize = 16M\n"
        c.write("/etc/qvm/tiny.ini", vm)
        shutil.copyfile(deb, c.path("/srv/qvm-test/qvm.deb"))
        c.boot()
        expect(c.run(["sh", "-c", "command -v qvm"], check=False).returncode != 0,
               "the container starts without qvm")
        c.run(["dpkg", "-i", "/srv/qvm-test/qvm.deb"])
        expect(c.run(["getent", "passwd", "qvm"], check=False).returncode == 0,
               "postinst created the qvm user (sysusers)")
        expect(c.sh("stat -c %U:%a /etc/qvm").stdout.strip().startswith("root:"),
               "postinst created /etc/qvm (tmpfiles)")
        load = c.systemctl("show", "-P", "LoadState", "qvm@tiny.service").stdout.strip()
        source = c.systemctl("show", "-P", "SourcePath", "qvm@tiny.service").stdout.strip()
        expect(load == "loaded" and source == "/etc/qvm/tiny.ini",
               "postinst ran daemon-reload: the generator made qvm@tiny from /etc/qvm/tiny.ini",
               f"LoadState={load} SourcePath={source}")
        c.systemctl("start", "qvm@tiny.service", timeout=300)
        wait_console(c, "tiny", BOOTED)
        expect(c.run(["qvm", "list"]).stdout.count("tiny") == 1, "the packaged qvm lists the VM")
        before = vm_files(c)
        expect(any(p.endswith(".qcow2") for p in before), "qvm-image made the VM's data disk",
               str(before))

        c.run(["dpkg", "-r", "qvm"])
        state = c.systemctl("is-active", "qvm@tiny.service", check=False).stdout.strip()
        expect(state in ("inactive", "failed") and "qemu-system" not in c.sh("ps -e -o comm").stdout,
               "removal shut the VM down first", state)
        expect(not os.path.exists(c.path("/usr/bin/qvm")), "removal took the qvm command away")
        expect(vm_files(c) == before, "after dpkg -r the disk and the cache are untouched")
        expect(os.path.exists(c.path("/etc/qvm/tiny.ini")), "after dpkg -r /etc/qvm/tiny.ini is kept")

        c.run(["dpkg", "-P", "qvm"])
        expect(vm_files(c) == before, "after dpkg -P the disk and the cache are untouched")
        expect(os.path.exists(c.path("/etc/qvm/tiny.ini")), "after dpkg -P /etc/qvm/tiny.ini is kept")


def main():
    """Build, lint, install, run, remove, purge."""
    skip_unless_possible()
    for tool in ("dpkg-buildpackage", "lintian"):
        if subprocess.run(["sh", "-c", f"command -v {tool}"], capture_output=True).returncode:
            skip(f"{tool} not installed")
    deb = build_deb()
    expect(os.path.basename(deb).startswith("qvm_") and deb.endswith("_amd64.deb"),
           "dpkg-buildpackage made qvm_VERSION_amd64.deb", deb)
    r = subprocess.run(["lintian", "--fail-on", "error", deb], capture_output=True, text=True)
    expect(r.returncode == 0, "lintian reports no error", r.stdout + r.stderr)
    check_package_install(deb)


if __name__ == "__main__":
    main()
