//! Telemetry configuration, read once from the standard `OTEL_*` environment variables.
//!
//! Parsing is a pure function of a lookup closure (`|name| std::env::var(name).ok()` in production,
//! a map in tests), so the rules can be unit-tested without touching the process environment.
//! Following the OpenTelemetry specification, an invalid value is never fatal: it produces a
//! warning (logged once logging is up) and the default is used instead.
//!
//! Variables the SDK and exporter already read on their own are *not* parsed here:
//! `OTEL_BSP_*` (batch processor), `OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT/TIMEOUT/HEADERS`
//! (exporter) and `OTEL_RESOURCE_ATTRIBUTES`. `OTEL_EXPORTER_OTLP_(TRACES_)COMPRESSION` is read by
//! the exporter and only checked here: the exporter's own warning about a value it does not know
//! comes before logging is up, and would be lost.

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
    /// `console`: each span printed on stdout (the SDK's stdout exporter).
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

/// A context format read from and written to HTTP headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Propagator {
    /// W3C `traceparent` / `tracestate` (`tracecontext`).
    TraceContext,
    /// W3C `baggage` (`baggage`).
    Baggage,
    /// Zipkin's B3, one `b3` header (`b3`).
    B3,
    /// Zipkin's B3, the `X-B3-*` headers (`b3multi`).
    B3Multi,
}

/// The context formats `OTEL_PROPAGATORS` names, in its order: on extract, a later one that finds
/// its headers wins over an earlier one.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Propagators(pub Vec<Propagator>);

impl Propagators {
    /// The specification's default, `tracecontext,baggage`.
    pub fn w3c() -> Self {
        Self(vec![Propagator::TraceContext, Propagator::Baggage])
    }
}

/// The sampler `OTEL_TRACES_SAMPLER` names (`parentbased_always_on` when unset), with its
/// `OTEL_TRACES_SAMPLER_ARG`.
#[derive(Debug, Clone, PartialEq)]
pub struct Sampling {
    /// `parentbased_*`: a span with a parent follows the parent's decision; only roots ask `root`.
    pub parent_based: bool,
    /// What decides for a root (for every span, without `parentbased_`).
    pub root: RootSampler,
}

/// What decides whether a trace is sampled.
#[derive(Debug, Clone, PartialEq)]
pub enum RootSampler {
    /// `always_on`.
    AlwaysOn,
    /// `always_off`.
    AlwaysOff,
    /// `traceidratio`: this fraction of trace ids (the `_ARG`, 1.0 when missing or invalid).
    TraceIdRatio(f64),
    /// `jaeger_remote`: the strategy the backend serves for the service.
    JaegerRemote(RemoteSampling),
}

impl Sampling {
    /// The specification's default, `parentbased_always_on`.
    pub const DEFAULT: Self = Self { parent_based: true, root: RootSampler::AlwaysOn };

    fn from_env(name: &str, arg: Option<String>, warnings: &mut Vec<String>) -> Self {
        let (parent_based, root) = match name.strip_prefix("parentbased_") {
            Some(root) => (true, root),
            None => (false, name),
        };
        let root = match root {
            "always_on" => RootSampler::AlwaysOn,
            "always_off" => RootSampler::AlwaysOff,
            "traceidratio" => {
                let ratio =
                    arg.as_deref().and_then(|a| a.parse::<f64>().ok()).filter(|r| (0.0..=1.0).contains(r));
                if ratio.is_none() {
                    warnings.push(format!(
                        "OTEL_TRACES_SAMPLER_ARG={:?} is not a ratio from 0 to 1 for OTEL_TRACES_SAMPLER={name}; using 1.0",
                        arg.unwrap_or_default()
                    ));
                }
                RootSampler::TraceIdRatio(ratio.unwrap_or(1.0))
            }
            "jaeger_remote" => {
                RootSampler::JaegerRemote(RemoteSampling::from_arg(&arg.unwrap_or_default(), warnings))
            }
            _ => {
                warnings.push(format!(
                    "OTEL_TRACES_SAMPLER={name:?} is not supported here (always_on, always_off, traceidratio, \
                     jaeger_remote, each also as parentbased_…); using parentbased_always_on"
                ));
                return Self::DEFAULT;
            }
        };
        Self { parent_based, root }
    }
}

