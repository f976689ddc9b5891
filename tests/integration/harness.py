"""harness.py - boot a real systemd in a throwaway container with the built qvm installed.

The host has no systemd as PID 1, so each test boots one (tests/integration/README.md):

  1. an overlay of the host's / (lowerdir=/) on a fresh temp dir, so nothing the
     test does reaches the real host;
  2. `meson install --destdir` of the build tree into that overlay, after removing
     whatever qvm files the host may already have there (no test depends on what
     an earlier run left behind);
  3. `systemd-nspawn --boot --private-network` on the overlay;
  4. commands run inside through nsenter into the container's PID 1 namespaces,
     so `systemctl`, `journalctl`, `ssh` are the real ones, talking to that systemd.

Teardown always happens: `close()` powers the container off (then kills it),
unmounts the overlay and removes the temp dir.  A separate reaper process, in its
own session, watches a pipe from the test; if the test dies any way at all
(exception, SIGINT, meson's SIGTERM followed half a second later by SIGKILL), the
reaper finishes the same teardown.

Usage from a test (python3):

    sys.path.insert(0, os.path.dirname(__file__))   # tests/integration
    from harness import Container, skip_unless_possible
    skip_unless_possible()
    with Container("mytest") as c:
        c.write("/etc/qvm/vm1.ini", "[vm]\\n...")
        c.boot()
        c.systemctl("daemon-reload")
        out = c.run(["systemctl", "cat", "qvm@vm1"]).stdout

On an exception inside the `with`, the journal and unit status are printed to
stdout (meson keeps them in its test log) before teardown.

Debugging: `tests/integration/harness.py shell [INI...]` boots a container with the
build in $QVM_BUILD_ROOT (default ./build) installed and gives you a shell inside.
"""

import contextlib
import fcntl
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

SKIP = 77
INNER_ENV = {
    "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "LANG": "C.UTF-8",
    "HOME": "/root",
    "TERM": "dumb",
    "SYSTEMD_PAGER": "",
    "SYSTEMD_COLORS": "0",
}
# Files a host install of qvm might have left that would leak into the container.
STALE_PATHS = ["etc/qvm", "var/lib/qvm", "var/cache/qvm", "run/qvm"]
# Held while a container is up: one at a time on the whole machine (see _take_machine_lock).
MACHINE_LOCK = "/run/lock/qvm-container.lock"
_machine_lock = None
_machine_lock_users = 0
# The cgroup hierarchies nspawn places a container in, when the host has no systemd as PID 1.
CGROUP_ROOTS = [d for d in ("/sys/fs/cgroup/systemd", "/sys/fs/cgroup/unified")
                if not os.path.exists("/run/systemd/system") and os.path.exists(d + "/cgroup.procs")]


class HarnessError(Exception):
    """A step of the harness itself failed (not a scenario assertion)."""


def log(msg):
    """Print a progress line that ends up in meson's test log."""
    print(f"[harness {time.strftime('%H:%M:%S')}] {msg}", flush=True)


def skip(why):
    """Exit with meson's skip code."""
    print(f"SKIP: {why}", flush=True)
    sys.exit(SKIP)


def skip_unless_possible():
    """Skip the test (exit 77) when this machine cannot boot a systemd container."""
    if os.geteuid() != 0:
        skip("needs root (overlay mount, systemd-nspawn)")
    for tool in ("systemd-nspawn", "nsenter", "meson"):
        if not shutil.which(tool):
            skip(f"{tool} not installed")
    with open("/proc/filesystems") as f:
        if "overlay" not in f.read():
            subprocess.run(["modprobe", "overlay"], stderr=subprocess.DEVNULL, check=False)


def build_root():
    """The meson build dir under test."""
    root = os.environ.get("QVM_BUILD_ROOT")
    if root:
        return root
    return os.path.abspath("build")


def source_root():
    """The source tree."""
    return os.environ.get("QVM_SOURCE_ROOT") or os.path.dirname(os.path.dirname(
        os.path.dirname(os.path.abspath(__file__))))


