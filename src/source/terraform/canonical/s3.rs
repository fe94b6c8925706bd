//! S3 buckets, joined with their public access block.

use serde_json::{Map, Value as Json};

use super::read::{bool_of, ident_of, Reading};
use super::{get_path, path, Shape};

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
        let Some(pab) = self
            .index
            .joined(&self.index.access_blocks, self.inst, "bucket")
        else {
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
            let reading = bool_of(get_path(&pab.body, &tp));
            let field = path(&["publicAccessBlock", field]);
            if !self.put_member(&mut block, field, reading, Some(Json::Bool(false)), at) {
                return;
            }
        }
        self.fields.push((path(&["publicAccessBlock"]), pab.block));
        self.body
            .insert("publicAccessBlock".into(), Json::Object(block));
    }
}
