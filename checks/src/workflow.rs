//! .github/workflows/ci.yml, checked here although it runs only on a hosted runner: it follows
//! GitHub's workflow schema (check-jsonschema's built-in copy of SchemaStore's `github-workflow`
//! schema, the one its `vendor.github-workflows` names), every step's script passes shellcheck as
//! the runner's `bash -e` runs it, the scripts it calls exist and pass shellcheck, and its kind
//! cluster runs the Kubernetes version the manifests are validated for.
//!
//! The tools come from scripts/deploy-tools.sh (check-jsonschema) and Debian (shellcheck), which
//! `.ci/run` installs; without them the tests say so and pass, unless `REQUIRE_DEPLOY_TOOLS` is set.

use std::{path::Path, process::Command};

use serde_json::Value;

use crate::{kubernetes::tool, repo};

fn workflow() -> (String, Value) {
    let text = std::fs::read_to_string(repo().join(".github/workflows/ci.yml")).unwrap();
    let value = serde_json::to_value(serde_yaml::from_str::<serde_yaml::Value>(&text).unwrap()).unwrap();
    (text, value)
}

/// check-jsonschema's verdict on a workflow file.
fn schema_check(checker: &Path, file: &Path) -> Result<(), String> {
    let output = Command::new(checker)
        .args(["--builtin-schema", "vendor.github-workflows"])
        .arg(file)
        .output()
        .unwrap();
    let said =
        format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    if output.status.success() { Ok(()) } else { Err(said) }
}

/// shellcheck's findings on a bash script (empty: none).
fn shellcheck(shellcheck: &Path, script: &str, label: &str) -> String {
    let file = std::env::temp_dir().join(format!("workflow-step-{}-{label}.sh", std::process::id()));
    std::fs::write(&file, script).unwrap();
    let output = Command::new(shellcheck).args(["--shell=bash", "--format=gcc"]).arg(&file).output().unwrap();
    let _ = std::fs::remove_file(&file);
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Every step that runs a script: its job, its name, and the script, with each `${{ … }}`
/// expression replaced by a quoted word, as the runner substitutes it before bash sees it.
fn run_steps(workflow: &Value) -> Vec<(String, String, String)> {
    let mut steps = Vec::new();
    for (job, spec) in workflow["jobs"].as_object().unwrap() {
        for (n, step) in spec["steps"].as_array().unwrap().iter().enumerate() {
            if let Some(run) = step["run"].as_str() {
                let mut script = String::new();
                let mut rest = run;
                while let Some(start) = rest.find("${{") {
                    script.push_str(&rest[..start]);
                    let end = rest[start..].find("}}").map_or(rest.len(), |e| start + e + 2);
                    script.push_str("\"expression\"");
                    rest = &rest[end..];
                }
                script.push_str(rest);
                let name = step["name"].as_str().map_or_else(|| format!("step {n}"), str::to_owned);
                steps.push((job.clone(), name, script));
            }
        }
    }
    steps
}

#[test]
fn the_workflow_follows_githubs_schema_and_a_broken_one_does_not() {
    let Some(checker) = tool("check-jsonschema") else { return };
    let file = repo().join(".github/workflows/ci.yml");
    schema_check(&checker, &file).unwrap_or_else(|e| panic!("{e}"));
    // The check can fail: a job without `runs-on`, and a step with a misspelt key.
    let (text, _) = workflow();
    for (what, broken) in [
        ("no runs-on", text.replacen("    runs-on: ubuntu-24.04\n", "", 1)),
        (
            "a misspelt key",
            text.replacen("      - uses: actions/checkout@v4\n", "      - use: actions/checkout@v4\n", 1),
        ),
    ] {
        assert_ne!(broken, text, "{what}: the mutation changed nothing");
        let copy = std::env::temp_dir().join(format!(
            "workflow-{}-{}.yml",
            std::process::id(),
            what.replace(' ', "-")
        ));
        std::fs::write(&copy, broken).unwrap();
        assert!(schema_check(&checker, &copy).is_err(), "{what} passed the schema");
        let _ = std::fs::remove_file(&copy);
    }
}

#[test]
fn every_steps_script_and_every_script_it_calls_passes_shellcheck() {
    let Some(checker) = tool("shellcheck") else { return };
    let (_, workflow) = workflow();
    let steps = run_steps(&workflow);
    assert!(steps.len() >= 12, "{} steps", steps.len());
    let mut called = std::collections::BTreeSet::new();
    for (job, name, script) in &steps {
        // The runner runs a step as `bash -e {0}`: the same here.
        let findings = shellcheck(&checker, &format!("#!/usr/bin/env bash\nset -e\n{script}"), job);
        assert!(findings.is_empty(), "{job}: {name}:\n{findings}\n{script}");
        for word in script.split_whitespace() {
            if let Some(path) = word.strip_prefix("scripts/").or_else(|| word.strip_prefix(".ci/")) {
                let dir = if word.starts_with(".ci/") { ".ci" } else { "scripts" };
                called.insert(format!("{dir}/{path}"));
            }
        }
    }
    for script in &called {
        assert!(repo().join(script).exists(), "the workflow calls {script}, which is not there");
        // In place, following what it sources (scripts/check-common.sh).
        let output = Command::new(&checker)
            .args(["--external-sources", "--shell=bash", "--format=gcc", script])
            .current_dir(repo())
            .output()
            .unwrap();
        let findings = String::from_utf8_lossy(&output.stdout);
        assert!(output.status.success() && findings.is_empty(), "{script}:\n{findings}");
    }
    for script in [
        "scripts/check-stack.sh",
        "scripts/check-jaeger-ui.sh",
        "scripts/check-tail-sampling.sh",
        "scripts/check-span-metrics.sh",
        ".ci/run",
    ] {
        assert!(called.contains(script), "the workflow does not run {script}");
    }
    // shellcheck finds what it should: an unquoted variable.
    assert!(!shellcheck(&checker, "#!/usr/bin/env bash\nrm $1\n", "probe").is_empty());
}

#[test]
fn the_kind_cluster_runs_the_kubernetes_the_manifests_are_validated_for() {
    let (_, workflow) = workflow();
    let kind = workflow["jobs"]["kind"]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["uses"].as_str().is_some_and(|u| u.starts_with("helm/kind-action@")))
        .expect("a kind cluster");
    let image = kind["with"]["node_image"].as_str().unwrap();
    assert!(
        image.starts_with("kindest/node:v1.36.") && image.contains("@sha256:"),
        "{image}: pinned by digest, 1.36"
    );
    assert!(kind["with"]["kubectl_version"].as_str().unwrap().starts_with("v1.36."));
    // The compose job checks the same stack docker-compose.yml runs, with its pinned Jaeger.
    let steps = serde_json::to_string(&workflow["jobs"]["compose"]).unwrap();
    assert!(steps.contains("docker compose up --build --wait"), "{steps}");
}
