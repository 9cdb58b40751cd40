//! Where the spans go, as the standard variables say, over real processes: `OTEL_TRACES_EXPORTER`
//! (`otlp`, `console`, `none`), `OTEL_EXPORTER_OTLP_PROTOCOL=http/json` and
//! `OTEL_EXPORTER_OTLP_COMPRESSION=gzip` (or `zstd`), `OTEL_EXPORTER_OTLP_HEADERS`, each seen where it
//! shows: on the wire, in the receiver, on stdout.

use std::sync::{Arc, Mutex};

use axum::{extract::Request, middleware::Next};
use serde_json::Value;
use tracectl::{model::Kind, receiver::SpanStore};

use crate::support::*;

/// An OTLP/HTTP receiver (tracectl's) that first records each export's content type and encoding.
struct Recorder {
    endpoint: String,
    store: SpanStore,
    /// `(content-type, content-encoding, api-key)` of every export ("none" for a header not
    /// sent), in arrival order.
    exports: Arc<Mutex<Vec<(String, String, String)>>>,
}

async fn recorder() -> Recorder {
    let store = SpanStore::default();
    let exports = Arc::new(Mutex::new(Vec::new()));
    let seen = exports.clone();
    let app = tracectl::receiver::router(store.clone()).layer(axum::middleware::from_fn(
        move |request: Request, next: Next| {
            let header = |name: &str| {
                request.headers().get(name).and_then(|v| v.to_str().ok()).unwrap_or("none").to_owned()
            };
            seen.lock().unwrap().push((
                header("content-type"),
                header("content-encoding"),
                header("api-key"),
            ));
            next.run(request)
        },
    ));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    Recorder { endpoint, store, exports }
}

