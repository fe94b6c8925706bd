# METADATA
# title: Containers drop all capabilities
# description: |
#   ## What it checks
#   Every container, init container and ephemeral container of a workload must:
#   - list `ALL` in `securityContext.capabilities.drop` (reported at `capabilities.drop`,
#     which points at the nearest existing ancestor when the list is missing);
#   - add no capability other than `NET_BIND_SERVICE` in `securityContext.capabilities.add`
#     (each other entry is reported at its own `add[j]`, `ALL` included).
#
#   Capability names are compared case-insensitively and with or without the `CAP_` prefix,
#   as containerd does; Pod Security admission compares them exactly, so prefer the
#   canonical spelling (`ALL`, `NET_BIND_SERVICE`).
#
#   ## Why it matters
#   Container runtimes grant a default set of Linux capabilities (for example `NET_RAW`,
#   `CHOWN`, `SETUID`, `DAC_OVERRIDE`) that an ordinary service never needs. `NET_RAW` allows
#   packet spoofing on the pod network, and capabilities such as `SYS_ADMIN`, `SYS_PTRACE` or
#   `NET_ADMIN` are routine steps of container escapes. Dropping `ALL` and adding back only
#   what is needed is least privilege; the Pod Security Standards `restricted` profile
#   requires exactly this, with `NET_BIND_SERVICE` as the only capability that may be added.
#
#   ## How to fix
#   ```yaml
#   securityContext:
#     capabilities:
#       drop: ["ALL"]
#       add: ["NET_BIND_SERVICE"]   # only if the process binds a port below 1024
#   ```
#
#   Prefer making the process listen on a port of 1024 or above, so that nothing needs to be
#   added at all.
#
#   ## References
#   - https://kubernetes.io/docs/tasks/configure-pod-container/security-context/#set-capabilities-for-a-container
#   - https://kubernetes.io/docs/concepts/security/pod-security-standards/#restricted
#   - https://man7.org/linux/man-pages/man7/capabilities.7.html
#   - https://media.defense.gov/2022/Aug/29/2003066362/-1/-1/0/CTR_KUBERNETES_HARDENING_GUIDANCE_1.2_20220829.PDF
#   - https://www.cisecurity.org/benchmark/kubernetes
# custom:
#   id: BA105
#   name: drop-capabilities
#   severity: medium
#   category: security
#   sources: [M, L, W]
#   kinds: [Pod, Deployment, StatefulSet, DaemonSet, ReplicaSet, ReplicationController, Job, CronJob]
#   remediation: 'Set `securityContext.capabilities.drop: ["ALL"]` on every container and add nothing but `NET_BIND_SERVICE`.'
#   cwe: CWE-250
#   fix:
#     safety: unsafe
#     risk: a process that needs a capability (binding a port below 1024, chown) fails
package blogaudit.BA105

import rego.v1

import data.blogaudit.lib.k8s
import data.blogaudit.lib.k8s.input_containers

allowed_additions := {"NET_BIND_SERVICE"}

label(c) := "init container" if c.type == "initContainers"

label(c) := "ephemeral container" if c.type == "ephemeralContainers"

label(c) := "container" if c.type == "containers"

normalize(capability) := trim_prefix(upper(capability), "CAP_") if is_string(capability)

drops_all(c) if {
	some capability in as_array(object.get(c.container, ["securityContext", "capabilities", "drop"], []))
	normalize(capability) == "ALL"
}

as_array(x) := x if {
	is_array(x)
} else := []

subject := k8s.describe(input)

# `drop` does not list ALL.
violation contains v if {
	some c in input_containers
	not drops_all(c)
	v := {
		"path": array.concat(c.path, ["securityContext", "capabilities", "drop"]),
		"message": sprintf("%s %q of %s does not drop ALL capabilities (securityContext.capabilities.drop)", [label(c), c.container.name, subject]),
		"fix": {"value": ["ALL"]},
	}
}

# Each added capability other than NET_BIND_SERVICE.
violation contains v if {
	some c in input_containers
	some j, capability in as_array(object.get(c.container, ["securityContext", "capabilities", "add"], []))
	not normalize(capability) in allowed_additions
	v := {
		"path": array.concat(c.path, ["securityContext", "capabilities", "add", j]),
		"message": sprintf("%s %q of %s adds capability %v (only NET_BIND_SERVICE may be added)", [label(c), c.container.name, subject, capability]),
	}
}
