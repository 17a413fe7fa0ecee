//! Fuzzing on stable Rust: every parser that sees untrusted bytes (the sock_diag decoder, /proc
//! text, cgroup paths, the filter language and its kernel bytecode, recordings, the exact-socket
//! replies `release` reads, foreign captures of netstat/ss/Get-NetTCPConnection, the tracepoint
//! formats and perf records `trace` reads) is a *target*: a
//! proptest strategy that makes inputs — random bytes, but mostly valid encodings bent out of
//! shape — and a check that the parser neither panics nor lies (round trips, oracles, the kernel
//! bytecode model). Test-only code (`cfg(test)`).
//!
//! Two ways to run it:
//! * the normal suite (`cargo test`) runs each target as its own test, [`SUITE_CASES`] inputs;
//! * `scripts/fuzz.sh SECONDS` runs the ignored [`fuzz_one_target`] once per target, in the
//!   `fuzz` profile (optimised, overflow checks on), with these variables:
//!   `TCPSCOPE_FUZZ_TARGET` (name), `TCPSCOPE_FUZZ_SECONDS`, `TCPSCOPE_FUZZ_CASES` (upper bound),
//!   `TCPSCOPE_FUZZ_OUT` (where failures go), `TCPSCOPE_FUZZ_REPLAY` (a batch seed to run again)
//!   and `TCPSCOPE_FUZZ_TRACE=1` (write every input before checking it).
//!
//! A failure is shrunk by proptest and saved as `OUT/TARGET-failure.txt` (Debug form) and
//! `OUT/TARGET-failure.bin` (raw bytes or text). A crash proptest cannot catch (stack overflow,
//! abort) is found again from the seed of the batch it happened in: before each batch the seed
//! is written to `OUT/TARGET.batch`; fuzz.sh replays that batch with tracing, and the last input
//! written (`OUT/TARGET.current`) is the one that crashed.
//!
//! Adding a target: a function `fn(&Budget) -> Outcome` calling [`drive`] with a strategy, a
//! check and a raw form, listed in [`TARGETS`] and given a suite test with [`suite_test!`].

mod filter;
mod import;
mod mutate;
mod netlink;
mod procfs;
mod recording;
mod trace;

use proptest::strategy::Strategy;
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestError, TestRng, TestRunner};
use std::fmt::Debug;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// Inputs per target in the normal test suite (debug build): enough to catch a regression in
/// seconds, not to search.
pub const SUITE_CASES: u64 = 300;

/// Inputs per proptest run in a long fuzz; the batch seed is logged before each.
const BATCH: u32 = 5_000;

/// A target's entry point: fuzz within the budget, say how many inputs ran and what failed.
pub type Target = fn(&Budget) -> Outcome;

/// Every target: name (as scripts/fuzz.sh and the failure files call it) and entry point.
pub const TARGETS: &[(&str, Target)] = &[
    ("inet_diag", netlink::inet_diag),
    ("inet_diag_exact", netlink::exact_reply),
    ("proc_net_tcp", procfs::proc_net_tcp),
    ("proc_net_counters", procfs::proc_net_counters),
    ("process_text", procfs::process_text),
    ("cgroup", procfs::cgroup),
    ("filter_parse", filter::parse),
    ("filter_bytecode", filter::bytecode_agrees),
    ("recording", recording::recording),
    ("import", import::captures),
    ("import_rows", import::printed_rows),
    ("tracepoint", trace::tracepoint),
    ("perf_record", trace::perf_record),
];

/// How long and how much to fuzz one target.
pub struct Budget {
    /// Stop after this many inputs.
    pub max_cases: u64,
    /// Stop at this moment (checked between batches).
    pub deadline: Option<Instant>,
    /// Inputs per proptest run.
    pub batch: u32,
    /// Run exactly one batch from this seed (replaying a crash).
    pub replay: Option<[u8; 32]>,
    /// Where failures, batch seeds and traced inputs go (`None`: keep nothing).
    pub out: Option<PathBuf>,
    /// Write every input to `OUT/TARGET.current` before checking it.
    pub trace: bool,
}

