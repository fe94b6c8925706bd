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
//!
//! One table, [`KINDS`], says which Terraform resource types make which canonical kind and
//! which builder fills it; the builders live in one module per family of kinds:
//!
//! | module | kinds |
//! |---|---|
//! | [`ecr`] | `aws:EcrRepository` (with its repository policy), `aws:EcrRegistryScanning` |
//! | [`eks`] | `aws:EksCluster`, `aws:EksNodeGroup` |
//! | [`network`] | `aws:Subnet`, and the availability zones a list of subnets reaches |
//! | [`s3`] | `aws:S3Bucket` (with its public access block) |
//! | [`edge`] | `aws:CloudFrontDistribution`, `aws:ApiGatewayDomain`, `aws:LbListener` |
//!
//! [`index`] holds the joins between resources of one stack, and [`read`] the typed reads of a
//! configured value.

mod ecr;
mod edge;
mod eks;
mod index;
mod network;
mod read;
mod s3;

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::{Map, Value as Json};

use self::index::StackIndex;
use self::read::Reading;
use super::value::{StackSpan, Value, ValueKind};
use super::{Instance, Stack};
use crate::model::{Diagnostic, InlineIgnore, Origin, PathSeg, Resource, Span, SpanIndex};

/// The tag Cluster Autoscaler discovers node groups by.
pub const AUTOSCALER_TAG: &str = "k8s.io/cluster-autoscaler/enabled";

/// A canonical kind: the Terraform resource types that make it and the builder that fills its
/// fields.
struct KindSpec {
    types: &'static [&'static str],
    kind: &'static str,
    build: fn(&mut Shape<'_>),
}

/// Every canonical kind a Terraform resource maps to.
const KINDS: &[KindSpec] = &[
    KindSpec {
        types: &["aws_ecr_repository"],
        kind: "aws:EcrRepository",
        build: |s| s.ecr_repository(),
    },
    KindSpec {
        types: &["aws_ecr_registry_scanning_configuration"],
        kind: "aws:EcrRegistryScanning",
        build: |s| s.ecr_scanning(),
    },
    KindSpec {
        types: &["aws_eks_cluster"],
        kind: "aws:EksCluster",
        build: |s| s.eks_cluster(),
    },
    KindSpec {
        types: &["aws_eks_node_group"],
        kind: "aws:EksNodeGroup",
        build: |s| s.node_group(),
    },
    KindSpec {
        types: &["aws_subnet"],
        kind: "aws:Subnet",
        build: |s| s.subnet(),
    },
    KindSpec {
        types: &["aws_s3_bucket"],
        kind: "aws:S3Bucket",
        build: |s| s.s3_bucket(),
    },
    KindSpec {
        types: &["aws_cloudfront_distribution"],
        kind: "aws:CloudFrontDistribution",
        build: |s| s.cloudfront(),
    },
    KindSpec {
        types: &[
            "aws_api_gateway_domain_name",
            "aws_apigatewayv2_domain_name",
        ],
        kind: "aws:ApiGatewayDomain",
        build: |s| s.api_domain(),
    },
    KindSpec {
        types: &["aws_lb_listener", "aws_alb_listener"],
        kind: "aws:LbListener",
        build: |s| s.listener(),
    },
];

/// Maps every instance of a stack that has a canonical kind.
#[must_use]
pub fn map(stack: &Stack) -> (Vec<Resource>, Vec<Diagnostic>) {
    let index = StackIndex::new(stack);
    let mut out = Vec::new();
    let mut diags = Vec::new();
    for (i, inst) in stack.instances.iter().enumerate() {
        let typ = inst.typ.as_str();
        let Some(spec) = KINDS.iter().find(|k| k.types.contains(&typ)) else {
            continue;
        };
        let mut shape = Shape::new(&index, i, spec.kind);
        (spec.build)(&mut shape);
        let (r, d) = shape.finish();
        out.push(r);
        diags.extend(d);
    }
    (out, diags)
}

/// The address a reference points into: `aws_subnet.a.id` → `aws_subnet.a`.
fn ref_target(r: &str) -> &str {
    r.rsplit_once('.').map_or(r, |(a, _)| a)
}

/// One canonical resource under construction.
struct Shape<'a> {
    index: &'a StackIndex<'a>,
    inst: &'a Instance,
    kind: &'static str,
    body: Map<String, Json>,
    unknown: Map<String, Json>,
    fields: Vec<(Vec<PathSeg>, StackSpan)>,
}

fn key(k: &str) -> PathSeg {
    PathSeg::Key(k.to_string())
}

fn path(keys: &[&str]) -> Vec<PathSeg> {
    keys.iter().map(|k| key(k)).collect()
}

/// A TF path with a block index: `["vpc_config", 0, "subnet_ids"]`.
fn block_path(parts: &[(&str, Option<usize>)]) -> Vec<PathSeg> {
    let mut out = Vec::new();
    for (k, i) in parts {
        out.push(key(k));
        if let Some(i) = i {
            out.push(PathSeg::Index(*i));
        }
    }
    out
}

impl<'a> Shape<'a> {
    fn new(index: &'a StackIndex<'a>, i: usize, kind: &'static str) -> Self {
        let inst = &index.stack.instances[i];
        let mut body = Map::new();
        body.insert("kind".into(), Json::String(kind.into()));
        body.insert("name".into(), Json::String(inst.addr.clone()));
        Shape {
            index,
            inst,
            kind,
            body,
            unknown: Map::new(),
            fields: Vec::new(),
        }
    }

