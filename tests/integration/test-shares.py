#!/usr/bin/env python3
"""test-shares.py - [share:NAME] for real: qvm-virtiofsd@ and virtiofsd, QEMU, systemd's sandbox, a cloud-init guest.

One boot of the Debian cloud-init guest (tests/lib/guest-image.sh) in a systemd container:
  - a writable virtiofs share under /home (path with a blank, reached through BindPaths= and
    ProtectHome=tmpfs): a host file is visible in the guest, owned there by the guest user; a
    file the guest writes shows up on the host, owned by the directory's owner;
  - a read-only virtiofs share: writes fail with EROFS, also as root;
  - a symlink to /etc and '..' paths lead to the guest's own files, never the host's;
  - a read-only 9p share beside them: QEMU attaches it (the guest's cloud kernel has no 9p, so
    it is checked as a device, not mounted; share-9p-tiny mounts 9p in a generic-kernel guest);
  - stop leaves no virtiofsd, no qvm-virtiofsd and no socket.
Then a tiny guest (seconds to boot) with a share: kill -9 of QEMU, then of qvm-launch, each
leaves no virtiofsd and no socket behind.
"""

import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Container, HarnessError, log, skip_unless_possible  # noqa: E402

PORT = 2224
OWNER = 1500                       # host owner of the writable share
SRC = "/home/alice/src tree"       # a blank in the path: BindPaths= must quote it
DOCS = "/srv/qvm-share-docs"
NINE = "/srv/qvm-share-nine"
CANARY = "qvm-share-canary-7f3a"


class Failed(AssertionError):
    """An assertion about shares failed."""


def expect(cond, msg, detail=""):
    """Fail with @msg (and @detail) unless @cond."""
    if not cond:
        raise Failed(msg + ("\n" + detail if detail else ""))
    log(f"ok: {msg}")


def prepare_host(c):
    """The shared trees inside the container, and a canary in its /etc."""
    os.makedirs(c.path(SRC))
    with open(c.path(SRC + "/hello.txt"), "w") as f:
        f.write("hello from the host\n")
    os.symlink("/etc", c.path(SRC + "/etc-link"))
    for p in (os.path.dirname(c.path(SRC)), c.path(SRC), c.path(SRC + "/hello.txt")):
        os.lchown(p, OWNER, OWNER)
    os.lchown(c.path(SRC + "/etc-link"), OWNER, OWNER)
    os.makedirs(c.path(DOCS))
    with open(c.path(DOCS + "/doc.txt"), "w") as f:
        f.write("read-only doc\n")
    os.makedirs(c.path(NINE))
    with open(c.path("/etc/" + CANARY), "w") as f:
        f.write("host secret\n")


def guest_vm(image, pubkey):
    """The Debian guest with three shares."""
    return f"""[vm]
description = Debian guest with shares
accel = tcg
cpus = 2
memory = 1G
ready = cloud-init
start-timeout = 10min
shutdown-timeout = 2min
[image]
source = {image}
[cloud-init]
user = dev
ssh-authorized-key = {pubkey}
[network]
ssh = {PORT}
[share:src]
path = {SRC}
[share:docs]
path = {DOCS}
readonly = yes
[share:nine]
path = {NINE}
mode = 9p
readonly = yes
"""


def socket_left(c, vm):
    """Share sockets left in /run/qvm/@vm."""
    return c.sh(f"ls /run/qvm/{vm}/share-*.sock 2>/dev/null; true").stdout.strip()


def virtiofsd_left(c):
    """virtiofsd and qvm-virtiofsd processes in the container."""
    return c.sh("pgrep -a virtiofsd; pgrep -a qvm-virtiofsd; true").stdout.strip()


def check_guest(c, key):
    """Everything the guest can see and do through its shares."""
    def ssh(cmd, check=True):
        return c.ssh(key, PORT, cmd, check=check)

    mounts = ssh("for m in /mnt/src /mnt/docs; do findmnt -rn -o TARGET,FSTYPE,OPTIONS --mountpoint $m; done").stdout
    expect(re.search(r"^/mnt/src virtiofs rw", mounts, re.M) is not None,
           "the seed mounted the writable share at /mnt/src (virtiofs)", mounts)
    expect(re.search(r"^/mnt/docs virtiofs ro", mounts, re.M) is not None,
           "the seed mounted the read-only share at /mnt/docs (virtiofs, ro)", mounts)
    expect(ssh("cat /mnt/src/hello.txt").stdout == "hello from the host\n", "a host file is visible in the guest")
    expect(ssh("stat -c %u:%g /mnt/src/hello.txt").stdout.strip() == "1000:1000",
           "the directory owner's files belong to the guest user (guest-uid/gid 1000)")

    ssh("echo written by the guest > /mnt/src/from-guest.txt && sync")
    host_file = c.path(SRC + "/from-guest.txt")
    expect(os.path.exists(host_file) and open(host_file).read() == "written by the guest\n",
           "a file the guest writes shows up on the host")
    st = os.stat(host_file)
    expect((st.st_uid, st.st_gid) == (OWNER, OWNER),
           f"on the host it belongs to the directory's owner {OWNER}, not root or qvm ({st.st_uid}:{st.st_gid})")

    r = ssh("touch /mnt/docs/new 2>&1", check=False)
    expect(r.returncode != 0 and "Read-only file system" in r.stdout, "the read-only share refuses writes (EROFS)",
           r.stdout)
    r = ssh("sudo sh -c 'echo x >> /mnt/docs/doc.txt' 2>&1", check=False)
    expect(r.returncode != 0 and "Read-only file system" in r.stdout, "also for root in the guest", r.stdout)
    expect(open(c.path(DOCS + "/doc.txt")).read() == "read-only doc\n", "the host file is unchanged")

    r = ssh(f"cat /mnt/src/etc-link/{CANARY} 2>&1", check=False)
    expect(r.returncode != 0 and "host secret" not in r.stdout,
           "a symlink to /etc in the share does not reach the host's /etc", r.stdout)
    r = ssh(f"cat /mnt/src/../../etc/{CANARY} /mnt/src/../../../etc/{CANARY} 2>&1", check=False)
    expect(r.returncode != 0 and "host secret" not in r.stdout, "'..' does not leave the share", r.stdout)
    expect(ssh("cd /mnt/src/.. && pwd").stdout.strip() == "/mnt", "'..' of the share is the guest's /mnt")

    # 9p: Debian's cloud kernel has no 9p, so check that QEMU attached the device (1af4:1009).
    devs = ssh("cat /sys/bus/pci/devices/*/vendor /sys/bus/pci/devices/*/device | tr '\\n' ' '").stdout
    expect("0x1009" in devs, "QEMU attached the 9p share as a virtio-9p PCI device", devs)


