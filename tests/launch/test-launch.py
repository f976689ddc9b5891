#!/usr/bin/env python3
"""test-launch.py - qvm-launch against a fake QEMU (tests/launch/fake-qemu.py) outside systemd.

Each case runs the real qvm-launch with QVM_CONFIG_DIR/QVM_STATE_ROOT/QVM_RUNTIME_ROOT
in a temp dir and NOTIFY_SOCKET on a datagram socket the test reads, then checks
exit status, sd_notify messages, console lines and timing.
"""
import os
import select
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
FAKE = os.path.join(HERE, "fake-qemu.py")
failures = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what, flush=True)
    if not cond:
        failures.append(what)


class Run:
    """One qvm-launch process on a VM config; collects notify messages."""

    def __init__(self, launcher, ini, mode, files=None):
        self.tmp = tempfile.mkdtemp(prefix="qvm-launch-test.")
        for d in ("etc", "state", "run"):
            os.mkdir(os.path.join(self.tmp, d))
        for rel, content in (files or {}).items():
            os.makedirs(os.path.dirname(os.path.join(self.tmp, rel)), exist_ok=True)
            with open(os.path.join(self.tmp, rel), "wb") as f:
                f.write(content)
        with open(os.path.join(self.tmp, "etc", "vm.ini"), "w") as f:
            f.write(ini.replace("@FAKE@", FAKE))
        self.notify_path = os.path.join(self.tmp, "notify.sock")
        self.notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.notify.bind(self.notify_path)
        self.notify.setblocking(False)
        self.messages = []
        env = dict(os.environ, QVM_CONFIG_DIR=os.path.join(self.tmp, "etc"),
                   QVM_STATE_ROOT=os.path.join(self.tmp, "state"),
                   QVM_RUNTIME_ROOT=os.path.join(self.tmp, "run"),
                   NOTIFY_SOCKET=self.notify_path, FAKE_QEMU_MODE=mode)
        env.pop("JOURNAL_STREAM", None)
        self.start = time.monotonic()
        self.proc = subprocess.Popen([launcher, "vm"], env=env, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)

    def poll_notify(self):
        while True:
            try:
                self.messages += self.notify.recv(4096).decode().split("\n")
            except BlockingIOError:
                return

    def wait_for(self, message, timeout=20):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            self.poll_notify()
            if any(m.startswith(message) for m in self.messages):
                return True
            if self.proc.poll() is not None:
                self.poll_notify()
                return any(m.startswith(message) for m in self.messages)
            time.sleep(0.05)
        return False

    def finish(self, timeout=30):
        try:
            out, err = self.proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            out, err = self.proc.communicate()
        self.poll_notify()
        self.elapsed = time.monotonic() - self.start
        self.out, self.err = out, err
        run_dir = os.path.join(self.tmp, "run", "vm")
        leftovers = os.listdir(run_dir) if os.path.isdir(run_dir) else ["<no runtime dir>"]
        return self.proc.returncode, leftovers


BASE = """[vm]
accel = tcg
ready = {ready}
shutdown-timeout = {stop}
[boot]
kernel = /dev/null
[network]
mode = none
[qemu]
binary = @FAKE@
"""


def case_ready_and_obeyed_stop(launcher):
    r = Run(launcher, BASE.format(ready="started", stop="30s"), "obey")
    check(r.wait_for("READY=1"), "ready = started: READY=1 once QMP says running")
    r.proc.send_signal(signal.SIGTERM)
    code, left = r.finish()
    check(code == 0, f"SIGTERM with an obedient guest exits 0 (got {code})")
    check("STOPPING=1" in r.messages, "STOPPING=1 sent")
    check("fake kernel: booting" in r.out.splitlines(), "console line arrives, escapes and CR stripped")
    check("fake guest: powering off" in r.out, "the guest's last console line is not lost")
    check(any(m.startswith("STATUS=running (tcg)") for m in r.messages), "STATUS says running (tcg)")
    check("system_powerdown" in r.err and "guest shut down" in r.err, "each stop step is logged: " + r.err[-600:])
    check(left == [], f"no sockets left in the runtime dir ({left})")


def case_qmp_hangup_before_stop(launcher):
    """L2: QMP closed before the stop: no SIGPIPE death; the launcher reconnects and the guest gets ACPI."""
    r = Run(launcher, BASE.format(ready="started", stop="30s"), "hangup")
    check(r.wait_for("READY=1"), "hangup: ready")
    time.sleep(1)
    r.proc.send_signal(signal.SIGTERM)
    code, left = r.finish()
    check(code == 0, f"QMP gone before SIGTERM: still exits 0, not killed by SIGPIPE (got {code})")
    check("fake guest: powering off" in r.out, "the guest got the ACPI power button over a new QMP connection")
    check(left == [], f"no sockets left in the runtime dir ({left})")


def case_ignored_acpi(launcher):
    r = Run(launcher, BASE.format(ready="started", stop="2s"), "ignore-acpi")
    check(r.wait_for("READY=1"), "ignore-acpi guest becomes ready")
    t0 = time.monotonic()
    r.proc.send_signal(signal.SIGTERM)
    code, _ = r.finish()
    took = time.monotonic() - t0
    check(code == 0, f"a guest ignoring ACPI is stopped, exit 0 (got {code})")
    check(2 <= took <= 2 + 5, f"forced off after shutdown-timeout (2 s) and within +5 s (took {took:.1f}s)")
    check("did not power off within 2s" in r.err, "the forced stop is logged")


def case_crash(launcher):
    r = Run(launcher, BASE.format(ready="started", stop="30s"), "crash")
    code, left = r.finish()
    check(code == 1, f"a QEMU crash exits 1 so Restart=on-failure applies (got {code})")
    check("killed by signal" in r.err, "the crash is explained")
    check(left == [], "no sockets left after a crash")


