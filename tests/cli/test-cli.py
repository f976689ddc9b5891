#!/usr/bin/env python3
# test-cli.py - the qvm command without systemd: list --json shape, check, new, ssh argv, console, image cache, usage
import json
import os
import shutil
import socket
import stat
import struct
import subprocess
import sys
import tempfile
import threading
import time
import unittest

QVM = os.path.abspath(os.path.join(os.environ.get("QVM_BUILD_ROOT", "build"), "helpers", "qvm"))
BOOT = "[boot]\nkernel = /boot/vmlinuz\n"


class QvmTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="qvm-test-cli-")
        self.root = self.tmp.name
        self.conf = os.path.join(self.root, "etc")
        os.mkdir(self.conf)
        self.env = dict(os.environ)
        self.env.update({
            "QVM_CONFIG_DIR": self.conf,
            "QVM_STATE_ROOT": os.path.join(self.root, "state"),
            "QVM_RUNTIME_ROOT": os.path.join(self.root, "run"),
            "QVM_CACHE_DIR": os.path.join(self.root, "cache"),
            "HOME": os.path.join(self.root, "home"),
            "XDG_CACHE_HOME": os.path.join(self.root, "xdg-cache"),
            # No systemd: a bus address that does not exist, so no test touches the host's systemd.
            "DBUS_SYSTEM_BUS_ADDRESS": "unix:path=" + os.path.join(self.root, "no-bus"),
        })
        self.env.pop("SUDO_USER", None)
        os.mkdir(self.env["HOME"])

    def tearDown(self):
        self.tmp.cleanup()

    def write(self, name, text, where=None):
        path = os.path.join(where or self.conf, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def read(self, name):
        with open(os.path.join(self.conf, name)) as f:
            return f.read()

    def qvm(self, *args, input=None, env=None):
        return subprocess.run([QVM, *args], capture_output=True, text=True, input=input,
                              env=env or self.env, timeout=30)


class ListTest(QvmTest):
    def test_json_shape(self):
        self.write("web.ini", "[vm]\nmemory = 1G\ncpus = 1\nautostart = yes\naccel = tcg\n"
                   "[cloud-init]\nuser = dev\n[network]\nssh = 2222\n" + BOOT)
        self.write("db.ini", "[vm]\nmemory = 512M\n[network]\nmode = none\n" + BOOT)
        self.write("broken.ini", "[vm]\nmemroy = 1G\n")
        r = self.qvm("list", "--json")
        self.assertEqual(r.returncode, 0, r.stderr)
        vms = json.loads(r.stdout)
        self.assertEqual([v["name"] for v in vms], ["broken", "db", "web"])
        web = vms[2]
        self.assertEqual(web, {"name": "web", "state": web["state"], "status": web["status"], "valid": True,
                               "autostart": True, "accel": "tcg", "memory": 1 << 30, "cpus": 1,
                               "ssh": "127.0.0.1:2222", "user": "dev"})
        self.assertIsInstance(web["state"], str)
        db = vms[1]
        self.assertEqual((db["memory"], db["ssh"], db["user"], db["autostart"]), (512 << 20, None, None, False))
        self.assertEqual(vms[0]["valid"], False)
        self.assertNotIn("memory", vms[0])

    def test_without_systemd_state_unknown(self):
        self.write("web.ini", "[network]\nssh = 2230\n" + BOOT)
        r = self.qvm("list")
        self.assertEqual(r.returncode, 0, r.stderr)
        lines = r.stdout.splitlines()
        self.assertEqual(lines[0].split(), ["NAME", "STATE", "AUTOSTART", "ACCEL", "MEMORY", "SSH"])
        self.assertEqual(lines[1].split(), ["web", "unknown", "no", "auto", "1G", "127.0.0.1:2230"])
        self.assertEqual(json.loads(self.qvm("list", "--json").stdout)[0]["state"], "unknown")

    def test_empty_and_missing_dir(self):
        self.assertEqual(json.loads(self.qvm("list", "--json").stdout), [])
        os.rmdir(self.conf)
        r = self.qvm("list", "--json")
        self.assertEqual((r.returncode, json.loads(r.stdout)), (0, []))


class CheckTest(QvmTest):
    def test_clean(self):
        self.write("a.ini", "[vm]\nafter = b, network-online.target\n[network]\nssh = 2222\n" + BOOT)
        self.write("b.ini", "[network]\nssh = 2223\n" + BOOT)
        r = self.qvm("check")
        self.assertEqual(r.returncode, 0, r.stdout)
        self.assertIn("2 VMs checked: 0 errors, 0 warnings", r.stdout)

    def test_problems_across_vms(self):
        self.write("a.ini", "[vm]\nafter = b\n[network]\nssh = 2222\n" + BOOT)
        self.write("b.ini", "[vm]\nrequires = qvm@a.service\nafter = ghost\n"
                   "[network]\nforward = tcp:2222:80\n" + BOOT)
        self.write("c.ini", "[vm]\nrequires = phantom\n" + BOOT)
        r = self.qvm("check")
        self.assertEqual(r.returncode, 1, r.stdout)
        self.assertIn("b.ini: tcp port 127.0.0.1:2222 is also forwarded by VM a", r.stdout)
        self.assertIn("ordering cycle through after=/requires=: a -> b -> a", r.stdout)
        self.assertIn("c.ini: requires = phantom: there is no VM phantom", r.stdout)
        self.assertIn("b.ini: warning: after = ghost: there is no VM ghost", r.stdout)
        self.assertIn("3 VMs checked: 3 errors, 1 warning", r.stdout)

    def test_warning_only_passes(self):
        self.write("a.ini", "[vm]\nafter = ghost\n" + BOOT)
        r = self.qvm("check")
        self.assertEqual(r.returncode, 0, r.stdout)
        self.assertIn("warning: after = ghost", r.stdout)

    def test_password_hash_readable(self):
        """L5: a password hash that other users can read is warned about."""
        ci = "[cloud-init]\nuser = dev\n"
        os.chmod(self.write("a.ini", BOOT + ci + "password-hash = $6$salt$hash\n"), 0o644)
        secret = self.write("b.password", "$6$salt$hash\n")
        os.chmod(secret, 0o644)
        self.write("b.ini", BOOT + ci + f"password-hash-file = {secret}\n")
        r = self.qvm("check")
        self.assertEqual(r.returncode, 0, r.stdout)
        self.assertIn("a.ini: warning: password-hash is in a world-readable file (mode 0644)", r.stdout)
        self.assertIn(f"b.ini: warning: password-hash-file = {secret} is readable by others", r.stdout)
        os.chmod(secret, 0o600)
        r = self.qvm("check", "b")
        self.assertEqual(r.returncode, 0, r.stdout)
        self.assertIn("0 warnings", r.stdout)

    def test_tap_clash(self):
        # M4: these two names map to one tap (qvm-web00d5295d); webserver-968 does not.
        tap = "[network]\nmode = tap\nbridge = qvmbr0\n"
        self.write("webserver-24595.ini", BOOT + tap)
        self.write("webserver-27798.ini", BOOT + tap)
        self.write("webserver-968.ini", BOOT + tap)
        r = self.qvm("check")
        self.assertEqual(r.returncode, 1, r.stdout)
        line = BOOT.count("\n") + 2
        self.assertIn(f"webserver-27798.ini:{line}: VMs webserver-27798 and webserver-24595 would share the tap "
                      f"qvm-web00d5295d", r.stdout)
        self.assertEqual(r.stdout.count("would share the tap"), 1, r.stdout)

    def test_generator_diagnostics(self):
        self.write("a.ini", "[vm]\nmemroy = 1G\n" + BOOT)
        r = self.qvm("check", "a")
        self.assertEqual(r.returncode, 1)
        self.assertIn("a.ini:2: unknown key 'memroy' in [vm]; did you mean 'memory'?", r.stdout)

    def test_files_in_a_repo(self):
        repo = os.path.join(self.root, "repo")
        os.mkdir(repo)
        one = self.write("one.ini", "[vm]\nrequires = two\n[network]\nssh = 2222\n" + BOOT, repo)
        self.write("two.ini", "[network]\nssh = 2222\n" + BOOT, repo)
        self.write("bad.ini", "[vm]\nnonsense = 1\n", repo)
        # Checking one file: its sibling is context (no missing-VM error), the clash with it is found,
        # the broken sibling is not reported.
        r = self.qvm("check", one)
        self.assertEqual(r.returncode, 1, r.stdout)
        self.assertIn("is also forwarded by VM", r.stdout)
        self.assertNotIn("there is no VM", r.stdout)
        self.assertNotIn("nonsense", r.stdout)
        self.assertIn("1 VM checked: 1 error", r.stdout)
        # The same file under three spellings is one VM, not three clashing ones.
        r = subprocess.run([QVM, "check", "two.ini", "./two.ini", os.path.join(repo, "two.ini")], cwd=repo,
                           capture_output=True, text=True, env=self.env)
        self.assertEqual(r.returncode, 1, r.stdout)
        self.assertEqual(r.stdout.count("is also forwarded by VM"), 1, r.stdout)
        self.assertIn("1 VM checked: 1 error", r.stdout)
        r = self.qvm("check", os.path.join(repo, "missing.ini"))
        self.assertEqual(r.returncode, 2)
        self.assertEqual(self.qvm("check", "nosuchvm").returncode, 2)


class NewTest(QvmTest):
    def test_new_writes_working_config(self):
        os.mkdir(os.path.join(self.env["HOME"], ".ssh"))
        key = self.write("id_ed25519.pub", "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAItest me@host\n",
                         os.path.join(self.env["HOME"], ".ssh"))
        self.write("old.ini", "[network]\nssh = 2222\nforward = tcp:2223:80\n" + BOOT)
        r = self.qvm("new", "fresh", "--no-reload")
        self.assertEqual(r.returncode, 0, r.stderr)
        text = self.read("fresh.ini")
        self.assertIn("\nssh = 2224\n", text)
        self.assertIn("\nuser = dev\n", text)
        self.assertIn("ssh-authorized-keys-file = " + key + "\n", text)
        self.assertIn("/SHA512SUMS\n", text)
        # M6: the preset's checksums are signature-checked when the keyring is installed.
        keyring = "/usr/share/keyrings/debian-role-keys.gpg"
        self.assertIn(("" if os.access(keyring, os.R_OK) else "#") + "checksums-keyring = " + keyring + "\n", text)
        self.assertEqual(self.qvm("check").returncode, 0)
        vm = [v for v in json.loads(self.qvm("list", "--json").stdout) if v["name"] == "fresh"][0]
        self.assertEqual((vm["valid"], vm["ssh"], vm["user"]), (True, "127.0.0.1:2224", "dev"))

    def test_refuses_to_overwrite(self):
        self.write("taken.ini", "# mine\n" + BOOT)
        r = self.qvm("new", "taken", "--no-reload")
        self.assertEqual(r.returncode, 1)
        self.assertIn("exists already", r.stderr)
        self.assertEqual(self.read("taken.ini"), "# mine\n" + BOOT)

    def test_images(self):
        img = self.write("base.qcow2", "x", self.root)
        env = dict(self.env, SUDO_USER="alice")
        r = self.qvm("new", "local", "--image", img, "--no-reload", env=env)
        self.assertEqual(r.returncode, 0, r.stderr)
        text = self.read("local.ini")
        self.assertIn("source = " + img + "\n", text)
        self.assertIn("user = alice\n", text)
        self.assertNotIn("checksum", text.split("[image]")[1].split("[cloud-init]")[0])
        r = self.qvm("new", "remote", "--image", "https://example.org/x.qcow2", "--no-reload")
        self.assertEqual(r.returncode, 2)
        self.assertFalse(os.path.exists(os.path.join(self.conf, "remote.ini")))
        r = self.qvm("new", "u", "--image", "ubuntu-24.04", "--no-reload")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("SHA256SUMS", self.read("u.ini"))
        self.assertEqual(self.qvm("new", "bad/name", "--no-reload").returncode, 2)


class SshTest(QvmTest):
    def test_argv(self):
        bindir = os.path.join(self.root, "bin")
        os.mkdir(bindir)
        fake = self.write("ssh", "#!/bin/sh\nfor a; do printf '%s\\n' \"$a\"; done\n", bindir)
        os.chmod(fake, 0o755)
        self.write("vm.ini", "[cloud-init]\nuser = dev\n[network]\nssh = 2225\n" + BOOT)
        env = dict(self.env, PATH=bindir + ":" + self.env["PATH"])
        r = self.qvm("ssh", "vm", "--", "ls", "-l", env=env)
        self.assertEqual(r.returncode, 0, r.stderr)
        kh = os.path.join(self.env["XDG_CACHE_HOME"], "qvm", "known_hosts", "vm")
        self.assertEqual(r.stdout.splitlines(), [
            "-p", "2225", "-o", "StrictHostKeyChecking=accept-new", "-o", "HostKeyAlias=qvm-vm",
            "-o", "UserKnownHostsFile=" + kh, "--", "dev@127.0.0.1", "ls", "-l"])
        self.assertTrue(os.path.isdir(os.path.dirname(kh)))
        r = self.qvm("ssh", "-l", "root", "vm", env=env)
        self.assertIn("root@127.0.0.1", r.stdout.splitlines())
        self.write("nossh.ini", BOOT)
        self.assertEqual(self.qvm("ssh", "nossh", env=env).returncode, 2)


class ConsoleTest(QvmTest):
    def test_attach_and_detach(self):
        self.write("vm.ini", BOOT)
        rundir = os.path.join(self.env["QVM_RUNTIME_ROOT"], "vm")
        os.makedirs(rundir)
        srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        srv.bind(os.path.join(rundir, "console.sock"))
        srv.listen(1)
        received = []

        def guest():
            conn, _ = srv.accept()
            conn.sendall(b"login: ")
            conn.settimeout(10)
            try:
                while True:
                    data = conn.recv(100)
                    if not data:
                        break
                    received.append(data)
            except socket.timeout:
                pass
            conn.close()

        t = threading.Thread(target=guest)
        t.start()
        p = subprocess.Popen([QVM, "console", "vm"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, env=self.env)
        out = os.read(p.stdout.fileno(), 100)
        self.assertEqual(out, b"login: ")
        p.stdin.write(b"root\n\x1dafter-escape")
        p.stdin.flush()
        _, err = p.communicate(timeout=10)
        t.join()
        srv.close()
        self.assertEqual(p.returncode, 0, err)
        self.assertEqual(b"".join(received), b"root\n")
        self.assertIn(b"Ctrl-]", err)
        self.assertIn(b"Detached", err)

    def test_terminal_restored(self):
        """In raw mode on a terminal; the terminal is restored on detach and on SIGTERM."""
        import pty
        import termios
        self.write("vm.ini", BOOT)
        rundir = os.path.join(self.env["QVM_RUNTIME_ROOT"], "vm")
        os.makedirs(rundir)
        srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        srv.bind(os.path.join(rundir, "console.sock"))
        srv.listen(2)
        for how in ("escape", "sigterm"):
            master, slave = pty.openpty()
            before = termios.tcgetattr(slave)
            p = subprocess.Popen([QVM, "console", "vm"], stdin=slave, stdout=slave, stderr=subprocess.PIPE,
                                 env=self.env)
            conn, _ = srv.accept()
            conn.sendall(b"guest says hi")
            seen = b""
            while b"guest says hi" not in seen:
                seen += os.read(master, 100)
            during = termios.tcgetattr(slave)
            self.assertEqual(during[3] & termios.ICANON, 0, "not raw while attached")
            if how == "escape":
                os.write(master, b"x\x1d")
                self.assertEqual(conn.recv(10), b"x")
            else:
                p.terminate()
            p.wait(timeout=10)
            self.assertEqual(p.returncode, 0 if how == "escape" else 1, p.stderr.read())
            self.assertEqual(termios.tcgetattr(slave), before, how)
            p.stderr.close()
            conn.close()
            os.close(master)
            os.close(slave)
        srv.close()

    def test_not_running(self):
        self.write("vm.ini", BOOT)
        r = self.qvm("console", "vm")
        self.assertEqual(r.returncode, 1)
        self.assertIn("console.sock", r.stderr)


JOURNAL_REMOTE = "/lib/systemd/systemd-journal-remote"


def write_journal(path, entries, start=1):
    """Write (QVM_VM, MESSAGE) @entries as a journal file with systemd-journal-remote."""
    now = int(time.time() * 1e6)
    export = b"".join(b"__CURSOR=s=0;i=%d\n__REALTIME_TIMESTAMP=%d\n__MONOTONIC_TIMESTAMP=%d\n"
                      b"_BOOT_ID=0123456789abcdef0123456789abcdef\nMESSAGE=%s\nQVM_VM=%s\n\n"
                      % (start + i, now + i, start + i, msg.encode(), vm.encode())
                      for i, (vm, msg) in enumerate(entries))
    subprocess.run([JOURNAL_REMOTE, "--output=" + path, "--split-mode=none", "-"], input=export,
                   check=True, capture_output=True)


@unittest.skipUnless(os.access(JOURNAL_REMOTE, os.X_OK), "needs systemd-journal-remote")
class LogsTest(QvmTest):
    def setUp(self):
        super().setUp()
        self.journal = os.path.join(self.root, "journal")
        os.mkdir(self.journal)
        self.env["QVM_JOURNAL_DIR"] = self.journal
        write_journal(os.path.join(self.journal, "a.journal"),
                      [("web", "boot line 1"), ("db", "not web"), ("web", "boot line 2"), ("web", "login: ")])

    def test_logs(self):
        r = self.qvm("logs", "web")
        self.assertEqual((r.returncode, r.stdout), (0, "boot line 1\nboot line 2\nlogin: \n"), r.stderr)
        self.assertEqual(self.qvm("logs", "-n", "2", "web").stdout, "boot line 2\nlogin: \n")
        self.assertEqual(self.qvm("logs", "nothing").stdout, "")

    def test_status_shows_last_lines(self):
        self.write("web.ini", BOOT)
        r = self.qvm("status", "-n", "1", "web")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertTrue(r.stdout.endswith("(last 1 lines, qvm logs web for all):\nlogin: \n"), r.stdout)

    def test_follow(self):
        p = subprocess.Popen([QVM, "logs", "-f", "-n", "1", "web"], stdout=subprocess.PIPE, env=self.env)
        self.assertEqual(p.stdout.readline(), b"login: \n")
        write_journal(os.path.join(self.journal, "b.journal"), [("db", "x"), ("web", "live line")], start=10)
        self.assertEqual(p.stdout.readline(), b"live line\n")
        p.terminate()
        p.wait(timeout=10)
        p.stdout.close()


def cache_name(source):
    """qvm-image's cache file name (lib/image.c): FNV-1a 64 of the source, "-", its file name."""
    h = 14695981039346656037
    for c in source.encode():
        h = ((h ^ c) * 1099511628211) & 0xFFFFFFFFFFFFFFFF
    return "%016x-%s" % (h, source.rsplit("/", 1)[-1])


def qcow2_with_backing(path, backing):
    """A qcow2 header that names @backing, enough for qvm image to read."""
    b = backing.encode()
    header = b"QFI\xfb" + struct.pack(">IQI", 3, 512, len(b))
    with open(path, "wb") as f:
        f.write(header.ljust(512, b"\0") + b)


class ImageTest(QvmTest):
    def test_list_and_prune(self):
        images = os.path.join(self.env["QVM_CACHE_DIR"], "images")
        os.makedirs(images)
        url = "https://cloud.debian.org/images/cloud/bookworm/latest/debian-12-genericcloud-amd64.qcow2"
        cached = cache_name(url)
        for name, mode in [("used-by-overlay.qcow2", 0o444), (cached, 0o444), ("orphan.qcow2", 0o444),
                           ("orphan.qcow2.verified", 0o644), ("0000-debian-12-genericcloud-amd64.qcow2", 0o444),
                           ("download.partial", 0o644)]:
            os.chmod(self.write(name, "image", images), mode)
        self.write("a.ini", "[image]\nsource = /srv/a.qcow2\n")
        self.write("b.ini", "[image]\nsource = " + url + "\nchecksums = https://cloud.debian.org/x/SHA512SUMS\n")
        os.makedirs(os.path.join(self.env["QVM_STATE_ROOT"], "a"))
        qcow2_with_backing(os.path.join(self.env["QVM_STATE_ROOT"], "a", "disk.qcow2"),
                           os.path.join(images, "used-by-overlay.qcow2"))
        r = self.qvm("image", "list")
        self.assertEqual(r.returncode, 0, r.stderr)
        used = {l.split()[0]: l.split()[-1] for l in r.stdout.splitlines()[1:]}
        self.assertEqual(used, {"used-by-overlay.qcow2": "yes", cached: "yes", "orphan.qcow2": "no",
                                "0000-debian-12-genericcloud-amd64.qcow2": "no"})
        r = self.qvm("image", "prune", "--dry-run")
        self.assertIn("would remove " + os.path.join(images, "orphan.qcow2"), r.stdout)
        self.assertTrue(os.path.exists(os.path.join(images, "orphan.qcow2")))
        r = self.qvm("image", "prune")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(sorted(os.listdir(images)), sorted([cached, "download.partial", "used-by-overlay.qcow2"]))

    def test_prune_content_addressed(self):
        """H1: prune removes only bases no disk uses; a refresh's old base stays while a disk uses it."""
        images = os.path.join(self.env["QVM_CACHE_DIR"], "images")
        os.makedirs(images)
        old, new = "sha512-" + "a" * 128 + "-base.img", "sha512-" + "b" * 128 + "-base.img"
        for name in (old, new):
            os.chmod(self.write(name, "image", images), 0o444)
        os.symlink(new, os.path.join(images, "0123456789abcdef-base.img.latest"))
        os.symlink("gone", os.path.join(images, "fedcba9876543210-x.img.latest"))
        self.write("a.ini", "[image]\nsource = /srv/a.qcow2\n")
        os.makedirs(os.path.join(self.env["QVM_STATE_ROOT"], "a"))
        qcow2_with_backing(os.path.join(self.env["QVM_STATE_ROOT"], "a", "disk.qcow2"), os.path.join(images, old))
        r = self.qvm("image", "prune")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(sorted(os.listdir(images)), [old], r.stdout)

    def test_reset_refused_without_systemd(self):
        self.write("a.ini", "[image]\nsource = /srv/a.qcow2\n")
        r = self.qvm("reset", "a")
        self.assertEqual(r.returncode, 1)
        self.assertIn("--force", r.stderr)


class HostCheckTest(QvmTest):
    """qvm check against this host: what QEMU would refuse or lacks, with the Debian package to install."""

    def test_missing_qemu_names_the_package(self):
        self.write("a.ini", "[vm]\narch = aarch64\n" + BOOT)
        empty = os.path.join(self.root, "empty-path")
        os.mkdir(empty)
        r = self.qvm("check", env=dict(self.env, PATH=empty))
        self.assertEqual(r.returncode, 1, r.stdout)
        self.assertIn("a.ini: qemu-system-aarch64 is not installed: apt-get install qemu-system-arm", r.stdout)

    def test_machine_qemu_does_not_have(self):
        self.write("m.ini", "[vm]\nmachine = nosuch-board\n" + BOOT)
        r = self.qvm("check")
        self.assertEqual(r.returncode, 1, r.stdout)
        self.assertIn("machine nosuch-board: qemu-system-x86_64 does not have it", r.stdout)

    def test_machine_of_another_arch_is_a_config_error(self):
        self.write("q.ini", "[vm]\narch = aarch64\nmachine = q35\n" + BOOT)
        r = self.qvm("check")
        self.assertEqual(r.returncode, 1, r.stdout)
        self.assertIn("q.ini:3: machine q35 is an x86_64 machine; qemu-system-aarch64 does not have it", r.stdout)

    def test_missing_firmware_names_the_package(self):
        self.write("f.ini", "[vm]\narch = aarch64\nfirmware = uefi\n" + BOOT)
        empty = os.path.join(self.root, "no-firmware")
        os.mkdir(empty)
        r = self.qvm("check", env=dict(self.env, QVM_FIRMWARE_DIR=empty))
        self.assertEqual(r.returncode, 1, r.stdout)
        self.assertIn("apt-get install qemu-efi-aarch64", r.stdout)

    def test_board_and_kvm_warning(self):
        self.write("pi.ini", "[vm]\narch = arm\nmachine = versatilepb\n" + BOOT)
        self.write("k.ini", "[vm]\narch = aarch64\naccel = kvm\n" + BOOT)
        r = self.qvm("check")
        self.assertEqual(r.returncode, 0, r.stdout)
        self.assertIn("k.ini: warning: accel = kvm, but KVM cannot run aarch64 guests here", r.stdout)
        self.assertIn("2 VMs checked: 0 errors, 1 warning", r.stdout)

    def test_icount_with_accel_kvm_is_a_config_error(self):
        self.write("i.ini", "[vm]\naccel = kvm\n" + BOOT + "[qemu]\nicount = shift=auto\n")
        r = self.qvm("check")
        self.assertEqual(r.returncode, 1, r.stdout)
        self.assertIn("icount works only with TCG", r.stdout)


class UsageTest(QvmTest):
    COMMANDS = ["list", "status", "start", "stop", "restart", "console", "ssh", "display", "logs", "check", "new",
                "image", "reset", "reseed"]

    def test_help_everywhere(self):
        r = self.qvm("--help")
        self.assertEqual(r.returncode, 0)
        for cmd in self.COMMANDS:
            self.assertRegex(r.stdout, r"\n  %s " % cmd)
            h = self.qvm(cmd, "--help")
            self.assertEqual(h.returncode, 0, cmd)
            self.assertTrue(h.stdout.startswith("Usage: qvm " + cmd), cmd + ": " + h.stdout)

    def test_usage_errors(self):
        self.assertEqual(self.qvm().returncode, 2)
        self.assertEqual(self.qvm("frobnicate").returncode, 2)
        for cmd in ["status", "start", "stop", "console", "ssh", "logs", "reset", "new"]:
            self.assertEqual(self.qvm(cmd).returncode, 2, cmd)
        self.assertEqual(self.qvm("start", "ghost").returncode, 2)
        self.assertEqual(self.qvm("list", "--bogus").returncode, 2)

    def test_start_without_systemd_fails(self):
        self.write("a.ini", BOOT)
        r = self.qvm("start", "a")
        self.assertEqual(r.returncode, 1)
        self.assertIn("cannot reach systemd", r.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
