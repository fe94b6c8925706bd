# METADATA
# title: Containers request CPU and memory and limit memory
# description: |
#   ## What it checks
#   Every container and init container of a workload must have:
#   - a CPU request (`resources.requests.cpu`),
#   - a memory request (`resources.requests.memory`),
#   - a memory limit (`resources.limits.memory`).
#
#   Each missing value is its own finding, at its field (which points at `resources`,
#   `requests`/`limits`, or the container, whichever exists). As in Kubernetes, a limit
#   without a request counts as the request: the API server copies a container's limit into
#   its missing request. Ephemeral containers cannot carry resources and are not checked.
#
#   ## Why it matters
#   The scheduler places pods by their requests, the HorizontalPodAutoscaler computes
#   utilisation as a share of the request, and the node autoscaler adds nodes when pending
#   pods' requests do not fit. A container without requests is scheduled as if it needed
#   nothing, so nodes are overcommitted, the HPA cannot scale it on CPU or memory, and it is
#   the first to be evicted (`BestEffort` QoS). Without a memory limit one leaking container
#   can exhaust the node's memory and get its neighbours OOM-killed.
#
#   ## How to fix
#   ```yaml
#   resources:
#     requests:
#       cpu: 100m
#       memory: 128Mi
#     limits:
#       memory: 256Mi
#   ```
#
#   A CPU limit is optional (CPU is throttled, not killed); size requests from observed usage.
#
#   ## References
#   - https://kubernetes.io/docs/concepts/configuration/manage-resources-containers/
#   - https://kubernetes.io/docs/concepts/workloads/pods/pod-qos/
#   - https://kubernetes.io/docs/tasks/run-application/horizontal-pod-autoscale/#support-for-resource-metrics
#   - https://media.defense.gov/2022/Aug/29/2003066362/-1/-1/0/CTR_KUBERNETES_HARDENING_GUIDANCE_1.2_20220829.PDF
# custom:
#   id: BA151
#   name: resources-requested
#   severity: medium
#   category: availability
#   sources: [M, L, W]
#   kinds: [Pod, Deployment, StatefulSet, DaemonSet, ReplicaSet, ReplicationController, Job, CronJob]
#   remediation: Set `resources.requests.cpu`, `resources.requests.memory` and `resources.limits.memory` on every container and init container.
#   cwe: CWE-400
package blogaudit.BA151

import rego.v1

import data.blogaudit.lib.k8s
import data.blogaudit.lib.k8s.input_containers

# [section, resource] pairs that must be set.
required := [["requests", "cpu"], ["requests", "memory"], ["limits", "memory"]]

label(c) := "init container" if c.type == "initContainers"

label(c) := "container" if c.type == "containers"

value(c, section, resource) := object.get(c.container, ["resources", section, resource], null)

# Set, or (Kubernetes copies a limit into a missing request) a request whose limit is set. An
# else chain: the second test runs only when the first fails.
set(c, section, resource) if {
	value(c, section, resource) != null
} else := true if {
	section == "requests"
	value(c, "limits", resource) != null
}

subject := k8s.describe(input)

violation contains v if {
	some c in input_containers
	c.type in {"containers", "initContainers"}
	some [section, resource] in required
	not set(c, section, resource)
	v = {
		"path": array.concat(c.path, ["resources", section, resource]),
		"message": sprintf("%s %s of %s does not set resources.%s.%s", [label(c), c.display, subject, section, resource]),
	}
}
