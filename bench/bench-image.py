#!/usr/bin/env python3
"""bench-image.py - qvm-image downloads against curl, and a warm start.

Cold: a 500 MiB image from a local HTTP server (tests/image/server.py on
127.0.0.1), qvm-image (download, hash while streaming, fsync, verify, rename,
overlay) against `curl -o` of the same file, in the same run, alternating.
Warm: qvm-image with the image cached and the overlay in place, against a
bare process start (/bin/true) for scale.
Usage: bench-image.py QVM_IMAGE [SIZE_MIB] [ROUNDS]
"""
import hashlib
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SERVER = os.path.join(os.path.dirname(HERE), "tests", "image", "server.py")


def timed(argv, env=None):
    t0 = time.monotonic()
    p = subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if p.returncode != 0:
        sys.exit(f"{argv[0]} failed: {p.stderr}")
    return time.monotonic() - t0


def main():
    tool = os.path.abspath(sys.argv[1])
    size_mib = int(sys.argv[2]) if len(sys.argv) > 2 else 500
    rounds = int(sys.argv[3]) if len(sys.argv) > 3 else 3
    tmp = tempfile.mkdtemp(prefix="qvm-bench-image.", dir="/var/tmp")
    try:
        www = os.path.join(tmp, "www")
        os.makedirs(www)
        block = os.urandom(1 << 20)
        h = hashlib.sha256()
        with open(os.path.join(www, "big.img"), "wb") as f:
            for i in range(size_mib):
                chunk = block[:-8] + i.to_bytes(8, "little")
                f.write(chunk)
                h.update(chunk)
        server = subprocess.Popen([sys.executable, SERVER, www], stdout=subprocess.PIPE, text=True)
        url = f"http://127.0.0.1:{server.stdout.readline().strip()}/big.img"
        etc = os.path.join(tmp, "etc")
        os.makedirs(etc)
        with open(os.path.join(etc, "b.ini"), "w") as f:
            f.write(f"[image]\nsource = {url}\nchecksum = sha256:{h.hexdigest()}\n")
        env = dict(os.environ, QVM_CONFIG_DIR=etc, QVM_STATE_ROOT=os.path.join(tmp, "state"),
                   QVM_CACHE_DIR=os.path.join(tmp, "cache"))
        env.pop("NOTIFY_SOCKET", None)
        qvm, curl, curl_verify = [], [], []
        for _ in range(rounds):
            shutil.rmtree(os.path.join(tmp, "cache"), ignore_errors=True)
            shutil.rmtree(os.path.join(tmp, "state"), ignore_errors=True)
            qvm.append(timed([tool, "b"], env))
            out = os.path.join(tmp, "curl.img")
            curl.append(timed(["curl", "-sS", "-o", out, url]))
            os.unlink(out)
            # what a careful admin types: download, then verify (qvm-image also fsyncs)
            curl_verify.append(timed(["sh", "-c", f"curl -sS -o {out} {url} && sha256sum {out} && sync {out}"]))
            os.unlink(out)
        q, c, cv = statistics.median(qvm), statistics.median(curl), statistics.median(curl_verify)
        print(f"cold {size_mib} MiB: qvm-image {q:.2f}s ({size_mib / q:.0f} MiB/s), curl -o {c:.2f}s "
              f"({size_mib / c:.0f} MiB/s), ratio {q / c:.2f} (goal: within 10%, <= 1.10)")
        print(f"  against curl -o + sha256sum + sync {cv:.2f}s: ratio {q / cv:.2f}")
        warm = [timed([tool, "b"], env) * 1000 for _ in range(20)]
        base = [timed(["/bin/true"]) * 1000 for _ in range(20)]
        w, b = statistics.median(warm), statistics.median(base)
        print(f"warm start (image cached, overlay in place): qvm-image {w:.1f} ms, /bin/true {b:.1f} ms, "
              f"ratio {w / b:.1f} (goal: under 50 ms)")
        server.kill()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
