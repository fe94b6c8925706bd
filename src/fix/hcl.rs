//! Terraform fix edits: the value of one attribute replaced, its name and the spaces that
//! align its `=` with its neighbours kept, so `terraform fmt -check` still passes; or a missing
//! attribute inserted at the end of its block (with its missing nested blocks).

use serde_json::Value;

use hcl_edit::structure::{Block, Body};
use hcl_edit::Span as _;

use super::{shown, skip, Skip};
use crate::model::{Finding, Fix};
use crate::syntax::position::offset_of;

/// Where a canonical field lives in a Terraform resource, for inserting it when it is not
/// set: canonical kind, field pointer, resource type, nested blocks then the attribute.
/// `tests/fix.rs` checks every entry against the Terraform loader (inserted, the field reads
/// the fix value), so this table cannot drift from it.
pub const PLACES: &[(&str, &str, &str, &[&str])] = &[
    (
        "aws:EcrRepository",
        "/scanOnPush",
        "aws_ecr_repository",
        &["image_scanning_configuration", "scan_on_push"],
    ),
    (
        "aws:EcrRepository",
        "/tagMutability",
        "aws_ecr_repository",
        &["image_tag_mutability"],
    ),
    (
        "aws:EksCluster",
        "/endpointPublicAccess",
        "aws_eks_cluster",
        &["vpc_config", "endpoint_public_access"],
    ),
    (
        "aws:EksCluster",
        "/enabledLogTypes",
        "aws_eks_cluster",
        &["enabled_cluster_log_types"],
    ),
    (
        "aws:EksNodeGroup",
        "/scaling/min",
        "aws_eks_node_group",
        &["scaling_config", "min_size"],
    ),
];

/// An HCL literal for a fix value: strings (with `${` and `%{` escaped), numbers, booleans
/// and lists of them.
#[must_use]
pub fn literal(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(
            serde_json::to_string(s)
                .ok()?
                .replace("${", "$${")
                .replace("%{", "%%{"),
        ),
        Value::Bool(_) | Value::Number(_) => Some(v.to_string()),
        Value::Array(items) => {
            let inner: Option<Vec<String>> = items
                .iter()
                .map(|i| if i.is_array() { None } else { literal(i) })
                .collect();
            Some(format!("[{}]", inner?.join(", ")))
        }
        _ => None,
    }
}

/// The edit for a fix in a `.tf` file: `(start, end, text)` in bytes.
pub(super) fn edit(f: &Finding, fix: &Fix, text: &str) -> Result<(usize, usize, String), Skip> {
    let Some(span) = fix.replace else {
        return insert(f, fix, text);
    };
    if span.start.line != span.end.line {
        return Err(skip(
            "the attribute's value spans several lines; set it by hand",
        ));
    }
    let s = offset_of(text, span.start.line, span.start.column);
    let e = offset_of(text, span.end.line, span.end.column);
    let attr = text.get(s..e).ok_or_else(|| skip("the attribute moved"))?;
    // The span is the whole `name = value` attribute, or only the value when it came through
    // a module call: keep the name and the alignment, replace the value.
    let value_at = match attr.split_once('=') {
        Some((name, rest))
            if !name.trim().is_empty()
                && name
                    .trim()
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
                && !rest.starts_with('=') =>
        {
            s + name.len() + 1 + (rest.len() - rest.trim_start().len())
        }
        _ => s,
    };
    let new = literal(&fix.value)
        .ok_or_else(|| skip("the fix value has no HCL literal form; set it by hand"))?;
    if text[value_at..e].trim() == new {
        return Err(skip(format!(
            "the attribute already reads `{new}`: the value the rule saw comes from elsewhere \
             (a variable, a module default); change it there"
        )));
    }
    let mut after = text.to_string();
    after.replace_range(value_at..e, &new);
    if let Err(err) = hcl_edit::parser::parse_body(&after) {
        return Err(skip(format!(
            "the file would not parse after the edit ({}); set it by hand",
            err.message()
        )));
    }
    Ok((value_at, e, new))
}