def installed_files(build):
    """Map of build-tree file -> absolute install path, from meson introspection."""
    out = subprocess.run(["meson", "introspect", "--installed", build], check=True,
                         capture_output=True, text=True).stdout
    return json.loads(out)


def install_path(name, build=None):
    """Absolute install path of the installed file whose basename is @name (e.g. 'qvm-launch')."""
    for dest in installed_files(build or build_root()).values():
        if os.path.basename(dest) == name:
            return dest
    raise HarnessError(f"{name} is not installed by this build")


def _container_init(nspawn_pid):
    """PID (host view) of the container's PID 1 once it runs systemd, else None."""
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/status") as f:
                status = dict(line.rstrip("\n").split(":\t", 1) for line in f if ":\t" in line)
            if int(status.get("PPid", -1)) != nspawn_pid:
                continue
            if status.get("NSpid", "").split()[-1:] != ["1"]:
                continue
            if os.path.basename(os.readlink(f"/proc/{entry}/exe")) != "systemd":
                continue
        except (OSError, ValueError):
            continue
        return int(entry)
    return None


def _alive(pid):
    """Does process @pid still exist (and is it not a zombie)?"""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def _comm(pid):
    """The command name of process @pid ('' if gone)."""
    try:
        with open(f"/proc/{pid}/comm") as f:
            return f.read().strip()
    except OSError:
        return ""


def _is_mounted(path):
    """Is @path a mount point in our mount namespace?"""
    with open("/proc/self/mountinfo") as f:
        return any(line.split()[4] == path for line in f)


