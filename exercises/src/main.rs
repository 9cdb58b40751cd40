//! `exercise`: checks one exercise, as `scripts/exercise.sh N` runs it.
//!
//! ```text
//! exercise check N [--solution]   run exercise N (yours, or the solution) and judge its trace
//! exercise list                   one line per exercise: its number, file and title
//! ```
//! Exit 0 when the trace is right, 1 when it is not, 2 for a usage error.

use std::{fmt::Write as _, io::Write as _, process::ExitCode};

use exercises::checks::{ALL, Variant};
use tracectl::{lint, waterfall};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    match args.as_slice() {
        ["list"] => {
            for (n, exercise) in ALL.iter().enumerate() {
                println!("{}\t{}\t{}", n + 1, exercise.file, exercise.title);
            }
            ExitCode::SUCCESS
        }
        ["check", n] => check(n, Variant::Yours),
        ["check", n, "--solution"] => check(n, Variant::Solution),
        _ => usage(),
    }
}

fn usage() -> ExitCode {
    eprintln!("usage: exercise check N [--solution] | exercise list   (N from 1 to {})", ALL.len());
    ExitCode::from(2)
}

/// The traces drawn at most: a sampler's exercise makes dozens.
const DRAWN: usize = 4;

/// Runs exercise `n`, draws its trace beside the expected shape, lints it and says the verdict.
fn check(n: &str, variant: Variant) -> ExitCode {
    let Some(exercise) = n.parse::<usize>().ok().and_then(|n| ALL.get(n.checked_sub(1)?)) else {
        return usage();
    };
    let folder = if variant == Variant::Solution { "exercises/solutions" } else { "exercises" };
    let outcome = exercise.check(variant);
    let mut out = format!("Exercise {n}: {} ({folder}/{})\n\n", exercise.title, exercise.file);
    let traces = &outcome.traces;
    let _ = writeln!(out, "Your trace{}:", if traces.len() == 1 { "" } else { "s" });
    for trace in traces.iter().take(DRAWN) {
        let _ = writeln!(out, "{}", waterfall::render(trace, waterfall::Options::default()));
    }
    if traces.len() > DRAWN {
        let _ = writeln!(out, "… and {} more.\n", traces.len() - DRAWN);
    }
    let _ = writeln!(out, "Expected:\n{}\n", exercise.expected);
    let findings = lint::lint(traces, &lint::Thresholds::default());
    if !findings.is_empty() {
        let _ = writeln!(out, "tracectl lint:\n{}", lint::text(&findings, traces.len()));
    }
    let code = match outcome.problem {
        None => {
            let _ = writeln!(out, "PASS: exercise {n} is done.");
            ExitCode::SUCCESS
        }
        Some(problem) => {
            let _ = writeln!(out, "FAIL: {problem}.\nHint: {}.", exercise.hint);
            ExitCode::FAILURE
        }
    };
    // A reader that stopped reading (`| head`) is not an error of the exercise.
    let _ = std::io::stdout().write_all(out.as_bytes());
    code
}
