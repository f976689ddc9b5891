#!/usr/bin/env python3
"""test-iso.py - qvm-seed's seed.iso read back by isoinfo (genisoimage): label, names, contents, mode,
regeneration only on change, --reseed, credentials, and no seed without [cloud-init]."""
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import time

DOCS = ("meta-data", "user-data", "vendor-data", "network-config")
fails = 0


def check(cond, what):
    global fails
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        fails += 1


def isoinfo(*args):
    return subprocess.run(["isoinfo", *args], check=True, capture_output=True).stdout


def main():
    qvm_seed = sys.argv[1]
    if not shutil.which("isoinfo"):
        print("isoinfo (package genisoimage) is missing")
        return 77
    with tempfile.TemporaryDirectory() as tmp:
        etc, state = os.path.join(tmp, "etc"), os.path.join(tmp, "state")
        os.mkdir(etc)
        keys = os.path.join(tmp, "keys.pub")
        with open(keys, "w") as f:
            f.write("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHfeWlb2ZABELGL4+qoTMyVXQOwGMzZU/CALq4ztSIe9 file@host\n")
        ini = os.path.join(etc, "vm1.ini")

        def write_ini(extra=""):
            with open(ini, "w") as f:
                f.write("[image]\ndisk = /nonexistent.qcow2\n[cloud-init]\nuser = dev\n"
                        "ssh-authorized-key = ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJ7 dev@laptop\n"
                        f"ssh-authorized-keys-file = {keys}\n{extra}"
                        "[network]\nmode = tap\nbridge = qvmbr0\naddress = 10.88.0.10/24\n")

        env = dict(os.environ, QVM_CONFIG_DIR=etc, QVM_STATE_ROOT=state)
        for k in ("CREDENTIALS_DIRECTORY", "STATE_DIRECTORY"):
            env.pop(k, None)

        def seed(*args, e=env):
            return subprocess.run([qvm_seed, *args, "vm1"], env=e, capture_output=True, text=True)

        write_ini()
        p = seed()
        check(p.returncode == 0, f"qvm-seed writes a seed ({p.stderr.strip()})")
        iso = os.path.join(state, "vm1", "seed.iso")
        st = os.stat(iso)
        check(stat.S_IMODE(st.st_mode) == 0o600, f"seed.iso has mode 0600 ({oct(st.st_mode)})")

        pvd = isoinfo("-d", "-i", iso).decode()
        check("Volume id: cidata\n" in pvd, "volume id is cidata")
        check("Rock Ridge signatures" in pvd, "Rock Ridge present")
        check("Joliet" in pvd, "Joliet present")
        for ext in ("-R", "-J"):
            names = isoinfo(ext, "-f", "-i", iso).decode().split()
            check(sorted(names) == sorted("/" + d for d in DOCS), f"{ext} names: {names}")

        docs = os.path.join(tmp, "docs")
        check(seed("--documents", docs).returncode == 0, "qvm-seed --documents")
        for d in DOCS:
            want = open(os.path.join(docs, d), "rb").read()
            got = isoinfo("-R", "-x", "/" + d, "-i", iso)
            check(got == want, f"{d} on the ISO equals the document")
        ud = isoinfo("-R", "-x", "/user-data", "-i", iso).decode()
        check(ud.startswith("#cloud-config\n") and "file@host" in ud, "user-data has the key file's key")
        check("instance-id: qvm-vm1-1\n" in isoinfo("-R", "-x", "/meta-data", "-i", iso).decode(),
              "instance-id generation 1")

        # Unchanged inputs: the file is left alone (same inode, same mtime).
        p = seed()
        st2 = os.stat(iso)
        check(p.returncode == 0 and "up to date" in p.stderr, "second run: up to date")
        check((st2.st_ino, st2.st_mtime_ns) == (st.st_ino, st.st_mtime_ns), "second run: seed.iso untouched")

        # A changed input (the key file) rewrites it, atomically (new inode), same instance-id.
        with open(keys, "a") as f:
            f.write("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAICG99xuXBg98CGJNozhFSV0dUx93Gi9dFiAxEVLmIBsZ second@host\n")
        p = seed()
        st3 = os.stat(iso)
        ud = isoinfo("-R", "-x", "/user-data", "-i", iso).decode()
        check("written" in p.stderr and st3.st_ino != st.st_ino, "changed key file: seed rewritten")
        check("second@host" in ud, "changed key file: new key in user-data")
        check("qvm-vm1-1\n" in isoinfo("-R", "-x", "/meta-data", "-i", iso).decode(),
              "changed input keeps the instance-id")
        check(not [n for n in os.listdir(os.path.dirname(iso)) if n.startswith(".")], "no temp files left")

        # --reseed: new instance-id.
        # L7: a temp file a killed qvm-seed left (.seed.iso.XXXXXX) is removed; a fresh one is not
        orphan, fresh = (os.path.join(state, "vm1", n) for n in (".seed.iso.Ab12Cd", ".seed.iso.Ef34Gh"))
        for f in (orphan, fresh):
            open(f, "wb").close()
        os.utime(orphan, (time.time() - 3600, time.time() - 3600))
        p = seed("--reseed")
        check(not os.path.exists(orphan) and os.path.exists(fresh), "an orphaned .seed.iso.XXXXXX is cleaned up")
        os.unlink(fresh)
        check("qvm-vm1-2\n" in isoinfo("-R", "-x", "/meta-data", "-i", iso).decode(), "--reseed: generation 2")
        p = seed()
        check("up to date" in p.stderr, "after --reseed: stable again")

        # Under systemd the key file comes from $CREDENTIALS_DIRECTORY (qvm.ssh-keys.0).
        creds = os.path.join(tmp, "creds")
        os.mkdir(creds)
        with open(os.path.join(creds, "qvm.ssh-keys.0"), "w") as f:
            f.write("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINyMDsY1Vxw2E0ocmn7kDlou9VUJMow95ph7mZFXyMcx cred@host\n")
        p = seed(e=dict(env, CREDENTIALS_DIRECTORY=creds))
        ud = isoinfo("-R", "-x", "/user-data", "-i", iso).decode()
        check(p.returncode == 0 and "cred@host" in ud and "second@host" not in ud,
              "key file read through the credential")

        # A key file that cannot be read: an error naming it, old seed kept.
        os.unlink(keys)
        before = os.stat(iso)
        p = seed()
        check(p.returncode == 1 and keys in p.stderr, f"unreadable key file fails loudly ({p.stderr.strip()})")
        check(os.stat(iso).st_ino == before.st_ino, "failed run keeps the old seed")

        # M2: a key file that is a symlink (to /etc/passwd), or holds lines that are not
        # ssh public keys, is refused; nothing of its content reaches the log or the seed.
        os.symlink("/etc/passwd", keys)
        p = seed()
        check(p.returncode == 1 and "symlink" in p.stderr and "root:" not in p.stderr,
              f"a symlinked key file is refused ({p.stderr.strip()})")
        os.unlink(keys)
        shutil.copy("/etc/passwd", keys)
        p = seed()
        check(p.returncode == 1 and f"{keys} line 1 (not an ssh public key" in p.stderr and "root:" not in p.stderr,
              f"a key file of passwd lines is refused at line 1, not echoed ({p.stderr.strip()})")
        check(os.stat(iso).st_ino == before.st_ino and b"root:" not in open(iso, "rb").read(),
              "and the old seed is kept, without them")
        os.unlink(keys)

        # No [cloud-init]: exit 0, nothing written or removed.
        with open(ini, "w") as f:
            f.write("[image]\ndisk = /nonexistent.qcow2\n")
        p = seed()
        check(p.returncode == 0 and "no seed" in p.stderr, "no [cloud-init]: exit 0")
        check(os.stat(iso).st_ino == before.st_ino, "no [cloud-init]: existing files left alone")
        shutil.rmtree(os.path.join(state, "vm1"))
        p = seed()
        check(p.returncode == 0 and not os.path.exists(os.path.join(state, "vm1")),
              "no [cloud-init]: nothing created")

        # Run by root (qvm reseed) in a state dir owned by the service user: files go to that user.
        if os.geteuid() == 0:
            with open(os.path.join(etc, "vm2.ini"), "w") as f:
                f.write("[image]\ndisk = /nonexistent.qcow2\n[cloud-init]\n")
            vm2 = os.path.join(state, "vm2")
            os.makedirs(vm2)
            os.chown(vm2, 65534, 65534)
            p = subprocess.run([qvm_seed, "--reseed", "vm2"], env=env, capture_output=True, text=True)
            owners = {n: os.stat(os.path.join(vm2, n)).st_uid for n in os.listdir(vm2)}
            check(p.returncode == 0 and len(owners) == 3 and set(owners.values()) == {65534},
                  f"root run: files belong to the state dir's owner ({owners})")

        # An unknown VM fails.
        p = subprocess.run([qvm_seed, "nosuchvm"], env=env, capture_output=True, text=True)
        check(p.returncode == 2, "unknown VM fails as a configuration error (exit 2)")
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