def teardown(tmp, grace=60):
    """Stop the container recorded in @tmp/state.json, unmount, remove @tmp.  Idempotent.

    Powers the container off through its systemd (VMs get their graceful stop),
    waits up to @grace seconds, then kills what is left.  Serialised with a lock
    so the test and the reaper never tear down at the same time.
    """
    if not os.path.isdir(tmp):
        return
    with open(os.path.join(tmp, ".teardown.lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            with open(os.path.join(tmp, "state.json")) as f:
                state = json.load(f)
        except (OSError, ValueError):
            state = {}
        nspawn = state.get("nspawn_pid")
        if nspawn and _alive(nspawn) and _comm(nspawn) == "systemd-nspawn":
            _stop_container(nspawn, grace)
        root = os.path.join(tmp, "root")
        for attempt in range(20):
            if not _is_mounted(root):
                break
            r = subprocess.run(["umount", root], capture_output=True, text=True)
            if r.returncode != 0 and attempt == 19:
                subprocess.run(["umount", "-l", root], check=False)
            elif r.returncode != 0:
                time.sleep(0.25)
        for cgroup in state.get("cgroups") or []:
            _remove_cgroup(cgroup)
        if _is_mounted(root):
            # Never recurse into a mounted overlay of /.
            print(f"harness: {root} is still mounted; leaving {tmp}", file=sys.stderr)
            return
    shutil.rmtree(tmp, ignore_errors=True)


def _remove_cgroup(path):
    """Remove a container's (now empty) cgroup directory and the ones nspawn made inside it."""
    if not os.path.isdir(path):
        return
    for d, _, _ in sorted(os.walk(path), key=lambda w: -len(w[0])):
        with contextlib.suppress(OSError):
            os.rmdir(d)


def _stop_container(nspawn, grace):
    """Power off the container of nspawn process @nspawn; kill it after @grace seconds."""
    init = _container_init(nspawn)
    if init:
        # SIGRTMIN+4 asks systemd for a clean poweroff, like `systemctl poweroff`.
        with contextlib.suppress(ProcessLookupError):
            os.kill(init, signal.SIGRTMIN + 4)
    else:
        with contextlib.suppress(ProcessLookupError):
            os.kill(nspawn, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while _alive(nspawn) and time.monotonic() < deadline:
        time.sleep(0.2)
    if _alive(nspawn):
        init = _container_init(nspawn)
        if init:
            # Killing PID 1 of a PID namespace kills everything in it.
            with contextlib.suppress(ProcessLookupError):
                os.kill(init, signal.SIGKILL)
        time.sleep(0.5)
        with contextlib.suppress(ProcessLookupError):
            os.kill(nspawn, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while _alive(nspawn) and time.monotonic() < deadline:
        time.sleep(0.1)
    # nspawn is our child only in the test process; reap it there.
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(nspawn, os.WNOHANG)


def _reaper_main(tmp, grace):
    """Reaper process: wait for the test to go away, then tear its container down."""
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, signal.SIG_IGN)
    try:
        while sys.stdin.buffer.read(4096):
            pass
    except OSError:
        pass
    teardown(tmp, grace)


class Container:
    """One systemd container over an overlay of the host's root, with qvm installed."""

    def __init__(self, name, build=None, kvm=False, kmsg=False, binds=(), grace=60, nspawn_args=(),
                 install=True, netns=None):
        """Prepare (but do not boot) a container; @name shows up in the machine name and temp dir.

        @kvm binds /dev/kvm; @kmsg binds the host's /dev/kmsg and lets the container's
        journald read it, so what the generator logs to the kernel log reaches the
        container's journal as on a real host (the container sees the host's kernel
        log too, and its lines land there); @binds are extra --bind= arguments; with
        @install false, qvm is only removed, not installed (a test installs it its own way);
        @netns names a network namespace (ip netns) to boot in instead of a private one.
        """
        self.name = name
        self.build = build or build_root()
        self.kvm = kvm
        self.kmsg = kmsg
        self.binds = list(binds)
        self.nspawn_args = list(nspawn_args)
        self.grace = grace
        self.install = install
        self.netns = netns
        self.nspawn = None
        self.init = None
        self.console_log = None
        self._reaper = None
        self._lock = False
        self.tmp = tempfile.mkdtemp(prefix=f"qvm-integ-{name}-", dir="/var/tmp")
        # A valid hostname: letters, digits and inner dashes only.
        tag = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:40]
        self.machine = f"qvm-{tag}-{os.urandom(4).hex()}"
        self.cgroups = [os.path.join(d, self.machine) for d in CGROUP_ROOTS]
        self.root = os.path.join(self.tmp, "root")
        self._save_state()
        self._start_reaper()
        try:
            self._mount()
            self._install()
        except BaseException:
            self.close()
            raise

    # ---- setup -------------------------------------------------------------

    def _save_state(self):
        """Record what teardown() needs to find, for the reaper."""
        state = {"nspawn_pid": self.nspawn.pid if self.nspawn else None, "cgroups": self.cgroups}
        with open(os.path.join(self.tmp, "state.json.new"), "w") as f:
            json.dump(state, f)
        os.rename(os.path.join(self.tmp, "state.json.new"), os.path.join(self.tmp, "state.json"))

    def _start_reaper(self):
        """Start the process that tears down after us if we die."""
        self._reaper = subprocess.Popen(
            [sys.executable, os.path.abspath(__file__), "--reap", self.tmp, str(self.grace)],
            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
            stderr=open(os.path.join(self.tmp, "reaper.log"), "w"),
            start_new_session=True)

    def _mount(self):
        """Mount the overlay of / and make it look freshly installed."""
        for d in ("up", "work", "root"):
            os.mkdir(os.path.join(self.tmp, d))
        subprocess.run(["mount", "-t", "overlay", "overlay", "-o",
                        f"lowerdir=/,upperdir={self.tmp}/up,workdir={self.tmp}/work", self.root],
                       check=True)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path("/etc/machine-id"))
        # A persistent journal survives poweroff, so tests can read the shutdown.
        os.makedirs(self.path("/var/log/journal"), exist_ok=True)

    def _install(self):
        """meson install the build into the overlay, after removing any qvm already there."""
        files = installed_files(self.build)
        for dest in files.values():
            rm = self.path(dest)
            if os.path.basename(os.path.dirname(dest)) == "qvm":
                rm = os.path.dirname(rm)
            if os.path.isdir(rm) and not os.path.islink(rm):
                shutil.rmtree(rm)
            elif os.path.lexists(rm):
                os.unlink(rm)
        for p in STALE_PATHS:
            shutil.rmtree(self.path(p), ignore_errors=True)
        if not self.install:
            return
        # Parallel tests install from the same build dir; meson's own log is shared.
        with open(os.path.join(self.build, "meson-private", "qvm-integ-install.lock"), "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            r = subprocess.run(["meson", "install", "-C", self.build, "--no-rebuild", "--quiet",
                                "--destdir", self.root], capture_output=True, text=True)
        if r.returncode != 0:
            raise HarnessError(f"meson install failed:\n{r.stdout}{r.stderr}")
        os.makedirs(self.path("/etc/qvm"), exist_ok=True)
        self._sanitizer_dropins()

    def _sanitizer_dropins(self):
        """In a sanitizer build, no LeakSanitizer inside the units: it stops the world with
        ptrace(), which their SystemCallFilter= refuses (the unit and cli tests keep it)."""
        try:
            with open(os.path.join(self.build, "meson-info", "intro-buildoptions.json")) as f:
                opts = {o["name"]: o["value"] for o in json.load(f)}
        except (OSError, ValueError):
            return
        if opts.get("b_sanitize", "none") == "none":
            return
        for unit in ("qvm@.service", "qvm-fetch@.service"):
            self.write(f"/etc/systemd/system/{unit}.d/90-test-sanitizer.conf",
                       "[Service]\nEnvironment=ASAN_OPTIONS=detect_leaks=0\n")

    # ---- files -------------------------------------------------------------

    def path(self, inner):
        """Host path of @inner (an absolute path inside the container)."""
        return os.path.join(self.root, inner.lstrip("/"))

    def write(self, inner, text, mode=0o644):
        """Write a file inside the container (works before and after boot)."""
        p = self.path(inner)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "w") as f:
            f.write(text)
        os.chmod(p, mode)

    def tiny_guest(self):
        """Build (cached) tests/lib/tiny-guest.sh's guest and copy it into the container.

        Return: (kernel, initrd) as paths inside the container, readable by the qvm user.
        """
        script = os.path.join(source_root(), "tests", "lib", "tiny-guest.sh")
        env = dict(os.environ, QVM_BUILD_ROOT=self.build)
        r = subprocess.run([script], capture_output=True, text=True, env=env)
        if r.returncode != 0:
            raise HarnessError(f"tiny-guest.sh failed:\n{r.stderr}")
        kernel, initrd = r.stdout.split()[-2:]
        inner = []
        for src, name in ((kernel, "vmlinuz"), (initrd, "initrd.img")):
            dest = "/srv/qvm-test/tiny-" + name
            os.makedirs(os.path.dirname(self.path(dest)), exist_ok=True)
            shutil.copyfile(src, self.path(dest))
            os.chmod(self.path(dest), 0o644)
            inner.append(dest)
        return tuple(inner)

    def guest_image(self):
        """Build (cached) the Debian cloud-init guest of tests/lib/guest-image.sh.

        Return: the image's path inside the container, where it is bound read-only
        (so call this before boot()); $QVM_GUEST_IMAGE names a prebuilt image instead.
        """
        script = os.path.join(source_root(), "tests", "lib", "guest-image.sh")
        if not os.path.exists(script):
            raise HarnessError("tests/lib/guest-image.sh is not in this tree")
        env = dict(os.environ, QVM_BUILD_ROOT=self.build, QVM_SOURCE_ROOT=source_root())
        log("building or finding the Debian guest image (tests/lib/guest-image.sh)")
        r = subprocess.run(["bash", "-c", 'source "$1" && ensure_guest_image', "guest-image", script],
                           capture_output=True, text=True, env=env, timeout=1800)
        if r.returncode != 0 or not r.stdout.split():
            raise HarnessError(f"guest-image.sh failed ({r.returncode}):\n{r.stderr[-4000:]}")
        image = r.stdout.split()[-1]
        # Bound read-only to a path every unit sees (the host's may be under a /tmp that the
        # container, or PrivateTmp=, hides).
        inner = "/srv/qvm-test/" + os.path.basename(image)
        self.nspawn_args.append(f"--bind-ro={image}:{inner}")
        return inner

    def ssh_keygen(self, path="/root/.ssh/id_qvm_test"):
        """Make an ed25519 key pair inside the container.

        Return: (private key path, public key text).
        """
        self.run(["mkdir", "-p", "-m", "0700", os.path.dirname(path)])
        self.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "qvm-integration", "-f", path])
        with open(self.path(path + ".pub")) as f:
            return path, f.read().strip()

    def ssh(self, key, port, command, user="dev", check=True, timeout=60):
        """Run @command in the guest over ssh from inside the container."""
        return self.run(["ssh", "-i", key, "-p", str(port), "-o", "BatchMode=yes",
                         "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
                         "-o", "ConnectTimeout=5", "-o", "LogLevel=ERROR", f"{user}@127.0.0.1",
                         command], check=check, timeout=timeout)

    def remove(self, inner):
        """Remove a file inside the container."""
        os.unlink(self.path(inner))

    # ---- boot --------------------------------------------------------------

    def _take_machine_lock(self):
        """Wait until no container of any other test run on this machine is up.

        Containers of one process (a multi-host test) share the lock; each gets a cgroup of
        its own (_own_cgroup).  The lock keeps separate test runs - other checkouts, other
        meson runs - from loading the 2-core machine with several systems at once.  The
        kernel drops it when this process dies, whatever the way.
        """
        global _machine_lock, _machine_lock_users
        if _machine_lock_users == 0:
            _machine_lock = open(MACHINE_LOCK, "w")
            try:
                fcntl.flock(_machine_lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                log(f"waiting for {MACHINE_LOCK}: another test run has a container up")
                fcntl.flock(_machine_lock, fcntl.LOCK_EX)
        _machine_lock_users += 1
        self._lock = True

    def _release_machine_lock(self):
        """Drop this container's share of the machine lock."""
        global _machine_lock, _machine_lock_users
        if not self._lock:
            return
        self._lock = False
        _machine_lock_users -= 1
        if _machine_lock_users == 0:
            _machine_lock.close()
            _machine_lock = None

    def _own_cgroup(self):
        """Put the calling (forked, not yet exec'd) nspawn into cgroups of its own.

        Without systemd as the host's PID 1, nspawn --keep-unit makes its payload and
        supervisor cgroups under the caller's, so two containers started from one cgroup
        trip over each other (219/CGROUP).  A directory per container in each hierarchy
        nspawn uses keeps them apart.
        """
        for d in self.cgroups:
            with open(os.path.join(d, "cgroup.procs"), "w") as f:
                f.write(str(os.getpid()))

    def boot(self, timeout=120, allow_degraded=False):
        """Boot systemd and wait until it is up; a degraded system is a failure unless allowed.

        Return: the state `systemctl is-system-running` reported.
        """
        cmd = ["systemd-nspawn", "-q", "-D", self.root, f"--machine={self.machine}",
               "--register=no", "--keep-unit", "--boot",
               f"--network-namespace-path=/run/netns/{self.netns}" if self.netns else "--private-network",
               "--bind=/dev/net/tun", "--setenv=SYSTEMD_COLORS=0"]
        if self.kvm and os.path.exists("/dev/kvm"):
            cmd.append("--bind=/dev/kvm")
        if self.kmsg:
            cmd += ["--bind=/dev/kmsg", "--capability=CAP_SYSLOG"]
        cmd += [f"--bind={b}" for b in self.binds]
        cmd += self.nspawn_args
        self.console_log = os.path.join(self.tmp, "console.log")
        self._take_machine_lock()
        for d in self.cgroups:
            os.makedirs(d, exist_ok=True)
        log(f"booting container {self.machine} in {self.tmp}")
        self.nspawn = subprocess.Popen(cmd, stdin=subprocess.DEVNULL,
                                       stdout=open(self.console_log, "w"), stderr=subprocess.STDOUT,
                                       start_new_session=True, cwd="/", preexec_fn=self._own_cgroup)
        self._save_state()
        deadline = time.monotonic() + timeout
        while not self.init:
            if self.nspawn.poll() is not None:
                raise HarnessError(f"systemd-nspawn exited with {self.nspawn.returncode}:\n"
                                   + self.console())
            if time.monotonic() > deadline:
                raise HarnessError("container's systemd did not start")
            self.init = _container_init(self.nspawn.pid)
            time.sleep(0.1)
        state = ""
        while time.monotonic() < deadline:
            left = max(1, int(deadline - time.monotonic()))
            r = self.run(["timeout", str(left), "systemctl", "is-system-running", "--wait"],
                         check=False, timeout=left + 5)
            state = r.stdout.strip()
            if state in ("running", "degraded"):
                break
            time.sleep(0.3)
        log(f"container is {state or 'not answering'}")
        if state == "degraded" and not allow_degraded:
            raise HarnessError("system is degraded after boot:\n" + self.failed_units())
        if state not in ("running", "degraded"):
            raise HarnessError(f"system did not finish booting (state: {state!r})")
        return state

    # ---- commands inside ---------------------------------------------------

    def run(self, argv, check=True, timeout=300, input=None, env=None):
        """Run @argv inside the container (all its namespaces, clean environment).

        Return: subprocess.CompletedProcess with text stdout/stderr.  Raises
        HarnessError with both outputs when @check and it exits non-zero.
        """
        if not self.init:
            raise HarnessError("container is not running")
        inner_env = dict(INNER_ENV, **(env or {}))
        cmd = ["nsenter", "-t", str(self.init), "-m", "-u", "-i", "-n", "-p", "-r", "-w",
               "env", "-i"] + [f"{k}={v}" for k, v in inner_env.items()] + list(argv)
        try:
            r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, input=input,
                               errors="replace")
        except subprocess.TimeoutExpired as e:
            raise HarnessError(f"timed out after {timeout}s: {' '.join(argv)}") from e
        if check and r.returncode != 0:
            raise HarnessError(f"`{' '.join(argv)}` exited {r.returncode}\n"
                               f"--- stdout\n{r.stdout}--- stderr\n{r.stderr}")
        return r

    def sh(self, script, **kw):
        """Run a /bin/sh script inside the container."""
        return self.run(["sh", "-c", script], **kw)

    def systemctl(self, *args, check=True, timeout=300):
        """Run systemctl inside; return its CompletedProcess."""
        return self.run(["systemctl", "--no-pager", *args], check=check, timeout=timeout)

    def journal(self, *args):
        """The container journal (this boot) as text, with extra journalctl @args."""
        return self.run(["journalctl", "-b", "--no-pager", "-o", "short-monotonic", *args],
                        check=False).stdout

    def unit_property(self, unit, prop):
        """The value of one property of @unit."""
        return self.systemctl("show", "-P", prop, unit).stdout.strip()

    def wait_until(self, what, predicate, timeout=60, interval=0.5):
        """Poll @predicate until it returns a true value; raise HarnessError naming @what on timeout."""
        deadline = time.monotonic() + timeout
        while True:
            value = predicate()
            if value:
                return value
            if time.monotonic() > deadline:
                raise HarnessError(f"timed out after {timeout}s waiting for {what}")
            time.sleep(interval)

    def console(self):
        """What the container printed on its console so far."""
        try:
            with open(self.console_log, errors="replace") as f:
                return f.read()
        except (OSError, TypeError):
            return ""

    def failed_units(self):
        """`systemctl --failed` with the status of each failed unit."""
        r = self.systemctl("--failed", "--plain", "--no-legend", check=False)
        out = r.stdout
        for line in r.stdout.splitlines():
            if line.split():
                out += self.systemctl("status", "-l", "-n", "30", line.split()[0], check=False).stdout
        return out

    # ---- stop --------------------------------------------------------------

    def poweroff(self, timeout=None):
        """`systemctl poweroff` inside and wait for the container to stop (overlay stays).

        Return: seconds the shutdown took.
        """
        start = time.monotonic()
        self.run(["systemctl", "poweroff"], check=False)
        try:
            self.nspawn.wait(timeout=timeout or self.grace)
        except subprocess.TimeoutExpired as e:
            raise HarnessError("container did not power off in time") from e
        self.init = None
        return time.monotonic() - start

    def host_journal(self, *args):
        """The container's persistent journal read from the host (works after poweroff)."""
        return subprocess.run(["journalctl", "-D", self.path("/var/log/journal"), "--no-pager",
                               "-o", "short-monotonic", *args],
                              capture_output=True, text=True, errors="replace").stdout

    def dump_logs(self):
        """Print everything useful for a post-mortem into the test log."""
        print("=" * 30 + " harness: logs for the failure " + "=" * 30, flush=True)
        if self.init and _alive(self.init):
            print("--- systemctl --failed + status\n" + self.failed_units())
            print("--- systemctl status qvm@*\n"
                  + self.systemctl("status", "-l", "-n", "50", "qvm@*", check=False).stdout)
            print("--- journalctl -b\n" + self.journal())
        elif self.root and os.path.isdir(self.path("/var/log/journal")):
            print("--- journal (read from disk)\n" + self.host_journal())
        print("--- container console (tail)\n" + self.console()[-6000:], flush=True)

    def close(self):
        """Tear everything down; signals are held off meanwhile so teardown completes."""
        old = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
        try:
            teardown(self.tmp, self.grace)
            if self.nspawn:
                with contextlib.suppress(Exception):
                    self.nspawn.wait(timeout=5)
            self._release_machine_lock()
            self.init = None
            if self._reaper:
                self._reaper.stdin.close()
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self._reaper.wait(timeout=10)
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, old)

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is not None and not issubclass(exc_type, (KeyboardInterrupt, SystemExit)):
            with contextlib.suppress(Exception):
                self.dump_logs()
        self.close()
        return False


