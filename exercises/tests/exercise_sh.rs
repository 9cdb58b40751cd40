//! `scripts/exercise.sh`, run as a learner runs it, with the checker this test build made
//! (`EXERCISE_BIN`, so the script builds nothing).

use std::{path::PathBuf, process::Command};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// `scripts/exercise.sh args…` in `dir` (the repository, unless a copy): its exit code and output.
fn script(dir: &std::path::Path, args: &[&str]) -> (Option<i32>, String) {
    let output = Command::new(dir.join("scripts/exercise.sh"))
        .args(args)
        .env("EXERCISE_BIN", env!("CARGO_BIN_EXE_exercise"))
        .output()
        .expect("bash runs the script");
    let printed =
        String::from_utf8_lossy(&output.stdout).into_owned() + &String::from_utf8_lossy(&output.stderr);
    (output.status.code(), printed)
}

#[test]
fn one_number_checks_one_exercise_and_none_checks_all_with_progress() {
    let (code, printed) = script(&repo(), &["3"]);
    assert_eq!(code, Some(1), "{printed}");
    assert!(printed.contains("FAIL: ") && printed.contains("`check_one`"), "{printed}");
    let (code, printed) = script(&repo(), &["--solution", "3"]);
    assert_eq!(code, Some(0), "{printed}");
    assert!(printed.contains("PASS: exercise 3 is done."), "{printed}");

    let (code, printed) = script(&repo(), &[]);
    let count = exercises::checks::ALL.len();
    assert_eq!(code, Some(1), "{printed}");
    assert!(printed.contains(&format!("0 of {count} done.")), "{printed}");
    assert_eq!(printed.matches("to do").count(), count, "one line per exercise:\n{printed}");

    for bad in ["99", "x"] {
        let (code, printed) = script(&repo(), &[bad]);
        assert_eq!(code, Some(2), "{bad}: {printed}");
    }
}

#[test]
fn reset_puts_an_exercise_back_as_shipped() {
    // A repository of its own: the script and the exercises, committed, then one edited.
    let dir = std::env::temp_dir().join(format!("exercise-reset-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("scripts")).unwrap();
    std::fs::create_dir_all(dir.join("exercises")).unwrap();
    std::fs::copy(repo().join("scripts/exercise.sh"), dir.join("scripts/exercise.sh")).unwrap();
    let file = "exercises/02_call_context.rs";
    let shipped = std::fs::read_to_string(repo().join(file)).unwrap();
    std::fs::write(dir.join(file), &shipped).unwrap();
    let git = |args: &[&str]| {
        let status = Command::new("git")
            .args(["-c", "user.name=t", "-c", "user.email=t@example.com"])
            .args(args)
            .current_dir(&dir)
            .status()
            .unwrap();
        assert!(status.success(), "git {args:?}");
    };
    git(&["init", "-q"]);
    git(&["add", "."]);
    git(&["commit", "-q", "-m", "shipped"]);
    std::fs::write(dir.join(file), "half-written, does not compile {").unwrap();

    let (code, printed) = script(&dir, &["--reset", "2"]);
    assert_eq!(code, Some(0), "{printed}");
    assert!(printed.contains("as shipped again"), "{printed}");
    assert_eq!(std::fs::read_to_string(dir.join(file)).unwrap(), shipped);
    let _ = std::fs::remove_dir_all(&dir);
}
