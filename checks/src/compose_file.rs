//! docker-compose.yml and the Dockerfile, checked without a Docker engine (none runs on the build
//! machines): the compose file is parsed and validated by `compose_spec`, a typed implementation of
//! the Compose specification, and the wiring it declares is checked against the services' contract.

use serde_json::Value;

use std::collections::BTreeSet;

use crate::{
    compose::{active_services, compose, compose_with},
    repo,
};

fn env<'a>(compose: &'a Value, service: &str, key: &str) -> Option<&'a str> {
    compose["services"][service]["environment"][key].as_str()
}

#[test]
fn compose_runs_jaeger_and_the_three_services_and_each_profile_adds_its_own() {
    let compose = compose();
    let names = |profiles: &[&str]| {
        let active = active_services(&compose, profiles);
        active.iter().map(String::as_str).map(str::to_owned).collect::<Vec<_>>()
    };
    let base = ["gateway", "jaeger", "order-service", "payment-service"];
    assert_eq!(names(&[]), base);
    assert_eq!(
        names(&["tail-sampling"]),
        ["gateway", "jaeger", "order-service", "payment-service", "tail-sampler"]
    );
    assert_eq!(names(&["spm"]), ["gateway", "jaeger", "order-service", "payment-service", "prometheus"]);
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
fn every_jaeger_container_keeps_its_images_tmp_volume_in_memory_so_down_leaves_no_volume_behind() {
    // jaegertracing/jaeger declares `VOLUME ["/tmp"]` (cmd/jaeger/Dockerfile in jaegertracing/jaeger,
    // v2.20.0): a container without a mount there gets an anonymous volume on every `up`.
    let compose = compose_with(&[]);
    let jaegers: Vec<(&String, &Value)> = compose["services"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(_, s)| s["image"].as_str().is_some_and(|i| i.starts_with("jaegertracing/jaeger:")))
        .collect();
    assert_eq!(jaegers.len(), 2, "jaeger and the tail sampler");
    for (name, service) in jaegers {
        let tmpfs: Vec<&str> = service["tmpfs"]
            .as_array()
            .map_or_else(Vec::new, |t| t.iter().filter_map(Value::as_str).collect());
        assert!(tmpfs.contains(&"/tmp"), "{name}: no tmpfs at /tmp: {}", service["tmpfs"]);
    }
}

#[test]
fn only_the_gateway_the_jaeger_ui_and_jaegers_otlp_on_loopback_are_published() {
    let compose = compose();
    let mut published = Vec::new();
    for name in active_services(&compose, &["tail-sampling", "spm"]) {
        for port in compose["services"][&name]["ports"].as_array().into_iter().flatten() {
            published.push(format!("{name} {}", port.as_str().unwrap()));
        }
    }
    published.sort();
    // OTLP and sampling for services and scripts run natively, and Prometheus's UI, on this machine
    // only; order-service, payment-service and the tail sampler stay inside.
    assert_eq!(
        published,
        [
            "gateway 3000:3000",
            "jaeger 127.0.0.1:4317:4317",
            "jaeger 127.0.0.1:4318:4318",
            "jaeger 127.0.0.1:5778:5778",
            "jaeger 16686:16686",
            "prometheus 127.0.0.1:9090:9090"
        ]
    );
}

#[test]
fn every_service_exports_otlp_http_to_jaeger_or_to_the_tail_sampler_inside_the_compose_network() {
    for (vars, host) in [(&[][..], "jaeger"), (&[("OTLP_HOST", "tail-sampler")][..], "tail-sampler")] {
        let compose = compose_with(vars);
        assert!(active_services(&compose, &["tail-sampling"]).contains(host), "{host} is a service");
        for service in ["gateway", "order-service", "payment-service"] {
            let endpoint = env(&compose, service, "OTEL_EXPORTER_OTLP_ENDPOINT");
            assert_eq!(endpoint, Some(format!("http://{host}:4318").as_str()), "{service}");
            assert_eq!(env(&compose, service, "OTEL_EXPORTER_OTLP_PROTOCOL"), Some("http/protobuf"));
        }
    }
}

#[test]
fn every_service_samples_as_jaeger_says_from_its_sampling_endpoint() {
    let compose = compose();
    for service in ["gateway", "order-service", "payment-service"] {
        assert_eq!(
            env(&compose, service, "OTEL_TRACES_SAMPLER"),
            Some("parentbased_jaeger_remote"),
            "{service}"
        );
        let arg = env(&compose, service, "OTEL_TRACES_SAMPLER_ARG").unwrap();
        let pairs: Vec<(&str, &str)> = arg.split(',').filter_map(|p| p.split_once('=')).collect();
        let keys: Vec<&str> = pairs.iter().map(|(k, _)| *k).collect();
        assert_eq!(keys, ["endpoint", "pollingIntervalMs", "initialSamplingRate"], "{service}: {arg}");
        // Jaeger's remote_sampling extension serves HTTP on 5778 (jaeger/config.yaml).
        assert_eq!(pairs[0].1, "http://jaeger:5778/sampling", "{service}");
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
    assert_eq!(condition("payment-service", "jaeger"), "service_healthy");
    for (service, port) in [("gateway", 3000), ("order-service", 3001), ("payment-service", 3002)] {
        let test = compose["services"][service]["healthcheck"]["test"].to_string();
        assert!(test.contains(&format!("http://localhost:{port}/health")), "{service}: {test}");
    }
}

#[test]
fn each_service_image_is_built_from_the_dockerfile_for_its_own_binary() {
    let compose = compose();
    let dockerfile = std::fs::read_to_string(repo().join("Dockerfile")).unwrap();
    for service in ["gateway", "order-service", "payment-service"] {
        let build = &compose["services"][service]["build"];
        assert_eq!(build["args"]["SERVICE"], service, "{service}");
        assert!(repo().join(format!("{service}/src/main.rs")).exists(), "{service} is a workspace binary");
        assert!(dockerfile.contains(&format!("--bin {service}")), "the Dockerfile builds {service}");
    }
}

#[test]
fn the_dockerfile_is_multi_stage_caches_dependencies_and_runs_as_non_root() {
    let dockerfile = std::fs::read_to_string(repo().join("Dockerfile")).unwrap();
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

/// The runtime stage's instructions (after the last `FROM`), comments and blank lines left out.
fn runtime_stage() -> Vec<String> {
    let dockerfile = std::fs::read_to_string(repo().join("Dockerfile")).unwrap();
    let instructions: Vec<String> = dockerfile
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_owned)
        .collect();
    let last_from = instructions.iter().rposition(|l| l.starts_with("FROM ")).unwrap();
    instructions[last_from..].to_vec()
}

#[test]
fn the_runtime_stage_all_three_images_share_declares_no_volume_and_installs_before_it_knows_the_service() {
    let stage = runtime_stage();
    // A `VOLUME` there gives gateway and payment-service containers anonymous volumes too, which
    // `docker compose down` leaves behind; order-service's data is on its named volume.
    assert!(!stage.iter().any(|l| l.starts_with("VOLUME")), "{stage:#?}");
    // The apt layer is the same for every service only if it comes before `ARG SERVICE`.
    let apt = stage.iter().position(|l| l.contains("apt-get install")).expect("an apt layer");
    let arg = stage.iter().position(|l| l == "ARG SERVICE").expect("ARG SERVICE");
    assert!(apt < arg, "ARG SERVICE before the apt layer rebuilds it for each service: {stage:#?}");
    // Natively the services listen on loopback; in the image, on the compose network.
    assert!(stage.iter().any(|l| l == "ENV HOST=0.0.0.0"), "{stage:#?}");
}

#[test]
fn the_build_context_leaves_out_what_git_leaves_out() {
    let ignored = |name: &str| -> Vec<String> {
        let text = std::fs::read_to_string(repo().join(name)).unwrap();
        text.lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(str::to_owned)
            .collect()
    };
    let docker = ignored(".dockerignore");
    for pattern in ignored(".gitignore") {
        // A .gitignore pattern without a slash matches at any depth; in .dockerignore, `**/` says so.
        let any_depth = format!("**/{pattern}");
        assert!(
            docker.contains(&pattern) || docker.contains(&any_depth),
            ".dockerignore lacks {pattern:?} (a local run's files would enter the build context): {docker:?}"
        );
    }
    assert!(docker.iter().any(|p| p.contains("sqlite3")), "databases stay out of the context");
}

#[test]
fn orders_and_stripes_ledger_are_stored_on_named_volumes_the_non_root_user_can_write() {
    let compose = compose();
    let mut names = BTreeSet::new();
    for (service, variable) in [("order-service", "ORDER_DB_PATH"), ("payment-service", "STRIPE_LEDGER_PATH")]
    {
        let path = env(&compose, service, variable).unwrap_or_else(|| panic!("{variable} is set"));
        let volumes = compose["services"][service]["volumes"].as_array().unwrap();
        // The short syntax, `source:target`, as compose_spec keeps it.
        let (name, target) = volumes
            .iter()
            .filter_map(|v| v.as_str()?.split_once(':'))
            .find(|(_, target)| path.starts_with(&format!("{target}/")))
            .unwrap_or_else(|| panic!("{service}: {path} is not on a volume: {volumes:?}"));
        assert!(compose["volumes"].get(name).is_some(), "a named volume, declared at the top level");
        names.insert(name.to_owned());
        // A new named volume copies ownership from the image's directory: the image must create it
        // for the user the service runs as.
        let dockerfile = std::fs::read_to_string(repo().join("Dockerfile")).unwrap();
        assert!(
            dockerfile.contains(&format!("chown app {target}")),
            "the Dockerfile creates {target} for app"
        );
    }
    assert_eq!(names.len(), 2, "each its own volume: Stripe's ledger is not the shop's database");
}
