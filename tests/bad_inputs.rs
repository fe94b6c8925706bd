//! The counted bad-input suite: hundreds of broken, hostile or odd inputs over every loader
//! (YAML, JSON, Kubernetes field types, HCL, plan JSON, kustomize, paths, config and rule files),
//! each scanned by the real binary beside a good manifest.
//!
//! Every case asserts: no panic and no signal; the run ends within [`harness::TIME_BOUND`] and
//! within [`harness::MEMORY_BOUND`] of address space (`prlimit --as`); an error diagnostic names
//! the file, the line (where one applies) and a reason; the good manifest beside it is still
//! checked (its finding is there); and the exit code is right (2 for broken input, 1 when the
//! odd input is fine and only has findings). The number of cases is printed.
//!
//! The cases are generated here from tables, so each states the line it expects.

#![cfg(target_os = "linux")]

#[path = "bad_inputs/harness.rs"]
mod harness;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use serde_json::Value;

/// What a case must give.
#[derive(Clone, Debug)]
enum Expect {
    /// Exit 2 and an error diagnostic with this code on this file, at this line when given.
    Error {
        code: &'static str,
        file: String,
        line: Option<u64>,
    },
    /// Exit 1 and a finding of this rule on this file at this line (odd but valid input).
    Finding {
        rule: &'static str,
        file: String,
        line: u64,
    },
}

struct Case {
    name: String,
    files: Vec<(String, Vec<u8>)>,
    /// Extra arguments after `scan . --format json`.
    args: Vec<String>,
    /// Whether `good.yaml` must still be checked (not when the config itself is broken, which
    /// stops the run before anything is scanned).
    good_checked: bool,
    expect: Expect,
}

fn error(
    name: impl Into<String>,
    file: &str,
    bytes: Vec<u8>,
    code: &'static str,
    line: Option<u64>,
) -> Case {
    Case {
        name: name.into(),
        files: vec![(file.to_string(), bytes)],
        args: Vec::new(),
        good_checked: true,
        expect: Expect::Error {
            code,
            file: file.to_string(),
            line,
        },
    }
}

/// A valid document that comes first in multi-document cases (6 lines with its `---`).
const PREFIX_DOC: &str =
    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: first\n  namespace: x\n---\n";

/// Broken YAML: text and the line of the error.
const YAML_SYNTAX: &[(&str, u64)] = &[
    ("a: 'unclosed\n", 1),
    ("a: \"unclosed\n", 1),
    ("a: [1, 2\n", 2),
    ("a: {b: 1\n", 2),
    ("a:\n  b: 1\n c: 2\n", 3),
    ("a: 1\na: 2\n", 2),
    ("a:\n  x: 1\n  x: 2\n", 3),
    ("a: *nothing\n", 1),
    ("a: b: c\n", 1),
    ("- a\nb: 1\n", 2),
    ("a: 1\n- b\n", 2),
    ("? [a, b]\n: 1\n", 1),
    ("a: !!int x\n", 1),
    ("a: !!float x\n", 1),
    ("a: !!bool maybe\n", 1),
    ("a: !!null x\n", 1),
    ("a: !!binary '***'\n", 1),
    ("a: !!binary /w==\n", 1),
    ("a: !custom x\n", 1),
    ("a: !!timestamp 2001-12-14\n", 1),
    ("a: !!set {x: null}\n", 1),
    ("a: !!omap [x: 1]\n", 1),
    ("b:\n  x: 1\n  <<: 3\n", 3),
    ("b:\n  <<: [1, 2]\n", 2),
    ("a: |\n  text\n bad\n", 3),
    ("a: >\n  text\n b: 1\n", 3),
    ("a: @reserved\n", 1),
    ("a: `reserved\n", 1),
    ("a: [}\n", 1),
    ("{a: 1}}\n", 1),
    ("&a [*a]\n", 1),
];

/// Broken JSON: text and the line of the error.
const JSON_SYNTAX: &[(&str, u64)] = &[
    ("{\"apiVersion\": \"v1\",\n \"kind\": \"Service\"\n", 3),
    ("{\"a\": [1, 2}\n", 1),
    ("{\"a\": \"unclosed}\n", 1),
    ("{\"a\": 1,\n \"a\": 2}\n", 2),
    ("[\n1,\n2\n", 4),
    ("{\"a\":\n\n\n  [1, 2, {]}\n", 4),
    ("{\"a\": 1} }\n", 1),
    ("{\n  \"a\": \"\\t\" ,\n  \"b\": [ , ]\n}\n", 3),
    ("{\"a\": @}\n", 1),
];

