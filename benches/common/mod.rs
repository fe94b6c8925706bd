//! What the benchmarks share: timing a child process with its peak memory, and medians.

use std::process::{Command, Stdio};
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
