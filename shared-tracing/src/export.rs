//! Where finished spans go, as `OTEL_TRACES_EXPORTER` chooses: OTLP (the default), the console
//! (stdout, one line per span, for a look without any collector), both, or nowhere (`none`: spans
//! are still made and their context still propagates, so trace ids are still answered).
//!
//! OTLP goes over `http/protobuf`, `http/json` or `grpc` (`OTEL_EXPORTER_OTLP_PROTOCOL`), to an
//! `http://` or an `https://` collector. Over https the collector's certificate is checked
//! against the system's trusted roots plus, if `OTEL_EXPORTER_OTLP_CERTIFICATE` (or its `TRACES_`
//! form) names a PEM file, the certificates in it: a private CA, or a collector's self-signed
//! certificate; with `OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE` and `_CLIENT_KEY`, the service shows
//! a certificate of its own (mutual TLS). Every protocol goes through opentelemetry-otlp's own
//! exporter, which reads the endpoint, headers, timeout, compression and retries from the
//! `OTEL_EXPORTER_OTLP_*` variables itself.
//!
//! The OpenTelemetry specification leaves the console format to each SDK ("Standard Output",
//! `specification/trace/sdk_exporters/stdout.md`: not for production, output unspecified). Here it
//! follows `LOG_FORMAT`, so a span line sits among the log lines in their own shape: readable text,
//! or one JSON object per line that a log pipeline can parse.

use std::{
    io::Write as _,
    time::{Duration, UNIX_EPOCH},
};

use opentelemetry::{
    Value,
    trace::{SpanId, SpanKind, Status},
};
use opentelemetry_otlp::{SpanExporter as SdkOtlpExporter, WithExportConfig as _, WithHttpConfig as _};
use opentelemetry_sdk::{
    Resource,
    error::OTelSdkResult,
    trace::{SpanData, SpanExporter},
};

use crate::{
    TelemetryConfig, TelemetryError,
    config::{LogFormat, Protocol, otlp_setting},
    tls::Tls,
};

/// The exporters `config` names, as one.
pub(crate) fn selected(config: &TelemetryConfig) -> Result<SelectedExporters, TelemetryError> {
    let otlp = config.exporters.otlp.then(|| otlp(config.protocol)).transpose()?;
    let console = config.exporters.console.then(|| Console::new(config.log_format));
    Ok(SelectedExporters { otlp, console })
}

/// opentelemetry-otlp's exporter over `protocol`, with the TLS the `OTEL_EXPORTER_OTLP_*` files
/// ask for. The protocol is given, not left to the exporter to read: `config` has already read it
/// (and warned about a value it does not know, or one this build lacks the feature for).
fn otlp(protocol: Protocol) -> Result<SdkOtlpExporter, TelemetryError> {
    let tls = Tls::from_env()?;
    #[cfg(feature = "grpc")]
    if protocol == Protocol::Grpc {
        use opentelemetry_otlp::WithTonicConfig as _;
        return Ok(SdkOtlpExporter::builder().with_tonic().with_tls_config(tls.for_grpc()).build()?);
    }
    let protocol = match protocol {
        #[cfg(feature = "http-json")]
        Protocol::HttpJson => opentelemetry_otlp::Protocol::HttpJson,
        _ => opentelemetry_otlp::Protocol::HttpBinary,
    };
    let builder = SdkOtlpExporter::builder().with_http().with_protocol(protocol);
    Ok(builder.with_http_client(http_client(tls)?).build()?)
}

/// The blocking HTTP client the exporter would build, with `tls` as well. Built on a thread of its
/// own, as the exporter builds its own: reqwest's blocking client runs a runtime of its own, which
/// must not be created inside the service's.
fn http_client(tls: Tls) -> Result<reqwest::blocking::Client, opentelemetry_otlp::ExporterBuildError> {
    let failed = |reason: String| opentelemetry_otlp::ExporterBuildError::InternalFailure(reason);
    let timeout = export_timeout();
    std::thread::spawn(move || tls.apply(reqwest::blocking::Client::builder().timeout(timeout)).build())
        .join()
        .map_err(|_| failed("the thread building the HTTP client panicked".to_owned()))?
        .map_err(|e| failed(format!("the HTTP client could not be built: {e}")))
}

