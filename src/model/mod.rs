//! Plain data shared by every stage: resources, diagnostics and the inventory.

mod diagnostic;
mod inventory;
mod rendered;
mod resource;

pub use diagnostic::{Diagnostic, Level, CODES};
pub use inventory::Inventory;
pub use rendered::{Layer, Trace};
pub use resource::{
    locate_index, locate_tree, pointer, Origin, PathSeg, Pos, Resource, SourceFile, Span,
    SpanIndex, SpanNode, CLUSTER_SCOPED,
};
