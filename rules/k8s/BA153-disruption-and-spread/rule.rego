# METADATA
# title: Replicated workloads have a PodDisruptionBudget and spread over zones
# description: |
#   ## What it checks
#   Every `Deployment` and `StatefulSet` in an application namespace (not listed in
#   `system_namespaces` of the configuration) must survive the loss of a pod, a node and a
#   zone. Three separate findings:
#
#   1. **Replicas.** `spec.replicas` is at least 2. A missing `replicas` means 1, and is
#      reported at `spec.replicas` (which points at `spec`). When a HorizontalPodAutoscaler
#      in the same namespace targets the workload (same `kind` and `name`), the HPA owns the
#      replica count and `spec.replicas` is usually left out on purpose, so this check is
#      skipped: BA152 checks the HPA's `minReplicas` instead.
#   2. **PodDisruptionBudget.** A `PodDisruptionBudget` **in the workload's namespace** has a
#      `spec.selector` that selects the pod template's labels. A PDB in another namespace
#      never protects these pods, even with the same labels; a PDB without `selector`
#      selects nothing. Reported at the pod template's labels.
#   3. **Zone spread.** The pod spec has a `topologySpreadConstraints` entry with
#      `topologyKey: topology.kubernetes.io/zone` whose `labelSelector` selects the pod's own
#      labels, or a `podAntiAffinity` term (required, or preferred) with that `topologyKey`
#      whose `labelSelector` selects the pod's own labels. A constraint whose selector does
#      not match the workload's pods spreads nothing. Reported at the pod spec's
#      `topologySpreadConstraints`.
#
#   ## Why it matters
#   One replica means downtime on every rollout, node drain and crash. Node upgrades and the
#   node autoscaler evict pods through the eviction API, which only holds back when a
#   PodDisruptionBudget says how many pods must stay up; without one, a drain can evict all
#   replicas at once. And replicas that the scheduler packs into one availability zone all
#   go down with that zone: the three-AZ node group only helps if the pods are spread over it.
#
#   ## How to fix
#   ```yaml
#   spec:
#     replicas: 2            # or an HPA with minReplicas >= 2
#     template:
#       spec:
#         topologySpreadConstraints:
#           - maxSkew: 1
#             topologyKey: topology.kubernetes.io/zone
#             whenUnsatisfiable: ScheduleAnyway
#             labelSelector:
#               matchLabels:
#                 app: posts
#   ---
#   apiVersion: policy/v1
#   kind: PodDisruptionBudget
#   metadata:
#     name: posts
#     namespace: posts
#   spec:
#     maxUnavailable: 1
#     selector:
#       matchLabels:
#         app: posts
#   ```
#
#   ## References
#   - https://kubernetes.io/docs/concepts/workloads/pods/disruptions/
#   - https://kubernetes.io/docs/tasks/run-application/configure-pdb/
#   - https://kubernetes.io/docs/concepts/scheduling-eviction/topology-spread-constraints/
#   - https://kubernetes.io/docs/concepts/scheduling-eviction/assign-pod-node/#inter-pod-affinity-and-anti-affinity
#   - https://kubernetes.io/docs/reference/labels-annotations-taints/#topologykubernetesiozone
# custom:
#   id: BA153
#   name: disruption-and-spread
#   severity: medium
#   category: availability
#   sources: [M, L, W]
#   kinds: [Deployment, StatefulSet]
#   lookups: [HorizontalPodAutoscaler, PodDisruptionBudget]
#   action: warn
#   remediation: Run at least 2 replicas, add a PodDisruptionBudget in the namespace that selects the pods, and spread them with a `topologySpreadConstraints` entry on `topology.kubernetes.io/zone`.
#   fix:
#     safety: safe
package blogaudit.BA153

import rego.v1

import data.blogaudit.lib.k8s
import data.blogaudit.lib.k8s.input_pod_spec
import data.blogaudit.lib.k8s.input_pod_spec_path

default system_namespaces := ["kube-system", "kube-public", "kube-node-lease"]

system_namespaces := data.config.system_namespaces

zone_key := "topology.kubernetes.io/zone"

ns := k8s.namespace(input)

# k8s.describe(input), from the namespace computed above.
subject := k8s.describe_in(input.kind, ns, k8s.name(input))

labels := k8s.pod_labels(input)

spec := input_pod_spec

checked if {
	input.kind in {"Deployment", "StatefulSet"}
	not ns in system_namespaces
}

# -- Replicas ----------------------------------------------------------------------------------

hpa_managed if {
	some hpa in k8s.objects("HorizontalPodAutoscaler", ns)
	hpa.spec.scaleTargetRef.kind == input.kind
	hpa.spec.scaleTargetRef.name == input.metadata.name
}

violation contains v if {
	checked
	replicas = object.get(input, ["spec", "replicas"], 1)
	replicas < 2
	not hpa_managed
	v = {
		"path": ["spec", "replicas"],
		"message": sprintf("%s runs %d replica(s) and no HorizontalPodAutoscaler targets it; run at least 2", [subject, replicas]),
		"fix": {"value": 2},
	}
}

# -- PodDisruptionBudget -----------------------------------------------------------------------

protected if {
	some pdb in k8s.objects("PodDisruptionBudget", ns)
	k8s.selects(pdb.spec.selector, labels)
}

violation contains v if {
	checked
	not protected
	v = {
		"path": k8s.pod_labels_path(input),
		"message": sprintf("no PodDisruptionBudget in namespace %q selects the pods of %s, so a node drain may evict all of them at once", [ns, subject]),
	}
}

# -- Zone spread -------------------------------------------------------------------------------

spreads_self(term) if {
	term.topologyKey == zone_key
	k8s.selects(term.labelSelector, labels)
}

spread_by_constraint if {
	some c in object.get(spec, "topologySpreadConstraints", [])
	spreads_self(c)
}

spread_by_required_anti_affinity if {
	some term in object.get(spec, ["affinity", "podAntiAffinity", "requiredDuringSchedulingIgnoredDuringExecution"], [])
	spreads_self(term)
}

spread_by_preferred_anti_affinity if {
	some weighted in object.get(spec, ["affinity", "podAntiAffinity", "preferredDuringSchedulingIgnoredDuringExecution"], [])
	spreads_self(weighted.podAffinityTerm)
}

# One else chain: the later alternatives are only tried when the earlier ones fail. Each
# alternative's loop is a rule of its own: a loop directly in a body that `else` follows
# would stop the chain in the compiled evaluator (see rules/README.md).
spread := true if {
	spread_by_constraint
} else := true if {
	spread_by_required_anti_affinity
} else := true if {
	spread_by_preferred_anti_affinity
}

violation contains v if {
	checked
	not spread
	v = {
		"path": array.concat(input_pod_spec_path, ["topologySpreadConstraints"]),
		"message": sprintf("the pods of %s are not spread over zones: no topologySpreadConstraints or podAntiAffinity term on %s selects them", [subject, zone_key]),
	}
}
