#!/usr/bin/env python3
"""test-qvm-net.py - qvm-net's edge cases, in a network namespace this test creates.

Complements test-net.sh (which boots a guest): the real qvm user opening the
tap, stale taps, interfaces with the tap's or qvmbr0's name that qvm must not
touch, and down without a usable config.

Never touches the host's interfaces: every qvm-net run and every check goes
through `ip netns exec NS` / `ip -n NS`, and the namespace is deleted at the
end. Needs root, /dev/net/tun and the user qvm (created from
units/qvm.sysusers with systemd-sysusers when missing). Exit 77 = skipped.

Usage: test-qvm-net.py BUILD/helpers/qvm-net
"""
import ctypes
import fcntl
import os
import pwd
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time

QVM_NET = os.path.abspath(sys.argv[1])
NS = "qvmtest-net-%d" % os.getpid()
SRC = os.environ.get("QVM_SOURCE_ROOT", os.path.join(os.path.dirname(__file__), "..", ".."))
TUNSETIFF = 0x400454CA
IFF_TAP, IFF_NO_PI, IFF_VNET_HDR = 0x0002, 0x1000, 0x4000
failures = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        failures.append(what)


def sh(*argv, ok=True):
    """Run argv, return (rc, stdout+stderr)."""
    p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if ok and p.returncode != 0:
        raise RuntimeError("%s failed: %s" % (" ".join(argv), p.stdout))
    return p.returncode, p.stdout