    /// The configured value at a TF path of this instance.
    fn get(&self, tf_path: &[PathSeg]) -> Option<&'a Value> {
        get_path(&self.inst.body, tf_path)
    }

    /// Where a TF path of `inst` was set: the value's own place when it came through a module
    /// call, else the attribute or block, else the resource block.
    fn src_of(inst: &Instance, tf_path: &[PathSeg]) -> StackSpan {
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

    fn src(&self, tf_path: &[PathSeg]) -> StackSpan {
        Self::src_of(self.inst, tf_path)
    }

    /// Records a canonical field from a typed read.
    fn put(&mut self, field: &[&str], got: Reading, default: Option<Json>, tf_path: &[PathSeg]) {
        let at = self.src(tf_path);
        match got {
            Reading::Known(v) => {
                self.set(field, v);
                self.fields.push((path(field), at));
            }
            Reading::Unset => {
                // A default points at the resource block (no span of its own).
                if let Some(d) = default {
                    self.set(field, d);
                }
            }
            Reading::Unknown(input) => self.unknown(field[0], &input, at),
        }
    }

    fn set(&mut self, field: &[&str], v: Json) {
        let mut m = &mut self.body;
        for k in &field[..field.len() - 1] {
            let entry = m
                .entry((*k).to_string())
                .or_insert_with(|| Json::Object(Map::new()));
            if !entry.is_object() {
                *entry = Json::Object(Map::new());
            }
            let Json::Object(inner) = entry else { return };
            m = inner;
        }
        m.insert(field[field.len() - 1].to_string(), v);
    }

    fn unknown(&mut self, field: &str, input: &str, at: StackSpan) {
        if self.unknown.contains_key(field) {
            return;
        }
        self.body.remove(field);
        self.unknown
            .insert(field.to_string(), Json::String(input.to_string()));
        self.fields.retain(|(p, _)| p.first() != Some(&key(field)));
        self.fields.push((vec![key(field)], at));
    }

    /// Records one member of a nested canonical object (`scaling.min`,
    /// `orderedCacheBehaviors[0].pathPattern`) from a typed read: a known value goes into
    /// `object` with its span `at` under `field`, an unset one takes `default` when there is
    /// one, and an unknown one makes the whole top-level field unknown and gives `false`.
    fn put_member(
        &mut self,
        object: &mut Map<String, Json>,
        field: Vec<PathSeg>,
        reading: Reading,
        default: Option<Json>,
        at: StackSpan,
    ) -> bool {
        let (Some(PathSeg::Key(top)), Some(PathSeg::Key(name))) = (field.first(), field.last())
        else {
            return true;
        };
        match reading {
            Reading::Known(v) => {
                object.insert(name.clone(), v);
                self.fields.push((field, at));
            }
            Reading::Unset => {
                if let Some(d) = default {
                    object.insert(name.clone(), d);
                }
            }
            Reading::Unknown(u) => {
                let top = top.clone();
                self.unknown(&top, &u, at);
                return false;
            }
        }
        true
    }

    /// The resource, its origin (one file: see [`origin`]) and its unknown-value notes.
    fn finish(mut self) -> (Resource, Vec<Diagnostic>) {
        self.body
            .insert("unknown".into(), Json::Object(self.unknown.clone()));
        self.body
            .insert("stack".into(), Json::String(self.index.stack.name.clone()));
        let origin = origin(self.inst, &self.index.stack.files, &self.fields);
        let resource = Resource {
            kind: self.kind.to_string(),
            namespace: String::new(),
            name: self.inst.addr.clone(),
            body: Json::Object(self.body),
            origin,
            ignores: inline_ignores(&self.inst.ignores, &self.index.stack.files),
        };
        let diags = unknown_notes(&resource, &self.unknown, &self.index.stack.reasons);
        (resource, diags)
    }
}

/// The `# blogaudit:ignore` comments above a resource and above the module calls that made it,
/// each with its own file and place.
fn inline_ignores(
    ignores: &[(String, StackSpan)],
    files: &[Arc<crate::model::SourceFile>],
) -> Vec<InlineIgnore> {
    ignores
        .iter()
        .map(|(entry, at)| InlineIgnore {
            entry: entry.clone(),
            file: files
                .get(at.file as usize)
                .map(|f| f.path.clone())
                .unwrap_or_default(),
            span: at.span,
        })
        .collect()
}

/// The origin of a resource: one file, chosen as the outermost file of its module chain that
/// sets one of its fields (the root's module call, when an input came from there), with the
/// spans that lie in that file. Fields set deeper point at the module call in that file.
#[must_use]
pub fn origin(
    inst: &Instance,
    files: &[Arc<crate::model::SourceFile>],
    fields: &[(Vec<PathSeg>, StackSpan)],
) -> Origin {
    let depth = |s: &StackSpan| {
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

/// One `terraform-unknown` note per unknown field, at the field.
#[must_use]
pub fn unknown_notes(
    r: &Resource,
    unknown: &Map<String, Json>,
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
pub fn get_path<'v>(v: &'v Value, p: &[PathSeg]) -> Option<&'v Value> {
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
fn collect_spans(v: &Value, p: &mut Vec<PathSeg>, out: &mut Vec<(Vec<PathSeg>, StackSpan)>) {
    if let Some(at) = v.at {
        if p.len() > 1 {
            out.push((p.clone(), at));
        }
    }
    match &v.kind {
        ValueKind::List(items) => {
            for (i, x) in items.iter().enumerate() {
                p.push(PathSeg::Index(i));
                collect_spans(x, p, out);
                p.pop();
            }
        }
        ValueKind::Map(m) => {
            for (k, x) in m {
                p.push(PathSeg::Key(k.clone()));
                collect_spans(x, p, out);
                p.pop();
            }
        }
        _ => {}
    }
}
