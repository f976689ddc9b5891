#!/usr/bin/env python3
"""test-libraries.py - qvm-generator, run at every boot and daemon-reload, needs only
libc, libinih and libsystemd (and the sanitizer runtimes in a sanitizer build): it is
linked against libqvm_core, never curl, libisofs, libmnl, json-c, libyaml or libcrypto."""
import re
import subprocess
import sys

ALLOWED = re.compile(r"^(libc|libm|libinih|libsystemd|libasan|libubsan|libgcc_s|libstdc\+\+|ld-linux.*)\.so")

out = subprocess.run(["readelf", "-d", sys.argv[1]], check=True, capture_output=True, text=True).stdout
needed = re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", out)
bad = [lib for lib in needed if not ALLOWED.match(lib)]
print("needed:", " ".join(needed))
if not needed or bad:
    print(f"FAIL: qvm-generator needs {bad or 'nothing?'}; link it against libqvm_core only")
    sys.exit(1)
print("ok   qvm-generator needs only inih, libsystemd and libc")
