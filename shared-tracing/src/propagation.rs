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
use opentelemetry_http::{HeaderExtractor, HeaderInjector};

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

/// The W3C Trace Context Level 2 response header naming the trace and span that served a request.
pub const TRACERESPONSE: &str = "traceresponse";

/// Reads the parent context (trace context and baggage) from incoming request headers.
///
/// A missing or malformed `traceparent` yields an empty context, and the request starts a new
/// trace, exactly as the W3C specification asks: bad context is ignored, never an error.
pub fn extract(headers: &HeaderMap) -> Context {
    global::get_text_map_propagator(|p| p.extract(&HeaderExtractor(headers)))
}

/// Writes `cx` (its span and its baggage) into outgoing request headers.
pub fn inject(cx: &Context, headers: &mut HeaderMap) {
    global::get_text_map_propagator(|p| p.inject_context(cx, &mut HeaderInjector(headers)));
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
