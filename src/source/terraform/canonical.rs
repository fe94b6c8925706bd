//! Evaluated Terraform resources to the canonical `aws:*` shapes of `rules/README.md`.
//!
//! A field set in the configuration points at the attribute (or block) that set it; a field the
//! configuration leaves out takes the provider's default and points at the resource block; a
//! field that cannot be known is left out and listed in `unknown` with the input that would make
//! it known, and gives a `terraform-unknown` note.
//!
//! References to what only exists after apply (`aws_subnet.a.id`, `aws_kms_key.k.arn`) appear as
//! their reference text in identity fields (`subnetIds`, `keyArn`, `domainName`), so a node
//! group's subnets still lead to their `aws_subnet` resources and AZs.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use serde_json::{Map, Value};

use super::value::{Src, Val, V};
use super::{Instance, Stack};
use crate::model::{Diagnostic, InlineIgnore, Origin, PathSeg, Resource, Span, SpanIndex};

/// The tag Cluster Autoscaler discovers node groups by.
pub const AUTOSCALER_TAG: &str = "k8s.io/cluster-autoscaler/enabled";

/// Maps every instance of a stack that has a canonical kind.
#[must_use]
pub fn map(stack: &Stack) -> (Vec<Resource>, Vec<Diagnostic>) {
    let cx = Cx::new(stack);
    let mut out = Vec::new();
    let mut diags = Vec::new();
    for (i, inst) in stack.instances.iter().enumerate() {
        let kind = match inst.typ.as_str() {
            "aws_ecr_repository" => "aws:EcrRepository",
            "aws_ecr_registry_scanning_configuration" => "aws:EcrRegistryScanning",
            "aws_eks_cluster" => "aws:EksCluster",
            "aws_eks_node_group" => "aws:EksNodeGroup",
            "aws_subnet" => "aws:Subnet",
            "aws_s3_bucket" => "aws:S3Bucket",
            "aws_cloudfront_distribution" => "aws:CloudFrontDistribution",
            "aws_api_gateway_domain_name" | "aws_apigatewayv2_domain_name" => {
                "aws:ApiGatewayDomain"
            }
            "aws_lb_listener" | "aws_alb_listener" => "aws:LbListener",
            _ => continue,
        };
        let mut s = Shape::new(&cx, i, kind);
        match kind {
            "aws:EcrRepository" => s.ecr_repository(),
            "aws:EcrRegistryScanning" => s.ecr_scanning(),
            "aws:EksCluster" => s.eks_cluster(),
            "aws:EksNodeGroup" => s.node_group(),
            "aws:Subnet" => s.subnet(),
            "aws:S3Bucket" => s.s3_bucket(),
            "aws:CloudFrontDistribution" => s.cloudfront(),
            "aws:ApiGatewayDomain" => s.api_domain(),
            _ => s.listener(),
        }
        let (r, d) = s.finish();
        out.push(r);
        diags.extend(d);
    }
    (out, diags)
}

/// Indexes over one stack, for the joins between resources.
struct Cx<'a> {
    stack: &'a Stack,
    by_addr: HashMap<&'a str, usize>,
    /// `aws_ecr_repository_policy` by repository name and by repository address.
    repo_policies: HashMap<String, usize>,
    /// `aws_s3_bucket_public_access_block` by bucket name and by bucket address.
    access_blocks: HashMap<String, usize>,
    /// `aws_s3_bucket` address by bucket name.
    buckets: HashMap<String, &'a str>,
    /// Why the stack has a node autoscaler, if it does.
    autoscaler: Option<String>,
}

/// The address a reference points into: `aws_subnet.a.id` → `aws_subnet.a`.
fn ref_target(r: &str) -> &str {
    r.rsplit_once('.').map_or(r, |(a, _)| a)
}

fn plain(v: Option<&Val>) -> Option<&Val> {
    v.filter(|v| !v.is_null())
}

impl<'a> Cx<'a> {
    fn new(stack: &'a Stack) -> Self {
        let mut cx = Cx {
            stack,
            by_addr: HashMap::new(),
            repo_policies: HashMap::new(),
            access_blocks: HashMap::new(),
            buckets: HashMap::new(),
            autoscaler: stack.autoscaler.clone(),
        };
        for (i, inst) in stack.instances.iter().enumerate() {
            cx.by_addr.insert(inst.addr.as_str(), i);
            let key_of = |attr: &str| -> Option<String> {
                let v = plain(inst.body.field(attr))?;
                match &v.v {
                    V::Ref(r) => Some(format!("@{}", ref_target(r))),
                    _ => v.to_plain_string(),
                }
            };
            match inst.typ.as_str() {
                "aws_ecr_repository_policy" => {
                    if let Some(k) = key_of("repository") {
                        cx.repo_policies.entry(k).or_insert(i);
                    }
                }
                "aws_s3_bucket_public_access_block" => {
                    if let Some(k) = key_of("bucket") {
                        cx.access_blocks.entry(k).or_insert(i);
                    }
                }
                "aws_s3_bucket" => {
                    if let Some(b) = plain(inst.body.field("bucket")).and_then(Val::to_plain_string)
                    {
                        cx.buckets.entry(b).or_insert(inst.addr.as_str());
                    }
                }
                "helm_release" if cx.autoscaler.is_none() => {
                    let deploys = ["chart", "name", "repository"].iter().any(|a| {
                        plain(inst.body.field(a))
                            .and_then(Val::to_plain_string)
                            .is_some_and(|s| {
                                s.contains("cluster-autoscaler") || s.contains("karpenter")
                            })
                    });
                    if deploys {
                        cx.autoscaler = Some(format!("{} deploys a node autoscaler", inst.addr));
                    }
                }
                "aws_autoscaling_group_tag" if cx.autoscaler.is_none() => {
                    let tagged = inst
                        .body
                        .field("tag")
                        .and_then(Val::as_list)
                        .and_then(<[Val]>::first)
                        .and_then(|t| t.field("key"))
                        .and_then(Val::as_str)
                        == Some(AUTOSCALER_TAG);
                    if tagged {
                        cx.autoscaler = Some(format!(
                            "{} tags the node group for Cluster Autoscaler",
                            inst.addr
                        ));
                    }
                }
                _ => {}
            }
        }
        cx
    }

