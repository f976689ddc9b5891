#!/usr/bin/env python3
"""bench-generator.py - qvm-generator on 1000 VM files, beside a baseline that only reads them.

Both run alternately in the same process, 15 times each, on the same
directory; the medians and their ratio are printed. Goal: the generator well
under 100 ms for 1000 VMs.
"""
import os
import statistics
import subprocess
import sys
import tempfile
import time

VM = """[vm]
description = bench VM {i}
autostart = {auto}
memory = 2G
cpus = 2
after = vm{prev}
[image]
source = https://example.org/images/debian-12.qcow2
checksums = https://example.org/images/SHA512SUMS
size = 20G
[disk:data]
size = 10G
[cloud-init]
user = dev
ssh-authorized-key = ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJ7benchkey{i} dev@laptop
packages = git, htop
[network]
ssh = {port}
"""


def timed(argv, env):
    t = time.perf_counter()
    subprocess.run(argv, env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t


def main():
    generator, baseline = sys.argv[1], sys.argv[2]
    n = int(os.environ.get("QVM_BENCH_VMS", "1000"))
    # systemd gives generators directories on tmpfs (/run); do the same.
    with tempfile.TemporaryDirectory(dir="/dev/shm" if os.path.isdir("/dev/shm") else None) as tmp:
        cfg = os.path.join(tmp, "etc")
        os.mkdir(cfg)
        for i in range(n):
            with open(os.path.join(cfg, f"vm{i}.ini"), "w") as f:
                f.write(VM.format(i=i, prev=max(i - 1, 0) if i else "x", auto="yes" if i % 2 else "no",
                                  port=20000 + i))
        env = dict(os.environ, QVM_CONFIG_DIR=cfg, ASAN_OPTIONS="detect_leaks=0")
        gen_times, base_times = [], []
        for run in range(15):
            out = os.path.join(tmp, f"out{run}")
            os.mkdir(out)
            gen_times.append(timed([generator, out], env))
            base_times.append(timed([baseline, cfg], env))
            if run == 0:
                made = sum(1 for d in os.listdir(out) if d.endswith(".service.d"))
                if made != n:
                    print(f"generator made {made} drop-ins for {n} VMs")
                    return 1
        g, b = statistics.median(gen_times), statistics.median(base_times)
        print(f"generator, {n} VMs: median {g * 1000:.1f} ms")
        print(f"baseline (read the same files): median {b * 1000:.1f} ms")
        print(f"ratio generator/baseline: {g / b:.1f}x; per VM: {g / n * 1e6:.0f} us")
        return 0


if __name__ == "__main__":
    sys.exit(main())
