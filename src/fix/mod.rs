//! Mechanical fixes: the one place that turns a finding's [`Fix`](crate::model::Fix) into a
//! text edit of its file, in that file's own syntax.
//!
//! SARIF describes these edits (`fixes`) and `blogaudit scan --fix` applies them; both call
//! [`edit`], so what a reviewer sees in code scanning is what `--fix` writes. YAML and JSON
//! edits ([`yaml`]) keep comments, key order, quoting, indentation and the other documents of
//! the file; Terraform edits ([`hcl`]) replace the value of one attribute and keep its
//! alignment. [`apply`] applies several edits of one file from the end backwards, and [`run`]
//! is the whole `--fix` command: scan, edit, write atomically, scan again.

pub mod diff;
pub mod hcl;
pub mod yaml;

use std::cell::OnceCell;

use crate::model::{Finding, Location};
use crate::model::{PathSeg, Pos};
use crate::syntax::position::LineIndex;

/// One text edit of a file: replace `start..end` (bytes) with `text`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Edit {
    /// Byte range of the text replaced (empty for an insertion).
    pub start: usize,
    pub end: usize,
    /// The same range as 1-based line and code-point column (SARIF `deletedRegion`).
    pub from: Pos,
    pub to: Pos,
    /// The new text.
    pub text: String,
    /// `Set /spec/type to ClusterIP`.
    pub description: String,
}

/// Why a finding's fix cannot be written as an edit.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Skip(pub String);

fn skip(reason: impl Into<String>) -> Skip {
    Skip(reason.into())
}

/// The syntax a fix is written in, from the file it goes into.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Syntax {
    Yaml,
    Json,
    Hcl,
}

impl Syntax {
    /// The syntax of a file, from its name.
    #[must_use]
    pub fn of(path: &str) -> Self {
        let lower = path.to_ascii_lowercase();
        if lower.ends_with(".tf") {
            Self::Hcl
        } else if lower.ends_with(".json") {
            Self::Json
        } else {
            Self::Yaml
        }
    }
}

/// A file's text made ready for many edits: its line index, and its YAML documents parsed
/// once, on the first edit that needs them, with the objects they declare indexed by kind and
/// name. The edits of a large file then cost one parse, not one each (the SARIF fixes of a
/// file, a `--fix` pass).
pub struct FileText<'t> {
    text: &'t str,
    lines: LineIndex,
    crlf: bool,
    yaml: OnceCell<yaml::Parsed>,
}

impl<'t> FileText<'t> {
    #[must_use]
    pub fn new(text: &'t str) -> Self {
        Self {
            text,
            lines: LineIndex::new(text),
            crlf: text.contains("\r\n"),
            yaml: OnceCell::new(),
        }
    }

    /// The text.
    #[must_use]
    pub fn text(&self) -> &'t str {
        self.text
    }

    /// The byte offset of a position.
    fn offset(&self, p: Pos) -> usize {
        self.lines.offset(self.text, p.line, p.column)
    }

    fn yaml(&self) -> &yaml::Parsed {
        self.yaml.get_or_init(|| yaml::Parsed::new(self.text))
    }
}

/// The edit that fixes `f` in `text` (the current content of the finding's file).
///
/// # Errors
/// A [`Skip`] with the reason when the fix cannot be written mechanically: a plan JSON, an
/// alias, a value Terraform computes, a missing Terraform attribute.
pub fn edit(f: &Finding, text: &str) -> Result<Edit, Skip> {
    edit_in(f, &FileText::new(text))
}

/// [`edit`] in a file made ready once for the edits of all its findings.
///
/// # Errors
/// As [`edit`].
pub fn edit_in(f: &Finding, file: &FileText<'_>) -> Result<Edit, Skip> {
    let fix = f
        .fix
        .as_ref()
        .ok_or_else(|| skip("the finding has no mechanical fix"))?;
    let Location::File { path, .. } = &f.location else {
        return Err(skip("the finding has no file"));
    };
    let description = format!(
        "Set {} to {}",
        crate::model::pointer(&fix.path),
        yaml::plain_or_json(&fix.value)
    );
    let (start, end, new) = match Syntax::of(path) {
        Syntax::Hcl => hcl::edit(f, fix, file.text)?,
        Syntax::Json if f.resource.kind.starts_with("aws:") => {
            return Err(skip(format!(
                "{path} is a Terraform plan, which is generated: change `{}` in the \
                 Terraform source and plan again",
                f.resource.name
            )));
        }
        syntax => yaml::edit(f, fix, file, syntax == Syntax::Json)?,
    };
    // A file with Windows line ends keeps them.
    let new = if file.crlf {
        new.replace("\r\n", "\n").replace('\n', "\r\n")
    } else {
        new
    };
    Ok(Edit {
        start,
        end,
        from: file.lines.pos(file.text, start),
        to: file.lines.pos(file.text, end),
        text: new,
        description,
    })
}

