//! blogaudit: policy-as-code checks of an EKS deployment (Kubernetes manifests, Terraform)
//! against the security and availability goals of its reference design.
//!
//! Modules by layer; each imports only from the layers below it (`tests/layers.rs` checks):
//!
//! | layer | modules |
//! |---|---|
//! | face | [`cli`], [`upload`] |
//! | pipeline | [`pipeline`]: load → inventory → evaluate → suppress → select → outcome |
//! | stages | [`source`], [`engine`], [`suppress`], [`merge`], [`select`], [`report`] |
//! | rules, config, edits | [`rules`], [`config`], [`fix`] (a finding's fix as a text edit) |
//! | syntax | [`syntax`]: YAML with spans, positions |
//! | model | [`model`]: resources, findings, diagnostics, the inventory |

#![forbid(unsafe_code)]

pub mod cli;
pub mod config;
pub mod engine;
pub mod fix;
pub mod merge;
pub mod model;
pub mod pipeline;
pub mod report;
pub mod rules;
pub mod select;
pub mod source;
pub mod suppress;
pub mod syntax;
pub mod upload;
pub mod webhook;