    fn inst(&self, addr: &str) -> Option<&'a Instance> {
        self.by_addr.get(addr).map(|i| &self.stack.instances[*i])
    }
}

/// What a typed read of a value gave.
enum Got {
    Known(Value),
    Unset,
    Unknown(String),
}

/// One canonical resource under construction.
struct Shape<'a> {
    cx: &'a Cx<'a>,
    inst: &'a Instance,
    kind: &'static str,
    body: Map<String, Value>,
    unknown: Map<String, Value>,
    fields: Vec<(Vec<PathSeg>, Src)>,
}

fn key(k: &str) -> PathSeg {
    PathSeg::Key(k.to_string())
}

fn path(keys: &[&str]) -> Vec<PathSeg> {
    keys.iter().map(|k| key(k)).collect()
}

/// A TF path with a block index: `["vpc_config", 0, "subnet_ids"]`.
fn tf(parts: &[(&str, Option<usize>)]) -> Vec<PathSeg> {
    let mut out = Vec::new();
    for (k, i) in parts {
        out.push(key(k));
        if let Some(i) = i {
            out.push(PathSeg::Index(*i));
        }
    }
    out
}

fn bool_of(v: Option<&Val>) -> Got {
    match plain(v) {
        None => Got::Unset,
        Some(v) => match (v.opaque(), v.to_bool()) {
            (Some(o), _) => Got::Unknown(o.to_string()),
            (None, Some(b)) => Got::Known(Value::Bool(b)),
            (None, None) => Got::Unknown(format!("a {} where a bool belongs", v.type_name())),
        },
    }
}

fn num_of(v: Option<&Val>) -> Got {
    match plain(v) {
        None => Got::Unset,
        Some(v) => match (v.opaque(), v.to_number()) {
            (Some(o), _) => Got::Unknown(o.to_string()),
            (None, Some(n)) => Got::Known(super::value::num_json(n)),
            (None, None) => Got::Unknown(format!("a {} where a number belongs", v.type_name())),
        },
    }
}

/// A string setting (an enum-like value): a reference is unknown.
fn str_of(v: Option<&Val>) -> Got {
    match plain(v) {
        None => Got::Unset,
        Some(v) => match (v.opaque(), v.to_plain_string()) {
            (Some(o), _) => Got::Unknown(o.to_string()),
            (None, Some(s)) => Got::Known(Value::String(s)),
            (None, None) => Got::Unknown(format!("a {} where a string belongs", v.type_name())),
        },
    }
}

/// An identity string (a name, an id, an ARN): a reference stays as its text.
fn ident_of(v: Option<&Val>) -> Got {
    match plain(v).map(|v| &v.v) {
        Some(V::Ref(r)) => Got::Known(Value::String(r.clone())),
        _ => str_of(v),
    }
}

/// A list of strings; `ident` keeps references as their text.
fn list_of(v: Option<&Val>, ident: bool) -> Got {
    let Some(v) = plain(v) else { return Got::Unset };
    if let Some(o) = v.opaque() {
        return Got::Unknown(o.to_string());
    }
    let Some(items) = v.as_list() else {
        return Got::Unknown(format!("a {} where a list belongs", v.type_name()));
    };
    let mut out = Vec::with_capacity(items.len());
    for i in items {
        match if ident {
            ident_of(Some(i))
        } else {
            str_of(Some(i))
        } {
            Got::Known(s) => out.push(s),
            Got::Unset => {}
            Got::Unknown(u) => return Got::Unknown(u),
        }
    }
    Got::Known(Value::Array(out))
}

/// A map of strings (tags).
fn map_of(v: Option<&Val>) -> Got {
    let Some(v) = plain(v) else { return Got::Unset };
    if let Some(o) = v.opaque() {
        return Got::Unknown(o.to_string());
    }
    let Some(m) = v.entries() else {
        return Got::Unknown(format!("a {} where a map belongs", v.type_name()));
    };
    let mut out = Map::new();
    for (k, i) in m {
        match ident_of(Some(i)) {
            Got::Known(s) => {
                out.insert(k.clone(), s);
            }
            Got::Unset => {
                out.insert(k.clone(), Value::Null);
            }
            Got::Unknown(u) => return Got::Unknown(u),
        }
    }
    Got::Known(Value::Object(out))
}

