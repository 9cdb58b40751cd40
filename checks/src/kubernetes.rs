//! deploy/kubernetes/, checked without a cluster (none runs here): the base and every overlay are
//! rendered by `kubectl kustomize` and every object is checked by `kubernetes-validate` against
//! Kubernetes 1.36's schemas, strictly (no field the API does not define); then what the rendered
//! objects say is checked against the services' contract and docker-compose.yml: the same settings,
//! one writer per SQLite file, probes, limits and a non-root user everywhere, the tail-sampling
//! tier routed by trace id, the span metrics scraped.
//!
//! The tools come from `scripts/deploy-tools.sh` (pinned, from PyPI), which `.ci/run` runs; without
//! them these tests say so and pass, unless `REQUIRE_DEPLOY_TOOLS` is set (as `.ci/run` sets it).

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
    process::Command,
};

use serde_json::Value;

use crate::{compose::compose, jaeger_config::check_config, repo};

/// The Kubernetes version the manifests are validated for: the kind node image the workflow runs
/// (kindest/node v1.36.4, kind v0.33.0's release notes).
const KUBERNETES: &str = "1.36.0";

/// The directories `kubectl kustomize` renders.
const KUSTOMIZATIONS: [&str; 3] =
    ["deploy/kubernetes/base", "deploy/kubernetes/overlays/tail-sampling", "deploy/kubernetes/overlays/spm"];

/// The component types of the pinned collector-contrib image (otel/opentelemetry-collector-contrib
/// 0.159.0) this project's router config may use, by kind, as their factories register them; each
/// is in that release's manifest (open-telemetry/opentelemetry-collector-releases,
/// `distributions/otelcol-contrib/manifest.yaml` at v0.159.0: `otlpreceiver`, `loadbalancingexporter`,
/// `healthcheckextension`, …).
const CONTRIB: [(&str, &[&str]); 5] = [
    ("extensions", &["health_check", "pprof", "zpages"]),
    ("receivers", &["otlp"]),
    ("processors", &["batch", "memory_limiter", "tail_sampling"]),
    ("exporters", &["debug", "otlp", "otlphttp", "loadbalancing"]),
    ("connectors", &["forward", "spanmetrics"]),
];

/// A deployment tool: in `target/deploy-tools/bin` (scripts/deploy-tools.sh), else on PATH. `None`,
/// with the reason printed, when it is missing and the tests may skip (`REQUIRE_DEPLOY_TOOLS`
/// unset); a missing tool fails the test when they may not.
pub fn tool(name: &str) -> Option<PathBuf> {
    let installed = repo().join("target/deploy-tools/bin").join(name);
    let found = if installed.exists() {
        Some(installed)
    } else {
        std::env::var_os("PATH")
            .and_then(|path| std::env::split_paths(&path).map(|dir| dir.join(name)).find(|p| p.is_file()))
    };
    if found.is_none() {
        assert!(
            std::env::var_os("REQUIRE_DEPLOY_TOOLS").is_none(),
            "{name} is missing, and REQUIRE_DEPLOY_TOOLS is set: run scripts/deploy-tools.sh"
        );
        eprintln!("skipped: {name} is not installed (scripts/deploy-tools.sh installs it)");
    }
    found
}

/// `kubectl kustomize dir`, as YAML.
fn render(kubectl: &Path, dir: &str) -> String {
    let output = Command::new(kubectl).args(["kustomize", dir]).current_dir(repo()).output().unwrap();
    assert!(output.status.success(), "kubectl kustomize {dir}: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).unwrap()
}

/// Every object of a YAML stream, as JSON.
fn objects(yaml: &str) -> Vec<Value> {
    serde_yaml::Deserializer::from_str(yaml)
        .map(|doc| serde_json::to_value(serde_yaml::Value::deserialize(doc).unwrap()).unwrap())
        .filter(|v: &Value| !v.is_null())
        .collect()
}

use serde::Deserialize as _;

/// `kubernetes-validate` on a YAML stream: `Ok` when every object passes.
fn validate(validator: &Path, yaml: &str, label: &str) -> Result<(), String> {
    let file =
        std::env::temp_dir().join(format!("k8s-{}-{}.yaml", std::process::id(), label.replace('/', "-")));
    std::fs::write(&file, yaml).unwrap();
    let output =
        Command::new(validator).args(["-k", KUBERNETES, "--strict", "--quiet"]).arg(&file).output().unwrap();
    let _ = std::fs::remove_file(&file);
    let said =
        format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    if output.status.success() { Ok(()) } else { Err(said) }
}

fn find<'a>(objects: &'a [Value], kind: &str, name: &str) -> &'a Value {
    objects
        .iter()
        .find(|o| o["kind"] == kind && o["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("no {kind} {name}"))
}

/// A generated ConfigMap's name starts with its generator's name and a hash follows.
fn config_map<'a>(objects: &'a [Value], name: &str) -> &'a Value {
    objects
        .iter()
        .find(|o| {
            o["kind"] == "ConfigMap"
                && o["metadata"]["name"].as_str().is_some_and(|n| n.starts_with(&format!("{name}-")))
        })
        .unwrap_or_else(|| panic!("no ConfigMap {name}-<hash>"))
}

