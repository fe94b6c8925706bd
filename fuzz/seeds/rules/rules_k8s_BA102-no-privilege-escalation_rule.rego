# METADATA
# title: Containers cannot escalate privileges
# description: |
#   ## What it checks
#   Every container, init container and ephemeral container of a workload must set
#   `securityContext.allowPrivilegeEscalation: false`. There is no pod-level form of this
#   field, so each container must set it itself. A container that sets it to `true` is
#   reported at that field; a container that leaves it unset is reported at its
#   `securityContext` (or at the container when it has no `securityContext`), because the
#   Linux default allows escalation.
#
#   ## Why it matters
#   `allowPrivilegeEscalation` controls the `no_new_privs` flag of the container's process.
#   Without it, a process can gain more privileges than its parent through setuid/setgid
#   binaries or file capabilities in the image, which turns a compromised non-root process
#   into root inside the container and widens the path to the node. The Pod Security
#   Standards `restricted` profile requires it to be `false`.
#
#   ## How to fix
#   Set the field on every container (and init container):
#
#   ```yaml
#   securityContext:
#     allowPrivilegeEscalation: false
#   ```
#
#   Note that a `privileged` container or one that adds `CAP_SYS_ADMIN` always allows
#   escalation; remove those too (see BA104 and BA105).
#
#   ## References
#   - https://kubernetes.io/docs/tasks/configure-pod-container/security-context/
#   - https://kubernetes.io/docs/concepts/security/pod-security-standards/#restricted
#   - https://media.defense.gov/2022/Aug/29/2003066362/-1/-1/0/CTR_KUBERNETES_HARDENING_GUIDANCE_1.2_20220829.PDF
#   - https://www.cisecurity.org/benchmark/kubernetes
# custom:
#   id: BA102
#   name: no-privilege-escalation
#   severity: high
#   category: security
#   sources: [M, L, W]
#   kinds: [Pod, Deployment, StatefulSet, DaemonSet, ReplicaSet, ReplicationController, Job, CronJob]
#   remediation: 'Set `securityContext.allowPrivilegeEscalation: false` on every container.'
#   cwe: CWE-269
#   fix:
#     safety: unsafe
#     risk: a process that needs setuid or file capabilities (sudo, ping) fails
package blogaudit.BA102

import rego.v1

import data.blogaudit.lib.k8s
import data.blogaudit.lib.k8s.input_containers

label(c) := "init container" if c.type == "initContainers"

label(c) := "ephemeral container" if c.type == "ephemeralContainers"

label(c) := "container" if c.type == "containers"

subject := k8s.describe(input)

violation contains v if {
	some c in input_containers
	value := object.get(c.container, ["securityContext", "allowPrivilegeEscalation"], null)
	value != false
	v := {
		"path": array.concat(c.path, ["securityContext", "allowPrivilegeEscalation"]),
		"message": message(c, value),
		"fix": {"value": false},
	}
}

message(c, value) := sprintf("%s %q of %s sets securityContext.allowPrivilegeEscalation: true", [label(c), c.container.name, subject]) if value == true

message(c, value) := sprintf("%s %q of %s does not set securityContext.allowPrivilegeEscalation: false", [label(c), c.container.name, subject]) if value != true
