#!/usr/bin/env python3
"""test-faults.py - kill -9 and a full disk at each step of qvm-image and qvm-seed (issue 14).

No guest: the helpers run as they do under the unit (same state, cache and runtime
dirs, through the test seams QVM_STATE_ROOT/QVM_CACHE_DIR), against the test HTTP
server on 127.0.0.1 (server.py). After every fault the next run must complete and
the VM's disk must be the same bytes as before, with the data written into it
still there (qemu-io reads it back) and qemu-img check clean.

  1. kill -9 mid-download (first start): nothing is left under the content name,
     the next start finishes the download and verifies it.
  2. kill -9 mid-download of a refresh while the VM has a disk with data: the disk
     is untouched, its backing file is the same base.
  3. kill -9 mid-overlay (a qemu-img that hangs after writing its output): no disk
     appears under the disk's name; the next start makes a good one.
  4. kill -9 of qvm-seed at many points in its run: seed.iso is either absent or a
     whole ISO, the next run writes it, no temporaries are left.
  5. a full cache (small tmpfs): the download fails with "No space left on
     device", no partial file stays, the disk is intact; with room it works.
  6. a full state dir (small tmpfs): qvm-seed and a new data disk fail clearly,
     the system disk is intact; with room they work.
Needs root for the tmpfs mounts (else cases 5-6 are skipped with a note).

Usage: test-faults.py BUILD/helpers/qvm-image BUILD/helpers/qvm-seed
"""
import hashlib
import os
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time

failures = []
IMAGE, SEED = (os.path.abspath(p) for p in sys.argv[1:3])
HERE = os.path.dirname(os.path.abspath(__file__))


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what, flush=True)
    if not cond:
        failures.append(what)


