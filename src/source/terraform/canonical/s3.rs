//! S3 buckets, joined with their public access block.

use serde_json::{Map, Value as Json};

use super::read::{bool_of, ident_of, plain, Reading};
use super::{get_path, path, Shape};
use crate::source::terraform::value::Value;

impl Shape<'_> {
    pub(super) fn s3_bucket(&mut self) {
        let p = path(&["bucket"]);
        match ident_of(self.get(&p)) {
            Reading::Unset => {
                let at = self.src(&p);
                self.unknown(
                    "bucket",
                    &format!("{}.bucket (named by AWS at apply)", self.inst.addr),
                    at,
                );
            }
            got => self.put(&["bucket"], got, None, &p),
        }
        let by_name = plain(self.inst.body.field("bucket"))
            .and_then(Value::to_plain_string)
            .and_then(|n| self.index.access_blocks.get(&n));
        let by_ref = self
            .index
            .access_blocks
            .get(&format!("@{}", self.inst.addr));
        let Some(pab) = by_ref.or(by_name).map(|i| &self.index.stack.instances[*i]) else {
            self.body.insert("publicAccessBlock".into(), Json::Null);
            return;
        };
        let mut block = Map::new();
        for (field, attr) in [
            ("blockPublicAcls", "block_public_acls"),
            ("blockPublicPolicy", "block_public_policy"),
            ("ignorePublicAcls", "ignore_public_acls"),
            ("restrictPublicBuckets", "restrict_public_buckets"),
        ] {
            let tp = path(&[attr]);
            let at = Self::src_of(pab, &tp);
            match bool_of(get_path(&pab.body, &tp)) {
                Reading::Known(v) => {
                    block.insert(field.into(), v);
                    self.fields.push((path(&["publicAccessBlock", field]), at));
                }
                Reading::Unset => {
                    block.insert(field.into(), Json::Bool(false));
                }
                Reading::Unknown(u) => return self.unknown("publicAccessBlock", &u, at),
            }
        }
        self.fields.push((path(&["publicAccessBlock"]), pab.block));
        self.body
            .insert("publicAccessBlock".into(), Json::Object(block));
    }
}
