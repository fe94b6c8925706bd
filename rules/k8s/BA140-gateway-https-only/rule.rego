# METADATA
# title: Gateway listeners serve HTTPS; plain HTTP only redirects
# description: |
#   ## What it checks
#   Every listener of a Gateway API `Gateway`:
#
#   - uses protocol `HTTPS` or `TLS` when it serves traffic. A listener with any other
#     protocol is reported at its `protocol`, with one exception: an `HTTP` listener passes
#     when **every** HTTPRoute attached to it only redirects to HTTPS (each of its rules has
#     no `backendRefs` and only `RequestRedirect` filters with `scheme: https`). An HTTP
#     listener with no attached route serves no traffic (the Gateway answers 404), so it
#     passes; the first serving route attached to it makes it fail;
#   - when it is `HTTPS` or `TLS` and does not use `tls.mode: Passthrough`, has at least one
#     `tls.certificateRefs` entry. Reported at `tls.certificateRefs` (the finding points at
#     `tls`, or at the listener, when those are missing).
#
#   An HTTPRoute (in any namespace) is attached to a listener when one of its `parentRefs`
#   names the Gateway (`group` `gateway.networking.k8s.io` and `kind` `Gateway` by default,
#   `namespace` defaulting to the **route's** namespace), its `sectionName` is absent or
#   equals the listener's `name`, its `port` is absent or equals the listener's `port`, and
#   the listener's `allowedRoutes.namespaces.from` admits the route's namespace (`Same` by
#   default, `All`, or `Selector` matched against the route's Namespace labels, which always
#   include `kubernetes.io/metadata.name`). A route that the listener does not admit is not
#   attached, so it does not count either way. Hostnames are not compared: a serving route
#   whose `hostnames` do not intersect the listener's still makes an HTTP listener fail,
#   which errs on the safe side.
#
#   ## Why it matters
#   Traffic on a plain HTTP listener travels unencrypted between the client and the load
#   balancer: session cookies, bearer tokens and passwords can be read and altered by anyone
#   on the path. Keeping port 80 only to redirect to HTTPS gives browsers a way in without
#   ever serving content over HTTP. An HTTPS listener without a certificate never becomes
#   ready, so its routes silently fail.
#
#   ## How to fix
#   Serve every route on an `HTTPS` listener with `certificateRefs`, and attach to the `HTTP`
#   listener only a redirect route:
#
#   ```yaml
#   apiVersion: gateway.networking.k8s.io/v1
#   kind: HTTPRoute
#   metadata:
#     name: https-redirect
#     namespace: gateway
#   spec:
#     parentRefs:
#       - name: blog
#         sectionName: http
#     rules:
#       - filters:
#           - type: RequestRedirect
#             requestRedirect:
#               scheme: https
#               statusCode: 301
#   ```
#
#   ## References
#   - https://gateway-api.sigs.k8s.io/guides/http-redirect-rewrite/
#   - https://gateway-api.sigs.k8s.io/guides/tls/
#   - https://gateway-api.sigs.k8s.io/reference/spec/#listener
#   - https://gateway-api.sigs.k8s.io/reference/spec/#parentreference
#   - https://gateway-api.sigs.k8s.io/guides/multiple-ns/
# custom:
#   id: BA140
#   name: gateway-https-only
#   severity: high
#   category: security
#   sources: [M, L, W]
#   kinds: [Gateway]
#   lookups: [Namespace, HTTPRoute]
#   remediation: Make every listener `HTTPS` (or `TLS`) with `tls.certificateRefs`; keep an `HTTP` listener only for a route that redirects to `https`.
#   cwe: CWE-319
package blogaudit.BA140

import rego.v1

import data.blogaudit.lib.k8s

gateway_group := "gateway.networking.k8s.io"

secure_protocols := {"HTTPS", "TLS"}

gw_ns := k8s.namespace(input)

# k8s.describe(input), from the namespace computed above.
subject := k8s.describe_in(input.kind, gw_ns, k8s.name(input))

gw_name := input.metadata.name

# -- Which HTTPRoutes are attached to a listener -----------------------------------------------