/// Inserts a missing attribute (and its missing nested blocks) at the end of its block, after
/// a blank line so that `terraform fmt` aligns nothing anew.
fn insert(f: &Finding, fix: &Fix, text: &str) -> Result<(usize, usize, String), Skip> {
    let pointer = shown(&fix.path);
    let place = PLACES
        .iter()
        .find(|(kind, field, _, _)| *kind == f.resource.kind && *field == pointer);
    let (Some((_, _, tf_type, tf_path)), Some((anchor, 0))) = (place, fix.insert_under) else {
        return Err(skip(format!(
            "{pointer} is not set in the Terraform source, and blogaudit does not know where \
             it goes in this resource; add it by hand"
        )));
    };
    let lit = literal(&fix.value)
        .ok_or_else(|| skip("the fix value has no HCL literal form; set it by hand"))?;
    let body = hcl_edit::parser::parse_body(text)
        .map_err(|e| skip(format!("the file does not parse ({})", e.message())))?;
    let start = offset_of(text, anchor.line, anchor.column);
    let line_of = |b: &Block| {
        b.span()
            .map(|r| crate::syntax::position::pos_at(text, r.start).line)
    };
    let resource = body
        .get_blocks("resource")
        .find(|b| {
            b.labels
                .first()
                .map(hcl_edit::structure::BlockLabel::as_str)
                == Some(*tf_type)
                && (b.span().is_some_and(|r| r.start == start) || line_of(b) == Some(anchor.line))
        })
        .ok_or_else(|| skip(format!("cannot find the {tf_type} block of the finding")))?;
    let (attr, blocks) = tf_path
        .split_last()
        .ok_or_else(|| skip("empty Terraform path"))?;
    let mut block: &Block = resource;
    let mut missing: &[&str] = blocks;
    while let Some((first, rest)) = missing.split_first() {
        let inner: &Body = &block.body;
        let mut found = inner.get_blocks(first);
        let Some(next) = found.next() else { break };
        if found.next().is_some() {
            return Err(skip(format!(
                "the resource has several `{first}` blocks; set `{attr}` by hand"
            )));
        }
        block = next;
        missing = rest;
    }
    if block.body.has_attribute(attr) {
        return Err(skip(format!(
            "`{attr}` is already set: the value the rule saw comes from elsewhere; change it there"
        )));
    }
    let range = block
        .span()
        .ok_or_else(|| skip("the block has no position"))?;
    let close = range.end.saturating_sub(1);
    if text.as_bytes().get(close) != Some(&b'}') {
        return Err(skip("cannot find the end of the block"));
    }
    let line = text[..close].rfind('\n').map_or(0, |i| i + 1);
    if !text[line..close].bytes().all(|b| b == b' ' || b == b'\t') {
        return Err(skip(
            "the block ends on a line with other content; set it by hand",
        ));
    }
    let indent = " ".repeat(close - line + 2);
    // A blank line before the new lines, unless the block is empty or already ends with one.
    let before = text[..line].trim_end_matches([' ', '\t']);
    let empty_block = before.ends_with("{\n") || before.ends_with('{');
    let blank = !(empty_block || before.ends_with("\n\n"));
    let mut out = String::new();
    if blank {
        out.push('\n');
    }
    let mut pad = indent.clone();
    for b in missing {
        out.push_str(&format!("{pad}{b} {{\n"));
        pad.push_str("  ");
    }
    out.push_str(&format!("{pad}{attr} = {lit}\n"));
    for _ in missing {
        pad.truncate(pad.len() - 2);
        out.push_str(&format!("{pad}}}\n"));
    }
    let mut after = text.to_string();
    after.insert_str(line, &out);
    if hcl_edit::parser::parse_body(&after).is_err() {
        return Err(skip(
            "the file would not parse after the edit; set it by hand",
        ));
    }
    Ok((line, line, out))
}
