//! ECR: repositories (with the repository policy that names them) and the registry's scanning
//! configuration.

use serde_json::Value as Json;

use super::read::{bool_of, ident_of, plain, str_of, Reading};
use super::{block_path, collect_spans, get_path, key, path, Shape};
use crate::model::PathSeg;
use crate::source::terraform::value::{object, Value, ValueKind};

impl Shape<'_> {
    pub(super) fn ecr_repository(&mut self) {
        let name_path = path(&["name"]);
        self.put(
            &["repositoryName"],
            ident_of(self.get(&name_path)),
            None,
            &name_path,
        );
        let scan = block_path(&[
            ("image_scanning_configuration", Some(0)),
            ("scan_on_push", None),
        ]);
        self.put(
            &["scanOnPush"],
            bool_of(self.get(&scan)),
            Some(Json::Bool(false)),
            &scan,
        );
        let mutability = path(&["image_tag_mutability"]);
        self.put(
            &["tagMutability"],
            str_of(self.get(&mutability)),
            Some(Json::String("MUTABLE".into())),
            &mutability,
        );
        self.repository_policy();
    }

    fn repository_policy(&mut self) {
        let Some(p) = self
            .index
            .joined(&self.index.repo_policies, self.inst, "name")
        else {
            self.body.insert("policy".into(), Json::Null);
            return;
        };
        let tf_path = path(&["policy"]);
        let at = Self::src_of(p, &tf_path);
        let Some(v) = plain(get_path(&p.body, &tf_path)) else {
            self.body.insert("policy".into(), Json::Null);
            return;
        };
        if let Some(o) = v.opaque() {
            self.unknown("policy", o, at);
            return;
        }
        match &v.kind {
            ValueKind::Json(j) => {
                self.body.insert("policy".into(), j.1.to_json());
                self.fields.push((path(&["policy"]), at));
                let mut sub = Vec::new();
                collect_spans(&j.1, &mut vec![key("policy")], &mut sub);
                self.fields.extend(sub);
            }
            _ => match v.as_str().map(serde_json::from_str::<Json>) {
                Some(Ok(doc)) => {
                    self.body.insert("policy".into(), doc);
                    self.fields.push((path(&["policy"]), at));
                }
                _ => self.unknown(
                    "policy",
                    &format!("{}.policy (not a JSON document)", p.addr),
                    at,
                ),
            },
        }
    }

    pub(super) fn ecr_scanning(&mut self) {
        let st = path(&["scan_type"]);
        self.put(
            &["scanType"],
            str_of(self.get(&st)),
            Some(Json::String("BASIC".into())),
            &st,
        );
        let mut rules = Vec::new();
        let rule_blocks = self
            .get(&path(&["rule"]))
            .and_then(Value::as_list)
            .unwrap_or(&[]);
        for (i, r) in rule_blocks.iter().enumerate() {
            let freq = match str_of(r.field("scan_frequency")) {
                Reading::Known(v) => v,
                Reading::Unset => Json::Null,
                Reading::Unknown(u) => {
                    let at = self.src(&block_path(&[("rule", Some(i)), ("scan_frequency", None)]));
                    return self.unknown("rules", &u, at);
                }
            };
            let mut filters = Vec::new();
            for f in r
                .field("repository_filter")
                .and_then(Value::as_list)
                .unwrap_or(&[])
            {
                let filter = match str_of(f.field("filter")) {
                    Reading::Known(v) => v,
                    Reading::Unset => Json::Null,
                    Reading::Unknown(u) => {
                        let at = self.src(&block_path(&[("rule", Some(i))]));
                        return self.unknown("rules", &u, at);
                    }
                };
                let ft = match str_of(f.field("filter_type")) {
                    Reading::Known(v) => v,
                    _ => Json::String("WILDCARD".into()),
                };
                filters.push(object(vec![("filter", filter), ("filterType", ft)]));
            }
            rules.push(object(vec![
                ("scanFrequency", freq),
                ("filters", Json::Array(filters)),
            ]));
            let rule_src = self.src(&block_path(&[("rule", Some(i))]));
            self.fields
                .push((vec![key("rules"), PathSeg::Index(i)], rule_src));
            let freq_src = self.src(&block_path(&[("rule", Some(i)), ("scan_frequency", None)]));
            self.fields.push((
                vec![key("rules"), PathSeg::Index(i), key("scanFrequency")],
                freq_src,
            ));
        }
        if !rule_blocks.is_empty() {
            let at = self.src(&path(&["rule"]));
            self.fields.push((path(&["rules"]), at));
        }
        self.body.insert("rules".into(), Json::Array(rules));
    }
}
