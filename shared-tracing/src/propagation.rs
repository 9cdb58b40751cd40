//! W3C Trace Context and Baggage on HTTP headers (and Zipkin's B3, when `OTEL_PROPAGATORS` asks
//! for it): the only module in the workspace that knows the header names `traceparent`,
//! `tracestate`, `baggage` and `b3`.
//!
//! *Extract* turns the headers of an incoming request into a parent context; *inject* writes the
//! context of an outgoing call into its headers. Both go through the global propagator that
//! [`crate::init`] installs from `OTEL_PROPAGATORS`, so swapping formats is configuration, not code.

use http::{HeaderMap, HeaderValue};
use opentelemetry::{
    Context,
    baggage::{Baggage, BaggageExt as _, KeyValueMetadata},
    global,
    trace::{SpanContext, TraceContextExt as _},
};
use opentelemetry_http::HeaderInjector;

use crate::config::Propagators;

/// Installs the propagators chosen by `OTEL_PROPAGATORS` as the global propagator that
/// [`extract`] and [`inject`] use. The global default is a no-op that silently drops all context,
/// which is why [`crate::init`] calls this first. Each one injects its headers; on extract, each
/// one that finds its headers replaces what the ones before it found, in the order listed.
pub fn install(choice: Propagators) {
    use opentelemetry::propagation::{TextMapCompositePropagator, TextMapPropagator};
    use opentelemetry_sdk::propagation::{BaggagePropagator, TraceContextPropagator};
    let mut propagators: Vec<Box<dyn TextMapPropagator + Send + Sync>> = Vec::new();
    if choice.trace_context {
        propagators.push(Box::new(TraceContextPropagator::new()));
    }
    if choice.baggage {
        propagators.push(Box::new(BaggagePropagator::new()));
    }
    propagators.extend(b3(choice));
    global::set_text_map_propagator(TextMapCompositePropagator::new(propagators));
}

/// Zipkin's B3, for callers and callees of the Zipkin era: the single `b3` header, the `X-B3-*`
/// headers, or both. opentelemetry-zipkin 0.33 marks the whole crate deprecated in favour of
/// exporting OTLP to Zipkin; its propagator is still the B3 implementation of this OpenTelemetry
/// version, and propagation is not export.
#[allow(deprecated)]
fn b3(choice: Propagators) -> Option<Box<dyn opentelemetry::propagation::TextMapPropagator + Send + Sync>> {
    use opentelemetry_zipkin::{B3Encoding, Propagator};
    let encoding = match (choice.b3, choice.b3_multi) {
        (true, true) => B3Encoding::SingleAndMultiHeader,
        (true, false) => B3Encoding::SingleHeader,
        (false, true) => B3Encoding::MultipleHeader,
        (false, false) => return None,
    };
    Some(Box::new(Propagator::with_encoding(encoding)))
}

/// The current context with one more baggage entry (baggage is replaced as a whole in the OTel
/// API, so the existing entries are copied). Attach it to the future that makes the outbound call.
pub fn current_with_baggage_entry(key: &'static str, value: impl Into<String>) -> Context {
    Context::map_current(|cx| {
        // `Baggage` is not `Clone`: copy its entries, metadata included.
        let mut baggage: Baggage = cx
            .baggage()
            .iter()
            .map(|(k, (v, m))| KeyValueMetadata::new(k.clone(), v.clone(), m.clone()))
            .collect();
        // An entry the W3C limits refuse is simply not sent: baggage is best-effort context.
        let _ = baggage.insert(key, value.into());
        cx.with_baggage(baggage)
    })
}

/// The value of a baggage entry of the current context.
pub fn current_baggage(key: &str) -> Option<String> {
    Context::map_current(|cx| cx.baggage().get(key).map(|v| v.as_str().to_owned()))
}

/// The response header naming the trace and span that served a request: `traceresponse`, from the
/// W3C Trace Context Level 3 draft (`spec/21-http_response_header_format.md`), not yet a standard.
pub const TRACERESPONSE: &str = "traceresponse";

