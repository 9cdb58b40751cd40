//! A stand-in of Jaeger 2.x's `/api/v3` search, written from Jaeger's own source (cited on each
//! item): its two query parsers and its memory store. `tracectl`'s tests play Jaeger with it where
//! the real one cannot show something (the 2.19+ parser; 404s, 500s and garbage), and the e2e
//! tests run the same searches against it and against the real Jaeger 2.12.0, holding the same
//! traces, and require the same answers: so the stand-in cannot drift from the real one unseen.

// Test support: a fixture that does not parse is a broken test, and says so by panicking.
#![allow(clippy::unwrap_used)]

use std::{
    collections::BTreeMap,
    time::{Duration, SystemTime},
};

use axum::http::StatusCode;
use serde_json::Value;

/// Which of Jaeger 2.x's two `/api/v3` query parsers the stand-in reads searches with. Both are
/// written from Jaeger's own source (jaegertracing/jaeger, fetched here as git; the path is
/// `cmd/jaeger/internal/extension/jaegerquery/internal/apiv3/`):
/// - `Parser::HttpGateway`: `http_gateway.go`, `parseFindTracesQuery`, at v2.18.0, the parser of
///   every release up to 2.18: snake_case names only, `query.start_time_min` and
///   `query.start_time_max` required (else 400, "query.start_time_min and query.start_time_max are
///   required"), the depth read from `query.num_traces` alone and 0 when it is missing, and no
///   `query.attributes` ("most curiously not supported by grpc-gateway": an empty map);
/// - `Parser::QueryParser`: `query_parser.go`, from v2.19.0 on, read at v2.20.0 and at main of
///   2026-08-20 (`8498073`, after 2.20.0, the newest the fetch holds; the pinned 2.22.0 is not
///   there): the camelCase names (`query.serviceName`, `query.startTimeMin`, `query.searchDepth`,
///   `query.durationMin`, …) first, the snake_case ones as deprecated aliases, `query.num_traces`
///   last; the time range required ("query.startTimeMin and query.startTimeMax are required") and
///   min before max; the depth 100 when none is given; `query.attributes` a JSON object of
///   string values.
///
/// Behind either, [`Store`] plays Jaeger's memory store.
#[derive(Clone, Copy, Debug)]
pub enum Parser {
    /// Every release up to 2.18 (`http_gateway.go`).
    HttpGateway,
    /// 2.19 and later (`query_parser.go`).
    QueryParser,
}

/// The names a parser reads each search parameter under, in the order it tries them.
pub struct Names {
    service: &'static [&'static str],
    operation: &'static [&'static str],
    time_min: &'static [&'static str],
    time_max: &'static [&'static str],
    depth: &'static [&'static str],
    duration_min: &'static [&'static str],
    duration_max: &'static [&'static str],
}

impl Parser {
    /// The names this parser reads each search parameter under.
    pub fn names(self) -> Names {
        match self {
            Parser::HttpGateway => Names {
                service: &["query.service_name"],
                operation: &["query.operation_name"],
                time_min: &["query.start_time_min"],
                time_max: &["query.start_time_max"],
                depth: &["query.num_traces"],
                duration_min: &["query.duration_min"],
                duration_max: &["query.duration_max"],
            },
            Parser::QueryParser => Names {
                service: &["query.serviceName", "query.service_name"],
                operation: &["query.operationName", "query.operation_name"],
                time_min: &["query.startTimeMin", "query.start_time_min"],
                time_max: &["query.startTimeMax", "query.start_time_max"],
                depth: &["query.searchDepth", "query.search_depth", "query.num_traces"],
                duration_min: &["query.durationMin", "query.duration_min"],
                duration_max: &["query.durationMax", "query.duration_max"],
            },
        }
    }

    /// The names of the time range's two ends, as its error messages say them.
    pub fn time_names(self) -> (&'static str, &'static str) {
        match self {
            Parser::HttpGateway => ("query.start_time_min", "query.start_time_max"),
            Parser::QueryParser => ("query.startTimeMin", "query.startTimeMax"),
        }
    }
}

/// The memory store's `max_traces` in Jaeger's built-in default configuration.
pub const MAX_TRACES: i64 = 100_000;

/// Jaeger's memory store as a search sees it (`internal/storage/v2/memory/tenant.go`, same at
/// v2.18.0, v2.20.0 and `8498073`): traces in arrival order, searched from the most recent back
/// (`findTraceAndIds`), the first `depth` that match kept; a depth of 0 or above `max_traces`
/// refused with `errInvalidSearchDepth` (the gateway's 500). A trace matches when one span meets
/// every condition (`validTrace`, `validSpan`): its resource's `service.name`, its name, its start
/// in the time range, its duration within the bounds, and each attribute: `error` against the
/// span's status (true: ERROR only; false: anything else), any other key against the span's, its
/// resource's or one of its events' attributes, compared as strings. (`span.status`, `span.kind`,
/// `scope.*` and `resource.*` keys are not played: `tracectl` sends none.)
pub struct Store {
    /// Each trace's `resourceSpans`, oldest first.
    traces: Vec<Vec<Value>>,
}

