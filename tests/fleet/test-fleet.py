#!/usr/bin/env python3
"""test-fleet.py - the Ansible collection (ansible/) against three real hosts.

The hosts are systemd containers of the integration harness, each in a network namespace of
its own made here, joined by a bridge in a fourth namespace where ansible-playbook runs; no
packet leaves this machine. Each host gets sshd (from Debian's .debs, installed into the
container only) and the controller's key; the qvm_host role installs qvm's .deb.

Playbook runs, each checked on the hosts themselves:
  1. two tiny VMs on each host: all six run;
  2. the same again: changed=0 everywhere;
  3. one VM's memory changed: only that VM restarts;
  4. --check with a change: nothing on any host changes;
  5. a broken setting on one host: that host fails with qvm's path:line message, its file
     and VMs and the other hosts stay as they were;
  6. one VM absent: its unit and file are gone, its disk is kept;
  7. a rolling restart with serial: 1: at every moment two hosts have all their VMs up.
"""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
sys.path.insert(0, os.path.join(HERE, "..", "package"))
from harness import Container, build_root, log, skip, skip_unless_possible, source_root  # noqa: E402
from deb import build_deb  # noqa: E402

HOSTS = ["host1", "host2", "host3"]
VMS = ["a", "b"]
SUBNET = "10.231.7"  # inside the namespaces made here only
TAG = f"qf{os.getpid() % 100000}"
# Step 3 grows host2's VM a; the later plays keep it that way.
GROWN = {("host2", "a"): "320M"}


def expect(cond, msg, detail=""):
    """Fail with @msg (and @detail) unless @cond."""
    if not cond:
        raise AssertionError(msg + ("\n" + detail if detail else ""))
    log(f"ok: {msg}")


def sh(cmd):
    """Run a host command, failing the test on error."""
    subprocess.run(cmd, check=True, shell=isinstance(cmd, str))


class Network:
    """A switch namespace with a bridge, and one namespace per host cabled to it by a veth."""

    def __init__(self):
        self.switch = f"{TAG}-sw"
        self.hosts = {h: f"{TAG}-{h}" for h in HOSTS}
        self.made = []

    def __enter__(self):
        sh(["ip", "netns", "add", self.switch])
        self.made.append(self.switch)
        ns = ["ip", "-n", self.switch]
        sh(ns + ["link", "add", "br0", "type", "bridge"])
        sh(ns + ["addr", "add", f"{SUBNET}.1/24", "dev", "br0"])
        sh(ns + ["link", "set", "br0", "up"])
        sh(ns + ["link", "set", "lo", "up"])
        for i, (host, name) in enumerate(self.hosts.items(), start=11):
            sh(["ip", "netns", "add", name])
            self.made.append(name)
            sh(["ip", "-n", self.switch, "link", "add", f"v{host}", "type", "veth",
                "peer", "name", "eth0", "netns", name])
            sh(ns + ["link", "set", f"v{host}", "master", "br0", "up"])
            sh(["ip", "-n", name, "addr", "add", f"{SUBNET}.{i}/24", "dev", "eth0"])
            sh(["ip", "-n", name, "link", "set", "eth0", "up"])
            sh(["ip", "-n", name, "link", "set", "lo", "up"])
        return self

    def address(self, host):
        """The host's address on the bridge."""
        return f"{SUBNET}.{11 + HOSTS.index(host)}"

    def __exit__(self, *exc):
        for name in reversed(self.made):
            subprocess.run(["ip", "netns", "del", name], check=False)
        return False


def openssh_debs():
    """Debian's openssh-server and what it needs beyond this machine: downloaded (cached), not installed."""
    cache = os.path.join(build_root(), "test-cache", "openssh-server")
    os.makedirs(os.path.join(cache, "partial"), exist_ok=True)
    if not any(f.startswith("openssh-server_") for f in os.listdir(cache)):
        r = subprocess.run(["apt-get", "install", "--download-only", "-y", "-q", "--no-install-recommends",
                            "-o", f"Dir::Cache::archives={cache}", "openssh-server"],
                           capture_output=True, text=True)
        expect(r.returncode == 0, "apt-get downloaded openssh-server for the hosts", r.stdout + r.stderr)
    return sorted(os.path.join(cache, f) for f in os.listdir(cache) if f.endswith(".deb"))


