//! The lesson path stays the lesson: the documentation of the modules a reader follows a request
//! through names nothing of the demo the workspace builds around them. (That none of them leans on
//! production hardening the compiler keeps: hardening is a crate above this one,
//! `shared-tracing-hardening`, and `checks/src/architecture.rs` says which crates may use it.)

use std::path::Path;

/// `(file name, text)` of every `.rs` file directly in `dir`.
fn sources(dir: &Path) -> Vec<(String, String)> {
    let mut files: Vec<(String, String)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "rs"))
        .map(|path| {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read_to_string(&path).unwrap())
        })
        .collect();
    files.sort();
    files
}

#[test]
fn the_lesson_modules_documentation_names_no_demo_concept() {
    let demo =
        ["checkout", "stripe", "gateway", "order-service", "payment-service", "scenario", "card", "sku"];
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    for (name, text) in sources(&crate_dir.join("src")) {
        let code = text.split("#[cfg(test)]").next().unwrap_or_default();
        let docs = code.lines().filter(|line| line.trim_start().starts_with("//"));
        let offending: Vec<&str> = docs
            .filter(|line| {
                let lower = line.to_lowercase();
                let mut words = lower.split(|c: char| !(c.is_ascii_alphanumeric() || c == '-'));
                words.any(|word| demo.contains(&word))
            })
            .collect();
        assert!(offending.is_empty(), "src/{name}'s comments name the demo: {offending:#?}");
    }
}