/// A Deployment with every field the type check knows, one per line, and its pod spec fields.
/// `{F}` is replaced by the field under test.
fn deployment_with(field_lines: &str) -> String {
    format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: x\nspec:\n  selector: {{matchLabels: {{app: web}}}}\n  template:\n    metadata: {{labels: {{app: web}}}}\n    spec:\n{field_lines}"
    )
}

/// Fields at the pod spec (indent 6, line 11) with a wrong value each.
const POD_SPEC_WRONG: &[(&str, &[&str])] = &[
    ("containers", &["\"x\"", "5", "{a: b}", "true"]),
    ("initContainers", &["\"x\"", "{a: b}"]),
    ("ephemeralContainers", &["\"x\"", "7"]),
    ("volumes", &["\"x\"", "{a: b}"]),
    ("hostNetwork", &["\"yes please\"", "[true]", "1"]),
    ("hostPID", &["\"x\"", "{a: b}"]),
    ("hostIPC", &["\"x\"", "[1]"]),
    ("serviceAccountName", &["[a]", "{a: b}"]),
    ("automountServiceAccountToken", &["\"x\"", "[true]"]),
    ("securityContext", &["\"x\"", "[a]", "5"]),
];

/// Fields of the first container (indent 8, line 13) with a wrong value each.
const CONTAINER_WRONG: &[(&str, &[&str])] = &[
    ("image", &["[a]", "{a: b}", "5"]),
    ("securityContext", &["\"x\"", "[a]"]),
    ("resources", &["\"x\"", "[a]"]),
    ("ports", &["\"x\"", "{a: b}"]),
    ("env", &["\"x\"", "{a: b}"]),
    ("volumeMounts", &["\"x\"", "5"]),
];

/// Fields of the first container's securityContext (indent 10, line 14).
const SECURITY_CONTEXT_WRONG: &[(&str, &[&str])] = &[
    ("privileged", &["\"x\"", "[true]", "1"]),
    ("allowPrivilegeEscalation", &["\"x\"", "{a: b}"]),
    ("readOnlyRootFilesystem", &["\"x\"", "[1]"]),
    ("runAsNonRoot", &["\"x\"", "0"]),
    ("runAsUser", &["\"x\"", "1.5", "[0]"]),
    ("capabilities", &["\"x\"", "[ALL]"]),
];

/// Other kinds: a manifest with one wrong field, and its line.
const KIND_WRONG: &[(&str, u64)] = &[
    ("apiVersion: v1\nkind: Service\nmetadata:\n  name: s\n  namespace: x\nspec:\n  type: [NodePort]\n", 7),
    ("apiVersion: v1\nkind: Service\nmetadata:\n  name: s\n  namespace: x\nspec:\n  ports: {a: b}\n", 7),
    ("apiVersion: v1\nkind: Service\nmetadata:\n  name: s\n  namespace: x\nspec: \"x\"\n", 6),
    ("apiVersion: v1\nkind: Service\nmetadata:\n  name: s\n  namespace: x\nspec:\n  selector: [a]\n", 7),
    ("apiVersion: v1\nkind: Service\nmetadata:\n  name: [s]\n  namespace: x\n", 4),
    ("apiVersion: v1\nkind: Service\nmetadata:\n  name: s\n  namespace: {x: 1}\n", 5),
    ("apiVersion: v1\nkind: Service\nmetadata: \"x\"\n", 3),
    ("apiVersion: v1\nkind: Service\nmetadata:\n  name: s\n  namespace: x\n  labels: [a]\n", 6),
    ("apiVersion: v1\nkind: Service\nmetadata:\n  name: s\n  namespace: x\n  labels:\n    a: [b]\n", 7),
    ("apiVersion: v1\nkind: Service\nmetadata:\n  name: s\n  namespace: x\n  annotations:\n    a: {b: c}\n", 7),
    ("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n  namespace: x\ndata: [a]\n", 6),
    ("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n  namespace: x\ndata:\n  a: {b: c}\n", 7),
    ("apiVersion: v1\nkind: Secret\nmetadata:\n  name: c\n  namespace: x\nstringData: [canary]\n", 6),
    ("apiVersion: v1\nkind: Secret\nmetadata:\n  name: c\n  namespace: x\ndata: 5\n", 6),
    ("apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata:\n  name: r\n  namespace: x\nrules: \"x\"\n", 6),
    ("apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: r\nrules:\n- \"x\"\n", 6),
    ("apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata:\n  name: r\n  namespace: x\nsubjects: {a: b}\n", 6),
    ("apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata:\n  name: r\nroleRef: [a]\n", 5),
    ("apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata:\n  name: i\n  namespace: x\nspec:\n  rules: \"x\"\n", 7),
    ("apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata:\n  name: i\n  namespace: x\nspec:\n  tls: {a: b}\n", 7),
    ("apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: n\n  namespace: x\nspec:\n  podSelector: [a]\n", 7),
    ("apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: n\n  namespace: x\nspec:\n  ingress: {a: b}\n", 7),
    ("apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  namespace: x\nspec:\n  containers: \"x\"\n", 7),
    ("apiVersion: batch/v1\nkind: CronJob\nmetadata:\n  name: c\n  namespace: x\nspec:\n  schedule: \"* * * * *\"\n  jobTemplate:\n    spec:\n      template:\n        spec:\n          containers: 5\n", 12),
    ("apiVersion: batch/v1\nkind: CronJob\nmetadata:\n  name: c\n  namespace: x\nspec:\n  jobTemplate: \"x\"\n", 7),
    ("apiVersion: apps/v1\nkind: StatefulSet\nmetadata:\n  name: s\n  namespace: x\nspec:\n  template:\n    spec: [a]\n", 8),
    ("apiVersion: apps/v1\nkind: DaemonSet\nmetadata:\n  name: d\n  namespace: x\nspec:\n  template: \"x\"\n", 7),
    ("apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: j\n  namespace: x\nspec:\n  template:\n    spec:\n      initContainers:\n      - \"x\"\n", 10),
];

