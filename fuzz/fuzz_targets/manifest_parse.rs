//! Fuzz target for the manifest path: arbitrary bytes are parsed, turned into workloads, evaluated
//! against every rule and the restricted profile, and reported; nothing may panic or hang.
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use syncgate::manifest::{self, Limits, Stream};
use syncgate::pipeline::{CheckOptions, Checker};
use syncgate::policy::{self, PolicySet, RunMode};

/// Every production rule, the restricted profile and an exception (shared with the benchmark).
const POLICY: &str = include_str!("../../bench/policy.yaml");

static POLICIES: LazyLock<PolicySet> = LazyLock::new(|| {
    let documents =
        manifest::parse_bytes(POLICY.as_bytes(), None, &Limits::default()).expect("policy parses");
    policy::document::from_stream(&Stream { documents }).expect("policy is valid")
});

fuzz_target!(|data: &[u8]| {
    let limits = Limits {
        max_bytes: 1 << 20,
        ..Limits::default()
    };
    let Ok(documents) = manifest::parse_bytes(data, None, &limits) else {
        return;
    };
    let options = CheckOptions {
        default_namespace: "default".into(),
        run_mode: RunMode::AsConfigured,
        now: jiff::Timestamp::UNIX_EPOCH,
    };
    let mut checker = Checker::new(&POLICIES, &options);
    for document in &documents {
        if checker.document(document).is_err() {
            return;
        }
    }
    let report = checker.finish();
    let mut sink = Vec::new();
    let _ = syncgate::report::write_text(&report, &mut sink, true);
    let _ = syncgate::report::write_junit(&report, &mut sink);
    let _ = syncgate::report::write_sarif(&report, &policy::catalog(), &mut sink);
    let _ = Stream { documents }.emit();
});
