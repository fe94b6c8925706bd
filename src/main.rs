//! The `blogaudit` command. All the work is in the library.

use clap::Parser;

/// mimalloc: the rules build and drop many small values, and the allocator was about a third
/// of a scan's CPU samples under glibc's malloc.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    blogaudit::cli::run(blogaudit::cli::Cli::parse()).into()
}