/// Broken HCL: text and the line of the error.
const HCL_SYNTAX: &[(&str, u64)] = &[
    ("resource \"aws_s3_bucket\" \"b\" {\n  bucket = \n}\n", 2),
    ("resource \"aws_s3_bucket\" \"b\" {\n  bucket = \"x\"\n", 2),
    ("resource \"aws_s3_bucket\" {\n", 1),
    ("locals {\n  a = [1, 2\n}\n", 3),
    ("locals {\n  a = {b = }\n}\n", 2),
    ("locals {\n  a = \"${\"\n}\n", 2),
    ("locals {\n  a = \"unclosed\n}\n", 2),
    ("variable \"x\" {\n  default = 1 +\n}\n", 2),
    ("}\n", 1),
    ("resource \"a\" \"b\" \"c\" \"d\" { = 1 }\n", 1),
    ("locals {\n  a = <<EOT\nno end\n}\n", 3),
    ("locals {\n  a = 1\n  b = 2 3\n}\n", 3),
    ("module \"m\" {\n  source = ./m\n}\n", 2),
    ("output \"o\" {\n  value = [for x in : x]\n}\n", 2),
    ("locals {\n  a = a ? : 1\n}\n", 2),
    (
        "data \"aws_iam_policy_document\" \"p\" {\n  statement {\n",
        2,
    ),
    ("locals { a = \"\\q\" }\n", 1),
    ("locals {\n  🙂 = 1\n}\n", 2),
];

/// Broken plan JSON: text and the line of the error.
const PLAN_BROKEN: &[(&str, u64)] = &[
    ("{\"format_version\": \"1.2\", \"planned_values\": {\n", 2),
    ("{\"format_version\": \"1.2\",\n \"planned_values\": {\"root_module\": [}\n}\n", 2),
    ("{\"format_version\": \"1.2\",\n \"planned_values\":\n {\"root_module\": {\"resources\": [1, }}\n", 3),
    ("{\"format_version\": \"1.2\", \"planned_values\": {}}\n}\n", 2),
    ("{\"format_version\": \"1.2\",\n\"planned_values\": {\"root_module\": {\"resources\": [{\"address\": \"a\",]}}}\n", 2),
    // Valid JSON, but not what terraform writes: never read as an empty plan.
    ("{\"format_version\": \"1.2\",\n\"planned_values\": {\"root_module\":\n {\"resources\": \"x\"}}}\n", 3),
    ("{\"format_version\": \"1.2\",\n\"planned_values\": {\"root_module\": {\"resources\": [\n{\"mode\": \"managed\", \"type\": \"aws_ecr_repository\"}]}}}\n", 3),
    ("{\"format_version\": \"1.2\",\n\"planned_values\": {\"root_module\": {\"resources\": [],\n\"child_modules\": [5]}}}\n", 3),
    ("{\"format_version\": \"1.2\",\n\"planned_values\": {\"root_module\": {\"child_modules\": {}}}}\n", 2),
];

