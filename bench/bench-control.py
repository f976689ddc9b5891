#!/usr/bin/env python3
"""bench-control.py - qvm's control plane with 1000 VM files, under a real systemd.

In one systemd container (tests/integration/harness.py) with BENCH_FILES VM files
(default 1000; half of them autostart = yes, so their units are loaded), the
median of BENCH_RUNS runs (default 5) of:

  daemon-reload    with qvm's generator installed, and with it moved away (the
                   baseline: systemd's own reload with the same units);
  qvm list         and qvm list --json, against `systemctl list-units --all 'qvm@*'`
                   (systemd's own listing of the loaded units);
  qvm check        every file, against the generator alone run by hand on them.

Nothing is started: the files are written after boot, and daemon-reload does not
start autostart units. Goals: reload with the generator < 2x without it; qvm list
< 200 ms. Needs root; exits 77 when no container can be booted.
"""

import os
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests",
                                "integration"))
from harness import Container, HarnessError, install_path, log, skip_unless_possible  # noqa: E402

FILES = int(os.environ.get("BENCH_FILES", "1000"))
RUNS = int(os.environ.get("BENCH_RUNS", "5"))

VM = """[vm]
description = control-plane VM {i}
autostart = {auto}
accel = tcg
memory = 256M
[network]
ssh = {port}
[boot]
kernel = /srv/vmlinuz
"""


# Run argv RUNS times inside the container; print wall and CPU (user + sys) seconds of each run.
TIMER = """
import resource, subprocess, sys, time
for _ in range(int(sys.argv[1])):
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.monotonic()
    r = subprocess.run(sys.argv[2:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wall = time.monotonic() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    print("FAIL" if r.returncode else "", wall, cpu)
"""


def timed(c, argv, runs=RUNS):
    """Median (wall, CPU) seconds of @argv run inside the container. CPU is what the
    command itself used: on a loaded machine wall time is mostly waiting for a core.
    For `systemctl daemon-reload` the work is systemd's (PID 1), so CPU says little."""
    out = c.run(["python3", "-c", TIMER, str(runs), *argv], timeout=3600).stdout.splitlines()
    if any(line.startswith("FAIL") for line in out):
        raise HarnessError(f"{' '.join(argv)} failed: {out}")
    rows = [tuple(float(x) for x in line.split()) for line in out if line.strip()]
    return statistics.median(w for w, _ in rows), statistics.median(c for _, c in rows)


def row(what, value, base, base_what, cpu=True):
    """One line: figure, baseline, ratio (wall; CPU in brackets)."""
    (v, vc), (b, bc) = value, base
    vs = f"{v * 1000:>7.1f} ms" + (f" (cpu {vc * 1000:6.1f})" if cpu else " " * 15)
    bs = f"{b * 1000:>7.1f} ms" + (f" (cpu {bc * 1000:6.1f})" if cpu else " " * 15)
    print(f"{what:<18} {vs}   {base_what:<36} {bs}   ratio {v / b:.2f}"
          + (f" (cpu {vc / bc:.2f})" if cpu and bc else ""))


def main():
    """Write the files, time each operation and its baseline, print the table."""
    skip_unless_possible()
    with Container("bench-control", grace=120) as c:
        c.boot()
        c.write("/srv/vmlinuz", "not a kernel: nothing here is started\n")
        for i in range(FILES):
            c.write(f"/etc/qvm/vm{i:04d}.ini",
                    VM.format(i=i, auto="yes" if i % 2 else "no", port=10000 + i))
        c.systemctl("daemon-reload")
        loaded = int(c.sh("systemctl list-units --all --plain --no-legend 'qvm@*' | wc -l").stdout)
        log(f"{FILES} VM files, {loaded} qvm@ units loaded")
        gen = install_path("qvm-generator", c.build)
        with_gen = timed(c, ["systemctl", "daemon-reload"])
        generator = timed(c, ["bash", "-c", f"d=$(mktemp -d) && {gen} $d $d $d; rm -rf $d"])
        c.run(["mv", gen, gen + ".off"])
        without = timed(c, ["systemctl", "daemon-reload"])
        c.run(["mv", gen + ".off", gen])
        c.systemctl("daemon-reload")
        listed = c.run(["qvm", "list", "--json"]).stdout
        if listed.count('"name"') != FILES:
            raise HarnessError(f"qvm list --json shows {listed.count(chr(34) + 'name')} VMs, not {FILES}")
        qlist = timed(c, ["qvm", "list"])
        qjson = timed(c, ["qvm", "list", "--json"])
        sysl = timed(c, ["systemctl", "list-units", "--all", "--no-pager", "qvm@*"])
        check = timed(c, ["qvm", "check", "-q"])
    print(f"\nhost load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    print(f"\n{FILES} VM files ({FILES // 2} autostart, {loaded} units loaded), median of {RUNS}")
    row("daemon-reload", with_gen, without, "daemon-reload without qvm-generator", cpu=False)
    row("qvm list", qlist, sysl, "systemctl list-units --all 'qvm@*'")
    row("qvm list --json", qjson, sysl, "systemctl list-units --all 'qvm@*'")
    row("qvm check", check, generator, "qvm-generator alone, same files")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except HarnessError as e:
        print(f"bench-control: {e}", file=sys.stderr)
        sys.exit(1)