/// Reads the parent context (trace context and baggage) from incoming request headers.
///
/// A missing or malformed `traceparent` yields an empty context, and the request starts a new
/// trace, exactly as the W3C specification asks: bad context is ignored, never an error.
pub fn extract(headers: &HeaderMap) -> Context {
    global::get_text_map_propagator(|p| p.extract(&EveryLine::new(headers)))
}

/// Writes `cx` (its span and its baggage) into outgoing request headers.
pub fn inject(cx: &Context, headers: &mut HeaderMap) {
    global::get_text_map_propagator(|p| p.inject_context(cx, &mut HeaderInjector(headers)));
    // Trace Context: vendors "MUST accept empty `tracestate` headers but SHOULD avoid sending
    // them"; the SDK's propagator writes one for every context without state.
    if headers.get(TRACESTATE).is_some_and(|v| v.as_bytes().iter().all(u8::is_ascii_whitespace)) {
        headers.remove(TRACESTATE);
    }
}

const TRACEPARENT: &str = "traceparent";
const TRACESTATE: &str = "tracestate";

/// The request's headers as the W3C Trace Context specification asks them to be read, where the
/// SDK's propagator (with `opentelemetry-http`'s `HeaderExtractor`, which sees only the first line
/// of a header) would not: `traceparent` only when it is one line that follows the grammar (the
/// SDK does not check the fields' lengths), every `tracestate` line combined into one, in order.
/// What passes is parsed by the SDK's propagators, which are right about the rest.
struct EveryLine<'a> {
    headers: &'a HeaderMap,
    /// Every `tracestate` line, joined with commas when there is more than one (RFC 7230 3.2.2,
    /// which the specification points to: "they MUST be combined into a single header").
    tracestate: Option<String>,
}

impl<'a> EveryLine<'a> {
    fn new(headers: &'a HeaderMap) -> Self {
        let lines: Vec<&str> = headers.get_all(TRACESTATE).iter().filter_map(|v| v.to_str().ok()).collect();
        Self { headers, tracestate: (!lines.is_empty()).then(|| lines.join(",")) }
    }
}

impl opentelemetry::propagation::Extractor for EveryLine<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        match key {
            TRACEPARENT => {
                let mut lines = self.headers.get_all(TRACEPARENT).iter();
                match (lines.next(), lines.next()) {
                    // Two `traceparent`s name two parents: neither can be trusted.
                    (Some(line), None) => line.to_str().ok().filter(|v| is_valid_traceparent(v)),
                    _ => None,
                }
            }
            TRACESTATE => self.tracestate.as_deref(),
            _ => self.headers.get(key).and_then(|v| v.to_str().ok()),
        }
    }

    fn keys(&self) -> Vec<&str> {
        self.headers.keys().map(http::HeaderName::as_str).collect()
    }

    fn get_all(&self, key: &str) -> Option<Vec<&str>> {
        let lines: Vec<&str> = self.headers.get_all(key).iter().filter_map(|v| v.to_str().ok()).collect();
        (!lines.is_empty()).then_some(lines)
    }
}

/// Whether `value` is a `traceparent` the specification lets a vendor use
/// (w3c/trace-context `spec/20-http_request_header_format.md`, "traceparent Header Field Values"
/// and "Versioning of traceparent"): `version-trace_id-parent_id-flags`, each field its exact
/// length in lowercase hex; version `ff` forbidden; version `00` exactly 55 characters; a higher
/// version at least 55, and anything after the flags starting with a dash; neither id all zeros.
fn is_valid_traceparent(value: &str) -> bool {
    let bytes = value.as_bytes();
    let hex =
        |range: std::ops::Range<usize>| bytes[range].iter().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    let zeros = |range: std::ops::Range<usize>| bytes[range].iter().all(|b| *b == b'0');
    bytes.len() >= 55
        && hex(0..2)
        && &bytes[0..2] != b"ff"
        && (if &bytes[0..2] == b"00" { bytes.len() == 55 } else { bytes.len() == 55 || bytes[55] == b'-' })
        && [bytes[2], bytes[35], bytes[52]] == [b'-'; 3]
        && hex(3..35)
        && !zeros(3..35)
        && hex(36..52)
        && !zeros(36..52)
        && hex(53..55)
}

