# Helpers shared by the Kubernetes rules: where a workload keeps its pod spec and containers,
# label-selector semantics, and namespace-scoped lookups in the inventory.
package blogaudit.lib.k8s

import rego.v1

workload_kinds := {"Pod", "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob", "ReplicationController"}

template_kinds := {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "ReplicationController"}

is_workload(obj) if obj.kind in workload_kinds

pod_spec_path(obj) := ["spec"] if obj.kind == "Pod"

pod_spec_path(obj) := ["spec", "template", "spec"] if obj.kind in template_kinds

pod_spec_path(obj) := ["spec", "jobTemplate", "spec", "template", "spec"] if obj.kind == "CronJob"

pod_labels_path(obj) := ["metadata", "labels"] if obj.kind == "Pod"

pod_labels_path(obj) := ["spec", "template", "metadata", "labels"] if obj.kind in template_kinds

pod_labels_path(obj) := ["spec", "jobTemplate", "spec", "template", "metadata", "labels"] if obj.kind == "CronJob"

pod_spec(obj) := object.get(obj, pod_spec_path(obj), {})

pod_labels(obj) := object.get(obj, pod_labels_path(obj), {})

container_fields := ["initContainers", "containers", "ephemeralContainers"]

# How a message names a container: its quoted name, or its place in the pod spec when it has
# none (`containers[1] (no name)`), so that a finding is never lost to a missing `name`.
container_display(container, field, i) := sprintf("%q", [container.name]) if {
	_ = container.name
} else := sprintf("%s[%d] (no name)", [field, i])

containers(obj) := {c |
	spec_path = pod_spec_path(obj)
	spec = pod_spec(obj)
	some field in container_fields
	some i, container in object.get(spec, field, [])
	c = {
		"container": container,
		"display": container_display(container, field, i),
		"path": array.concat(spec_path, [field, i]),
		"type": field,
	}
}

# `data.inventory`, looked up once per evaluation: a rule's value is cached, while every
# `data.` reference in a function body is resolved again.
inventory := data.inventory

# Kinds that are not namespaced come from the engine's own list (model::CLUSTER_SCOPED), so
# rules and the inventory agree on where an object lives.
cluster_scoped(obj) if inventory.cluster_scoped_kinds[obj.kind]

namespace(obj) := "" if {
	inventory.cluster_scoped_kinds[obj.kind] # cluster_scoped(obj), inlined: a call costs more than the test
} else := object.get(obj, ["metadata", "namespace"], "default")

name(obj) := object.get(obj, ["metadata", "name"], "<unnamed>")

describe(obj) := text if {
	ns = namespace(obj)
	text = describe_in(obj.kind, ns, name(obj))
}

describe_in(kind, "", n) := sprintf("%s %s", [kind, n])

describe_in(kind, ns, n) := sprintf("%s %s/%s", [kind, ns, n]) if ns != ""

objects(kind, ns) := object.get(inventory.objects, [kind, ns], {})

# Kubernetes LabelSelector semantics: every matchLabels entry and every matchExpressions
# requirement must hold. An empty selector ({}) selects every object.
selects(selector, labels) if {
	every k, v in object.get(selector, "matchLabels", {}) {
		labels[k] == v
	}
	every expr in object.get(selector, "matchExpressions", []) {
		expression_holds(expr, labels)
	}
}

expression_holds(expr, labels) if {
	expr.operator == "In"
	labels[expr.key] in expr.values
}

expression_holds(expr, labels) if {
	expr.operator == "NotIn"
	not labels[expr.key] in object.get(expr, "values", [])
}

expression_holds(expr, labels) if {
	expr.operator == "Exists"
	_ = labels[expr.key]
}

expression_holds(expr, labels) if {
	expr.operator == "DoesNotExist"
	not has_key(labels, expr.key)
}

has_key(obj, key) if _ = obj[key]

# A Service-style selector (a plain map of labels) selects when every entry matches. An empty
# or absent Service selector selects nothing.
map_selects(selector, labels) if {
	count(selector) > 0
	every k, v in selector {
		labels[k] == v
	}
}

# The pod spec of `input` and its path, computed once per evaluation (a rule's value is cached,
# a function's is re-evaluated at every call).
#
# Cost: each rule that an evaluation reads costs about as much as a few tests, so these rules
# read as few other rules as they can (the kinds are spelled out rather than read from
# `template_kinds`, the alternatives are one else chain). Referencing one rule through the
# package (`k8s.input_containers`) evaluates every rule of the package; a rule file that imports
# the rule itself (`import data.blogaudit.lib.k8s.input_containers`) evaluates only that one.
input_pod_spec_path := ["spec", "template", "spec"] if {
	# template_kinds
	input.kind in {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "ReplicationController"}
} else := ["spec"] if {
	input.kind == "Pod"
} else := ["spec", "jobTemplate", "spec", "template", "spec"] if {
	input.kind == "CronJob"
}

input_pod_spec := object.get(input, input_pod_spec_path, {})

# The containers of `input`, as containers(input) gives them: rules should iterate this rather
# than call containers(input).
input_containers := {c |
	spec_path = input_pod_spec_path
	spec = object.get(input, spec_path, {})
	some field in ["initContainers", "containers", "ephemeralContainers"] # container_fields
	some i, container in object.get(spec, field, [])
	c = {
		"container": container,
		"display": container_display(container, field, i),
		"path": array.concat(spec_path, [field, i]),
		"type": field,
	}
}