/// Whether this build has shared-tracing's cargo feature `feature`, which `variable=value` needs;
/// if not, a warning says so, and what is done `instead`.
fn built(feature: &str, variable: &str, value: &str, instead: &str, warnings: &mut Vec<String>) -> bool {
    const BUILT: [(&str, bool); 6] = [
        ("grpc", cfg!(feature = "grpc")),
        ("http-json", cfg!(feature = "http-json")),
        ("tls", cfg!(feature = "tls")),
        ("gzip", cfg!(feature = "gzip")),
        ("zstd", cfg!(feature = "zstd")),
        ("b3", cfg!(feature = "b3")),
    ];
    let built = BUILT.contains(&(feature, true));
    if !built {
        warnings.push(format!(
            "{variable}={value:?} needs shared-tracing's `{feature}` feature, which this build does not have; {instead}"
        ));
    }
    built
}

/// `OTEL_EXPORTER_OTLP_TRACES_<name>`, else `OTEL_EXPORTER_OTLP_<name>`: every exporter setting
/// has a general variable and one of the traces signal's own, which wins (the specification's
/// `protocol/exporter.md`). The variable that was set, and its value; `None` when neither is.
pub fn otlp_setting(name: &str, lookup: impl Fn(&str) -> Option<String>) -> Option<(String, String)> {
    [format!("OTEL_EXPORTER_OTLP_TRACES_{name}"), format!("OTEL_EXPORTER_OTLP_{name}")].into_iter().find_map(
        |variable| {
            let value = lookup(&variable).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())?;
            Some((variable, value))
        },
    )
}

/// `OTEL_TRACES_SAMPLER=jaeger_remote` or `parentbased_jaeger_remote`: the sampling strategy is
/// fetched from the backend, and polled for changes, with `OTEL_TRACES_SAMPLER_ARG`'s
/// `endpoint=…,pollingIntervalMs=…,initialSamplingRate=…` (sdk-environment-variables.md).
#[derive(Debug, Clone, PartialEq)]
pub struct RemoteSampling {
    /// Jaeger's HTTP sampling endpoint (`http://localhost:5778/sampling` by default). The
    /// specification's default is gRPC on 14250; the Rust SDK's sampler speaks HTTP only.
    pub endpoint: String,
    /// `pollingIntervalMs` (60 s by default).
    pub polling_interval: Duration,
    /// `initialSamplingRate` (0.001 by default): the rate until the backend first answers.
    pub initial_sampling_rate: f64,
}

impl RemoteSampling {
    fn from_arg(arg: &str, warnings: &mut Vec<String>) -> Self {
        let (endpoint, polling_interval) = ("http://localhost:5778/sampling".into(), Duration::from_secs(60));
        let mut remote = Self { endpoint, polling_interval, initial_sampling_rate: 0.001 };
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
    /// `OTEL_TRACES_SAMPLER` / `OTEL_TRACES_SAMPLER_ARG`.
    pub sampling: Sampling,
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

        let sdk_disabled = sdk_disabled(&get, &mut warnings);
        let protocol = protocol(&get, &mut warnings);
        check_compression_and_tls(&get, protocol, &mut warnings);
        let exporters = exporters(&get, &mut warnings);
        let log_format = log_format(&get, &mut warnings);
        let propagators = propagators(&get, &mut warnings);
        let sampling = match get("OTEL_TRACES_SAMPLER") {
            None => Sampling::DEFAULT,
            Some(name) => Sampling::from_env(&name, get("OTEL_TRACES_SAMPLER_ARG"), &mut warnings),
        };

        Self {
            service_name,
            service_version: service_version.to_owned(),
            sdk_disabled,
            protocol,
            exporters,
            log_format,
            propagators,
            sampling,
            warnings,
        }
    }
}

/// A variable's value, trimmed; empty counts as unset, as the specification asks.
type Get<'a> = &'a dyn Fn(&str) -> Option<String>;

