# METADATA
# title: No cluster-admin (or wildcard) role is bound outside kube-system
# description: |
#   ## What it checks
#   A `RoleBinding` or `ClusterRoleBinding` must not grant an all-powerful role to a subject
#   outside the control plane. A role is all-powerful when:
#
#   - `roleRef` names the `ClusterRole` `cluster-admin`, or
#   - `roleRef` resolves, in the inventory, to a `ClusterRole` (cluster-wide) or to a `Role` in
#     the binding's own namespace that has a rule with `*` in `verbs` and `*` in `resources`.
#
#   A subject is outside the control plane when it is:
#
#   - a `ServiceAccount` whose namespace is not `kube-system` (a ServiceAccount subject without
#     a namespace is read in the binding's namespace);
#   - a `User`, except the built-in `system:` component identities (`system:kube-scheduler`,
#     `system:kube-controller-manager`, …). `system:anonymous` and service-account identities
#     (`system:serviceaccount:<ns>:<name>`) outside `kube-system` count as outside;
#   - a `Group` other than `system:masters` and `system:serviceaccounts:kube-system`. Groups
#     such as `system:authenticated`, `system:unauthenticated` or `system:serviceaccounts` are
#     reported: binding them hands the role to every caller, or to every pod.
#
#   A binding gives one finding, at `roleRef.name`, naming every offending subject. A
#   `RoleBinding` to `cluster-admin` is reported too: inside its namespace it grants full
#   control, including Secrets and RBAC.
#
#   ## Why it matters
#   `cluster-admin` (or any `*` on `*` role) can read every Secret, create pods on any node,
#   and rewrite RBAC itself. Bound to an application ServiceAccount, one compromised pod
#   becomes the whole cluster; bound to a user or a broad group, one stolen credential does.
#
#   ## How to fix
#   Replace the binding with a `Role` and a `RoleBinding` in the service's namespace that
#   grant only the verbs and resources the subject uses. Keep `cluster-admin` for break-glass
#   access through `system:masters` or the cloud provider's access entries.
#
#   ## References
#   - https://kubernetes.io/docs/reference/access-authn-authz/rbac/#user-facing-roles
#   - https://kubernetes.io/docs/concepts/security/rbac-good-practices/#least-privilege
#   - https://kubernetes.io/docs/reference/access-authn-authz/rbac/#referring-to-subjects
#   - https://kubernetes.io/docs/reference/access-authn-authz/authentication/#anonymous-requests
# custom:
#   id: BA130
#   name: no-cluster-admin-binding
#   severity: critical
#   category: security
#   sources: [M, L, W]
#   kinds: [RoleBinding, ClusterRoleBinding]
#   lookups: [ClusterRole, Role]
#   remediation: Bind a narrowly scoped Role in the service's namespace instead of `cluster-admin` or a `*`-on-`*` role.
#   cwe: CWE-269
package blogaudit.BA130

import rego.v1

import data.blogaudit.lib.k8s

# Groups that may hold cluster-admin: the break-glass group and kube-system's ServiceAccounts.
exempt_groups := {"system:masters", "system:serviceaccounts:kube-system"}

# Built-in control-plane user identities (system:kube-scheduler, system:kube-controller-manager, …).
system_user(name) if {
	startswith(name, "system:")
	not startswith(name, "system:serviceaccount:")
	name != "system:anonymous"
}

system_user(name) if startswith(name, "system:serviceaccount:kube-system:")

outside_subject(s, _) if {
	s.kind == "User"
	not system_user(s.name)
}

outside_subject(s, _) if {
	s.kind == "Group"
	not s.name in exempt_groups
}

outside_subject(s, binding) if {
	s.kind == "ServiceAccount"
	object.get(s, "namespace", k8s.namespace(binding)) != "kube-system"
}

# A subject without `name` is still named in the message, so its finding is not lost.
subject_name(s) := object.get(s, "name", "<unnamed>")

subject_label(s, _) := sprintf("%s %q", [s.kind, subject_name(s)]) if s.kind != "ServiceAccount"

subject_label(s, binding) := sprintf("ServiceAccount %s/%s", [object.get(s, "namespace", k8s.namespace(binding)), subject_name(s)]) if {
	s.kind == "ServiceAccount"
}

# The role a binding refers to, looked up where Kubernetes looks it up.
referenced_role(binding) := k8s.objects("ClusterRole", "")[binding.roleRef.name] if {
	binding.roleRef.kind == "ClusterRole"
}

referenced_role(binding) := k8s.objects("Role", k8s.namespace(binding))[binding.roleRef.name] if {
	binding.kind == "RoleBinding"
	binding.roleRef.kind == "Role"
}

all_powerful(binding) if {
	binding.roleRef.kind == "ClusterRole"
	binding.roleRef.name == "cluster-admin"
}

all_powerful(binding) if {
	some rule in referenced_role(binding).rules
	"*" in object.get(rule, "verbs", [])
	"*" in object.get(rule, "resources", [])
}

violation contains v if {
	input.kind in {"RoleBinding", "ClusterRoleBinding"}
	all_powerful(input)
	offenders = sort([subject_label(s, input) |
		some s in object.get(input, "subjects", [])
		outside_subject(s, input)
	])
	count(offenders) > 0
	v = {
		"path": ["roleRef", "name"],
		"message": sprintf("%s grants %s %q, which can do anything, to %s outside kube-system", [k8s.describe(input), input.roleRef.kind, input.roleRef.name, concat(", ", offenders)]),
	}
}
