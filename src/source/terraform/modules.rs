//! Module sources: local directories are evaluated like the root (see `eval`); the registry
//! modules the design uses are read by what their inputs mean, as the resources they create.
//!
//! | source | read as |
//! |---|---|
//! | `terraform-aws-modules/eks/aws` | `aws_eks_cluster.this[0]` and one `aws_eks_node_group` per `eks_managed_node_groups` entry |
//! | `terraform-aws-modules/eks/aws//modules/eks-managed-node-group` | one `aws_eks_node_group.this[0]` |
//! | `terraform-aws-modules/eks/aws//modules/karpenter`, `aws-ia/eks-blueprints-addons/aws` (with `enable_karpenter`/`enable_cluster_autoscaler`) | a node autoscaler in the stack |
//! | `terraform-aws-modules/vpc/aws` | `aws_subnet.<private/public/…>[i]` in `azs[i]` |
//!
//! The defaults are those of the modules' current major versions (eks v20, vpc v5), which also
//! accept the v21 input names (`name`, `endpoint_public_access`, …).

use std::collections::BTreeMap;
use std::sync::Arc;

use super::value::{ResourceBody, StackSpan, Value, ValueKind};
use super::Instance;
use crate::model::{Diagnostic, SourceFile};

/// What a module `source` is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ModuleSource {
    Local,
    Registry(RegKind),
    Remote,
}

/// A registry module blogaudit knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RegKind {
    Eks,
    EksNodeGroup,
    Karpenter,
    Addons,
    Vpc,
}

/// Classifies a module source address.
#[must_use]
pub fn classify(source: &str) -> ModuleSource {
    if super::hcl::is_local_source(source) {
        return ModuleSource::Local;
    }
    let s = source.to_ascii_lowercase();
    let s = s.strip_prefix("registry.terraform.io/").unwrap_or(&s);
    let (main, sub) = match s.split_once("//") {
        // `git::https://…` keeps its scheme's `//`; the submodule comes after the repository.
        Some((a, b)) if a.ends_with(':') => match b.split_once("//") {
            Some((c, d)) => (format!("{a}//{c}"), d.to_string()),
            None => (s.to_string(), String::new()),
        },
        Some((a, b)) => (a.to_string(), b.to_string()),
        None => (s.to_string(), String::new()),
    };
    let main = main
        .split('?')
        .next()
        .unwrap_or("")
        .trim_end_matches(".git");
    let sub = sub.split('?').next().unwrap_or("").trim_matches('/');
    let is = |registry: &str, repo: &str| main == registry || main.ends_with(&format!("/{repo}"));
    if is("terraform-aws-modules/eks/aws", "terraform-aws-eks") {
        return match sub {
            "" => ModuleSource::Registry(RegKind::Eks),
            "modules/eks-managed-node-group" => ModuleSource::Registry(RegKind::EksNodeGroup),
            "modules/karpenter" => ModuleSource::Registry(RegKind::Karpenter),
            _ => ModuleSource::Remote,
        };
    }
    if is("terraform-aws-modules/vpc/aws", "terraform-aws-vpc") && sub.is_empty() {
        return ModuleSource::Registry(RegKind::Vpc);
    }
    if is(
        "aws-ia/eks-blueprints-addons/aws",
        "terraform-aws-eks-blueprints-addons",
    ) {
        return ModuleSource::Registry(RegKind::Addons);
    }
    ModuleSource::Remote
}

/// One instance of a registry module call.
#[derive(Debug)]
pub struct RegInst {
    pub kind: RegKind,
    /// `module.eks` (with its instance key).
    pub name: String,
    /// `module.eks.`: the address prefix of what it creates.
    pub prefix: String,
    /// The call's inputs, each pointing into the call where it was written.
    pub inputs: BTreeMap<String, Value>,
    /// The module call block.
    pub call: StackSpan,
    /// Module calls from the root down to this one (this one last).
    pub chain: Vec<StackSpan>,
    pub ignores: Vec<(String, StackSpan)>,
}

impl RegInst {
    /// The first of `names` that the call sets to a non-null value.
    fn input(&self, names: &[&str]) -> Option<&Value> {
        names
            .iter()
            .find_map(|n| self.inputs.get(*n).filter(|v| !v.is_null()))
    }

