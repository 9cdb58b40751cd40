//! Telemetry configuration, read once from the standard `OTEL_*` environment variables.
//!
//! Parsing is a pure function of a lookup closure (`|name| std::env::var(name).ok()` in production,
//! a map in tests), so the rules can be unit-tested without touching the process environment.
//! Following the OpenTelemetry specification, an invalid value is never fatal: it produces a
//! warning (logged once logging is up) and the default is used instead.
//!
//! Variables the SDK and exporter already read on their own are *not* parsed here:
//! `OTEL_TRACES_SAMPLER(_ARG)` (sampler; but for the two Jaeger remote samplers, which the SDK's
//! reading leaves out), `OTEL_BSP_*` (batch processor),
//! `OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT/TIMEOUT/HEADERS/COMPRESSION` (exporter) and
//! `OTEL_RESOURCE_ATTRIBUTES`.

use std::time::Duration;

/// How spans leave the process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// OTLP over HTTP with protobuf bodies (`http/protobuf`, port 4318): the spec's default.
    HttpProtobuf,
    /// OTLP over HTTP with OTLP/JSON bodies (`http/json`, port 4318).
    HttpJson,
    /// OTLP over gRPC (`grpc`, port 4317).
    Grpc,
}

/// Where finished spans go (`OTEL_TRACES_EXPORTER`, a comma-separated list; `none` for nowhere).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Exporters {
    /// `otlp`, the default: to a collector, over [`Protocol`].
    pub otlp: bool,
    /// `console`: one line per span on stdout, in the shape of the log lines.
    pub console: bool,
}

/// How log lines are written to stdout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// One readable line per event, for people.
    Text,
    /// One JSON object per line, for log pipelines (`LOG_FORMAT=json`).
    Json,
}

/// Which context formats are read from and written to HTTP headers (`OTEL_PROPAGATORS`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Propagators {
    /// W3C `traceparent` / `tracestate` (`tracecontext`).
    pub trace_context: bool,
    /// W3C `baggage` (`baggage`).
    pub baggage: bool,
    /// Zipkin's B3, one `b3` header (`b3`).
    pub b3: bool,
    /// Zipkin's B3, the `X-B3-*` headers (`b3multi`).
    pub b3_multi: bool,
}

impl Propagators {
    /// The specification's default, `tracecontext,baggage`.
    pub const W3C: Self = Self { trace_context: true, baggage: true, b3: false, b3_multi: false };
}

/// `OTEL_TRACES_SAMPLER=jaeger_remote` or `parentbased_jaeger_remote`: the sampling strategy is
/// fetched from the backend, and polled for changes, with `OTEL_TRACES_SAMPLER_ARG`'s
/// `endpoint=…,pollingIntervalMs=…,initialSamplingRate=…` (sdk-environment-variables.md).
#[derive(Debug, Clone, PartialEq)]
pub struct RemoteSampling {
    /// `parentbased_jaeger_remote`: a sampled parent's decision is followed; roots are sampled remotely.
    pub parent_based: bool,
    /// Jaeger's HTTP sampling endpoint (`http://localhost:5778/sampling` by default). The
    /// specification's default is gRPC on 14250; the Rust SDK's sampler speaks HTTP only.
    pub endpoint: String,
    /// `pollingIntervalMs` (60 s by default).
    pub polling_interval: Duration,
    /// `initialSamplingRate` (0.001 by default): the rate until the backend first answers.
    pub initial_sampling_rate: f64,
}

impl RemoteSampling {
    fn from_arg(parent_based: bool, arg: &str, warnings: &mut Vec<String>) -> Self {
        let (endpoint, polling_interval) = ("http://localhost:5778/sampling".into(), Duration::from_secs(60));
        let mut remote = Self { parent_based, endpoint, polling_interval, initial_sampling_rate: 0.001 };
        for pair in arg.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (key, value) = pair.split_once('=').map_or((pair, ""), |(k, v)| (k.trim(), v.trim()));
            match (key, value.parse::<f64>()) {
                ("endpoint", _) if !value.is_empty() => remote.endpoint = value.to_owned(),
                ("pollingIntervalMs", Ok(ms)) if ms >= 1.0 => remote.polling_interval = Duration::from_millis(ms as u64),
                ("initialSamplingRate", Ok(rate)) if (0.0..=1.0).contains(&rate) => {
                    remote.initial_sampling_rate = rate;
                }
                _ => warnings.push(format!("OTEL_TRACES_SAMPLER_ARG entry {pair:?} is not endpoint=<url>, pollingIntervalMs=<ms> or initialSamplingRate=<0..1>; ignored")),
            }
        }
        remote
    }
}

