#!/usr/bin/env python3
"""run-golden.py - golden seed documents: tests/golden/seed/CASE.ini -> CASE.{meta-data,user-data,vendor-data,network-config}.

Each CASE.ini (with @GOLDEN@ replaced by the golden directory) is given to
`qvm-seed --documents DIR CASE`; every document it writes must equal the
expected file, and a document it does not write must have no expected file.
QVM_REGENERATE=1 rewrites the expected files instead; review the diff.
"""
import glob
import os
import subprocess
import sys
import tempfile

DOCS = ("meta-data", "user-data", "vendor-data", "network-config")


def run_case(qvm_seed, golden, ini, regenerate):
    case = os.path.basename(ini)[:-4]
    with tempfile.TemporaryDirectory() as tmp:
        etc = os.path.join(tmp, "etc")
        os.mkdir(etc)
        with open(ini) as f:
            text = f.read().replace("@GOLDEN@", golden)
        with open(os.path.join(etc, case + ".ini"), "w") as f:
            f.write(text)
        env = dict(os.environ, QVM_CONFIG_DIR=etc, QVM_STATE_ROOT=os.path.join(tmp, "state"))
        env.pop("CREDENTIALS_DIRECTORY", None)
        out = os.path.join(tmp, "out")
        p = subprocess.run([qvm_seed, "--documents", out, case], env=env,
                           capture_output=True, text=True)
        if p.returncode != 0:
            print(f"{case}: qvm-seed failed ({p.returncode}): {p.stderr}")
            return False
        ok = True
        for doc in DOCS:
            got_path = os.path.join(out, doc)
            want_path = os.path.join(golden, f"{case}.{doc}")
            got = open(got_path, "rb").read() if os.path.exists(got_path) else None
            want = open(want_path, "rb").read() if os.path.exists(want_path) else None
            if regenerate:
                if got is None and want is not None:
                    os.unlink(want_path)
                elif got is not None:
                    with open(want_path, "wb") as f:
                        f.write(got)
                continue
            if got != want:
                ok = False
                print(f"{case}: {doc} differs from {want_path}")
                print("--- expected:\n" + (want.decode() if want is not None else "(no file)"))
                print("--- got:\n" + (got.decode() if got is not None else "(not written)"))
        return ok


def main():
    qvm_seed = sys.argv[1]
    golden = os.path.join(os.environ["QVM_SOURCE_ROOT"], "tests", "golden", "seed")
    regenerate = os.environ.get("QVM_REGENERATE") == "1"
    cases = sorted(glob.glob(os.path.join(golden, "*.ini")))
    if not cases:
        print("no golden cases found")
        return 1
    failed = [c for c in cases if not run_case(qvm_seed, golden, c, regenerate)]
    print(f"{len(cases) - len(failed)}/{len(cases)} seed cases ok" + (" (regenerated)" if regenerate else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
