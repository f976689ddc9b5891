#!/usr/bin/env python3
"""test-confinement.py - qvm-generator writes only into its output dir and does no IPC.

Runs the built generator under strace on a config dir with good, autostart
and broken VMs, and fails if any syscall creates, changes or removes a path
outside the normal output dir, opens a socket, or writes into the early/late
dirs. Run as a systemd generator ($SYSTEMD_SCOPE set) it may also write
/dev/kmsg, and nothing else.
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile

WRITE_CALLS = {"mkdir", "mkdirat", "symlink", "symlinkat", "link", "linkat", "unlink", "unlinkat",
               "rename", "renameat", "renameat2", "rmdir", "chmod", "fchmodat", "chown", "fchownat",
               "lchown", "truncate", "utimensat", "mknod", "mknodat"}
IPC_CALLS = {"socket", "socketpair", "connect", "msgget", "shmget", "semget", "mq_open"}


def written_paths(log):
    """(syscall, path) for every call in an strace log that may modify @path."""
    out = []
    for line in log.splitlines():
        m = re.match(r"^(?:\d+\s+)?(\w+)\((.*)\)\s+=\s+(-?\d+)", line)
        if not m:
            continue
        call, args, _ = m.groups()
        paths = re.findall(r'"((?:[^"\\]|\\.)*)"', args)
        if call in IPC_CALLS:
            out.append((call, args))
        elif call in ("open", "openat", "creat") and re.search(r"O_WRONLY|O_RDWR|O_CREAT|O_TRUNC", args) or call == "creat":
            out.append((call, paths[0] if paths else args))
        elif call in WRITE_CALLS:
            # symlink(target, linkpath): only the link path is written
            out.append((call, paths[-1] if paths else args))
    return out


def run(generator, config_dir, env_extra, allowed_extra):
    with tempfile.TemporaryDirectory() as tmp:
        normal, early, late = (os.path.join(tmp, d) for d in ("normal", "early", "late"))
        for d in (normal, early, late):
            os.mkdir(d)
        log = os.path.join(tmp, "strace.log")
        env = dict(os.environ, QVM_CONFIG_DIR=config_dir, ASAN_OPTIONS="detect_leaks=0", **env_extra)
        proc = subprocess.run(["strace", "-f", "-qq", "-o", log, "-e", "trace=%file,%network,%ipc,%desc",
                               generator, normal, early, late], env=env, capture_output=True, text=True)
        with open(log) as f:
            text = f.read()
        bad = []
        if proc.returncode != 0:
            bad.append(f"exit status {proc.returncode}: {proc.stderr}")
        for call, path in written_paths(text):
            if call in IPC_CALLS:
                bad.append(f"IPC: {call}({path})")
            elif not (path.startswith(normal + "/") or path in allowed_extra):
                bad.append(f"write outside output dir: {call}({path})")
        if os.listdir(early) or os.listdir(late):
            bad.append("wrote into early/late dir")
        if not os.path.isdir(os.path.join(normal, "qvm@good.service.d")):
            bad.append("did not generate the good VM (the test would prove nothing)")
        return bad


def main():
    generator = sys.argv[1]
    if not shutil.which("strace"):
        print("strace missing")
        return 1
    with tempfile.TemporaryDirectory() as cfg:
        with open(os.path.join(cfg, "good.ini"), "w") as f:
            f.write("[vm]\nautostart = yes\n[boot]\nkernel = /boot/vmlinuz\n[cloud-init]\nuser = dev\n")
        with open(os.path.join(cfg, "bad.ini"), "w") as f:
            f.write("[vm]\nmemroy = 1G\n")
        failures = 0
        for label, env, allowed in (("by hand", {}, set()),
                                    ("as a generator", {"SYSTEMD_SCOPE": "system"}, {"/dev/kmsg"})):
            bad = run(generator, cfg, env, allowed)
            print(("FAIL " if bad else "ok   ") + label)
            for b in bad:
                print("  " + b)
            failures += bool(bad)
        print(f"{2 - failures} passed, {failures} failed")
        return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