def net(verb, name, confdir, state_dir=None):
    env = dict(os.environ, QVM_CONFIG_DIR=confdir)
    env.pop("QVM_USER", None)
    env.pop("STATE_DIRECTORY", None)
    if state_dir:
        env["STATE_DIRECTORY"] = state_dir
    p = subprocess.run(["ip", "netns", "exec", NS, QVM_NET, verb, name], env=env,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    print("  qvm-net %s %s -> %d: %s" % (verb, name, p.returncode, p.stdout.strip()))
    return p.returncode, p.stdout


def link(name):
    """`ip -d link show` of name in NS, or None."""
    rc, out = sh("ip", "-n", NS, "-d", "link", "show", "dev", name, ok=False)
    return out if rc == 0 else None


def links():
    return set(l.split()[0].split("@")[0] for l in sh("ip", "-n", NS, "-br", "link")[1].splitlines())


def write_vm(confdir, name, bridge):
    with open(os.path.join(confdir, name + ".ini"), "w") as f:
        f.write("[boot]\nkernel = /vmlinuz\n[network]\nmode = tap\nbridge = %s\n" % bridge)


def open_tap_as_qvm(tap):
    """Start a child that, as user qvm, attaches to tap (as QEMU does) and holds it."""
    pw = pwd.getpwnam("qvm")
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(r)
            # Enter the test namespace, then drop to qvm like the unit's User=qvm.
            fd = os.open("/run/netns/" + NS, os.O_RDONLY)
            if ctypes.CDLL(None, use_errno=True).setns(fd, 0x40000000) != 0:  # CLONE_NEWNET
                raise OSError(ctypes.get_errno(), "setns")
            os.setgroups([])
            os.setgid(pw.pw_gid)
            os.setuid(pw.pw_uid)
            tun = os.open("/dev/net/tun", os.O_RDWR)
            fcntl.ioctl(tun, TUNSETIFF, struct.pack("16sH", tap.encode(), IFF_TAP | IFF_NO_PI | IFF_VNET_HDR))
            os.write(w, b"1")
        except Exception as e:  # report to the parent through the pipe
            os.write(w, b"0" + str(e).encode())
        finally:
            time.sleep(60)
            os._exit(0)
    os.close(w)
    msg = os.read(r, 200).decode()
    os.close(r)
    return pid, msg


def main():
    if os.geteuid() != 0 or not os.path.exists("/dev/net/tun") or not shutil.which("ip"):
        print("skipped: needs root, /dev/net/tun and ip")
        return 77
    try:
        pwd.getpwnam("qvm")
    except KeyError:
        sh("systemd-sysusers", os.path.abspath(os.path.join(SRC, "units", "qvm.sysusers")))
    qvm_uid = pwd.getpwnam("qvm").pw_uid
    confdir = tempfile.mkdtemp(prefix="qvm-net-test.")
    sh("ip", "netns", "add", NS)
    try:
        write_vm(confdir, "t1", "qvmbr0")
        write_vm(confdir, "averyveryverylongname", "brx")
        write_vm(confdir, "clash", "qvmbr0")

        # qvm's own bridge is created, addressed and up; the tap is owned by qvm.
        rc, _ = net("up", "t1", confdir)
        check(rc == 0, "up t1 succeeds")
        tap = link("qvm-t1")
        check(tap is not None, "tap qvm-t1 exists")
        tap = tap or ""
        check("tun type tap" in tap and "pi off" in tap and "vnet_hdr on" in tap and "persist on" in tap,
              "qvm-t1 is a persistent tap with vnet_hdr and no packet info")
        check("user qvm" in tap or "user %d" % qvm_uid in tap, "qvm-t1 is owned by user qvm")
        check("master qvmbr0" in tap, "qvm-t1 is a port of qvmbr0")
        check(",UP" in tap.splitlines()[0] if tap else False, "qvm-t1 is up")
        br = link("qvmbr0") or ""
        check("bridge forward_delay" in br and ",UP" in br.splitlines()[0], "qvmbr0 is a bridge and up")
        addr = sh("ip", "-n", NS, "-4", "addr", "show", "dev", "qvmbr0")[1]
        check("inet 10.88.0.1/24" in addr, "qvmbr0 has 10.88.0.1/24")

        # Under systemd the tap goes to the VM's own DynamicUser= uid: the owner of $STATE_DIRECTORY.
        state = tempfile.mkdtemp(prefix="qvm-net-state.")
        os.chown(state, 61999, 61999)
        rc, _ = net("up", "t1", confdir, state_dir=state)
        tap = link("qvm-t1") or ""
        check(rc == 0 and ("user 61999" in tap and "group 61999" in tap),
              "with $STATE_DIRECTORY, the tap belongs to its owner (the VM's own uid)")
        os.rmdir(state)

        # up again (a stale tap after a power loss) replaces the tap and keeps one address.
        rc, _ = net("up", "t1", confdir)
        check(rc == 0 and link("qvm-t1") is not None, "up t1 again succeeds")
        addr = sh("ip", "-n", NS, "-4", "addr", "show", "dev", "qvmbr0")[1]
        check(addr.count("inet ") == 1, "qvmbr0 still has exactly one IPv4 address")

        # The unprivileged qvm user can attach to the tap (what QEMU does);
        # SIGKILL of the holder, then down, leaves no tap.
        pid, msg = open_tap_as_qvm("qvm-t1")
        check(msg == "1", "user qvm can open qvm-t1 (%s)" % msg)
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        check(link("qvm-t1") is not None, "the persistent tap survives its holder's SIGKILL")
        rc, _ = net("down", "t1", confdir)
        check(rc == 0 and link("qvm-t1") is None, "down after SIGKILL removes qvm-t1")
        check(link("qvmbr0") is not None, "qvmbr0 stays after down")
        rc, _ = net("down", "t1", confdir)
        check(rc == 0, "down is idempotent")

        # down needs only the name: the INI may be gone, broken or switched to user mode.
        for how in ("removed", "broken", "user mode"):
            rc, _ = net("up", "t1", confdir)
            ini = os.path.join(confdir, "t1.ini")
            if how == "removed":
                os.unlink(ini)
            else:
                with open(ini, "w") as f:
                    f.write("[network\n" if how == "broken" else "[boot]\nkernel = /vmlinuz\n")
            rc, _ = net("down", "t1", confdir)
            check(rc == 0 and link("qvm-t1") is None, "down removes the tap when the INI was %s" % how)
            write_vm(confdir, "t1", "qvmbr0")

        # A user's bridge that is missing is an error and leaves nothing behind.
        before = links()
        rc, out = net("up", "averyveryverylongname", confdir)
        check(rc != 0 and "brx does not exist" in out, "missing user bridge brx is a clear error")
        check(links() == before, "a failed up leaves no interface behind")

        # A user's existing bridge gets the tap and is otherwise left alone.
        sh("ip", "-n", NS, "link", "add", "brx", "type", "bridge")
        rc, _ = net("up", "averyveryverylongname", confdir)
        long_tap = link("qvm-avee58c6c1e") or ""
        check(rc == 0 and "master brx" in long_tap, "long name: tap qvm-avee58c6c1e is a port of brx")
        brx = link("brx") or ""
        check(",UP" not in brx.splitlines()[0] if brx else False, "brx's flags are untouched (still down)")
        check("inet" not in sh("ip", "-n", NS, "addr", "show", "dev", "brx")[1], "brx gets no address")
        rc, _ = net("down", "averyveryverylongname", confdir)
        check(rc == 0 and link("qvm-avee58c6c1e") is None and link("brx") is not None,
              "down removes the tap and keeps the user's bridge")

        # M4: webserver-968 and webserver-1244 shared the tap qvm-webser-4086 (a 16-bit hash),
        # so the second VM's up took over the first's tap and its down deleted it.
        for vm in ("webserver-968", "webserver-1244"):
            write_vm(confdir, vm, "qvmbr0")
            rc, _ = net("up", vm, confdir)
            check(rc == 0, "up %s succeeds" % vm)
        a, b = link("qvm-webbd7c136d"), link("qvm-web0cc07301")
        check(a is not None and b is not None, "webserver-968 and webserver-1244 get two taps")
        check("alias qvm:webserver-968" in (a or ""), "the tap carries its VM's name as alias")
        rc, _ = net("down", "webserver-1244", confdir)
        check(rc == 0 and link("qvm-web0cc07301") is None and link("qvm-webbd7c136d") is not None,
              "down webserver-1244 removes its own tap and leaves webserver-968's")
        rc, _ = net("down", "webserver-968", confdir)

        # Two names that do meet (32-bit hash): the second VM gets no tap, and its down
        # leaves the first's live tap alone (qvm check and the generator reject the pair).
        for vm in ("webserver-24595", "webserver-27798"):
            write_vm(confdir, vm, "qvmbr0")
        rc, _ = net("up", "webserver-24595", confdir)
        check(rc == 0 and link("qvm-web00d5295d") is not None, "up webserver-24595 makes qvm-web00d5295d")
        rc, out = net("up", "webserver-27798", confdir)
        check(rc != 0 and "belongs to qvm:webserver-24595" in out,
              "up webserver-27798 refuses the tap of webserver-24595")
        rc, out = net("down", "webserver-27798", confdir)
        tap = link("qvm-web00d5295d") or ""
        check(rc != 0 and "alias qvm:webserver-24595" in tap,
              "down webserver-27798 leaves webserver-24595's live tap alone")
        rc, _ = net("down", "webserver-24595", confdir)
        check(rc == 0 and link("qvm-web00d5295d") is None, "down webserver-24595 removes its tap")

        # A tap that qvm-net did not mark (no alias, or a stranger's) is nobody's to take or delete.
        sh("ip", "-n", NS, "tuntap", "add", "dev", "qvm-t2", "mode", "tap")
        write_vm(confdir, "t2", "qvmbr0")
        rc, out = net("up", "t2", confdir)
        check(rc != 0 and "no alias" in out, "up refuses a tap with its name that qvm-net did not make")
        rc, out = net("down", "t2", confdir)
        check(rc != 0 and link("qvm-t2") is not None, "down leaves that tap alone")

        # An interface with the tap's name that is not a tap is never touched.
        sh("ip", "-n", NS, "link", "add", "qvm-clash", "type", "bridge")
        rc, out = net("up", "clash", confdir)
        check(rc != 0 and "not a tap" in out, "up refuses a non-tap with the tap's name")
        rc, out = net("down", "clash", confdir)
        check(rc != 0 and link("qvm-clash") is not None, "down leaves a non-tap with the tap's name alone")

        # An interface called qvmbr0 that is not a bridge gets no address and no port.
        sh("ip", "netns", "del", NS)
        sh("ip", "netns", "add", NS)
        sh("ip", "-n", NS, "link", "add", "qvmbr0", "type", "veth", "peer", "name", "qvmpeer")
        rc, out = net("up", "t1", confdir)
        check(rc != 0 and "not a bridge" in out, "up refuses a qvmbr0 that is not a bridge")
        check("inet" not in sh("ip", "-n", NS, "addr", "show", "dev", "qvmbr0")[1] and link("qvm-t1") is None,
              "and leaves it without an address, and no tap behind")

        # Bad input.
        rc, _ = net("up", "../etc", confdir)
        check(rc == 2, "an invalid VM name is rejected")
    finally:
        sh("ip", "netns", "del", NS, ok=False)
        shutil.rmtree(confdir, ignore_errors=True)
    print("%d failure(s)" % len(failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
