# METADATA
# title: Containers run as non-root
# description: |
#   ## What it checks
#   Every container, init container and ephemeral container of a workload must run as a
#   non-root user. The check works on the *effective* security context: a field set on the
#   container wins, otherwise the pod-level `securityContext` value is inherited, as the
#   kubelet does. A container passes when its effective `runAsNonRoot` is `true` or its
#   effective `runAsUser` is greater than 0.
#
#   Explicit root settings are reported at the field that sets them:
#   - a container's `securityContext.runAsUser: 0` or `securityContext.runAsNonRoot: false`
#     (a container that sets both gets one finding per field);
#   - a pod-level `runAsUser: 0` or `runAsNonRoot: false` that at least one container inherits
#     (one finding for the pod-level field, naming the containers that inherit it).
#
#   A container with no explicit root setting that still does not prove it runs as non-root
#   is reported at its `securityContext.runAsNonRoot` (which points at its `securityContext`,
#   or at the container itself when there is none).
#
#   ## Why it matters
#   A process that runs as UID 0 inside a container is root on the node's kernel. Any
#   container escape (a kernel bug, a writable host mount, an extra capability) then gives
#   root on the node and every other pod on it. `runAsNonRoot: true` makes the kubelet refuse
#   to start a container whose image would run as root, so the guarantee does not depend on
#   the image's `USER` line.
#
#   ## How to fix
#   Set `runAsNonRoot: true` (and, ideally, a non-zero `runAsUser`/`runAsGroup`) in the pod's
#   `securityContext` so every container inherits it, and remove any container-level
#   `runAsUser: 0` or `runAsNonRoot: false`:
#
#   ```yaml
#   spec:
#     securityContext:
#       runAsNonRoot: true
#       runAsUser: 10001
#   ```
#
#   ## References
#   - https://kubernetes.io/docs/tasks/configure-pod-container/security-context/
#   - https://kubernetes.io/docs/concepts/security/pod-security-standards/#restricted
#   - https://media.defense.gov/2022/Aug/29/2003066362/-1/-1/0/CTR_KUBERNETES_HARDENING_GUIDANCE_1.2_20220829.PDF
#   - https://www.cisecurity.org/benchmark/kubernetes
# custom:
#   id: BA101
#   name: run-as-non-root
#   severity: high
#   category: security
#   sources: [M, L, W]
#   kinds: [Pod, Deployment, StatefulSet, DaemonSet, ReplicaSet, ReplicationController, Job, CronJob]
#   remediation: 'Set `securityContext.runAsNonRoot: true` on the pod or the container, and remove any `runAsUser: 0` or `runAsNonRoot: false`.'
#   cwe: CWE-250
#   fix:
#     safety: unsafe
#     risk: a container whose image runs as root no longer starts
package blogaudit.BA101

import rego.v1

import data.blogaudit.lib.k8s
import data.blogaudit.lib.k8s.input_containers
import data.blogaudit.lib.k8s.input_pod_spec
import data.blogaudit.lib.k8s.input_pod_spec_path

pod_sc := object.get(input_pod_spec, "securityContext", {})

pod_sc_path := array.concat(input_pod_spec_path, ["securityContext"])

# The container's own value of a securityContext field (null when unset).
own(c, field) := object.get(c.container, ["securityContext", field], null)

# The pod-level value of a securityContext field (null when unset).
pod_value(field) := object.get(pod_sc, field, null)

inherits(c, field) if own(c, field) == null

# Its own value when set, else the pod's. (The else chains below check each condition once,
# and only until one holds.)
effective(c, field) := value if {
	value := own(c, field)
	value != null
} else := pod_value(field)

non_root(c) if {
	effective(c, "runAsNonRoot") == true
} else := true if {
	uid := effective(c, "runAsUser")
	is_number(uid)
	uid > 0
}

# A container that some explicit root setting (its own or an inherited pod-level one) covers.
explicit_root(c) if {
	own(c, "runAsUser") == 0
} else := true if {
	own(c, "runAsNonRoot") == false
} else := true if {
	pod_value("runAsUser") == 0
	inherits(c, "runAsUser")
} else := true if {
	pod_value("runAsNonRoot") == false
	inherits(c, "runAsNonRoot")
}

label(c) := "init container" if c.type == "initContainers"

label(c) := "ephemeral container" if c.type == "ephemeralContainers"

label(c) := "container" if c.type == "containers"

inheriting_names(field) := concat(", ", sort([sprintf("%q", [c.container.name]) |
	some c in input_containers
	inherits(c, field)
]))

subject := k8s.describe(input)

# Container-level runAsUser: 0.
violation contains v if {
	some c in input_containers
	own(c, "runAsUser") == 0
	v := {
		"path": array.concat(c.path, ["securityContext", "runAsUser"]),
		"message": sprintf("%s %q of %s runs as root: securityContext.runAsUser is 0", [label(c), c.container.name, subject]),
	}
}

# Container-level runAsNonRoot: false.
violation contains v if {
	some c in input_containers
	own(c, "runAsNonRoot") == false
	v := {
		"path": array.concat(c.path, ["securityContext", "runAsNonRoot"]),
		"message": sprintf("%s %q of %s allows running as root: securityContext.runAsNonRoot is false", [label(c), c.container.name, subject]),
		"fix": {"value": true},
	}
}

# Pod-level runAsUser: 0 that a container inherits.
violation contains v if {
	pod_value("runAsUser") == 0
	some c in input_containers
	inherits(c, "runAsUser")
	v := {
		"path": array.concat(pod_sc_path, ["runAsUser"]),
		"message": sprintf("pod securityContext.runAsUser of %s is 0 (root), and containers %s inherit it", [subject, inheriting_names("runAsUser")]),
	}
}

# Pod-level runAsNonRoot: false that a container inherits.
violation contains v if {
	pod_value("runAsNonRoot") == false
	some c in input_containers
	inherits(c, "runAsNonRoot")
	v := {
		"path": array.concat(pod_sc_path, ["runAsNonRoot"]),
		"message": sprintf("pod securityContext.runAsNonRoot of %s is false, and containers %s inherit it", [subject, inheriting_names("runAsNonRoot")]),
		"fix": {"value": true},
	}
}

# Nothing makes the container non-root.
violation contains v if {
	some c in input_containers
	not explicit_root(c)
	not non_root(c)
	v := {
		"path": array.concat(c.path, ["securityContext", "runAsNonRoot"]),
		"message": sprintf("%s %q of %s may run as root: neither it nor the pod sets runAsNonRoot: true or a runAsUser above 0", [label(c), c.container.name, subject]),
		"fix": {"value": true},
	}
}
