# METADATA
# title: Workloads use their own ServiceAccount, without an automounted token
# description: |
#   ## What it checks
#   For every workload (Pod, Deployment, StatefulSet, DaemonSet, ReplicaSet,
#   ReplicationController, Job, CronJob), on its pod spec:
#
#   1. `serviceAccountName` is set and is not `default` (the deprecated `serviceAccount`
#      field is read when `serviceAccountName` is absent). Reported at `serviceAccountName`,
#      which points at the pod spec when the field is missing.
#   2. The named ServiceAccount exists **in the workload's namespace** in the inventory. A
#      ServiceAccount of the same name in another namespace does not count: pods can only use
#      ServiceAccounts of their own namespace. Reported at `serviceAccountName`.
#   3. The API token is not mounted unless the pod asks for it. Kubernetes mounts the token
#      unless `automountServiceAccountToken: false` is set on the pod spec or, when the pod
#      spec leaves the field unset, on the ServiceAccount. The rule reports, at the pod
#      spec's `automountServiceAccountToken`, a pod spec that leaves the field unset while its
#      ServiceAccount (looked up in the inventory; `default` when none is named) does not set
#      it to `false` either. An explicit `automountServiceAccountToken: true` on the pod spec
#      is read as the declaration that the pod needs the Kubernetes API, and passes.
#
#   ## Why it matters
#   Every pod that names no ServiceAccount runs as its namespace's `default` ServiceAccount,
#   so any permission granted to `default` for one workload is silently shared with all of
#   them, and RBAC cannot tell the workloads apart. A dedicated ServiceAccount per workload
#   keeps each binding scoped to one service. Most services never call the Kubernetes API,
#   yet by default their token is mounted at
#   `/var/run/secrets/kubernetes.io/serviceaccount`: anyone who can read files in the
#   container (path traversal, SSRF to a file URL, a shell) can then act as the pod against
#   the API server.
#
#   ## How to fix
#   Create a ServiceAccount per workload in its namespace, name it in the pod spec, and turn
#   off the token mount unless the pod calls the API:
#
#   ```yaml
#   apiVersion: v1
#   kind: ServiceAccount
#   metadata:
#     name: posts
#     namespace: posts
#   automountServiceAccountToken: false
#   ---
#   # in the Deployment's pod template
#   spec:
#     serviceAccountName: posts
#     automountServiceAccountToken: false
#   ```
#
#   ## References
#   - https://kubernetes.io/docs/tasks/configure-pod-container/configure-service-account/
#   - https://kubernetes.io/docs/tasks/configure-pod-container/configure-service-account/#opt-out-of-api-credential-automounting
#   - https://kubernetes.io/docs/concepts/security/service-accounts/
#   - https://kubernetes.io/docs/concepts/security/rbac-good-practices/#workload-creation
# custom:
#   id: BA132
#   name: dedicated-service-account
#   severity: medium
#   category: security
#   sources: [M, L, W]
#   kinds: [Pod, Deployment, StatefulSet, DaemonSet, ReplicaSet, ReplicationController, Job, CronJob]
#   lookups: [ServiceAccount]
#   remediation: 'Create a ServiceAccount for the workload in its namespace, set `serviceAccountName` to it, and set `automountServiceAccountToken: false` unless the pod uses the Kubernetes API.'
#   cwe: CWE-250
#   fix:
#     safety: unsafe
#     risk: a pod that calls the Kubernetes API loses its token
package blogaudit.BA132

import rego.v1

import data.blogaudit.lib.k8s
import data.blogaudit.lib.k8s.input_pod_spec
import data.blogaudit.lib.k8s.input_pod_spec_path

spec := input_pod_spec

spec_path := input_pod_spec_path

# Checked once per evaluation (a function is re-evaluated at every call).
workload if k8s.is_workload(input)

ns := k8s.namespace(input)

# k8s.describe(input), reusing the namespace above.
subject := k8s.describe_in(input.kind, ns, k8s.name(input))

# The field that names the ServiceAccount, and its value. An empty name means "default".
names(field) if object.get(spec, field, "") != ""

sa_field := "serviceAccountName" if {
	names("serviceAccountName")
} else := "serviceAccount" if {
	names("serviceAccount")
}

# Where a finding about the name points: the field in use, else `serviceAccountName`.
default named_field := "serviceAccountName"

named_field := sa_field

sa_name := spec[sa_field]

# The ServiceAccount the pods run as: "default" when none is named.
default effective_sa := "default"

effective_sa := sa_name

dedicated if {
	sa_name != "default"
}

violation contains v if {
	workload
	not dedicated
	v = {
		"path": array.concat(spec_path, [named_field]),
		"message": sprintf("%s runs as the %q ServiceAccount of namespace %q; give it a ServiceAccount of its own", [subject, effective_sa, ns]),
	}
}

violation contains v if {
	workload
	dedicated
	not k8s.objects("ServiceAccount", ns)[sa_name]
	v = {
		"path": array.concat(spec_path, [sa_field]),
		"message": sprintf("%s names ServiceAccount %q, which does not exist in namespace %q", [subject, sa_name, ns]),
	}
}

# The ServiceAccount opts out of the token mount.
sa_opts_out if {
	k8s.objects("ServiceAccount", ns)[effective_sa].automountServiceAccountToken == false
}

violation contains v if {
	workload
	not has_automount_setting
	not sa_opts_out
	v = {
		"path": array.concat(spec_path, ["automountServiceAccountToken"]),
		"message": sprintf("%s mounts the API token of ServiceAccount %s/%s: neither the pod spec nor the ServiceAccount sets automountServiceAccountToken: false", [subject, ns, effective_sa]),
		"fix": {"value": false},
	}
}

has_automount_setting if is_boolean(spec.automountServiceAccountToken)
