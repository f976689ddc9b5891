#!/usr/bin/env python3
# test-man.py - qvm(1) documents every subcommand and option that qvm --help lists; every man page is installed
import os
import re
import shutil
import subprocess
import sys

src = os.environ.get("QVM_SOURCE_ROOT", os.path.join(os.path.dirname(__file__), "..", ".."))
qvm = os.path.join(os.environ.get("QVM_BUILD_ROOT", "build"), "helpers", "qvm")
failures = []


def fail(msg):
    failures.append(msg)
    print("FAIL:", msg)


def man_text(name):
    with open(os.path.join(src, "man", name)) as f:
        return f.read()


page = man_text("qvm.1")
unescaped = page.replace("\\-", "-")
headings = [l[4:].strip('"').replace("\\-", "-") for l in page.splitlines() if l.startswith(".SS ")]

usage = subprocess.run([qvm, "--help"], capture_output=True, text=True, check=True).stdout
commands = [l.split()[0] for l in usage.splitlines() if re.match(r"^  [a-z]", l)]
if len(commands) < 10:
    fail("qvm --help lists only %d commands: %r" % (len(commands), commands))
for cmd in commands:
    if not any(re.match(r"^%s\b" % cmd, h) or re.search(r", %s\b" % cmd, h) for h in headings):
        fail("qvm.1 has no .SS section for '%s'" % cmd)
    helptext = subprocess.run([qvm, cmd, "--help"], capture_output=True, text=True).stdout
    for opt in sorted(set(re.findall(r"--[a-z][a-z-]+", helptext))):
        if opt != "--help" and opt not in unescaped:
            fail("qvm.1 does not mention '%s' of qvm %s" % (opt, cmd))
for code in ("0", "1", "2"):
    if not re.search(r"\.SH EXIT STATUS(.|\n)*\n\.B %s\n" % code, page):
        fail("qvm.1 EXIT STATUS does not document %s" % code)
if "Ctrl\\-]" not in page:
    fail("qvm.1 does not document the console escape key")

# Every page in man/ is installed and renders without warnings. (Pages named in SEE ALSO may come
# from other parts of qvm, e.g. qvm-seed(8) from the seed helper, so they are not required here.)
pages = sorted(f for f in os.listdir(os.path.join(src, "man")) if re.search(r"\.[1-8]$", f))
with open(os.path.join(src, "man", "meson.build")) as f:
    install = f.read()
for p in pages:
    if "'%s'" % p not in install:
        fail("man/%s is not installed by man/meson.build" % p)
    if not shutil.which("man"):
        continue
    out = subprocess.run(["man", "--warnings", "-l", os.path.join(src, "man", p)], capture_output=True,
                         text=True, env=dict(os.environ, MANWIDTH="80", LC_ALL="C.UTF-8", MAN_KEEP_STDERR="1"))
    if out.returncode == 0 and out.stderr.strip():
        fail("man/%s: %s" % (p, out.stderr.strip()))

print("%d commands, %d pages checked, %d failures" % (len(commands), len(pages), len(failures)))
sys.exit(1 if failures else 0)