def prepare_host(c, debs, pubkey):
    """sshd with the controller's key for root, the tiny guest, python3 for Ansible's modules."""
    os.makedirs(c.path("/srv/qvm-test/debs"), exist_ok=True)
    for deb in debs:
        shutil.copy(deb, c.path("/srv/qvm-test/debs/"))
    c.write("/root/.ssh/authorized_keys", pubkey, mode=0o600)
    return c.tiny_guest()


def start_sshd(c):
    """Install openssh-server inside the running container (its maintainer scripts start sshd)."""
    c.run(["sh", "-c", "DEBIAN_FRONTEND=noninteractive dpkg -i /srv/qvm-test/debs/*.deb"], timeout=300)
    c.systemctl("start", "ssh.service")


def vm_config(kernel, initrd, memory="256M"):
    """The tiny VM as qvm_vm's config dict (a data disk, so removal has a disk to keep)."""
    return {
        "vm": {"description": "fleet test VM", "accel": "tcg", "cpus": 1, "memory": memory,
               "shutdown-timeout": "30s"},
        "network": {"mode": "none"},
        "boot": {"kernel": kernel, "initrd": initrd, "append": "console=ttyS0 panic=-1"},
        "disk:data": {"size": "16M"},
    }


def write_playbook(work, name, plays):
    """Write a playbook file; return its path."""
    path = os.path.join(work, name)
    with open(path, "w") as f:
        json.dump(plays, f, indent=1)  # JSON is YAML
    return path


def deploy_play(guest, deb, memory=None, state="started", broken_host=None, absent=None):
    """The play that puts VMs a and b on every host; @memory maps (host, vm) to a memory size
    other than 256M, @broken_host gets cpus = many in VM b, @absent = (host, vm) is removed."""
    tasks = [{"name": "qvm on the host", "ansible.builtin.include_role": {"name": "qvm.qvm.qvm_host"},
              "vars": {"qvm_host_deb": deb}}]
    for vm in VMS:
        cfg = vm_config(*guest)
        sizes = {h: size for (h, v), size in (memory or {}).items() if v == vm}
        cfg["vm"]["memory"] = "{{ %r.get(inventory_hostname, '256M') }}" % sizes
        if broken_host and vm == "b":
            cfg["vm"]["cpus"] = "{{ 'many' if inventory_hostname == '%s' else 1 }}" % broken_host
        vm_state = state
        if absent and vm == absent[1]:
            vm_state = "{{ 'absent' if inventory_hostname == '%s' else '%s' }}" % (absent[0], state)
        tasks.append({"name": f"VM {vm}", "qvm.qvm.qvm_vm": {"name": vm, "state": vm_state, "config": cfg}})
    return [{"hosts": "fleet", "gather_facts": False, "tasks": tasks}]


