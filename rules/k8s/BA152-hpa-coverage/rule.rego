# METADATA
# title: Application Deployments are scaled by an HPA with at least two replicas
# description: |
#   ## What it checks
#   In every application namespace (namespaces not listed in `system_namespaces` of the
#   configuration):
#
#   - every `Deployment` and `StatefulSet` is the `scaleTargetRef` (same `kind` and `name`)
#     of a `HorizontalPodAutoscaler` **in its own namespace**. A workload that no HPA targets
#     is reported at its `metadata.name`. An HPA of another namespace, or one that targets a
#     different kind with the same name, does not count.
#   - every `HorizontalPodAutoscaler` uses the `autoscaling/v2` API (reported at
#     `apiVersion`; `autoscaling/v1` only scales on CPU, and the `v2beta` versions are no
#     longer served) and sets `minReplicas` to 2 or more (reported at `spec.minReplicas`,
#     which points at `spec` when the field is missing: Kubernetes then uses 1).
#
#   A workload whose HPA has too low a `minReplicas` is reported once, on the HPA, where the
#   fix belongs.
#
#   ## Why it matters
#   Without an autoscaler, a traffic spike saturates a fixed number of pods until someone
#   scales them by hand; with `minReplicas: 1` the HPA may shrink the service to one pod, so a
#   single node drain, eviction or crash takes it down. An HPA with at least two replicas
#   keeps the service redundant at all times and lets the node autoscaler add capacity when
#   the load grows.
#
#   ## How to fix
#   Add an `autoscaling/v2` HPA next to each Deployment, with `minReplicas: 2` or more (and
#   CPU/memory requests on the containers, which the HPA's utilization targets need):
#
#   ```yaml
#   apiVersion: autoscaling/v2
#   kind: HorizontalPodAutoscaler
#   metadata:
#     name: posts
#     namespace: posts
#   spec:
#     scaleTargetRef:
#       apiVersion: apps/v1
#       kind: Deployment
#       name: posts
#     minReplicas: 2
#     maxReplicas: 10
#     metrics:
#       - type: Resource
#         resource:
#           name: cpu
#           target:
#             type: Utilization
#             averageUtilization: 70
#   ```
#
#   ## References
#   - https://kubernetes.io/docs/tasks/run-application/horizontal-pod-autoscale/
#   - https://kubernetes.io/docs/tasks/run-application/horizontal-pod-autoscale-walkthrough/
#   - https://kubernetes.io/docs/reference/kubernetes-api/workload-resources/horizontal-pod-autoscaler-v2/
#   - https://kubernetes.io/docs/reference/using-api/deprecation-guide/#horizontalpodautoscaler-v126
# custom:
#   id: BA152
#   name: hpa-coverage
#   severity: medium
#   category: availability
#   sources: [M, L, W]
#   kinds: [Deployment, StatefulSet, HorizontalPodAutoscaler]
#   lookups: [HorizontalPodAutoscaler]
#   action: warn
#   remediation: Target each Deployment with an `autoscaling/v2` HorizontalPodAutoscaler in its namespace, with `minReplicas` of at least 2.
#   fix:
#     safety: safe
package blogaudit.BA152

import rego.v1

import data.blogaudit.lib.k8s

default system_namespaces := ["kube-system", "kube-public", "kube-node-lease"]

system_namespaces := data.config.system_namespaces

ns := k8s.namespace(input)

# k8s.describe(input), from the namespace computed above.
subject := k8s.describe_in(input.kind, ns, k8s.name(input))

application if not ns in system_namespaces

targets(hpa, workload) if {
	hpa.spec.scaleTargetRef.kind == workload.kind
	hpa.spec.scaleTargetRef.name == workload.metadata.name
}

violation contains v if {
	input.kind in {"Deployment", "StatefulSet"}
	application
	not scaled
	v = {
		"path": ["metadata", "name"],
		"message": sprintf("%s is the scaleTargetRef of no HorizontalPodAutoscaler in namespace %q", [subject, ns]),
	}
}

scaled if {
	some hpa in k8s.objects("HorizontalPodAutoscaler", ns)
	targets(hpa, input)
}

violation contains v if {
	input.kind == "HorizontalPodAutoscaler"
	input.apiVersion != "autoscaling/v2"
	application
	v = {
		"path": ["apiVersion"],
		"message": sprintf("%s uses %s; use autoscaling/v2", [subject, input.apiVersion]),
	}
}

violation contains v if {
	input.kind == "HorizontalPodAutoscaler"
	min = object.get(input, ["spec", "minReplicas"], 1)
	min < 2
	application
	v = {
		"path": ["spec", "minReplicas"],
		"message": sprintf("%s may scale %s %q down to %d replica(s); set minReplicas to 2 or more", [subject, object.get(input, ["spec", "scaleTargetRef", "kind"], "its target"), object.get(input, ["spec", "scaleTargetRef", "name"], ""), min]),
		"fix": {"value": 2},
	}
}
