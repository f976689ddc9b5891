#!/usr/bin/env python3
"""run-generator.py - golden-directory tests of qvm-generator.

Each case tests/golden/generator/NN-case/ holds an input tree root/ (with
root/etc/qvm/*.ini and, where a case needs it, root/lib/systemd/system/) and
the expected output: expected/ (the generator's output dir, symlinks
included) and expected-stderr.txt (its diagnostics). The generator runs with
QVM_CONFIG_DIR=root/etc/qvm and QVM_GENERATOR_ROOT=root. Paths under the case
dir are written as @ROOT@ in the comparison.

QVM_REGENERATE=1 rewrites the expected files; review that diff like code.
"""
import os
import shutil
import subprocess
import sys
import tempfile

CASES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "generator")


def snapshot(top):
    """Every entry under top as {relative path: ('file', text) | ('link', target) | ('dir',)}."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(top):
        for name in dirnames + filenames:
            full = os.path.join(dirpath, name)
            rel = os.path.relpath(full, top)
            if os.path.islink(full):
                out[rel] = ("link", os.readlink(full))
            elif os.path.isdir(full):
                out[rel] = ("dir",)
            else:
                with open(full) as f:
                    out[rel] = ("file", f.read())
    return out


def run_case(generator, case):
    root = os.path.join(case, "root")
    with tempfile.TemporaryDirectory() as tmp:
        normal, early, late = (os.path.join(tmp, d) for d in ("normal", "early", "late"))
        for d in (normal, early, late):
            os.mkdir(d)
        env = dict(os.environ, QVM_CONFIG_DIR=os.path.join(root, "etc/qvm"), QVM_GENERATOR_ROOT=root,
                   QVM_LIBEXECDIR="/usr/libexec/qvm", QVM_UNITDIR="/lib/systemd/system",
                   QVM_SOCKET_PROXYD="/lib/systemd/systemd-socket-proxyd")
        env.pop("SYSTEMD_SCOPE", None)
        proc = subprocess.run([generator, normal, early, late], env=env, capture_output=True, text=True)
        stderr = proc.stderr.replace(root, "@ROOT@")
        got = {k: tuple(x.replace(root, "@ROOT@") for x in v) for k, v in snapshot(normal).items()}
        problems = []
        if proc.returncode != 0:
            problems.append(f"exit status {proc.returncode}, expected 0")
        for extra in (early, late):
            if os.listdir(extra):
                problems.append(f"wrote into {os.path.basename(extra)} dir: {os.listdir(extra)}")
        expected_dir = os.path.join(case, "expected")
        expected_err = os.path.join(case, "expected-stderr.txt")
        if os.environ.get("QVM_REGENERATE"):
            shutil.rmtree(expected_dir, ignore_errors=True)
            shutil.copytree(normal, expected_dir, symlinks=True)
            for rel, v in got.items():
                if v[0] == "file":
                    with open(os.path.join(expected_dir, rel), "w") as f:
                        f.write(v[1])
            with open(expected_err, "w") as f:
                f.write(stderr)
            return problems
        want = snapshot(expected_dir) if os.path.isdir(expected_dir) else {}
        for rel in sorted(set(want) | set(got)):
            if rel not in got:
                problems.append(f"missing: {rel}")
            elif rel not in want:
                problems.append(f"unexpected: {rel} {got[rel]}")
            elif want[rel] != got[rel]:
                problems.append(f"differs: {rel}\n  want {want[rel]!r}\n  got  {got[rel]!r}")
        with open(expected_err) as f:
            want_err = f.read()
        if want_err != stderr:
            problems.append(f"stderr differs:\n--- want\n{want_err}--- got\n{stderr}")
        return problems


def main():
    generator = sys.argv[1]
    failed = passed = 0
    for name in sorted(os.listdir(CASES)):
        case = os.path.join(CASES, name)
        if not os.path.isdir(case):
            continue
        problems = run_case(generator, case)
        if problems:
            failed += 1
            print(f"FAIL {name}")
            for p in problems:
                print("  " + p)
        else:
            passed += 1
            print(f"ok   {name}")
    print(f"{passed} passed, {failed} failed")
    return 1 if failed or not passed else 0


if __name__ == "__main__":
    sys.exit(main())