/// One search's conditions, as the parser read them.
#[derive(Default)]
pub struct Conditions {
    service: Option<String>,
    operation: Option<String>,
    time: (u128, u128),
    duration: (Option<Duration>, Option<Duration>),
    attributes: BTreeMap<String, String>,
}

impl Store {
    /// The traces of OTLP/JSON `fixtures` (each may hold several), oldest first, each moved so it
    /// ends a second after the one before and the last ends now: recorded traces, as if just sent.
    pub fn of(fixtures: &[Value]) -> Self {
        let mut traces: Vec<Vec<Value>> = Vec::new();
        let mut ids: Vec<String> = Vec::new();
        for fixture in fixtures {
            let root = fixture.get("result").unwrap_or(fixture);
            for resource in root["resourceSpans"].as_array().unwrap() {
                for scope in resource["scopeSpans"].as_array().unwrap() {
                    for span in scope["spans"].as_array().unwrap() {
                        let id = span["traceId"].as_str().unwrap().to_owned();
                        let at = ids.iter().position(|known| *known == id).unwrap_or_else(|| {
                            ids.push(id.clone());
                            traces.push(Vec::new());
                            ids.len() - 1
                        });
                        let mut one = resource.clone();
                        // Its scope as it came: a scope Jaeger sent without a name is no field at all.
                        let mut alone = scope.clone();
                        alone["spans"] = serde_json::json!([span]);
                        one["scopeSpans"] = serde_json::json!([alone]);
                        traces[at].push(one);
                    }
                }
            }
        }
        let now = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).unwrap().as_nanos() as i128;
        let count = traces.len() as i128;
        for (i, trace) in traces.iter_mut().enumerate() {
            let end = spans(trace).map(|s| nanos(&s["endTimeUnixNano"])).max().unwrap() as i128;
            let shift = now - (count - 1 - i as i128) * 1_000_000_000 - end;
            for resource in trace.iter_mut() {
                for span in resource["scopeSpans"][0]["spans"].as_array_mut().unwrap() {
                    for field in ["startTimeUnixNano", "endTimeUnixNano"] {
                        span[field] = Value::String((nanos(&span[field]) as i128 + shift).to_string());
                    }
                    // (`get_mut`: indexing would add `"events": null` to a span without events.)
                    for event in span.get_mut("events").and_then(Value::as_array_mut).into_iter().flatten() {
                        event["timeUnixNano"] =
                            Value::String((nanos(&event["timeUnixNano"]) as i128 + shift).to_string());
                    }
                }
            }
        }
        Self { traces }
    }

    /// `validSpan`.
    fn span_matches(resource: &Value, span: &Value, when: &Conditions) -> bool {
        let service = attribute(&resource["resource"]["attributes"], "service.name");
        let (start, end) = (nanos(&span["startTimeUnixNano"]), nanos(&span["endTimeUnixNano"]));
        let duration = Duration::from_nanos((end.saturating_sub(start)) as u64);
        let error = span["status"]["code"].as_u64() == Some(2);
        when.service.as_ref().is_none_or(|s| service.as_ref() == Some(s))
            && when.operation.as_ref().is_none_or(|op| span["name"] == op.as_str())
            && (when.time.0..=when.time.1).contains(&start)
            && when.duration.0.is_none_or(|min| duration >= min)
            && when.duration.1.is_none_or(|max| duration <= max)
            && when.attributes.iter().all(|(key, value)| match key.as_str() {
                "error" => value.parse::<bool>().is_ok_and(|wanted| wanted == error),
                _ => {
                    let events = span["events"].as_array().into_iter().flatten();
                    [&span["attributes"], &resource["resource"]["attributes"]]
                        .into_iter()
                        .chain(events.map(|e| &e["attributes"]))
                        .any(|attrs| attribute(attrs, key).as_ref() == Some(value))
                }
            })
    }

    /// `findTraceAndIds`, then the gateway's `returnTraces`.
    pub fn find(&self, depth: i64, when: &Conditions) -> (StatusCode, String) {
        if depth <= 0 || depth > MAX_TRACES {
            let message = "search depth must be greater than 0 and less than max traces";
            return jaeger_error(StatusCode::INTERNAL_SERVER_ERROR, message);
        }
        let found: Vec<&Value> = self
            .traces
            .iter()
            .rev()
            .filter(|trace| {
                trace.iter().any(|r| {
                    r["scopeSpans"][0]["spans"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .any(|s| Self::span_matches(r, s, when))
                })
            })
            .take(depth as usize)
            .flatten()
            .collect();
        if found.is_empty() {
            return jaeger_error(StatusCode::NOT_FOUND, "No traces found");
        }
        (StatusCode::OK, serde_json::json!({"result": {"resourceSpans": found}}).to_string())
    }
}

/// The spans of one stored trace.
pub fn spans(trace: &[Value]) -> impl Iterator<Item = &Value> {
    trace.iter().flat_map(|r| r["scopeSpans"][0]["spans"].as_array().unwrap())
}

/// An OTLP/JSON timestamp (a string of nanoseconds).
pub fn nanos(value: &Value) -> u128 {
    value.as_str().unwrap().parse().unwrap()
}

