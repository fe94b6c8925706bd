#!/usr/bin/env python3
"""gentree.py: writes a large deploy tree for blogaudit with a seeded ground truth.

The tree is made of per-environment copies of the reference blog design (two services,
`posts` and `user`, on EKS), each compliant with every built-in rule, into which violations
are planted at random (seeded). Each planted violation is one field changed, added or left
out, so it yields exactly one finding, and the generator records where: rule ID, file, line
(1-based), resource kind and name. A test can then demand exactly those findings: no more,
no fewer.

    python3 tools/gentree.py --out DIR [--k8s-resources N | --copies N] [--seed S] [--rate R]
    python3 tools/gentree.py --check DIR REPORT.json   # a `blogaudit scan --format json`
                                                       # report of DIR against its truth

What it writes under DIR:
  blogaudit.toml                         the configuration the tree is compliant with (registry)
  k8s/cluster.yaml                       GatewayClass and the ClusterIssuer of every copy
  k8s/env-NNNN/namespace.yaml            Namespace + default-deny NetworkPolicy (multi-doc)
  k8s/env-NNNN/gateway.yaml              Gateway + cert-manager Certificate
  k8s/env-NNNN/<svc>/workload.yaml       ServiceAccount, Deployment, Service
  k8s/env-NNNN/<svc>/routing.yaml        HTTPRoute, NetworkPolicy
  k8s/env-NNNN/<svc>/scaling.yaml        HorizontalPodAutoscaler, PodDisruptionBudget
  k8s/env-NNNN/<svc>/rbac.yaml           Role, RoleBinding (+ planted bindings and roles)
  terraform/env-NNNN/*.tf                one root module: VPC and subnets over 3 AZs, EKS
                                         cluster with KMS and logs, node group, ECR repositories,
                                         CloudFront frontend on S3, internal ALB
  ground-truth.json                      every planted violation, and counts

Output is byte-for-byte the same for the same arguments. The first copies plant one of
each violation type in turn, so that every type is planted from 12 copies on; the rest are
drawn with probability --rate per site. Some leave-outs are planted where they are not
violations (a service without its own NetworkPolicy in a namespace with a default deny):
the truth holds nothing for them, and a scanner must report nothing. The Terraform is as
`terraform fmt` writes it. The violation types and their rules are listed in ALL_VIOLATIONS
(and in the truth's `types`): together they cover every rule of the catalogue.

Modes: only `flat` (the layout above) exists today. The writer (`Tree`, `File`) and the
per-resource emitters are kept apart from the layout so that other modes (a kustomize/Helm
repository-shaped tree, a live-state dump) can reuse them.

Only the Python 3 standard library is used.
"""

import argparse
import json
import os
import random
import shutil
import sys

REGISTRY = "123456789012.dkr.ecr.eu-west-1.amazonaws.com"
AZS = ["eu-west-1a", "eu-west-1b", "eu-west-1c"]
ISSUER = "letsencrypt"
GATEWAY_CLASS = "traefik"

# name, container port, cpu request, memory request, memory limit, path prefix
SERVICES = [
    ("posts", 8080, "100m", "128Mi", "256Mi", "/posts"),
    ("user", 8081, "50m", "64Mi", "128Mi", "/auth"),
]

# Violation types: (id, rule, where it is planted). Each yields one finding at a known line.
K8S_SERVICE_VIOLATIONS = [
    ("root-container", "BA101"),        # container securityContext runAsUser: 0
    ("privilege-escalation", "BA102"),  # allowPrivilegeEscalation: true
    ("writable-root", "BA103"),         # readOnlyRootFilesystem: false
    ("privileged", "BA104"),            # privileged: true
    ("added-capability", "BA105"),      # capabilities.add: [NET_ADMIN]
    ("exposed-service", "BA110"),       # Service type NodePort
    ("no-network-policy", "BA120"),     # the service's NetworkPolicy left out (a finding
                                        # only where the namespace has no default deny)
    ("cluster-admin", "BA130"),         # a ClusterRoleBinding to cluster-admin
    ("wildcard-verbs", "BA131"),        # Role verbs ["*"]
    ("missing-service-account", "BA132"),  # serviceAccountName of no ServiceAccount
    ("dangling-backend", "BA142"),      # HTTPRoute backendRef to no Service
    ("no-readiness-probe", "BA150"),    # readinessProbe left out
    ("no-memory-limit", "BA151"),       # limits.memory left out
    ("hpa-single-replica", "BA152"),    # HPA minReplicas: 1
    ("no-zone-spread", "BA153"),        # topologySpreadConstraints left out
    ("latest-image", "BA160"),          # image tag :latest
    ("role-in-default", "BA170"),       # an extra Role in namespace default
]
K8S_ENV_VIOLATIONS = [
    ("no-default-deny", "BA121"),       # the namespace's default-deny policy left out (and
                                        # the first service's policy: BA120 too)
    ("http-listener", "BA140"),         # a plain HTTP listener that the first route serves
    ("unissued-certificate", "BA141"),  # certificateRef to a Secret no Certificate writes
]
TF_VIOLATIONS = [
    ("single-az-node-group", "BA201"),  # subnet_ids in fewer than 3 AZs
    ("fixed-node-group", "BA202"),      # min_size = 1 (a variable's default)
    ("no-scan-on-push", "BA210"),       # scan_on_push = false (literal, or a variable default)
    ("mutable-tags", "BA211"),          # image_tag_mutability = "MUTABLE"
    ("public-repository", "BA212"),     # policy statement Principal = "*"
    ("public-endpoint", "BA220"),       # endpoint_public_access = true, no CIDRs
    ("partial-logging", "BA221"),       # no authenticator log
    ("no-secrets-encryption", "BA222"),  # encryption_config left out
    ("frontend-allows-http", "BA230"),  # CloudFront viewer_protocol_policy = "allow-all"
    ("public-frontend-bucket", "BA230"),  # restrict_public_buckets = false on the origin
    ("alb-weak-tls", "BA231"),          # HTTPS listener with a TLS 1.0 ssl_policy
    ("alb-http-forward", "BA231"),      # HTTP listener that forwards instead of redirecting
]
ALL_VIOLATIONS = K8S_SERVICE_VIOLATIONS + K8S_ENV_VIOLATIONS + TF_VIOLATIONS

