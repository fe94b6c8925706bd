# METADATA
# title: RBAC roles use no wildcards and do not read Secrets cluster-wide
# description: |
#   ## What it checks
#   Two things, on every `Role` and `ClusterRole`:
#
#   1. **No wildcards.** No entry of a rule's `verbs`, `resources` or `apiGroups` is `*`. Each
#      `*` is one finding, at that list element (for example `rules[0].verbs[2]`).
#   2. **No cluster-wide Secret reads for applications.** A `ClusterRole` rule that names
#      `secrets` in `resources`, in the core API group (`""` or `*` in `apiGroups`), with
#      `get`, `list`, `watch` or `*` in `verbs` and no `resourceNames`, is reported at the
#      `secrets` element **when a `ClusterRoleBinding` in the inventory binds that ClusterRole
#      to an application subject**. An application subject is a `ServiceAccount` outside the
#      configured `system_namespaces`, a `User` other than the built-in `system:` component
#      identities (service-account identities `system:serviceaccount:<ns>:<name>` count by
#      their namespace, `system:anonymous` always counts), or a `Group` other than
#      `system:masters` and `system:serviceaccounts:<system namespace>`.
#      The same ClusterRole bound only by `RoleBinding`s grants Secret reads in those
#      namespaces alone, which Kubernetes scopes, so it is not reported; neither is an
#      unbound ClusterRole, which grants nothing.
#
#   Roles that Kubernetes itself maintains are skipped: objects labelled
#   `kubernetes.io/bootstrapping: rbac-defaults` (such as `cluster-admin`), and ClusterRoles
#   with an `aggregationRule`, whose rules the controller copies from the ClusterRoles it
#   aggregates (those are checked on their own).
#
#   ## Why it matters
#   A `*` grants every current **and future** verb, resource or API group, including CRDs
#   installed later and verbs such as `escalate`, `bind` and `impersonate`. It hides what the
#   subject really needs and turns a compromised pod into a much larger breach. Reading
#   Secrets across the cluster gives away every namespace's credentials, TLS keys and
#   ServiceAccount tokens at once: `list` on Secrets returns their contents, not just names.
#
#   ## How to fix
#   List the verbs, resources and API groups the subject uses. Grant Secret access with a
#   `Role` and `RoleBinding` in the namespace that owns the Secret, ideally restricted with
#   `resourceNames`:
#
#   ```yaml
#   rules:
#     - apiGroups: [""]
#       resources: [secrets]
#       resourceNames: [posts-db-credentials]
#       verbs: [get]
#   ```
#
#   ## References
#   - https://kubernetes.io/docs/concepts/security/rbac-good-practices/#minimize-wildcard-permissions
#   - https://kubernetes.io/docs/concepts/security/rbac-good-practices/#listing-secrets
#   - https://kubernetes.io/docs/reference/access-authn-authz/rbac/#referring-to-resources
#   - https://kubernetes.io/docs/reference/access-authn-authz/rbac/#default-roles-and-role-bindings
#   - https://kubernetes.io/docs/reference/access-authn-authz/rbac/#aggregated-clusterroles
# custom:
#   id: BA131
#   name: rbac-no-wildcards
#   severity: high
#   category: security
#   sources: [M, L, W]
#   kinds: [Role, ClusterRole]
#   lookups: [ClusterRoleBinding]
#   remediation: Replace each `*` with the explicit verbs, resources and API groups needed; grant Secret reads with a namespaced Role, limited by `resourceNames`.
#   cwe: CWE-732
package blogaudit.BA131

import rego.v1

import data.blogaudit.lib.k8s

default system_namespaces := ["kube-system", "kube-public", "kube-node-lease"]

system_namespaces := data.config.system_namespaces

wildcard_fields := ["verbs", "resources", "apiGroups"]

secret_read_verbs := {"get", "list", "watch", "*"}

maintained_by_kubernetes(role) if {
	object.get(role, ["metadata", "labels", "kubernetes.io/bootstrapping"], "") == "rbac-defaults"
}

maintained_by_kubernetes(role) if {
	role.kind == "ClusterRole"
	role.aggregationRule
}

violation contains v if {
	input.kind in {"Role", "ClusterRole"}
	not maintained_by_kubernetes(input)
	some i, rule in object.get(input, "rules", [])
	some field in wildcard_fields
	some j, entry in object.get(rule, field, [])
	entry == "*"
	v = {
		"path": ["rules", i, field, j],
		"message": sprintf("rule %d of %s grants \"*\" in %s; list the %s it needs", [i, k8s.describe(input), field, field]),
	}
}

# -- Cluster-wide Secret reads ------------------------------------------------------------------

system_group(name) if name == "system:masters"

system_group(name) if {
	some ns in system_namespaces
	name == sprintf("system:serviceaccounts:%s", [ns])
}

# Built-in control-plane identities (system:kube-scheduler, …) and system-namespace ServiceAccounts.
system_user(name) if {
	startswith(name, "system:")
	not startswith(name, "system:serviceaccount:")
	name != "system:anonymous"
}

system_user(name) if {
	some ns in system_namespaces
	startswith(name, sprintf("system:serviceaccount:%s:", [ns]))
}

app_subject(s) if {
	s.kind == "ServiceAccount"
	not object.get(s, "namespace", "") in system_namespaces
}

app_subject(s) if {
	s.kind == "User"
	not system_user(s.name)
}

app_subject(s) if {
	s.kind == "Group"
	not system_group(s.name)
}

# A subject without `name` is still named in the message, so its finding is not lost.
subject_name(s) := object.get(s, "name", "<unnamed>")

subject_label(s) := sprintf("ServiceAccount %s/%s", [object.get(s, "namespace", ""), subject_name(s)]) if s.kind == "ServiceAccount"

subject_label(s) := sprintf("%s %q", [s.kind, subject_name(s)]) if s.kind != "ServiceAccount"

# Application subjects that ClusterRoleBindings give this ClusterRole to, cluster-wide.
cluster_wide_app_subjects(role_name) := {sprintf("%s (ClusterRoleBinding %s)", [subject_label(s), k8s.name(b)]) |
	some b in k8s.objects("ClusterRoleBinding", "")
	b.roleRef.kind == "ClusterRole"
	b.roleRef.name == role_name
	some s in object.get(b, "subjects", [])
	app_subject(s)
}

core_group(rule) if "" in object.get(rule, "apiGroups", [])

core_group(rule) if "*" in object.get(rule, "apiGroups", [])

reads(rule) if {
	some verb in object.get(rule, "verbs", [])
	verb in secret_read_verbs
}

violation contains v if {
	input.kind == "ClusterRole"
	not maintained_by_kubernetes(input)
	some i, rule in object.get(input, "rules", [])
	some j, resource in object.get(rule, "resources", [])
	resource == "secrets"
	core_group(rule)
	reads(rule)
	count(object.get(rule, "resourceNames", [])) == 0
	subjects = cluster_wide_app_subjects(input.metadata.name)
	count(subjects) > 0
	v = {
		"path": ["rules", i, "resources", j],
		"message": sprintf("%s lets %s read every Secret in the cluster (rule %d: secrets without resourceNames); use a namespaced Role limited by resourceNames", [k8s.describe(input), concat(", ", sort(subjects)), i]),
	}
}
