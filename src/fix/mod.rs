//! Mechanical fixes: the one place that turns a finding's [`Fix`](crate::finding::Fix) into a
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
pub mod run;
pub mod yaml;

pub use run::{run, Mode, Settings, Summary};

use crate::finding::{Finding, Location};
use crate::model::{PathSeg, Pos};

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

/// The edit that fixes `f` in `text` (the current content of the finding's file).
///
/// # Errors
/// A [`Skip`] with the reason when the fix cannot be written mechanically: a plan JSON, an
/// alias, a value Terraform computes, a missing Terraform attribute.
pub fn edit(f: &Finding, text: &str) -> Result<Edit, Skip> {
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
        Syntax::Hcl => hcl::edit(fix, text)?,
        Syntax::Json if f.resource.kind.starts_with("aws:") => {
            return Err(skip(format!(
                "{path} is a Terraform plan, which is generated: change `{}` in the \
                 Terraform source and plan again",
                f.resource.name
            )));
        }
        syntax => yaml::edit(f, fix, text, syntax == Syntax::Json)?,
    };
    Ok(Edit {
        start,
        end,
        from: pos_of(text, start),
        to: pos_of(text, end),
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

/// The 1-based line and code-point column of a byte offset.
#[must_use]
pub fn pos_of(text: &str, offset: usize) -> Pos {
    let offset = offset.min(text.len());
    let before = &text[..offset];
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    Pos {
        line: u32::try_from(before.matches('\n').count() + 1).unwrap_or(u32::MAX),
        column: u32::try_from(before[line_start..].chars().count() + 1).unwrap_or(u32::MAX),
    }
}

/// A field path for messages: `/spec/template/spec/containers/0/securityContext`.
fn shown(path: &[PathSeg]) -> String {
    crate::model::pointer(path)
}