K8S_PER_ENV = 4 + 9 * len(SERVICES)  # namespace.yaml + gateway.yaml + 9 per service
K8S_CLUSTER = 2  # cluster.yaml


class Tree:
    """Writes files under a root and collects the ground truth of what was planted."""

    def __init__(self, out):
        self.out = out
        self.violations = []
        self.files = 0
        self.bytes = 0
        self.kinds = {}
        self.made_dirs = set()

    def file(self, rel):
        return File(self, rel)

    def write(self, rel, text):
        path = os.path.join(self.out, rel)
        parent = os.path.dirname(path)
        if parent not in self.made_dirs:
            os.makedirs(parent, exist_ok=True)
            self.made_dirs.add(parent)
        data = text.encode("utf-8")
        with open(path, "wb") as f:
            f.write(data)
        self.files += 1
        self.bytes += len(data)

    def count(self, kind):
        self.kinds[kind] = self.kinds.get(kind, 0) + 1


class File:
    """One file built line by line, so that a planted field knows its own line number."""

    def __init__(self, tree, rel):
        self.tree = tree
        self.rel = rel
        self.lines = []
        self.docs = 0
        self.kind = None
        self.name = None

    def doc(self, kind, name):
        """Starts a YAML document (a `---` separator before all but the first)."""
        if self.docs:
            self.lines.append("---")
        self.docs += 1
        self.kind, self.name = kind, name
        self.tree.count(kind)

    def resource(self, kind, name):
        """Starts a Terraform resource block (a blank line before all but the first)."""
        if self.lines:
            self.lines.append("")
        self.kind, self.name = kind, name
        self.tree.count(kind)

    def add(self, *lines):
        self.lines.extend(lines)

    def plant(self, rule, violation, line):
        """Adds `line` and records it as where `rule` reports the planted `violation`."""
        self.lines.append(line)
        self.mark(rule, violation)

    def mark(self, rule, violation, back=0):
        """Records the line `back` lines above the last as the finding of `rule`."""
        self.tree.violations.append({
            "rule": rule,
            "violation": violation,
            "file": self.rel,
            "line": len(self.lines) - back,
            "kind": self.kind,
            "name": self.name,
        })

    def close(self):
        self.tree.write(self.rel, "\n".join(self.lines) + "\n")


def line_if(f, cond, rule, violation, bad, good=None):
    """Writes `bad` as a planted violation when `cond`, else `good` (when given)."""
    if cond:
        f.plant(rule, violation, bad)
    elif good is not None:
        f.add(good)


# ------------------------------------------------------------------------------ Kubernetes


def k8s_cluster(tree):
    f = tree.file("k8s/cluster.yaml")
    f.doc("GatewayClass", GATEWAY_CLASS)
    f.add(
        "apiVersion: gateway.networking.k8s.io/v1",
        "kind: GatewayClass",
        "metadata:",
        "  name: " + GATEWAY_CLASS,
        "spec:",
        "  controllerName: traefik.io/gateway-controller",
    )
    f.doc("ClusterIssuer", ISSUER)
    f.add(
        "apiVersion: cert-manager.io/v1",
        "kind: ClusterIssuer",
        "metadata:",
        "  name: " + ISSUER,
        "spec:",
        "  acme:",
        "    server: https://acme-v02.api.letsencrypt.org/directory",
        "    email: platform@blog.example.com",
        "    privateKeySecretRef:",
        "      name: letsencrypt-account-key",
        "    solvers:",
        "      - dns01:",
        "          route53:",
        "            region: eu-west-1",
    )
    f.close()