    fn bool_input(&self, names: &[&str], default: bool) -> Value {
        self.input(names)
            .cloned()
            .unwrap_or_else(|| Value::new(ValueKind::Bool(default)))
    }

    fn is_off(&self, name: &str) -> bool {
        self.inputs.get(name).and_then(Value::to_bool) == Some(false)
    }

    /// Where a value written in this call points; `None` for defaults.
    fn at_in_call(&self, v: &Value) -> Option<StackSpan> {
        v.at.filter(|a| self.call.contains(a))
    }

    fn instance(
        &self,
        addr: String,
        typ: &str,
        attrs: BTreeMap<String, Value>,
        block: StackSpan,
        comments: &Comments,
    ) -> Instance {
        let mut ignores = self.ignores.clone();
        if block != self.call {
            // Suppression comments above a node group's entry in the call.
            ignores.extend(comments(block));
        }
        Instance {
            body: Value::at(
                ValueKind::Resource(Arc::new(ResourceBody {
                    addr: addr.clone(),
                    attrs,
                })),
                Some(block),
            ),
            addr,
            typ: typ.to_string(),
            spans: Vec::new(),
            block,
            chain: self.chain.clone(),
            ignores,
        }
    }
}

/// Finds the `# blogaudit:ignore` comments directly above a span.
pub type Comments<'a> = dyn Fn(StackSpan) -> Vec<(String, StackSpan)> + 'a;

fn strs(items: &[&str]) -> Value {
    Value::list(items.iter().map(|s| Value::str(*s)).collect())
}

fn obj(addr: String, attrs: Vec<(&str, Value)>) -> Value {
    Value::new(ValueKind::Resource(Arc::new(ResourceBody {
        addr,
        attrs: attrs.into_iter().map(|(k, v)| (k.to_string(), v)).collect(),
    })))
}

/// Why a module call puts a node autoscaler in the stack, if it does.
#[must_use]
pub fn autoscaler_signal(r: &RegInst) -> Option<String> {
    match r.kind {
        RegKind::Karpenter if !r.is_off("create") => Some(format!("{} deploys Karpenter", r.name)),
        RegKind::Addons => ["enable_karpenter", "enable_cluster_autoscaler"]
            .iter()
            .find(|n| r.inputs.get(**n).and_then(Value::to_bool) == Some(true))
            .map(|n| format!("{} sets {n}", r.name)),
        _ => None,
    }
}

/// The value of a registry module's output.
#[must_use]
pub fn output(r: &RegInst, name: &str) -> Value {
    let opaque = || Value::reference(format!("{}.{name}", r.name));
    match r.kind {
        RegKind::Eks => match name {
            "cluster_name" => r
                .input(&["cluster_name", "name"])
                .cloned()
                .unwrap_or_else(opaque),
            _ => opaque(),
        },
        RegKind::Vpc => {
            if name == "azs" {
                return r
                    .input(&["azs"])
                    .cloned()
                    .unwrap_or_else(|| Value::list(Vec::new()));
            }
            if name == "name" {
                return r.input(&["name"]).cloned().unwrap_or_else(opaque);
            }
            if name == "vpc_id" {
                return Value::reference(format!("{}aws_vpc.this[0].id", r.prefix));
            }
            for (input, kind) in VPC_SUBNETS {
                if name == *input {
                    return match r.input(&[input]) {
                        None => Value::list(Vec::new()),
                        Some(v) => match v.as_list() {
                            Some(items) if !r.is_off("create_vpc") => Value::list(
                                (0..items.len())
                                    .map(|i| {
                                        Value::reference(format!(
                                            "{}aws_subnet.{kind}[{i}].id",
                                            r.prefix
                                        ))
                                    })
                                    .collect(),
                            ),
                            Some(_) => Value::list(Vec::new()),
                            None => opaque(),
                        },
                    };
                }
                if name == format!("{input}_cidr_blocks") {
                    return r
                        .input(&[input])
                        .cloned()
                        .unwrap_or_else(|| Value::list(Vec::new()));
                }
            }
            opaque()
        }
        _ => opaque(),
    }
}

