//! The Jaeger config files in jaeger/, read as files against what the pinned Jaeger (2.22.0, the
//! image compose and Kubernetes run) accepts: every pipeline names components that are defined,
//! every component type is one the pinned build includes, a connector joins two pipelines, the
//! listening endpoints bind 0.0.0.0 inside the container and match what compose publishes and what
//! the other services are told, and the files they read are where compose mounts them.
//!
//! What Jaeger does with them at run time is the e2e crate's (`e2e/tests/stack/real_jaeger/`:
//! Jaeger 2.12.0, natively, with their settings moved to loopback); the containers themselves are
//! not run here: no container engine runs on these machines.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::compose::{active_services, compose, compose_with};

/// The component types of the pinned Jaeger build (jaegertracing/jaeger `cmd/jaeger/builder.yaml`,
/// the manifest that "reproduces the default Jaeger distribution", as the search index holds it:
/// collector v0.153/v0.154 components, a 2.2x tree; the index maps no commit to a tag), by kind,
/// under the type names their factories register (the ones Jaeger's own configs use:
/// `cmd/jaeger/internal/all-in-one.yaml`, `cmd/jaeger/config-spm.yaml`,
/// `cmd/jaeger/config-tail-sampling-always-sample.yaml`). Left out: the build's components whose
/// registered names were not checked (`jaeger_mcp`, `remote_storage`, `adaptive_sampling`, `nop`).
const BUILD: [(&str, &[&str]); 5] = [
    (
        "extensions",
        &[
            "healthcheckv2",
            "pprof",
            "zpages",
            "basicauth",
            "sigv4auth",
            "jaeger_query",
            "jaeger_storage",
            "remote_sampling",
            "expvar",
        ],
    ),
    ("receivers", &["otlp", "jaeger", "kafka", "zipkin"]),
    ("processors", &["batch", "memory_limiter", "tail_sampling", "attributes", "filter"]),
    ("exporters", &["debug", "otlp", "otlphttp", "jaeger_storage_exporter", "kafka", "prometheus"]),
    ("connectors", &["forward", "spanmetrics"]),
];

fn jaeger_file(name: &str) -> String {
    std::fs::read_to_string(crate::repo().join("jaeger").join(name))
        .unwrap_or_else(|e| panic!("jaeger/{name}: {e}"))
}

/// A Collector config file, as JSON, as Jaeger reads it where none of its variables is set:
/// compose and Kubernetes set none, and the tests that run the real Jaeger natively set them.
fn config(name: &str) -> Value {
    let yaml: serde_yaml::Value = serde_yaml::from_str(&with_defaults(name, &jaeger_file(name))).unwrap();
    serde_json::to_value(yaml).unwrap()
}

/// `text` with each `${env:NAME:-default}` replaced by its default, as the Collector's `env`
/// config provider expands it when `NAME` is unset (collector `confmap/provider/envprovider`).
/// Every reference in `file` must have a default: the file must mean today's values where nobody
/// sets anything.
fn with_defaults(file: &str, text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let end =
            rest[start..].find('}').map(|e| start + e).unwrap_or_else(|| panic!("{file}: unclosed ${{"));
        let reference = &rest[start + 2..end];
        let (name, default) = reference
            .strip_prefix("env:")
            .and_then(|r| r.split_once(":-"))
            .unwrap_or_else(|| panic!("{file}: ${{{reference}}} is not ${{env:NAME:-default}}"));
        assert!(name.chars().all(|c| c.is_ascii_uppercase() || c == '_'), "{file}: {name}");
        out.push_str(default);
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    out
}

/// A component id's type: `metrics/spanmetrics` is a `metrics` pipeline, `otlp/2` an `otlp`.
fn type_of(id: &str) -> &str {
    id.split('/').next().unwrap()
}

fn names(list: &Value) -> Vec<&str> {
    list.as_array().map(|l| l.iter().map(|v| v.as_str().unwrap()).collect()).unwrap_or_default()
}

/// Checks one of jaeger/'s config files as the Collector's config validation would, and returns
/// the (component, endpoint) pairs it listens on.
fn check(name: &str) -> Vec<(String, String)> {
    check_config(name, &config(name), &BUILD)
}