/// An OTLP/JSON attribute's value as a string (pcommon's `AsString`), if the key is there.
pub fn attribute(attributes: &Value, key: &str) -> Option<String> {
    let kv = attributes.as_array()?.iter().find(|kv| kv["key"] == key)?;
    let value = &kv["value"];
    ["stringValue", "intValue", "boolValue", "doubleValue"].iter().find_map(|kind| match &value[kind] {
        Value::String(s) => Some(s.clone()),
        Value::Null => None,
        other => Some(other.to_string()),
    })
}

/// Jaeger's error body (`api_v3.GRPCGatewayError`, marshalled by `tryHandleError`).
pub fn jaeger_error(status: StatusCode, message: &str) -> (StatusCode, String) {
    let body = serde_json::json!({"error": {"httpCode": status.as_u16(), "message": message}});
    (status, body.to_string())
}

/// The first value of each of `names` that is present and not empty, with its name (Go's
/// `url.Values.Get`, tried name by name as `getQueryParam` does).
pub fn param<'a>(pairs: &[(String, String)], names: &[&'a str]) -> Option<(String, &'a str)> {
    names.iter().find_map(|name| {
        pairs.iter().find(|(k, _)| k == name).filter(|(_, v)| !v.is_empty()).map(|(_, v)| (v.clone(), *name))
    })
}

/// A query string's `(name, value)` pairs, decoded, in order (Go's `url.Values`).
pub fn query_pairs(query: &str) -> Vec<(String, String)> {
    let url = reqwest::Url::parse(&format!("http://jaeger/?{query}")).unwrap();
    url.query_pairs().map(|(k, v)| (k.into_owned(), v.into_owned())).collect()
}

/// Go's `time.ParseDuration` for what a search may carry: a decimal number and a unit, repeated
/// (`1500ms`, `250us`, `1.5s`, `1m30s`).
pub fn go_duration(text: &str) -> Option<Duration> {
    let mut rest = text;
    let mut total = 0f64;
    while !rest.is_empty() {
        let number_len = rest.find(|c: char| !(c.is_ascii_digit() || c == '.'))?;
        let number: f64 = rest[..number_len].parse().ok()?;
        rest = &rest[number_len..];
        let unit_len = rest.find(|c: char| c.is_ascii_digit() || c == '.').unwrap_or(rest.len());
        let scale = match &rest[..unit_len] {
            "ns" => 1.0,
            "us" | "µs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            _ => return None,
        };
        total += number * scale;
        rest = &rest[unit_len..];
    }
    (!text.is_empty()).then(|| Duration::from_nanos(total.round() as u64))
}

/// A search read as `parser` reads it, answered as the memory store answers it.
pub fn find_traces(parser: Parser, store: &Store, query: &str) -> (StatusCode, String) {
    let pairs = query_pairs(query);
    let names = parser.names();
    let malformed = |name: &str, value: &str| {
        jaeger_error(StatusCode::BAD_REQUEST, &format!("malformed parameter {name}: {value:?}"))
    };
    let mut when = Conditions {
        service: param(&pairs, names.service).map(|(v, _)| v),
        operation: param(&pairs, names.operation).map(|(v, _)| v),
        ..Conditions::default()
    };
    if let Parser::QueryParser = parser
        && let Some((value, name)) = param(&pairs, &["query.attributes"])
    {
        match serde_json::from_str(&value) {
            Ok(map) => when.attributes = map,
            Err(_) => return malformed(name, &value),
        }
    }
    let (Some(time_min), Some(time_max)) = (param(&pairs, names.time_min), param(&pairs, names.time_max))
    else {
        let (min, max) = parser.time_names();
        return jaeger_error(StatusCode::BAD_REQUEST, &format!("{min} and {max} are required"));
    };
    let mut range = [0u128; 2];
    for (slot, (value, name)) in range.iter_mut().zip([time_min, time_max]) {
        match humantime::parse_rfc3339(&value) {
            Ok(t) => *slot = t.duration_since(SystemTime::UNIX_EPOCH).unwrap().as_nanos(),
            Err(_) => return malformed(name, &value),
        }
    }
    if matches!(parser, Parser::QueryParser) && range[0] >= range[1] {
        let (min, max) = parser.time_names();
        return jaeger_error(StatusCode::BAD_REQUEST, &format!("{min} must be before {max}"));
    }
    when.time = (range[0], range[1]);
    let depth = match (param(&pairs, names.depth), parser) {
        (None, Parser::HttpGateway) => 0,
        (None, Parser::QueryParser) => 100,
        (Some((value, name)), _) => match value.parse::<i64>() {
            Ok(n) => n,
            Err(_) => return malformed(name, &value),
        },
    };
    for (slot, names) in
        [(&mut when.duration.0, names.duration_min), (&mut when.duration.1, names.duration_max)]
    {
        if let Some((value, name)) = param(&pairs, names) {
            match go_duration(&value) {
                Some(d) => *slot = Some(d),
                None => return malformed(name, &value),
            }
        }
    }
    store.find(depth, &when)
}