/// Everything `shared_tracing::init` needs to know, resolved from the environment.
#[derive(Debug, Clone, PartialEq)]
pub struct TelemetryConfig {
    /// `service.name`: `OTEL_SERVICE_NAME` if set, else the service's own default.
    pub service_name: String,
    /// `service.version`: the crate version of the binary.
    pub service_version: String,
    /// `OTEL_SDK_DISABLED=true`: no spans are created or exported; logs still work.
    pub sdk_disabled: bool,
    /// `OTEL_EXPORTER_OTLP_TRACES_PROTOCOL`, else `OTEL_EXPORTER_OTLP_PROTOCOL`.
    pub protocol: Protocol,
    /// `OTEL_TRACES_EXPORTER`.
    pub exporters: Exporters,
    /// `LOG_FORMAT`.
    pub log_format: LogFormat,
    /// `OTEL_PROPAGATORS`.
    pub propagators: Propagators,
    /// `OTEL_TRACES_SAMPLER` naming a Jaeger remote sampler; `None` for every other sampler,
    /// which the SDK reads itself.
    pub remote_sampling: Option<RemoteSampling>,
    /// Problems found while reading the environment, to be logged once logging is initialised.
    pub warnings: Vec<String>,
}

impl TelemetryConfig {
    /// Reads the configuration from the process environment.
    pub fn from_env(default_service_name: &str, service_version: &str) -> Self {
        Self::from_lookup(default_service_name, service_version, |name| std::env::var(name).ok())
    }

    /// Reads the configuration through `lookup` (a variable name to its value, if set).
    pub fn from_lookup(
        default_service_name: &str,
        service_version: &str,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Self {
        let mut warnings = Vec::new();
        // Empty values count as unset, as the specification asks.
        let get = |name: &str| lookup(name).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());

        let service_name = get("OTEL_SERVICE_NAME").unwrap_or_else(|| default_service_name.to_owned());

        let sdk_disabled = match get("OTEL_SDK_DISABLED").map(|v| v.to_ascii_lowercase()) {
            None => false,
            Some(v) if v == "true" => true,
            Some(v) if v == "false" => false,
            Some(v) => {
                warnings.push(format!("OTEL_SDK_DISABLED={v:?} is not true or false; telemetry stays on"));
                false
            }
        };

        let protocol_var = if get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL").is_some() {
            "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"
        } else {
            "OTEL_EXPORTER_OTLP_PROTOCOL"
        };
        let protocol = match get(protocol_var).as_deref() {
            None | Some("http/protobuf") => Protocol::HttpProtobuf,
            Some("http/json") => Protocol::HttpJson,
            Some("grpc") => Protocol::Grpc,
            Some(other) => {
                warnings.push(format!(
                    "{protocol_var}={other:?} is not supported (use http/protobuf, http/json or grpc); using http/protobuf"
                ));
                Protocol::HttpProtobuf
            }
        };

        // The specification's known values (`sdk-environment-variables.md`, "Exporter Selection"):
        // otlp, zipkin, console, logging (deprecated, SHOULD NOT be supported), none.
        let exporters = match get("OTEL_TRACES_EXPORTER") {
            None => Exporters { otlp: true, console: false },
            Some(list) => {
                let mut e = Exporters { otlp: false, console: false };
                let mut named = false;
                for name in list.split(',').map(|s| s.trim().to_ascii_lowercase()).filter(|s| !s.is_empty()) {
                    match name.as_str() {
                        "otlp" => (e.otlp, named) = (true, true),
                        "console" => (e.console, named) = (true, true),
                        "none" => named = true,
                        other => warnings.push(format!(
                            "OTEL_TRACES_EXPORTER entry {other:?} is not supported here (otlp, console, none); ignored"
                        )),
                    }
                }
                if !named {
                    warnings.push(format!(
                        "OTEL_TRACES_EXPORTER={list:?} names no supported exporter; using otlp"
                    ));
                    e.otlp = true;
                }
                e
            }
        };

