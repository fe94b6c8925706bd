//! Indexes over one stack, for the joins between resources: a repository and its policy, a
//! bucket and its public access block, a listener and its load balancer, and whether anything
//! in the stack runs a node autoscaler.

use std::collections::HashMap;

use super::read::plain;
use super::{ref_target, AUTOSCALER_TAG};
use crate::source::terraform::value::{Value, ValueKind};
use crate::source::terraform::{Instance, Stack};

/// Indexes over one stack, for the joins between resources.
pub(super) struct StackIndex<'a> {
    pub(super) stack: &'a Stack,
    pub(super) by_addr: HashMap<&'a str, usize>,
    /// `aws_ecr_repository_policy` by repository name and by repository address.
    pub(super) repo_policies: HashMap<String, usize>,
    /// `aws_s3_bucket_public_access_block` by bucket name and by bucket address.
    pub(super) access_blocks: HashMap<String, usize>,
    /// `aws_s3_bucket` address by bucket name.
    pub(super) buckets: HashMap<String, &'a str>,
    /// Why the stack has a node autoscaler, if it does.
    pub(super) autoscaler: Option<String>,
}

impl<'a> StackIndex<'a> {
    pub(super) fn new(stack: &'a Stack) -> Self {
        let mut index = StackIndex {
            stack,
            by_addr: HashMap::new(),
            repo_policies: HashMap::new(),
            access_blocks: HashMap::new(),
            buckets: HashMap::new(),
            autoscaler: stack.autoscaler.clone(),
        };
        for (i, inst) in stack.instances.iter().enumerate() {
            index.by_addr.insert(inst.addr.as_str(), i);
            let key_of = |attr: &str| -> Option<String> {
                let v = plain(inst.body.field(attr))?;
                match &v.kind {
                    ValueKind::Ref(r) => Some(format!("@{}", ref_target(r))),
                    _ => v.to_plain_string(),
                }
            };
            match inst.typ.as_str() {
                "aws_ecr_repository_policy" => {
                    if let Some(k) = key_of("repository") {
                        index.repo_policies.entry(k).or_insert(i);
                    }
                }
                "aws_s3_bucket_public_access_block" => {
                    if let Some(k) = key_of("bucket") {
                        index.access_blocks.entry(k).or_insert(i);
                    }
                }
                "aws_s3_bucket" => {
                    if let Some(b) =
                        plain(inst.body.field("bucket")).and_then(Value::to_plain_string)
                    {
                        index.buckets.entry(b).or_insert(inst.addr.as_str());
                    }
                }
                "helm_release" if index.autoscaler.is_none() => {
                    let deploys = ["chart", "name", "repository"].iter().any(|a| {
                        plain(inst.body.field(a))
                            .and_then(Value::to_plain_string)
                            .is_some_and(|s| {
                                s.contains("cluster-autoscaler") || s.contains("karpenter")
                            })
                    });
                    if deploys {
                        index.autoscaler = Some(format!("{} deploys a node autoscaler", inst.addr));
                    }
                }
                "aws_autoscaling_group_tag" if index.autoscaler.is_none() => {
                    let tagged = inst
                        .body
                        .field("tag")
                        .and_then(Value::as_list)
                        .and_then(<[Value]>::first)
                        .and_then(|t| t.field("key"))
                        .and_then(Value::as_str)
                        == Some(AUTOSCALER_TAG);
                    if tagged {
                        index.autoscaler = Some(format!(
                            "{} tags the node group for Cluster Autoscaler",
                            inst.addr
                        ));
                    }
                }
                _ => {}
            }
        }
        index
    }

    /// The resource of `by_key` (`repo_policies`, `access_blocks`) that names `inst`: by its
    /// address in a reference, else by the value of its `name_attr`.
    pub(super) fn joined(
        &self,
        by_key: &HashMap<String, usize>,
        inst: &Instance,
        name_attr: &str,
    ) -> Option<&'a Instance> {
        let by_name = plain(inst.body.field(name_attr))
            .and_then(Value::to_plain_string)
            .and_then(|n| by_key.get(&n));
        let by_ref = by_key.get(&format!("@{}", inst.addr));
        by_ref.or(by_name).map(|i| &self.stack.instances[*i])
    }

    pub(super) fn inst(&self, addr: &str) -> Option<&'a Instance> {
        self.by_addr.get(addr).map(|i| &self.stack.instances[*i])
    }
}