/// `OTEL_SDK_DISABLED`: `true` or `false`, anything else warned about (telemetry stays on).
fn sdk_disabled(get: Get<'_>, warnings: &mut Vec<String>) -> bool {
    match get("OTEL_SDK_DISABLED").map(|v| v.to_ascii_lowercase()) {
        None => false,
        Some(v) if v == "true" => true,
        Some(v) if v == "false" => false,
        Some(v) => {
            warnings.push(format!("OTEL_SDK_DISABLED={v:?} is not true or false; telemetry stays on"));
            false
        }
    }
}

/// `OTEL_EXPORTER_OTLP_(TRACES_)PROTOCOL`, as this build can speak it.
fn protocol(get: Get<'_>, warnings: &mut Vec<String>) -> Protocol {
    let Some((variable, value)) = otlp_setting("PROTOCOL", get) else { return Protocol::HttpProtobuf };
    match value.as_str() {
        "http/protobuf" => Protocol::HttpProtobuf,
        "http/json" if built("http-json", &variable, &value, "using http/protobuf", warnings) => {
            Protocol::HttpJson
        }
        "grpc" if built("grpc", &variable, &value, "using http/protobuf", warnings) => Protocol::Grpc,
        "http/json" | "grpc" => Protocol::HttpProtobuf,
        other => {
            warnings.push(format!(
                "{variable}={other:?} is not supported (use http/protobuf, http/json or grpc); using http/protobuf"
            ));
            Protocol::HttpProtobuf
        }
    }
}

/// `OTEL_EXPORTER_OTLP_(TRACES_)COMPRESSION`, read and applied by the exporter, and an `https`
/// endpoint: only checked here, against what this build has (see the module's documentation).
fn check_compression_and_tls(get: Get<'_>, protocol: Protocol, warnings: &mut Vec<String>) {
    if let Some((variable, value)) = otlp_setting("COMPRESSION", get) {
        let uncompressed = "spans are sent uncompressed";
        match value.to_ascii_lowercase().as_str() {
            "none" => {}
            // Over gRPC both come with the `grpc` feature.
            "gzip" | "zstd" if protocol == Protocol::Grpc => {}
            name @ ("gzip" | "zstd") => {
                built(name, &variable, &value, uncompressed, warnings);
            }
            _ => warnings.push(format!(
                "{variable}={value:?} is not supported (use gzip, zstd or none); {uncompressed}"
            )),
        }
    }
    if let Some((variable, value)) =
        otlp_setting("ENDPOINT", get).filter(|(_, url)| url.starts_with("https:"))
    {
        built("tls", &variable, &value, "exports will fail", warnings);
    }
}

/// `OTEL_TRACES_EXPORTER`: the specification's known values (`sdk-environment-variables.md`,
/// "Exporter Selection") are otlp, zipkin, console, logging (deprecated, SHOULD NOT be
/// supported) and none; `otlp` when it names none this build has.
fn exporters(get: Get<'_>, warnings: &mut Vec<String>) -> Exporters {
    let Some(list) = get("OTEL_TRACES_EXPORTER") else { return Exporters { otlp: true, console: false } };
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
        warnings.push(format!("OTEL_TRACES_EXPORTER={list:?} names no supported exporter; using otlp"));
        e.otlp = true;
    }
    e
}

/// `LOG_FORMAT`: `text` (or `pretty`) or `json`.
fn log_format(get: Get<'_>, warnings: &mut Vec<String>) -> LogFormat {
    match get("LOG_FORMAT").map(|v| v.to_ascii_lowercase()).as_deref() {
        None | Some("text") | Some("pretty") => LogFormat::Text,
        Some("json") => LogFormat::Json,
        Some(other) => {
            warnings.push(format!("LOG_FORMAT={other:?} is not text or json; using text"));
            LogFormat::Text
        }
    }
}

