# METADATA
# title: Containers have a read-only root filesystem
# description: |
#   ## What it checks
#   Every container, init container and ephemeral container of a workload must set
#   `securityContext.readOnlyRootFilesystem: true`. There is no pod-level form of this field.
#   A container that sets it to `false` is reported at that field; a container that leaves
#   it unset is reported at its `securityContext` (or at the container when it has no
#   `securityContext`), because the default root filesystem is writable.
#
#   ## Why it matters
#   A writable root filesystem lets an attacker who gets code execution in the container
#   drop tools, change binaries and configuration, or persist for the life of the container.
#   With a read-only root filesystem the image stays as it was built and scanned, and every
#   place the application may write is visible in the manifest as a volume.
#
#   ## How to fix
#   Set the field on every container and mount the paths the process must write (temporary
#   files, caches) as volumes, for example an `emptyDir`:
#
#   ```yaml
#   containers:
#     - name: app
#       securityContext:
#         readOnlyRootFilesystem: true
#       volumeMounts:
#         - name: tmp
#           mountPath: /tmp
#   volumes:
#     - name: tmp
#       emptyDir: {}
#   ```
#
#   ## References
#   - https://kubernetes.io/docs/tasks/configure-pod-container/security-context/
#   - https://kubernetes.io/docs/concepts/storage/volumes/#emptydir
#   - https://media.defense.gov/2022/Aug/29/2003066362/-1/-1/0/CTR_KUBERNETES_HARDENING_GUIDANCE_1.2_20220829.PDF
#   - https://www.cisecurity.org/benchmark/kubernetes
# custom:
#   id: BA103
#   name: read-only-root-filesystem
#   severity: medium
#   category: security
#   sources: [M, L, W]
#   kinds: [Pod, Deployment, StatefulSet, DaemonSet, ReplicaSet, ReplicationController, Job, CronJob]
#   remediation: 'Set `securityContext.readOnlyRootFilesystem: true` on every container and mount writable paths as volumes.'
#   cwe: CWE-732
#   fix:
#     safety: unsafe
#     risk: a container that writes outside its volumes (caches, pid files, /tmp) fails
package blogaudit.BA103

import rego.v1

import data.blogaudit.lib.k8s
import data.blogaudit.lib.k8s.input_containers

label(c) := "init container" if c.type == "initContainers"

label(c) := "ephemeral container" if c.type == "ephemeralContainers"

label(c) := "container" if c.type == "containers"

subject := k8s.describe(input)

violation contains v if {
	some c in input_containers
	value := object.get(c.container, ["securityContext", "readOnlyRootFilesystem"], null)
	value != true
	v := {
		"path": array.concat(c.path, ["securityContext", "readOnlyRootFilesystem"]),
		"message": message(c, value),
		"fix": {"value": true},
	}
}

message(c, value) := sprintf("%s %q of %s sets securityContext.readOnlyRootFilesystem: false", [label(c), c.container.name, subject]) if value == false

message(c, value) := sprintf("%s %q of %s does not set securityContext.readOnlyRootFilesystem: true", [label(c), c.container.name, subject]) if value != false