/// Applies edits of one text from the end backwards.
///
/// # Errors
/// The two edits that overlap (their ranges intersect, or both insert at one place).
pub fn apply(text: &str, edits: &[Edit]) -> Result<String, (usize, usize)> {
    let mut order: Vec<usize> = (0..edits.len()).collect();
    order.sort_by_key(|&i| (edits[i].start, edits[i].end));
    for w in order.windows(2) {
        let (a, b) = (&edits[w[0]], &edits[w[1]]);
        if a.end > b.start || (a.start == b.start && a.end == b.end) {
            return Err((w[0], w[1]));
        }
    }
    let mut out = text.to_string();
    for &i in order.iter().rev() {
        let e = &edits[i];
        if e.end > out.len() || !out.is_char_boundary(e.start) || !out.is_char_boundary(e.end) {
            return Err((i, i));
        }
        out.replace_range(e.start..e.end, &e.text);
    }
    Ok(out)
}

/// A field path for messages: `/spec/template/spec/containers/0/securityContext`.
fn shown(path: &[PathSeg]) -> String {
    crate::model::pointer(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::fingerprint::Fingerprint;
    use crate::model::Span;
    use crate::model::{Fix, ResourceRef};
    use serde_json::json;

    fn finding(file: &str, path: &[&str], value: serde_json::Value) -> Finding {
        Finding {
            rule_id: "BA000".into(),
            rule_name: "test".into(),
            severity: crate::model::Severity::High,
            resource: ResourceRef {
                kind: "Deployment".into(),
                namespace: "blog".into(),
                name: "web".into(),
            }
            .into(),
            path: Vec::new().into(),
            location: Location::File {
                path: file.into(),
                span: Span::default(),
            },
            message: "".into(),
            fix: Some(Box::new(Fix {
                path: path.iter().map(|k| PathSeg::Key((*k).into())).collect(),
                value,
                replace: None,
                insert_under: None,
            })),
            fingerprint: Fingerprint::default(),
            suppression: None,
            roots: Vec::new().into(),
        }
    }

    fn fixed(file: &str, text: &str, path: &[&str], value: serde_json::Value) -> String {
        let e = edit(&finding(file, path, value), text).unwrap();
        apply(text, &[e]).unwrap()
    }

    const INDENTLESS: &str = "\
kind: Deployment
metadata:
    name: web
    namespace: blog
spec:
    containers:
    - name: web
      image: web:1
";

    #[test]
    fn insertions_follow_the_documents_own_indentation() {
        let got = fixed(
            "d.yaml",
            INDENTLESS,
            &["spec", "securityContext", "capabilities", "drop"],
            json!(["ALL"]),
        );
        assert!(
            got.ends_with(
                "      image: web:1\n    securityContext:\n        capabilities:\n            drop:\n            - ALL\n"
            ),
            "{got}"
        );
    }

    #[test]
    fn a_block_list_is_replaced_item_by_item_in_its_style() {
        let text = format!("{INDENTLESS}    drop:\n    - NET_RAW\n    - CHOWN\n    paused: true\n");
        let got = fixed("d.yaml", &text, &["spec", "drop"], json!(["ALL"]));
        assert_eq!(
            got,
            text.replace("    - NET_RAW\n    - CHOWN\n", "    - ALL\n")
        );
    }

    #[test]
    fn an_empty_parent_gets_its_keys_below_it() {
        let text = "kind: Deployment\nmetadata: {name: web}\nspec:\n  securityContext:  # later\n  paused: true\n";
        let got = fixed(
            "d.yaml",
            text,
            &["spec", "securityContext", "runAsNonRoot"],
            json!(true),
        );
        assert_eq!(
            got,
            text.replace("# later\n", "# later\n    runAsNonRoot: true\n")
        );
    }

    #[test]
    fn windows_line_ends_stay() {
        let text = "kind: Deployment\r\nmetadata:\r\n  name: web\r\nspec:\r\n  replicas: 1\r\n";
        let got = fixed("d.yaml", text, &["spec", "paused"], json!(false));
        assert_eq!(got, format!("{text}  paused: false\r\n"));
    }

    #[test]
    fn a_file_without_a_final_newline_gets_one_before_the_new_key() {
        let text = "kind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: 1";
        let got = fixed("d.yaml", text, &["spec", "paused"], json!(false));
        assert_eq!(got, format!("{text}\n  paused: false"));
    }

    #[test]
    fn a_replaced_string_keeps_its_quotes_and_comment() {
        let text = "kind: Deployment\nmetadata: {name: web}\nspec:\n  type: 'NodePort'  # why\n";
        let got = fixed("d.yaml", text, &["spec", "type"], json!("ClusterIP"));
        assert_eq!(got, text.replace("'NodePort'", "'ClusterIP'"));
    }

    #[test]
    fn a_value_that_would_read_as_another_type_is_quoted() {
        let text = "kind: Deployment\nmetadata: {name: web}\nspec:\n  a: 1\n";
        let got = fixed("d.yaml", text, &["spec", "b"], json!("true"));
        assert!(got.ends_with("  a: 1\n  b: \"true\"\n"), "{got}");
    }

    #[test]
    fn another_resource_of_the_same_file_is_not_edited() {
        let text = "kind: Deployment\nmetadata: {name: other}\nspec: {}\n";
        let err = edit(&finding("d.yaml", &["spec", "x"], json!(1)), text).unwrap_err();
        assert!(err.0.contains("not declared in this file"), "{}", err.0);
    }

    #[test]
    fn overlapping_edits_are_refused() {
        let e = |start, end, text: &str| Edit {
            start,
            end,
            from: Pos::default(),
            to: Pos::default(),
            text: text.into(),
            description: String::new(),
        };
        assert_eq!(
            apply("abcdef", &[e(4, 5, "E"), e(1, 2, "B")]).unwrap(),
            "aBcdEf"
        );
        assert!(apply("abcdef", &[e(1, 4, "x"), e(3, 5, "y")]).is_err());
        assert!(apply("abcdef", &[e(2, 2, "x"), e(2, 2, "y")]).is_err());
    }

    #[test]
    fn hcl_keeps_the_alignment_and_refuses_what_it_cannot_place() {
        let text = "resource \"a\" \"b\" {\n  x           = 1\n  long_name   = false # why\n}\n";
        let mut f = finding("m.tf", &["longName"], json!(true));
        let fix = f.fix.as_mut().unwrap();
        fix.replace = Some(Span {
            start: Pos { line: 3, column: 3 },
            end: Pos {
                line: 3,
                column: 22,
            },
        });
        let e = edit(&f, text).unwrap();
        assert_eq!(
            apply(text, &[e]).unwrap(),
            text.replace("= false #", "= true #")
        );
        f.fix.as_mut().unwrap().replace = None;
        assert!(edit(&f, text).unwrap_err().0.contains("by hand"));
    }

    #[test]
    fn a_missing_terraform_attribute_goes_into_its_block() {
        let text = "resource \"aws_ecr_repository\" \"r\" {\n  name = \"r\"\n}\n\nresource \"aws_eks_cluster\" \"c\" {\n  name = \"c\"\n\n  vpc_config {\n    subnet_ids = [\"a\"]\n  }\n}\n";
        let mut f = finding("m.tf", &["scanOnPush"], json!(true));
        std::sync::Arc::make_mut(&mut f.resource).kind = "aws:EcrRepository".into();
        f.fix.as_mut().unwrap().insert_under = Some((Pos { line: 1, column: 1 }, 0));
        let e = edit(&f, text).unwrap();
        let got = apply(text, &[e]).unwrap();
        assert!(got.starts_with("resource \"aws_ecr_repository\" \"r\" {\n  name = \"r\"\n\n  image_scanning_configuration {\n    scan_on_push = true\n  }\n}\n"), "{got}");
        let mut f = finding("m.tf", &["endpointPublicAccess"], json!(false));
        std::sync::Arc::make_mut(&mut f.resource).kind = "aws:EksCluster".into();
        f.fix.as_mut().unwrap().insert_under = Some((Pos { line: 5, column: 1 }, 0));
        let got = apply(text, &[edit(&f, text).unwrap()]).unwrap();
        assert!(got.ends_with("  vpc_config {\n    subnet_ids = [\"a\"]\n\n    endpoint_public_access = false\n  }\n}\n"), "{got}");
    }
}