def sha(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def wait_for(cond, timeout=20):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(0.02)
    return False


class Env:
    """Dirs, config and the HTTP server of one run."""

    def __init__(self, tmp):
        self.tmp = tmp
        for d in ("etc", "state", "cache", "run", "www", "bin"):
            os.makedirs(os.path.join(tmp, d), exist_ok=True)
        self.data = os.urandom(8 * 1024 * 1024)
        with open(self.www("base.img"), "wb") as f:
            f.write(self.data)
        self.sum = hashlib.sha256(self.data).hexdigest()
        self.server = subprocess.Popen([sys.executable, os.path.join(HERE, "server.py"), self.www("")],
                                       stdout=subprocess.PIPE, text=True)
        self.url = f"http://127.0.0.1:{int(self.server.stdout.readline())}"
        # A qemu-img that hangs after "create" wrote its file: the moment to kill the helper at.
        hang = os.path.join(tmp, "bin", "qemu-img")
        with open(hang, "w") as f:
            f.write("#!/bin/sh\nif [ \"$1\" = create ] && [ -n \"$QVM_TEST_HANG\" ]; then\n"
                    f"\t{shutil.which('qemu-img')} \"$@\" || exit 1\n\ttouch \"$QVM_TEST_HANG\"\n\texec sleep 60\nfi\n"
                    f"exec {shutil.which('qemu-img')} \"$@\"\n")
        os.chmod(hang, 0o755)
        self.env = dict(os.environ, QVM_CONFIG_DIR=self.path("etc"), QVM_STATE_ROOT=self.path("state"),
                        QVM_CACHE_DIR=self.path("cache"), QVM_RUNTIME_ROOT=self.path("run"))
        for k in ("NOTIFY_SOCKET", "STATE_DIRECTORY", "CACHE_DIRECTORY", "RUNTIME_DIRECTORY",
                  "QVM_CONFIG_DIGEST"):
            self.env.pop(k, None)

    def path(self, *p):
        return os.path.join(self.tmp, *p)

    def www(self, name):
        return self.path("www", name)

    def vm(self, name, slow=True, extra=""):
        src = f"{self.url}/{'slow/' if slow else ''}base.img"
        with open(self.path("etc", name + ".ini"), "w") as f:
            f.write(f"[image]\nsource = {src}\nchecksum = sha256:{self.sum}\nsize = 64M\n"
                    f"[cloud-init]\nuser = dev\nssh-authorized-key = ssh-ed25519 "
                    f"AAAAC3NzaC1lZDI1NTE5AAAAIBg7kMMtNw5PJmVyzKlmTDVA3PQ5zXnkPDKcrbQ6X0rs dev@host\n{extra}")

    def start(self, tool, name, *args, hang=None):
        env = dict(self.env)
        if hang:
            env["QVM_TEST_HANG"] = hang
            env["PATH"] = self.path("bin") + ":" + env["PATH"]
        return subprocess.Popen([tool, *args, name], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True, start_new_session=True)

    def run(self, tool, name, *args):
        p = self.start(tool, name, *args)
        out, err = p.communicate(timeout=120)
        return p.returncode, err

    def images(self):
        d = self.path("cache", "images")
        return sorted(os.listdir(d)) if os.path.isdir(d) else []

    def partial(self):
        return [f for f in self.images() if f.endswith(".partial")]

    def disk(self, name):
        return self.path("state", name, "disk.qcow2")


def kill9(p):
    os.killpg(p.pid, signal.SIGKILL)
    p.wait()


def qemu_io(disk, cmd):
    return subprocess.run(["qemu-io", "-f", "qcow2", "-c", cmd, disk], capture_output=True, text=True)


def disk_ok(e, name, what):
    """The disk is a clean qcow2 over the cached base, and holds the pattern written in case 1."""
    disk = e.disk(name)
    chk = subprocess.run(["qemu-img", "check", "-q", disk], capture_output=True, text=True)
    read = qemu_io(disk, "read -P 0xa5 1M 1M")
    check(chk.returncode == 0 and read.returncode == 0 and "Pattern verification failed" not in read.stdout,
          f"{what}: the disk checks clean and its data reads back ({chk.stdout.strip()} {read.stdout.strip()[-80:]})")


def case_download(e):
    e.vm("a")
    p = e.start(IMAGE, "a")
    check(wait_for(lambda: any(os.path.getsize(e.path("cache", "images", f)) > 0 for f in e.partial())),
          "1: the download is under way (a partial file grows)")
    kill9(p)
    names = [f for f in e.images() if not f.startswith(".")]
    check(not names and not os.path.exists(e.disk("a")),
          f"1: after kill -9 mid-download nothing carries the content name and there is no disk ({names})")
    rc, err = e.run(IMAGE, "a")
    base = [f for f in e.images() if f.endswith("-base.img")]
    check(rc == 0 and len(base) == 1 and sha(e.path("cache", "images", base[0])) == e.sum,
          f"1: the next start finishes and verifies the download ({err.strip()[-200:]})")
    check(not e.partial(), "1: no partial file is left")
    w = qemu_io(e.disk("a"), "write -P 0xa5 1M 1M")
    check(w.returncode == 0, "1: the VM writes data into its disk")
    return base[0]


def case_refresh(e, base):
    before = sha(e.disk("a"))
    with open(e.www("base.img"), "wb") as f:   # upstream publishes a new version
        f.write(os.urandom(8 * 1024 * 1024))
    e.vm("a", extra="")
    with open(e.path("etc", "a.ini")) as f:
        ini = f.read()
    with open(e.path("etc", "a.ini"), "w") as f:
        f.write(ini.replace(f"checksum = sha256:{e.sum}\n", f"checksum = sha256:{sha(e.www('base.img'))}\n"))
    p = e.start(IMAGE, "a", "--refresh")
    check(wait_for(lambda: any(os.path.getsize(e.path("cache", "images", f)) > 0 for f in e.partial())),
          "2: the refresh download is under way")
    kill9(p)
    check(sha(e.disk("a")) == before, "2: after kill -9 mid-refresh the VM's disk is the same bytes")
    rc, err = e.run(IMAGE, "a")
    info = subprocess.run(["qemu-img", "info", "-U", e.disk("a")], capture_output=True, text=True).stdout
    check(rc == 0 and sha(e.disk("a")) == before and base in info,
          f"2: the next start keeps the disk and its base ({err.strip()[-200:]})")
    disk_ok(e, "a", "2")
    with open(e.path("etc", "a.ini"), "w") as f:   # back to the version the disk uses
        f.write(ini)
    with open(e.www("base.img"), "wb") as f:
        f.write(e.data)


def case_overlay(e):
    e.vm("b", slow=False)
    mark = e.path("hang-b")
    p = e.start(IMAGE, "b", hang=mark)
    check(wait_for(lambda: os.path.exists(mark)), "3: qemu-img create has written the new overlay")
    kill9(p)
    check(not os.path.exists(e.disk("b")), "3: after kill -9 mid-overlay there is no disk under its name")
    rc, err = e.run(IMAGE, "b")
    chk = subprocess.run(["qemu-img", "check", "-q", e.disk("b")], capture_output=True, text=True)
    check(rc == 0 and chk.returncode == 0, f"3: the next start makes a good overlay ({err.strip()[-200:]})")
    check(not [f for f in os.listdir(e.path("state", "b")) if f.endswith(".creating")],
          "3: no half-made overlay is left")


def iso_whole(path):
    r = subprocess.run(["isoinfo", "-d", "-i", path], capture_output=True, text=True)
    return r.returncode == 0 and "cidata" in r.stdout.lower()


def case_seed(e):
    seed, disk_sum = e.path("state", "a", "seed.iso"), sha(e.disk("a"))
    torn = []
    for i in range(12):
        if os.path.exists(seed):
            os.unlink(seed)
        p = e.start(SEED, "a")
        time.sleep(0.004 * i)
        kill9(p)
        if os.path.exists(seed) and not iso_whole(seed):
            torn.append(i)
    check(not torn, f"4: kill -9 of qvm-seed at 12 points never leaves a torn seed.iso ({torn})")
    # A temporary counts as orphaned once it is a minute old (younger ones may be a concurrent
    # `qvm reseed`'s): age what the kills left, as a later start would find them.
    state = e.path("state", "a")
    for f in os.listdir(state):
        if f.startswith(".seed.iso."):
            os.utime(os.path.join(state, f), (time.time() - 120, time.time() - 120))
    rc, err = e.run(SEED, "a")
    check(rc == 0 and iso_whole(seed), f"4: the next run writes a whole seed ({err.strip()[-200:]})")
    left = [f for f in os.listdir(e.path("state", "a")) if f.startswith(".seed.iso.")]
    check(not left, f"4: no seed temporaries are left ({left})")
    check(sha(e.disk("a")) == disk_sum, "4: the disk is untouched")


def mount_tmpfs(path, size):
    os.makedirs(path, exist_ok=True)
    return subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0755", "qvm-faults", path],
                          capture_output=True).returncode == 0


