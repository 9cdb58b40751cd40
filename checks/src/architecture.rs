//! ARCHITECTURE.md kept true: its table of crates is the workspace's, with each crate's
//! dependencies on the others; the modules of each crate form layers with no loop; only
//! shared-tracing touches trace headers; and no file of the repository cites a document outside it.

use std::{
    collections::{BTreeMap, BTreeSet},
    path::{Path, PathBuf},
};

use serde_json::Value;

use crate::repo;

/// The rows of ARCHITECTURE.md's "The crates" table: a crate's directory and what it may
/// depend on (the crates named in the last column).
fn documented_crates() -> BTreeMap<String, BTreeSet<String>> {
    let page = std::fs::read_to_string(repo().join("ARCHITECTURE.md")).unwrap();
    let table = page.split("## The crates").nth(1).unwrap().split("\n## ").next().unwrap();
    let ticked = |cell: &str| -> BTreeSet<String> {
        cell.split('`').skip(1).step_by(2).map(|name| name.rsplit('/').next().unwrap().to_owned()).collect()
    };
    table
        .lines()
        .filter(|l| l.starts_with("| `"))
        .map(|row| {
            let cells: Vec<&str> = row.trim_matches('|').split('|').collect();
            let dir = cells[0].trim().trim_matches('`').to_owned();
            (dir, ticked(cells.last().unwrap()))
        })
        .collect()
}

/// The workspace's crates, by directory, each with its normal (not dev) dependencies on the others.
fn workspace_crates() -> BTreeMap<String, BTreeSet<String>> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let output = std::process::Command::new(cargo)
        .args(["metadata", "--no-deps", "--format-version", "1", "--offline"])
        .current_dir(repo())
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let metadata: Value = serde_json::from_slice(&output.stdout).unwrap();
    let packages = metadata["packages"].as_array().unwrap();
    let members: BTreeSet<&str> = packages.iter().map(|p| p["name"].as_str().unwrap()).collect();
    packages
        .iter()
        .map(|package| {
            let manifest = Path::new(package["manifest_path"].as_str().unwrap());
            let dir = manifest.parent().unwrap().strip_prefix(repo()).unwrap().to_str().unwrap().to_owned();
            let deps = package["dependencies"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|d| d["kind"].is_null() && members.contains(d["name"].as_str().unwrap()))
                .map(|d| d["name"].as_str().unwrap().to_owned())
                .collect();
            (dir, deps)
        })
        .collect()
}

#[test]
fn the_crate_table_names_every_crate_and_exactly_its_dependencies_on_the_others() {
    let (documented, real) = (documented_crates(), workspace_crates());
    assert_eq!(
        documented.keys().collect::<Vec<_>>(),
        real.keys().collect::<Vec<_>>(),
        "ARCHITECTURE.md's table and the workspace's members"
    );
    for (dir, deps) in &real {
        let said = &documented[dir];
        assert_eq!(
            said, deps,
            "{dir}: ARCHITECTURE.md says it depends on {said:?}, its Cargo.toml on {deps:?}"
        );
    }
}

/// The modules of the crate at `src`, each with the sibling modules its code (not its comments or
/// its tests) names through `crate::`, a name the crate root re-exports (`pub use module::Name`)
/// counting as its module: `crate::TelemetryError` is `error`'s.
fn module_graph(src: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let mut files = Vec::new();
    let mut dirs = vec![src.to_owned()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                files.push(path);
            }
        }
    }
    let module_of = |path: &Path| {
        let rel = path.strip_prefix(src).unwrap();
        let first = rel.components().next().unwrap().as_os_str().to_str().unwrap();
        first.trim_end_matches(".rs").to_owned()
    };
    let modules: BTreeSet<String> =
        files.iter().map(|f| module_of(f)).filter(|m| m != "lib" && m != "main").collect();
    let reexported = reexports(&src.join("lib.rs"));
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in &files {
        let module = module_of(file);
        if !modules.contains(&module) {
            continue;
        }
        let text = std::fs::read_to_string(file).unwrap();
        let code: String = text
            .split("#[cfg(test)]")
            .next()
            .unwrap()
            .lines()
            .filter(|l| !l.trim_start().starts_with("//"))
            .collect::<Vec<_>>()
            .join("\n");
        let names = graph.entry(module.clone()).or_default();
        // `crate::name` anywhere, and the names inside `use crate::{…};`.
        for (at, _) in code.match_indices("crate::") {
            let rest = &code[at + "crate::".len()..];
            let inside = match rest.strip_prefix('{') {
                Some(group) => &group[..group.find("};").unwrap_or(group.len())],
                None => rest.split(|c: char| !(c.is_alphanumeric() || c == '_')).next().unwrap(),
            };
            for word in inside.split(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':')) {
                let first = word.split("::").next().unwrap();
                let first = reexported.get(first).map_or(first, String::as_str);
                if modules.contains(first) && first != module {
                    names.insert(first.to_owned());
                }
            }
        }
    }
    graph
}