def k8s_namespace(tree, env, ns, bad):
    f = tree.file("k8s/%s/namespace.yaml" % env)
    f.doc("Namespace", ns)
    f.add(
        "# Environment %s of the blog: both services in one namespace." % env,
        "apiVersion: v1",
        "kind: Namespace",
        "metadata:",
        "  name: " + ns,
    )
    if "no-default-deny" in bad:
        f.mark("BA121", "no-default-deny")
    f.add(
        "  labels:",
        "    kubernetes.io/metadata.name: " + ns,
        "    app.kubernetes.io/part-of: blog",
        "    pod-security.kubernetes.io/enforce: restricted",
    )
    if "no-default-deny" not in bad:
        f.doc("NetworkPolicy", "default-deny")
        f.add(
            "apiVersion: networking.k8s.io/v1",
            "kind: NetworkPolicy",
            "metadata:",
            "  name: default-deny",
            "  namespace: " + ns,
            "spec:",
            "  podSelector: {}",
            "  policyTypes:",
            "    - Ingress",
            "    - Egress",
        )
    f.close()


def k8s_gateway(tree, env, ns, bad):
    f = tree.file("k8s/%s/gateway.yaml" % env)
    host = "%s.blog.example.com" % env
    f.doc("Gateway", "blog")
    f.add(
        "apiVersion: gateway.networking.k8s.io/v1",
        "kind: Gateway",
        "metadata:",
        "  name: blog",
        "  namespace: " + ns,
        "spec:",
        "  gatewayClassName: " + GATEWAY_CLASS,
        "  listeners:",
        "    - name: https",
        "      protocol: HTTPS",
        "      port: 8443",
        "      hostname: " + host,
        "      tls:",
        "        mode: Terminate",
        "        certificateRefs:",
    )
    line_if(f, "unissued-certificate" in bad, "BA141", "unissued-certificate",
            "          - name: blog-tls-manual", "          - name: blog-tls")
    f.add(
        "      allowedRoutes:",
        "        namespaces:",
        "          from: Same",
    )
    if "http-listener" in bad:
        f.add("    - name: http")
        f.plant("BA140", "http-listener", "      protocol: HTTP")
        f.add(
            "      port: 8000",
            "      hostname: " + host,
            "      allowedRoutes:",
            "        namespaces:",
            "          from: Same",
        )
    f.doc("Certificate", "blog-tls")
    f.add(
        "apiVersion: cert-manager.io/v1",
        "kind: Certificate",
        "metadata:",
        "  name: blog-tls",
        "  namespace: " + ns,
        "spec:",
        "  secretName: blog-tls",
        "  dnsNames:",
        "    - " + host,
        "  privateKey:",
        "    algorithm: ECDSA",
        "    size: 256",
        "  issuerRef:",
        "    name: " + ISSUER,
        "    kind: ClusterIssuer",
        "    group: cert-manager.io",
    )
    f.close()


def k8s_workload(tree, env, ns, svc, bad, digest, open_ns):
    name, port, cpu, mem, limit, _ = svc
    d = "k8s/%s/%s" % (env, name)
    f = tree.file(d + "/workload.yaml")
    labels = ["app.kubernetes.io/name: " + name, "app.kubernetes.io/part-of: blog"]

    f.doc("ServiceAccount", name)
    f.add(
        "apiVersion: v1",
        "kind: ServiceAccount",
        "metadata:",
        "  name: " + name,
        "  namespace: " + ns,
        "automountServiceAccountToken: false",
    )

    f.doc("Deployment", name)
    f.add(
        "apiVersion: apps/v1",
        "kind: Deployment",
        "metadata:",
        "  name: " + name,
        "  namespace: " + ns,
        "  labels:",
        *["    " + l for l in labels],
        "spec:",
    )
    f.add("  replicas: 2")
    f.add(
        "  selector:",
        "    matchLabels:",
        "      app.kubernetes.io/name: " + name,
        "  template:",
        "    metadata:",
        "      labels:",
    )
    if "no-network-policy" in bad and open_ns:
        f.mark("BA120", "no-network-policy")
    f.add(
        *["        " + l for l in labels],
        "    spec:",
    )
    if "no-zone-spread" in bad:
        f.mark("BA153", "no-zone-spread")
    line_if(f, "missing-service-account" in bad, "BA132", "missing-service-account",
            "      serviceAccountName: %s-runner" % name, "      serviceAccountName: " + name)
    f.add(
        "      automountServiceAccountToken: false",
        "      securityContext:",
        "        runAsNonRoot: true",
        "        runAsUser: 10001",
        "        seccompProfile:",
        "          type: RuntimeDefault",
    )
    if "no-zone-spread" not in bad:
        f.add(
            "      topologySpreadConstraints:",
            "        - maxSkew: 1",
            "          topologyKey: topology.kubernetes.io/zone",
            "          whenUnsatisfiable: DoNotSchedule",
            "          labelSelector:",
            "            matchLabels:",
            "              app.kubernetes.io/name: " + name,
        )
    f.add(
        "      containers:",
        "        - name: " + name,
    )
    if "no-readiness-probe" in bad:
        f.mark("BA150", "no-readiness-probe")
    image = "          image: %s/%s" % (REGISTRY, name)
    line_if(f, "latest-image" in bad, "BA160", "latest-image",
            image + ":latest", image + ":1.4.2@sha256:" + digest)
    f.add(
        "          ports:",
        "            - name: http",
        "              containerPort: %d" % port,
    )
    if "no-readiness-probe" not in bad:
        f.add(
            "          readinessProbe:",
            "            httpGet:",
            "              path: /readyz",
            "              port: http",
        )
    f.add(
        "          livenessProbe:",
        "            httpGet:",
        "              path: /healthz",
            "              port: http",
        "          resources:",
    )
    if "no-memory-limit" in bad:
        f.mark("BA151", "no-memory-limit")
    f.add(
        "            requests:",
        "              cpu: " + cpu,
        "              memory: " + mem,
    )
    if "no-memory-limit" not in bad:
        f.add(
            "            limits:",
            "              memory: " + limit,
        )
    f.add("          securityContext:")
    line_if(f, "root-container" in bad, "BA101", "root-container",
            "            runAsUser: 0", "            runAsNonRoot: true")
    line_if(f, "privilege-escalation" in bad, "BA102", "privilege-escalation",
            "            allowPrivilegeEscalation: true", "            allowPrivilegeEscalation: false")
    line_if(f, "writable-root" in bad, "BA103", "writable-root",
            "            readOnlyRootFilesystem: false", "            readOnlyRootFilesystem: true")
    line_if(f, "privileged" in bad, "BA104", "privileged", "            privileged: true")
    f.add(
        "            capabilities:",
        '              drop: ["ALL"]',
    )
    line_if(f, "added-capability" in bad, "BA105", "added-capability",
            '              add: ["NET_ADMIN"]')
    f.add(
        "          volumeMounts:",
        "            - name: tmp",
        "              mountPath: /tmp",
        "      volumes:",
        "        - name: tmp",
        "          emptyDir:",
        "            sizeLimit: 64Mi",
    )

    f.doc("Service", name)
    f.add(
        "apiVersion: v1",
        "kind: Service",
        "metadata:",
        "  name: " + name,
        "  namespace: " + ns,
        "spec:",
    )
    line_if(f, "exposed-service" in bad, "BA110", "exposed-service",
            "  type: NodePort", "  type: ClusterIP")
    f.add(
        "  selector:",
        "    app.kubernetes.io/name: " + name,
        "  ports:",
        "    - name: http",
        "      port: 80",
        "      targetPort: http",
    )
    f.close()