class Fleet:
    """Three booted hosts, the network between them, and the controller's ansible-playbook."""

    def __init__(self, net, containers, work, key):
        self.net, self.c, self.work, self.key = net, containers, work, key
        self.inventory = os.path.join(work, "inventory.ini")
        with open(self.inventory, "w") as f:
            f.write("[fleet]\n")
            for h in HOSTS:
                f.write(f"{h} ansible_host={net.address(h)}\n")
            f.write("\n[fleet:vars]\nansible_user=root\nansible_python_interpreter=/usr/bin/python3\n"
                    f"ansible_ssh_private_key_file={key}\n"
                    "ansible_ssh_common_args='-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null'\n")
        collections = os.path.join(work, "collections", "ansible_collections", "qvm")
        os.makedirs(collections)
        os.symlink(os.path.join(source_root(), "ansible"), os.path.join(collections, "qvm"))
        self.env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=os.path.join(work, "collections"),
                        ANSIBLE_HOST_KEY_CHECKING="False", ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0",
                        ANSIBLE_LOCAL_TEMP=os.path.join(work, "tmp"), HOME=work,
                        PATH="/usr/sbin:/usr/bin:/sbin:/bin")

    def play(self, playbook, *args):
        """Run ansible-playbook in the switch namespace; return (rc, output, recap by host)."""
        t0 = time.monotonic()
        r = subprocess.run(["ip", "netns", "exec", self.net.switch, "/usr/bin/ansible-playbook",
                            "-i", self.inventory, playbook, *args],
                           capture_output=True, text=True, env=self.env, timeout=900)
        out = r.stdout + r.stderr
        recap = {m.group(1): {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", m.group(2))}
                 for m in re.finditer(r"^(host\d)\s+:\s+(.*)$", out, re.M)}
        log(f"ansible-playbook {os.path.basename(playbook)} {' '.join(args)}: rc={r.returncode} "
            f"in {time.monotonic() - t0:.1f}s, recap {recap}")
        return r.returncode, out, recap

    def units(self, host):
        """Each VM's (ActiveState, InvocationID) on @host."""
        out = {}
        for vm in VMS:
            r = self.c[host].run(["systemctl", "show", "-P", "ActiveState,InvocationID",
                                  f"qvm@{vm}.service"], check=False).stdout.split()
            out[vm] = tuple(r) if len(r) == 2 else (r[0] if r else "", "")
        return out

    def all_units(self):
        """units() of every host."""
        return {h: self.units(h) for h in HOSTS}

    def files(self, host):
        """The VM files on @host: name -> text."""
        d = self.c[host].path("/etc/qvm")
        return {f: open(os.path.join(d, f)).read() for f in sorted(os.listdir(d)) if f.endswith(".ini")}


def rolling_restart(fleet, playbook):
    """Run @playbook while sampling the hosts; return the fewest hosts seen with every VM active."""
    fewest, samples, done = [len(HOSTS)], [0], threading.Event()

    def sample():
        while not done.is_set():
            up = sum(all(s[0] == "active" for s in fleet.units(h).values()) for h in HOSTS)
            fewest[0] = min(fewest[0], up)
            samples[0] += 1
            time.sleep(0.2)

    t = threading.Thread(target=sample)
    t.start()
    try:
        rc, out, recap = fleet.play(playbook)
    finally:
        done.set()
        t.join()
    expect(rc == 0, "the rolling restart ran", out[-3000:])
    return fewest[0], samples[0], recap


def run_steps(fleet, guest, deb):
    """The seven playbook runs of the module docstring."""
    work = fleet.work
    deploy = write_playbook(work, "deploy.yml", deploy_play(guest, deb))

    rc, out, recap = fleet.play(deploy)
    expect(rc == 0 and all(recap[h]["failed"] == 0 and recap[h]["changed"] > 0 for h in HOSTS),
           "first run: deployed on three hosts", out[-3000:])
    first = fleet.all_units()
    expect(all(s[0] == "active" for h in HOSTS for s in first[h].values()), "all six VMs run", str(first))

    rc, out, recap = fleet.play(deploy)
    expect(rc == 0 and all(recap[h]["changed"] == 0 for h in HOSTS), "second run: changed=0", out[-3000:])
    expect(fleet.all_units() == first, "second run restarted nothing")

    bigger = write_playbook(work, "memory.yml", deploy_play(guest, deb, memory=GROWN))
    rc, out, recap = fleet.play(bigger)
    after = fleet.all_units()
    changed = [(h, vm) for h in HOSTS for vm in VMS if after[h][vm] != first[h][vm]]
    expect(rc == 0 and changed == [("host2", "a")] and after["host2"]["a"][0] == "active",
           "a memory change restarted only host2's VM a", f"{changed}\n{out[-2000:]}")
    expect("memory = 320M" in fleet.files("host2")["a.ini"], "host2's a.ini has the new memory")
    baseline = after

    files_before = {h: fleet.files(h) for h in HOSTS}
    smaller = write_playbook(work, "check.yml", deploy_play(guest, deb, memory={**GROWN, ("host1", "b"): "384M"}))
    rc, out, recap = fleet.play(smaller, "--check", "--diff")
    expect(rc == 0 and recap["host1"]["changed"] >= 1 and "+memory = 384M" in out,
           "--check --diff reports the change", out[-2000:])
    expect({h: fleet.files(h) for h in HOSTS} == files_before and fleet.all_units() == baseline,
           "--check changed no file and no VM")

    broken = write_playbook(work, "broken.yml", deploy_play(guest, deb, memory=GROWN, broken_host="host3"))
    rc, out, recap = fleet.play(broken)
    expect(rc != 0 and recap["host3"]["failed"] == 1 and recap["host1"]["failed"] == 0
           and recap["host2"]["failed"] == 0, "a broken setting fails on host3 alone", out[-2000:])
    expect(re.search(r"/etc/qvm/b\.ini:\d+: .*cpus", out) is not None,
           "the failure is qvm's path:line message", out[-2000:])
    expect({h: fleet.files(h) for h in HOSTS} == files_before and fleet.all_units() == baseline,
           "host3's file and VMs and the other hosts are untouched")

    disk = fleet.c["host1"].sh("find /var/lib/qvm/b/ /var/lib/private/qvm/b/ -name '*.qcow2' "
                              "2>/dev/null; true").stdout.split()
    expect(len(disk) >= 1, "host1's VM b has a data disk", str(disk))
    gone = write_playbook(work, "absent.yml", deploy_play(guest, deb, memory=GROWN, absent=("host1", "b")))
    rc, out, recap = fleet.play(gone)
    units = fleet.all_units()
    expect(rc == 0 and "b.ini" not in fleet.files("host1") and units["host1"]["b"][0] != "active",
           "state=absent stopped host1's VM b and removed its file", out[-2000:])
    expect(all(os.path.exists(fleet.c["host1"].path(d)) for d in disk), "its disk is kept", str(disk))
    expect(units["host2"] == baseline["host2"] and units["host3"] == baseline["host3"],
           "the other hosts' VMs were not touched")

    rolling = write_playbook(work, "rolling.yml", [{
        "hosts": "fleet", "gather_facts": False, "serial": 1,
        "tasks": [deploy_play(guest, deb, memory=GROWN, state="restarted")[0]["tasks"][1]]}])
    before = fleet.all_units()
    fewest, samples, recap = rolling_restart(fleet, rolling)
    after = fleet.all_units()
    expect(all(after[h]["a"][1] != before[h]["a"][1] and after[h]["a"][0] == "active" for h in HOSTS),
           "serial: 1 restarted VM a on every host")
    expect(fewest >= len(HOSTS) - 1, f"at every moment ({samples} samples) at least two hosts had all "
           "their VMs up", f"fewest: {fewest}")


def main():
    """Three hosts, seven playbook runs."""
    skip_unless_possible()
    if not shutil.which("ansible-playbook", path="/usr/bin"):
        skip("ansible-core is not installed")
    deb = build_deb()
    debs = openssh_debs()
    with tempfile.TemporaryDirectory(prefix="qvm-fleet-", dir=build_root()) as work:
        key = os.path.join(work, "id_ed25519")
        sh(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", key])
        pubkey = open(key + ".pub").read()
        shutil.copy(deb, os.path.join(work, "qvm.deb"))
        with Network() as net:
            # nspawn grants CAP_NET_ADMIN only with a network namespace of its own making.
            containers = {h: Container(f"fleet-{h}", install=False, netns=net.hosts[h],
                                       nspawn_args=["--capability=CAP_NET_ADMIN"]) for h in HOSTS}
            try:
                guest = None
                for h in HOSTS:
                    guest = prepare_host(containers[h], debs, pubkey)
                for h in HOSTS:
                    containers[h].boot()
                    start_sshd(containers[h])
                run_steps(Fleet(net, containers, work, key), guest, os.path.join(work, "qvm.deb"))
            except BaseException:
                for c in containers.values():
                    c.dump_logs()
                raise
            finally:
                for c in containers.values():
                    c.close()


if __name__ == "__main__":
    main()