/// Checks a Collector config (`name`, parsed into `config`) against the component types of a
/// `build`, as the Collector's config validation would, and returns the (component, endpoint)
/// pairs it listens on.
pub fn check_config(name: &str, config: &Value, build: &[(&str, &[&str])]) -> Vec<(String, String)> {
    for (kind, allowed) in build {
        for id in config[*kind].as_object().into_iter().flatten().map(|(id, _)| id) {
            assert!(allowed.contains(&type_of(id)), "{name}: {kind} {id:?} is not in the pinned build");
        }
    }
    let defined = |kind: &str, id: &str| config[kind].get(id).is_some();
    for id in names(&config["service"]["extensions"]) {
        assert!(defined("extensions", id), "{name}: extension {id} is used but not defined");
    }
    let pipelines = config["service"]["pipelines"].as_object().expect("pipelines");
    let mut connector_ends: Vec<(String, &str)> = Vec::new();
    for (pipeline, spec) in pipelines {
        assert!(["traces", "metrics", "logs"].contains(&type_of(pipeline)), "{name}: pipeline {pipeline}");
        assert!(!names(&spec["receivers"]).is_empty() && !names(&spec["exporters"]).is_empty(), "{pipeline}");
        for (role, kind) in
            [("receivers", "receivers"), ("processors", "processors"), ("exporters", "exporters")]
        {
            for id in names(&spec[role]) {
                if defined("connectors", id) {
                    connector_ends.push((id.to_owned(), role));
                } else {
                    assert!(defined(kind, id), "{name}: pipeline {pipeline} names {role} {id}, not defined");
                }
            }
        }
    }
    // A connector exports from one pipeline and receives in another.
    for (id, _) in config["connectors"].as_object().into_iter().flatten() {
        let roles: BTreeSet<&str> = connector_ends.iter().filter(|(c, _)| c == id).map(|(_, r)| *r).collect();
        assert_eq!(roles, BTreeSet::from(["exporters", "receivers"]), "{name}: connector {id}");
    }
    // Every endpoint a receiver or extension listens on binds 0.0.0.0: "localhost" in a container
    // is unreachable from the compose network and the host.
    let mut listening = Vec::new();
    for kind in ["receivers", "extensions"] {
        for (id, component) in config[kind].as_object().into_iter().flatten() {
            collect_endpoints(id, component, &mut listening);
        }
    }
    for (id, endpoint) in &listening {
        assert!(endpoint.starts_with("0.0.0.0:"), "{name}: {id} listens on {endpoint}, not 0.0.0.0");
    }
    listening
}

