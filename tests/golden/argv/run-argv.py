#!/usr/bin/env python3
"""run-argv.py - golden tests of the QEMU command line: tests/golden/argv/CASE.ini -> CASE.args.

Each case may have CASE.flags: argv-dump options that pin other host facts
(--kvm, --no-sandbox, --host-arch aarch64, ...). Paths are pinned with
QVM_STATE_ROOT=/var/lib/qvm, QVM_RUNTIME_ROOT=/run/qvm, QVM_CACHE_DIR=/var/cache/qvm
and the firmware descriptors in tests/golden/argv/firmware/.

QVM_REGENERATE=1 rewrites the .args files; review that diff like code.
"""
import difflib
import glob
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def run_case(tool, ini):
    """The tool's output for one case, with the case's flags."""
    flags_file = ini[:-4] + ".flags"
    flags = open(flags_file).read().split() if os.path.exists(flags_file) else []
    env = {k: v for k, v in os.environ.items()
           if k not in ("STATE_DIRECTORY", "RUNTIME_DIRECTORY", "CACHE_DIRECTORY")}
    env.update(QVM_STATE_ROOT="/var/lib/qvm", QVM_RUNTIME_ROOT="/run/qvm", QVM_CACHE_DIR="/var/cache/qvm")
    out = subprocess.run([tool] + flags + [os.path.basename(ini)], cwd=HERE, env=env,
                         capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"{ini}: argv-dump failed ({out.returncode}): {out.stderr}")
    return out.stdout


def main():
    tool = os.path.abspath(sys.argv[1])
    regenerate = os.environ.get("QVM_REGENERATE") == "1"
    cases = sorted(glob.glob(os.path.join(HERE, "*.ini")))
    failed = 0
    for ini in cases:
        got = run_case(tool, ini)
        expected_file = ini[:-4] + ".args"
        if regenerate:
            with open(expected_file, "w") as f:
                f.write(got)
            continue
        expected = open(expected_file).read() if os.path.exists(expected_file) else ""
        if got != expected:
            failed += 1
            print(f"FAIL {os.path.basename(ini)}")
            sys.stdout.writelines(difflib.unified_diff(expected.splitlines(True), got.splitlines(True),
                                                       expected_file, "got"))
        else:
            print(f"ok   {os.path.basename(ini)}")
    print(f"{len(cases) - failed}/{len(cases)} argv cases match")
    if len(cases) < 15:
        sys.exit("fewer than 15 argv cases")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