#[tokio::test(flavor = "multi_thread")]
async fn gzip_or_zstd_compression_otlp_json_and_headers_are_what_goes_over_the_wire_and_the_trace_arrives_whole()
 {
    const PROTOBUF: &str = "application/x-protobuf";
    for (setting, value, content_type, encoding, api_key) in [
        ("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip", PROTOBUF, "gzip", "none"),
        ("OTEL_EXPORTER_OTLP_COMPRESSION", "zstd", PROTOBUF, "zstd", "none"),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json", "application/json", "none", "none"),
        // Percent-encoded, as the specification has header values written.
        ("OTEL_EXPORTER_OTLP_HEADERS", "api-key=s3cret%2C1,x-other=2", PROTOBUF, "none", "s3cret,1"),
    ] {
        let recorder = recorder().await;
        let stack = Stack::start(&recorder.endpoint, &[(setting, value)]).await;

        let body: Value = post_checkout(&stack).await.json().await.unwrap();
        let trace_id = trace_id_of(&body);

        let all = recorder
            .store
            .wait_for(SPANS_TIMEOUT, |s| of_trace(s, &trace_id).len() >= CHECKOUT_SPANS)
            .await
            .unwrap_or_else(|got| {
                panic!("{setting}={value}: {:#?}", summary(&got.iter().collect::<Vec<_>>()))
            });
        stack.stop().await;
        assert_eq!(of_trace(&all, &trace_id).len(), CHECKOUT_SPANS, "{setting}={value}");
        let exports = recorder.exports.lock().unwrap().clone();
        assert!(exports.len() >= 4, "one export per provider at least: {exports:?}");
        assert!(
            exports.iter().all(|(t, e, k)| t == content_type && e == encoding && k == api_key),
            "{setting}={value}: every export {content_type}, encoding {encoding}, api-key {api_key}: {exports:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn with_the_console_exporter_each_span_is_printed_on_stdout_and_nothing_is_sent() {
    let receiver = receiver().await;
    let env = with_var(&base_env(&receiver.endpoint()), "OTEL_TRACES_EXPORTER", "console");
    // The gateway alone: order-service is a closed port, so the checkout is a 503, with spans.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let gateway = start("gateway", &with_var(&env, "ORDER_SERVICE_URL", &format!("http://{closed}"))).await;

    let body: Value = post_checkout(&gateway).await.json().await.unwrap();
    let trace_id = trace_id_of(&body);
    let (status, logs) = gateway.stop_with_logs().await;

    assert!(status.success());
    // The SDK's stdout exporter's blocks, among the (JSON) log lines.
    let (spans, resource) = shared_tracing_testing::console::spans(&logs);
    let spans: Vec<_> = spans.into_iter().filter(|s| s.field("TraceId") == Some(trace_id.as_str())).collect();
    let names: Vec<(&str, &str)> =
        spans.iter().map(|s| (s.field("Kind").unwrap(), s.field("Name").unwrap())).collect();
    assert_eq!(names, [("Client", "POST /orders"), ("Server", "POST /api/checkout")], "{logs:#?}");
    assert!(
        resource.iter().any(|r| r.starts_with("service.name=") && r.contains("\"gateway\"")),
        "{resource:?}"
    );
    assert!(spans[1].field("Status").unwrap().starts_with("Error"), "{spans:?}");
    assert!(spans[1].attributes.contains(&"http.response.status_code: I64(503)".to_owned()), "{spans:?}");
    assert_eq!(spans[0].field("ParentSpanId"), spans[1].field("SpanId"));
    assert!(receiver.store.spans().is_empty(), "console only: nothing went to the collector");
}

#[tokio::test(flavor = "multi_thread")]
async fn with_no_exporter_a_service_exports_nothing_but_the_trace_goes_on_behind_it() {
    // The gateway exports nothing; the services behind it export to the receiver as usual.
    let receiver = receiver().await;
    let env = base_env(&receiver.endpoint());
    let payment = start("payment-service", &env).await;
    let order = start("order-service", &with_var(&env, "PAYMENT_SERVICE_URL", &payment.url())).await;
    let gateway_env =
        with_var(&with_var(&env, "ORDER_SERVICE_URL", &order.url()), "OTEL_TRACES_EXPORTER", "none");
    let gateway = start("gateway", &gateway_env).await;

    let response = post_checkout(&gateway).await;
    assert_eq!(response.status(), 201);
    let traceresponse = response.headers()["traceresponse"].to_str().unwrap().to_owned();
    let body: Value = response.json().await.unwrap();
    let trace_id = trace_id_of(&body);
    assert!(traceresponse.contains(&trace_id), "the gateway still answers its trace: {traceresponse}");

    // Everything but the gateway's two spans.
    let all = receiver
        .store
        .wait_for(SPANS_TIMEOUT, |s| of_trace(s, &trace_id).len() >= CHECKOUT_SPANS - 2)
        .await
        .unwrap();
    for service in [gateway, order, payment] {
        assert!(service.stop().await.success());
    }
    let spans = of_trace(&all, &trace_id);
    assert_eq!(spans.len(), CHECKOUT_SPANS - 2, "{:#?}", summary(&spans));
    assert!(spans.iter().all(|s| s.service_name != "gateway"), "the gateway sent nothing");
    let order_server = the_span(&spans, "order-service", Kind::Server, "POST /orders");
    assert!(order_server.parent_span_id.is_some(), "its parent is the gateway's CLIENT span, never sent");
}

/// A private CA, and a certificate for `localhost` that it signed: `(CA, certificate, key)`, PEM.
fn private_ca_and_certificate() -> (String, String, String) {
    let (ca, (certificate, key), _) = private_ca_server_and_client();
    (ca, certificate, key)
}

/// A private CA, a server certificate for `localhost` and a client certificate (for mutual TLS),
/// both signed by it: `(CA, (certificate, key), (client certificate, client key))`, PEM.
fn private_ca_server_and_client() -> (String, (String, String), (String, String)) {
    use rcgen::{
        BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    };
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name.push(DnType::CommonName, "traced-checkout test CA");
    let ca = CertifiedIssuer::self_signed(ca, KeyPair::generate().unwrap()).unwrap();
    let key = KeyPair::generate().unwrap();
    let certificate =
        CertificateParams::new(vec!["localhost".to_owned()]).unwrap().signed_by(&key, &ca).unwrap();
    let client_key = KeyPair::generate().unwrap();
    let mut client = CertificateParams::new(vec!["gateway".to_owned()]).unwrap();
    client.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    let client = client.signed_by(&client_key, &ca).unwrap();
    (ca.pem(), (certificate.pem(), key.serialize_pem()), (client.pem(), client_key.serialize_pem()))
}

/// tracectl's receiver behind TLS on one port: OTLP/HTTP (`/v1/traces`, HTTP/1.1) and OTLP/gRPC
/// (HTTP/2, chosen by ALPN). Returns the port and the store.
async fn tls_receiver(certificate: &str, key: &str) -> (u16, SpanStore) {
    tls_receiver_asking(certificate, key, None).await
}

/// Like [`tls_receiver`]; with `client_ca`, a client must show a certificate that CA signed
/// (mutual TLS), else its handshake fails.
async fn tls_receiver_asking(certificate: &str, key: &str, client_ca: Option<&str>) -> (u16, SpanStore) {
    use hyper_util::{
        rt::{TokioExecutor, TokioIo},
        server::conn::auto::Builder,
        service::TowerToHyperService,
    };
    use rustls::pki_types::{CertificateDer, PrivateKeyDer, pem::PemObject as _};
    let store = SpanStore::default();
    let app = tracectl::receiver::router(store.clone()).route_service(
        "/opentelemetry.proto.collector.trace.v1.TraceService/Export",
        tracectl::grpc::service(store.clone()),
    );
    let builder = rustls::ServerConfig::builder();
    let builder = match client_ca {
        None => builder.with_no_client_auth(),
        Some(ca) => {
            let mut roots = rustls::RootCertStore::empty();
            roots.add(CertificateDer::from_pem_slice(ca.as_bytes()).unwrap()).unwrap();
            let verifier = rustls::server::WebPkiClientVerifier::builder(Arc::new(roots)).build().unwrap();
            builder.with_client_cert_verifier(verifier)
        }
    };
    let mut config = builder
        .with_single_cert(
            vec![CertificateDer::from_pem_slice(certificate.as_bytes()).unwrap()],
            PrivateKeyDer::from_pem_slice(key.as_bytes()).unwrap(),
        )
        .unwrap();
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let (acceptor, app) = (acceptor.clone(), app.clone());
            tokio::spawn(async move {
                // A client that refuses our certificate ends its handshake here: nothing to serve.
                let Ok(tls) = acceptor.accept(tcp).await else { return };
                let service = TowerToHyperService::new(app);
                let _ = Builder::new(TokioExecutor::new()).serve_connection(TokioIo::new(tls), service).await;
            });
        }
    });
    (port, store)
}