impl Budget {
    /// The normal suite's budget: [`SUITE_CASES`] inputs, nothing written.
    pub fn suite() -> Budget {
        Budget {
            max_cases: SUITE_CASES,
            deadline: None,
            batch: SUITE_CASES as u32,
            replay: None,
            out: None,
            trace: false,
        }
    }

    /// The budget scripts/fuzz.sh sets through the environment.
    pub fn from_env() -> Budget {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        let seconds: Option<u64> = var("TCPSCOPE_FUZZ_SECONDS").and_then(|s| s.parse().ok());
        Budget {
            max_cases: var("TCPSCOPE_FUZZ_CASES")
                .and_then(|s| s.parse().ok())
                .unwrap_or(u64::MAX),
            deadline: seconds.map(|s| Instant::now() + Duration::from_secs(s)),
            batch: BATCH,
            replay: var("TCPSCOPE_FUZZ_REPLAY").and_then(|hex| seed_from_hex(&hex)),
            out: Some(
                var("TCPSCOPE_FUZZ_OUT")
                    .map(PathBuf::from)
                    .unwrap_or_else(|| PathBuf::from("target/fuzz")),
            ),
            trace: var("TCPSCOPE_FUZZ_TRACE").as_deref() == Some("1"),
        }
    }
}

/// What a target's run came to.
#[derive(Debug)]
pub struct Outcome {
    pub cases: u64,
    /// The shrunk failing input and why, if one failed.
    pub failure: Option<String>,
}

/// Run `check` on inputs from `strategy` until the budget is spent or an input fails. `raw`
/// gives the form of an input to save (the bytes or text a parser was given).
pub fn drive<S>(
    name: &str,
    budget: &Budget,
    strategy: S,
    raw: fn(&S::Value) -> Vec<u8>,
    check: impl Fn(&S::Value) -> Result<(), TestCaseError>,
) -> Outcome
where
    S: Strategy,
    S::Value: Debug,
{
    let mut cases = 0u64;
    let mut master = TestRng::deterministic_rng(RngAlgorithm::ChaCha);
    if budget.replay.is_none() && budget.out.is_some() {
        // A long run explores new inputs every time; the suite's stay the same run to run.
        master = TestRng::from_seed(RngAlgorithm::ChaCha, &fresh_seed());
    }
    loop {
        let left = budget.max_cases.saturating_sub(cases);
        if left == 0 || budget.deadline.is_some_and(|d| Instant::now() >= d) {
            return Outcome {
                cases,
                failure: None,
            };
        }
        let seed = budget.replay.unwrap_or_else(|| {
            let mut s = [0u8; 32];
            rand_fill(&mut master, &mut s);
            s
        });
        let batch = u64::from(budget.batch).min(left) as u32;
        write_file(budget, &format!("{name}.batch"), hex(&seed).as_bytes());
        let config = Config {
            cases: batch,
            failure_persistence: None,
            max_shrink_iters: 20_000,
            max_global_rejects: batch.saturating_mul(4),
            ..Config::default()
        };
        let mut runner =
            TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &seed));
        let result = runner.run(&strategy, |v| {
            if budget.trace {
                write_file(budget, &format!("{name}.current"), &raw(&v));
            }
            check(&v)
        });
        match result {
            Ok(()) => cases += u64::from(batch),
            Err(TestError::Fail(why, value)) => {
                let text = format!(
                    "target {name}, batch seed {}\n{why}\n\ninput: {value:#?}\n",
                    hex(&seed)
                );
                write_file(budget, &format!("{name}-failure.txt"), text.as_bytes());
                write_file(budget, &format!("{name}-failure.bin"), &raw(&value));
                return Outcome {
                    cases,
                    failure: Some(text),
                };
            }
            Err(TestError::Abort(why)) => {
                return Outcome {
                    cases,
                    failure: Some(format!("target {name}: the strategy gave up: {why}")),
                }
            }
        }
        if budget.replay.is_some() {
            return Outcome {
                cases,
                failure: None,
            };
        }
    }
}

