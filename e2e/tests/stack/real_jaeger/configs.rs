//! The project's Jaeger configs run under the real Jaeger: each starts and reports healthy, and
//! the two that keep traces answer the query API and serve the strategies file.

use super::{Jaeger, tool};

#[tokio::test(flavor = "multi_thread")]
async fn each_jaeger_config_starts_under_the_real_jaeger_and_answers_its_health_check() {
    let Some(jaeger) = tool("jaeger") else { return };
    // The store, as compose runs it by default (the strategies file: jaeger/'s, as compose mounts it).
    let store = Jaeger::start(&jaeger, "config.yaml", &[]).await;
    // The tail-sampling profile: a second Jaeger in front of the first, forwarding to its OTLP port.
    let upstream = ("JAEGER_OTLP_UPSTREAM", format!("127.0.0.1:{}", store.port("JAEGER_OTLP_GRPC_PORT")));
    let tail = Jaeger::start(&jaeger, "tail-sampling.yaml", &[upstream]).await;
    // The spm profile: its metrics store is a Prometheus that need not be up for Jaeger to start.
    let prometheus = ("PROMETHEUS_URL", "http://127.0.0.1:9".to_owned());
    let spm = Jaeger::start(&jaeger, "spm.yaml", &[prometheus]).await;

    for keeper in [&store, &spm] {
        let services =
            reqwest::get(format!("{}/api/services", keeper.url("JAEGER_QUERY_HTTP_PORT"))).await.unwrap();
        assert_eq!(services.status(), 200, "the query API answers");
        let sampling = format!("{}/sampling?service=gateway", keeper.url("JAEGER_SAMPLING_HTTP_PORT"));
        let strategy: serde_json::Value = reqwest::get(sampling).await.unwrap().json().await.unwrap();
        // jaeger/sampling-strategies.json gives the gateway a probabilistic rate of 1.0.
        assert_eq!(strategy["probabilisticSampling"]["samplingRate"], 1.0, "{strategy}");
    }
    for running in [tail, spm, store] {
        running.stop().await;
    }
}
