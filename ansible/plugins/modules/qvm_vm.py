#!/usr/bin/python
# qvm_vm.py - one qvm VM on a host: its /etc/qvm/NAME.ini and the state of qvm@NAME.service.
# LGPL-2.1-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: qvm_vm
short_description: Manage one qvm virtual machine (its INI file and qvm@NAME.service)
version_added: 0.1.0
description:
  - Writes C(/etc/qvm/NAME.ini) from a dict of sections and keys or from INI text, starts,
    stops, restarts or removes the VM C(qvm@NAME.service).
  - The new file is validated on the target with C(qvm check) before it replaces the old
    one, so a broken setting fails with qvm's own C(path:line: message) and the installed
    file stays as it was. The replacement is atomic (write, fsync, rename).
  - C(systemctl daemon-reload) runs only when the file changed. A running VM is restarted
    only when its file changed (or with I(state=restarted)).
  - Supports check mode and diff mode.
  - Cross-VM checks of C(qvm check) (a host port two VMs forward, ordering cycles) are
    made when the file is installed, by the generator; before that the file is checked
    on its own.
options:
  name:
    description: The VM's name (C(/etc/qvm/NAME.ini), C(qvm@NAME.service)).
    type: str
    required: true
  state:
    description:
      - C(present) writes the file and leaves the VM's running state alone.
      - C(started) writes the file and makes sure the VM runs; it returns when the guest
        is ready (C(systemctl start) waits for the VM's C(ready=) condition).
      - C(stopped) writes the file and shuts the VM down through ACPI.
      - C(restarted) writes the file and always restarts the VM.
      - C(absent) stops the VM and removes its file; its disks stay unless I(purge).
    type: str
    choices: [present, started, stopped, restarted, absent]
    default: started
  config:
    description:
      - The VM's settings as sections of keys, for example
        C({vm: {memory: 1G}, network: {forward: [tcp:8080:80, tcp:8443:443]}}).
      - A list value repeats the key; a boolean becomes C(yes)/C(no).
      - Mutually exclusive with I(ini). One of them is needed unless I(state=absent).
    type: dict
  ini:
    description: The VM's settings as INI text, used as given.
    type: str
  purge:
    description: With I(state=absent), also delete the VM's state directory (its disks).
    type: bool
    default: false
  config_dir:
    description: Where the VM files live.
    type: path
    default: /etc/qvm
author:
  - qvm developers
"""

EXAMPLES = r"""
- name: A Debian VM with 1 GiB that runs
  qvm.qvm.qvm_vm:
    name: web
    config:
      vm: {memory: 1G, autostart: true}
      image: {source: debian-12}
      network: {ssh: 2222}

- name: Gone, disks and all
  qvm.qvm.qvm_vm:
    name: old
    state: absent
    purge: true
"""

RETURN = r"""
path:
  description: The VM's INI file.
  type: str
  returned: always
file_changed:
  description: Whether the INI file was (or in check mode would be) written or removed.
  type: bool
  returned: always
active:
  description: The unit's ActiveState after the module ran (before, in check mode).
  type: str
  returned: always
"""

import os
import re
import shutil
import tempfile

from ansible.module_utils.basic import AnsibleModule

HEADER = "# Managed by Ansible (qvm.qvm.qvm_vm): edits here are replaced.\n"
# The characters qvm accepts in a VM name (lib/config: vm_name_valid), checked here before any path is built.
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
SECTION_RE = re.compile(r"^[a-z][a-z0-9-]*(:[A-Za-z0-9_.-]+)?$")
KEY_RE = re.compile(r"^[a-z][a-z0-9-]*$")


def ini_value(module, where, value):
    """One value as qvm.ini writes it; control characters would start a new line or key."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    text = str(value)
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in text):
        module.fail_json(msg=f"{where}: the value holds a control character")
    return text


def render_ini(module, config):
    """INI text from a dict of sections of keys (lists repeat the key)."""
    lines = [HEADER.rstrip("\n")]
    for section, keys in config.items():
        if not SECTION_RE.match(str(section)):
            module.fail_json(msg=f"config: [{section}] is not a qvm section name")
        if not isinstance(keys, dict):
            module.fail_json(msg=f"config: [{section}] must be a dict of keys")
        lines += ["", f"[{section}]"]
        for key, value in keys.items():
            if not KEY_RE.match(str(key)):
                module.fail_json(msg=f"config: [{section}] {key} is not a qvm key name")
            for item in value if isinstance(value, list) else [value]:
                lines.append(f"{key} = {ini_value(module, f'[{section}] {key}', item)}")
    return "\n".join(lines) + "\n"


def read_text(path):
    """The file's text, or None when it does not exist."""
    try:
        with open(path, encoding="utf-8") as f:
            return f.read()
    except FileNotFoundError:
        return None