/// `OTEL_EXPORTER_OTLP_(TRACES_)TIMEOUT`, in milliseconds (10 s by default): what the exporter
/// gives the client it builds itself, so the client built here gets it too.
fn export_timeout() -> Duration {
    otlp_setting("TIMEOUT", |v| std::env::var(v).ok())
        .and_then(|(_, ms)| ms.parse::<u64>().ok())
        .map_or(Duration::from_secs(10), Duration::from_millis)
}

/// The exporters `OTEL_TRACES_EXPORTER` named, as one [`SpanExporter`]: each batch is printed
/// (console), then sent (OTLP); with neither, it is dropped.
#[derive(Debug)]
pub struct SelectedExporters {
    pub(crate) otlp: Option<SdkOtlpExporter>,
    pub(crate) console: Option<Console>,
}

impl SpanExporter for SelectedExporters {
    fn export(&self, batch: Vec<SpanData>) -> impl Future<Output = OTelSdkResult> + Send {
        if let Some(console) = &self.console {
            console.print(&batch);
        }
        let sent = self.otlp.as_ref().map(|otlp| otlp.export(batch));
        async move {
            match sent {
                Some(sent) => sent.await,
                None => Ok(()),
            }
        }
    }

    fn shutdown_with_timeout(&self, timeout: std::time::Duration) -> OTelSdkResult {
        self.otlp.as_ref().map_or(Ok(()), |otlp| otlp.shutdown_with_timeout(timeout))
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.otlp.as_ref().map_or(Ok(()), SpanExporter::force_flush)
    }

    fn set_resource(&mut self, resource: &Resource) {
        if let Some(otlp) = &mut self.otlp {
            otlp.set_resource(resource);
        }
        if let Some(console) = &mut self.console {
            console.service = resource
                .get(&opentelemetry::Key::from_static_str("service.name"))
                .map_or_else(|| "unknown_service".to_owned(), |name| name.to_string());
        }
    }
}

/// Prints finished spans to stdout, in the shape of the log lines.
#[derive(Debug)]
pub struct Console {
    format: LogFormat,
    service: String,
}

impl Console {
    /// A console exporter writing `format` lines.
    pub fn new(format: LogFormat) -> Self {
        Self { format, service: "unknown_service".to_owned() }
    }

    fn print(&self, batch: &[SpanData]) {
        let mut out = String::new();
        for span in batch {
            match self.format {
                LogFormat::Text => out.push_str(&self.text(span)),
                LogFormat::Json => out.push_str(&self.json(span).to_string()),
            }
            out.push('\n');
        }
        // One write for the batch, so span lines never interleave with a log line mid-way. A
        // closed stdout loses the lines, as it loses log lines: nothing to report it to.
        let _ = std::io::stdout().lock().write_all(out.as_bytes());
    }

    /// `span my-service SERVER "GET /hello" 0.582 ms trace_id=… span_id=… parent_id=…
    /// status=error("…") http.route="/hello" … events=["Greeting"]`
    fn text(&self, span: &SpanData) -> String {
        let context = &span.span_context;
        let mut line = format!(
            "span {} {} {:?} {:.3} ms trace_id={} span_id={}",
            self.service,
            kind(&span.span_kind).to_ascii_uppercase(),
            span.name,
            duration_ms(span),
            context.trace_id(),
            context.span_id(),
        );
        if span.parent_span_id != SpanId::INVALID {
            line.push_str(&format!(" parent_id={}", span.parent_span_id));
        }
        match &span.status {
            Status::Unset => {}
            Status::Ok => line.push_str(" status=ok"),
            Status::Error { description } => line.push_str(&format!(" status=error({description:?})")),
        }
        for kv in &span.attributes {
            // A string quoted (and escaped) as in JSON, a number or a boolean as it is.
            line.push_str(&format!(" {}={}", kv.key, json_value(&kv.value)));
        }
        if !span.events.is_empty() {
            let names: Vec<&str> = span.events.iter().map(|e| e.name.as_ref()).collect();
            line.push_str(&format!(" events={names:?}"));
        }
        line
    }

