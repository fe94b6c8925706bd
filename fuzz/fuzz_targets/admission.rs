//! The AdmissionReview handler: any request body is read as a review (or refused with a
//! reason), and a review is judged by the webhook's rules without a panic.
#![no_main]

use std::sync::OnceLock;

use blogaudit::pipeline::admission::{Admission, Settings};
use blogaudit::pipeline::Options;
use blogaudit::webhook::review;
use blogaudit::webhook::verdicts::Answer;
use libfuzzer_sys::fuzz_target;

fn admission() -> &'static Admission {
    static ADMISSION: OnceLock<Admission> = OnceLock::new();
    ADMISSION.get_or_init(|| Admission::new(&Options::default(), Settings::default()))
}

fuzz_target!(|data: &[u8]| {
    if let Ok(request) = review::parse(data) {
        if let Ok(subject) = request.subject() {
            let verdict = admission().judge(subject, &[]);
            if let Ok(answer) = Answer::of(&verdict) {
                let _ = review::response(&request.uid, answer.denial.as_deref(), &answer.warnings);
            }
        }
    }
});
