#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: sitewall developers
# GNU General Public License v2.0 or later (see COPYING or https://www.gnu.org/licenses/gpl-2.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: rules
short_description: Apply, confirm or check a target's sitewall rules
version_added: "1.0.0"
description:
  - Runs the installed C(sitewall) on the target against a site file and the target's name.
  - With C(state=applied) it compares the running rules with the site (C(sitewall diff)) and, when
    they differ, applies them with a rollback timer (C(sitewall apply --confirm)). The previous rules
    come back by themselves unless C(state=confirmed) runs in time, which the playbook does over a
    new connection, so that rules that cut Ansible off are rolled back.
  - In check mode nothing changes; the task is changed when the rules differ, and C(--diff) shows
    sitewall's own description of the differences.
  - With C(state=confirmed) it keeps the rules of the pending apply (C(sitewall confirm)); a persist
    file given to the apply is written only now.
  - With C(state=checked) it fails when the running rules differ from the site (after a rollout).
options:
  site:
    description: The site file on the target.
    type: path
  name:
    description: The target's name in the site.
    type: str
  kind:
    description: Whether the target is a host or a gateway of the site.
    type: str
    choices: [host, gateway]
    default: host
  state:
    description: What to do.
    type: str
    choices: [applied, confirmed, checked]
    default: applied
  confirm:
    description: Seconds the new rules wait for C(state=confirmed) before they are rolled back.
    type: int
    default: 120
  persist:
    description:
      - Also write the nft script of the table to this path once confirmed (for the nftables boot service).
    type: path
  profiles:
    description: Profile folders to use before the shipped ones.
    type: list
    elements: path
    default: []
  executable:
    description: The sitewall program.
    type: path
    default: sitewall
  state_directory:
    description: Where sitewall keeps the pending apply (its default is /run/sitewall).
    type: path
author:
  - sitewall developers
notes:
  - sitewall's lockout guard refuses rules that would cut the SSH connection the module runs over
    (SSH_CONNECTION); the task then fails with sitewall's message and nothing changes.
"""

EXAMPLES = r"""
- name: Apply the gateway's rules with a two-minute rollback timer
  sitewall.site.rules:
    site: /etc/sitewall/site.yaml
    kind: gateway
    name: gw-1
    confirm: 120
  register: applied

- name: Open a new connection, so that rules that cut Ansible off are never confirmed
  ansible.builtin.meta: reset_connection

- name: Confirm over the new connection
  sitewall.site.rules:
    state: confirmed
  when: applied is changed
"""

RETURN = r"""
differences:
  description: sitewall's description of how the running rules differ from the site (before applying).
  returned: when C(state=applied) or C(state=checked)
  type: str
  sample: "site campus, gateway gw-1: compiled site vs running ruleset ..."
pending:
  description: Whether applied rules await confirmation.
  returned: always
  type: bool
stdout:
  description: What the last sitewall command printed.
  returned: always
  type: str
"""

from ansible.module_utils.basic import AnsibleModule


def sitewall(module, arguments):
    params = module.params
    command = [params["executable"]] + arguments
    for folder in params["profiles"]:
        command += ["--profiles", folder]
    return module.run_command(command)


def target_arguments(module):
    params = module.params
    if not params["site"] or not params["name"]:
        module.fail_json(msg="state=%s needs site and name" % params["state"])
    return [params["site"], "--%s" % params["kind"], params["name"]]


def state_arguments(module):
    if module.params["state_directory"]:
        return ["--state-directory", module.params["state_directory"]]
    return []


def differences(module):
    rc, out, err = sitewall(module, ["diff"] + target_arguments(module))
    if rc not in (0, 1):
        module.fail_json(msg="sitewall diff failed: %s" % (err.strip() or out.strip()), rc=rc, stdout=out)
    return rc == 1, out


def main():
    module = AnsibleModule(
        argument_spec=dict(
            site=dict(type="path"),
            name=dict(type="str"),
            kind=dict(type="str", choices=["host", "gateway"], default="host"),
            state=dict(type="str", choices=["applied", "confirmed", "checked"], default="applied"),
            confirm=dict(type="int", default=120),
            persist=dict(type="path"),
            profiles=dict(type="list", elements="path", default=[]),
            executable=dict(type="path", default="sitewall"),
            state_directory=dict(type="path"),
        ),
        supports_check_mode=True,
    )
    params = module.params
    state = params["state"]

    if state == "confirmed":
        if module.check_mode:
            module.exit_json(changed=False, pending=False, stdout="")
        rc, out, err = module.run_command([params["executable"], "confirm"] + state_arguments(module))
        if rc == 0:
            module.exit_json(changed=True, pending=False, stdout=out)
        if "nothing awaits confirmation" in err and "rolled back" not in err:
            module.exit_json(changed=False, pending=False, stdout=err)
        module.fail_json(msg="sitewall confirm: %s" % err.strip(), rc=rc, stdout=out, pending=False)

    differ, text = differences(module)
    if state == "checked":
        if differ:
            module.fail_json(msg="the running rules differ from the site", differences=text, pending=False, stdout=text)
        module.exit_json(changed=False, differences=text, pending=False, stdout=text)

    result = dict(changed=differ, differences=text, pending=False, stdout=text)
    if module._diff and differ:
        result["diff"] = dict(prepared=text)
    if not differ or module.check_mode:
        module.exit_json(**result)

    if not 2 <= params["confirm"] <= 3600:
        module.fail_json(msg="confirm takes 2 to 3600 seconds")
    arguments = ["apply"] + target_arguments(module) + ["--confirm", str(params["confirm"])]
    if params["persist"]:
        arguments += ["--persist", params["persist"]]
    rc, out, err = sitewall(module, arguments + state_arguments(module))
    if rc != 0:
        module.fail_json(msg="sitewall apply: %s" % (err.strip() or out.strip()), rc=rc, stdout=out, pending=False)
    result.update(pending=True, stdout=out)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