def k8s_routing(tree, env, ns, svc, bad, over_http):
    name, port, _, _, _, prefix = svc
    f = tree.file("k8s/%s/%s/routing.yaml" % (env, name))
    f.doc("HTTPRoute", name)
    f.add(
        "apiVersion: gateway.networking.k8s.io/v1",
        "kind: HTTPRoute",
        "metadata:",
        "  name: " + name,
        "  namespace: " + ns,
        "spec:",
        "  parentRefs:",
        "    - name: blog",
        "      sectionName: https",
    )
    if over_http:
        f.add(
            "    - name: blog",
            "      sectionName: http",
        )
    f.add(
        "  rules:",
        "    - matches:",
        "        - path:",
        "            type: PathPrefix",
        "            value: " + prefix,
        "      backendRefs:",
    )
    line_if(f, "dangling-backend" in bad, "BA142", "dangling-backend",
            "        - name: %s-v2" % name, "        - name: " + name)
    f.add("          port: 80")
    if "no-network-policy" not in bad:
        f.doc("NetworkPolicy", name)
        f.add(
            "apiVersion: networking.k8s.io/v1",
            "kind: NetworkPolicy",
            "metadata:",
            "  name: " + name,
            "  namespace: " + ns,
            "spec:",
            "  podSelector:",
            "    matchLabels:",
            "      app.kubernetes.io/name: " + name,
            "  policyTypes:",
            "    - Ingress",
            "  ingress:",
            "    - from:",
            "        - namespaceSelector:",
            "            matchLabels:",
            "              kubernetes.io/metadata.name: traefik",
            "      ports:",
            "        - protocol: TCP",
            "          port: %d" % port,
        )
    f.close()


def k8s_scaling(tree, env, ns, svc, bad):
    name = svc[0]
    f = tree.file("k8s/%s/%s/scaling.yaml" % (env, name))
    f.doc("HorizontalPodAutoscaler", name)
    f.add(
        "apiVersion: autoscaling/v2",
        "kind: HorizontalPodAutoscaler",
        "metadata:",
        "  name: " + name,
        "  namespace: " + ns,
        "spec:",
        "  scaleTargetRef:",
        "    apiVersion: apps/v1",
        "    kind: Deployment",
        "    name: " + name,
    )
    line_if(f, "hpa-single-replica" in bad, "BA152", "hpa-single-replica",
            "  minReplicas: 1", "  minReplicas: 2")
    f.add(
        "  maxReplicas: 6",
        "  metrics:",
        "    - type: Resource",
        "      resource:",
        "        name: cpu",
        "        target:",
        "          type: Utilization",
        "          averageUtilization: 70",
    )
    f.doc("PodDisruptionBudget", name)
    f.add(
        "apiVersion: policy/v1",
        "kind: PodDisruptionBudget",
        "metadata:",
        "  name: " + name,
        "  namespace: " + ns,
        "spec:",
        "  minAvailable: 1",
        "  selector:",
        "    matchLabels:",
        "      app.kubernetes.io/name: " + name,
    )
    f.close()


