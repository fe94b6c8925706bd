# METADATA
# title: Application namespaces have a default-deny NetworkPolicy
# description: |
#   ## What it checks
#   Every `Namespace` object that is an application namespace (not listed in
#   `system_namespaces` of the configuration) must hold, **in that namespace**, a default-deny
#   NetworkPolicy for both directions:
#
#   - its `spec.podSelector` is empty (`{}`: no `matchLabels`, no `matchExpressions`), so it
#     selects every pod of the namespace;
#   - its `policyTypes` contain `Ingress` and `Egress` (without `policyTypes`, Kubernetes
#     enforces `Ingress`, plus `Egress` only when the policy has egress rules);
#   - it has no allow-all rule for a direction it denies: an `ingress` entry with neither
#     `from` nor `ports`, or an `egress` entry with neither `to` nor `ports`, lets all traffic
#     through and makes the policy an allow-all policy.
#
#   One policy with both types passes, and so do two policies (one denying `Ingress`, one
#   denying `Egress`) as in the Kubernetes documentation. A default-deny policy may carry
#   narrow exceptions, such as egress to the cluster DNS on port 53.
#
#   The rule is evaluated on `Namespace` objects, and the finding points at the namespace's
#   `metadata.name`. A namespace that only appears as the namespace of other resources, with
#   no `Namespace` manifest, is not checked.
#
#   ## Why it matters
#   Without a default-deny policy, every new pod of the namespace starts with unrestricted
#   ingress and egress until someone writes a policy for it. A namespace-wide deny makes
#   isolation the default: a forgotten pod is unreachable instead of open, and a compromised
#   pod cannot reach the cloud metadata endpoint, the internet or other namespaces unless an
#   explicit rule allows it.
#
#   ## How to fix
#   Add a default-deny policy to the namespace, then allow the traffic each service needs
#   with narrower policies:
#
#   ```yaml
#   apiVersion: networking.k8s.io/v1
#   kind: NetworkPolicy
#   metadata:
#     name: default-deny-all
#     namespace: posts
#   spec:
#     podSelector: {}
#     policyTypes: [Ingress, Egress]
#   ```
#
#   ## References
#   - https://kubernetes.io/docs/concepts/services-networking/network-policies/#default-policies
#   - https://kubernetes.io/docs/concepts/services-networking/network-policies/#default-deny-all-ingress-and-all-egress-traffic
#   - https://kubernetes.io/docs/reference/kubernetes-api/policy-resources/network-policy-v1/
#   - https://kubernetes.io/docs/concepts/security/security-checklist/#network-security
# custom:
#   id: BA121
#   name: namespace-default-deny
#   severity: medium
#   category: security
#   sources: [M, L]
#   kinds: [Namespace]
#   lookups: [NetworkPolicy]
#   remediation: 'Add a NetworkPolicy with `podSelector: {}` and `policyTypes: [Ingress, Egress]` (and no allow-all rules) to the namespace.'
#   cwe: CWE-923
package blogaudit.BA121

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

# podSelector: {} (or absent, or null): no label requirement at all.
empty_selector(np) if object.get(np, ["spec", "podSelector"], {}) == null

empty_selector(np) if {
	selector = object.get(np, ["spec", "podSelector"], {})
	is_object(selector)
	count(object.get(selector, "matchLabels", {})) == 0
	count(object.get(selector, "matchExpressions", [])) == 0
}

direction := {"Ingress": {"rules": "ingress", "peers": "from"}, "Egress": {"rules": "egress", "peers": "to"}}

# A rule with no peers and no ports admits all traffic of its direction.
allow_all_rule(np, type) if {
	some rule in object.get(np, ["spec", direction[type].rules], [])
	count(object.get(rule, direction[type].peers, [])) == 0
	count(object.get(rule, "ports", [])) == 0
}

denies(ns, type) if {
	some np in k8s.objects("NetworkPolicy", ns)
	empty_selector(np)
	type in policy_types(np)
	not allow_all_rule(np, type)
}

missing(ns) := [type | some type in ["Ingress", "Egress"]; not denies(ns, type)]

violation contains v if {
	input.kind == "Namespace"
	ns = input.metadata.name
	not ns in system_namespaces
	gaps = missing(ns)
	count(gaps) > 0
	v = {
		"path": ["metadata", "name"],
		"message": sprintf("namespace %q has no default-deny NetworkPolicy (empty podSelector, no allow-all rule) for %s: a pod that no other policy selects stays open in that direction", [ns, concat(" and ", gaps)]),
	}
}
