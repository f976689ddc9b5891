#!/usr/bin/env python3
"""test-injection.py - no config value can add a directive to a generated unit.

Feeds the generator VMs whose values hold CR, other control characters, the
long-line mark 0x01, '%' specifiers, blanks, quotes and backslashes, in every
key that reaches a drop-in (description, after/requires, [image] disk,
[disk:*] path, user-data, ssh-authorized-keys-file). Each VM must either be
refused with a path:line diagnostic (and get no units), or get a drop-in that
  - systemd-analyze verify accepts,
  - read the way systemd reads it (a line ends at LF, CR or NUL) holds only
    the directives qvm writes (no command at all: the template runs the helpers),
  - gives back each value exactly (quotes, escapes and '%%' undone as systemd
    undoes them for that directive).
Usage: test-injection.py GENERATOR QVM_LAUNCH
"""
import os
import re
import subprocess
import sys
import tempfile

# The drop-in runs no command at all: the template runs the helpers.
ALLOWED = {"SourcePath", "Description", "Requires", "After", "Wants", "TimeoutStartSec",
           "TimeoutStopSec", "Restart", "LoadCredential", "ReadWritePaths", "Environment",
           "User"}  # User=: vm_user_name(), made only of [A-Za-z0-9_-]
INJECT = "ExecStartPre=+/bin/sh -c 'touch /pwned'"

BASE = b"[vm]\naccel = tcg\n"
IMAGE = b"[image]\nsource = /srv/base.qcow2\n"

# name -> (ini bytes, expected: "refused" or dict of directive -> [values])
CASES = {
    "cr-description": (b"[vm]\ndescription = x\r" + INJECT.encode() + b"\n" + IMAGE, "refused"),
    "lone-cr": (b"[vm]\ndescription = a\rb\n" + IMAGE, "refused"),
    "vt-description": (b"[vm]\ndescription = a\x0bb\n" + IMAGE, "refused"),
    "nul-description": (b"[vm]\ndescription = a\x00" + INJECT.encode() + b"\n" + IMAGE, "refused"),
    "mark-description": (b"[vm]\ndescription = \x01" + b"0\n" + IMAGE, "refused"),
    "mark-alone": (b"[vm]\ndescription = \x01\n" + IMAGE, "refused"),
    "esc-description": (b"[vm]\ndescription = \x1b[31mred\n" + IMAGE, "refused"),
    "cr-disk": (b"[vm]\n[image]\ndisk = /srv/d.raw\r" + INJECT.encode() + b"\n", "refused"),
    "cr-data-disk": (BASE + IMAGE + b"[disk:d]\npath = /srv/x\rReadWritePaths=/\n", "refused"),
    "cr-user-data": (BASE + IMAGE + b"[cloud-init]\nuser-data = /srv/u\r" + INJECT.encode() + b"\n",
                     "refused"),
    "cr-keys-file": (BASE + IMAGE + b"[cloud-init]\nssh-authorized-keys-file = /srv/k\r" +
                     INJECT.encode() + b"\n", "refused"),
    "specifier-after": (b"[vm]\nafter = foo%H.service\n" + IMAGE, "refused"),
    "quote-after": (b"[vm]\nafter = \"x.service\n" + IMAGE, "refused"),
    "dotdot-disk": (b"[vm]\n[image]\ndisk = /srv/../etc/shadow\n", "refused"),
    "backslash-end-path": (BASE + IMAGE + b"[cloud-init]\nuser-data = /srv/u\\\n", "refused"),
    "percent-everywhere": (
        b"[vm]\ndescription = 100% %H %n \\ \"q\" 'q' end\\\nafter = a-b_c.d@e.service\n"
        b"[image]\ndisk = /srv/my disk/\"quoted\" \\back %H;x.raw\n"
        b"[disk:data]\npath = /srv/data %i \"d\".qcow2\nsize = 1G\n"
        b"[cloud-init]\nuser-data = /srv/user data %H \"x\".yaml\n",
        {"Description": ["100% %H %n \\ \"q\" 'q' end"],
         "After": ["a-b_c.d@e.service"],
         "ReadWritePaths": ["/srv/my disk/\"quoted\" \\back %H;x.raw", "-/srv/data %i \"d\".qcow2"],
         "LoadCredential": ["qvm.user-data:/srv/user data %H \"x\".yaml"]}),
    "root-file-disk": (BASE + IMAGE + b"[disk:x]\npath = /x.qcow2\nsize = 1G\n",
                       {"ReadWritePaths": ["-/x.qcow2"]}),
    "keys-file-spaces": (BASE + IMAGE + b"[cloud-init]\nssh-authorized-keys-file = /srv/my keys %u.pub\n",
                         {"LoadCredential": ["qvm.ssh-keys.0:/srv/my keys %u.pub"]}),
}


def systemd_lines(data):
    """Lines as systemd's read_line() sees them: LF, CR and NUL all end one."""
    return [l for l in re.split(r"\r\n|\n|\r|\x00", data) if l]


def unprintf(s):
    """Undo '%%' (any other specifier left in is a failure)."""
    out, i = [], 0
    while i < len(s):
        if s[i] == "%":
            if s[i + 1:i + 2] != "%":
                raise ValueError(f"specifier %{s[i + 1:i + 2]} survives in {s!r}")
            i += 1
        out.append(s[i])
        i += 1
    return "".join(out)


