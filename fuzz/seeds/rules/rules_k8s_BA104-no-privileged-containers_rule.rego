# METADATA
# title: No privileged containers or host namespaces
# description: |
#   ## What it checks
#   A workload must not break the isolation between its pods and the node:
#   - no container, init container or ephemeral container sets
#     `securityContext.privileged: true` (reported at that field);
#   - the pod spec does not set `hostPID`, `hostIPC` or `hostNetwork` to `true` (reported at
#     each of those fields);
#   - no volume is a `hostPath` volume (reported at `volumes[i].hostPath`, one finding per
#     volume).
#
#   ## Why it matters
#   A privileged container has every capability and access to all host devices: it is root
#   on the node. `hostPID` lets a container see and signal (and with ptrace, enter) every
#   process on the node; `hostIPC` shares the node's IPC namespace; `hostNetwork` puts the
#   pod on the node's network stack, where it can bind node ports, reach services listening
#   on localhost and bypass NetworkPolicies. A `hostPath` volume exposes the node's
#   filesystem (kubelet credentials, the container runtime socket, other pods' data) and is
#   the most common route from a container to the node. The Pod Security Standards
#   `baseline` profile forbids all of them.
#
#   ## How to fix
#   Remove `privileged: true`, `hostPID`, `hostIPC` and `hostNetwork` (or set them to
#   `false`). Give a container only the specific capabilities it needs instead of
#   privileged mode. Replace `hostPath` volumes by `emptyDir`, `configMap`, `secret`,
#   `projected` or a PersistentVolumeClaim. Node agents that truly need host access belong in
#   a system namespace and need a documented suppression.
#
#   ## References
#   - https://kubernetes.io/docs/concepts/security/pod-security-standards/#baseline
#   - https://kubernetes.io/docs/concepts/storage/volumes/#hostpath
#   - https://kubernetes.io/docs/tasks/configure-pod-container/security-context/
#   - https://media.defense.gov/2022/Aug/29/2003066362/-1/-1/0/CTR_KUBERNETES_HARDENING_GUIDANCE_1.2_20220829.PDF
#   - https://www.cisecurity.org/benchmark/kubernetes
# custom:
#   id: BA104
#   name: no-privileged-containers
#   severity: critical
#   category: security
#   sources: [M, L, W]
#   kinds: [Pod, Deployment, StatefulSet, DaemonSet, ReplicaSet, ReplicationController, Job, CronJob]
#   remediation: 'Remove `privileged: true`, `hostPID`, `hostIPC`, `hostNetwork` and `hostPath` volumes from the workload.'
#   cwe: CWE-250
#   fix:
#     safety: unsafe
#     risk: a workload that needs the host (a CNI or node agent) stops working
package blogaudit.BA104

import rego.v1

import data.blogaudit.lib.k8s
import data.blogaudit.lib.k8s.input_containers
import data.blogaudit.lib.k8s.input_pod_spec
import data.blogaudit.lib.k8s.input_pod_spec_path

host_namespace_fields := ["hostPID", "hostIPC", "hostNetwork"]

label(c) := "init container" if c.type == "initContainers"

label(c) := "ephemeral container" if c.type == "ephemeralContainers"

label(c) := "container" if c.type == "containers"

subject := k8s.describe(input)

# Privileged containers.
violation contains v if {
	some c in input_containers
	object.get(c.container, ["securityContext", "privileged"], false) == true
	v := {
		"path": array.concat(c.path, ["securityContext", "privileged"]),
		"message": sprintf("%s %q of %s is privileged (securityContext.privileged: true)", [label(c), c.container.name, subject]),
		"fix": {"value": false},
	}
}

# Host namespaces shared with the node.
violation contains v if {
	some field in host_namespace_fields
	object.get(input_pod_spec, field, false) == true
	v := {
		"path": array.concat(input_pod_spec_path, [field]),
		"message": sprintf("%s shares the node's namespace: %s is true", [subject, field]),
		"fix": {"value": false},
	}
}

# hostPath volumes.
violation contains v if {
	some i, volume in object.get(input_pod_spec, "volumes", [])
	host_path := object.get(volume, "hostPath", null)
	host_path != null
	v := {
		"path": array.concat(input_pod_spec_path, ["volumes", i, "hostPath"]),
		"message": sprintf("volume %q of %s mounts the node path %q (hostPath)", [object.get(volume, "name", ""), subject, object.get(host_path, "path", "")]),
	}
}
