#!/usr/bin/env python3
"""test-teardown.py - the harness leaves nothing behind, however its test ends.

Runs a child that boots a container and then (a) fails an assertion, (b) gets
meson's timeout treatment (SIGTERM to its process group, SIGKILL half a second
later), or (c) gets SIGKILL at once.  Each time, within a minute: no systemd-nspawn
of that container, no mount under its temp dir, and the temp dir is gone; for
(a) the journal was dumped into the log first.
"""

import os
import re
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Container, skip_unless_possible  # noqa: E402


def child(mode):
    """Boot a container, then fail or wait to be killed."""
    with Container(f"teardown-{mode}") as c:
        c.boot()
        print("READY", flush=True)
        if mode == "fail":
            raise AssertionError("deliberate failure")
        time.sleep(600)


def leftovers(tmp, machine):
    """What of this container still exists."""
    left = []
    if os.path.exists(tmp):
        left.append(f"dir {tmp}")
    with open("/proc/self/mountinfo") as f:
        left += [f"mount {line.split()[4]}" for line in f if line.split()[4].startswith(tmp)]
    r = subprocess.run(["pgrep", "-f", f"systemd-nspawn.*{tmp}/root"], capture_output=True, text=True)
    left += [f"nspawn pid {p}" for p in r.stdout.split()]
    return left


def run(mode):
    """One child run ending as @mode; Return: list of problems."""
    p = subprocess.Popen([sys.executable, __file__, "--child", mode], stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, text=True, start_new_session=True)
    out, tmp, machine = "", None, None
    for line in p.stdout:
        out += line
        m = re.search(r"booting container (\S+) in (\S+)", line)
        if m:
            machine, tmp = m.groups()
        if line.startswith("READY"):
            break
    if not tmp:
        p.kill()
        return [f"{mode}: the child never booted:\n{out}"]
    if mode == "meson-timeout":
        os.killpg(p.pid, signal.SIGTERM)
        time.sleep(0.5)
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGKILL)
    elif mode == "kill":
        os.killpg(p.pid, signal.SIGKILL)
    out += p.stdout.read()
    p.wait()
    problems = []
    if mode == "fail" and "--- journalctl -b" not in out:
        problems.append(f"{mode}: the journal was not dumped on failure:\n{out[-2000:]}")
    deadline = time.monotonic() + 60
    while leftovers(tmp, machine) and time.monotonic() < deadline:
        time.sleep(0.5)
    left = leftovers(tmp, machine)
    if left:
        problems.append(f"{mode}: left behind after 60s: {left}")
    print(f"{mode}: {'clean' if not left else left}", flush=True)
    return problems


def main():
    """Run the three endings and report."""
    if len(sys.argv) == 3 and sys.argv[1] == "--child":
        child(sys.argv[2])
        return 0
    skip_unless_possible()
    problems = []
    for mode in ("fail", "meson-timeout", "kill"):
        problems += run(mode)
    for p in problems:
        print("FAIL:", p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
