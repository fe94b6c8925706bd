# METADATA
# title: Resources live in their service's namespace
# description: |
#   ## What it checks
#   Workloads (Pods, Deployments, StatefulSets, DaemonSets, ReplicaSets, Jobs, CronJobs),
#   Services, ServiceAccounts, ConfigMaps, Secrets, Roles, RoleBindings, NetworkPolicies,
#   Ingresses, HPAs, PodDisruptionBudgets, PersistentVolumeClaims, Gateway API routes and
#   cert-manager Issuers/Certificates must name a namespace of their own, never `default`.
#   An explicit `metadata.namespace: default` is reported at that field; a missing
#   `metadata.namespace` (which `kubectl apply` resolves to the current context's namespace,
#   usually `default`) is reported at `metadata`.
#
#   The objects Kubernetes itself keeps in `default` are not reported: the `kubernetes`
#   Service, the `default` ServiceAccount and the `kube-root-ca.crt` ConfigMap.
#
#   ## Why it matters
#   Namespaces are the boundary that RBAC Roles, NetworkPolicies, ResourceQuotas and Pod
#   Security admission act on. In the reference design each service (`user`, `posts`) and
#   each platform component has its own namespace, with its own default-deny policy, Roles
#   and ServiceAccounts. Whatever lands in `default` shares a namespace with unrelated
#   objects, escapes the per-service policies, and is easy to overlook; a manifest without
#   a namespace lands wherever the person or tool applying it happens to point.
#
#   ## How to fix
#   Set `metadata.namespace` to the service's namespace on every object (or set `namespace:`
#   in the `kustomization.yaml` that renders them) and declare that namespace:
#
#   ```yaml
#   metadata:
#     name: posts
#     namespace: posts
#   ```
#
#   ## References
#   - https://kubernetes.io/docs/concepts/overview/working-with-objects/namespaces/
#   - https://kubernetes.io/docs/concepts/security/multi-tenancy/
#   - https://kubernetes.io/docs/concepts/security/rbac-good-practices/
#   - https://media.defense.gov/2022/Aug/29/2003066362/-1/-1/0/CTR_KUBERNETES_HARDENING_GUIDANCE_1.2_20220829.PDF
#   - https://www.cisecurity.org/benchmark/kubernetes
# custom:
#   id: BA170
#   name: own-namespace
#   severity: low
#   category: security
#   sources: [M, L, W]
#   kinds: [Pod, Deployment, StatefulSet, DaemonSet, ReplicaSet, ReplicationController, Job, CronJob, Service, ServiceAccount, ConfigMap, Secret, Role, RoleBinding, NetworkPolicy, Ingress, HorizontalPodAutoscaler, PodDisruptionBudget, PersistentVolumeClaim, Gateway, HTTPRoute, GRPCRoute, TCPRoute, TLSRoute, Certificate, Issuer]
#   remediation: Set `metadata.namespace` to the service's own namespace, never `default`.
#   cwe: CWE-653
package blogaudit.BA170

import rego.v1

import data.blogaudit.lib.k8s

# Objects that Kubernetes itself creates in `default`.
builtin_defaults := {
	["Service", "kubernetes"],
	["ServiceAccount", "default"],
	["ConfigMap", "kube-root-ca.crt"],
}

builtin(obj) if [obj.kind, k8s.name(obj)] in builtin_defaults

violation contains v if {
	object.get(input, ["metadata", "namespace"], null) == null
	not builtin(input)
	v = {
		"path": ["metadata", "namespace"],
		"message": sprintf("%s %s sets no metadata.namespace, so it lands in the namespace of whoever applies it (usually default)", [input.kind, k8s.name(input)]),
	}
}

violation contains v if {
	object.get(input, ["metadata", "namespace"], null) == "default"
	not builtin(input)
	v = {
		"path": ["metadata", "namespace"],
		"message": sprintf("%s %s lives in the default namespace", [input.kind, k8s.name(input)]),
	}
}