/// `OTEL_PROPAGATORS`, in its order, each once; `none` and what this build lacks left out.
fn propagators(get: Get<'_>, warnings: &mut Vec<String>) -> Propagators {
    let Some(list) = get("OTEL_PROPAGATORS") else { return Propagators::w3c() };
    let mut chosen = Vec::new();
    for name in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let propagator = match name {
            "tracecontext" => Propagator::TraceContext,
            "baggage" => Propagator::Baggage,
            "b3" | "b3multi" if !built("b3", "OTEL_PROPAGATORS", name, "ignored", warnings) => continue,
            "b3" => Propagator::B3,
            "b3multi" => Propagator::B3Multi,
            "none" => continue,
            // `jaeger` (uber-trace-id) has no propagator crate of this OpenTelemetry version
            // (opentelemetry-jaeger-propagator stops at 0.32); `xray` and `ottrace` none at all.
            other => {
                warnings.push(format!(
                    "OTEL_PROPAGATORS entry {other:?} is not supported here (tracecontext, baggage, b3, b3multi, none); ignored"
                ));
                continue;
            }
        };
        if !chosen.contains(&propagator) {
            chosen.push(propagator);
        }
    }
    Propagators(chosen)
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
        assert_eq!(c.propagators, Propagators::w3c());
        assert!(c.warnings.is_empty());
    }

    /// The remote sampling of a config, and its warnings.
    fn remote(vars: &[(&str, &str)]) -> (Option<(bool, RemoteSampling)>, Vec<String>) {
        let c = config(vars);
        let remote = match c.sampling.root {
            RootSampler::JaegerRemote(remote) => Some((c.sampling.parent_based, remote)),
            _ => None,
        };
        (remote, c.warnings)
    }

    #[test]
    fn the_jaeger_remote_samplers_take_their_arguments_as_the_specification_names_them() {
        let (defaults, _) = remote(&[("OTEL_TRACES_SAMPLER", "jaeger_remote")]);
        assert_eq!(
            defaults,
            Some((
                false,
                RemoteSampling {
                    endpoint: "http://localhost:5778/sampling".into(),
                    polling_interval: Duration::from_secs(60),
                    initial_sampling_rate: 0.001,
                }
            ))
        );
        let (parent_based, warnings) = remote(&[
            ("OTEL_TRACES_SAMPLER", "parentbased_jaeger_remote"),
            (
                "OTEL_TRACES_SAMPLER_ARG",
                "endpoint=http://jaeger:5778/sampling, pollingIntervalMs=5000,initialSamplingRate=0.25,rate=9",
            ),
        ]);
        let (parent_based, remote_sampling) = parent_based.unwrap();
        assert!(parent_based);
        assert_eq!(remote_sampling.endpoint, "http://jaeger:5778/sampling");
        assert_eq!(remote_sampling.polling_interval, Duration::from_millis(5000));
        assert_eq!(remote_sampling.initial_sampling_rate, 0.25);
        assert_eq!(warnings.len(), 1, "the unknown `rate` is warned about: {warnings:?}");
        let (out_of_range, warnings) = remote(&[
            ("OTEL_TRACES_SAMPLER", "jaeger_remote"),
            ("OTEL_TRACES_SAMPLER_ARG", "initialSamplingRate=2,pollingIntervalMs=soon"),
        ]);
        assert_eq!(out_of_range.unwrap().1.initial_sampling_rate, 0.001);
        assert_eq!(warnings.len(), 2);
    }

    #[test]
    fn the_sampler_is_one_the_specification_names_and_an_unknown_one_warns_and_is_the_default() {
        let sampling = |name: &str, arg: &str| {
            let c = config(&[("OTEL_TRACES_SAMPLER", name), ("OTEL_TRACES_SAMPLER_ARG", arg)]);
            (c.sampling, c.warnings.len())
        };
        let sampler = |parent_based, root| Sampling { parent_based, root };
        assert_eq!(config(&[]).sampling, Sampling::DEFAULT);
        assert_eq!(sampling("always_off", ""), (sampler(false, RootSampler::AlwaysOff), 0));
        assert_eq!(sampling("parentbased_always_off", ""), (sampler(true, RootSampler::AlwaysOff), 0));
        assert_eq!(sampling("traceidratio", "0.25"), (sampler(false, RootSampler::TraceIdRatio(0.25)), 0));
        assert_eq!(
            sampling("parentbased_traceidratio", "half"),
            (sampler(true, RootSampler::TraceIdRatio(1.0)), 1),
            "a ratio that is not one: warned, and 1.0 as the specification says"
        );
        assert_eq!(sampling("traceidratio", "1.5"), (sampler(false, RootSampler::TraceIdRatio(1.0)), 1));
        let (unknown, warnings) = sampling("xray", "");
        assert_eq!((unknown, warnings), (Sampling::DEFAULT, 1));
        let c = config(&[("OTEL_TRACES_SAMPLER", "sometimes")]);
        assert!(c.warnings[0].contains("OTEL_TRACES_SAMPLER=\"sometimes\""), "{:?}", c.warnings);
    }

    #[test]
    fn an_unknown_compression_is_warned_about_naming_the_variable_and_the_value() {
        let gzip = config(&[("OTEL_EXPORTER_OTLP_COMPRESSION", "GZIP")]);
        assert_eq!(gzip.warnings.is_empty(), cfg!(feature = "gzip"), "{:?}", gzip.warnings);
        assert!(config(&[("OTEL_EXPORTER_OTLP_COMPRESSION", "none")]).warnings.is_empty());
        let c = config(&[
            ("OTEL_EXPORTER_OTLP_COMPRESSION", "none"),
            ("OTEL_EXPORTER_OTLP_TRACES_COMPRESSION", "brotli"),
        ]);
        assert_eq!(c.warnings.len(), 1);
        assert!(
            c.warnings[0].starts_with("OTEL_EXPORTER_OTLP_TRACES_COMPRESSION=\"brotli\""),
            "{:?}",
            c.warnings
        );
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
    fn a_setting_that_needs_a_feature_this_build_lacks_says_which_and_the_default_is_used() {
        let rows = [
            (("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"), "grpc", cfg!(feature = "grpc")),
            (("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json"), "http-json", cfg!(feature = "http-json")),
            (("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip"), "gzip", cfg!(feature = "gzip")),
            (("OTEL_EXPORTER_OTLP_COMPRESSION", "zstd"), "zstd", cfg!(feature = "zstd")),
            (("OTEL_EXPORTER_OTLP_ENDPOINT", "https://collector:4318"), "tls", cfg!(feature = "tls")),
            (("OTEL_PROPAGATORS", "tracecontext,b3"), "b3", cfg!(feature = "b3")),
        ];
        for (setting, feature, built) in rows {
            let c = config(&[setting]);
            let named = c.warnings.iter().any(|w| w.contains(&format!("`{feature}` feature")));
            assert_eq!(named, !built, "{setting:?}: {:?}", c.warnings);
            if !built {
                // What was left out: the default protocol, and only the propagators that were built.
                let propagators = if setting.0 == "OTEL_PROPAGATORS" { 1 } else { 2 };
                assert_eq!(
                    (c.protocol, c.propagators.0.len()),
                    (Protocol::HttpProtobuf, propagators),
                    "{setting:?}"
                );
            }
        }
    }

    #[cfg(feature = "grpc")]
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
        let json = if cfg!(feature = "http-json") { Protocol::HttpJson } else { Protocol::HttpProtobuf };
        assert_eq!(config(&[("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json")]).protocol, json);
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

    #[cfg(feature = "b3")]
    #[test]
    fn propagators_are_kept_in_the_order_listed_and_none_disables_both() {
        use Propagator::*;
        let propagators = |value: &str| config(&[("OTEL_PROPAGATORS", value)]).propagators.0;
        assert_eq!(config(&[]).propagators.0, [TraceContext, Baggage]);
        assert_eq!(propagators("tracecontext"), [TraceContext]);
        assert_eq!(propagators("none"), []);
        assert_eq!(propagators("b3multi,tracecontext,b3"), [B3Multi, TraceContext, B3]);
        assert_eq!(propagators("b3, tracecontext,b3"), [B3, TraceContext], "each once, where first named");
        let c = config(&[("OTEL_PROPAGATORS", "tracecontext,jaeger")]);
        assert!(c.warnings[0].contains("\"jaeger\""), "{:?}", c.warnings);
        let c = config(&[("OTEL_PROPAGATORS", "xray,baggage")]);
        assert_eq!(c.propagators.0, [Baggage]);
        assert_eq!(c.warnings.len(), 1);
    }

    #[test]
    fn log_format_json_is_selected_by_log_format() {
        assert_eq!(config(&[("LOG_FORMAT", "json")]).log_format, LogFormat::Json);
    }
}
