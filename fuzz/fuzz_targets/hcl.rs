//! The HCL loader and the Terraform evaluator: any `.tf` text loads (or gives diagnostics)
//! without a panic, within the memory and time limits `run.sh` sets (`-rss_limit_mb`,
//! `-timeout`), so an evaluation blow-up counts as a crash.
#![no_main]

use std::sync::OnceLock;

use blogaudit::source::terraform::{load, Inputs, TerraformOptions};
use libfuzzer_sys::fuzz_target;

fn dir() -> &'static std::path::Path {
    static DIR: OnceLock<std::path::PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let d = std::env::temp_dir().join(format!("blogaudit-fuzz-hcl-{}", std::process::id()));
        std::fs::create_dir_all(&d).expect("temp dir");
        d
    })
}

fuzz_target!(|data: &[u8]| {
    let d = dir();
    if std::fs::write(d.join("main.tf"), data).is_err() {
        return;
    }
    let inputs = Inputs {
        dirs: vec![d.to_path_buf()],
        ..Inputs::default()
    };
    let _ = load(&inputs, d, &TerraformOptions::default());
});