/// Every output of a registry module call, as an object (for `module.x[0].out` when the
/// call has `count`/`for_each`); outputs not modeled are references.
#[must_use]
pub fn outputs(r: &RegInst) -> Value {
    let names: Vec<String> = match r.kind {
        RegKind::Eks => vec!["cluster_name".into()],
        RegKind::Vpc => ["azs", "name", "vpc_id"]
            .iter()
            .map(|s| (*s).to_string())
            .chain(
                VPC_SUBNETS
                    .iter()
                    .flat_map(|(i, _)| [(*i).to_string(), format!("{i}_cidr_blocks")]),
            )
            .collect(),
        _ => Vec::new(),
    };
    Value::new(ValueKind::Resource(Arc::new(ResourceBody {
        addr: r.name.clone(),
        attrs: names
            .into_iter()
            .map(|n| {
                let v = output(r, &n);
                (n, v)
            })
            .collect(),
    })))
}

/// The `*_subnets` inputs of the vpc module and the `aws_subnet` resources they create.
const VPC_SUBNETS: &[(&str, &str)] = &[
    ("private_subnets", "private"),
    ("public_subnets", "public"),
    ("intra_subnets", "intra"),
    ("database_subnets", "database"),
    ("elasticache_subnets", "elasticache"),
    ("redshift_subnets", "redshift"),
    ("outpost_subnets", "outpost"),
];

/// The resources a registry module call creates, as instances.
#[must_use]
pub fn instances(
    r: &RegInst,
    files: &[Arc<SourceFile>],
    comments: &Comments,
) -> (Vec<Instance>, Vec<Diagnostic>) {
    let mut out = Vec::new();
    let mut diags = Vec::new();
    match r.kind {
        RegKind::Eks => eks(r, files, comments, &mut out, &mut diags),
        RegKind::EksNodeGroup => {
            if !r.is_off("create") {
                let ng = node_group(
                    r.input(&["cluster_name"])
                        .cloned()
                        .unwrap_or_else(|| Value::unknown(format!("{}.cluster_name", r.name))),
                    r.input(&["name"])
                        .cloned()
                        .unwrap_or_else(|| Value::str(r.name.clone())),
                    r.input(&["subnet_ids"])
                        .cloned()
                        .unwrap_or_else(|| Value::unknown(format!("{}.subnet_ids", r.name))),
                    [("min_size", 0.0), ("max_size", 3.0), ("desired_size", 1.0)]
                        .map(|(k, d)| (k, r.input(&[k]).cloned().unwrap_or_else(|| Value::num(d)))),
                    r.input(&["tags"]).cloned(),
                );
                out.push(r.instance(
                    format!("{}aws_eks_node_group.this[0]", r.prefix),
                    "aws_eks_node_group",
                    ng,
                    r.call,
                    comments,
                ));
            }
        }
        RegKind::Vpc => vpc(r, comments, &mut out),
        RegKind::Karpenter | RegKind::Addons => {}
    }
    (out, diags)
}

fn node_group(
    cluster: Value,
    name: Value,
    subnets: Value,
    scaling: [(&str, Value); 3],
    tags: Option<Value>,
) -> BTreeMap<String, Value> {
    let mut attrs = BTreeMap::new();
    attrs.insert("cluster_name".to_string(), cluster);
    attrs.insert("node_group_name".to_string(), name);
    attrs.insert("subnet_ids".to_string(), subnets);
    let scaling_attrs = scaling
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
    attrs.insert(
        "scaling_config".to_string(),
        Value::list(vec![Value::new(ValueKind::Resource(Arc::new(
            ResourceBody {
                addr: String::new(),
                attrs: scaling_attrs,
            },
        )))]),
    );
    if let Some(t) = tags {
        attrs.insert("tags".to_string(), t);
    }
    attrs
}