/// A workload's container's environment: its `envFrom` ConfigMaps' data, then its `env`.
fn environment(objects: &[Value], workload: &Value) -> BTreeMap<String, String> {
    let container = &workload["spec"]["template"]["spec"]["containers"][0];
    let mut env = BTreeMap::new();
    for source in container["envFrom"].as_array().into_iter().flatten() {
        let map = find(objects, "ConfigMap", source["configMapRef"]["name"].as_str().unwrap());
        for (k, v) in map["data"].as_object().unwrap() {
            env.insert(k.clone(), v.as_str().unwrap().to_owned());
        }
    }
    for var in container["env"].as_array().into_iter().flatten() {
        env.insert(
            var["name"].as_str().unwrap().to_owned(),
            var["value"].as_str().unwrap_or_default().to_owned(),
        );
    }
    env
}

fn workloads(objects: &[Value]) -> impl Iterator<Item = &Value> {
    objects.iter().filter(|o| o["kind"] == "Deployment" || o["kind"] == "StatefulSet")
}

#[test]
fn the_base_and_every_overlay_render_and_every_object_is_valid_for_the_pinned_kubernetes() {
    let (Some(kubectl), Some(validator)) = (tool("kubectl"), tool("kubernetes-validate")) else { return };
    for dir in KUSTOMIZATIONS {
        let yaml = render(&kubectl, dir);
        validate(&validator, &yaml, dir).unwrap_or_else(|e| panic!("{dir}: {e}"));
        let objects = objects(&yaml);
        assert!(objects.len() >= 12, "{dir}: {} objects", objects.len());
        for object in &objects {
            if object["kind"] != "Namespace" {
                assert_eq!(
                    object["metadata"]["namespace"], "traced-checkout",
                    "{dir}: {}",
                    object["metadata"]["name"]
                );
            }
        }
        // Every workload: a non-root user, no privilege, a read-only root, probes, requests and
        // limits, and a pinned image (the services' own are built and loaded as :dev).
        for workload in workloads(&objects) {
            let name = workload["metadata"]["name"].as_str().unwrap();
            let pod = &workload["spec"]["template"]["spec"];
            assert_eq!(pod["securityContext"]["runAsNonRoot"], true, "{dir}: {name}");
            for container in pod["containers"].as_array().unwrap() {
                for probe in ["readinessProbe", "livenessProbe"] {
                    assert!(container[probe]["httpGet"].is_object(), "{dir}: {name}: no {probe}");
                }
                for bound in ["requests", "limits"] {
                    let resources = &container["resources"][bound];
                    assert!(
                        resources["cpu"].is_string() && resources["memory"].is_string(),
                        "{dir}: {name}: {bound}"
                    );
                }
                let security = &container["securityContext"];
                assert_eq!(security["allowPrivilegeEscalation"], false, "{dir}: {name}");
                assert_eq!(security["readOnlyRootFilesystem"], true, "{dir}: {name}");
                assert_eq!(security["capabilities"]["drop"][0], "ALL", "{dir}: {name}");
                let image = container["image"].as_str().unwrap();
                let (_, tag) =
                    image.rsplit_once(':').unwrap_or_else(|| panic!("{dir}: {name}: {image} has no tag"));
                assert!(
                    tag != "latest" && (tag != "dev" || image.starts_with("traced-checkout/")),
                    "{dir}: {image}"
                );
            }
        }
    }
}

