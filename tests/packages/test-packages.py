#!/usr/bin/env python3
"""test-packages.py - packages/run.txt covers every program qvm's scripts and helpers run.

Fails when:
  - a program or file that qvm-image-build's tool table, quickstart.sh or a C helper uses is
    in no line of packages/run.txt (quickstart.sh may also use packages/build.txt: it builds);
  - `dpkg -S` says a listed program or file belongs to another package than its line says;
  - a shared library a built helper links (ELF NEEDED) comes from a package not in run.txt;
  - a package is listed twice, or the retired tests/build-deps.txt is back;
  - qvm-image-build, missing a program, does not name its package from run.txt.
"""

import os
import re
import shutil
import subprocess
import sys
import tempfile

SRC = os.environ.get("QVM_SOURCE_ROOT", os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.environ.get("QVM_BUILD_ROOT", "")
failures = []

# Words in scripts that name an executable on PATH but are not run as one there.
NOT_RUN = {
    # the printed "ssh -p PORT USER@..." hint; pgrep's process name; getent's database
    "quickstart.sh": {"ssh", "systemd", "passwd", "poweroff"},  # and systemctl's verb
    "qvm-image-build": {"convert"},  # qemu-img's subcommand
}
# Libraries of the toolchain (sanitizers) and of libc itself: not qvm's to list.
TOOLCHAIN_PKGS = {"libc6", "libasan8", "libubsan1", "libgcc-s1"}


def fail(msg):
    failures.append(msg)
    print("FAIL: " + msg)


def read_list(name):
    """[(package, [programs...], line)] of packages/NAME.txt."""
    rows = []
    with open(os.path.join(SRC, "packages", name)) as f:
        for n, line in enumerate(f, 1):
            words = line.split("#", 1)[0].split()
            if words:
                rows.append((words[0], words[1:], n))
    return rows


def spellings(path):
    """@path, its real path, and their /usr-merged twins (dpkg knows only one of them)."""
    base = os.path.basename(path)
    candidates = [path, os.path.realpath(path), "/usr/bin/" + base, "/usr/sbin/" + base]
    for p in list(candidates):
        for a, b in (("/usr/bin/", "/bin/"), ("/usr/sbin/", "/sbin/"), ("/usr/lib/", "/lib/")):
            if p.startswith(a):
                candidates.append(b + p[len(a):])
            elif p.startswith(b):
                candidates.append(a + p[len(b):])
    return candidates


OWNERS = {}


def dpkg_owners(paths):
    """Fill OWNERS for @paths with one `dpkg -S` run (dpkg is slow to start)."""
    todo = sorted({c for p in paths if p for c in spellings(p)} - set(OWNERS))
    if not todo:
        return
    out = subprocess.run(["dpkg", "-S", *todo], capture_output=True, text=True).stdout
    for line in out.splitlines():
        pkgs, _, path = line.partition(": ")
        OWNERS[path] = pkgs.split(",")[0].split(":")[0].strip()
    for p in todo:
        OWNERS.setdefault(p, None)


def dpkg_owner(path):
    """The package dpkg says has @path, trying the /usr-merged spellings too; None if none."""
    dpkg_owners([path])
    return next((OWNERS[c] for c in spellings(path) if OWNERS.get(c)), None)


def strip_shell(text):
    """Shell code without comments, here-documents, single-quoted strings and plain messages."""
    out, heredoc = [], None
    for line in text.splitlines():
        if heredoc:
            if line.strip() == heredoc:
                heredoc = None
            continue
        m = re.search(r"<<-?\s*['\"]?(\w+)['\"]?", line)
        if m:
            heredoc = m.group(1)
        out.append(re.sub(r"(^|\s)#.*", "", line))
    return unquote("\n".join(out))


def unquote(code):
    """@code with quoted text dropped: '...' entirely, "..." but for its $(...) commands."""
    out, i, n = [], 0, len(code)
    while i < n:
        c = code[i]
        if c == "\\":
            i += 2
        elif c == "'":
            i = code.find("'", i + 1) + 1 or n
        elif c == '"':
            i += 1
            while i < n and code[i] != '"':
                if code[i] == "\\":
                    i += 2
                elif code.startswith("$(", i):
                    depth, j = 1, i + 2
                    while j < n and depth:
                        depth += {"(": 1, ")": -1}.get(code[j], 0)
                        j += 1
                    out.append(" " + unquote(code[i + 2:j - 1]) + " ")
                    i = j
                else:
                    i += 1
            i += 1
            out.append('""')
        else:
            out.append(c)
            i += 1
    return "".join(out)


def shell_programs(path):
    """The words of a shell script that name an executable on PATH (its functions excluded)."""
    code = strip_shell(open(path).read())
    functions = set(re.findall(r"^\s*([\w-]+)\(\)\s*\{", code, re.M))
    builtins = set(subprocess.run(["bash", "-c", "compgen -b; compgen -k"], capture_output=True,
                                  text=True).stdout.split())
    words = set(re.findall(r"(?<![\w$./=,-])([a-z][\w.+-]*)(?![\w/=,-])", code))
    skip = functions | builtins | NOT_RUN.get(os.path.basename(path), set())
    return {w for w in words - skip if shutil.which(w)}


def image_build_tools():
    """The tools=(...) table of qvm-image-build."""
    text = open(os.path.join(SRC, "helpers", "qvm-image-build")).read()
    m = re.search(r"^tools=\(([^)]*)\)", text, re.M)
    if not m:
        fail("qvm-image-build has no tools=(...) table")
        return set()
    return set(m.group(1).split())


def c_programs():
    """Programs the C code runs: string literals naming an executable, qemu-system-ARCH."""
    found = set()
    for d in ("lib", "helpers", "generator"):
        for name in sorted(os.listdir(os.path.join(SRC, d))):
            if not name.endswith(".c"):
                continue
            text = open(os.path.join(SRC, d, name)).read()
            for lit in re.findall(r'"([a-z][\w.+-]*)"', text):
                if lit == "qemu-system-%s":
                    continue
                if shutil.which(lit) and re.search(r'exec\w*\(\s*"' + re.escape(lit) + '"|'
                                                   r'\(char \*\)"' + re.escape(lit) + '"', text):
                    found.add(lit)
            if "qemu-system-%s" in text:
                found.add("qemu-system-x86_64")
    found.add(os.path.basename("/lib/systemd/systemd-socket-proxyd"))  # unitgen's forwarder
    return found


def main():
    run, build = read_list("run.txt"), read_list("build.txt")
    covered_run = {p: pkg for pkg, progs, _ in run for p in progs}
    covered_run.update({os.path.basename(p): pkg for pkg, progs, _ in run for p in progs
                        if p.startswith("/")})
    names = [pkg for pkg, _, _ in run] + [pkg for pkg, _, _ in build]
    for dup in sorted({n for n in names if names.count(n) > 1}):
        fail(f"package {dup} is listed twice in packages/*.txt")
    if os.path.exists(os.path.join(SRC, "tests", "build-deps.txt")):
        fail("tests/build-deps.txt is back: move its lines into packages/run.txt or packages/build.txt")
    build_only = {pkg for pkg, _, _ in build}

    dpkg_owners([p if p.startswith("/") else shutil.which(p) for _, progs, _ in run for p in progs])

    # Every program used is covered.
    uses = {
        "helpers/qvm-image-build (tools=)": (image_build_tools(), False),
        "helpers/qvm-image-build": (shell_programs(os.path.join(SRC, "helpers", "qvm-image-build")), False),
        "quickstart.sh": (shell_programs(os.path.join(SRC, "quickstart.sh")), True),
        "C helpers": (c_programs(), False),
    }
    for who, (programs, may_build) in sorted(uses.items()):
        print(f"{who}: {' '.join(sorted(programs))}")
        for prog in sorted(programs):
            if prog in covered_run:
                continue
            owner = dpkg_owner(shutil.which(prog) or prog) if not prog.startswith("/") else dpkg_owner(prog)
            if may_build and owner in build_only:
                continue
            fail(f"{who} uses {prog} (package {owner or '?'}), which packages/run.txt does not list:"
                 f" add it to the line of {owner or 'its package'}")

    # Every listed program is really in the package its line names.
    for pkg, progs, line in run:
        for prog in progs:
            path = prog if prog.startswith("/") else shutil.which(prog)
            if not path or not os.path.exists(path):
                fail(f"packages/run.txt:{line}: {prog} is not on this machine (is {pkg} installed?)")
                continue
            owner = dpkg_owner(path)
            if owner != pkg:
                fail(f"packages/run.txt:{line}: dpkg -S puts {prog} in {owner}, not {pkg}")

    # Every shared library the built helpers link comes from a run-time package.
    run_pkgs = {pkg for pkg, _, _ in run}
    bindir = os.path.join(BUILD, "helpers") if BUILD else ""
    if bindir and os.path.isdir(bindir) and shutil.which("readelf"):
        ldcache = {}
        for line in subprocess.run(["ldconfig", "-p"], capture_output=True, text=True).stdout.splitlines()[1:]:
            name, _, path = line.strip().partition(" => ")
            ldcache.setdefault(name.split(" ")[0], path)
        needed = {}
        for name in sorted(os.listdir(bindir)):
            path = os.path.join(bindir, name)
            if name.startswith("qvm") and os.access(path, os.X_OK) and os.path.isfile(path):
                out = subprocess.run(["readelf", "-d", path], capture_output=True, text=True).stdout
                needed[name] = re.findall(r"\(NEEDED\).*\[(.+)\]", out)
        dpkg_owners([ldcache.get(lib) for libs in needed.values() for lib in libs])
        for name, libs in sorted(needed.items()):
            for lib in libs:
                ldpath = ldcache.get(lib)
                owner = dpkg_owner(ldpath) if ldpath else None
                if owner and owner not in run_pkgs and owner not in TOOLCHAIN_PKGS:
                    fail(f"helpers/{name} links {lib} from {owner}, which packages/run.txt does not list")

    # qvm-image-build names the package of a missing program from run.txt.
    if os.geteuid() == 0:
        with tempfile.TemporaryDirectory() as bindir:
            for d in os.environ["PATH"].split(":"):
                if os.path.isdir(d):
                    for name in os.listdir(d):
                        if name != "mkfs.vfat" and not os.path.exists(os.path.join(bindir, name)):
                            os.symlink(os.path.join(d, name), os.path.join(bindir, name))
            r = subprocess.run(["bash", os.path.join(SRC, "helpers", "qvm-image-build"), "debian-12",
                                os.path.join(bindir, "out.qcow2")], capture_output=True, text=True,
                               env={**os.environ, "PATH": bindir})
            want = "mkfs.vfat not found (apt-get install dosfstools)"
            if r.returncode == 0 or want not in r.stderr:
                fail(f"qvm-image-build without mkfs.vfat: want '{want}', got rc {r.returncode}: {r.stderr!r}")

    if failures:
        sys.exit(1)
    print("OK")


if __name__ == "__main__":
    main()
