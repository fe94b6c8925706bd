//! The `blogaudit` command. All the work is in the library.

use clap::Parser;

fn main() -> std::process::ExitCode {
    blogaudit::cli::run(blogaudit::cli::Cli::parse()).into()
}
