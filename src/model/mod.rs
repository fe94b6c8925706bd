//! Plain data shared by every stage: resources, diagnostics and the inventory.

mod diagnostic;
mod inventory;
mod resource;

pub use diagnostic::{Diagnostic, Level, CODES};
pub use inventory::Inventory;
pub use resource::{
    locate_tree, pointer, Origin, PathSeg, Pos, Resource, SourceFile, Span, SpanIndex, SpanNode,
    CLUSTER_SCOPED,
};