impl<'a> Shape<'a> {
    fn new(cx: &'a Cx<'a>, i: usize, kind: &'static str) -> Self {
        let inst = &cx.stack.instances[i];
        let mut body = Map::new();
        body.insert("kind".into(), Value::String(kind.into()));
        body.insert("name".into(), Value::String(inst.addr.clone()));
        Shape {
            cx,
            inst,
            kind,
            body,
            unknown: Map::new(),
            fields: Vec::new(),
        }
    }

    /// The configured value at a TF path of this instance.
    fn get(&self, tf_path: &[PathSeg]) -> Option<&'a Val> {
        get_path(&self.inst.body, tf_path)
    }

    /// Where a TF path of `inst` was set: the value's own place when it came through a module
    /// call, else the attribute or block, else the resource block.
    fn src_of(inst: &Instance, tf_path: &[PathSeg]) -> Src {
        if let Some(at) = get_path(&inst.body, tf_path).and_then(|v| v.at) {
            if inst.chain.iter().any(|c| c.contains(&at)) {
                return at;
            }
        }
        inst.spans
            .iter()
            .filter(|(p, _)| tf_path.starts_with(p))
            .max_by_key(|(p, _)| p.len())
            .map_or(inst.block, |(_, s)| *s)
    }

    fn src(&self, tf_path: &[PathSeg]) -> Src {
        Self::src_of(self.inst, tf_path)
    }

    /// Records a canonical field from a typed read.
    fn put(&mut self, field: &[&str], got: Got, default: Option<Value>, tf_path: &[PathSeg]) {
        let at = self.src(tf_path);
        match got {
            Got::Known(v) => {
                self.set(field, v);
                self.fields.push((path(field), at));
            }
            Got::Unset => {
                // A default points at the resource block (no span of its own).
                if let Some(d) = default {
                    self.set(field, d);
                }
            }
            Got::Unknown(input) => self.unknown(field[0], &input, at),
        }
    }

    fn set(&mut self, field: &[&str], v: Value) {
        let mut m = &mut self.body;
        for k in &field[..field.len() - 1] {
            let entry = m
                .entry((*k).to_string())
                .or_insert_with(|| Value::Object(Map::new()));
            if !entry.is_object() {
                *entry = Value::Object(Map::new());
            }
            let Value::Object(inner) = entry else { return };
            m = inner;
        }
        m.insert(field[field.len() - 1].to_string(), v);
    }

    fn unknown(&mut self, field: &str, input: &str, at: Src) {
        if self.unknown.contains_key(field) {
            return;
        }
        self.body.remove(field);
        self.unknown
            .insert(field.to_string(), Value::String(input.to_string()));
        self.fields.retain(|(p, _)| p.first() != Some(&key(field)));
        self.fields.push((vec![key(field)], at));
    }

    // ------------------------------------------------------------------ ECR

    fn ecr_repository(&mut self) {
        let name_path = path(&["name"]);
        self.put(
            &["repositoryName"],
            ident_of(self.get(&name_path)),
            None,
            &name_path,
        );
        let scan = tf(&[
            ("image_scanning_configuration", Some(0)),
            ("scan_on_push", None),
        ]);
        self.put(
            &["scanOnPush"],
            bool_of(self.get(&scan)),
            Some(Value::Bool(false)),
            &scan,
        );
        let mutability = path(&["image_tag_mutability"]);
        self.put(
            &["tagMutability"],
            str_of(self.get(&mutability)),
            Some(Value::String("MUTABLE".into())),
            &mutability,
        );
        self.repository_policy();
    }

    fn repository_policy(&mut self) {
        let by_name = plain(self.inst.body.field("name"))
            .and_then(Val::to_plain_string)
            .and_then(|n| self.cx.repo_policies.get(&n));
        let by_ref = self.cx.repo_policies.get(&format!("@{}", self.inst.addr));
        let Some(p) = by_ref.or(by_name).map(|i| &self.cx.stack.instances[*i]) else {
            self.body.insert("policy".into(), Value::Null);
            return;
        };
        let tf_path = path(&["policy"]);
        let at = Self::src_of(p, &tf_path);
        let Some(v) = plain(get_path(&p.body, &tf_path)) else {
            self.body.insert("policy".into(), Value::Null);
            return;
        };
        if let Some(o) = v.opaque() {
            self.unknown("policy", o, at);
            return;
        }
        match &v.v {
            V::Json(j) => {
                self.body.insert("policy".into(), j.1.to_json());
                self.fields.push((path(&["policy"]), at));
                let mut sub = Vec::new();
                collect_spans(&j.1, &mut vec![key("policy")], &mut sub);
                self.fields.extend(sub);
            }
            _ => match v.as_str().map(serde_json::from_str::<Value>) {
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

    fn ecr_scanning(&mut self) {
        let st = path(&["scan_type"]);
        self.put(
            &["scanType"],
            str_of(self.get(&st)),
            Some(Value::String("BASIC".into())),
            &st,
        );
        let mut rules = Vec::new();
        let rule_blocks = self
            .get(&path(&["rule"]))
            .and_then(Val::as_list)
            .unwrap_or(&[]);
        for (i, r) in rule_blocks.iter().enumerate() {
            let freq = match str_of(r.field("scan_frequency")) {
                Got::Known(v) => v,
                Got::Unset => Value::Null,
                Got::Unknown(u) => {
                    let at = self.src(&tf(&[("rule", Some(i)), ("scan_frequency", None)]));
                    return self.unknown("rules", &u, at);
                }
            };
            let mut filters = Vec::new();
            for f in r
                .field("repository_filter")
                .and_then(Val::as_list)
                .unwrap_or(&[])
            {
                let filter = match str_of(f.field("filter")) {
                    Got::Known(v) => v,
                    Got::Unset => Value::Null,
                    Got::Unknown(u) => {
                        let at = self.src(&tf(&[("rule", Some(i))]));
                        return self.unknown("rules", &u, at);
                    }
                };
                let ft = match str_of(f.field("filter_type")) {
                    Got::Known(v) => v,
                    _ => Value::String("WILDCARD".into()),
                };
                filters.push(super::value::object(vec![
                    ("filter", filter),
                    ("filterType", ft),
                ]));
            }
            rules.push(super::value::object(vec![
                ("scanFrequency", freq),
                ("filters", Value::Array(filters)),
            ]));
            let rule_src = self.src(&tf(&[("rule", Some(i))]));
            self.fields
                .push((vec![key("rules"), PathSeg::Index(i)], rule_src));
            let freq_src = self.src(&tf(&[("rule", Some(i)), ("scan_frequency", None)]));
            self.fields.push((
                vec![key("rules"), PathSeg::Index(i), key("scanFrequency")],
                freq_src,
            ));
        }
        if !rule_blocks.is_empty() {
            let at = self.src(&path(&["rule"]));
            self.fields.push((path(&["rules"]), at));
        }
        self.body.insert("rules".into(), Value::Array(rules));
    }

    // ------------------------------------------------------------------ EKS

    fn eks_cluster(&mut self) {
        let vpc = |a: &str| tf(&[("vpc_config", Some(0)), (a, None)]);
        let p = vpc("endpoint_private_access");
        self.put(
            &["endpointPrivateAccess"],
            bool_of(self.get(&p)),
            Some(Value::Bool(false)),
            &p,
        );
        let p = vpc("endpoint_public_access");
        self.put(
            &["endpointPublicAccess"],
            bool_of(self.get(&p)),
            Some(Value::Bool(true)),
            &p,
        );
        let p = vpc("public_access_cidrs");
        self.put(
            &["publicAccessCidrs"],
            list_of(self.get(&p), false),
            Some(Value::Array(vec![Value::String("0.0.0.0/0".into())])),
            &p,
        );
        let p = path(&["enabled_cluster_log_types"]);
        self.put(
            &["enabledLogTypes"],
            list_of(self.get(&p), false),
            Some(Value::Array(Vec::new())),
            &p,
        );
        self.eks_encryption();
        let p = vpc("subnet_ids");
        self.put(
            &["subnetIds"],
            list_of(self.get(&p), true),
            Some(Value::Array(Vec::new())),
            &p,
        );
    }

    fn eks_encryption(&mut self) {
        let p = path(&["encryption_config"]);
        let v = self.get(&p);
        if let Some(o) = v.and_then(Val::opaque) {
            let at = self.src(&p);
            return self.unknown("encryption", o, at);
        }
        let mut entries = Vec::new();
        for (i, e) in v.and_then(Val::as_list).unwrap_or(&[]).iter().enumerate() {
            let resources = match list_of(e.field("resources"), false) {
                Got::Known(v) => v,
                Got::Unset => Value::Array(Vec::new()),
                Got::Unknown(u) => {
                    let at = self.src(&tf(&[("encryption_config", Some(i)), ("resources", None)]));
                    return self.unknown("encryption", &u, at);
                }
            };
            let key_arn = e
                .field("provider")
                .and_then(Val::as_list)
                .and_then(<[Val]>::first)
                .and_then(|p| p.field("key_arn"));
            let mut entry = vec![("resources", resources)];
            match ident_of(key_arn) {
                Got::Known(k) => entry.push(("keyArn", k)),
                Got::Unset => {}
                Got::Unknown(u) => {
                    let at = self.src(&tf(&[("encryption_config", Some(i))]));
                    return self.unknown("encryption", &u, at);
                }
            }
            entries.push(super::value::object(entry));
            let at = self.src(&tf(&[("encryption_config", Some(i))]));
            self.fields
                .push((vec![key("encryption"), PathSeg::Index(i)], at));
        }
        if v.is_some() {
            let at = self.src(&p);
            self.fields.push((path(&["encryption"]), at));
        }
        self.body.insert("encryption".into(), Value::Array(entries));
    }

    fn node_group(&mut self) {
        let p = path(&["cluster_name"]);
        self.put(&["cluster"], ident_of(self.get(&p)), None, &p);
        let sp = path(&["subnet_ids"]);
        let subnets = self.get(&sp);
        self.put(&["subnetIds"], list_of(subnets, true), None, &sp);
        self.availability_zones(subnets, &sp);
        self.scaling();
        let tp = path(&["tags"]);
        let tags = self.get(&tp);
        self.put(
            &["tags"],
            map_of(tags),
            Some(Value::Object(Map::new())),
            &tp,
        );
        if let Some(m) = plain(tags).and_then(Val::entries) {
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
        let autoscaler = tagged || self.cx.autoscaler.is_some();
        self.body
            .insert("autoscaler".into(), Value::Bool(autoscaler));
    }

    fn scaling(&mut self) {
        let block = tf(&[("scaling_config", Some(0))]);
        let mut scaling = Map::new();
        for (field, attr) in [
            ("min", "min_size"),
            ("max", "max_size"),
            ("desired", "desired_size"),
        ] {
            let p = tf(&[("scaling_config", Some(0)), (attr, None)]);
            match num_of(self.get(&p)) {
                Got::Known(n) => {
                    scaling.insert(field.into(), n);
                    let at = self.src(&p);
                    self.fields.push((path(&["scaling", field]), at));
                }
                Got::Unset => {}
                Got::Unknown(u) => {
                    let at = self.src(&p);
                    return self.unknown("scaling", &u, at);
                }
            }
        }
        if self.get(&block).is_some() {
            let at = self.src(&block);
            self.fields.push((path(&["scaling"]), at));
        }
        self.body.insert("scaling".into(), Value::Object(scaling));
    }

    /// The distinct AZs of the node group's subnets: each subnet reference is followed to its
    /// `aws_subnet` and that subnet's `availability_zone`.
    fn availability_zones(&mut self, subnets: Option<&Val>, sp: &[PathSeg]) {
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
        match resolve_azs(self.cx, items) {
            Ok(azs) => {
                self.body.insert(
                    "availabilityZones".into(),
                    Value::Array(azs.into_iter().map(Value::String).collect()),
                );
                self.fields.push((path(&["availabilityZones"]), at));
            }
            Err(input) => self.unknown("availabilityZones", &input, at),
        }
    }

    fn subnet(&mut self) {
        self.body
            .insert("id".into(), Value::String(format!("{}.id", self.inst.addr)));
        let p = path(&["availability_zone"]);
        let az = plain(self.get(&p)).or_else(|| plain(self.get(&path(&["availability_zone_id"]))));
        let at = self.src(&p);
        match az.map(|v| (&v.v, v)) {
            Some((V::Str(s), _)) => {
                self.body
                    .insert("availabilityZone".into(), Value::String(s.clone()));
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

    // ------------------------------------------------------------------ S3 and CloudFront

    fn s3_bucket(&mut self) {
        let p = path(&["bucket"]);
        match ident_of(self.get(&p)) {
            Got::Unset => {
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
            .and_then(Val::to_plain_string)
            .and_then(|n| self.cx.access_blocks.get(&n));
        let by_ref = self.cx.access_blocks.get(&format!("@{}", self.inst.addr));
        let Some(pab) = by_ref.or(by_name).map(|i| &self.cx.stack.instances[*i]) else {
            self.body.insert("publicAccessBlock".into(), Value::Null);
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
                Got::Known(v) => {
                    block.insert(field.into(), v);
                    self.fields.push((path(&["publicAccessBlock", field]), at));
                }
                Got::Unset => {
                    block.insert(field.into(), Value::Bool(false));
                }
                Got::Unknown(u) => return self.unknown("publicAccessBlock", &u, at),
            }
        }
        self.fields.push((path(&["publicAccessBlock"]), pab.block));
        self.body
            .insert("publicAccessBlock".into(), Value::Object(block));
    }

    fn cloudfront(&mut self) {
        // Default cache behavior.
        let p = tf(&[
            ("default_cache_behavior", Some(0)),
            ("viewer_protocol_policy", None),
        ]);
        let mut dcb = Map::new();
        match str_of(self.get(&p)) {
            Got::Known(v) => {
                dcb.insert("viewerProtocolPolicy".into(), v);
                let at = self.src(&p);
                self.fields
                    .push((path(&["defaultCacheBehavior", "viewerProtocolPolicy"]), at));
            }
            Got::Unset => {}
            Got::Unknown(u) => {
                let at = self.src(&p);
                self.unknown("defaultCacheBehavior", &u, at);
            }
        }
        if !self.unknown.contains_key("defaultCacheBehavior") {
            let b = tf(&[("default_cache_behavior", Some(0))]);
            if self.get(&b).is_some() {
                let at = self.src(&b);
                self.fields.push((path(&["defaultCacheBehavior"]), at));
            }
            self.body
                .insert("defaultCacheBehavior".into(), Value::Object(dcb));
        }
        // Ordered cache behaviors.
        let mut ordered = Vec::new();
        let blocks = self
            .get(&path(&["ordered_cache_behavior"]))
            .and_then(Val::as_list)
            .unwrap_or(&[]);
        let mut ok = true;
        for (i, b) in blocks.iter().enumerate() {
            let mut m = Map::new();
            for (field, attr) in [
                ("pathPattern", "path_pattern"),
                ("viewerProtocolPolicy", "viewer_protocol_policy"),
            ] {
                let p = tf(&[("ordered_cache_behavior", Some(i)), (attr, None)]);
                match str_of(b.field(attr)) {
                    Got::Known(v) => {
                        m.insert(field.into(), v);
                        let at = self.src(&p);
                        self.fields.push((
                            vec![key("orderedCacheBehaviors"), PathSeg::Index(i), key(field)],
                            at,
                        ));
                    }
                    Got::Unset => {}
                    Got::Unknown(u) => {
                        let at = self.src(&p);
                        self.unknown("orderedCacheBehaviors", &u, at);
                        ok = false;
                    }
                }
            }
            let at = self.src(&tf(&[("ordered_cache_behavior", Some(i))]));
            self.fields
                .push((vec![key("orderedCacheBehaviors"), PathSeg::Index(i)], at));
            ordered.push(Value::Object(m));
        }
        if ok {
            self.body
                .insert("orderedCacheBehaviors".into(), Value::Array(ordered));
        }
        // Viewer certificate.
        let vc = |a: &str| tf(&[("viewer_certificate", Some(0)), (a, None)]);
        let mut cert = Map::new();
        let mut cert_ok = true;
        let p = vc("minimum_protocol_version");
        match str_of(self.get(&p)) {
            Got::Known(v) => {
                cert.insert("minimumProtocolVersion".into(), v);
                let at = self.src(&p);
                self.fields
                    .push((path(&["viewerCertificate", "minimumProtocolVersion"]), at));
            }
            Got::Unset => {}
            Got::Unknown(u) => {
                let at = self.src(&p);
                self.unknown("viewerCertificate", &u, at);
                cert_ok = false;
            }
        }
        let p = vc("cloudfront_default_certificate");
        match bool_of(self.get(&p)) {
            Got::Known(v) => {
                cert.insert("cloudfrontDefaultCertificate".into(), v);
                let at = self.src(&p);
                self.fields.push((
                    path(&["viewerCertificate", "cloudfrontDefaultCertificate"]),
                    at,
                ));
            }
            Got::Unset => {
                cert.insert("cloudfrontDefaultCertificate".into(), Value::Bool(false));
            }
            Got::Unknown(u) => {
                let at = self.src(&p);
                self.unknown("viewerCertificate", &u, at);
                cert_ok = false;
            }
        }
        if cert_ok {
            let b = tf(&[("viewer_certificate", Some(0))]);
            if self.get(&b).is_some() {
                let at = self.src(&b);
                self.fields.push((path(&["viewerCertificate"]), at));
            }
            self.body
                .insert("viewerCertificate".into(), Value::Object(cert));
        }
        self.origins();
    }

    fn origins(&mut self) {
        let blocks = self
            .get(&path(&["origin"]))
            .and_then(Val::as_list)
            .unwrap_or(&[]);
        let mut out = Vec::new();
        for (i, o) in blocks.iter().enumerate() {
            let mut m = Map::new();
            let at = |s: &Self, attr: &[(&str, Option<usize>)]| {
                let mut parts = vec![("origin", Some(i))];
                parts.extend_from_slice(attr);
                s.src(&tf(&parts))
            };
            let oac = o.field("origin_access_control_id");
            let oai = o
                .field("s3_origin_config")
                .and_then(Val::as_list)
                .and_then(<[Val]>::first)
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
                    Got::Known(v) => {
                        m.insert(field.into(), v);
                        self.fields
                            .push((vec![key("origins"), PathSeg::Index(i), key(field)], src));
                    }
                    Got::Unset => {
                        m.insert(field.into(), Value::Null);
                    }
                    Got::Unknown(u) => return self.unknown("origins", &u, src),
                }
            }
            m.insert(
                "s3Bucket".into(),
                plain(domain)
                    .and_then(|d| s3_bucket_of(self.cx, d))
                    .map_or(Value::Null, Value::String),
            );
            let src = at(self, &[]);
            self.fields
                .push((vec![key("origins"), PathSeg::Index(i)], src));
            out.push(Value::Object(m));
        }
        if !blocks.is_empty() {
            let at = self.src(&path(&["origin"]));
            self.fields.push((path(&["origins"]), at));
        }
        self.body.insert("origins".into(), Value::Array(out));
    }

    // ------------------------------------------------------------------ edge

    fn api_domain(&mut self) {
        let p = path(&["domain_name"]);
        self.put(&["domainName"], ident_of(self.get(&p)), None, &p);
        if self.inst.typ == "aws_apigatewayv2_domain_name" {
            let c = |a: &str| tf(&[("domain_name_configuration", Some(0)), (a, None)]);
            let p = c("security_policy");
            self.put(&["securityPolicy"], str_of(self.get(&p)), None, &p);
            let p = c("endpoint_type");
            self.put(
                &["endpointType"],
                str_of(self.get(&p)),
                Some(Value::String("REGIONAL".into())),
                &p,
            );
        } else {
            let p = path(&["security_policy"]);
            self.put(&["securityPolicy"], str_of(self.get(&p)), None, &p);
            let p = tf(&[("endpoint_configuration", Some(0)), ("types", None)]);
            let types = self.get(&p);
            let first = types.and_then(Val::as_list).and_then(<[Val]>::first);
            let got = match (types.and_then(Val::opaque), first) {
                (Some(o), _) => Got::Unknown(o.to_string()),
                (None, f) => str_of(f),
            };
            self.put(
                &["endpointType"],
                got,
                Some(Value::String("EDGE".into())),
                &p,
            );
        }
    }

    fn listener(&mut self) {
        let p = path(&["protocol"]);
        self.put(
            &["protocol"],
            str_of(self.get(&p)),
            Some(Value::String("HTTP".into())),
            &p,
        );
        let p = path(&["port"]);
        self.put(&["port"], num_of(self.get(&p)), None, &p);
        let p = path(&["ssl_policy"]);
        self.put(&["sslPolicy"], str_of(self.get(&p)), None, &p);
        let blocks = self
            .get(&path(&["default_action"]))
            .and_then(Val::as_list)
            .unwrap_or(&[]);
        let mut actions = Vec::new();
        let mut ok = true;
        for (i, a) in blocks.iter().enumerate() {
            let mut m = Map::new();
            let tp = tf(&[("default_action", Some(i)), ("type", None)]);
            match str_of(a.field("type")) {
                Got::Known(v) => {
                    m.insert("type".into(), v);
                    let at = self.src(&tp);
                    self.fields.push((
                        vec![key("defaultActions"), PathSeg::Index(i), key("type")],
                        at,
                    ));
                }
                Got::Unset => {}
                Got::Unknown(u) => {
                    let at = self.src(&tp);
                    self.unknown("defaultActions", &u, at);
                    ok = false;
                }
            }
            if let Some(r) = a
                .field("redirect")
                .and_then(Val::as_list)
                .and_then(<[Val]>::first)
            {
                let rp = tf(&[
                    ("default_action", Some(i)),
                    ("redirect", Some(0)),
                    ("protocol", None),
                ]);
                let protocol = match str_of(r.field("protocol")) {
                    Got::Known(v) => {
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
                    Got::Unset => Value::String("#{protocol}".into()),
                    Got::Unknown(u) => {
                        let at = self.src(&rp);
                        self.unknown("defaultActions", &u, at);
                        ok = false;
                        Value::Null
                    }
                };
                m.insert(
                    "redirect".into(),
                    super::value::object(vec![("protocol", protocol)]),
                );
                let at = self.src(&tf(&[("default_action", Some(i)), ("redirect", Some(0))]));
                self.fields.push((
                    vec![key("defaultActions"), PathSeg::Index(i), key("redirect")],
                    at,
                ));
            }
            let at = self.src(&tf(&[("default_action", Some(i))]));
            self.fields
                .push((vec![key("defaultActions"), PathSeg::Index(i)], at));
            actions.push(Value::Object(m));
        }
        if ok {
            self.body
                .insert("defaultActions".into(), Value::Array(actions));
        }
        // `internal` comes from the load balancer the listener belongs to (null when unknown).
        let internal = plain(self.inst.body.field("load_balancer_arn"))
            .and_then(|v| match &v.v {
                V::Ref(r) => self.cx.inst(ref_target(r)),
                _ => None,
            })
            .filter(|lb| matches!(lb.typ.as_str(), "aws_lb" | "aws_alb"))
            .map(|lb| match bool_of(lb.body.field("internal")) {
                Got::Known(v) => v,
                Got::Unset => Value::Bool(false),
                Got::Unknown(_) => Value::Null,
            })
            .unwrap_or(Value::Null);
        self.body.insert("internal".into(), internal);
    }

    // ------------------------------------------------------------------ result

    /// The resource, its origin (one file: see [`origin`]) and its unknown-value notes.
    fn finish(mut self) -> (Resource, Vec<Diagnostic>) {
        self.body
            .insert("unknown".into(), Value::Object(self.unknown.clone()));
        self.body
            .insert("stack".into(), Value::String(self.cx.stack.name.clone()));
        let origin = origin(self.inst, &self.cx.stack.files, &self.fields);
        let resource = Resource {
            kind: self.kind.to_string(),
            namespace: String::new(),
            name: self.inst.addr.clone(),
            body: Value::Object(self.body),
            origin,
            ignores: inline_ignores(&self.inst.ignores, &self.cx.stack.files),
        };
        let diags = unknown_notes(&resource, &self.unknown, &self.cx.stack.reasons);
        (resource, diags)
    }
}

/// The origin of a resource: one file, chosen as the outermost file of its module chain that
/// sets one of its fields (the root's module call, when an input came from there), with the
/// spans that lie in that file. Fields set deeper point at the module call in that file.
#[must_use]
pub fn origin(
    inst: &Instance,
    files: &[Arc<crate::model::SourceFile>],
    fields: &[(Vec<PathSeg>, Src)],
) -> Origin {
    let depth = |s: &Src| {
        inst.chain
            .iter()
            .position(|c| c.file == s.file)
            .or_else(|| (s.file == inst.block.file).then_some(inst.chain.len()))
    };
    let block_depth = depth(&inst.block).unwrap_or(inst.chain.len());
    let d = fields
        .iter()
        .filter_map(|(_, s)| depth(s))
        .min()
        .unwrap_or(block_depth)
        .min(block_depth);
    let (file, fallback) = if d >= inst.chain.len() {
        (inst.block.file, inst.block.span)
    } else {
        (inst.chain[d].file, inst.chain[d].span)
    };
    let span = if inst.block.file == file {
        inst.block.span
    } else {
        fallback
    };
    let spans: Vec<(Vec<PathSeg>, Span)> = fields
        .iter()
        .filter(|(_, s)| s.file == file)
        .map(|(p, s)| (p.clone(), s.span))
        .collect();
    Origin::File {
        file: files.get(file as usize).cloned().unwrap_or_else(|| {
            Arc::new(crate::model::SourceFile {
                path: String::new(),
                text: String::new(),
            })
        }),
        span,
        spans: SpanIndex::Map(spans),
    }
}

/// The `# blogaudit:ignore` comments above a resource and above the module calls that made it.
fn inline_ignores(
    ignores: &[(String, Src)],
    files: &[Arc<crate::model::SourceFile>],
) -> Vec<InlineIgnore> {
    ignores
        .iter()
        .map(|(entry, src)| InlineIgnore {
            entry: entry.clone(),
            file: files
                .get(src.file as usize)
                .map(|f| f.path.clone())
                .unwrap_or_default(),
            span: src.span,
        })
        .collect()
}

/// One `terraform-unknown` note per unknown field, at the field.
#[must_use]
pub fn unknown_notes(
    r: &Resource,
    unknown: &Map<String, Value>,
    reasons: &HashMap<String, String>,
) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for (field, input) in unknown {
        let input = input.as_str().unwrap_or("?");
        let why = reasons
            .get(input)
            .map(|r| format!(" ({r})"))
            .unwrap_or_default();
        let help = if input.starts_with("var.") || input.contains(".var.") {
            format!("set `{input}` in a .tfvars file or with --var")
        } else if input.contains("count.index") || input.contains("each.") {
            "set the values its count/for_each depends on".to_string()
        } else {
            "it is only known after apply; scan a plan JSON (`terraform show -json`) to check it"
                .to_string()
        };
        let mut d = Diagnostic::note(
            "terraform-unknown",
            format!(
                "{}: {field} cannot be known: it depends on {input}{why}",
                r.name
            ),
        )
        .help(help);
        if let Some(f) = r.file() {
            d = d.in_file(&f.path);
        }
        if let Some((span, _)) = r.locate(&[PathSeg::Key(field.clone())]) {
            d = d.at(span.start);
        }
        out.push(d);
    }
    out
}

/// The value at a TF path (`["vpc_config", 0, "subnet_ids"]`) of a resource body.
#[must_use]
pub fn get_path<'v>(v: &'v Val, p: &[PathSeg]) -> Option<&'v Val> {
    let mut cur = v;
    for seg in p {
        cur = match seg {
            PathSeg::Key(k) => cur.field(k)?,
            PathSeg::Index(i) => cur.as_list()?.get(*i)?,
        };
    }
    Some(cur)
}

/// Spans of every value inside a `jsonencode`d document that was written in place.
fn collect_spans(v: &Val, p: &mut Vec<PathSeg>, out: &mut Vec<(Vec<PathSeg>, Src)>) {
    if let Some(at) = v.at {
        if p.len() > 1 {
            out.push((p.clone(), at));
        }
    }
    match &v.v {
        V::List(items) => {
            for (i, x) in items.iter().enumerate() {
                p.push(PathSeg::Index(i));
                collect_spans(x, p, out);
                p.pop();
            }
        }
        V::Map(m) => {
            for (k, x) in m {
                p.push(PathSeg::Key(k.clone()));
                collect_spans(x, p, out);
                p.pop();
            }
        }
        _ => {}
    }
}

/// The canonical name of the `aws_s3_bucket` an origin's domain name reaches.
fn s3_bucket_of(cx: &Cx, domain: &Val) -> Option<String> {
    match &domain.v {
        V::Ref(r) => {
            let target = ref_target(r);
            cx.inst(target)
                .filter(|i| i.typ == "aws_s3_bucket")
                .map(|i| i.addr.clone())
        }
        _ => {
            let d = domain.to_plain_string()?;
            let idx = d.find(".s3.").or_else(|| d.find(".s3-"))?;
            if d[idx..].starts_with(".s3-website") {
                return None;
            }
            cx.buckets.get(&d[..idx]).map(|a| (*a).to_string())
        }
    }
}

/// Distinct AZs of a list of subnet references. `Err` names what keeps them unknown.
fn resolve_azs(cx: &Cx, subnets: &[Val]) -> Result<Vec<String>, String> {
    let mut concrete: Vec<String> = Vec::new();
    let mut symbolic: BTreeSet<String> = BTreeSet::new();
    for s in subnets {
        let az = match &s.v {
            V::Ref(r) => {
                let target = ref_target(r);
                let Some(sub) = cx.inst(target).filter(|i| i.typ == "aws_subnet") else {
                    return Err(r.clone());
                };
                let az = plain(sub.body.field("availability_zone"))
                    .or_else(|| plain(sub.body.field("availability_zone_id")));
                match az {
                    None => {
                        return Err(format!(
                            "{target}.availability_zone (AWS picks one at apply)"
                        ))
                    }
                    Some(v) => v.clone(),
                }
            }
            V::Unknown(u) => return Err(u.clone()),
            _ => {
                let id = s.to_plain_string().unwrap_or_default();
                return Err(format!(
                    "the availability zone of subnet {id} (not in the configuration)"
                ));
            }
        };
        match &az.v {
            V::Str(a) => {
                if !concrete.contains(a) {
                    concrete.push(a.clone());
                }
            }
            V::Ref(r) => {
                symbolic.insert(r.clone());
            }
            _ => return Err(az.opaque().unwrap_or("availability_zone").to_string()),
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
    Err(symbolic.into_iter().next().unwrap_or_default())
}
