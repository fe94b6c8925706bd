//! The `blogaudit` command. All the work is in the library.

use clap::Parser;

/// Many small allocations (YAML nodes, Rego values) from several threads: mimalloc keeps
/// them cheap where the system allocator contends.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let cli = blogaudit::cli::Cli::parse();
    std::process::exit(blogaudit::cli::run(cli));
}
