//! Every exercise's check can fail and can pass: each exercise as shipped fails, naming what its
//! trace lacks, and passes with its solution. Both are compiled into the one `exercise` binary
//! this test runs, as `scripts/exercise.sh` does.

use std::process::Command;

/// What `exercise check N [--solution]` printed, and whether it passed.
fn check(n: usize, solution: bool) -> (bool, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_exercise"));
    command.args(["check", &n.to_string()]);
    if solution {
        command.arg("--solution");
    }
    let output = command.output().expect("the exercise binary runs");
    let printed =
        String::from_utf8_lossy(&output.stdout).into_owned() + &String::from_utf8_lossy(&output.stderr);
    let code = output.status.code();
    assert!(matches!(code, Some(0 | 1)), "exercise {n}: exit {code:?}\n{printed}");
    (code == Some(0), printed)
}

#[test]
fn each_exercise_fails_as_shipped_saying_what_its_trace_lacks_and_passes_with_its_solution() {
    let count = exercises::checks::ALL.len();
    assert!(count >= 10, "at least ten exercises: {count}");
    for n in 1..=count {
        let (passed, printed) = check(n, false);
        assert!(!passed, "exercise {n} as shipped must fail:\n{printed}");
        let verdict = printed.lines().find(|l| l.starts_with("FAIL: ")).unwrap_or_default();
        assert!(verdict.len() > 60, "exercise {n}: the failure says what is wrong in the trace:\n{printed}");
        assert!(printed.contains("Hint: "), "exercise {n}: a hint:\n{printed}");
        assert!(printed.contains("Expected:"), "exercise {n}: the expected shape:\n{printed}");

        let (passed, printed) = check(n, true);
        assert!(passed, "exercise {n}'s solution must pass:\n{printed}");
        assert!(printed.contains(&format!("PASS: exercise {n} is done.")), "{printed}");
    }
}

#[test]
fn a_number_out_of_range_is_a_usage_error() {
    for bad in ["0", "99", "three"] {
        let output = Command::new(env!("CARGO_BIN_EXE_exercise")).args(["check", bad]).output().unwrap();
        assert_eq!(output.status.code(), Some(2), "{bad}");
        assert!(String::from_utf8_lossy(&output.stderr).contains("usage: exercise check N"), "{bad}");
    }
}

/// The text of `path`, from the repository's root.
fn read(path: &str) -> String {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    std::fs::read_to_string(root.join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[test]
fn each_exercise_names_the_pages_it_practises_and_those_pages_point_back_at_it() {
    let your_turn = read("lessons/your-turn.md");
    for (i, exercise) in exercises::checks::ALL.iter().enumerate() {
        let n = (i + 1).to_string();
        let text = read(&format!("exercises/{}", exercise.file));
        assert!(read(&format!("exercises/solutions/{}", exercise.file)).contains("(a solution)"), "{n}");
        assert!(text.contains("YOUR PART"), "exercise {n} marks the learner's part");
        assert!(text.contains(&format!("scripts/exercise.sh {n}`")), "exercise {n} says how to check it");
        assert!(
            your_turn.contains(&format!("| {n} | `exercises/{}` |", exercise.file)),
            "your-turn.md lists {n}"
        );
        // "Practises:" up to the paragraph's end: the pages, and the sections quoted in them.
        let practises: String = text
            .lines()
            .skip_while(|l| !l.starts_with("//! Practises:"))
            .take_while(|l| *l != "//!")
            .collect::<Vec<_>>()
            .join(" ");
        let pages: Vec<&str> = practises.split('`').filter(|p| p.ends_with(".md")).collect();
        assert!(!pages.is_empty(), "exercise {n} names the page it practises");
        for page in &pages {
            let body = read(page);
            if page.starts_with("lessons/") {
                let back = body.lines().filter(|l| l.contains("your-turn.md")).collect::<Vec<_>>().join(" ");
                let words: Vec<&str> = back.split(|c: char| !c.is_ascii_digit()).collect();
                assert!(words.contains(&n.as_str()), "{page} points at exercise {n}: {back:?}");
            }
        }
        for section in practises.split('"').skip(1).step_by(2) {
            let heading = format!("## {section}");
            assert!(
                pages.iter().any(|page| read(page).lines().any(|l| l == heading)),
                "exercise {n} quotes the section {section:?}, which no page it names has"
            );
        }
    }
}