    fn json(&self, span: &SpanData) -> serde_json::Value {
        let context = &span.span_context;
        let attributes: serde_json::Map<String, serde_json::Value> =
            span.attributes.iter().map(|kv| (kv.key.to_string(), json_value(&kv.value))).collect();
        let (status, status_message) = match &span.status {
            Status::Unset => ("unset", ""),
            Status::Ok => ("ok", ""),
            Status::Error { description } => ("error", description.as_ref()),
        };
        serde_json::json!({
            "span": span.name,
            "service": self.service,
            "kind": kind(&span.span_kind),
            "trace_id": context.trace_id().to_string(),
            "span_id": context.span_id().to_string(),
            "parent_id": (span.parent_span_id != SpanId::INVALID).then(|| span.parent_span_id.to_string()),
            "start_unix_nano": span.start_time.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64),
            "duration_ms": duration_ms(span),
            "status": status,
            "status_message": status_message,
            "attributes": attributes,
            "events": span.events.iter().map(|e| e.name.as_ref()).collect::<Vec<_>>(),
        })
    }
}

/// `server`, `client`, `internal`, `producer` or `consumer`.
fn kind(kind: &SpanKind) -> String {
    format!("{kind:?}").to_ascii_lowercase()
}

fn duration_ms(span: &SpanData) -> f64 {
    span.end_time.duration_since(span.start_time).map_or(0.0, |d| d.as_secs_f64() * 1000.0)
}

fn json_value(value: &Value) -> serde_json::Value {
    match value {
        Value::Bool(b) => (*b).into(),
        Value::I64(i) => (*i).into(),
        Value::F64(f) => (*f).into(),
        Value::String(s) => s.as_str().into(),
        other => other.to_string().into(),
    }
}

#[cfg(test)]
mod tests {
    use std::{borrow::Cow, time::Duration};

    use opentelemetry::{
        KeyValue,
        trace::{SpanContext, TraceFlags, TraceId, TraceState},
    };
    use opentelemetry_sdk::trace::{SpanEvents, SpanLinks};

    use super::*;

    fn span() -> SpanData {
        let start = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let mut events = SpanEvents::default();
        events.events.push(opentelemetry::trace::Event::new("Validating order", start, Vec::new(), 0));
        SpanData {
            span_context: SpanContext::new(
                TraceId::from(0x4bf9_2f35_77b3_4da6_a3ce_929d_0e0e_4736_u128),
                SpanId::from(0x00f0_67aa_0ba9_02b7_u64),
                TraceFlags::SAMPLED,
                false,
                TraceState::default(),
            ),
            parent_span_id: SpanId::from(1_u64),
            parent_span_is_remote: false,
            span_kind: SpanKind::Server,
            name: Cow::Borrowed("POST /orders"),
            start_time: start,
            end_time: start + Duration::from_micros(12_301),
            attributes: vec![
                KeyValue::new("http.route", "/orders"),
                KeyValue::new("http.response.status_code", 503),
            ],
            dropped_attributes_count: 0,
            events,
            links: SpanLinks::default(),
            status: Status::error("payment-service is unavailable"),
            instrumentation_scope: Default::default(),
        }
    }

    fn console(format: LogFormat) -> Console {
        Console { format, service: "order-service".to_owned() }
    }

    #[test]
    fn a_text_line_names_the_service_kind_and_span_then_ids_status_attributes_and_events() {
        assert_eq!(
            console(LogFormat::Text).text(&span()),
            "span order-service SERVER \"POST /orders\" 12.301 ms trace_id=4bf92f3577b34da6a3ce929d0e0e4736 \
             span_id=00f067aa0ba902b7 parent_id=0000000000000001 status=error(\"payment-service is unavailable\") \
             http.route=\"/orders\" http.response.status_code=503 events=[\"Validating order\"]"
        );
    }

    #[test]
    fn a_json_line_has_the_same_facts_as_fields() {
        let line = console(LogFormat::Json).json(&span());
        assert_eq!(line["span"], "POST /orders");
        assert_eq!(line["service"], "order-service");
        assert_eq!(line["kind"], "server");
        assert_eq!(line["trace_id"], "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_eq!(line["parent_id"], "0000000000000001");
        assert_eq!(line["status"], "error");
        assert_eq!(line["attributes"]["http.response.status_code"], 503);
        assert_eq!(line["events"][0], "Validating order");
        assert!((line["duration_ms"].as_f64().unwrap() - 12.301).abs() < 1e-9);
    }
}
