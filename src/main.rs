//! The `blogaudit` command. All the work is in the library.

use clap::Parser;

fn main() {
    let cli = blogaudit::cli::Cli::parse();
    std::process::exit(blogaudit::cli::run(cli));
}
