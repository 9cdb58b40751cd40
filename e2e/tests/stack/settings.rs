//! The standard variables' rule for bad values, over real processes (the specification's
//! `configuration/sdk-environment-variables.md`, "Parsing empty value" and "Enum value": an
//! unrecognised value SHOULD be warned about and ignored, as if it were not set): a service given
//! values it does not know says which variable and which value, starts, and falls back to the
//! default. And the other way round: a supported value never draws a warning that says otherwise.

use serde_json::Value;
use tracectl::model::Kind;

use crate::support::*;

/// Log lines at WARN or above (the harness's logs are JSON).
fn warnings(logs: &[String]) -> Vec<String> {
    logs.iter()
        .filter(|line| {
            serde_json::from_str::<Value>(line).is_ok_and(|v| v["level"] == "WARN" || v["level"] == "ERROR")
        })
        .cloned()
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn unknown_values_are_warned_about_by_variable_and_value_and_the_service_starts_on_the_defaults() {
    let receiver = receiver().await;
    // The gateway alone (order-service is a closed port): its two spans of a failed checkout.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let settings = [
        ("OTEL_EXPORTER_OTLP_COMPRESSION", "brotli"),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "thrift"),
        ("OTEL_TRACES_SAMPLER", "sometimes"),
        ("OTEL_PROPAGATORS", "xray,tracecontext,baggage"),
        ("OTEL_TRACES_EXPORTER", "zipkin"),
    ];
    let mut extra = settings.to_vec();
    let order_url = format!("http://{closed}");
    extra.push(("ORDER_SERVICE_URL", &order_url));
    let gateway = start("gateway", &with_extra(base_env(&receiver.endpoint()), &extra)).await;

    let response = post_checkout(&gateway).await;
    assert_eq!(response.status(), 503);
    let trace_id = trace_id_of(&response.json().await.unwrap());
    // The defaults: OTLP over http/protobuf, uncompressed, sampled (parentbased_always_on).
    let spans = receiver
        .store
        .wait_for(SPANS_TIMEOUT, |s| of_trace(s, &trace_id).len() >= 2)
        .await
        .unwrap_or_else(|_| panic!("no spans on the defaults: {:#?}", gateway.logs()));
    let (status, logs) = gateway.stop_with_logs().await;

    assert!(status.success());
    assert!(of_trace(&spans, &trace_id).iter().any(|s| s.kind == Kind::Server));
    let warned = warnings(&logs);
    for (variable, value) in settings {
        let named = format!("{variable}={value:?}");
        let (variable, value) = (variable, value.split(',').next().unwrap());
        assert!(
            warned
                .iter()
                .any(|line| line.contains(&named) || (line.contains(variable) && line.contains(value))),
            "no warning names {variable} and {value:?}: {warned:#?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn every_supported_sampler_starts_every_service_without_a_warning() {
    // The remote samplers poll a port where nothing listens: that they say, once they poll. What
    // must not appear is a line saying the sampler is unsupported or replaced by a fallback.
    let receiver = receiver().await;
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let remote_arg = format!("endpoint=http://{closed}/sampling,pollingIntervalMs=60000");
    for (sampler, arg) in [
        ("always_on", ""),
        ("always_off", ""),
        ("traceidratio", "0.5"),
        ("parentbased_always_on", ""),
        ("parentbased_always_off", ""),
        ("parentbased_traceidratio", "0.5"),
        ("jaeger_remote", remote_arg.as_str()),
        ("parentbased_jaeger_remote", remote_arg.as_str()),
    ] {
        let stack = Stack::start(
            &receiver.endpoint(),
            &[("OTEL_TRACES_SAMPLER", sampler), ("OTEL_TRACES_SAMPLER_ARG", arg)],
        )
        .await;
        assert_eq!(post_checkout(&stack).await.status(), 201, "{sampler}");
        for service in [stack.gateway, stack.order, stack.payment] {
            let name = service.name;
            let (status, logs) = service.stop_with_logs().await;
            assert!(status.success(), "{name} with {sampler}");
            let unexpected: Vec<String> = warnings(&logs)
                .into_iter()
                .filter(|line| !line.contains("Sampling strategies unavailable"))
                .collect();
            assert!(unexpected.is_empty(), "{name} with OTEL_TRACES_SAMPLER={sampler}: {unexpected:#?}");
        }
    }
}
