//! The lesson path stays the lesson: no module a reader follows a request through names the
//! hardening module (it is something a service switches on, `with_extension(Hardening…)`, not
//! something the lesson leans on), and the smallest traced service does not switch it on; and
//! their documentation names nothing of the demo the workspace builds around them.

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
fn no_lesson_module_names_hardening_and_the_example_service_does_not_switch_it_on() {
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let lessons = sources(&crate_dir.join("src"));
    assert!(lessons.len() >= 10, "the lesson modules were not found: {:?}", lessons.iter().map(|(n, _)| n));
    for (name, text) in &lessons {
        // The crate root declares the module; that is all it may say of it in code.
        let named = text.lines().filter(|line| line.contains("hardening")).collect::<Vec<_>>();
        let allowed = |line: &&str| {
            name == "lib.rs" && (line.trim() == "pub mod hardening;" || line.trim_start().starts_with("//!"))
        };
        let offending: Vec<_> = named.into_iter().filter(|line| !allowed(line)).collect();
        assert!(offending.is_empty(), "src/{name} names hardening: {offending:#?}");
    }
    let example = std::fs::read_to_string(crate_dir.join("../examples/traced-service/src/main.rs")).unwrap();
    assert!(!example.contains("hardening") && !example.contains("Hardening"), "the example switches it on");
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
