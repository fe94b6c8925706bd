//! Plain data shared by every stage: resources, findings, diagnostics and the inventory.

mod action;
pub mod date;
mod diagnostic;
mod finding;
pub mod fingerprint;
mod inventory;
mod rendered;
mod resource;
mod severity;

pub use action::Action;
pub use diagnostic::{Diagnostic, Level, CODES};
pub use finding::{Checked, Finding, Fix, Location, ResourceRef, Suppression};
pub use inventory::{image_suffixes, Inventory};
pub use rendered::{Layer, Trace};
pub use resource::{
    locate_index, locate_tree, pointer, InlineIgnore, Origin, PathSeg, Pos, Resource, SourceFile,
    Span, SpanIndex, SpanNode, Stash, CLUSTER_SCOPED,
};
pub use severity::Severity;
