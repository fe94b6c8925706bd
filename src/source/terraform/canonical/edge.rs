//! What serves traffic at the edge: CloudFront distributions (with the S3 buckets their
//! origins reach), API Gateway custom domains and load balancer listeners.

use serde_json::{Map, Value as Json};

use super::index::StackIndex;
use super::read::{bool_of, ident_of, num_of, plain, str_of, Reading};
use super::{block_path, key, path, ref_target, Shape};
use crate::model::PathSeg;
use crate::source::terraform::value::{object, Value, ValueKind};

impl Shape<'_> {
    pub(super) fn cloudfront(&mut self) {
        // Default cache behavior.
        let p = block_path(&[
            ("default_cache_behavior", Some(0)),
            ("viewer_protocol_policy", None),
        ]);
        let mut dcb = Map::new();
        let at = self.src(&p);
        self.put_member(
            &mut dcb,
            path(&["defaultCacheBehavior", "viewerProtocolPolicy"]),
            str_of(self.get(&p)),
            None,
            at,
        );
        if !self.unknown.contains_key("defaultCacheBehavior") {
            let b = block_path(&[("default_cache_behavior", Some(0))]);
            if self.get(&b).is_some() {
                let at = self.src(&b);
                self.fields.push((path(&["defaultCacheBehavior"]), at));
            }
            self.body
                .insert("defaultCacheBehavior".into(), Json::Object(dcb));
        }
        // Ordered cache behaviors.
        let mut ordered = Vec::new();
        let blocks = self
            .get(&path(&["ordered_cache_behavior"]))
            .and_then(Value::as_list)
            .unwrap_or(&[]);
        let mut ok = true;
        for (i, b) in blocks.iter().enumerate() {
            let mut m = Map::new();
            for (field, attr) in [
                ("pathPattern", "path_pattern"),
                ("viewerProtocolPolicy", "viewer_protocol_policy"),
            ] {
                let at = self.src(&block_path(&[
                    ("ordered_cache_behavior", Some(i)),
                    (attr, None),
                ]));
                ok &= self.put_member(
                    &mut m,
                    vec![key("orderedCacheBehaviors"), PathSeg::Index(i), key(field)],
                    str_of(b.field(attr)),
                    None,
                    at,
                );
            }
            let at = self.src(&block_path(&[("ordered_cache_behavior", Some(i))]));
            self.fields
                .push((vec![key("orderedCacheBehaviors"), PathSeg::Index(i)], at));
            ordered.push(Json::Object(m));
        }
        if ok {
            self.body
                .insert("orderedCacheBehaviors".into(), Json::Array(ordered));
        }
        // Viewer certificate.
        let vc = |a: &str| block_path(&[("viewer_certificate", Some(0)), (a, None)]);
        let mut cert = Map::new();
        let p = vc("minimum_protocol_version");
        let at = self.src(&p);
        let mut cert_ok = self.put_member(
            &mut cert,
            path(&["viewerCertificate", "minimumProtocolVersion"]),
            str_of(self.get(&p)),
            None,
            at,
        );
        let p = vc("cloudfront_default_certificate");
        let at = self.src(&p);
        cert_ok &= self.put_member(
            &mut cert,
            path(&["viewerCertificate", "cloudfrontDefaultCertificate"]),
            bool_of(self.get(&p)),
            Some(Json::Bool(false)),
            at,
        );
        if cert_ok {
            let b = block_path(&[("viewer_certificate", Some(0))]);
            if self.get(&b).is_some() {
                let at = self.src(&b);
                self.fields.push((path(&["viewerCertificate"]), at));
            }
            self.body
                .insert("viewerCertificate".into(), Json::Object(cert));
        }
        self.origins();
    }

    fn origins(&mut self) {
        let blocks = self
            .get(&path(&["origin"]))
            .and_then(Value::as_list)
            .unwrap_or(&[]);
        let mut out = Vec::new();
        for (i, o) in blocks.iter().enumerate() {
            let mut m = Map::new();
            let at = |s: &Self, attr: &[(&str, Option<usize>)]| {
                let mut parts = vec![("origin", Some(i))];
                parts.extend_from_slice(attr);
                s.src(&block_path(&parts))
            };
            let oac = o.field("origin_access_control_id");
            let oai = o
                .field("s3_origin_config")
                .and_then(Value::as_list)
                .and_then(<[Value]>::first)
                .and_then(|c| c.field("origin_access_identity"));
            let domain = o.field("domain_name");
            for (field, got, attr) in [
                (
                    "originId",
                    str_of(o.field("origin_id")),
                    vec![("origin_id", None)],
                ),
                ("domainName", ident_of(domain), vec![("domain_name", None)]),
                (
                    "originAccessControlId",
                    ident_of(oac),
                    vec![("origin_access_control_id", None)],
                ),
                (
                    "originAccessIdentity",
                    ident_of(oai),
                    vec![
                        ("s3_origin_config", Some(0)),
                        ("origin_access_identity", None),
                    ],
                ),
            ] {
                let src = at(self, &attr);
                match got {
                    Reading::Known(v) => {
                        m.insert(field.into(), v);
                        self.fields
                            .push((vec![key("origins"), PathSeg::Index(i), key(field)], src));
                    }
                    Reading::Unset => {
                        m.insert(field.into(), Json::Null);
                    }
                    Reading::Unknown(u) => return self.unknown("origins", &u, src),
                }
            }
            m.insert(
                "s3Bucket".into(),
                plain(domain)
                    .and_then(|d| s3_bucket_of(self.index, d))
                    .map_or(Json::Null, Json::String),
            );
            let src = at(self, &[]);
            self.fields
                .push((vec![key("origins"), PathSeg::Index(i)], src));
            out.push(Json::Object(m));
        }
        if !blocks.is_empty() {
            let at = self.src(&path(&["origin"]));
            self.fields.push((path(&["origins"]), at));
        }
        self.body.insert("origins".into(), Json::Array(out));
    }

    pub(super) fn api_domain(&mut self) {
        let p = path(&["domain_name"]);
        self.put(&["domainName"], ident_of(self.get(&p)), None, &p);
        if self.inst.typ == "aws_apigatewayv2_domain_name" {
            let c = |a: &str| block_path(&[("domain_name_configuration", Some(0)), (a, None)]);
            let p = c("security_policy");
            self.put(&["securityPolicy"], str_of(self.get(&p)), None, &p);
            let p = c("endpoint_type");
            self.put(
                &["endpointType"],
                str_of(self.get(&p)),
                Some(Json::String("REGIONAL".into())),
                &p,
            );
        } else {
            let p = path(&["security_policy"]);
            self.put(&["securityPolicy"], str_of(self.get(&p)), None, &p);
            let p = block_path(&[("endpoint_configuration", Some(0)), ("types", None)]);
            let types = self.get(&p);
            let first = types.and_then(Value::as_list).and_then(<[Value]>::first);
            let got = match (types.and_then(Value::opaque), first) {
                (Some(o), _) => Reading::Unknown(o.to_string()),
                (None, f) => str_of(f),
            };
            self.put(
                &["endpointType"],
                got,
                Some(Json::String("EDGE".into())),
                &p,
            );
        }
    }

    pub(super) fn listener(&mut self) {
        let p = path(&["protocol"]);
        self.put(
            &["protocol"],
            str_of(self.get(&p)),
            Some(Json::String("HTTP".into())),
            &p,
        );
        let p = path(&["port"]);
        self.put(&["port"], num_of(self.get(&p)), None, &p);
        let p = path(&["ssl_policy"]);
        self.put(&["sslPolicy"], str_of(self.get(&p)), None, &p);
        let blocks = self
            .get(&path(&["default_action"]))
            .and_then(Value::as_list)
            .unwrap_or(&[]);
        let mut actions = Vec::new();
        let mut ok = true;
        for (i, a) in blocks.iter().enumerate() {
            let mut m = Map::new();
            let at = self.src(&block_path(&[("default_action", Some(i)), ("type", None)]));
            ok &= self.put_member(
                &mut m,
                vec![key("defaultActions"), PathSeg::Index(i), key("type")],
                str_of(a.field("type")),
                None,
                at,
            );
            if let Some(r) = a
                .field("redirect")
                .and_then(Value::as_list)
                .and_then(<[Value]>::first)
            {
                let rp = block_path(&[
                    ("default_action", Some(i)),
                    ("redirect", Some(0)),
                    ("protocol", None),
                ]);
                let protocol = match str_of(r.field("protocol")) {
                    Reading::Known(v) => {
                        let at = self.src(&rp);
                        self.fields.push((
                            vec![
                                key("defaultActions"),
                                PathSeg::Index(i),
                                key("redirect"),
                                key("protocol"),
                            ],
                            at,
                        ));
                        v
                    }
                    Reading::Unset => Json::String("#{protocol}".into()),
                    Reading::Unknown(u) => {
                        let at = self.src(&rp);
                        self.unknown("defaultActions", &u, at);
                        ok = false;
                        Json::Null
                    }
                };
                m.insert("redirect".into(), object(vec![("protocol", protocol)]));
                let at = self.src(&block_path(&[
                    ("default_action", Some(i)),
                    ("redirect", Some(0)),
                ]));
                self.fields.push((
                    vec![key("defaultActions"), PathSeg::Index(i), key("redirect")],
                    at,
                ));
            }
            let at = self.src(&block_path(&[("default_action", Some(i))]));
            self.fields
                .push((vec![key("defaultActions"), PathSeg::Index(i)], at));
            actions.push(Json::Object(m));
        }
        if ok {
            self.body
                .insert("defaultActions".into(), Json::Array(actions));
        }
        // `internal` comes from the load balancer the listener belongs to (null when unknown).
        let internal = plain(self.inst.body.field("load_balancer_arn"))
            .and_then(|v| match &v.kind {
                ValueKind::Ref(r) => self.index.inst(ref_target(r)),
                _ => None,
            })
            .filter(|lb| matches!(lb.typ.as_str(), "aws_lb" | "aws_alb"))
            .map(|lb| match bool_of(lb.body.field("internal")) {
                Reading::Known(v) => v,
                Reading::Unset => Json::Bool(false),
                Reading::Unknown(_) => Json::Null,
            })
            .unwrap_or(Json::Null);
        self.body.insert("internal".into(), internal);
    }
}

/// The canonical name of the `aws_s3_bucket` an origin's domain name reaches.
fn s3_bucket_of(index: &StackIndex, domain: &Value) -> Option<String> {
    match &domain.kind {
        ValueKind::Ref(r) => {
            let target = ref_target(r);
            index
                .inst(target)
                .filter(|i| i.typ == "aws_s3_bucket")
                .map(|i| i.addr.clone())
        }
        _ => {
            let d = domain.to_plain_string()?;
            let idx = d.find(".s3.").or_else(|| d.find(".s3-"))?;
            if d[idx..].starts_with(".s3-website") {
                return None;
            }
            index.buckets.get(&d[..idx]).map(|a| (*a).to_string())
        }
    }
}