/// What the crate root at `lib` re-exports: each name of a `pub use module::…;`, with its module.
fn reexports(lib: &Path) -> BTreeMap<String, String> {
    let text = std::fs::read_to_string(lib).unwrap_or_default();
    let mut names = BTreeMap::new();
    for (at, _) in text.match_indices("pub use ") {
        let statement = &text[at + "pub use ".len()..];
        let statement = &statement[..statement.find(';').unwrap_or(statement.len())];
        let Some((module, rest)) = statement.split_once("::") else { continue };
        for name in rest.split(|c: char| !(c.is_alphanumeric() || c == '_')).filter(|n| !n.is_empty()) {
            names.insert(name.to_owned(), module.trim().to_owned());
        }
    }
    names
}

/// A loop in `graph`, if there is one, as the modules along it.
fn a_loop(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        graph: &BTreeMap<String, BTreeSet<String>>,
        module: &str,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|m| m == module) {
            let mut cycle = path[at..].to_vec();
            cycle.push(module.to_owned());
            return Some(cycle);
        }
        if done.contains(module) {
            return None;
        }
        path.push(module.to_owned());
        for next in graph.get(module).into_iter().flatten() {
            if let Some(cycle) = visit(graph, next, path, done) {
                return Some(cycle);
            }
        }
        path.pop();
        done.insert(module.to_owned());
        None
    }
    let mut done = BTreeSet::new();
    graph.keys().find_map(|module| visit(graph, module, &mut Vec::new(), &mut done))
}

/// The workspace crates `dir` is built from, itself and every crate it depends on, however far.
fn built_from(crates: &BTreeMap<String, BTreeSet<String>>, dir: &str) -> BTreeSet<String> {
    let by_name = |name: &str| crates.keys().find(|d| d.rsplit('/').next() == Some(name)).cloned();
    let mut seen = BTreeSet::from([dir.to_owned()]);
    let mut todo = vec![dir.to_owned()];
    while let Some(next) = todo.pop() {
        for dep in &crates[&next] {
            let dep = by_name(dep).unwrap();
            if seen.insert(dep.clone()) {
                todo.push(dep);
            }
        }
    }
    seen
}

#[test]
fn the_lesson_crate_and_the_copy_guide_are_built_without_hardening_and_the_services_with_it() {
    // From `cargo metadata`: what the compiler links, not what the text says.
    let crates = workspace_crates();
    for plain in ["shared-tracing", "examples/traced-service"] {
        let from = built_from(&crates, plain);
        assert!(!from.contains("shared-tracing-hardening"), "{plain} is built from {from:?}");
    }
    for service in ["gateway", "order-service", "payment-service"] {
        assert!(built_from(&crates, service).contains("shared-tracing-hardening"), "{service}");
    }
    assert!(crates["shared-tracing-hardening"].contains("shared-tracing"), "hardening sits above");
}

#[test]
fn the_modules_of_each_crate_form_layers_with_no_loop() {
    let mut checked = 0;
    for dir in workspace_crates().keys() {
        let src = repo().join(dir).join("src");
        let graph = module_graph(&src);
        if let Some(cycle) = a_loop(&graph) {
            panic!("{dir}: its modules import each other in a loop: {}", cycle.join(" → "));
        }
        checked += graph.len();
    }
    assert!(checked > 50, "only {checked} modules found");
    // The check finds a loop where there is one.
    let looped = BTreeMap::from([
        ("startup".to_owned(), BTreeSet::from(["orders".to_owned()])),
        ("orders".to_owned(), BTreeSet::from(["state".to_owned()])),
        ("state".to_owned(), BTreeSet::from(["startup".to_owned()])),
    ]);
    assert_eq!(a_loop(&looped).map(|c| c.len()), Some(4));
    // And follows re-exports: shared-tracing's `tls` names `crate::…::TelemetryError`, its
    // `telemetry` names the re-exported `crate::TelemetryConfig`, which is `config`'s.
    let shared_tracing = module_graph(&repo().join("shared-tracing/src"));
    assert!(shared_tracing["tls"].contains("error"), "{shared_tracing:?}");
    assert_eq!(
        reexports(&repo().join("shared-tracing/src/lib.rs")).get("TelemetryConfig").map(String::as_str),
        Some("config")
    );
    // And reads `use crate::{…}` groups: order-service's storage reads the catalog's types.
    let order_service = module_graph(&repo().join("order-service/src"));
    assert!(order_service["db"].contains("catalog"), "{order_service:?}");
    assert!(!order_service["db"].contains("orders"), "storage imports no handler");
    assert!(order_service["orders"].contains("state") && !order_service["state"].contains("orders"));
}

/// The code lines (not comments) of every `.rs` file under `dir`.
fn code_lines(dir: &Path) -> Vec<(PathBuf, String)> {
    let mut lines = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            lines.extend(code_lines(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            let text = std::fs::read_to_string(&path).unwrap();
            for line in text.lines().filter(|l| !l.trim_start().starts_with("//")) {
                lines.push((path.clone(), line.to_owned()));
            }
        }
    }
    lines
}