def case_full_cache(e):
    cache = e.path("smallcache")
    if not mount_tmpfs(cache, "2M"):
        print("skip 5: cannot mount a tmpfs (needs root)")
        return
    try:
        env = dict(e.env, QVM_CACHE_DIR=cache)
        e.vm("c", slow=False)
        p = subprocess.run([IMAGE, "c"], env=env, capture_output=True, text=True, timeout=120)
        check(p.returncode != 0 and "No space left on device" in p.stderr,
              f"5: a full cache is a clear error ({p.stderr.strip()[-200:]})")
        left = os.listdir(os.path.join(cache, "images")) if os.path.isdir(os.path.join(cache, "images")) else []
        check(not [f for f in left if not f.endswith(".lock")], f"5: nothing is left in the cache ({left})")
        check(not os.path.exists(e.disk("c")), "5: no disk over a base that is not there")
        disk_ok(e, "a", "5 (the other VM)")
    finally:
        subprocess.run(["umount", cache])
    rc, err = e.run(IMAGE, "c")
    check(rc == 0, f"5: with room the same start works ({err.strip()[-200:]})")


def case_full_state(e):
    state = e.path("smallstate")
    if not mount_tmpfs(state, "1M"):
        print("skip 6: cannot mount a tmpfs (needs root)")
        return
    try:
        env = dict(e.env, QVM_STATE_ROOT=state)
        e.vm("d", slow=False)
        rc = subprocess.run([IMAGE, "d"], env=env, capture_output=True, text=True).returncode
        disk = os.path.join(state, "d", "disk.qcow2")
        w = qemu_io(disk, "write -P 0xa5 1M 64k")
        check(rc == 0 and w.returncode == 0, "6: a VM disk on a small state dir, with data")
        before = sha(disk)
        fd = os.open(os.path.join(state, "filler"), os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            while os.write(fd, b"\0" * 4096) > 0:
                pass
        except OSError:
            pass
        os.close(fd)
        p = subprocess.run([SEED, "d"], env=env, capture_output=True, text=True)
        check(p.returncode != 0 and "No space left on device" in p.stderr,
              f"6: qvm-seed on a full state dir is a clear error ({p.stderr.strip()[-200:]})")
        with open(e.path("etc", "d.ini"), "a") as f:
            f.write("[disk:data]\nsize = 64M\n")
        p = subprocess.run([IMAGE, "d"], env=env, capture_output=True, text=True)
        check(p.returncode != 0 and "No space left on device" in p.stderr,
              f"6: a new data disk on a full state dir is a clear error ({p.stderr.strip()[-200:]})")
        check(sha(disk) == before, "6: the system disk is the same bytes")
        left = [f for f in os.listdir(os.path.join(state, "d")) if f.startswith(".") or f.endswith(".creating")]
        check(not left, f"6: no temporaries are left ({left})")
        os.unlink(os.path.join(state, "filler"))
        ok = (subprocess.run([SEED, "d"], env=env, capture_output=True).returncode == 0 and
              subprocess.run([IMAGE, "d"], env=env, capture_output=True).returncode == 0)
        check(ok and sha(disk) == before, "6: with room both work and the disk is unchanged")
    finally:
        subprocess.run(["umount", state])


def main():
    if not shutil.which("qemu-io") or not shutil.which("isoinfo"):
        print("skipped: needs qemu-io and isoinfo")
        return 77
    tmp = tempfile.mkdtemp(prefix="qvm-faults.")
    e = Env(tmp)
    try:
        base = case_download(e)
        case_refresh(e, base)
        disk_ok(e, "a", "after 1-2")
        case_overlay(e)
        case_seed(e)
        case_full_cache(e)
        case_full_state(e)
    finally:
        e.server.kill()
        shutil.rmtree(tmp, ignore_errors=True)
    print("%d failure(s)" % len(failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