fn write_file(budget: &Budget, file: &str, bytes: &[u8]) {
    if let Some(dir) = &budget.out {
        let _ = std::fs::create_dir_all(dir);
        let _ = std::fs::write(dir.join(file), bytes);
    }
}

fn rand_fill(rng: &mut TestRng, out: &mut [u8]) {
    use proptest::prelude::Rng;
    rng.fill_bytes(out);
}

/// A seed from the clock and the process id: a long run should not repeat the last one.
fn fresh_seed() -> [u8; 32] {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos();
    let mut s = [0u8; 32];
    s[..16].copy_from_slice(&t.to_le_bytes());
    s[16..20].copy_from_slice(&std::process::id().to_le_bytes());
    s
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn seed_from_hex(s: &str) -> Option<[u8; 32]> {
    let s = s.trim();
    if s.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, o) in out.iter_mut().enumerate() {
        *o = u8::from_str_radix(s.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

/// The raw form of a text input.
pub fn text_bytes(s: &String) -> Vec<u8> {
    s.as_bytes().to_vec()
}

/// One normal-suite test per target.
macro_rules! suite_test {
    ($($test:ident => $target:expr),* $(,)?) => {$(
        #[test]
        fn $test() {
            let out = $target(&Budget::suite());
            assert!(out.failure.is_none(), "{}", out.failure.unwrap_or_default());
            assert_eq!(out.cases, SUITE_CASES);
        }
    )*};
}

suite_test! {
    fuzz_inet_diag => netlink::inet_diag,
    fuzz_inet_diag_exact => netlink::exact_reply,
    fuzz_proc_net_tcp => procfs::proc_net_tcp,
    fuzz_proc_net_counters => procfs::proc_net_counters,
    fuzz_process_text => procfs::process_text,
    fuzz_cgroup => procfs::cgroup,
    fuzz_filter_parse => filter::parse,
    fuzz_filter_bytecode => filter::bytecode_agrees,
    fuzz_recording => recording::recording,
    fuzz_import => import::captures,
    fuzz_import_rows => import::printed_rows,
    fuzz_tracepoint => trace::tracepoint,
    fuzz_perf_record => trace::perf_record,
}

#[test]
fn every_target_has_a_suite_test() {
    let source = include_str!("mod.rs");
    for (name, _) in TARGETS {
        assert!(
            source.contains(&format!("    fuzz_{name} => ")),
            "target {name} has no suite test in suite_test!"
        );
    }
}

/// The long run scripts/fuzz.sh starts, once per target (`--ignored`).
#[test]
#[ignore = "run by scripts/fuzz.sh with TCPSCOPE_FUZZ_TARGET and TCPSCOPE_FUZZ_SECONDS"]
fn fuzz_one_target() {
    let Ok(name) = std::env::var("TCPSCOPE_FUZZ_TARGET") else {
        let names: Vec<&str> = TARGETS.iter().map(|(n, _)| *n).collect();
        panic!("set TCPSCOPE_FUZZ_TARGET to one of: {}", names.join(" "));
    };
    if name == "list" {
        let names: Vec<&str> = TARGETS.iter().map(|(n, _)| *n).collect();
        println!("FUZZ-TARGETS {}", names.join(" "));
        return;
    }
    let Some((_, target)) = TARGETS.iter().find(|(n, _)| *n == name) else {
        panic!("no fuzz target named {name}");
    };
    let budget = Budget::from_env();
    // proptest reports a panic as the failure's reason; the default hook would also print one
    // message per shrinking step.
    std::panic::set_hook(Box::new(|_| {}));
    let started = Instant::now();
    let out = target(&budget);
    let secs = started.elapsed().as_secs_f64();
    // scripts/fuzz.sh reads this line.
    println!(
        "FUZZ-RESULT target={name} cases={} seconds={secs:.1} rate={:.0}/s failed={}",
        out.cases,
        out.cases as f64 / secs.max(1e-9),
        out.failure.is_some()
    );
    if let Some(f) = out.failure {
        panic!("{f}");
    }
}