def unquote_word(s):
    """systemd's extract_first_word(EXTRACT_UNQUOTE) over a whole one-word value."""
    out, i, quote, words = [], 0, None, 0
    while i < len(s):
        ch = s[i]
        if ch == "\\":
            out.append(s[i + 1])
            i += 2
            continue
        if quote:
            if ch == quote:
                quote = None
            else:
                out.append(ch)
        elif ch in "\"'":
            quote = ch
        elif ch in " \t":
            raise ValueError(f"value {s!r} splits into more than one word")
        else:
            out.append(ch)
        i += 1
    if quote:
        raise ValueError(f"unterminated quote in {s!r}")
    return "".join(out)


def decode(key, value):
    """A directive's value as systemd reads it."""
    if key == "ReadWritePaths":
        return unprintf(unquote_word(value))
    if key in ("ExecStartPre", "ExecStopPost"):
        return value    # qvm's own command lines: %i is meant, no config value reaches them
    return unprintf(value)


def check_dropin(name, text, expected):
    """Oracle: only qvm's directives, no root command, values round-trip."""
    problems = []
    got = {}
    for line in systemd_lines(text):
        if line.startswith("#") or line.startswith("["):
            continue
        key, sep, value = line.partition("=")
        if not sep or key not in ALLOWED:
            problems.append(f"{name}: new directive line {line!r}")
            continue
        if key == "Environment" and not re.fullmatch(r"QVM_CONFIG_DIGEST=[0-9a-f]{16}", value):
            problems.append(f"{name}: environment other than the config digest {line!r}")
            continue
        try:
            got.setdefault(key, []).append(decode(key, value))
        except (ValueError, IndexError) as e:
            problems.append(f"{name}: {key}: {e}")
    for key, values in expected.items():
        if got.get(key, []) != values:
            problems.append(f"{name}: {key} reads back as {got.get(key)}, want {values}")
    return problems


def verify(tmp, launch, gen, name):
    """systemd-analyze verify on the template plus the drop-in; complaints about our files fail."""
    units = os.path.join(tmp, "units")
    os.makedirs(units, exist_ok=True)
    tmpl = os.path.join(units, "qvm@.service")
    if not os.path.exists(tmpl):
        with open(tmpl, "w") as f:
            f.write("[Unit]\nDescription=test\n[Service]\nType=notify\nExecStart=%s %%i\n" % launch)
    unit = os.path.join(units, f"qvm@{name}.service")
    os.symlink("qvm@.service", unit)
    os.symlink(os.path.join(gen, f"qvm@{name}.service.d"), unit + ".d")
    p = subprocess.run(["systemd-analyze", "verify", "--man=no", unit], cwd=units, capture_output=True,
                       text=True, env=dict(os.environ, SYSTEMD_LOG_LEVEL="notice"))
    ours = [l for l in (p.stdout + p.stderr).splitlines() if "qvm@" in l or tmp in l]
    if p.returncode != 0 or ours:
        return [f"{name}: systemd-analyze verify: {p.stdout}{p.stderr}"]
    return []


def main():
    generator, launch = sys.argv[1], os.path.abspath(sys.argv[2])
    problems = []
    with tempfile.TemporaryDirectory() as tmp:
        etc, gen = os.path.join(tmp, "etc"), os.path.join(tmp, "gen")
        os.makedirs(etc)
        os.makedirs(gen)
        for name, (ini, _) in CASES.items():
            with open(os.path.join(etc, name + ".ini"), "wb") as f:
                f.write(ini)
        libexec = os.path.join(tmp, "libexec")   # verify wants the helpers the units name to exist
        os.makedirs(libexec)
        for helper in ("qvm-image", "qvm-seed", "qvm-net"):
            os.symlink(launch, os.path.join(libexec, helper))
        env = dict(os.environ, QVM_CONFIG_DIR=etc, QVM_LIBEXECDIR=libexec,
                   ASAN_OPTIONS="detect_leaks=0:abort_on_error=1")
        p = subprocess.run([generator, gen], env=env, capture_output=True, text=True, errors="replace")
        if p.returncode != 0:
            print(f"FAIL generator exited {p.returncode}\n{p.stderr}")
            return 1
        for name, (_, expected) in CASES.items():
            dropin = os.path.join(gen, f"qvm@{name}.service.d", "50-qvm.conf")
            if expected == "refused":
                if os.path.exists(dropin):
                    problems.append(f"{name}: should be refused, got {open(dropin, 'rb').read()!r}")
                elif not re.search(re.escape(name) + r"\.ini:\d+: ", p.stderr):
                    problems.append(f"{name}: refused without a path:line diagnostic")
                else:
                    print(f"ok   {name} refused")
                continue
            if not os.path.exists(dropin):
                problems.append(f"{name}: no drop-in; generator said:\n{p.stderr}")
                continue
            with open(dropin, "rb") as f:
                text = f.read().decode("utf-8", "surrogateescape")
            found = check_dropin(name, text, expected) + verify(tmp, launch, gen, name)
            problems += found
            if not found:
                print(f"ok   {name}")
    for prob in problems:
        print("FAIL " + prob)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