def case_fail_to_start(launcher):
    r = Run(launcher, BASE.format(ready="started", stop="30s"), "fail")
    code, _ = r.finish()
    check(code == 1, f"a QEMU that fails to start exits 1 (got {code})")
    check("Could not open '/nope'" in r.err, "QEMU's own error reaches stderr (the journal)")
    check("READY=1" not in r.messages, "no READY=1 for a QEMU that never ran")


CLOUD_INIT = "[cloud-init]\nuser = dev\n"


def case_cloud_init_mark(launcher):
    r = Run(launcher, BASE.format(ready="cloud-init", stop="30s") + CLOUD_INIT, "mark")
    check(r.wait_for("READY=1"), "ready = cloud-init: READY=1 when the mark appears on the console")
    check(time.monotonic() - r.start >= 0.9, "not before the mark")
    check(any(m.startswith("EXTEND_TIMEOUT_USEC=") for m in r.messages), "EXTEND_TIMEOUT_USEC while waiting")
    r.proc.send_signal(signal.SIGTERM)
    code, _ = r.finish()
    check(code == 0, "stopped cleanly")


def case_not_ready_in_time(launcher):
    ini = BASE.format(ready="cloud-init", stop="30s").replace("[boot]", "start-timeout = 2s\n[boot]") + CLOUD_INIT
    r = Run(launcher, ini, "obey")
    code, _ = r.finish()
    check(code == 1, f"not ready within start-timeout fails (got {code})")
    check("did not become ready" in r.err, "the timeout is explained")
    check(r.elapsed < 10, f"and does not hang ({r.elapsed:.1f}s)")


class FakeSshEndpoint:
    """A loopback port that answers like QEMU's user-mode ssh forward during a boot:
    first every connection is accepted and then left silent (the guest's network is down),
    then each is closed at once (the guest refuses: no sshd yet), then each gets a banner."""

    def __init__(self, silent_s, refuse_s):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.t0 = time.monotonic()
        self.silent_until, self.refuse_until = self.t0 + silent_s, self.t0 + silent_s + refuse_s
        self.held, self.connects, self.most_held, self.given_up = [], [], 0, 0
        self.first_refusal, self.held_after_refusal = None, None
        self.stop = False
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        """Accept, hold, refuse or answer; count the held ones the client gives up."""
        while not self.stop:
            ready = select.select(self.held + [self.sock], [], [], 0.05)[0]
            for s in ready:   # closed probes first: a new connect may follow its FIN at once
                if s is not self.sock:   # a held probe: the client closed it
                    if not s.recv(64):
                        self.held.remove(s)
                        s.close()
                        self.given_up += 1
                    continue
                conn, _ = self.sock.accept()
                now = time.monotonic()
                self.connects.append(now)
                if now < self.silent_until:
                    self.held.append(conn)
                    self.most_held = max(self.most_held, len(self.held))
                    continue
                if now >= self.refuse_until:
                    conn.sendall(b"SSH-2.0-fake\r\n")
                elif self.first_refusal is None:
                    self.first_refusal = now
                conn.close()
            if self.first_refusal and self.held_after_refusal is None and \
                    time.monotonic() > self.first_refusal + 0.5:
                self.held_after_refusal = len(self.held)

    def close(self):
        self.stop = True
        self.thread.join()
        for s in self.held:
            s.close()
        self.sock.close()


def case_ssh_probes(launcher):
    """ready = ssh through a forward: silent probes (guest network down) are given up, not waited
    on forever; refused ones are retried; the banner makes it ready; then no more probes."""
    ssh = FakeSshEndpoint(silent_s=4, refuse_s=3)
    ini = BASE.format(ready="ssh", stop="30s").replace("mode = none", f"ssh = {ssh.port}")
    r = Run(launcher, ini, "obey")
    ready = r.wait_for("READY=1", timeout=30)
    check(ready, "ready = ssh: READY=1 once the forward answers with a banner")
    check(time.monotonic() >= ssh.refuse_until, "not before the banner")
    check(ssh.given_up >= 1, f"a silent probe was given up for a new one ({ssh.given_up} given up)")
    check(1 <= ssh.most_held <= 4, f"at most 4 probes in flight ({ssh.most_held} silent ones at once)")
    refused = [t for t in ssh.connects if ssh.silent_until <= t < ssh.refuse_until]
    check(len(refused) >= 4, f"refused probes are retried every 250 ms, not every second: within the 3 s of refusals ({len(refused)})")
    check(ssh.held_after_refusal == 0, "a refusal closes the silent probes started before it"
          f" ({ssh.held_after_refusal} still open 0.5 s after the first refusal)")
    n = len(ssh.connects)
    time.sleep(1.5)
    check(len(ssh.connects) == n, f"no probe once ready ({len(ssh.connects) - n} after READY=1)")
    check(ssh.held == [], f"every probe is closed once ready ({len(ssh.held)} still open)")
    ssh.close()
    r.proc.send_signal(signal.SIGTERM)
    code, _ = r.finish()
    check(code == 0, f"stopped cleanly (got {code})")
    check("guest is ready (ssh answers)" in r.err, "the launcher says why it is ready: " + r.err[-400:])


def main():
    launcher = sys.argv[1]
    for case in (case_ready_and_obeyed_stop, case_qmp_hangup_before_stop, case_ignored_acpi, case_crash, case_fail_to_start,
                 case_cloud_init_mark, case_not_ready_in_time, case_ssh_probes):
        print(f"# {case.__name__}", flush=True)
        case(launcher)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
