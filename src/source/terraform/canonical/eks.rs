//! EKS: clusters and managed node groups.

use serde_json::{Map, Value as Json};

use super::read::{bool_of, ident_of, list_of, map_of, num_of, plain, Reading};
use super::{block_path, key, path, Shape, AUTOSCALER_TAG};
use crate::model::PathSeg;
use crate::source::terraform::value::{object, Value};

impl Shape<'_> {
    pub(super) fn eks_cluster(&mut self) {
        let vpc = |a: &str| block_path(&[("vpc_config", Some(0)), (a, None)]);
        let p = vpc("endpoint_private_access");
        self.put(
            &["endpointPrivateAccess"],
            bool_of(self.get(&p)),
            Some(Json::Bool(false)),
            &p,
        );
        let p = vpc("endpoint_public_access");
        self.put(
            &["endpointPublicAccess"],
            bool_of(self.get(&p)),
            Some(Json::Bool(true)),
            &p,
        );
        let p = vpc("public_access_cidrs");
        self.put(
            &["publicAccessCidrs"],
            list_of(self.get(&p), false),
            Some(Json::Array(vec![Json::String("0.0.0.0/0".into())])),
            &p,
        );
        let p = path(&["enabled_cluster_log_types"]);
        self.put(
            &["enabledLogTypes"],
            list_of(self.get(&p), false),
            Some(Json::Array(Vec::new())),
            &p,
        );
        self.eks_encryption();
        let p = vpc("subnet_ids");
        self.put(
            &["subnetIds"],
            list_of(self.get(&p), true),
            Some(Json::Array(Vec::new())),
            &p,
        );
    }

    fn eks_encryption(&mut self) {
        let p = path(&["encryption_config"]);
        let v = self.get(&p);
        if let Some(o) = v.and_then(Value::opaque) {
            let at = self.src(&p);
            return self.unknown("encryption", o, at);
        }
        let mut entries = Vec::new();
        for (i, e) in v.and_then(Value::as_list).unwrap_or(&[]).iter().enumerate() {
            let resources = match list_of(e.field("resources"), false) {
                Reading::Known(v) => v,
                Reading::Unset => Json::Array(Vec::new()),
                Reading::Unknown(u) => {
                    let at = self.src(&block_path(&[
                        ("encryption_config", Some(i)),
                        ("resources", None),
                    ]));
                    return self.unknown("encryption", &u, at);
                }
            };
            let key_arn = e
                .field("provider")
                .and_then(Value::as_list)
                .and_then(<[Value]>::first)
                .and_then(|p| p.field("key_arn"));
            let mut entry = vec![("resources", resources)];
            match ident_of(key_arn) {
                Reading::Known(k) => entry.push(("keyArn", k)),
                Reading::Unset => {}
                Reading::Unknown(u) => {
                    let at = self.src(&block_path(&[("encryption_config", Some(i))]));
                    return self.unknown("encryption", &u, at);
                }
            }
            entries.push(object(entry));
            let at = self.src(&block_path(&[("encryption_config", Some(i))]));
            self.fields
                .push((vec![key("encryption"), PathSeg::Index(i)], at));
        }
        if v.is_some() {
            let at = self.src(&p);
            self.fields.push((path(&["encryption"]), at));
        }
        self.body.insert("encryption".into(), Json::Array(entries));
    }

    pub(super) fn node_group(&mut self) {
        let p = path(&["cluster_name"]);
        self.put(&["cluster"], ident_of(self.get(&p)), None, &p);
        let sp = path(&["subnet_ids"]);
        let subnets = self.get(&sp);
        self.put(&["subnetIds"], list_of(subnets, true), None, &sp);
        self.availability_zones(subnets, &sp);
        self.scaling();
        let tp = path(&["tags"]);
        let tags = self.get(&tp);
        self.put(&["tags"], map_of(tags), Some(Json::Object(Map::new())), &tp);
        if let Some(m) = plain(tags).and_then(Value::entries) {
            for (k, v) in m {
                if let Some(at) =
                    v.at.filter(|a| self.inst.chain.iter().any(|c| c.contains(a)))
                {
                    self.fields.push((vec![key("tags"), key(k)], at));
                }
            }
        }
        let tagged = self
            .body
            .get("tags")
            .and_then(|t| t.get(AUTOSCALER_TAG))
            .is_some_and(|v| v.as_str() != Some("false"));
        let autoscaler = tagged || self.index.autoscaler.is_some();
        self.body
            .insert("autoscaler".into(), Json::Bool(autoscaler));
    }

    fn scaling(&mut self) {
        let block = block_path(&[("scaling_config", Some(0))]);
        let mut scaling = Map::new();
        for (field, attr) in [
            ("min", "min_size"),
            ("max", "max_size"),
            ("desired", "desired_size"),
        ] {
            let p = block_path(&[("scaling_config", Some(0)), (attr, None)]);
            let at = self.src(&p);
            let reading = num_of(self.get(&p));
            if !self.put_member(&mut scaling, path(&["scaling", field]), reading, None, at) {
                return;
            }
        }
        if self.get(&block).is_some() {
            let at = self.src(&block);
            self.fields.push((path(&["scaling"]), at));
        }
        self.body.insert("scaling".into(), Json::Object(scaling));
    }

    /// The distinct AZs of the node group's subnets: each subnet reference is followed to its
    /// `aws_subnet` and that subnet's `availability_zone`.
    fn availability_zones(&mut self, subnets: Option<&Value>, sp: &[PathSeg]) {
        let at = self.src(sp);
        let Some(subnets) = plain(subnets) else {
            return self.unknown(
                "availabilityZones",
                &format!("{}.subnet_ids", self.inst.addr),
                at,
            );
        };
        if let Some(o) = subnets.opaque() {
            return self.unknown("availabilityZones", o, at);
        }
        let Some(items) = subnets.as_list() else {
            return self.unknown("availabilityZones", "subnet_ids", at);
        };
        match super::network::resolve_azs(self.index, items) {
            Ok(azs) => {
                self.body.insert(
                    "availabilityZones".into(),
                    Json::Array(azs.into_iter().map(Json::String).collect()),
                );
                self.fields.push((path(&["availabilityZones"]), at));
            }
            Err(e) => self.unknown("availabilityZones", &e.input, at),
        }
    }
}
