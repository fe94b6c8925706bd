# METADATA
# title: Gateway certificates are issued by cert-manager from an existing issuer
# description: |
#   ## What it checks
#   Every entry of a Gateway listener's `tls.certificateRefs` that refers to a Secret (`kind`
#   `Secret` and group `""` by default; other kinds are not checked) must be issued by
#   cert-manager from an issuer that exists in the inventory. The Secret's namespace is the
#   ref's `namespace`, or the **Gateway's** namespace when it is unset. The ref passes when:
#
#   - a cert-manager `Certificate` **in the Secret's namespace** has `spec.secretName` equal to
#     the ref's `name`, and its `spec.issuerRef` resolves: `kind` `Issuer` (the default) is
#     looked up in the Certificate's namespace, `ClusterIssuer` cluster-wide, and any other
#     (external issuer) kind in the Certificate's namespace or cluster-wide; or
#   - the Secret is in the Gateway's namespace and the Gateway carries the cert-manager
#     gateway-shim annotation `cert-manager.io/cluster-issuer` naming an existing
#     `ClusterIssuer`, or `cert-manager.io/issuer` naming an existing issuer of kind
#     `cert-manager.io/issuer-kind` (default `Issuer`, in the Gateway's namespace). The
#     gateway-shim only creates Certificates for Secrets in the Gateway's own namespace.
#
#   Each failing ref is reported at its `certificateRefs[j]` element. A Certificate or an
#   Issuer of the same name in another namespace does not count.
#
#   ## Why it matters
#   A certificate that nobody issues is either missing (the listener never serves) or a
#   hand-made Secret that nobody renews: it expires silently and takes the site down, or it
#   is a self-signed or leaked key that clients should not trust. Tying every certificate to
#   a cert-manager `Certificate` and a declared issuer means it is renewed automatically and
#   its trust chain is reviewable in Git.
#
#   ## How to fix
#   Annotate the Gateway so cert-manager issues the listener's Secret, or declare the
#   Certificate yourself, and make sure the issuer it names exists:
#
#   ```yaml
#   apiVersion: cert-manager.io/v1
#   kind: Certificate
#   metadata:
#     name: blog-tls
#     namespace: gateway
#   spec:
#     secretName: blog-tls
#     dnsNames: [blog.example.com]
#     issuerRef:
#       kind: ClusterIssuer
#       name: letsencrypt
#   ```
#
#   ## References
#   - https://cert-manager.io/docs/usage/gateway/
#   - https://cert-manager.io/docs/usage/certificate/
#   - https://cert-manager.io/docs/concepts/issuer/
#   - https://gateway-api.sigs.k8s.io/reference/spec/#gatewaytlsconfig
#   - https://gateway-api.sigs.k8s.io/guides/tls/
# custom:
#   id: BA141
#   name: gateway-certificate-issued
#   severity: medium
#   category: security
#   sources: [M, L, W]
#   kinds: [Gateway]
#   lookups: [Certificate, Issuer, ClusterIssuer]
#   action: warn
#   remediation: Issue each listener certificate with a cert-manager Certificate (or the Gateway's `cert-manager.io/cluster-issuer` annotation) whose ClusterIssuer or Issuer exists.
#   cwe: CWE-295
package blogaudit.BA141

import rego.v1

import data.blogaudit.lib.k8s
import data.blogaudit.lib.k8s.inventory

gw_ns := k8s.namespace(input)

# k8s.describe(input), from the namespace computed above.
subject := k8s.describe_in(input.kind, gw_ns, k8s.name(input))

annotations := object.get(input, ["metadata", "annotations"], {})

# -- Issuers -----------------------------------------------------------------------------------

issuer_exists("Issuer", name, ns) if inventory.objects.Issuer[ns][name]

issuer_exists("ClusterIssuer", name, _) if inventory.objects.ClusterIssuer[""][name]

# External issuers (for example AWSPCAClusterIssuer): namespaced or cluster-scoped.
issuer_exists(kind, name, ns) if {
	not kind in {"Issuer", "ClusterIssuer"}
	some scope in [ns, ""]
	inventory.objects[kind][scope][name]
}

# -- Certificates that write a Secret ------------------------------------------------------------

certificates_for(secret_ns, secret_name) := [cert |
	some cert in inventory.objects.Certificate[secret_ns]
	cert.spec.secretName == secret_name
]

issued(cert) if {
	issuer = cert.spec.issuerRef
	issuer_exists(object.get(issuer, "kind", "Issuer"), issuer.name, k8s.namespace(cert))
}

# -- The gateway-shim annotations ---------------------------------------------------------------

shim_issuer_exists if issuer_exists("ClusterIssuer", annotations["cert-manager.io/cluster-issuer"], "")

shim_issuer_exists if {
	kind = object.get(annotations, "cert-manager.io/issuer-kind", "Issuer")
	issuer_exists(kind, annotations["cert-manager.io/issuer"], gw_ns)
}

shim_annotated if annotations["cert-manager.io/cluster-issuer"]

shim_annotated if annotations["cert-manager.io/issuer"]

# -- Violations --------------------------------------------------------------------------------

secret_ref(ref) if {
	object.get(ref, "group", "") == ""
	object.get(ref, "kind", "Secret") == "Secret"
}

# Each reference to a Secret, with the Secret's namespace and the Certificates that write it
# (looked up once per reference).
refs contains [i, j, listener, ref, secret_ns, certificates_for(secret_ns, ref.name)] if {
	some i, listener in object.get(input, ["spec", "listeners"], [])
	some j, ref in object.get(listener, ["tls", "certificateRefs"], [])
	secret_ref(ref)
	secret_ns = object.get(ref, "namespace", gw_ns)
}

issued_by_certificate(certs) if {
	some cert in certs
	issued(cert)
}

issued_by_shim(secret_ns) if {
	secret_ns == gw_ns
	shim_issuer_exists
}

# Why the Secret is not issued. The alternatives exclude each other.
reason(secret_ns, certs) := msg if {
	count(certs) > 0
	msg = sprintf("Certificate %s names issuer %s, which is not in the inventory (an Issuer must be in the Certificate's namespace)", [
		concat(", ", sort([sprintf("%s/%s", [secret_ns, k8s.name(c)]) | some c in certs])),
		concat(", ", sort({sprintf("%s %q", [object.get(c.spec.issuerRef, "kind", "Issuer"), c.spec.issuerRef.name]) | some c in certs})),
	])
} else := msg if {
	not shim_annotated
	msg = "no cert-manager Certificate in that namespace writes it, and the Gateway has no cert-manager.io/cluster-issuer annotation"
} else := msg if {
	secret_ns == gw_ns
	msg = "no cert-manager Certificate writes it, and the issuer named by the Gateway's cert-manager.io annotation is not in the inventory"
} else := "no cert-manager Certificate in that namespace writes it, and the Gateway's cert-manager.io annotation only issues Secrets in the Gateway's namespace"

violation contains v if {
	some [i, j, listener, ref, secret_ns, certs] in refs
	not issued_by_certificate(certs)
	not issued_by_shim(secret_ns)
	v = {
		"path": ["spec", "listeners", i, "tls", "certificateRefs", j],
		"message": sprintf("certificate Secret %s/%s of listener %q of %s is not issued by cert-manager: %s", [secret_ns, ref.name, object.get(listener, "name", "<unnamed>"), subject, reason(secret_ns, certs)]),
	}
}
