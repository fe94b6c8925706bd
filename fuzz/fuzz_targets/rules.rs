//! The rule-file loader: any `rule.rego` in a user rule folder loads (or gives a diagnostic)
//! without a panic: its METADATA, its Rego with the built-in libraries, and the RVM compile
//! that `--compiled-user-rules` asks for.
#![no_main]

use std::sync::OnceLock;

use blogaudit::rules::{Compilation, RuleSet};
use libfuzzer_sys::fuzz_target;

fn dir() -> &'static std::path::Path {
    static DIR: OnceLock<std::path::PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let d = std::env::temp_dir().join(format!("blogaudit-fuzz-rules-{}", std::process::id()));
        std::fs::create_dir_all(d.join("BA999-fuzz")).expect("temp dir");
        d
    })
}

fuzz_target!(|data: &[u8]| {
    let d = dir();
    if std::fs::write(d.join("BA999-fuzz/rule.rego"), data).is_err() {
        return;
    }
    let compilation = Compilation {
        user: true,
        ..Compilation::DEFAULT
    };
    let _ = RuleSet::load_user(d, compilation);
});
