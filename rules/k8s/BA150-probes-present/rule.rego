# METADATA
# title: Serving containers have readiness and liveness probes
# description: |
#   ## What it checks
#   Every *serving container* of a long-running workload (Pod, Deployment, StatefulSet,
#   DaemonSet, ReplicaSet, ReplicationController) must define both a `readinessProbe` and a
#   `livenessProbe`. A serving container is an entry of `containers` that declares `ports`,
#   or any entry of `containers` of a pod that a Service in the same namespace selects (the
#   Service sends the pod traffic whether or not its containers list their ports, since
#   `ports` is informational). Init containers and ephemeral containers are not checked, nor
#   are containers without ports in pods that no Service selects; Jobs and CronJobs are out
#   of scope (they run to completion and serve nothing).
#
#   Each missing probe is its own finding, at the probe's field (which points at the
#   container, since the field is absent).
#
#   ## Why it matters
#   Without a readiness probe a pod receives traffic as soon as its process starts, before
#   it can answer, and keeps receiving it while it is overloaded or has lost a dependency;
#   rolling updates and autoscaling then drop requests. Without a liveness probe a process
#   that hangs (deadlock, exhausted pool) is never restarted. The reference design gives
#   every service `/readyz` and `/healthz` endpoints for exactly these two probes.
#
#   ## How to fix
#   ```yaml
#   containers:
#     - name: app
#       ports:
#         - containerPort: 8080
#       readinessProbe:
#         httpGet:
#           path: /readyz
#           port: 8080
#         periodSeconds: 5
#       livenessProbe:
#         httpGet:
#           path: /healthz
#           port: 8080
#         periodSeconds: 10
#         failureThreshold: 3
#   ```
#
#   Keep the liveness check cheap and independent of downstream services, so that a slow
#   database does not restart every pod; add a `startupProbe` for slow starts.
#
#   ## References
#   - https://kubernetes.io/docs/tasks/configure-pod-container/configure-liveness-readiness-startup-probes/
#   - https://kubernetes.io/docs/concepts/workloads/pods/pod-lifecycle/#container-probes
# custom:
#   id: BA150
#   name: probes-present
#   severity: medium
#   category: availability
#   sources: [M, L, W]
#   kinds: [Pod, Deployment, StatefulSet, DaemonSet, ReplicaSet, ReplicationController]
#   lookups: [Service]
#   remediation: Give every container that declares ports or that a Service selects a `readinessProbe` (`/readyz`) and a `livenessProbe` (`/healthz`).
package blogaudit.BA150

import rego.v1

import data.blogaudit.lib.k8s
import data.blogaudit.lib.k8s.input_containers

probes := ["readinessProbe", "livenessProbe"]

declares_ports(c) if {
	ports = object.get(c.container, "ports", [])
	is_array(ports)
	count(ports) > 0
}

# The Services of the workload's namespace whose selector matches its pod labels, by name.
selecting_services := sort([name |
	labels = k8s.pod_labels(input)
	some name, svc in k8s.objects("Service", k8s.namespace(input))
	k8s.map_selects(object.get(svc, ["spec", "selector"], {}), labels)
])

# Why a container counts as serving (undefined when it does not).
serving(c) := "serves ports" if {
	c.type == "containers"
	declares_ports(c)
} else := sprintf("is selected by Service %s", [concat(", ", selecting_services)]) if {
	c.type == "containers"
	count(selecting_services) > 0
}

subject := k8s.describe(input)

violation contains v if {
	some c in input_containers
	reason = serving(c)
	some probe in probes
	object.get(c.container, probe, null) == null
	v = {
		"path": array.concat(c.path, [probe]),
		"message": sprintf("container %s of %s %s but has no %s", [c.display, subject, reason, probe]),
	}
}
