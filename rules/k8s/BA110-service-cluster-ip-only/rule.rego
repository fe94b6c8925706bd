# METADATA
# title: Services stay inside the cluster
# description: |
#   ## What it checks
#   A Service must be of type `ClusterIP` (the default) and must not list `externalIPs`,
#   unless the configuration allows that exact Service. A Service of type `LoadBalancer` or
#   `NodePort` is reported at `spec.type`; a Service with `externalIPs` is reported at
#   `spec.externalIPs`. The `spec.type` finding carries the mechanical fix `ClusterIP` when
#   no port pins a `nodePort` (the API server rejects a ClusterIP Service that keeps one).
#
#   An exception is an `[[allow.services]]` entry of `blogaudit.toml` (the rule reads it as
#   `data.config.allowed_services`) that names the Service's namespace and name and lists the
#   type in `types` (`"LoadBalancer"`, `"NodePort"`, or `"externalIPs"` for external IPs).
#   The reference design allows one: the Traefik Service in namespace `traefik`, which the
#   ALB reaches.
#
#   ## Why it matters
#   In the reference design, client traffic enters only through API Gateway, the ALB and
#   Traefik, where TLS, routing and policy are enforced. Any other `LoadBalancer` Service
#   creates a new cloud load balancer that bypasses that path; a `NodePort` opens a port on
#   every node; `externalIPs` makes kube-proxy capture traffic for arbitrary addresses, which
#   can also be abused to intercept traffic (CVE-2020-8554). Each is an entry point the
#   design does not account for.
#
#   ## How to fix
#   Make the Service `ClusterIP` (remove `type`, or set `type: ClusterIP`) and remove
#   `externalIPs`; expose it through an `HTTPRoute` on the shared Gateway instead. If the
#   Service really is an entry point, add it to the configuration:
#
#   ```toml
#   [[allow.services]]
#   namespace = "traefik"
#   name = "traefik"
#   types = ["LoadBalancer"]
#   reason = "The single entry point behind the ALB."
#   ```
#
#   ## References
#   - https://kubernetes.io/docs/concepts/services-networking/service/#publishing-services-service-types
#   - https://kubernetes.io/docs/concepts/services-networking/service/#external-ips
#   - https://github.com/kubernetes/kubernetes/issues/97076
#   - https://media.defense.gov/2022/Aug/29/2003066362/-1/-1/0/CTR_KUBERNETES_HARDENING_GUIDANCE_1.2_20220829.PDF
# custom:
#   id: BA110
#   name: service-cluster-ip-only
#   severity: high
#   category: security
#   sources: [M, L, W]
#   kinds: [Service]
#   remediation: Make the Service `ClusterIP` without `externalIPs`, or allow it with an `[[allow.services]]` entry in `blogaudit.toml`.
#   cwe: CWE-668
#   fix:
#     safety: unsafe
#     risk: clients outside the cluster that reach the Service through its node port or load balancer are cut off
package blogaudit.BA110

import rego.v1

import data.blogaudit.lib.k8s

exposed_types := {"LoadBalancer", "NodePort"}

allowed(kind) if {
	some entry in object.get(data.config, "allowed_services", [])
	object.get(entry, "namespace", "") == k8s.namespace(input)
	object.get(entry, "name", "") == k8s.name(input)
	kind in object.get(entry, "types", [])
}

violation contains v if {
	service_type = object.get(input, ["spec", "type"], "ClusterIP")
	service_type in exposed_types
	not allowed(service_type)
	finding = {
		"path": ["spec", "type"],
		"message": sprintf("%s is of type %s, which the configuration does not allow ([[allow.services]])", [k8s.describe(input), service_type]),
	}
	v = object.union(finding, type_fix)
}

# Setting the type to ClusterIP is a mechanical fix only when no port pins a nodePort:
# the API server rejects a ClusterIP Service whose ports keep one.
type_fix := {"fix": {"value": "ClusterIP"}} if {
	every port in object.get(input, ["spec", "ports"], []) {
		object.get(port, "nodePort", null) == null
	}
}

type_fix := {} if {
	some port in object.get(input, ["spec", "ports"], [])
	object.get(port, "nodePort", null) != null
}

violation contains v if {
	ips = object.get(input, ["spec", "externalIPs"], [])
	is_array(ips)
	count(ips) > 0
	not allowed("externalIPs")
	v = {
		"path": ["spec", "externalIPs"],
		"message": sprintf("%s sets externalIPs %v, which the configuration does not allow ([[allow.services]])", [k8s.describe(input), ips]),
	}
}