/// Formats a span context as a W3C `traceresponse` value: `00-<trace-id>-<span-id>-<flags>`.
/// Returns `None` for an invalid (telemetry off) context.
pub fn traceresponse_value(sc: &SpanContext) -> Option<HeaderValue> {
    if !sc.is_valid() {
        return None;
    }
    // Every response carries one, so it is written byte by byte rather than through `format!`
    // (which costs seven times as much, measured with callgrind): 2 + 1 + 32 + 1 + 16 + 1 + 2 bytes.
    let mut value = [0u8; 55];
    value[..3].copy_from_slice(b"00-");
    hex_into(&mut value[3..35], &sc.trace_id().to_bytes());
    value[35] = b'-';
    hex_into(&mut value[36..52], &sc.span_id().to_bytes());
    value[52] = b'-';
    hex_into(&mut value[53..], &[sc.trace_flags().to_u8()]);
    HeaderValue::from_bytes(&value).ok()
}

/// The trace id of the span that is current on this task, as 32 lowercase hex digits, or `None`
/// when there is no real span (telemetry disabled, or called outside a request).
pub fn current_trace_id() -> Option<String> {
    Context::map_current(|cx| {
        let span = cx.span();
        let sc = span.span_context();
        sc.is_valid().then(|| {
            let mut hex = [0u8; 32];
            hex_into(&mut hex, &sc.trace_id().to_bytes());
            // Hex digits are ASCII, so this is never the empty fallback.
            std::str::from_utf8(&hex).unwrap_or_default().to_owned()
        })
    })
}