/// Broken configuration files: text and the line of the error.
const CONFIG_BROKEN: &[(&str, u64)] = &[
    ("[rules]\ndisable = [\n", 3),
    ("[rules\n", 1),
    ("x = \n", 1),
    ("[rules]\ndisable = \"BA101\"\n", 2),
    ("[rules]\nseverity = 5\n", 2),
    ("[rules]\nunknown_key = 1\n", 2),
    ("[[allow.services]]\nnamespace = 5\n", 2),
    ("= 1\n", 1),
    ("[rules]\n[rules]\n", 2),
    ("a = \"unclosed\n", 1),
    ("nonsense_top_level = true\n", 1),
    ("[rules]\ndisable = [1, 2]\n", 2),
];

/// Broken user rule files: text, the line of the error (1 when the whole file is at fault, the
/// METADATA line at fault otherwise).
const RULE_BROKEN: &[(&str, u64)] = &[
    ("package blogaudit.BA903\nviolation contains v if {\n", 1),
    ("", 1),
    ("# METADATA\n# title: x\npackage blogaudit.BA903\n", 2),
    ("\u{0}\u{1}\u{2}", 1),
    ("# METADATA\n# title: [\npackage blogaudit.BA903\n", 3),
];

/// Kustomizations that cannot be rendered: text.
const KUSTOMIZE_BROKEN: &[&str] = &[
    "resources:\n- missing.yaml\n",
    "resources: [\n",
    "resources:\n- ../../../../../../etc\n",
    "bases: 5\n",
    "patches:\n- path: nowhere.yaml\n",
    "resources:\n- https://example.invalid/x.yaml\n",
    "components:\n- none\n",
    "configMapGenerator:\n- name: x\n  files:\n  - missing.txt\n",
];

/// A file name that is odd but valid: the good manifest under it still gives its finding there.
const ODD_NAMES: &[&str] = &[
    "back\\slash.yaml",
    "with space.yaml",
    "ünïcødé.yaml",
    "-leading-dash.yaml",
    "semi;colon.yaml",
    "quote'name.yaml",
    "dquote\"name.yaml",
    "percent%25.yaml",
    "comma,name.yaml",
    "colon:name.yaml",
    "hash#name.yaml",
    "deep/a/b/c/d/e/f/g/h/i/j/k/l/m.yaml",
    "dots..yaml",
    "name.yml",
];

/// A Service (BA110 at line 7) in a YAML file.
const SERVICE: &str = harness::GOOD;