refers_to(ref, route_ns, listener) if {
	object.get(ref, "group", gateway_group) == gateway_group
	object.get(ref, "kind", "Gateway") == "Gateway"
	ref.name == gw_name
	object.get(ref, "namespace", route_ns) == gw_ns
	object.get(ref, "sectionName", listener.name) == listener.name
	object.get(ref, "port", object.get(listener, "port", null)) == object.get(listener, "port", null)
}

namespace_labels(ns) := object.union(
	object.get(k8s.objects("Namespace", ""), [ns, "metadata", "labels"], {}),
	{"kubernetes.io/metadata.name": ns},
)

admits(listener, route_ns) if {
	from = object.get(listener, ["allowedRoutes", "namespaces", "from"], "Same")
	admits_from(from, listener, route_ns)
}

admits_from("All", _, _) := true

admits_from("Same", _, route_ns) if route_ns == gw_ns

admits_from("Selector", listener, route_ns) if {
	selector = listener.allowedRoutes.namespaces.selector
	k8s.selects(selector, namespace_labels(route_ns))
}

# Routes that name this Gateway as a parent, from the inventory's parent index (any
# namespace: a route may attach across namespaces when the listener admits it).
candidate_routes := [[ref.namespace, route] |
	some ref in object.get(data.inventory.route_parents, [gw_ns, gw_name], [])
	ref.kind == "HTTPRoute"
	route = k8s.objects("HTTPRoute", ref.namespace)[ref.name]
]

attached_routes(listener) := [route |
	some candidate in candidate_routes
	route_ns = candidate[0]
	route = candidate[1]
	some ref in object.get(route, ["spec", "parentRefs"], [])
	refers_to(ref, route_ns, listener)
	admits(listener, route_ns)
]

# -- Redirect-only routes ----------------------------------------------------------------------

https_redirect(filter) if {
	filter.type == "RequestRedirect"
	filter.requestRedirect.scheme == "https"
}

redirect_rule(rule) if {
	count(object.get(rule, "backendRefs", [])) == 0
	filters = object.get(rule, "filters", [])
	count(filters) > 0
	every filter in filters {
		https_redirect(filter)
	}
}

redirect_only(route) if {
	rules = object.get(route, ["spec", "rules"], [])
	count(rules) > 0
	every rule in rules {
		redirect_rule(rule)
	}
}

route_label(route) := sprintf("%s/%s", [k8s.namespace(route), k8s.name(route)])

serving_routes(listener) := sort({route_label(route) |
	some route in attached_routes(listener)
	not redirect_only(route)
})

# -- Violations --------------------------------------------------------------------------------

# Each listener with its index and protocol (computed once for the three checks).
listeners contains [i, listener, object.get(listener, "protocol", "")] if {
	some i, listener in object.get(input, ["spec", "listeners"], [])
}

listener_label(listener) := sprintf("listener %q of %s", [object.get(listener, "name", "<unnamed>"), subject])

violation contains v if {
	some [i, listener, "HTTP"] in listeners
	serving = serving_routes(listener)
	count(serving) > 0
	v = {
		"path": ["spec", "listeners", i, "protocol"],
		"message": sprintf("%s serves plain HTTP: attached HTTPRoute %s does more than redirect to https", [listener_label(listener), concat(", ", serving)]),
	}
}

violation contains v if {
	some [i, listener, protocol] in listeners
	not protocol in secure_protocols
	protocol != "HTTP"
	v = {
		"path": ["spec", "listeners", i, "protocol"],
		"message": sprintf("%s uses protocol %q; serve it as HTTPS or TLS", [listener_label(listener), protocol]),
	}
}

violation contains v if {
	some [i, listener, protocol] in listeners
	protocol in secure_protocols
	object.get(listener, ["tls", "mode"], "Terminate") != "Passthrough"
	count(object.get(listener, ["tls", "certificateRefs"], [])) == 0
	v = {
		"path": ["spec", "listeners", i, "tls", "certificateRefs"],
		"message": sprintf("%s terminates %s but has no tls.certificateRefs", [listener_label(listener), protocol]),
	}
}