def k8s_rbac(tree, env, ns, svc, bad):
    name = svc[0]
    f = tree.file("k8s/%s/%s/rbac.yaml" % (env, name))
    f.doc("Role", name)
    f.add(
        "apiVersion: rbac.authorization.k8s.io/v1",
        "kind: Role",
        "metadata:",
        "  name: " + name,
        "  namespace: " + ns,
        "rules:",
        '  - apiGroups: [""]',
        '    resources: ["configmaps"]',
        '    resourceNames: ["%s-settings"]' % name,
    )
    line_if(f, "wildcard-verbs" in bad, "BA131", "wildcard-verbs",
            '    verbs: ["*"]', '    verbs: ["get", "watch"]')
    f.doc("RoleBinding", name)
    f.add(
        "apiVersion: rbac.authorization.k8s.io/v1",
        "kind: RoleBinding",
        "metadata:",
        "  name: " + name,
        "  namespace: " + ns,
        "subjects:",
        "  - kind: ServiceAccount",
        "    name: " + name,
        "    namespace: " + ns,
        "roleRef:",
        "  apiGroup: rbac.authorization.k8s.io",
        "  kind: Role",
        "  name: " + name,
    )
    if "cluster-admin" in bad:
        binding = "%s-%s-admin" % (ns, name)
        f.doc("ClusterRoleBinding", binding)
        f.add(
            "apiVersion: rbac.authorization.k8s.io/v1",
            "kind: ClusterRoleBinding",
            "metadata:",
            "  name: " + binding,
            "subjects:",
            "  - kind: ServiceAccount",
            "    name: " + name,
            "    namespace: " + ns,
            "roleRef:",
            "  apiGroup: rbac.authorization.k8s.io",
            "  kind: ClusterRole",
        )
        f.plant("BA130", "cluster-admin", "  name: cluster-admin")
    if "role-in-default" in bad:
        role = "%s-%s-debug" % (ns, name)
        f.doc("Role", role)
        f.add(
            "apiVersion: rbac.authorization.k8s.io/v1",
            "kind: Role",
            "metadata:",
            "  name: " + role,
        )
        f.plant("BA170", "role-in-default", "  namespace: default")
        f.add(
            "rules:",
            '  - apiGroups: [""]',
            '    resources: ["pods"]',
            '    verbs: ["get", "list"]',
        )
    f.close()


# ------------------------------------------------------------------------------- Terraform


