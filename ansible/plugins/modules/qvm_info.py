#!/usr/bin/python
# qvm_info.py - what `qvm list --json` says about a host's VMs, as module output and facts.
# LGPL-2.1-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: qvm_info
short_description: List a host's qvm virtual machines
version_added: 0.1.0
description:
  - Runs C(qvm list --json) on the target (one D-Bus round trip for all units) and returns
    its VMs, also as the fact C(qvm_vms) (a dict by name) unless I(facts=false).
  - Never changes anything; supports check mode.
options:
  name:
    description: Return only this VM (an empty list when it does not exist).
    type: str
  facts:
    description: Also set the fact C(qvm_vms).
    type: bool
    default: true
author:
  - qvm developers
"""

EXAMPLES = r"""
- qvm.qvm.qvm_info:
  register: qvm

- ansible.builtin.debug:
    msg: "{{ qvm_vms.web.state }} {{ qvm_vms.web.ssh }}"
"""

RETURN = r"""
vms:
  description: One entry per VM file, as C(qvm list --json) prints it.
  type: list
  elements: dict
  returned: always
  sample:
    - {name: web, state: active, status: "ready: ssh on 127.0.0.1:2222", valid: true,
       autostart: true, accel: kvm, memory: 1073741824, cpus: 2, ssh: "127.0.0.1:2222",
       user: dev}
"""

import json

from ansible.module_utils.basic import AnsibleModule


def main():
    """Report the VMs qvm knows on this host."""
    module = AnsibleModule(
        argument_spec=dict(name=dict(type="str"), facts=dict(type="bool", default=True)),
        supports_check_mode=True,
    )
    rc, out, err = module.run_command(["qvm", "list", "--json"])
    if rc != 0:
        module.fail_json(msg=f"qvm list --json failed: {err.strip() or out.strip()}")
    try:
        vms = json.loads(out)
    except ValueError as e:
        module.fail_json(msg=f"qvm list --json printed no JSON: {e}")
    if module.params["name"] is not None:
        vms = [vm for vm in vms if vm.get("name") == module.params["name"]]
    result = dict(changed=False, vms=vms)
    if module.params["facts"]:
        result["ansible_facts"] = dict(qvm_vms={vm["name"]: vm for vm in vms})
    module.exit_json(**result)


if __name__ == "__main__":
    main()