fn cases() -> Vec<Case> {
    let mut out = Vec::new();
    // YAML syntax: alone, after a valid document, as .yml.
    for (i, (text, line)) in YAML_SYNTAX.iter().enumerate() {
        out.push(error(
            format!("yaml-{i}"),
            "bad.yaml",
            text.as_bytes().to_vec(),
            "yaml-syntax",
            Some(*line),
        ));
        out.push(error(
            format!("yaml-{i}-second-document"),
            "bad.yaml",
            format!("{PREFIX_DOC}{text}").into_bytes(),
            "yaml-syntax",
            Some(line + 6),
        ));
        out.push(error(
            format!("yaml-{i}-yml"),
            "bad.yml",
            text.as_bytes().to_vec(),
            "yaml-syntax",
            Some(*line),
        ));
    }
    for (i, (text, line)) in JSON_SYNTAX.iter().enumerate() {
        out.push(error(
            format!("json-{i}"),
            "bad.json",
            text.as_bytes().to_vec(),
            "yaml-syntax",
            Some(*line),
        ));
    }
    // Encodings and bytes.
    out.push(error(
        "not-utf8",
        "bad.yaml",
        b"a: \xff\xfe\n".to_vec(),
        "not-utf8",
        Some(1),
    ));
    out.push(error(
        "not-utf8-line-3",
        "bad.yaml",
        b"a: 1\nb: 2\nc: \xc3\x28\n".to_vec(),
        "not-utf8",
        Some(3),
    ));
    out.push(error(
        "nul-byte",
        "bad.yaml",
        b"a: 1\0\n".to_vec(),
        "binary-file",
        None,
    ));
    out.push(error(
        "utf16",
        "bad.yaml",
        b"\xff\xfea\0:\0 \x001\0".to_vec(),
        "binary-file",
        None,
    ));
    // Hostile sizes and shapes.
    out.push(error(
        "deep-flow",
        "bad.yaml",
        format!("{}{}", "[".repeat(100_000), "]".repeat(100_000)).into_bytes(),
        "yaml-syntax",
        Some(1),
    ));
    out.push(error(
        "deep-block",
        "bad.yaml",
        (0..400)
            .map(|i| format!("{}k{i}:\n", " ".repeat(i)))
            .collect::<String>()
            .into_bytes(),
        "yaml-syntax",
        Some(257),
    ));
    let mut bomb = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 1..12 {
        bomb.push_str(&format!(
            "a{i}: &a{i} [{}]\n",
            vec![format!("*a{}", i - 1); 10].join(", ")
        ));
    }
    out.push(error(
        "alias-bomb",
        "bad.yaml",
        bomb.into_bytes(),
        "yaml-syntax",
        Some(5),
    ));
    let mut big_alias = format!("a: &big \"{}\"\n", "x".repeat(1 << 20));
    for i in 0..2000 {
        big_alias.push_str(&format!("k{i}: *big\n"));
    }
    out.push(error(
        "alias-to-large-scalar",
        "bad.yaml",
        big_alias.into_bytes(),
        "yaml-syntax",
        Some(10),
    ));
    // Wrong types at known fields.
    for (field, values) in POD_SPEC_WRONG {
        for (j, v) in values.iter().enumerate() {
            let text = deployment_with(&format!("      {field}: {v}\n"));
            out.push(error(
                format!("type-podspec-{field}-{j}"),
                "bad.yaml",
                text.into_bytes(),
                "invalid-field",
                Some(11),
            ));
        }
    }
    for (field, values) in CONTAINER_WRONG {
        for (j, v) in values.iter().enumerate() {
            let text = deployment_with(&format!(
                "      containers:\n      - name: a\n        {field}: {v}\n"
            ));
            out.push(error(
                format!("type-container-{field}-{j}"),
                "bad.yaml",
                text.into_bytes(),
                "invalid-field",
                Some(13),
            ));
        }
    }
    for (field, values) in SECURITY_CONTEXT_WRONG {
        for (j, v) in values.iter().enumerate() {
            let text = deployment_with(&format!(
                "      containers:\n      - name: a\n        securityContext:\n          {field}: {v}\n"
            ));
            out.push(error(
                format!("type-sc-{field}-{j}"),
                "bad.yaml",
                text.into_bytes(),
                "invalid-field",
                Some(14),
            ));
        }
    }
    for (i, (text, line)) in KIND_WRONG.iter().enumerate() {
        out.push(error(
            format!("type-kind-{i}"),
            "bad.yaml",
            text.as_bytes().to_vec(),
            "invalid-field",
            Some(*line),
        ));
    }
    // Terraform.
    for (i, (text, line)) in HCL_SYNTAX.iter().enumerate() {
        out.push(error(
            format!("hcl-{i}"),
            "main.tf",
            text.as_bytes().to_vec(),
            "terraform-syntax",
            Some(*line),
        ));
    }
    let budget = |name: &str, text: String, line: u64| {
        error(
            name,
            "main.tf",
            text.into_bytes(),
            "terraform-budget",
            Some(line),
        )
    };
    out.push(budget(
        "tf-nested-for",
        "locals {\n  a = [for i in range(1000) : i]\n  b = length(flatten([for i in local.a : [for j in local.a : [for k in local.a : \"x\"]]]))\n}\nresource \"aws_s3_bucket\" \"b\" {\n  bucket = \"b-${local.b}\"\n}\n".into(),
        3,
    ));
    out.push(budget(
        "tf-count-over",
        "resource \"aws_s3_bucket\" \"b\" {\n  count  = 5000\n  bucket = \"b\"\n}\n".into(),
        2,
    ));
    out.push(budget(
        "tf-count-huge",
        "resource \"aws_s3_bucket\" \"b\" {\n  count  = 1e15\n  bucket = \"b\"\n}\n".into(),
        2,
    ));
    out.push(budget(
        "tf-for-each-over",
        "resource \"aws_s3_bucket\" \"b\" {\n  for_each = toset(flatten([for i in range(5) : [for j in range(1000) : \"${i}-${j}\"]]))\n  bucket   = each.key\n}\n".into(),
        2,
    ));
    let mut doubling = String::from("locals {\n  s0 = \"xxxxxxxxxxxxxxxx\"\n");
    for i in 1..=25 {
        doubling.push_str(&format!(
            "  s{i} = \"${{local.s{p}}}${{local.s{p}}}\"\n",
            p = i - 1
        ));
    }
    doubling.push_str("}\nresource \"aws_s3_bucket\" \"b\" {\n  bucket = local.s25\n}\n");
    let mut c = budget("tf-string-doubling", doubling, 0);
    c.expect = Expect::Error {
        code: "terraform-budget",
        file: "main.tf".into(),
        line: None,
    };
    out.push(c);
    let mut module = error(
        "tf-module-count-times-count",
        "main.tf",
        b"module \"m\" {\n  source = \"./m\"\n  count  = 300\n}\n".to_vec(),
        "terraform-budget",
        Some(2),
    );
    module.files.push(("m/main.tf".into(), b"resource \"aws_s3_bucket\" \"b\" {\n  count  = 4000\n  bucket = \"b-${count.index}\"\n}\n".to_vec()));
    module.expect = Expect::Error {
        code: "terraform-budget",
        file: "m/main.tf".into(),
        line: Some(2),
    };
    out.push(module);
    out.push(error(
        "tf-missing-module",
        "main.tf",
        b"module \"net\" {\n  source = \"./modules/net\"\n}\n".to_vec(),
        "terraform-module",
        Some(2),
    ));
    let mut big_tf = String::new();
    let mut i = 0;
    while big_tf.len() < 5 << 20 {
        big_tf.push_str(&format!(
            "resource \"aws_s3_bucket\" \"b{i}\" {{\n  bucket = \"bucket-{i}\"\n}}\n"
        ));
        i += 1;
    }
    out.push(error(
        "tf-too-large",
        "big.tf",
        big_tf.into_bytes(),
        "too-large",
        Some(1),
    ));
    out.push(error(
        "tf-not-utf8",
        "main.tf",
        b"locals {\n  a = \"\xff\"\n}\n".to_vec(),
        "not-utf8",
        None,
    ));
    for (i, (text, line)) in PLAN_BROKEN.iter().enumerate() {
        out.push(error(
            format!("plan-{i}"),
            "plan.json",
            text.as_bytes().to_vec(),
            "terraform-plan",
            Some(*line),
        ));
    }
    // Configuration: the run stops at a broken config, with its line.
    for (i, (text, line)) in CONFIG_BROKEN.iter().enumerate() {
        let mut c = error(
            format!("config-{i}"),
            "blogaudit.toml",
            text.as_bytes().to_vec(),
            "config",
            Some(*line),
        );
        c.good_checked = false;
        out.push(c);
    }
    // User rules.
    for (i, (text, line)) in RULE_BROKEN.iter().enumerate() {
        let mut c = error(
            format!("rule-{i}"),
            "my-rules/BA903-broken/rule.rego",
            text.as_bytes().to_vec(),
            "rule-error",
            Some(*line),
        );
        c.args = vec!["--rules".into(), "my-rules".into()];
        out.push(c);
    }
    // Brackets nested deep enough to make the Rego parser take exponential time (a fuzzer
    // found it): refused at the bracket, in well under the bound, closed or not.
    let head = "# METADATA\n# title: Deep\n# description: |\n#   ## What it checks\n#   x\n#   ## Why it matters\n#   x\n#   ## How to fix\n#   x\n#   ## References\n#   - https://example.com\n# custom:\n#   id: BA903\n#   name: deep\n#   severity: low\n#   category: security\n#   sources: [M]\n#   kinds: [ConfigMap]\n#   remediation: x\npackage blogaudit.BA903\n\nimport rego.v1\n\n";
    for (name, body) in [
        ("unclosed", format!("x := f({}1\n", "[".repeat(40))),
        (
            "closed",
            format!("x := {}1{}\n", "[".repeat(40), "]".repeat(40)),
        ),
        (
            "parentheses",
            format!("x := {}1{}\n", "(".repeat(200), ")".repeat(200)),
        ),
    ] {
        let mut c = error(
            format!("rule-deep-{name}"),
            "my-rules/BA903-deep/rule.rego",
            format!("{head}{body}").into_bytes(),
            "rule-error",
            Some(24),
        );
        c.args = vec!["--rules".into(), "my-rules".into()];
        out.push(c);
    }
    // Kustomize.
    for (i, text) in KUSTOMIZE_BROKEN.iter().enumerate() {
        out.push(error(
            format!("kustomize-{i}"),
            "app/kustomization.yaml",
            text.as_bytes().to_vec(),
            "kustomize",
            None,
        ));
    }
    // Odd but valid names: the manifest under them is checked and named as it is.
    for (i, name) in ODD_NAMES.iter().enumerate() {
        out.push(Case {
            name: format!("name-{i}"),
            files: vec![((*name).to_string(), SERVICE.as_bytes().to_vec())],
            args: Vec::new(),
            good_checked: true,
            expect: Expect::Finding {
                rule: "BA110",
                file: (*name).to_string(),
                line: 7,
            },
        });
    }
    out
}

