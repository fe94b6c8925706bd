# METADATA
# title: HTTPRoutes attach to a Gateway listener and reach existing Services
# description: |
#   ## What it checks
#   Every `HTTPRoute` must be wired to things that exist in the inventory and that accept it:
#
#   - **It has parents.** A route without `spec.parentRefs` is reported at `parentRefs`.
#   - **Each Gateway parent exists.** A `parentRefs[i]` of kind `Gateway` (the default; other
#     kinds, such as a mesh `Service` parent, are not checked) must name a Gateway in its
#     `namespace`, which defaults to the **route's** namespace. A Gateway of the same name in
#     another namespace does not count. Reported at `parentRefs[i].name`.
#   - **The listener exists.** A `sectionName` must name a listener of that Gateway (reported
#     at `sectionName`), and a `port` must be the port of such a listener (reported at `port`).
#   - **A listener accepts the route.** At least one of the listeners the ref selects (all of
#     them without `sectionName`/`port`) must accept it, as the Gateway API defines:
#     - its protocol is `HTTP` or `HTTPS`, and its `allowedRoutes.kinds`, when set, include
#       `HTTPRoute`;
#     - its `allowedRoutes.namespaces.from` admits the route's namespace: `Same` (the
#       default) only the Gateway's namespace, `All` every namespace, `Selector` the
#       namespaces whose labels match `selector` (labels of the `Namespace` object, plus the
#       `kubernetes.io/metadata.name` label Kubernetes sets on every namespace);
#     - its `hostname` intersects the route's `hostnames` (either one unset matches all;
#       `*.example.com` matches any name below `example.com`).
#     Otherwise the ref is reported at `parentRefs[i]`, with the reason for each listener.
#   - **Each backend exists.** Each `rules[r].backendRefs[b]` of kind `Service` (the default;
#     other kinds are not checked) must name a Service in its `namespace`, which defaults to
#     the route's namespace (reported at `name`). A backend in another namespace also needs a
#     `ReferenceGrant` in the backend's namespace that allows `HTTPRoute`s from the route's
#     namespace to reach that Service (reported at `namespace`). A `port` must be one of the
#     Service's `spec.ports[].port` (reported at `port`).
#
#   Backends referenced from filters (`requestMirror`) are not checked.
#
#   ## Why it matters
#   A route that does not attach, or that points at a missing Service, fails quietly: the
#   Gateway marks it `Accepted: False` or `ResolvedRefs: False` in its status, and clients get
#   404 or 500 responses. A typo in a namespace or a listener name, or a namespace that the
#   listener does not admit, takes a service off the internet with no error at apply time.
#   Checking the wiring before deploying catches it in review.
#
#   ## How to fix
#   Point `parentRefs` at the Gateway's namespace, name and listener, make that listener
#   admit the route's namespace, and reference Services that exist (with a ReferenceGrant
#   for cross-namespace backends):
#
#   ```yaml
#   spec:
#     parentRefs:
#       - name: blog
#         namespace: gateway
#         sectionName: https
#     rules:
#       - backendRefs:
#           - name: posts
#             port: 8080
#   ```
#
#   ## References
#   - https://gateway-api.sigs.k8s.io/api-types/httproute/
#   - https://gateway-api.sigs.k8s.io/reference/spec/#parentreference
#   - https://gateway-api.sigs.k8s.io/reference/spec/#allowedroutes
#   - https://gateway-api.sigs.k8s.io/guides/multiple-ns/
#   - https://gateway-api.sigs.k8s.io/api-types/referencegrant/
#   - https://kubernetes.io/docs/concepts/services-networking/gateway/
# custom:
#   id: BA142
#   name: httproute-attached
#   severity: medium
#   category: availability
#   sources: [M, L]
#   kinds: [HTTPRoute]
#   lookups: [Namespace, Gateway, Service, ReferenceGrant]
#   remediation: Point `parentRefs` at an existing Gateway listener that admits the route's namespace, and `backendRefs` at existing Services (with a ReferenceGrant across namespaces).
package blogaudit.BA142

import rego.v1

import data.blogaudit.lib.k8s

# Cost: this rule runs on every HTTPRoute, so the common path (each ref names an existing
# Gateway whose listener accepts the route; each backend exists) reads few rules and calls few
# functions. Constants such as the Gateway API group are spelled out where they are tested.

route_ns := k8s.namespace(input)

route_hostnames := object.get(input, ["spec", "hostnames"], [])

# -- Parent references -------------------------------------------------------------------------