def _sigterm(signum, frame):
    """Turn SIGTERM (meson's timeout) into an exception, so `with`/finally blocks tear down."""
    raise SystemExit(128 + signum)


signal.signal(signal.SIGTERM, _sigterm)
signal.signal(signal.SIGHUP, _sigterm)


def _shell(inis):
    """Interactive debugging: boot a container with the build and @inis, open a shell inside."""
    skip_unless_possible()
    with Container("shell") as c:
        for ini in inis:
            shutil.copy(ini, c.path("/etc/qvm/" + os.path.basename(ini)))
        c.boot(allow_degraded=True)
        print(f"container {c.machine}; exit the shell to tear it down", flush=True)
        subprocess.run(["nsenter", "-t", str(c.init), "-m", "-u", "-i", "-n", "-p", "-r", "-w",
                        "env", "-i"] + [f"{k}={v}" for k, v in INNER_ENV.items() if k != "TERM"]
                       + [f"TERM={os.environ.get('TERM', 'dumb')}", "bash", "-l"], check=False)


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--reap":
        _reaper_main(sys.argv[2], int(sys.argv[3]))
    elif len(sys.argv) >= 2 and sys.argv[1] == "shell":
        _shell(sys.argv[2:])
    else:
        print(__doc__)
        sys.exit(0 if len(sys.argv) > 1 and sys.argv[1] in ("-h", "--help") else 2)