#[test]
fn only_shared_tracing_reads_or_writes_trace_headers() {
    let headers = ["\"traceparent\"", "\"tracestate\"", "\"baggage\"", "\"traceresponse\""];
    let mut read = 0;
    // The services and the crates they are built from; not the tools that read answers as a
    // client does (tracectl, loadgen, which reads `traceresponse` to name a request's trace), nor
    // the exercises, which teach the mechanism itself (ARCHITECTURE.md says why).
    let tools = ["tracectl", "support/loadgen", "exercises"];
    for dir in
        workspace_crates().keys().filter(|d| !d.starts_with("shared-tracing") && !tools.contains(&d.as_str()))
    {
        for (path, line) in code_lines(&repo().join(dir).join("src")) {
            read += 1;
            assert!(
                !headers.iter().any(|h| line.to_ascii_lowercase().contains(h)),
                "{}: a trace header handled outside shared-tracing: {line}",
                path.display()
            );
        }
    }
    assert!(read > 1_000, "only {read} lines read");
    let propagation = code_lines(&repo().join("shared-tracing/src"));
    assert!(
        propagation.iter().any(|(_, l)| l.contains("\"traceresponse\"")),
        "the check looks for what is there"
    );
}

#[test]
fn no_file_cites_a_document_outside_the_repository() {
    let output = std::process::Command::new("git").args(["ls-files"]).current_dir(repo()).output().unwrap();
    assert!(output.status.success());
    // Spelled in pieces, so that this file does not cite them either.
    let outside = [["../", "shared"].concat(), ["DESIGN", ".md"].concat(), ["STYLE", ".md"].concat()];
    let mut read = 0;
    for file in String::from_utf8(output.stdout).unwrap().lines() {
        let Ok(text) = std::fs::read_to_string(repo().join(file)) else { continue };
        read += 1;
        for cited in &outside {
            assert!(!text.contains(cited.as_str()), "{file} cites {cited}, which is not in the repository");
        }
    }
    assert!(read > 100, "only {read} files read");
}

/// The longest a function may be, in code lines (not blank, not comments): what a reader holds.
const MAX_FUNCTION_LINES: usize = 60;

/// Each function of `code` (a file's text before its tests) longer than the maximum: its name and
/// length. A function runs from its `fn` line to the line where its braces balance.
fn long_functions(code: &str) -> Vec<(String, usize)> {
    let lines: Vec<&str> = code.lines().collect();
    let mut long = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i].trim_start();
        let after_fn =
            ["fn ", "pub fn ", "async fn ", "pub async fn ", "pub(crate) fn ", "pub(crate) async fn "]
                .iter()
                .find_map(|prefix| line.strip_prefix(prefix));
        let Some(rest) = after_fn.filter(|_| !line.trim_end().ends_with(';')) else {
            i += 1;
            continue;
        };
        let name: String = rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
        let (mut depth, mut opened, mut count, mut j) = (0i64, false, 0, i);
        while j < lines.len() {
            let text = lines[j].trim();
            count += usize::from(!text.is_empty() && !text.starts_with("//"));
            depth += lines[j].matches('{').count() as i64 - lines[j].matches('}').count() as i64;
            opened |= lines[j].contains('{');
            if opened && depth <= 0 {
                break;
            }
            j += 1;
        }
        if count > MAX_FUNCTION_LINES {
            long.push((name, count));
        }
        i = j + 1;
    }
    long
}

#[test]
fn no_function_of_the_services_the_tracing_crates_support_or_tracectl_is_longer_than_a_reader_holds() {
    let dirs = workspace_crates().into_keys().filter(|dir| {
        !["e2e", "checks", "support/jaeger-stand-in", "shared-tracing-testing"].contains(&dir.as_str())
    });
    let mut too_long = Vec::new();
    let mut files = 0;
    for dir in dirs {
        let mut stack = vec![repo().join(&dir).join("src")];
        while let Some(path) = stack.pop() {
            for entry in std::fs::read_dir(&path).into_iter().flatten() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    stack.push(path);
                } else if path.extension().is_some_and(|e| e == "rs") {
                    let text = std::fs::read_to_string(&path).unwrap();
                    let code = text.split("#[cfg(test)]").next().unwrap();
                    files += 1;
                    for (name, lines) in long_functions(code) {
                        too_long.push(format!("{}: {name} ({lines} lines)", path.display()));
                    }
                }
            }
        }
    }
    assert!(files > 50, "only {files} files read");
    assert_eq!(too_long, Vec::<String>::new(), "longer than {MAX_FUNCTION_LINES} code lines");
    // The check can fail: a 61-line function is found, a 60-line one is not.
    let body = |n: usize| format!("fn f() {{\n{}}}\n", "    x();\n".repeat(n - 2));
    assert_eq!(long_functions(&body(61)), [("f".to_owned(), 61)]);
    assert!(long_functions(&body(60)).is_empty());
}
