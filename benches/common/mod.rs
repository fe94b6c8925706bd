//! What the benchmarks share: timing a child process with its peak memory, medians and
//! percentiles, and numbers from the environment. Each bench uses some of these.

#![allow(dead_code)]

use std::process::{Command, Stdio};
use std::str::FromStr;
use std::time::Instant;

/// Runs a command, returning (wall seconds, peak RSS in MB of the child, exit code).
/// The child is reaped by `wait4`, which also reports its peak RSS.
#[allow(clippy::zombie_processes)]
pub fn measure(cmd: &mut Command) -> (f64, f64, i32) {
    let start = Instant::now();
    let child = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let pid = i32::try_from(child.id()).expect("pid");
    let mut status = 0;
    // SAFETY: rusage is plain old data, and wait4 fills it for our own child.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let wall = start.elapsed().as_secs_f64();
    #[allow(clippy::cast_precision_loss)]
    let rss = usage.ru_maxrss as f64 / 1024.0;
    (wall, rss, libc::WEXITSTATUS(status))
}

/// The median of some measurements (the upper one of an even count).
pub fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// The `p` quantile (0 to 1, nearest rank) of sorted measurements.
pub fn percentile<T: Copy>(sorted: &[T], p: f64) -> T {
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        clippy::cast_precision_loss
    )]
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// The number in environment variable `name`, or `default` when it is unset or not a number.
pub fn env_or<T: FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(default)
}
