//! Terraform fix edits: the value of one attribute replaced, its name and the spaces that
//! align its `=` with its neighbours kept, so `terraform fmt -check` still passes.

use serde_json::Value;

use super::{shown, skip, Skip};
use crate::finding::Fix;
use crate::report::offset;

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
pub(super) fn edit(fix: &Fix, text: &str) -> Result<(usize, usize, String), Skip> {
    let Some(span) = fix.replace else {
        return Err(skip(format!(
            "{} is not set in the Terraform source; add the attribute to the resource by \
             hand (blogaudit does not yet map its canonical fields back to Terraform names \
             for an insertion)",
            shown(&fix.path)
        )));
    };
    if span.start.line != span.end.line {
        return Err(skip(
            "the attribute's value spans several lines; set it by hand",
        ));
    }
    let s = offset(text, span.start.line, span.start.column);
    let e = offset(text, span.end.line, span.end.column);
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