def tf_root(tree, env, index, bad, scan_var):
    d = "terraform/%s" % env
    name = "blog-%s" % env
    base = index % 250
    cidr = "10.%d.0.0/16" % base

    f = tree.file(d + "/versions.tf")
    f.add(
        "terraform {",
        '  required_version = ">= 1.6"',
        "  required_providers {",
        "    aws = {",
        '      source  = "hashicorp/aws"',
        '      version = "~> 5.0"',
        "    }",
        "  }",
        "}",
        "",
        'provider "aws" {',
        "  region = var.region",
        "}",
    )
    f.close()

    f = tree.file(d + "/variables.tf")
    f.add(
        'variable "region" {',
        "  type    = string",
        '  default = "eu-west-1"',
        "}",
        "",
        'variable "ecr_scan_on_push" {',
        '  description = "Scan images when CI pushes them"',
        "  type        = bool",
        "  default     = %s" % ("false" if "no-scan-on-push" in bad and scan_var else "true"),
        "}",
        "",
        'variable "node_min_size" {',
        "  type    = number",
        "  default = %d" % (1 if "fixed-node-group" in bad else 3),
        "}",
    )
    f.close()

    f = tree.file(d + "/network.tf")
    f.resource("aws_vpc", "aws_vpc.main")
    f.add(
        'resource "aws_vpc" "main" {',
        '  cidr_block           = "%s"' % cidr,
        "  enable_dns_hostnames = true",
        "",
        "  tags = {",
        '    Name = "%s"' % name,
        "  }",
        "}",
    )
    subnets = [(az[-1], az, i) for i, az in enumerate(AZS)] + [("a_spare", AZS[0], 3)]
    for key, az, i in subnets:
        f.resource("aws_subnet", "aws_subnet.private_" + key)
        f.add(
            'resource "aws_subnet" "private_%s" {' % key,
            "  vpc_id            = aws_vpc.main.id",
            '  cidr_block        = "10.%d.%d.0/20"' % (base, i * 16),
            '  availability_zone = "%s"' % az,
            "}",
        )
    f.close()

    f = tree.file(d + "/eks.tf")
    f.resource("aws_kms_key", "aws_kms_key.eks")
    f.add(
        'resource "aws_kms_key" "eks" {',
        '  description         = "%s secrets"' % name,
        "  enable_key_rotation = true",
        "}",
    )
    f.resource("aws_eks_cluster", "aws_eks_cluster.main")
    f.add('resource "aws_eks_cluster" "main" {')
    if "no-secrets-encryption" in bad:
        f.mark("BA222", "no-secrets-encryption")
    f.add(
        '  name     = "%s"' % name,
        '  role_arn = "arn:aws:iam::123456789012:role/%s-cluster"' % name,
        "",
        "  vpc_config {",
        "    subnet_ids              = [aws_subnet.private_a.id, aws_subnet.private_b.id, aws_subnet.private_c.id]",
        "    endpoint_private_access = true",
    )
    line_if(f, "public-endpoint" in bad, "BA220", "public-endpoint",
            "    endpoint_public_access  = true", "    endpoint_public_access  = false")
    f.add("  }", "")
    line_if(f, "partial-logging" in bad, "BA221", "partial-logging",
            '  enabled_cluster_log_types = ["api", "audit"]',
            '  enabled_cluster_log_types = ["api", "audit", "authenticator"]')
    if "no-secrets-encryption" not in bad:
        f.add(
            "",
            "  encryption_config {",
            '    resources = ["secrets"]',
            "    provider {",
            "      key_arn = aws_kms_key.eks.arn",
            "    }",
            "  }",
        )
    f.add("}")
    f.resource("aws_eks_node_group", "aws_eks_node_group.default")
    f.add(
        'resource "aws_eks_node_group" "default" {',
        "  cluster_name    = aws_eks_cluster.main.name",
        '  node_group_name = "default"',
        '  node_role_arn   = "arn:aws:iam::123456789012:role/%s-node"' % name,
    )
    if "single-az-node-group" in bad:
        # One subnet; two subnets in one AZ (counting subnets is not enough); two AZs.
        subnet_ids = [
            "[aws_subnet.private_a.id]",
            "[aws_subnet.private_a.id, aws_subnet.private_a_spare.id]",
            "[aws_subnet.private_a.id, aws_subnet.private_b.id]",
        ][index % 3]
        f.plant("BA201", "single-az-node-group", "  subnet_ids      = " + subnet_ids)
    else:
        f.add("  subnet_ids      = [aws_subnet.private_a.id, aws_subnet.private_b.id, aws_subnet.private_c.id]")
    f.add(
        "",
        "  scaling_config {",
    )
    # The planted min_size is the variable's default (1): the rule reports its use here.
    line_if(f, "fixed-node-group" in bad, "BA202", "fixed-node-group",
            "    min_size     = var.node_min_size", "    min_size     = var.node_min_size")
    f.add(
        "    desired_size = var.node_min_size",
        "    max_size     = 9",
        "  }",
        "",
        "  tags = {",
        # Aligned as `terraform fmt` does.
        '    %-*s = "true"' % (len(name) + 28, '"k8s.io/cluster-autoscaler/enabled"'),
        '    "k8s.io/cluster-autoscaler/%s" = "owned"' % name,
        "  }",
        "}",
    )
    f.close()

    f = tree.file(d + "/ecr.tf")
    for i, svc in enumerate(SERVICES):
        repo = svc[0]
        # The registry-wide violations land on the first repository only.
        first = i == 0
        f.resource("aws_ecr_repository", "aws_ecr_repository." + repo)
        f.add(
            'resource "aws_ecr_repository" "%s" {' % repo,
            '  name                 = "%s/%s"' % (env, repo),
        )
        line_if(f, first and "mutable-tags" in bad, "BA211", "mutable-tags",
                '  image_tag_mutability = "MUTABLE"', '  image_tag_mutability = "IMMUTABLE"')
        f.add("", "  image_scanning_configuration {")
        if first and "no-scan-on-push" in bad:
            f.plant("BA210", "no-scan-on-push", "    scan_on_push = var.ecr_scan_on_push"
                    if scan_var else "    scan_on_push = false")
        else:
            f.add("    scan_on_push = %s" % ("var.ecr_scan_on_push" if first else "true"))
        f.add("  }", "}")
        f.resource("aws_ecr_repository_policy", "aws_ecr_repository_policy." + repo)
        f.add(
            'resource "aws_ecr_repository_policy" "%s" {' % repo,
            "  repository = aws_ecr_repository.%s.name" % repo,
            "  policy = jsonencode({",
            '    Version = "2012-10-17"',
            "    Statement = [{",
            '      Sid       = "NodesPull"',
            '      Effect    = "Allow"',
        )
        line_if(f, first and "public-repository" in bad, "BA212", "public-repository",
                '      Principal = "*"',
                '      Principal = { AWS = "arn:aws:iam::123456789012:role/%s-node" }' % name)
        f.add(
            '      Action    = ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]',
            "    }]",
            "  })",
            "}",
        )
    f.close()

    tf_frontend(tree, d, name, bad)
    tf_edge(tree, d, name, bad)


