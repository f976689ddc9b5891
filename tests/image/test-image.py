#!/usr/bin/env python3
"""test-image.py - qvm-image against a real HTTP server on 127.0.0.1 (tests/image/server.py).

Cases: a good download; a second start that transfers nothing; two VMs sharing
one cached base; a checksum mismatch (refused, nothing cached); a dropped
connection (resumed with Range, then verified); a 404; a SHA512SUMS file
without the image's name; an overlay created then reused; a base never written;
a data disk never overwritten; a missing base refused; reset.
"""
import hashlib
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import time

failures = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what, flush=True)
    if not cond:
        failures.append(what)


def main():
    tool = os.path.abspath(sys.argv[1])
    tmp = tempfile.mkdtemp(prefix="qvm-image-test.")
    www = os.path.join(tmp, "www")
    os.makedirs(www)
    for d in ("etc", "state", "cache"):
        os.makedirs(os.path.join(tmp, d))
    data = os.urandom(4 * 1024 * 1024)  # a raw "image"
    with open(os.path.join(www, "base.img"), "wb") as f:
        f.write(data)
    sha256 = hashlib.sha256(data).hexdigest()
    sha512 = hashlib.sha512(data).hexdigest()
    with open(os.path.join(www, "SHA512SUMS"), "w") as f:
        f.write(f"{hashlib.sha512(b'x').hexdigest()}  other.img\n{sha512}  base.img\n")
    with open(os.path.join(www, "NOSUCH512SUMS"), "w") as f:
        f.write(f"{hashlib.sha512(b'x').hexdigest()}  other.img\n")
    # M6: an OpenPGP key made here (temporary GNUPGHOME), its public keyring, detached signatures.
    gnupg = os.path.join(tmp, "gnupg")
    os.makedirs(gnupg, mode=0o700)
    gpg_env = dict(os.environ, GNUPGHOME=gnupg)

    def gpg(*args):
        subprocess.run(["gpg", "--batch", "--quiet", "--pinentry-mode", "loopback", "--passphrase", "", *args],
                       env=gpg_env, check=True, capture_output=True)

    gpg("--quick-gen-key", "qvm test signer <qvm-test@invalid>", "ed25519", "sign", "never")
    keyring = os.path.join(tmp, "signer.gpg")
    gpg("--output", keyring, "--export", "qvm-test@invalid")

    def sign(name):
        out = os.path.join(www, name + ".sign")
        if os.path.exists(out):
            os.unlink(out)
        gpg("--output", out, "--detach-sign", os.path.join(www, name))

    sign("SHA512SUMS")
    sign("NOSUCH512SUMS")
    server = subprocess.Popen([sys.executable, os.path.join(os.path.dirname(__file__), "server.py"), www],
                              stdout=subprocess.PIPE, text=True)
    port = int(server.stdout.readline())
    url = f"http://127.0.0.1:{port}"
    env = dict(os.environ, QVM_CONFIG_DIR=os.path.join(tmp, "etc"), QVM_STATE_ROOT=os.path.join(tmp, "state"),
               QVM_CACHE_DIR=os.path.join(tmp, "cache"))
    for k in ("NOTIFY_SOCKET", "STATE_DIRECTORY", "CACHE_DIRECTORY"):
        env.pop(k, None)
    images = os.path.join(tmp, "cache", "images")

    def vm(name, image, extra=""):
        with open(os.path.join(tmp, "etc", name + ".ini"), "w") as f:
            f.write(f"[image]\n{image}\n{extra}")
        return subprocess.run([tool, name], env=env, capture_output=True, text=True)

    def vm_file(name, image, extra=""):
        with open(os.path.join(tmp, "etc", name + ".ini"), "w") as f:
            f.write(f"[image]\n{image}\n{extra}")

    def requests():
        p = os.path.join(www, "requests.log")
        return open(p).read().splitlines() if os.path.exists(p) else []

    def cached():
        return sorted(f for f in os.listdir(images)) if os.path.isdir(images) else []

    try:
        r = vm("a", f"source = {url}/base.img\nchecksum = sha256:{sha256}", "size = 64M\n")
        check(r.returncode == 0, f"good download (stderr: {r.stderr.strip()[-300:]})")
        base = [os.path.join(images, f) for f in cached() if f.endswith("-base.img")]
        check(len(base) == 1 and open(base[0], "rb").read() == data, "the verified image is in the cache")
        check(base and stat.S_IMODE(os.stat(base[0]).st_mode) == 0o444, "cached base is read-only (0444)")
        disk = os.path.join(tmp, "state", "a", "disk.qcow2")
        info = subprocess.run(["qemu-img", "info", "--output=json", disk], capture_output=True, text=True).stdout
        check('"backing-filename-format": "raw"' in info and base[0] in info, "overlay backed by the cached base, format detected")
        check('"virtual-size": 67108864' in info, "overlay grown to [image] size")
        n, ino, base_ino = len(requests()), os.stat(disk).st_ino, os.stat(base[0]).st_ino

        r = vm("a", f"source = {url}/base.img\nchecksum = sha256:{sha256}", "size = 64M\n")
        check(r.returncode == 0 and len(requests()) == n, "a second start transfers nothing")
        check(os.stat(disk).st_ino == ino, "the overlay is reused, not re-created")

        r = vm("b", f"source = {url}/base.img\nchecksum = sha256:{sha256}")
        check(r.returncode == 0 and len(requests()) == n and len(cached()) == 2,
              "a second VM with the same source shares the cached base (one file + its .latest link)")

        r = vm("bad", f"source = {url}/drop-once/base.img\nchecksum = sha256:{'0' * 64}")
        check(r.returncode == 1 and "checksum mismatch" in r.stderr and sha256 in r.stderr and "0" * 64 in r.stderr,
              "a checksum mismatch is refused, with expected and actual")
        check(not any("drop-once" in f or f.startswith(".") for f in cached()), "nothing cached after a mismatch")

        r = vm("resume", f"source = {url}/drop-once/base.img\nchecksum = sha256:{sha256}")
        ranges = [l for l in requests() if l.startswith("/drop-once/") and "bytes=" in l]
        check(r.returncode == 0 and len(ranges) >= 1,
              f"a dropped connection resumes with Range (stderr: {r.stderr.strip()[-200:]})")
        check(any(open(os.path.join(images, f), "rb").read() == data for f in cached() if f.endswith("base.img")
                  and "drop" not in f), "and the resumed file is whole and verified")

        # M3: the connection drops, and the server then ignores Range (200, the whole file)
        shutil.copy(os.path.join(www, "base.img"), os.path.join(www, "nr.img"))
        r = vm("norange", f"source = {url}/norange-drop/nr.img\nchecksum = sha256:{sha256}")
        check(r.returncode == 0, f"a server that ignores Range: restarted from zero (stderr: {r.stderr.strip()[-300:]})")
        check(any(f.endswith("nr.img") and open(os.path.join(images, f), "rb").read() == data for f in cached())
              and not any(f.endswith(".partial") for f in os.listdir(images)), "whole and verified, no partial left")

        # M5: two VMs start on one source at once; both come up, one verified file
        shutil.copy(os.path.join(www, "base.img"), os.path.join(www, "slow.img"))
        vm_file("slow1", f"source = {url}/slow/slow.img\nchecksum = sha256:{sha256}")
        first = subprocess.Popen([tool, "slow1"], env=env, stderr=subprocess.PIPE, text=True)
        time.sleep(1.0)
        vm_file("slow2", f"source = {url}/slow/slow.img\nchecksum = sha256:{sha256}")
        second = subprocess.run([tool, "slow2"], env=env, capture_output=True, text=True)
        first_err = first.communicate(timeout=60)[1]
        check(first.returncode == 0 and second.returncode == 0,
              f"two concurrent downloads of one source both succeed ({first_err.strip()[-200:]} / {second.stderr.strip()[-200:]})")
        slow_cached = [f for f in cached() if f.endswith("slow.img")]
        check(len(slow_cached) == 1 and open(os.path.join(images, slow_cached[0]), "rb").read() == data
              and not any(f.endswith(".partial") for f in os.listdir(images)), "one whole verified file, no partial")

        # L7: the overlay is fsynced before link() gives it its name
        if shutil.which("strace"):
            vm_file("synced", f"source = {url}/base.img\nchecksum = sha256:{sha256}")
            trace = os.path.join(tmp, "strace.log")
            r = subprocess.run(["strace", "-o", trace, "-e", "trace=fsync,fdatasync,link,linkat", tool, "synced"],
                               env=dict(env, ASAN_OPTIONS="detect_leaks=0"),  # LeakSanitizer cannot run under ptrace
                               capture_output=True, text=True)
            calls = [l for l in open(trace).read().splitlines() if "disk.qcow2" in l or "fsync" in l]
            link_at = next((i for i, l in enumerate(calls) if "link" in l and "disk.qcow2" in l), None)
            check(r.returncode == 0 and link_at is not None and any("fsync" in l for l in calls[:link_at])
                  and any("fsync" in l for l in calls[link_at + 1:]),
                  f"overlay: fsync, then link, then the dir's fsync (rc {r.returncode}: {r.stderr.strip()[:600]})")

        r = vm("missing", f"source = {url}/nope.img\nchecksum = sha256:{sha256}")
        check(r.returncode == 1 and "HTTP 404" in r.stderr, "a 404 is reported as such")

        shutil.copy(os.path.join(www, "base.img"), os.path.join(www, "base2.img"))
        signed = f"checksums-keyring = {keyring}\n"
        r = vm("plain", f"source = {url}/base.img\nchecksums = {url}/SHA512SUMS")
        check(r.returncode == 2 and "plain http" in r.stderr and not os.path.exists(os.path.join(tmp, "state", "plain")),
              f"M6: checksums over plain http without a signature are refused (stderr: {r.stderr.strip()[-200:]})")
        r = vm("sums", f"source = {url}/base2.img\nchecksums = {url}/NOSUCH512SUMS\n{signed}")
        check(r.returncode == 1 and "does not list base2.img" in r.stderr, "a SHA512SUMS without the image's name")
        r = vm("sums2", f"source = {url}/base.img\nchecksums = {url}/SHA512SUMS\n{signed}")
        check(r.returncode == 0, "a SHA512SUMS that lists it")
        n = len(requests())
        r = vm("sums2", f"source = {url}/base.img\nchecksums = {url}/SHA512SUMS\n{signed}")
        check(r.returncode == 0 and len(requests()) == n, "checksums = is not fetched again on a warm start")

        # H1: a refresh against a changed upstream is a new file; every existing overlay keeps its bytes.
        def disk_bytes(name):
            raw = os.path.join(tmp, name + ".raw")
            subprocess.run(["qemu-img", "convert", "-O", "raw", os.path.join(tmp, "state", name, "disk.qcow2"), raw],
                           check=True)
            with open(raw, "rb") as f:
                out = f.read(len(data))
            os.unlink(raw)
            return out

        r = vm("shared2", f"source = {url}/base.img\nchecksums = {url}/SHA512SUMS\n{signed}")
        check(r.returncode == 0 and disk_bytes("sums2") == data and disk_bytes("shared2") == data,
              "two VMs share one source, both read the old image")
        old_files = {f: os.stat(os.path.join(images, f)).st_ino for f in cached() if not f.endswith(".latest")}
        new_data = os.urandom(len(data))
        with open(os.path.join(www, "base.img"), "wb") as f:
            f.write(new_data)
        with open(os.path.join(www, "SHA512SUMS"), "w") as f:
            f.write(f"{hashlib.sha512(new_data).hexdigest()}  base.img\n")
        sums_signature = open(os.path.join(www, "SHA512SUMS.sign"), "rb").read()
        r = subprocess.run([tool, "--refresh", "sums2"], env=env, capture_output=True, text=True)
        check(r.returncode == 1 and "no good signature" in r.stderr and
              not any(f.startswith("sha512-" + hashlib.sha512(new_data).hexdigest()) for f in cached()),
              f"M6: a checksums file changed after signing is refused (stderr: {r.stderr.strip()[-200:]})")
        check(sums_signature and os.path.exists(os.path.join(www, "SHA512SUMS.sign")), "(the old signature was served)")
        sign("SHA512SUMS")
        r = subprocess.run([tool, "--refresh", "sums2"], env=env, capture_output=True, text=True)
        check(r.returncode == 0, f"refresh against a changed upstream (stderr: {r.stderr.strip()[-300:]})")
        check(all(os.stat(os.path.join(images, f)).st_ino == ino for f, ino in old_files.items()),
              "refresh rewrote no cached base (a new version is a new file)")
        check(any(f.startswith("sha512-" + hashlib.sha512(new_data).hexdigest()) for f in cached()),
              "the new version is cached under its own checksum")
        r = vm("sums2", f"source = {url}/base.img\nchecksums = {url}/SHA512SUMS\n{signed}")
        r2 = vm("shared2", f"source = {url}/base.img\nchecksums = {url}/SHA512SUMS\n{signed}")
        check(r.returncode == 0 and r2.returncode == 0 and disk_bytes("shared2") == data and disk_bytes("sums2") == data,
              "after the refresh both existing disks still read the old image's bytes")
        os.utime(base[0], (1, 1))
        n = len(requests())
        r = vm("shared2", f"source = {url}/base.img\nchecksums = {url}/SHA512SUMS\n{signed}")
        check(r.returncode == 0 and len(requests()) == n and disk_bytes("shared2") == data,
              "a touched base makes no re-fetch and no swap")
        r = vm("fresh", f"source = {url}/base.img\nchecksums = {url}/SHA512SUMS\n{signed}")
        check(r.returncode == 0 and disk_bytes("fresh") == new_data, "a new VM gets the refreshed version")
        subprocess.run([tool, "--reset", "shared2"], env=env, check=True, capture_output=True)
        r = vm("shared2", f"source = {url}/base.img\nchecksums = {url}/SHA512SUMS\n{signed}")
        check(r.returncode == 0 and disk_bytes("shared2") == new_data, "qvm reset moves a VM to the new version")

        check(hashlib.sha256(open(base[0], "rb").read()).hexdigest() == sha256 and
              os.stat(base[0]).st_ino == base_ino, "the base image was never written")

        r = vm("data", f"source = {url}/base.img\nchecksum = sha256:{sha256}", "[disk:data]\nsize = 16M\n")
        data_disk = os.path.join(tmp, "state", "data", "data.qcow2")
        with open(data_disk, "r+b") as f:
            f.seek(1 << 20)
            f.write(b"precious")
        r = vm("data", f"source = {url}/base.img\nchecksum = sha256:{sha256}", "[disk:data]\nsize = 32M\n")
        blob = open(data_disk, "rb").read()
        check(r.returncode == 0 and b"precious" in blob, "a data disk is never overwritten")
        r = subprocess.run([tool, "--reset", "data"], env=env, capture_output=True, text=True)
        check(r.returncode == 0 and not os.path.exists(os.path.join(tmp, "state", "data", "disk.qcow2"))
              and b"precious" in open(data_disk, "rb").read(), "reset discards the overlay, keeps data disks")

        # M7: a local source with checksums = is verified against its line there
        sumslocal = os.path.join(tmp, "LOCAL256SUMS")
        localsrc = os.path.join(tmp, "lsrc.img")
        with open(localsrc, "wb") as f:  # the first version: www/base.img was refreshed above
            f.write(data)
        with open(sumslocal, "w") as f:
            f.write(f"{'ab' * 32}  lsrc.img\n")
        r = vm("localsums", f"source = {localsrc}\nchecksums = {sumslocal}")
        check(r.returncode == 1 and "checksum mismatch" in r.stderr
              and not os.path.exists(os.path.join(tmp, "state", "localsums", "disk.qcow2")),
              f"a local source that does not match checksums = refuses to boot ({r.stderr.strip()[-200:]})")
        with open(sumslocal, "w") as f:
            f.write(f"{sha256}  lsrc.img\n")
        r = vm("localsums", f"source = {localsrc}\nchecksums = {sumslocal}")
        check(r.returncode == 0, f"and boots when it matches ({r.stderr.strip()[-200:]})")

        local = os.path.join(tmp, "local.img")
        with open(local, "wb") as f:
            f.write(data)
        r = vm("local", f"source = {local}\nchecksum = sha256:{sha256}")
        disk = os.path.join(tmp, "state", "local", "disk.qcow2")
        ino = os.stat(disk).st_ino
        os.rename(local, local + ".moved")
        r = vm("local", f"source = {local}\nchecksum = sha256:{sha256}")
        check(r.returncode == 1 and "is missing" in r.stderr and os.stat(disk).st_ino == ino,
              "an overlay whose base is missing is an error, never re-created")
        os.rename(local + ".moved", local)
        with open(local, "r+b") as f:
            f.write(b"corrupt")
        os.unlink(disk)
        r = vm("local", f"source = {local}\nchecksum = sha256:{sha256}")
        check(r.returncode == 1 and "refusing to boot" in r.stderr and not os.path.exists(disk),
              "a local base with the wrong checksum refuses to boot")
    finally:
        server.kill()
        shutil.rmtree(tmp, ignore_errors=True)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