/// Writes `bytes` as lowercase hex into `out` (which is twice as long).
fn hex_into(out: &mut [u8], bytes: &[u8]) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    for (pair, byte) in out.chunks_exact_mut(2).zip(bytes) {
        pair[0] = DIGITS[usize::from(byte >> 4)];
        pair[1] = DIGITS[usize::from(byte & 0x0f)];
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry::trace::{SpanId, TraceFlags, TraceId, TraceState};

    /// The trace id and tracestate `headers` are continued with, or `None` for a fresh trace.
    fn continued(headers: &[(&str, &str)]) -> Option<(String, String)> {
        install(Propagators::W3C);
        let mut map = HeaderMap::new();
        for (name, value) in headers {
            map.append(
                http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_str(value).unwrap(),
            );
        }
        let cx = extract(&map);
        let span = cx.span();
        let sc = span.span_context();
        sc.is_valid().then(|| (sc.trace_id().to_string(), sc.trace_state().header()))
    }

    const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
    /// Header lines, as sent.
    type Headers<'a> = &'a [(&'a str, &'a str)];
    const GOOD: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    /// Each row a rule of w3c/trace-context `spec/20-http_request_header_format.md`: the
    /// `traceparent` (and `tracestate`) sent, and whether the trace is continued.
    #[test]
    fn traceparent_and_tracestate_are_read_as_the_specification_says() {
        let rows: &[(&str, Headers, bool)] = &[
            ("a valid traceparent is continued", &[("traceparent", GOOD)], true),
            (
                "version: 2HEXDIGLC; 3 characters is not a version",
                &[("traceparent", "000-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")],
                false,
            ),
            (
                "version ff is invalid",
                &[("traceparent", "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")],
                false,
            ),
            (
                "trace-id: 32HEXDIGLC; 31 is too few",
                &[("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01")],
                false,
            ),
            (
                "trace-id: lowercase only",
                &[("traceparent", "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01")],
                false,
            ),
            (
                "trace-id: all zeroes forbidden",
                &[("traceparent", "00-00000000000000000000000000000000-00f067aa0ba902b7-01")],
                false,
            ),
            (
                "parent-id: 16HEXDIGLC; 15 is too few",
                &[("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b-01")],
                false,
            ),
            (
                "parent-id: all zeroes forbidden",
                &[("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01")],
                false,
            ),
            (
                "trace-flags: 2HEXDIGLC; 1 is too few",
                &[("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-1")],
                false,
            ),
            (
                "trace-flags: 2HEXDIGLC; 3 is too many",
                &[("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-011")],
                false,
            ),
            (
                "version 00: nothing after the flags",
                &[("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-what")],
                false,
            ),
            (
                "a higher version: its extra fields follow a dash and are ignored",
                &[(
                    "traceparent",
                    "cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-what-the-future-will-be",
                )],
                true,
            ),
            (
                "a higher version: the flags must end or be followed by a dash",
                &[("traceparent", "cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01what")],
                false,
            ),
            (
                "a higher version: shorter than 55 characters restarts the trace",
                &[("traceparent", "cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-1")],
                false,
            ),
            (
                "two traceparent lines: which parent? Neither",
                &[("traceparent", GOOD), ("traceparent", GOOD)],
                false,
            ),
            ("the header name in any case", &[("TraceParent", GOOD)], true),
        ];
        for (rule, headers, expected) in rows {
            let got = continued(headers);
            assert_eq!(got.is_some(), *expected, "{rule}: {headers:?}");
            if let Some((trace, _)) = got {
                assert_eq!(trace, TRACE, "{rule}");
            }
        }
    }

    #[test]
    fn repeated_tracestate_lines_are_combined_in_order_and_an_empty_one_wipes_nothing() {
        // "When receiving multiple `tracestate` header fields, they MUST be combined into a
        // single header" (RFC 7230 3.2.2); "Vendors MUST accept empty `tracestate` headers".
        let two = [
            ("traceparent", GOOD),
            ("tracestate", "rojo=00f067aa0ba902b7"),
            ("tracestate", "congo=t61rcWkgMzE"),
        ];
        assert_eq!(continued(&two).unwrap().1, "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE");
        let empty_first = [("traceparent", GOOD), ("tracestate", ""), ("tracestate", "congo=t61rcWkgMzE")];
        assert_eq!(continued(&empty_first).unwrap().1, "congo=t61rcWkgMzE");
    }

    #[test]
    fn no_empty_tracestate_is_sent() {
        // "Vendors MUST accept empty `tracestate` headers but SHOULD avoid sending them."
        install(Propagators::W3C);
        let mut without_state = HeaderMap::new();
        let sc = SpanContext::new(
            TraceId::from(7_u128),
            SpanId::from(9_u64),
            TraceFlags::SAMPLED,
            true,
            TraceState::default(),
        );
        inject(&Context::new().with_remote_span_context(sc), &mut without_state);
        assert!(without_state.contains_key(TRACEPARENT));
        assert!(!without_state.contains_key(TRACESTATE), "{without_state:?}");
        let mut with_state = HeaderMap::new();
        let state = TraceState::from_key_value([("congo", "t61rcWkgMzE")]).unwrap();
        let sc =
            SpanContext::new(TraceId::from(7_u128), SpanId::from(9_u64), TraceFlags::SAMPLED, true, state);
        inject(&Context::new().with_remote_span_context(sc), &mut with_state);
        assert_eq!(with_state[TRACESTATE], "congo=t61rcWkgMzE");
    }

    #[test]
    fn traceresponse_uses_the_traceparent_layout() {
        let sc = SpanContext::new(
            TraceId::from_hex("4bf92f3577b34da6a3ce929d0e0e4736").expect("valid hex"),
            SpanId::from_hex("00f067aa0ba902b7").expect("valid hex"),
            TraceFlags::SAMPLED,
            false,
            TraceState::default(),
        );
        let value = traceresponse_value(&sc).expect("valid context");
        assert_eq!(value, "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
    }

    #[test]
    fn the_current_trace_id_is_its_32_hex_digits() {
        let sc = SpanContext::new(
            TraceId::from_hex("0af7651916cd43dd8448eb211c80319c").expect("valid hex"),
            SpanId::from_hex("b7ad6b7169203331").expect("valid hex"),
            TraceFlags::default(),
            true,
            TraceState::default(),
        );
        let _attached = Context::new().with_remote_span_context(sc.clone()).attach();
        assert_eq!(current_trace_id().as_deref(), Some("0af7651916cd43dd8448eb211c80319c"));
        assert_eq!(
            traceresponse_value(&sc).expect("valid context"),
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00"
        );
    }

    #[test]
    fn an_invalid_context_has_no_traceresponse() {
        assert!(traceresponse_value(&SpanContext::empty_context()).is_none());
    }
}