fn eks(
    r: &RegInst,
    files: &[Arc<SourceFile>],
    comments: &Comments,
    out: &mut Vec<Instance>,
    diags: &mut Vec<Diagnostic>,
) {
    if r.is_off("create") {
        return;
    }
    let cluster_name = r
        .input(&["cluster_name", "name"])
        .cloned()
        .unwrap_or_else(|| Value::unknown(format!("{}.cluster_name", r.name)));
    let subnet_ids = r
        .input(&["subnet_ids"])
        .cloned()
        .unwrap_or_else(|| Value::list(Vec::new()));
    let cp_subnets = r
        .input(&["control_plane_subnet_ids"])
        .filter(|v| v.as_list().is_none_or(|l| !l.is_empty()))
        .cloned()
        .unwrap_or_else(|| subnet_ids.clone());
    let addr = format!("{}aws_eks_cluster.this[0]", r.prefix);
    let vpc_config = obj(
        format!("{addr}.vpc_config[0]"),
        vec![
            ("subnet_ids", cp_subnets),
            (
                "endpoint_private_access",
                r.bool_input(
                    &["cluster_endpoint_private_access", "endpoint_private_access"],
                    true,
                ),
            ),
            (
                "endpoint_public_access",
                r.bool_input(
                    &["cluster_endpoint_public_access", "endpoint_public_access"],
                    false,
                ),
            ),
            (
                "public_access_cidrs",
                r.input(&[
                    "cluster_endpoint_public_access_cidrs",
                    "endpoint_public_access_cidrs",
                ])
                .cloned()
                .unwrap_or_else(|| strs(&["0.0.0.0/0"])),
            ),
        ],
    );
    let logs = r
        .input(&["cluster_enabled_log_types", "enabled_log_types"])
        .cloned()
        .unwrap_or_else(|| strs(&["audit", "api", "authenticator"]));
    let encryption = eks_encryption(r, &addr);
    let mut attrs = BTreeMap::new();
    attrs.insert("name".to_string(), cluster_name.clone());
    attrs.insert("vpc_config".to_string(), Value::list(vec![vpc_config]));
    attrs.insert("enabled_cluster_log_types".to_string(), logs);
    attrs.insert("encryption_config".to_string(), encryption);
    out.push(r.instance(addr, "aws_eks_cluster", attrs, r.call, comments));

    let Some(groups) = r.input(&["eks_managed_node_groups"]) else {
        return;
    };
    if let Some(o) = groups.opaque() {
        let file = files
            .get(r.call.file as usize)
            .map(|f| f.path.clone())
            .unwrap_or_default();
        let at = groups.at.unwrap_or(r.call);
        diags.push(
            Diagnostic::note(
                "terraform-unknown",
                format!("{}: eks_managed_node_groups cannot be known ({o}); its node groups are not checked", r.name),
            )
            .in_file(file)
            .at(at.span.start)
            .help("set the variables it depends on (tfvars or --var), or scan a plan JSON"),
        );
        return;
    }
    let empty = BTreeMap::new();
    let defaults = r
        .input(&["eks_managed_node_group_defaults"])
        .and_then(Value::entries)
        .unwrap_or(&empty);
    let module_tags = r.input(&["tags"]);
    for (key, g) in groups.entries().unwrap_or(&empty) {
        let get = |k: &str| {
            g.field(k)
                .filter(|v| !v.is_null())
                .or_else(|| defaults.get(k).filter(|v| !v.is_null()))
                .cloned()
        };
        if get("create").and_then(|v| v.to_bool()) == Some(false) {
            continue;
        }
        let tags = match (module_tags, get("tags")) {
            (None, None) => None,
            (Some(t), None) => Some(t.clone()),
            (None, Some(t)) => Some(t),
            (Some(m), Some(t)) => match (m.entries(), t.entries()) {
                (Some(a), Some(b)) => {
                    let mut merged = a.clone();
                    merged.extend(b.iter().map(|(k, v)| (k.clone(), v.clone())));
                    Some(Value::at(ValueKind::Map(merged), t.at))
                }
                _ => Some(t),
            },
        };
        let attrs = node_group(
            cluster_name.clone(),
            get("name").unwrap_or_else(|| Value::str(key.clone())),
            get("subnet_ids").unwrap_or_else(|| subnet_ids.clone()),
            [("min_size", 1.0), ("max_size", 3.0), ("desired_size", 1.0)]
                .map(|(k, d)| (k, get(k).unwrap_or_else(|| Value::num(d)))),
            tags,
        );
        let block = r.at_in_call(g).unwrap_or(r.call);
        out.push(r.instance(
            format!(
                "{}module.eks_managed_node_group[{}].aws_eks_node_group.this[0]",
                r.prefix,
                super::value::quote(key)
            ),
            "aws_eks_node_group",
            attrs,
            block,
            comments,
        ));
    }
}