#[tokio::test(flavor = "multi_thread")]
async fn spans_go_over_https_and_grpc_with_tls_to_a_collector_whose_ca_the_certificate_variable_names() {
    let (ca, certificate, key) = private_ca_and_certificate();
    let ca_file = std::env::temp_dir().join(format!("traced-checkout-ca-{}.pem", std::process::id()));
    std::fs::write(&ca_file, &ca).unwrap();
    let (port, store) = tls_receiver(&certificate, &key).await;
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();

    for protocol in ["http/protobuf", "grpc"] {
        // The gateway alone (order-service is a closed port): its two spans of a failed checkout.
        let env = with_extra(
            base_env(&format!("https://localhost:{port}")),
            &[
                ("OTEL_EXPORTER_OTLP_PROTOCOL", protocol),
                ("OTEL_EXPORTER_OTLP_CERTIFICATE", ca_file.to_str().unwrap()),
                ("ORDER_SERVICE_URL", &format!("http://{closed}")),
            ],
        );
        let gateway = start("gateway", &env).await;
        let body: Value = post_checkout(&gateway).await.json().await.unwrap();
        let trace_id = trace_id_of(&body);
        let spans = store
            .wait_for(SPANS_TIMEOUT, |s| of_trace(s, &trace_id).len() >= 2)
            .await
            .unwrap_or_else(|_| panic!("{protocol}: nothing arrived over TLS: {:#?}", gateway.logs()));
        assert!(gateway.stop().await.success());
        assert!(of_trace(&spans, &trace_id).iter().all(|s| s.service_name == "gateway"), "{protocol}");
    }

    // Without the CA, the collector's certificate is not trusted: the export fails, and says why.
    let env = with_extra(
        base_env(&format!("https://localhost:{port}")),
        &[("ORDER_SERVICE_URL", &format!("http://{closed}"))],
    );
    let gateway = start("gateway", &env).await;
    let body: Value = post_checkout(&gateway).await.json().await.unwrap();
    gateway
        .wait_for_logs("an export refused for an untrusted certificate", |lines| {
            lines.iter().any(|l| l.contains("UnknownIssuer"))
        })
        .await;
    assert!(gateway.stop().await.success());
    assert!(of_trace(&store.spans(), &trace_id_of(&body)).is_empty(), "nothing got through untrusted");
    let _ = std::fs::remove_file(ca_file);
}

