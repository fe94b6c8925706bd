//! Secrets never leave blogaudit: canary values planted in every place a secret can sit in
//! the inputs (Secret `data` and `stringData` of any shape, comments on those lines, a
//! Secret that does not parse, kustomize generator literals, Terraform provider keys and
//! variables) must appear in no output format, and in nothing printed on standard error.

mod common;

use std::path::Path;

use base64::Engine as _;

/// Distinct canaries, so a leak names the place it came from.
const CANARIES: &[(&str, &str)] = &[
    ("data", "CanaryDataValue7f3a"),
    ("stringData", "CanaryStringData9b1c"),
    ("stringData comment", "CanaryCommentOnSecretLine2d4e"),
    ("stringData block scalar", "CanaryBlockScalar5a6b"),
    ("stringData flow", "CanaryFlowMapping8c9d"),
    ("stringData list", "CanaryWrongTypeList1e2f"),
    ("last-applied", "CanaryLastApplied3g4h"),
    ("json data", "CanaryJsonSecret6i7j"),
    ("List item", "CanaryListItem0k1l"),
    ("broken Secret", "CanaryBrokenSecret2m3n"),
    ("kustomize literal", "CanaryKustomizeLiteral4o5p"),
    ("terraform access key", "AKIACANARYACCESSKEY01"),
    ("terraform secret key", "CanaryTerraformSecretKey6q7r"),
    ("tfvars", "CanaryTfvarsPassword8s9t"),
];

fn b64(s: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(s)
}

fn canary(place: &str) -> &'static str {
    CANARIES
        .iter()
        .find(|(p, _)| *p == place)
        .map(|(_, c)| *c)
        .expect("a canary for every place")
}

fn write(dir: &Path, rel: &str, text: &str) {
    let path = dir.join(rel);
    std::fs::create_dir_all(path.parent().expect("a parent")).expect("mkdir");
    std::fs::write(path, text).expect("write");
}

/// A tree with a canary in every place, next to objects that do give findings (so that
/// snippets, annotations and messages are written around them).
fn plant(dir: &Path) {
    let last_applied = format!(
        "{{\"apiVersion\":\"v1\",\"kind\":\"Secret\",\"stringData\":{{\"k\":\"{}\"}}}}",
        canary("last-applied")
    );
    write(
        dir,
        "k8s/secrets.yaml",
        &format!(
            r#"apiVersion: v1
kind: Secret
data:
  password: {data}
stringData:
  cert: |
    -----BEGIN-----
    {block}
    -----END-----
  flow: {{inner: {flow}}}
  token: {string} # {comment}
metadata:
  annotations: {{blogaudit.io/ignore: "BA110"}}
  name: app
  namespace: default
---
apiVersion: v1
kind: Secret
metadata:
  name: applied
  namespace: default
  annotations:
    kubectl.kubernetes.io/last-applied-configuration: '{last_applied}'
    blogaudit.io/ignore: "BA110"
---
apiVersion: v1
kind: Secret
metadata:
  name: wrong-type
  namespace: default
stringData: [{list}]
---
apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: default
spec:
  type: NodePort
  ports: [{{port: 80}}]
"#,
            data = b64(canary("data")),
            string = canary("stringData"),
            comment = canary("stringData comment"),
            block = canary("stringData block scalar"),
            flow = canary("stringData flow"),
            list = canary("stringData list"),
            last_applied = last_applied,
        ),
    );
    write(
        dir,
        "k8s/secret.json",
        &format!(
            r#"{{"apiVersion": "v1", "kind": "Secret", "metadata": {{"name": "j", "namespace": "default"}},
 "data": {{"key": "{}"}}}}
"#,
            b64(canary("json data"))
        ),
    );
    write(
        dir,
        "k8s/list.yaml",
        &format!(
            "apiVersion: v1\nkind: List\nitems:\n  - apiVersion: v1\n    kind: Secret\n    metadata: {{name: l, namespace: default}}\n    stringData:\n      key: {}\n",
            canary("List item")
        ),
    );
    write(
        dir,
        "k8s/broken.yaml",
        &format!(
            "apiVersion: v1\nkind: Secret\nmetadata:\n  name: broken\nstringData:\n  key: {}\n  bad: [unclosed\n",
            canary("broken Secret")
        ),
    );
    write(
        dir,
        "overlay/kustomization.yaml",
        &format!(
            "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnamespace: default\nresources:\n  - svc.yaml\nsecretGenerator:\n  - name: generated\n    literals:\n      - password={}\n",
            canary("kustomize literal")
        ),
    );
    write(
        dir,
        "overlay/svc.yaml",
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: overlay-web\nspec:\n  type: NodePort\n  ports: [{port: 80}]\n",
    );
    write(
        dir,
        "tf/main.tf",
        &format!(
            r#"provider "aws" {{
  region     = "eu-west-1"
  access_key = "{access}"
  secret_key = "{secret}"
}}

variable "db_password" {{
  type = string
}}

resource "aws_ecr_repository" "app" {{
  name                 = "app"
  image_tag_mutability = "MUTABLE"
  image_scanning_configuration {{
    scan_on_push = false
  }}
}}
"#,
            access = canary("terraform access key"),
            secret = canary("terraform secret key"),
        ),
    );
    write(
        dir,
        "tf/terraform.tfvars",
        &format!("db_password = \"{}\"\n", canary("tfvars")),
    );
}

#[test]
fn no_output_format_shows_a_planted_secret() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    plant(dir);
    let formats = [
        "human", "json", "sarif", "junit", "gitlab", "github", "markdown",
    ];
    let mut outputs = Vec::new();
    for format in formats {
        let run = common::run_blogaudit(
            dir,
            &[
                "scan",
                ".",
                "--format",
                format,
                "--verbose",
                "--timings",
                "--color",
                "always",
                "--fail-on",
                "never",
            ],
        );
        // The scan did run: the NodePort Service and the ECR repository are reported.
        assert!(
            run.stdout.contains("BA110") && run.stdout.contains("BA210"),
            "{format}: expected findings around the secrets\n{}",
            run.stdout
        );
        outputs.push((format!("{format} stdout"), run.stdout));
        outputs.push((format!("{format} stderr"), run.stderr));
    }
    let baseline = dir.join("baseline.json");
    let run = common::run_blogaudit(
        dir,
        &[
            "scan",
            ".",
            "--write-baseline",
            baseline.to_str().expect("utf-8"),
        ],
    );
    outputs.push(("--write-baseline".into(), run.stdout + &run.stderr));
    outputs.push((
        "the baseline file".into(),
        std::fs::read_to_string(&baseline).expect("the baseline is written"),
    ));
    let run = common::run_blogaudit(dir, &["scan", ".", "--fix=all", "--dry-run"]);
    outputs.push(("--fix --dry-run".into(), run.stdout + &run.stderr));
    let mut leaks = Vec::new();
    for (what, text) in &outputs {
        for (place, value) in CANARIES {
            for shown in [value.to_string(), b64(value)] {
                if text.contains(&shown) {
                    leaks.push(format!("{place} ({shown}) in {what}"));
                }
            }
        }
    }
    assert!(
        leaks.is_empty(),
        "secrets in the output:\n{}",
        leaks.join("\n")
    );
}