/// `cluster_encryption_config` (an object since v19, a list before) as `encryption_config`
/// blocks; a KMS key the module creates is a reference to it.
fn eks_encryption(r: &RegInst, addr: &str) -> Value {
    let given = r.input(&["cluster_encryption_config", "encryption_config"]);
    let create_key = !r.is_off("create_kms_key");
    let entries: Vec<Value> = match given {
        None => vec![Value::map(BTreeMap::from([(
            "resources".to_string(),
            strs(&["secrets"]),
        )]))],
        Some(v) if v.opaque().is_some() => return v.clone(),
        Some(v) => match &v.kind {
            ValueKind::List(items) => items.clone(),
            ValueKind::Map(m) if m.is_empty() => Vec::new(),
            _ => vec![v.clone()],
        },
    };
    let at = given.and_then(|g| g.at);
    let blocks = entries
        .into_iter()
        .enumerate()
        .map(|(i, e)| {
            let resources = e
                .field("resources")
                .cloned()
                .unwrap_or_else(|| strs(&["secrets"]));
            let key = e
                .field("provider_key_arn")
                .filter(|k| !k.is_null())
                .cloned()
                .or_else(|| {
                    create_key.then(|| {
                        Value::reference(format!("{}module.kms.aws_kms_key.this[0].arn", r.prefix))
                    })
                })
                .unwrap_or_else(Value::null);
            let provider = obj(
                format!("{addr}.encryption_config[{i}].provider[0]"),
                vec![("key_arn", key)],
            );
            let mut b = obj(
                format!("{addr}.encryption_config[{i}]"),
                vec![
                    ("resources", resources),
                    ("provider", Value::list(vec![provider])),
                ],
            );
            b.at = e.at.or(at);
            b
        })
        .collect();
    Value::at(ValueKind::List(blocks), at)
}

fn vpc(r: &RegInst, comments: &Comments, out: &mut Vec<Instance>) {
    if r.is_off("create_vpc") {
        return;
    }
    let azs = r
        .input(&["azs"])
        .cloned()
        .unwrap_or_else(|| Value::list(Vec::new()));
    for (input, kind) in VPC_SUBNETS {
        let Some(list) = r.input(&[input]).and_then(Value::as_list) else {
            continue;
        };
        for (i, cidr) in list.iter().enumerate() {
            let az = match (&azs.kind, azs.opaque()) {
                (_, Some(o)) => Value::unknown(o.to_string()),
                (ValueKind::List(l), _) if !l.is_empty() => l[i % l.len()].clone(),
                _ => Value::unknown(format!("{}.azs", r.name)).with_at(azs.at),
            };
            let addr = format!("{}aws_subnet.{kind}[{i}]", r.prefix);
            let mut attrs = BTreeMap::new();
            attrs.insert("cidr_block".to_string(), cidr.clone());
            attrs.insert("availability_zone".to_string(), az);
            attrs.insert(
                "vpc_id".to_string(),
                Value::reference(format!("{}aws_vpc.this[0].id", r.prefix)),
            );
            let block = r.at_in_call(cidr).unwrap_or(r.call);
            out.push(r.instance(addr, "aws_subnet", attrs, block, comments));
        }
    }
}