def check_stop(c, vm):
    """systemctl stop leaves no virtiofsd and no socket."""
    c.systemctl("stop", f"qvm@{vm}.service", timeout=300)
    c.wait_until("qvm-virtiofsd to stop", lambda: c.unit_property(f"qvm-virtiofsd@{vm}.service", "ActiveState")
                 in ("inactive", "failed"), timeout=60)
    expect(virtiofsd_left(c) == "", "after stop no virtiofsd process is left", virtiofsd_left(c))
    expect(socket_left(c, vm) == "", "after stop no share socket is left", socket_left(c, vm))


def tiny_vm(kernel, initrd, share):
    """A tiny guest with one read-only virtiofs share of a root-owned directory."""
    return f"""[vm]
accel = tcg
cpus = 1
memory = 256M
restart = no
shutdown-timeout = 20s
[network]
mode = none
[boot]
kernel = {kernel}
initrd = {initrd}
append = console=ttyS0 panic=-1
[share:data]
path = {share}
readonly = yes
"""


def pid_of(c, vm, exe):
    """The PID of process @exe in the cgroup of qvm@@vm."""
    out = c.sh(f"for p in $(pgrep -x '{exe}'); do grep -qF '/qvm@{vm}.service' /proc/$p/cgroup && echo $p; done;"
               " true").stdout.split()
    return int(out[0]) if out else None


def check_kill(c, vm, victim):
    """Start @vm, kill -9 its @victim (QEMU or qvm-launch): nothing of the shares is left."""
    c.systemctl("start", f"qvm@{vm}.service", timeout=300)
    expect(c.unit_property(f"qvm-virtiofsd@{vm}.service", "ActiveState") == "active",
           f"qvm-virtiofsd@{vm} runs beside the VM")
    expect(socket_left(c, vm) != "", "the share socket exists while the VM runs")
    exe = "qemu-system-x86" if victim == "QEMU" else "qvm-launch"  # comm: at most 15 characters
    pid = c.wait_until(f"{exe} of qvm@{vm}", lambda: pid_of(c, vm, exe), timeout=30)
    c.run(["kill", "-9", str(pid)])
    c.wait_until(f"qvm@{vm} to fail", lambda: c.unit_property(f"qvm@{vm}.service", "ActiveState") == "failed",
                 timeout=60)
    c.wait_until("virtiofsd to go", lambda: virtiofsd_left(c) == "", timeout=30)
    expect(virtiofsd_left(c) == "", f"after kill -9 of {victim} no virtiofsd is left")
    expect(socket_left(c, vm) == "", f"after kill -9 of {victim} no share socket is left", socket_left(c, vm))
    c.systemctl("reset-failed", f"qvm@{vm}.service", f"qvm-virtiofsd@{vm}.service", check=False)


def main():
    """Boot a container, run the guest checks, then the kill checks."""
    skip_unless_possible()
    try:
        with Container("shares", grace=300) as c:
            image = c.guest_image()
            kernel, initrd = c.tiny_guest()
            prepare_host(c)
            c.boot()
            key, pubkey = c.ssh_keygen()
            c.write("/etc/qvm/sh.ini", guest_vm(image, pubkey))
            c.write("/etc/qvm/tiny.ini", tiny_vm(kernel, initrd, DOCS))
            c.systemctl("daemon-reload")
            chk = c.run(["qvm", "check", "sh", "tiny"], check=False)
            expect(chk.returncode == 0, "qvm check accepts both VMs", chk.stdout + chk.stderr)
            t0 = time.monotonic()
            c.systemctl("start", "qvm@sh.service", timeout=900)
            log(f"systemctl start qvm@sh returned after {time.monotonic() - t0:.1f}s")
            check_guest(c, key)
            check_stop(c, "sh")
            check_kill(c, "tiny", "QEMU")
            check_kill(c, "tiny", "qvm-launch")
    except (Failed, HarnessError) as e:
        print(f"FAIL: shares: {e}", flush=True)
        return 1
    log("PASS: shares")
    return 0


if __name__ == "__main__":
    sys.exit(main())
