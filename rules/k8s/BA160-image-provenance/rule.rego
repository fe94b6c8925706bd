# METADATA
# title: Images come from the ECR registry, pinned
# description: |
#   ## What it checks
#   The image of every container, init container and ephemeral container must:
#   - come from the configured ECR registry host (`registry` in `blogaudit.toml`, for example
#     `123456789012.dkr.ecr.eu-west-1.amazonaws.com`), or, when no registry is configured,
#     from a private ECR registry host (`<account>.dkr.ecr.<region>.amazonaws.com`);
#   - be pinned: by digest (`@sha256:…`), or by a tag other than `latest`. An image with
#     neither tag nor digest means `latest` and fails too.
#
#   The reference is read as the container runtime reads it: an image without a registry
#   host (`nginx`, `library/nginx:1.27`) comes from Docker Hub. Every problem of one image
#   is reported in a single finding at its `image` field, whose message names the image.
#
#   ## Why it matters
#   In the reference design, GitHub Actions builds the images and pushes them to ECR, which
#   scans them on push. An image from anywhere else skipped that build and that scan, and
#   its content is whatever its publisher (or an attacker who took over the publisher's
#   account or tag) pushed last. A moving tag such as `latest` means that two pods of the
#   same Deployment can run different code, that a rollback does not restore the old code,
#   and that the image that runs is not necessarily the one that was scanned. A digest, or a
#   version tag in a repository with immutable tags (BA211), names exactly one image.
#
#   ## How to fix
#   Push the image through the CI pipeline to the ECR registry and reference it by version
#   tag or digest:
#
#   ```yaml
#   image: 123456789012.dkr.ecr.eu-west-1.amazonaws.com/user:1.4.2
#   # or
#   image: 123456789012.dkr.ecr.eu-west-1.amazonaws.com/user@sha256:<64 hex digits>
#   ```
#
#   Third-party images (Traefik, cert-manager, …) can be mirrored into ECR with a pull
#   through cache rule.
#
#   ## References
#   - https://kubernetes.io/docs/concepts/containers/images/
#   - https://docs.aws.amazon.com/AmazonECR/latest/userguide/Registries.html
#   - https://docs.aws.amazon.com/AmazonECR/latest/userguide/image-tag-mutability.html
#   - https://docs.aws.amazon.com/AmazonECR/latest/userguide/pull-through-cache.html
#   - https://aws.github.io/aws-eks-best-practices/security/docs/image/
#   - https://media.defense.gov/2022/Aug/29/2003066362/-1/-1/0/CTR_KUBERNETES_HARDENING_GUIDANCE_1.2_20220829.PDF
# custom:
#   id: BA160
#   name: image-provenance
#   severity: medium
#   category: security
#   sources: [M, L, W]
#   kinds: [Pod, Deployment, StatefulSet, DaemonSet, ReplicaSet, ReplicationController, Job, CronJob]
#   remediation: Use images from the ECR registry, referenced by digest or by a version tag (never `latest` or no tag).
#   cwe: CWE-494
package blogaudit.BA160

import rego.v1

import data.blogaudit.lib.k8s
import data.blogaudit.lib.k8s.input_containers

ecr_host_pattern := `^[0-9]{12}\.dkr\.ecr(-fips)?\.[a-z0-9-]+\.amazonaws\.com(\.cn)?$`

label(c) := "init container" if c.type == "initContainers"

label(c) := "ephemeral container" if c.type == "ephemeralContainers"

label(c) := "container" if c.type == "containers"

# The configured registry host, without scheme or trailing slash ("" when unset).
configured_registry := trim_suffix(trim_prefix(lower(object.get(data.config, "registry", "")), "https://"), "/")

# One parse of an image reference: registry host, tag and digest (absent when missing).
# Computed once per image; the checks below only compare its fields.
parse(image) := info if {
	at = split(image, "@")
	segments = split(at[0], "/")
	first = segments[0]
	has_host = count(segments) > 1
	host_like = has_host_marker(first)
	last = split(segments[count(segments) - 1], ":")
	info = object.union(
		{"host": host_of(has_host, host_like, first)},
		object.union(tag_of(last), digest_of(at)),
	)
}

has_host_marker(segment) := true if contains(segment, ".")

else := true if contains(segment, ":")

else := true if segment == "localhost"

else := false

host_of(true, true, first) := lower(first)

host_of(true, false, _) := "docker.io"

host_of(false, _, _) := "docker.io"

# The tag is after the last `:` of the last path segment (a `:` earlier is a registry port).
tag_of(parts) := {"tag": parts[count(parts) - 1]} if count(parts) > 1

tag_of(parts) := {} if count(parts) <= 1

digest_of(at) := {"digest": at[1]} if count(at) > 1

digest_of(at) := {} if count(at) <= 1

pinned(info) if startswith(info.digest, "sha256:")

pinned(info) if {
	not info.digest
	info.tag
	info.tag != "latest"
}

trusted_registry(info) if {
	configured_registry != ""
	info.host == configured_registry
}

trusted_registry(info) if {
	configured_registry == ""
	regex.match(ecr_host_pattern, info.host)
}

# An else chain: each condition is checked once, and only until one holds.
registry_problems(info) := [] if {
	trusted_registry(info)
} else := [sprintf("it comes from %s, not the configured registry %s", [info.host, configured_registry])] if {
	configured_registry != ""
} else := [sprintf("it comes from %s, not a private ECR registry (<account>.dkr.ecr.<region>.amazonaws.com)", [info.host])]

pin_problems(info) := [] if {
	pinned(info)
} else := [sprintf("its digest %s is not a sha256 digest", [info.digest])] if {
	info.digest
} else := ["it uses the mutable tag latest"] if {
	info.tag == "latest"
} else := ["it is not pinned (no tag or digest means latest)"] if {
	not info.tag
}

subject := k8s.describe(input)

violation contains v if {
	some c in input_containers
	image = c.container.image
	is_string(image)
	info = parse(image)
	problems = array.concat(registry_problems(info), pin_problems(info))
	count(problems) > 0
	v = {
		"path": array.concat(c.path, ["image"]),
		"message": sprintf("image %q of %s %s in %s: %s", [image, label(c), c.display, subject, concat("; ", problems)]),
	}
}
