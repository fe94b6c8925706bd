//! Subnets, and the availability zones that a list of subnet references reaches.

use std::collections::BTreeSet;

use serde_json::Value as Json;

use super::index::StackIndex;
use super::read::plain;
use super::{path, ref_target, Shape};
use crate::source::terraform::value::{Value, ValueKind};

impl Shape<'_> {
    pub(super) fn subnet(&mut self) {
        self.body
            .insert("id".into(), Json::String(format!("{}.id", self.inst.addr)));
        let p = path(&["availability_zone"]);
        let az = plain(self.get(&p)).or_else(|| plain(self.get(&path(&["availability_zone_id"]))));
        let at = self.src(&p);
        match az.map(|v| (&v.kind, v)) {
            Some((ValueKind::Str(s), _)) => {
                self.body
                    .insert("availabilityZone".into(), Json::String(s.clone()));
                self.fields.push((path(&["availabilityZone"]), at));
            }
            Some((_, v)) => {
                let input = v.opaque().unwrap_or("availability_zone").to_string();
                self.unknown("availabilityZone", &input, at);
            }
            None => self.unknown(
                "availabilityZone",
                &format!(
                    "{}.availability_zone (AWS picks one at apply)",
                    self.inst.addr
                ),
                at,
            ),
        }
    }
}

/// Why the availability zones of a list of subnets cannot be known: the input that would make
/// them known (a subnet outside the configuration, a zone AWS picks at apply, a variable).
#[derive(Debug, thiserror::Error)]
#[error("{input}")]
pub(super) struct UnknownZones {
    pub(super) input: String,
}

impl UnknownZones {
    fn new(input: impl Into<String>) -> Self {
        Self {
            input: input.into(),
        }
    }
}

/// Distinct AZs of a list of subnet references.
pub(super) fn resolve_azs(
    index: &StackIndex,
    subnets: &[Value],
) -> Result<Vec<String>, UnknownZones> {
    let mut concrete: Vec<String> = Vec::new();
    let mut symbolic: BTreeSet<String> = BTreeSet::new();
    for s in subnets {
        let az = match &s.kind {
            ValueKind::Ref(r) => {
                let target = ref_target(r);
                let Some(sub) = index.inst(target).filter(|i| i.typ == "aws_subnet") else {
                    return Err(UnknownZones::new(r.clone()));
                };
                let az = plain(sub.body.field("availability_zone"))
                    .or_else(|| plain(sub.body.field("availability_zone_id")));
                match az {
                    None => {
                        return Err(UnknownZones::new(format!(
                            "{target}.availability_zone (AWS picks one at apply)"
                        )))
                    }
                    Some(v) => v.clone(),
                }
            }
            ValueKind::Unknown(u) => return Err(UnknownZones::new(u.clone())),
            _ => {
                let id = s.to_plain_string().unwrap_or_default();
                return Err(UnknownZones::new(format!(
                    "the availability zone of subnet {id} (not in the configuration)"
                )));
            }
        };
        match &az.kind {
            ValueKind::Str(a) => {
                if !concrete.contains(a) {
                    concrete.push(a.clone());
                }
            }
            ValueKind::Ref(r) => {
                symbolic.insert(r.clone());
            }
            _ => {
                return Err(UnknownZones::new(
                    az.opaque().unwrap_or("availability_zone"),
                ))
            }
        }
    }
    if symbolic.is_empty() {
        return Ok(concrete);
    }
    // AZs read from one data source list at distinct indices are distinct AZs
    // (`data.aws_availability_zones.x.names[0]`, `[1]`, …); anything else mixed is not known.
    let bases: BTreeSet<&str> = symbolic
        .iter()
        .map(|r| r.rsplit_once('[').map_or(r.as_str(), |(b, _)| b))
        .collect();
    let indexed = symbolic.iter().all(|r| r.ends_with(']'));
    if concrete.is_empty() && bases.len() == 1 && indexed {
        return Ok(symbolic.into_iter().collect());
    }
    Err(UnknownZones::new(
        symbolic.into_iter().next().unwrap_or_default(),
    ))
}
