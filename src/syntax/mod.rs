//! Text syntax shared by the sources and the rule loader: YAML/JSON with spans, and the
//! conversions between byte offsets and line:column positions.

pub mod position;
pub mod yaml;