def tf_frontend(tree, d, name, bad):
    f = tree.file(d + "/frontend.tf")
    f.resource("aws_s3_bucket", "aws_s3_bucket.frontend")
    f.add(
        'resource "aws_s3_bucket" "frontend" {',
        '  bucket = "%s-frontend"' % name,
        "}",
    )
    f.resource("aws_s3_bucket_public_access_block", "aws_s3_bucket_public_access_block.frontend")
    f.add(
        'resource "aws_s3_bucket_public_access_block" "frontend" {',
        "  bucket                  = aws_s3_bucket.frontend.id",
        "  block_public_acls       = true",
        "  block_public_policy     = true",
        "  ignore_public_acls      = true",
    )
    line_if(f, "public-frontend-bucket" in bad, "BA230", "public-frontend-bucket",
            "  restrict_public_buckets = false", "  restrict_public_buckets = true")
    f.add("}")
    f.resource("aws_cloudfront_origin_access_control", "aws_cloudfront_origin_access_control.frontend")
    f.add(
        'resource "aws_cloudfront_origin_access_control" "frontend" {',
        '  name                              = "%s-frontend"' % name,
        '  origin_access_control_origin_type = "s3"',
        '  signing_behavior                  = "always"',
        '  signing_protocol                  = "sigv4"',
        "}",
    )
    f.resource("aws_cloudfront_distribution", "aws_cloudfront_distribution.frontend")
    f.add(
        'resource "aws_cloudfront_distribution" "frontend" {',
        "  enabled             = true",
        '  default_root_object = "index.html"',
        '  aliases             = ["www.%s.blog.example.com"]' % name,
        "",
        "  origin {",
        '    origin_id                = "frontend-s3"',
        "    domain_name              = aws_s3_bucket.frontend.bucket_regional_domain_name",
        "    origin_access_control_id = aws_cloudfront_origin_access_control.frontend.id",
        "  }",
        "",
        "  default_cache_behavior {",
        '    target_origin_id       = "frontend-s3"',
    )
    line_if(f, "frontend-allows-http" in bad, "BA230", "frontend-allows-http",
            '    viewer_protocol_policy = "allow-all"',
            '    viewer_protocol_policy = "redirect-to-https"')
    f.add(
        '    allowed_methods        = ["GET", "HEAD"]',
        '    cached_methods         = ["GET", "HEAD"]',
        '    cache_policy_id        = "658327ea-f89d-4fab-a63d-7e88639e58f6"',
        "  }",
        "",
        "  restrictions {",
        "    geo_restriction {",
        '      restriction_type = "none"',
        "    }",
        "  }",
        "",
        "  viewer_certificate {",
        '    acm_certificate_arn      = "arn:aws:acm:us-east-1:123456789012:certificate/%s"' % name,
        '    ssl_support_method       = "sni-only"',
        '    minimum_protocol_version = "TLSv1.2_2021"',
        "  }",
        "}",
    )
    f.close()


def tf_edge(tree, d, name, bad):
    f = tree.file(d + "/edge.tf")
    f.resource("aws_lb", "aws_lb.api")
    f.add(
        'resource "aws_lb" "api" {',
        '  name               = "%s-api"' % name,
        "  internal           = true",
        '  load_balancer_type = "application"',
        "  subnets            = [aws_subnet.private_a.id, aws_subnet.private_b.id, aws_subnet.private_c.id]",
        "}",
    )
    f.resource("aws_lb_target_group", "aws_lb_target_group.traefik")
    f.add(
        'resource "aws_lb_target_group" "traefik" {',
        '  name        = "%s-traefik"' % name,
        "  port        = 8443",
        '  protocol    = "HTTPS"',
        '  target_type = "ip"',
        "  vpc_id      = aws_vpc.main.id",
        "}",
    )
    f.resource("aws_lb_listener", "aws_lb_listener.https")
    f.add(
        'resource "aws_lb_listener" "https" {',
        "  load_balancer_arn = aws_lb.api.arn",
        "  port              = 443",
        '  protocol          = "HTTPS"',
    )
    line_if(f, "alb-weak-tls" in bad, "BA231", "alb-weak-tls",
            '  ssl_policy        = "ELBSecurityPolicy-2016-08"',
            '  ssl_policy        = "ELBSecurityPolicy-TLS13-1-2-2021-06"')
    f.add(
        '  certificate_arn   = "arn:aws:acm:eu-west-1:123456789012:certificate/%s"' % name,
        "",
        "  default_action {",
        '    type             = "forward"',
        "    target_group_arn = aws_lb_target_group.traefik.arn",
        "  }",
        "}",
    )
    f.resource("aws_lb_listener", "aws_lb_listener.http")
    f.add(
        'resource "aws_lb_listener" "http" {',
        "  load_balancer_arn = aws_lb.api.arn",
        "  port              = 80",
        '  protocol          = "HTTP"',
        "",
        "  default_action {",
    )
    if "alb-http-forward" in bad:
        f.plant("BA231", "alb-http-forward", '    type             = "forward"')
        f.add("    target_group_arn = aws_lb_target_group.traefik.arn")
    else:
        f.add(
            '    type = "redirect"',
            "",
            "    redirect {",
            '      port        = "443"',
            '      protocol    = "HTTPS"',
            '      status_code = "HTTP_301"',
            "    }",
        )
    f.add("  }", "}")
    f.close()


# ---------------------------------------------------------------------------------- layout


def pick(rng, rate, types, forced):
    """The violation types planted at one site: each with probability `rate`, plus `forced`."""
    chosen = {v for v, _ in types if rng.random() < rate}
    if forced:
        chosen.add(forced)
    return chosen