        let log_format = match get("LOG_FORMAT").map(|v| v.to_ascii_lowercase()).as_deref() {
            None | Some("text") | Some("pretty") => LogFormat::Text,
            Some("json") => LogFormat::Json,
            Some(other) => {
                warnings.push(format!("LOG_FORMAT={other:?} is not text or json; using text"));
                LogFormat::Text
            }
        };

        let propagators = match get("OTEL_PROPAGATORS") {
            None => Propagators::W3C,
            Some(list) => {
                let mut p = Propagators::default();
                for name in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                    match name {
                        "tracecontext" => p.trace_context = true,
                        "baggage" => p.baggage = true,
                        "b3" => p.b3 = true,
                        "b3multi" => p.b3_multi = true,
                        "none" => {}
                        // `jaeger` (uber-trace-id) has no propagator crate of this OpenTelemetry
                        // version (opentelemetry-jaeger-propagator stops at 0.32); `xray` and
                        // `ottrace` none at all.
                        other => warnings.push(format!(
                            "OTEL_PROPAGATORS entry {other:?} is not supported here (tracecontext, baggage, b3, b3multi, none); ignored"
                        )),
                    }
                }
                p
            }
        };

        let remote_sampling = match get("OTEL_TRACES_SAMPLER").as_deref() {
            Some(name @ ("jaeger_remote" | "parentbased_jaeger_remote")) => {
                let arg = get("OTEL_TRACES_SAMPLER_ARG").unwrap_or_default();
                Some(RemoteSampling::from_arg(name.starts_with("parentbased"), &arg, &mut warnings))
            }
            _ => None,
        };

        Self {
            service_name,
            service_version: service_version.to_owned(),
            sdk_disabled,
            protocol,
            exporters,
            log_format,
            propagators,
            remote_sampling,
            warnings,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config(vars: &[(&str, &str)]) -> TelemetryConfig {
        let map: HashMap<String, String> =
            vars.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        TelemetryConfig::from_lookup("gateway", "1.2.3", |k| map.get(k).cloned())
    }

    #[test]
    fn defaults_are_http_protobuf_text_logs_and_both_w3c_propagators() {
        let c = config(&[]);
        assert_eq!(c.service_name, "gateway");
        assert_eq!(c.service_version, "1.2.3");
        assert!(!c.sdk_disabled);
        assert_eq!(c.protocol, Protocol::HttpProtobuf);
        assert_eq!(c.exporters, Exporters { otlp: true, console: false });
        assert_eq!(c.log_format, LogFormat::Text);
        assert_eq!(c.propagators, Propagators::W3C);
        assert!(c.warnings.is_empty());
    }

    #[test]
    fn the_jaeger_remote_samplers_take_their_arguments_as_the_specification_names_them() {
        assert_eq!(config(&[("OTEL_TRACES_SAMPLER", "parentbased_traceidratio")]).remote_sampling, None);
        let defaults = config(&[("OTEL_TRACES_SAMPLER", "jaeger_remote")]).remote_sampling.unwrap();
        assert_eq!(
            defaults,
            RemoteSampling {
                parent_based: false,
                endpoint: "http://localhost:5778/sampling".into(),
                polling_interval: Duration::from_secs(60),
                initial_sampling_rate: 0.001,
            }
        );
        let c = config(&[
            ("OTEL_TRACES_SAMPLER", "parentbased_jaeger_remote"),
            (
                "OTEL_TRACES_SAMPLER_ARG",
                "endpoint=http://jaeger:5778/sampling, pollingIntervalMs=5000,initialSamplingRate=0.25,rate=9",
            ),
        ]);
        let remote = c.remote_sampling.unwrap();
        assert!(remote.parent_based);
        assert_eq!(remote.endpoint, "http://jaeger:5778/sampling");
        assert_eq!(remote.polling_interval, Duration::from_millis(5000));
        assert_eq!(remote.initial_sampling_rate, 0.25);
        assert_eq!(c.warnings.len(), 1, "the unknown `rate` is warned about: {:?}", c.warnings);
        let out_of_range = config(&[
            ("OTEL_TRACES_SAMPLER", "jaeger_remote"),
            ("OTEL_TRACES_SAMPLER_ARG", "initialSamplingRate=2,pollingIntervalMs=soon"),
        ]);
        assert_eq!(out_of_range.remote_sampling.unwrap().initial_sampling_rate, 0.001);
        assert_eq!(out_of_range.warnings.len(), 2);
    }

    #[test]
    fn otel_service_name_overrides_the_built_in_name() {
        assert_eq!(config(&[("OTEL_SERVICE_NAME", "edge")]).service_name, "edge");
        assert_eq!(config(&[("OTEL_SERVICE_NAME", "  ")]).service_name, "gateway");
    }

    #[test]
    fn sdk_disabled_accepts_true_case_insensitively_and_warns_on_garbage() {
        assert!(config(&[("OTEL_SDK_DISABLED", "TRUE")]).sdk_disabled);
        let c = config(&[("OTEL_SDK_DISABLED", "yes")]);
        assert!(!c.sdk_disabled);
        assert_eq!(c.warnings.len(), 1);
    }

    #[test]
    fn grpc_is_chosen_by_the_generic_or_the_traces_specific_variable() {
        assert_eq!(config(&[("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")]).protocol, Protocol::Grpc);
        let c = config(&[
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
            ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "http/protobuf"),
        ]);
        assert_eq!(c.protocol, Protocol::HttpProtobuf);
    }

    #[test]
    fn an_unsupported_protocol_falls_back_to_http_protobuf_with_a_warning() {
        assert_eq!(config(&[("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json")]).protocol, Protocol::HttpJson);
        let c = config(&[("OTEL_EXPORTER_OTLP_PROTOCOL", "thrift")]);
        assert_eq!(c.protocol, Protocol::HttpProtobuf);
        assert!(c.warnings[0].contains("thrift"));
    }

    #[test]
    fn traces_exporter_is_a_list_of_otlp_console_or_none_and_an_unknown_one_is_warned_about() {
        let exporters = |value: &str| config(&[("OTEL_TRACES_EXPORTER", value)]).exporters;
        assert_eq!(config(&[]).exporters, Exporters { otlp: true, console: false });
        assert_eq!(exporters("console"), Exporters { otlp: false, console: true });
        assert_eq!(exporters("otlp, CONSOLE"), Exporters { otlp: true, console: true });
        assert_eq!(exporters("none"), Exporters { otlp: false, console: false });
        let c = config(&[("OTEL_TRACES_EXPORTER", "zipkin,console")]);
        assert_eq!(c.exporters, Exporters { otlp: false, console: true });
        assert!(c.warnings[0].contains("zipkin"), "{:?}", c.warnings);
        let c = config(&[("OTEL_TRACES_EXPORTER", "logging")]);
        assert_eq!(c.exporters, Exporters { otlp: true, console: false }, "nothing usable: the default");
        assert_eq!(c.warnings.len(), 2);
    }

    #[test]
    fn propagators_list_is_parsed_and_none_disables_both() {
        let c = config(&[("OTEL_PROPAGATORS", "tracecontext")]);
        assert_eq!(c.propagators, Propagators { trace_context: true, ..Propagators::default() });
        let c = config(&[("OTEL_PROPAGATORS", "none")]);
        assert_eq!(c.propagators, Propagators::default());
        let c = config(&[("OTEL_PROPAGATORS", "b3multi,tracecontext,b3")]);
        assert_eq!(
            c.propagators,
            Propagators { trace_context: true, b3: true, b3_multi: true, baggage: false }
        );
        let c = config(&[("OTEL_PROPAGATORS", "tracecontext,jaeger")]);
        assert!(c.warnings[0].contains("\"jaeger\""), "{:?}", c.warnings);
        let c = config(&[("OTEL_PROPAGATORS", "xray,baggage")]);
        assert_eq!(c.propagators, Propagators { baggage: true, ..Propagators::default() });
        assert_eq!(c.warnings.len(), 1);
    }

    #[test]
    fn log_format_json_is_selected_by_log_format() {
        assert_eq!(config(&[("LOG_FORMAT", "json")]).log_format, LogFormat::Json);
    }
}
