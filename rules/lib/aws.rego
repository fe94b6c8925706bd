# Helpers shared by the AWS rules: unknown values and lookups of canonical AWS objects.
package blogaudit.lib.aws

import rego.v1

# True when the loader could not know `field` of `obj`: the rule must not decide on it.
unknown(obj, field) if _ = obj.unknown[field]

# Every canonical object of `kind` (AWS objects live under namespace "").
objects(kind) := object.get(data.inventory.objects, [kind, ""], {})

# `object.get` that also treats an explicit null (a field the source leaves unset) as absent.
get(obj, key, fallback) := value if {
	value = object.get(obj, key, null)
	value != null
} else := fallback