def flat(out, copies, seed, rate):
    """The `flat` mode: one directory per environment copy, k8s and Terraform side by side."""
    rng = random.Random(seed)
    tree = Tree(out)
    tree.write("blogaudit.toml", "# The configuration this generated tree complies with.\n"
               'registry = "%s"\n' % REGISTRY)
    k8s_cluster(tree)
    # Round-robin coverage: the site-th site of each kind plants the site-th type of its list.
    svc_sites = 0
    for c in range(copies):
        env = "env-%04d" % c
        ns = "blog-%04d" % c
        forced = K8S_ENV_VIOLATIONS[c][0] if c < len(K8S_ENV_VIOLATIONS) else None
        env_bad = pick(rng, rate, K8S_ENV_VIOLATIONS, forced)
        k8s_namespace(tree, env, ns, env_bad)
        k8s_gateway(tree, env, ns, env_bad)
        open_ns = "no-default-deny" in env_bad
        for i, svc in enumerate(SERVICES):
            site = svc_sites
            svc_sites += 1
            forced = K8S_SERVICE_VIOLATIONS[site][0] if site < len(K8S_SERVICE_VIOLATIONS) else None
            bad = pick(rng, rate, K8S_SERVICE_VIOLATIONS, forced)
            if open_ns and i == 0:
                bad.add("no-network-policy")
            digest = "%064x" % rng.getrandbits(256)
            k8s_workload(tree, env, ns, svc, bad, digest, open_ns)
            k8s_routing(tree, env, ns, svc, bad, i == 0 and "http-listener" in env_bad)
            k8s_scaling(tree, env, ns, svc, bad)
            k8s_rbac(tree, env, ns, svc, bad)
        forced = TF_VIOLATIONS[c][0] if c < len(TF_VIOLATIONS) else None
        bad = pick(rng, rate, TF_VIOLATIONS, forced)
        tf_root(tree, env, c, bad, scan_var=rng.random() < 0.5)
    return tree


def check(tree, report):
    """Compares a JSON report of a scan of `tree` with its ground truth; 0 when they agree."""
    with open(os.path.join(tree, "ground-truth.json"), encoding="utf-8") as f:
        truth = json.load(f)
    with open(report, encoding="utf-8") as f:
        findings = json.load(f)
    want = {(v["rule"], v["file"], v["line"]) for v in truth["violations"]}
    got = {(f["rule_id"], f["file"], f["start_line"])
           for f in findings["findings"] if f.get("suppression") is None}
    errors = findings["summary"]["errors"]
    for label, spots in (("planted but not found", want - got), ("found but not planted", got - want)):
        for spot in sorted(spots)[:20]:
            print("%s: %s %s:%s" % (label, *spot))
        if len(spots) > 20:
            print("%s: %d more" % (label, len(spots) - 20))
    ok = want == got and errors == 0
    print("%s: %d planted, %d found, %d input errors: %s" % (
        report, len(want), len(got), errors, "exactly the planted findings" if ok else "MISMATCH"))
    return 0 if ok else 1


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", help="directory to write (emptied first)")
    ap.add_argument("--check", nargs=2, metavar=("DIR", "REPORT"),
                    help="compare a JSON report of a scan of DIR with DIR's ground truth")
    size = ap.add_mutually_exclusive_group()
    size.add_argument("--k8s-resources", type=int,
                      help="about this many Kubernetes resources (before planted extras)")
    size.add_argument("--copies", type=int, help="this many environment copies")
    ap.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    ap.add_argument("--rate", type=float, default=0.05,
                    help="probability of each violation type at each site (default 0.05)")
    ap.add_argument("--mode", choices=["flat"], default="flat",
                    help="tree layout (only `flat` so far)")
    args = ap.parse_args()
    if args.check:
        return check(*args.check)
    if not args.out:
        ap.error("--out DIR or --check DIR REPORT is needed")
    if args.copies is not None:
        copies = args.copies
    elif args.k8s_resources is not None:
        copies = -(-(args.k8s_resources - K8S_CLUSTER) // K8S_PER_ENV)
    else:
        copies = 20
    if copies < 1 or not 0 <= args.rate <= 1:
        ap.error("need at least one copy and a rate between 0 and 1")
    if os.path.exists(args.out):
        shutil.rmtree(args.out)
    tree = flat(args.out, copies, args.seed, args.rate)
    tree.violations.sort(key=lambda v: (v["file"], v["line"], v["rule"]))
    truth = {
        "generator": "tools/gentree.py",
        "mode": args.mode,
        "copies": copies,
        "seed": args.seed,
        "rate": args.rate,
        "files": tree.files,
        "bytes": tree.bytes,
        "k8s_resources": sum(n for k, n in tree.kinds.items() if not k.startswith("aws_")),
        "terraform_resources": sum(n for k, n in tree.kinds.items() if k.startswith("aws_")),
        "kinds": dict(sorted(tree.kinds.items())),
        "types": [{"violation": v, "rule": r} for v, r in ALL_VIOLATIONS],
        "violations": tree.violations,
    }
    with open(os.path.join(args.out, "ground-truth.json"), "w") as f:
        json.dump(truth, f, indent=1, sort_keys=True)
        f.write("\n")
    print("%s: %d copies, %d Kubernetes and %d Terraform resources, %d files, %d violations"
          % (args.out, copies, truth["k8s_resources"], truth["terraform_resources"],
             tree.files, len(tree.violations)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