# A ref to a Gateway (group gateway.networking.k8s.io, kind Gateway, the defaults).
gateway_ref(ref) if {
	object.get(ref, "group", "gateway.networking.k8s.io") == "gateway.networking.k8s.io"
	object.get(ref, "kind", "Gateway") == "Gateway"
}

ref_namespace(ref) := object.get(ref, "namespace", route_ns)

listeners(gw) := object.get(gw, ["spec", "listeners"], [])

# Listeners the ref selects by sectionName and port (all of them when neither is set).
selected(ref, gw) := [l |
	some l in listeners(gw)
	object.get(ref, "sectionName", l.name) == l.name
	object.get(ref, "port", object.get(l, "port", null)) == object.get(l, "port", null)
]

namespace_labels(ns) := object.union(
	object.get(k8s.objects("Namespace", ""), [ns, "metadata", "labels"], {}),
	{"kubernetes.io/metadata.name": ns},
)

# Why a listener does not accept this route (empty when it does). Computed only for the
# message: `accepts` tests the same conditions directly.
rejections(l, gw) := {reason |
	some check in ["kind", "namespace", "hostname"]
	reason = reject(check, l, gw)
}

reject("kind", l, _) := sprintf("protocol %s does not carry HTTPRoutes", [object.get(l, "protocol", "")]) if {
	not object.get(l, "protocol", "") in {"HTTP", "HTTPS"}
}

reject("kind", l, _) := "its allowedRoutes.kinds do not include HTTPRoute" if {
	object.get(l, "protocol", "") in {"HTTP", "HTTPS"}
	not kinds_allow_http_route(l)
}

# No allowedRoutes.kinds (the protocol's default kinds), or a list that names HTTPRoute.
kinds_allow_http_route(l) if {
	kinds = object.get(l, ["allowedRoutes", "kinds"], [])
	count(kinds) > 0
	names_http_route(kinds)
} else if {
	count(object.get(l, ["allowedRoutes", "kinds"], [])) == 0
}

# (A function of its own: a loop in a body that `else` follows stops the chain in the
# compiled evaluator.)
names_http_route(kinds) if {
	some k in kinds
	object.get(k, "group", "gateway.networking.k8s.io") == "gateway.networking.k8s.io"
	k.kind == "HTTPRoute"
}

reject("namespace", l, gw) := sprintf("allowedRoutes.namespaces.from is %s and does not admit namespace %q", [from, route_ns]) if {
	from = object.get(l, ["allowedRoutes", "namespaces", "from"], "Same")
	not admits(from, l, gw)
}

admits("All", _, _) := true

admits("Same", _, gw) if k8s.namespace(gw) == route_ns

admits("Selector", l, _) if k8s.selects(l.allowedRoutes.namespaces.selector, namespace_labels(route_ns))

reject("hostname", l, _) := sprintf("its hostname %q matches none of the route's hostnames", [l.hostname]) if {
	not hostname_admits(l)
}

# The listener has no hostname, the route none, or one of the route's matches it.
hostname_admits(l) if {
	not l.hostname
} else if {
	count(route_hostnames) == 0
} else if {
	some h in route_hostnames
	hosts_intersect(l.hostname, h)
}

hosts_intersect(a, b) if {
	a == b
} else if {
	wildcard_covers(a, b)
} else if {
	wildcard_covers(b, a)
}

wildcard_covers(pattern, host) if {
	startswith(pattern, "*.")
	suffix = substring(pattern, 1, -1)
	endswith(host, suffix)
	count(host) > count(suffix)
}

# No reason to reject: the cheap tests first, the namespace (a lookup) last.
accepts(l, gw) if {
	object.get(l, "protocol", "") in {"HTTP", "HTTPS"}
	kinds_allow_http_route(l)
	hostname_admits(l)
	admits(object.get(l, ["allowedRoutes", "namespaces", "from"], "Same"), l, gw)
}

describe_ref(ref) := sprintf("Gateway %s/%s", [ref_namespace(ref), ref.name])

parent_refs := object.get(input, ["spec", "parentRefs"], [])

# The parentRefs that name a Gateway, each with its Gateway (null when it does not exist):
# resolved once per evaluation, then shared by the checks below.
gateway_parents contains [i, ref, gw] if {
	some i, ref in parent_refs
	gateway_ref(ref)
	gw = object.get(k8s.objects("Gateway", ref_namespace(ref)), ref.name, null)
}

subject := k8s.describe_in(input.kind, route_ns, k8s.name(input))

violation contains v if {
	count(parent_refs) == 0
	v = {
		"path": ["spec", "parentRefs"],
		"message": sprintf("%s has no parentRefs, so no Gateway serves it", [subject]),
	}
}