#[test]
fn the_validator_refuses_what_the_api_would_refuse() {
    let Some(validator) = tool("kubernetes-validate") else { return };
    // A field the API does not define (a typo'd `replica`), and a port that is not a number.
    let typo = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\nspec:\n  replica: 1\n  selector: {matchLabels: {a: b}}\n  template:\n    metadata: {labels: {a: b}}\n    spec: {containers: [{name: x, image: x:1}]}\n";
    assert!(validate(&validator, typo, "typo").is_err(), "an unknown field passed");
    let port = "apiVersion: v1\nkind: Service\nmetadata: {name: x}\nspec: {ports: [{port: http}]}\n";
    assert!(validate(&validator, port, "port").is_err(), "a named port passed");
}

#[test]
fn the_services_run_as_compose_runs_them_and_each_sqlite_file_has_one_writer() {
    let Some(kubectl) = tool("kubectl") else { return };
    let objects = objects(&render(&kubectl, "deploy/kubernetes/base"));
    let compose = compose();
    for (service, kind) in
        [("gateway", "Deployment"), ("order-service", "StatefulSet"), ("payment-service", "StatefulSet")]
    {
        let workload = find(&objects, kind, service);
        // The same settings as compose gives it, word for word.
        let compose_env: BTreeMap<String, String> = compose["services"][service]["environment"]
            .as_object()
            .unwrap()
            .iter()
            // `FIXES: ${FIXES:-}` is null with no FIXES set: the service reads it as empty.
            .map(|(k, v)| {
                (
                    k.clone(),
                    if v.is_null() {
                        String::new()
                    } else {
                        v.as_str().map_or_else(|| v.to_string(), str::to_owned)
                    },
                )
            })
            .collect();
        assert_eq!(
            environment(&objects, workload),
            compose_env,
            "{service}'s settings differ from compose's"
        );
        // Its Service answers on the port it listens on, under the name the others call it by.
        let port: u64 = compose_env["PORT"].parse().unwrap();
        assert_eq!(find(&objects, "Service", service)["spec"]["ports"][0]["port"], port, "{service}");
        assert_eq!(
            workload["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]["httpGet"]["path"],
            "/health"
        );
    }
    // order-service and payment-service each own a SQLite file: one replica, on a volume of its own.
    for (service, path_var) in [("order-service", "ORDER_DB_PATH"), ("payment-service", "STRIPE_LEDGER_PATH")]
    {
        let set = find(&objects, "StatefulSet", service);
        assert_eq!(set["spec"]["replicas"], 1, "{service}: one writer per database file");
        let claim = &set["spec"]["volumeClaimTemplates"][0];
        let mounts = set["spec"]["template"]["spec"]["containers"][0]["volumeMounts"].as_array().unwrap();
        let mount = mounts
            .iter()
            .find(|m| m["name"] == claim["metadata"]["name"])
            .unwrap_or_else(|| panic!("{service}: its volume is not mounted"));
        let file = environment(&objects, set)[path_var].clone();
        assert!(file.starts_with(&format!("{}/", mount["mountPath"].as_str().unwrap())), "{service}: {file}");
        // The image's user (the Dockerfile's uid 10001) owns what it writes.
        assert_eq!(set["spec"]["template"]["spec"]["securityContext"]["fsGroup"], 10001);
    }
    // Jaeger reads the very files compose mounts from jaeger/.
    let jaeger_config = config_map(&objects, "jaeger-config");
    for (file, text) in jaeger_config["data"].as_object().unwrap() {
        let on_disk = std::fs::read_to_string(repo().join("jaeger").join(file)).unwrap();
        assert_eq!(text.as_str().unwrap(), on_disk, "jaeger/{file}");
    }
    let jaeger = find(&objects, "Deployment", "jaeger");
    assert_eq!(
        jaeger["spec"]["template"]["spec"]["containers"][0]["image"],
        compose["services"]["jaeger"]["image"]
    );
    assert_eq!(jaeger["spec"]["template"]["spec"]["containers"][0]["args"][1], "/etc/jaeger/config.yaml");
}

#[test]
fn the_tail_sampling_tier_routes_each_trace_to_one_of_several_samplers_by_trace_id() {
    let Some(kubectl) = tool("kubectl") else { return };
    let objects = objects(&render(&kubectl, "deploy/kubernetes/overlays/tail-sampling"));
    // The services export to the router.
    let env = environment(&objects, find(&objects, "Deployment", "gateway"));
    assert_eq!(env["OTEL_EXPORTER_OTLP_ENDPOINT"], "http://otlp-router:4318");
    let router_service = find(&objects, "Service", "otlp-router");
    assert!(router_service["spec"]["ports"].as_array().unwrap().iter().any(|p| p["port"] == 4318));
    // The router: the contrib build, pinned, routing by trace id to the addresses of a headless
    // Service whose pods are the samplers, more than one of them.
    let router = find(&objects, "Deployment", "otlp-router");
    let image = router["spec"]["template"]["spec"]["containers"][0]["image"].as_str().unwrap();
    assert_eq!(image, "otel/opentelemetry-collector-contrib:0.159.0");
    let config_text =
        config_map(&objects, "otlp-router-config")["data"]["router-config.yaml"].as_str().unwrap();
    let config: Value =
        serde_json::to_value(serde_yaml::from_str::<serde_yaml::Value>(config_text).unwrap()).unwrap();
    let listening = check_config("router-config.yaml", &config, &CONTRIB);
    assert!(listening.iter().any(|(_, e)| e == "0.0.0.0:4318"), "{listening:?}");
    let balancing = &config["exporters"]["loadbalancing"];
    assert_eq!(balancing["routing_key"], "traceID");
    let samplers = find(&objects, "Service", balancing["resolver"]["dns"]["hostname"].as_str().unwrap());
    assert_eq!(samplers["spec"]["clusterIP"], "None", "a headless Service: one address per sampler");
    assert_eq!(balancing["resolver"]["dns"]["port"], samplers["spec"]["ports"][0]["port"]);
    let sampler = find(&objects, "Deployment", "tail-sampler");
    assert_eq!(samplers["spec"]["selector"], sampler["spec"]["selector"]["matchLabels"]);
    assert!(
        sampler["spec"]["replicas"].as_u64() >= Some(2),
        "more than one sampler, the case routing exists for"
    );
    let container = &sampler["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(container["args"][1], "/etc/jaeger/tail-sampling.yaml");
    assert_eq!(container["image"], compose()["services"]["tail-sampler"]["image"]);
    // The router's probe asks the health_check extension where it listens.
    let health = router["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]["httpGet"]["port"]
        .as_str()
        .unwrap();
    let health_port = router["spec"]["template"]["spec"]["containers"][0]["ports"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == health)
        .unwrap()["containerPort"]
        .clone();
    assert_eq!(config["extensions"]["health_check"]["endpoint"], format!("0.0.0.0:{health_port}"));
}

#[test]
fn the_spm_overlay_runs_jaeger_with_span_metrics_and_prometheus_scrapes_them() {
    let Some(kubectl) = tool("kubectl") else { return };
    let objects = objects(&render(&kubectl, "deploy/kubernetes/overlays/spm"));
    let jaeger = find(&objects, "Deployment", "jaeger");
    assert_eq!(jaeger["spec"]["template"]["spec"]["containers"][0]["args"][1], "/etc/jaeger/spm.yaml");
    let prometheus_yml =
        config_map(&objects, "prometheus-config")["data"]["prometheus.yml"].as_str().unwrap();
    assert!(prometheus_yml.contains("jaeger:8889"), "{prometheus_yml}");
    let ports = find(&objects, "Service", "jaeger")["spec"]["ports"].as_array().unwrap().clone();
    assert!(ports.iter().any(|p| p["port"] == 8889), "Jaeger's Service exposes the span metrics");
    let prometheus = find(&objects, "Deployment", "prometheus");
    assert_eq!(
        prometheus["spec"]["template"]["spec"]["containers"][0]["image"],
        compose()["services"]["prometheus"]["image"]
    );
    assert!(
        find(&objects, "Service", "prometheus")["spec"]["ports"][0]["port"] == 9090,
        "spm.yaml asks http://prometheus:9090"
    );
}
