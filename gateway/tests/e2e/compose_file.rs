//! docker-compose.yml and the Dockerfile, checked without a Docker engine (none runs on the build
//! machines): the compose file is parsed and validated by `compose_spec`, a typed implementation of
//! the Compose specification, and the wiring it declares is checked against the services' contract.

use std::{collections::BTreeSet, path::PathBuf};

use compose_spec::Compose;
use serde_json::Value;

fn repo_file(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..").join(name)
}

/// The compose file, parsed as Docker Compose would (YAML merge keys applied), validated, and
/// returned as JSON for easy reading.
fn compose() -> Value {
    let text = std::fs::read_to_string(repo_file("docker-compose.yml")).unwrap();
    let mut yaml: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
    yaml.apply_merge().unwrap();
    let compose: Compose = serde_yaml::from_value(yaml).expect("docker-compose.yml follows the Compose spec");
    compose.validate_all().expect("docker-compose.yml references only what it defines");
    serde_json::to_value(&compose).unwrap()
}

fn env<'a>(compose: &'a Value, service: &str, key: &str) -> Option<&'a str> {
    compose["services"][service]["environment"][key].as_str()
}

#[test]
fn compose_declares_jaeger_and_the_three_services() {
    let compose = compose();
    let names: BTreeSet<&str> = compose["services"].as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(names, BTreeSet::from(["jaeger", "gateway", "order-service", "payment-service"]));
}

#[test]
fn jaeger_is_v2_with_a_pinned_version() {
    let compose = compose();
    let image = compose["services"]["jaeger"]["image"].as_str().unwrap();
    let (name, tag) = image.rsplit_once(':').expect("the image has a tag");
    assert_eq!(name, "jaegertracing/jaeger", "the v2 image (all-in-one is v1, end-of-life)");
    let parts: Vec<u32> = tag.split('.').map(|p| p.parse().expect("a numeric version")).collect();
    assert_eq!((parts.len(), parts[0]), (3, 2), "pin an exact 2.x.y, not {tag:?}");
}

#[test]
fn only_the_gateway_and_the_jaeger_ui_are_published() {
    let compose = compose();
    let mut published = Vec::new();
    for (name, service) in compose["services"].as_object().unwrap() {
        for port in service["ports"].as_array().into_iter().flatten() {
            published.push(format!("{name} {port}"));
        }
    }
    published.sort();
    assert_eq!(published, ["gateway \"3000:3000\"", "jaeger \"16686:16686\""]);
}

#[test]
fn every_service_exports_otlp_http_to_jaeger_inside_the_compose_network() {
    let compose = compose();
    for service in ["gateway", "order-service", "payment-service"] {
        assert_eq!(
            env(&compose, service, "OTEL_EXPORTER_OTLP_ENDPOINT"),
            Some("http://jaeger:4318"),
            "{service}"
        );
        assert_eq!(env(&compose, service, "OTEL_EXPORTER_OTLP_PROTOCOL"), Some("http/protobuf"), "{service}");
    }
}

#[test]
fn services_call_each_other_by_compose_name_on_the_ports_they_listen_on() {
    let compose = compose();
    assert_eq!(env(&compose, "gateway", "PORT"), Some("3000"));
    assert_eq!(env(&compose, "order-service", "PORT"), Some("3001"));
    assert_eq!(env(&compose, "payment-service", "PORT"), Some("3002"));
    assert_eq!(env(&compose, "gateway", "ORDER_SERVICE_URL"), Some("http://order-service:3001"));
    assert_eq!(env(&compose, "order-service", "PAYMENT_SERVICE_URL"), Some("http://payment-service:3002"));
    assert_eq!(env(&compose, "gateway", "JAEGER_UI_URL"), Some("http://localhost:16686"));
}

#[test]
fn services_start_in_dependency_order_behind_healthchecks_of_their_own_port() {
    let compose = compose();
    let condition =
        |service: &str, on: &str| compose["services"][service]["depends_on"][on]["condition"].clone();
    assert_eq!(condition("gateway", "order-service"), "service_healthy");
    assert_eq!(condition("order-service", "payment-service"), "service_healthy");
    assert_eq!(condition("payment-service", "jaeger"), "service_started");
    for (service, port) in [("gateway", 3000), ("order-service", 3001), ("payment-service", 3002)] {
        let test = compose["services"][service]["healthcheck"]["test"].to_string();
        assert!(test.contains(&format!("http://localhost:{port}/health")), "{service}: {test}");
    }
}

#[test]
fn each_service_image_is_built_from_the_dockerfile_for_its_own_binary() {
    let compose = compose();
    let dockerfile = std::fs::read_to_string(repo_file("Dockerfile")).unwrap();
    for service in ["gateway", "order-service", "payment-service"] {
        let build = &compose["services"][service]["build"];
        assert_eq!(build["args"]["SERVICE"], service, "{service}");
        assert!(repo_file(&format!("{service}/src/main.rs")).exists(), "{service} is a workspace binary");
        assert!(dockerfile.contains(&format!("--bin {service}")), "the Dockerfile builds {service}");
    }
}

#[test]
fn the_dockerfile_is_multi_stage_caches_dependencies_and_runs_as_non_root() {
    let dockerfile = std::fs::read_to_string(repo_file("Dockerfile")).unwrap();
    let instructions: Vec<&str> =
        dockerfile.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')).collect();
    let froms = instructions.iter().filter(|l| l.starts_with("FROM ")).count();
    assert!(froms >= 3, "multi-stage build, found {froms} FROM lines");
    let cook =
        instructions.iter().position(|l| l.contains("cargo chef cook")).expect("a dependency-only layer");
    let copy_all = instructions.iter().rposition(|l| *l == "COPY . .").unwrap();
    assert!(cook < copy_all, "dependencies must be built before the sources are copied in");
    let last_from = instructions.iter().rposition(|l| l.starts_with("FROM ")).unwrap();
    let user = instructions[last_from..]
        .iter()
        .find(|l| l.starts_with("USER "))
        .expect("a USER in the runtime stage");
    assert_ne!(*user, "USER root");
}

#[test]
fn orders_are_stored_on_a_named_volume_the_non_root_user_can_write() {
    let compose = compose();
    let db_path = env(&compose, "order-service", "ORDER_DB_PATH").expect("ORDER_DB_PATH is set");
    let volumes = compose["services"]["order-service"]["volumes"].as_array().unwrap();
    // The short syntax, `source:target`, as compose_spec keeps it.
    let (name, target) = volumes
        .iter()
        .filter_map(|v| v.as_str()?.split_once(':'))
        .find(|(_, target)| db_path.starts_with(&format!("{target}/")))
        .unwrap_or_else(|| panic!("{db_path} is not on a volume: {volumes:?}"));
    assert!(compose["volumes"].get(name).is_some(), "a named volume, declared at the top level");
    // A new named volume copies ownership from the image's directory: the image must create it
    // for the user the service runs as.
    let dockerfile = std::fs::read_to_string(repo_file("Dockerfile")).unwrap();
    assert!(dockerfile.contains(&format!("chown app {target}")), "the Dockerfile creates {target} for app");
}