/// Every `endpoint` under `value`, with the component it belongs to.
fn collect_endpoints(id: &str, value: &Value, out: &mut Vec<(String, String)>) {
    match value {
        Value::Object(map) => {
            for (key, inner) in map {
                match (key.as_str(), inner.as_str()) {
                    // `host:port` is an address to listen on; a URL is a server to call.
                    ("endpoint", Some(endpoint)) if !endpoint.contains("://") => {
                        out.push((id.to_owned(), endpoint.to_owned()))
                    }
                    _ => collect_endpoints(id, inner, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|item| collect_endpoints(id, item, out)),
        _ => {}
    }
}

fn port(endpoint: &str) -> u16 {
    endpoint.rsplit(':').next().unwrap().trim_end_matches('/').parse().unwrap()
}

fn listens_on(listening: &[(String, String)], id: &str) -> BTreeSet<u16> {
    listening.iter().filter(|(c, _)| c == id).map(|(_, e)| port(e)).collect()
}

#[test]
fn each_config_uses_only_components_the_pinned_jaeger_build_has_and_defines_what_it_uses() {
    for name in ["config.yaml", "tail-sampling.yaml", "spm.yaml"] {
        let listening = check(name);
        assert!(listens_on(&listening, "otlp").is_superset(&BTreeSet::from([4317, 4318])), "{name}");
        assert_eq!(listens_on(&listening, "healthcheckv2"), BTreeSet::from([13133]), "{name}");
    }
}

#[test]
fn compose_runs_each_config_where_it_is_mounted_and_publishes_the_ports_it_listens_on() {
    let (default, spm) = (compose(), compose_with(&[("JAEGER_CONFIG", "spm.yaml")]));
    for (compose, service, file) in [
        (&default, "jaeger", "config.yaml"),
        (&spm, "jaeger", "spm.yaml"),
        (&default, "tail-sampler", "tail-sampling.yaml"),
    ] {
        let spec = &compose["services"][service];
        assert_eq!(spec["image"], default["services"]["jaeger"]["image"], "{service}: the pinned Jaeger");
        let command: Vec<&str> = names(&spec["command"]);
        assert_eq!(command, ["--config", &format!("/etc/jaeger/{file}")], "{service}");
        assert!(
            names(&spec["volumes"]).contains(&"./jaeger:/etc/jaeger:ro"),
            "{service}: {:?}",
            spec["volumes"]
        );
        // Jaeger's image is Alpine (busybox wget, no curl); healthcheckv2 answers on 13133.
        let test = spec["healthcheck"]["test"].to_string();
        assert!(test.contains("wget") && test.contains("http://localhost:13133/status"), "{service}: {test}");
    }
    let listening = check("config.yaml");
    let published: BTreeSet<u16> = names(&default["services"]["jaeger"]["ports"])
        .iter()
        .map(|p| p.rsplit(':').next().unwrap().parse().unwrap())
        .collect();
    let serving: BTreeSet<u16> = listening.iter().map(|(_, e)| port(e)).collect();
    assert!(published.is_subset(&serving), "published {published:?}, listening {serving:?}");
    assert!(published.is_superset(&BTreeSet::from([16686, 4317, 4318, 5778])));
}

#[test]
fn remote_sampling_serves_the_strategies_file_in_jaegers_file_format_for_every_service() {
    for name in ["config.yaml", "spm.yaml"] {
        let sampling = &config(name)["extensions"]["remote_sampling"];
        // Mounted at /etc/jaeger from jaeger/; re-read while Jaeger runs.
        assert_eq!(sampling["file"]["path"], "/etc/jaeger/sampling-strategies.json", "{name}");
        assert!(sampling["file"]["reload_interval"].is_string(), "{name}: reloaded without a restart");
        assert_eq!(port(sampling["http"]["endpoint"].as_str().unwrap()), 5778, "{name}");
    }
    // The file provider's format (internal/sampling/samplingstrategy/file/strategy.go: `strategies`,
    // `serviceStrategy`, `strategy` with `type` "probabilistic" or "ratelimiting" and `param`).
    let strategies: Value = serde_json::from_str(&jaeger_file("sampling-strategies.json")).unwrap();
    let services: BTreeSet<&str> = strategies["service_strategies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["service"].as_str().unwrap())
        .collect();
    assert_eq!(services, BTreeSet::from(["gateway", "order-service", "payment-service"]));
    for strategy in
        strategies["service_strategies"].as_array().unwrap().iter().chain([&strategies["default_strategy"]])
    {
        assert_eq!(strategy["type"], "probabilistic");
        assert!((0.0..=1.0).contains(&strategy["param"].as_f64().unwrap()), "{strategy}");
    }
}

#[test]
fn the_tail_sampler_keeps_errors_slow_traces_and_ten_percent_and_forwards_them_to_jaeger() {
    let config = config("tail-sampling.yaml");
    let tail = &config["processors"]["tail_sampling"];
    assert!(tail["decision_wait"].is_string(), "decision_wait is set");
    let policies: Vec<(&str, &Value)> = tail["policies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            let kind = p["type"].as_str().unwrap();
            (kind, &p[kind])
        })
        .collect();
    assert_eq!(policies.len(), 3);
    assert_eq!(policies[0], ("status_code", &serde_json::json!({"status_codes": ["ERROR"]})));
    assert_eq!(policies[1], ("latency", &serde_json::json!({"threshold_ms": 1000})));
    assert_eq!(policies[2], ("probabilistic", &serde_json::json!({"sampling_percentage": 10})));
    // Forwarded over OTLP gRPC to the `jaeger` service, on a port its config receives on.
    let target = config["exporters"]["otlp"]["endpoint"].as_str().unwrap();
    assert!(
        target.starts_with("jaeger:") && listens_on(&check("config.yaml"), "otlp").contains(&port(target))
    );
    assert_eq!(config["exporters"]["otlp"]["tls"]["insecure"], true, "plain text inside the compose network");
    assert!(active_services(&compose(), &["tail-sampling"]).contains("tail-sampler"));
}

#[test]
fn span_metrics_reach_prometheus_and_the_monitor_tab_reads_them_back() {
    let config = config("spm.yaml");
    let exporter = config["exporters"]["prometheus"]["endpoint"].as_str().unwrap();
    let scrape: serde_yaml::Value = serde_yaml::from_str(&jaeger_file("prometheus.yml")).unwrap();
    let targets = serde_json::to_value(&scrape["scrape_configs"][0]["static_configs"][0]["targets"]).unwrap();
    assert_eq!(
        targets,
        serde_json::json!([format!("jaeger:{}", port(exporter))]),
        "Prometheus scrapes the exporter"
    );
    let backend =
        &config["extensions"]["jaeger_storage"]["metric_backends"]["prometheus_store"]["prometheus"];
    assert_eq!(backend["endpoint"], "http://prometheus:9090");
    assert_eq!(config["extensions"]["jaeger_query"]["storage"]["metrics"], "prometheus_store");
    let compose = compose();
    let prometheus = &compose["services"]["prometheus"];
    assert_eq!(names(&prometheus["profiles"]), ["spm"]);
    let image = prometheus["image"].as_str().unwrap();
    let (name, tag) = image.split_once(':').unwrap();
    assert_eq!(name, "prom/prometheus");
    assert!(tag.starts_with('v') && tag[1..].split('.').all(|p| p.parse::<u32>().is_ok()), "pinned: {image}");
    assert!(
        names(&prometheus["volumes"]).contains(&"./jaeger/prometheus.yml:/etc/prometheus/prometheus.yml:ro")
    );
}