violation contains v if {
	some [i, ref, null] in gateway_parents
	v = {
		"path": ["spec", "parentRefs", i, "name"],
		"message": sprintf("parentRefs[%d] of %s names %s, which does not exist", [i, subject, describe_ref(ref)]),
	}
}

violation contains v if {
	some [i, ref, gw] in gateway_parents
	gw != null
	v = section_or_port_violation(i, ref, gw)
}

# The ref's sectionName names no listener of the Gateway, else (the section exists, or none is
# named) its port selects no listener: one else chain, so a ref is tested once.
section_or_port_violation(i, ref, gw) := v if {
	ref.sectionName
	not some_listener_named(gw, ref.sectionName)
	v = {
		"path": ["spec", "parentRefs", i, "sectionName"],
		"message": sprintf("parentRefs[%d] of %s names listener %q, which %s does not have", [i, subject, ref.sectionName, describe_ref(ref)]),
	}
} else := v if {
	ref.port
	count(selected(ref, gw)) == 0
	v = {
		"path": ["spec", "parentRefs", i, "port"],
		"message": sprintf("parentRefs[%d] of %s asks for port %v, on which %s has no matching listener", [i, subject, ref.port, describe_ref(ref)]),
	}
}

some_listener_named(gw, name) if {
	some l in listeners(gw)
	l.name == name
}

violation contains v if {
	some [i, ref, gw] in gateway_parents
	gw != null
	candidates = selected(ref, gw)
	count(candidates) > 0
	not some_accepts(candidates, gw)
	reasons = sort([sprintf("listener %q: %s", [object.get(l, "name", "<unnamed>"), concat("; ", sort(rejections(l, gw)))]) | some l in candidates])
	v = {
		"path": ["spec", "parentRefs", i],
		"message": sprintf("no listener of %s accepts %s (%s)", [describe_ref(ref), subject, concat(", ", reasons)]),
	}
}

some_accepts(candidates, gw) if {
	some l in candidates
	accepts(l, gw)
}

# A ref that selects no listener at all (a Gateway without listeners).
violation contains v if {
	some [i, ref, gw] in gateway_parents
	gw != null
	not ref.sectionName
	not ref.port
	count(listeners(gw)) == 0
	v = {
		"path": ["spec", "parentRefs", i],
		"message": sprintf("%s has no listeners, so %s cannot attach to it", [describe_ref(ref), subject]),
	}
}

# -- Backend references ------------------------------------------------------------------------

# The backendRefs that name a Service (group "" and kind Service, the defaults), each with its
# namespace and its Service (null when it does not exist): looked up once per backend.
backends contains [r, b, ref, ns, svc] if {
	some r, rule in object.get(input, ["spec", "rules"], [])
	some b, ref in object.get(rule, "backendRefs", [])
	object.get(ref, "group", "") == ""
	object.get(ref, "kind", "Service") == "Service"
	ns = object.get(ref, "namespace", route_ns)
	svc = object.get(k8s.objects("Service", ns), ref.name, null)
}

granted(ref, ns) if {
	some grant in k8s.objects("ReferenceGrant", ns)
	some from in object.get(grant, ["spec", "from"], [])
	from.group == "gateway.networking.k8s.io"
	from.kind == "HTTPRoute"
	from.namespace == route_ns
	some to in object.get(grant, ["spec", "to"], [])
	object.get(to, "group", "") == ""
	to.kind == "Service"
	object.get(to, "name", ref.name) == ref.name
}

violation contains v if {
	some [r, b, ref, ns, null] in backends
	v = {
		"path": ["spec", "rules", r, "backendRefs", b, "name"],
		"message": sprintf("rules[%d].backendRefs[%d] of %s names Service %s/%s, which does not exist", [r, b, subject, ns, ref.name]),
	}
}

violation contains v if {
	some [r, b, ref, ns, svc] in backends
	ns != route_ns
	svc != null
	not granted(ref, ns)
	v = {
		"path": ["spec", "rules", r, "backendRefs", b, "namespace"],
		"message": sprintf("rules[%d].backendRefs[%d] of %s crosses into namespace %q, where no ReferenceGrant lets HTTPRoutes from %q reach Service %q", [r, b, subject, ns, route_ns, ref.name]),
	}
}

violation contains v if {
	some [r, b, ref, ns, svc] in backends
	ref.port
	svc != null
	ports = {p.port | some p in object.get(svc, ["spec", "ports"], [])}
	not ref.port in ports
	v = {
		"path": ["spec", "rules", r, "backendRefs", b, "port"],
		"message": sprintf("rules[%d].backendRefs[%d] of %s asks for port %v, which Service %s/%s does not expose", [r, b, subject, ref.port, ns, ref.name]),
	}
}
