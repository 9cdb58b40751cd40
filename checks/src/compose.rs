//! docker-compose.yml read as Docker Compose reads it (`compose_spec`, a typed implementation of
//! the Compose specification): for the checks of the compose file and for the end-to-end docs test,
//! which runs the pages' `docker compose` commands' meaning without a Docker engine.

use std::collections::BTreeSet;

use compose_spec::Compose;
use serde_json::Value;

use crate::repo;

/// The compose file, parsed as Docker Compose would with no variables set (YAML merge keys
/// applied, `${VAR:-default}` interpolated), validated, and returned as JSON for easy reading.
pub fn compose() -> Value {
    compose_with(&[])
}

/// Like [`compose`], with the shell's variables `vars` (e.g. `OTLP_HOST=tail-sampler`).
pub fn compose_with(vars: &[(&str, &str)]) -> Value {
    let text = interpolate(&std::fs::read_to_string(repo().join("docker-compose.yml")).unwrap(), vars);
    let mut yaml: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
    yaml.apply_merge().unwrap();
    let compose: Compose = serde_yaml::from_value(yaml).expect("docker-compose.yml follows the Compose spec");
    compose.validate_all().expect("docker-compose.yml references only what it defines");
    serde_json::to_value(&compose).unwrap()
}

/// Compose's interpolation, the forms this file uses: `${VAR:-default}` (the default when VAR is
/// unset or empty) and `${VAR}`. An unterminated `${` is left as it is, so a parse notices it.
fn interpolate(text: &str, vars: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let Some(len) = rest[start..].find('}') else { break };
        let expression = &rest[start + 2..start + len];
        let (name, default) = expression.split_once(":-").unwrap_or((expression, ""));
        let set = vars.iter().find(|(k, _)| *k == name).map(|(_, v)| *v).filter(|v| !v.is_empty());
        out.push_str(set.unwrap_or(default));
        rest = &rest[start + len + 1..];
    }
    out.push_str(rest);
    out
}

/// The services `docker compose --profile <profiles>` starts: those without profiles, and those
/// in one of `profiles`.
pub fn active_services(compose: &Value, profiles: &[&str]) -> BTreeSet<String> {
    compose["services"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(_, service)| match service["profiles"].as_array() {
            None => true,
            Some(theirs) => theirs.iter().any(|p| profiles.contains(&p.as_str().unwrap())),
        })
        .map(|(name, _)| name.clone())
        .collect()
}
