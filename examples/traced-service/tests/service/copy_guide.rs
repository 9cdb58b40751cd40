//! The README's "Trace your own axum service", followed word for word: its `Cargo.toml` and
//! `src/main.rs` written into a new crate outside this workspace (the path to shared-tracing the
//! one change, as the README says to make it), built there with `cargo build`, and its binary
//! run as `OTEL_TRACES_EXPORTER=console cargo run` runs it (on a port the OS picks rather than
//! 8080), then called as `curl localhost:8080/hello` calls it. Its spans must be on stdout: the
//! SERVER span of `GET /hello`, and `greet` under it.
//!
//! The crate is built with this repository's `Cargo.lock` (so with the versions tested here) and
//! `--offline` (every crate it needs was fetched to build the workspace), in a temporary directory,
//! with a target directory of its own under this one's, kept between runs.

use std::{path::Path, process::Command};

use crate::{start, stop};

/// The first ` ```{info} ` block of the README's copy guide.
fn block<'a>(guide: &'a str, info: &str) -> &'a str {
    let fence = format!("```{info}\n");
    let start =
        guide.find(&fence).unwrap_or_else(|| panic!("no {info} block in the copy guide")) + fence.len();
    let end = start + guide[start..].find("```\n").unwrap();
    &guide[start..end]
}

#[tokio::test(flavor = "multi_thread")]
async fn the_copy_guide_builds_outside_the_workspace_and_prints_a_server_span_and_its_instrumented_child() {
    // Arrange: the README's two files, in a crate of their own.
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().unwrap();
    let readme = std::fs::read_to_string(repo.join("README.md")).unwrap();
    let guide = &readme[readme.find("## Trace your own axum service").expect("the copy guide")..];
    let guide = &guide[..guide[3..].find("\n## ").map_or(guide.len(), |end| end + 3)];
    let (manifest, main) = (block(guide, "toml"), block(guide, "rust"));
    let example = std::fs::read_to_string(repo.join("examples/traced-service/src/main.rs")).unwrap();
    assert_eq!(main, example, "the README's src/main.rs is examples/traced-service/src/main.rs");
    let dependency = r#"path = "../traced-checkout/shared-tracing""#;
    assert!(manifest.contains(dependency), "the guide's dependency line: {manifest}");
    let shared_tracing = repo.join("shared-tracing");
    let manifest = manifest.replace(dependency, &format!("path = {:?}", shared_tracing.to_str().unwrap()));

    // Outside the repository (inside it, cargo would take the crate for a stray workspace member).
    let krate = std::env::temp_dir().join(format!("traced-service-copy-guide-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&krate);
    let root = Path::new(env!("CARGO_TARGET_TMPDIR")).join("copy-guide");
    std::fs::create_dir_all(krate.join("src")).unwrap();
    std::fs::write(krate.join("Cargo.toml"), manifest).unwrap();
    std::fs::write(krate.join("src/main.rs"), main).unwrap();
    std::fs::copy(repo.join("Cargo.lock"), krate.join("Cargo.lock")).unwrap();
    let mut build = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned()));
    build
        .args(["build", "--quiet", "--offline"])
        .current_dir(&krate)
        .env("CARGO_TARGET_DIR", root.join("target"));

    // Act: `cargo build` outside the workspace, then `OTEL_TRACES_EXPORTER=console cargo run`.
    let built = tokio::task::spawn_blocking(move || build.output().unwrap()).await.unwrap();
    assert!(
        built.status.success(),
        "the copy guide does not build:\n{}",
        String::from_utf8_lossy(&built.stderr)
    );
    let binary = root.join("target/debug/traced-service");
    let (mut child, mut lines, address) = start(&binary, &[("OTEL_TRACES_EXPORTER", "console")]).await;
    let answer = reqwest::get(format!("http://{address}/hello")).await.unwrap().text().await.unwrap();
    assert!(stop(&mut child).await.success(), "exit 0 after SIGTERM");
    let mut stdout = Vec::new();
    while let Some(line) = lines.next_line().await.unwrap() {
        stdout.push(line);
    }
    let _ = std::fs::remove_dir_all(&krate);

    // Assert: the answer, and the two spans, one the other's parent, in one trace.
    assert_eq!(answer, "hello, world\n");
    let (spans, _) = shared_tracing_testing::console::spans(&stdout);
    let span = |kind: &str, name: &str| {
        let found = spans.iter().find(|s| s.field("Kind") == Some(kind) && s.field("Name") == Some(name));
        found.unwrap_or_else(|| panic!("no {kind} span {name}: {stdout:#?}")).clone()
    };
    let (server, greet) = (span("Server", "GET /hello"), span("Internal", "greet"));
    assert_eq!(greet.field("ParentSpanId"), server.field("SpanId"), "greet under the SERVER span");
    assert_eq!(greet.field("TraceId"), server.field("TraceId"));
    assert_eq!(server.field("ParentSpanId"), Some("None (root span)"), "the trace starts here");
    assert!(greet.attributes.iter().any(|a| a.starts_with("name: ") && a.contains("\"world\"")), "{greet:?}");
    assert_eq!(greet.events, ["Greeting"]);
}