/// The policy document of a `data "aws_iam_policy_document"`, from its evaluated body.
#[must_use]
pub fn policy_document(attrs: &BTreeMap<String, Value>, at: Option<StackSpan>) -> Value {
    let mut doc = BTreeMap::new();
    doc.insert(
        "Version".to_string(),
        attrs
            .get("version")
            .cloned()
            .unwrap_or_else(|| Value::str("2012-10-17")),
    );
    let mut statements = Vec::new();
    for st in attrs
        .get("statement")
        .and_then(Value::as_list)
        .unwrap_or(&[])
    {
        let mut m = BTreeMap::new();
        let field = |k: &str| st.field(k).filter(|v| !v.is_null()).cloned();
        if let Some(sid) = field("sid") {
            m.insert("Sid".to_string(), sid);
        }
        m.insert(
            "Effect".to_string(),
            field("effect").unwrap_or_else(|| Value::str("Allow")),
        );
        for (tf, json) in [
            ("actions", "Action"),
            ("not_actions", "NotAction"),
            ("resources", "Resource"),
            ("not_resources", "NotResource"),
        ] {
            if let Some(v) = field(tf) {
                m.insert(json.to_string(), single(v));
            }
        }
        for (tf, json) in [
            ("principals", "Principal"),
            ("not_principals", "NotPrincipal"),
        ] {
            let Some(blocks) = field(tf) else { continue };
            let mut p = BTreeMap::new();
            let mut star = false;
            for b in blocks.as_list().unwrap_or(&[]) {
                let ty = b
                    .field("type")
                    .and_then(Value::to_plain_string)
                    .unwrap_or_default();
                let ids = b
                    .field("identifiers")
                    .cloned()
                    .unwrap_or_else(|| Value::list(Vec::new()));
                if ty == "*" {
                    star = true;
                } else {
                    p.insert(ty, single(ids).with_at(b.at));
                }
            }
            let v = if star && p.is_empty() {
                Value::str("*")
            } else {
                Value::map(p)
            };
            m.insert(json.to_string(), v.with_at(blocks.at));
        }
        if let Some(conds) = field("condition") {
            let mut c: BTreeMap<String, Value> = BTreeMap::new();
            for b in conds.as_list().unwrap_or(&[]) {
                let test = b
                    .field("test")
                    .and_then(Value::to_plain_string)
                    .unwrap_or_default();
                let var = b
                    .field("variable")
                    .and_then(Value::to_plain_string)
                    .unwrap_or_default();
                let values = b
                    .field("values")
                    .cloned()
                    .unwrap_or_else(|| Value::list(Vec::new()));
                let entry = c.entry(test).or_insert_with(|| Value::map(BTreeMap::new()));
                if let ValueKind::Map(inner) = &mut entry.kind {
                    inner.insert(var, single(values));
                }
            }
            m.insert("Condition".to_string(), Value::map(c).with_at(conds.at));
        }
        statements.push(Value::map(m).with_at(st.at));
    }
    doc.insert("Statement".to_string(), Value::list(statements));
    Value::map(doc).with_at(at)
}

/// A one-element list as its element, as the AWS policy grammar writes it.
fn single(v: Value) -> Value {
    match &v.kind {
        ValueKind::List(items) if items.len() == 1 => items[0].clone(),
        _ => v,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_are_classified() {
        assert_eq!(classify("./modules/ecr"), ModuleSource::Local);
        assert_eq!(classify("../shared"), ModuleSource::Local);
        assert_eq!(
            classify("terraform-aws-modules/eks/aws"),
            ModuleSource::Registry(RegKind::Eks)
        );
        assert_eq!(
            classify("registry.terraform.io/terraform-aws-modules/vpc/aws"),
            ModuleSource::Registry(RegKind::Vpc)
        );
        assert_eq!(
            classify("terraform-aws-modules/eks/aws//modules/karpenter"),
            ModuleSource::Registry(RegKind::Karpenter)
        );
        assert_eq!(
            classify("git::https://github.com/terraform-aws-modules/terraform-aws-eks.git//modules/eks-managed-node-group?ref=v20.8.0"),
            ModuleSource::Registry(RegKind::EksNodeGroup)
        );
        assert_eq!(
            classify(
                "git::https://github.com/terraform-aws-modules/terraform-aws-vpc.git?ref=v5.0.0"
            ),
            ModuleSource::Registry(RegKind::Vpc)
        );
        assert_eq!(
            classify("terraform-aws-modules/s3-bucket/aws"),
            ModuleSource::Remote
        );
        assert_eq!(classify("hashicorp/consul/aws"), ModuleSource::Remote);
    }
}