def systemctl(module, *args, check=True):
    """Run systemctl; fail the task with its message when @check and it fails."""
    rc, out, err = module.run_command(["systemctl", *args])
    if check and rc != 0:
        module.fail_json(msg=f"systemctl {' '.join(args)} failed: {err.strip() or out.strip()}")
    return out.strip()


def unit_property(module, unit, prop):
    """One property of @unit, '' when systemd does not know it."""
    return systemctl(module, "show", "-P", prop, unit, check=False)


def validate(module, path, text):
    """Fail the task with qvm's own diagnostics unless `qvm check` accepts @text as @path."""
    tmpdir = tempfile.mkdtemp(prefix="qvm-ansible-")
    try:
        candidate = os.path.join(tmpdir, os.path.basename(path))
        with open(candidate, "w", encoding="utf-8") as f:
            f.write(text)
        rc, out, err = module.run_command(["qvm", "check", candidate])
        if rc != 0:
            report = (out + err).replace(candidate, path).strip()
            module.fail_json(msg=f"qvm check refused the new {path}:\n{report}", qvm_check=report)
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)


def install(path, text):
    """Replace @path atomically (a hidden temporary in the same directory, fsync, rename),
    keeping the old file's mode and owner; a new file gets qvm.ini(5)'s 0644 root:root."""
    directory, base = os.path.split(path)
    try:
        st = os.stat(path)
        mode, uid, gid = st.st_mode & 0o7777, st.st_uid, st.st_gid
    except FileNotFoundError:
        mode, uid, gid = 0o644, 0, 0
    fd, tmp = tempfile.mkstemp(prefix=f".{base}.", dir=directory)
    try:
        os.fchown(fd, uid, gid)
        os.fchmod(fd, mode)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.rename(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise
    dfd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(dfd)
    finally:
        os.close(dfd)


def remove_vm(module, path, unit, purge):
    """Stop the VM, remove its file (and drop-ins), optionally its state; return what changed."""
    if module.check_mode:
        return
    state_dir = unit_property(module, unit, "StateDirectory")
    if unit_property(module, unit, "ActiveState") in ("active", "activating", "reloading"):
        systemctl(module, "stop", unit)
    os.unlink(path)
    shutil.rmtree(path + ".d", ignore_errors=True)
    if purge and state_dir:
        for rel in state_dir.split():
            if rel.startswith("qvm/") and ".." not in rel:
                shutil.rmtree(os.path.join("/var/lib", rel), ignore_errors=True)
    systemctl(module, "daemon-reload")


def converge_state(module, unit, state, file_changed):
    """Start, stop or restart @unit as @state asks; return whether anything was done."""
    active = unit_property(module, unit, "ActiveState")
    running = active in ("active", "activating", "reloading")
    if state == "started" and not running:
        action = "start"
    elif state == "started" and file_changed:
        action = "restart"
    elif state == "restarted":
        action = "restart"
    elif state == "stopped" and running:
        action = "stop"
    else:
        return False
    if not module.check_mode:
        systemctl(module, action, unit)
    return True


def main():
    """Bring one VM to the requested file and state."""
    module = AnsibleModule(
        argument_spec=dict(
            name=dict(type="str", required=True),
            state=dict(type="str", default="started",
                       choices=["present", "started", "stopped", "restarted", "absent"]),
            config=dict(type="dict"),
            ini=dict(type="str"),
            purge=dict(type="bool", default=False),
            config_dir=dict(type="path", default="/etc/qvm"),
        ),
        mutually_exclusive=[("config", "ini")],
        required_if=[("state", "present", ("config", "ini"), True),
                     ("state", "started", ("config", "ini"), True),
                     ("state", "stopped", ("config", "ini"), True),
                     ("state", "restarted", ("config", "ini"), True)],
        supports_check_mode=True,
    )
    p = module.params
    name = p["name"]
    if not NAME_RE.match(name):
        module.fail_json(msg=f"{name!r} is not a valid qvm VM name")
    path = os.path.join(p["config_dir"], name + ".ini")
    unit = f"qvm@{name}.service"
    before = read_text(path)
    result = dict(changed=False, path=path, file_changed=False)

    if p["state"] == "absent":
        if before is not None:
            result.update(changed=True, file_changed=True,
                          diff=dict(before=before, after="", before_header=path, after_header=path))
            remove_vm(module, path, unit, p["purge"])
        result["active"] = unit_property(module, unit, "ActiveState")
        module.exit_json(**result)

    after = p["ini"] if p["ini"] is not None else render_ini(module, p["config"])
    if not after.endswith("\n"):
        after += "\n"
    if after != before:
        result.update(changed=True, file_changed=True,
                      diff=dict(before=before or "", after=after, before_header=path, after_header=path))
        validate(module, path, after)
        if not module.check_mode:
            install(path, after)
            systemctl(module, "daemon-reload")
    if p["state"] != "present" and converge_state(module, unit, p["state"], result["file_changed"]):
        result["changed"] = True
    result["active"] = unit_property(module, unit, "ActiveState")
    module.exit_json(**result)


if __name__ == "__main__":
    main()
