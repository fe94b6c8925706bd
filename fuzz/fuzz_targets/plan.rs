//! Plan JSON: any text given as a plan loads (or gives a diagnostic) without a panic.
#![no_main]

use std::sync::OnceLock;

use blogaudit::source::terraform::plan;
use libfuzzer_sys::fuzz_target;

fn dir() -> &'static std::path::Path {
    static DIR: OnceLock<std::path::PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let d = std::env::temp_dir().join(format!("blogaudit-fuzz-plan-{}", std::process::id()));
        std::fs::create_dir_all(&d).expect("temp dir");
        d
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = plan::looks_like_plan(text);
    let d = dir();
    let path = d.join("plan.json");
    if std::fs::write(&path, data).is_err() {
        return;
    }
    let _ = plan::load(&path, d, None);
});