/// Runs one case; `Err` says what went wrong.
fn run(case: &Case) -> Result<(), String> {
    let files: Vec<(&str, Vec<u8>)> = case
        .files
        .iter()
        .map(|(n, b)| (n.as_str(), b.clone()))
        .collect();
    let dir = harness::tree(&files);
    let args: Vec<&str> = case.args.iter().map(String::as_str).collect();
    let (exit, report, _) = std::panic::catch_unwind(|| harness::scan_with(dir.path(), &args))
        .map_err(|e| {
            e.downcast_ref::<String>()
                .cloned()
                .or_else(|| e.downcast_ref::<&str>().map(|s| (*s).to_string()))
                .unwrap_or_default()
        })?;
    let diags = report["diagnostics"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let findings = report["findings"].as_array().cloned().unwrap_or_default();
    let show = || format!("exit {exit}; diagnostics: {}", Value::Array(diags.clone()));
    match &case.expect {
        Expect::Error { code, file, line } => {
            let hit = diags.iter().any(|d| {
                d["code"] == *code
                    && d["file"] == file.as_str()
                    && d["level"] == "error"
                    && d["message"].as_str().is_some_and(|m| !m.trim().is_empty())
                    && line.is_none_or(|l| d["pos"]["line"] == l)
            });
            if !hit {
                return Err(format!("no `{code}` error on {file}:{line:?}; {}", show()));
            }
            if exit != 2 {
                return Err(format!("exit code {exit}, not 2; {}", show()));
            }
        }
        Expect::Finding { rule, file, line } => {
            let hit = findings.iter().any(|f| {
                f["rule_id"] == *rule && f["file"] == file.as_str() && f["start_line"] == *line
            });
            if !hit {
                return Err(format!(
                    "no {rule} on {file}:{line}; {}",
                    Value::Array(findings.clone())
                ));
            }
            if exit != 1 {
                return Err(format!("exit code {exit}, not 1; {}", show()));
            }
        }
    }
    if case.good_checked {
        let good = findings
            .iter()
            .any(|f| f["rule_id"] == "BA110" && f["file"] == "good.yaml" && f["start_line"] == 7);
        if !good {
            return Err(format!(
                "the good manifest beside it was not checked; {}",
                show()
            ));
        }
    }
    let text = report.to_string();
    if text.contains("canary") {
        return Err("a Secret value reached the report".into());
    }
    Ok(())
}

#[test]
fn every_bad_input_gives_a_diagnostic_and_the_rest_goes_on() {
    let cases = cases();
    let names: std::collections::BTreeSet<&str> = cases.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names.len(), cases.len(), "case names are distinct");
    let next = AtomicUsize::new(0);
    let failures = Mutex::new(Vec::new());
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get().min(4));
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                let Some(case) = cases.get(i) else { break };
                if let Err(e) = run(case) {
                    failures.lock().expect("failures").push(format!(
                        "{}: {}",
                        case.name,
                        e.chars().take(1500).collect::<String>()
                    ));
                }
            });
        }
    });
    let failures = failures.into_inner().expect("failures");
    println!(
        "bad-input suite: {} cases, {} failed",
        cases.len(),
        failures.len()
    );
    eprintln!(
        "bad-input suite: {} cases, {} failed",
        cases.len(),
        failures.len()
    );
    assert!(cases.len() >= 200, "the suite has {} cases", cases.len());
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n\n")
    );
}