#[tokio::test(flavor = "multi_thread")]
async fn with_a_client_certificate_and_key_spans_reach_a_collector_that_asks_for_one_and_not_without() {
    let (ca, (certificate, key), (client_certificate, client_key)) = private_ca_server_and_client();
    let dir = std::env::temp_dir().join(format!("traced-checkout-mtls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = |name: &str, pem: &str| {
        let path = dir.join(name);
        std::fs::write(&path, pem).unwrap();
        path.to_str().unwrap().to_owned()
    };
    let (ca_file, certificate_file, key_file) =
        (file("ca.pem", &ca), file("client.pem", &client_certificate), file("client-key.pem", &client_key));
    let (port, store) = tls_receiver_asking(&certificate, &key, Some(&ca)).await;
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let env = |protocol: &str, identity: bool| {
        let mut extra = vec![
            ("OTEL_EXPORTER_OTLP_PROTOCOL", protocol.to_owned()),
            ("OTEL_EXPORTER_OTLP_CERTIFICATE", ca_file.clone()),
            ("ORDER_SERVICE_URL", format!("http://{closed}")),
        ];
        if identity {
            extra.push(("OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE", certificate_file.clone()));
            extra.push(("OTEL_EXPORTER_OTLP_CLIENT_KEY", key_file.clone()));
        }
        let extra: Vec<(&str, &str)> = extra.iter().map(|(k, v)| (*k, v.as_str())).collect();
        with_extra(base_env(&format!("https://localhost:{port}")), &extra)
    };

    for protocol in ["http/protobuf", "grpc"] {
        let gateway = start("gateway", &env(protocol, true)).await;
        let body: Value = post_checkout(&gateway).await.json().await.unwrap();
        let trace_id = trace_id_of(&body);
        store
            .wait_for(SPANS_TIMEOUT, |s| of_trace(s, &trace_id).len() >= 2)
            .await
            .unwrap_or_else(|_| panic!("{protocol}: nothing arrived over mutual TLS: {:#?}", gateway.logs()));
        assert!(gateway.stop().await.success());
    }

    // No client certificate: the collector ends the handshake, and nothing gets through.
    let gateway = start("gateway", &env("http/protobuf", false)).await;
    let body: Value = post_checkout(&gateway).await.json().await.unwrap();
    gateway
        .wait_for_logs("an export refused without a client certificate", |lines| {
            lines.iter().any(|l| l.contains("Span export from gateway failed"))
        })
        .await;
    assert!(gateway.stop().await.success());
    assert!(of_trace(&store.spans(), &trace_id_of(&body)).is_empty(), "nothing got through without one");

    // A key without its certificate is a start-up error that says what is missing.
    let half =
        with_extra(base_env("https://localhost:4318"), &[("OTEL_EXPORTER_OTLP_CLIENT_KEY", &key_file)]);
    let output = tokio::process::Command::new(binary("gateway"))
        .envs(half.iter().map(|(k, v)| (k, v)))
        .output()
        .await
        .unwrap();
    assert!(!output.status.success());
    let said =
        format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(said.contains("OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE is not: set both"), "{said}");
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_certificate_variable_naming_no_readable_certificate_stops_the_start_and_says_which() {
    let env = with_extra(
        base_env("https://localhost:4318"),
        &[("OTEL_EXPORTER_OTLP_CERTIFICATE", "/nonexistent/ca.pem")],
    );
    let output = tokio::process::Command::new(binary("gateway"))
        .envs(env.iter().map(|(k, v)| (k, v)))
        .output()
        .await
        .unwrap();
    assert!(!output.status.success());
    let said =
        format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(said.contains("OTEL_EXPORTER_OTLP_CERTIFICATE=/nonexistent/ca.pem"), "{said}");
}
