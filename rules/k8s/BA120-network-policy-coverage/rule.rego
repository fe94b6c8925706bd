# METADATA
# title: Pods are covered by an ingress NetworkPolicy in their namespace
# description: |
#   ## What it checks
#   Every workload (Pod, Deployment, StatefulSet, DaemonSet, ReplicaSet, ReplicationController,
#   Job, CronJob) in an application namespace must have its pods selected by at least one
#   `NetworkPolicy` **in the same namespace** that governs ingress:
#
#   - the policy's `spec.podSelector` selects the labels of the pods the workload makes
#     (`matchLabels` and `matchExpressions`; an empty `podSelector: {}` selects every pod of
#     the namespace);
#   - the policy's `policyTypes` contains `Ingress`. When `policyTypes` is absent, Kubernetes
#     treats the policy as an `Ingress` policy, so it counts.
#
#   A NetworkPolicy only acts on pods of its own namespace: a policy in namespace `a` never
#   covers a pod in namespace `b`, even when names and labels are the same. Workloads in the
#   namespaces listed in `system_namespaces` of the configuration are not checked.
#
#   The finding points at the labels of the pod template (`metadata.labels` of a Pod).
#
#   ## Why it matters
#   Pods are non-isolated for ingress until some NetworkPolicy selects them: any pod in the
#   cluster, in any namespace, can then open a connection to them. A compromised pod can then
#   reach every other service directly, bypassing the Gateway, its TLS and its routing rules.
#   Selecting each pod with an ingress policy makes the allowed callers explicit.
#
#   ## How to fix
#   Add a NetworkPolicy in the workload's namespace whose `podSelector` matches the pod
#   template labels and which allows only the expected callers (for example the Gateway's
#   namespace), or rely on a namespace-wide default-deny policy plus explicit allow rules:
#
#   ```yaml
#   apiVersion: networking.k8s.io/v1
#   kind: NetworkPolicy
#   metadata:
#     name: posts-ingress
#     namespace: posts
#   spec:
#     podSelector:
#       matchLabels:
#         app: posts
#     policyTypes: [Ingress]
#     ingress:
#       - from:
#           - namespaceSelector:
#               matchLabels:
#                 kubernetes.io/metadata.name: traefik
#   ```
#
#   ## References
#   - https://kubernetes.io/docs/concepts/services-networking/network-policies/
#   - https://kubernetes.io/docs/concepts/services-networking/network-policies/#isolated-and-non-isolated-pods
#   - https://kubernetes.io/docs/reference/kubernetes-api/policy-resources/network-policy-v1/
#   - https://kubernetes.io/docs/concepts/security/security-checklist/#network-security
# custom:
#   id: BA120
#   name: network-policy-coverage
#   severity: high
#   category: security
#   sources: [M, L, W]
#   kinds: [Pod, Deployment, StatefulSet, DaemonSet, ReplicaSet, ReplicationController, Job, CronJob]
#   lookups: [NetworkPolicy]
#   remediation: Add a NetworkPolicy in the workload's namespace whose `podSelector` selects the pod labels and whose `policyTypes` include `Ingress`.
#   cwe: CWE-923
package blogaudit.BA120

import rego.v1

import data.blogaudit.lib.k8s

default system_namespaces := ["kube-system", "kube-public", "kube-node-lease"]

system_namespaces := data.config.system_namespaces

# The policy types a NetworkPolicy enforces. Without `policyTypes`, Kubernetes sets `Ingress`,
# plus `Egress` when the policy has egress rules.
policy_types(np) := {t | some t in np.spec.policyTypes} if np.spec.policyTypes

policy_types(np) := types if {
	not np.spec.policyTypes
	egress = {"Egress" | count(object.get(np, ["spec", "egress"], [])) > 0}
	types = {"Ingress"} | egress
}

# `podSelector: {}`, or an empty (null) podSelector, selects every pod of the namespace.
pod_selector(np) := selector if {
	selector = object.get(np, ["spec", "podSelector"], {})
	is_object(selector)
}

pod_selector(np) := {} if {
	selector = object.get(np, ["spec", "podSelector"], {})
	selector == null
}

covers_ingress(np, labels) if {
	"Ingress" in policy_types(np)
	k8s.selects(pod_selector(np), labels)
}

violation contains v if {
	k8s.is_workload(input)
	ns = k8s.namespace(input)
	not ns in system_namespaces
	labels = k8s.pod_labels(input)
	policies = k8s.objects("NetworkPolicy", ns)
	not any_covers(policies, labels)
	v = {
		"path": k8s.pod_labels_path(input),
		"message": sprintf("the pods of %s are selected by no NetworkPolicy in namespace %q that governs Ingress, so any pod in the cluster can connect to them", [k8s.describe(input), ns]),
	}
}

any_covers(policies, labels) if {
	some np in policies
	covers_ingress(np, labels)
}
