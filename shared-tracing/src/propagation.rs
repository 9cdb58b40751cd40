//! W3C Trace Context and Baggage on HTTP headers (and Zipkin's B3, when `OTEL_PROPAGATORS` asks
//! for it): the only module of this crate that knows the header names `traceparent`,
//! `tracestate`, `baggage` and `b3`.
//!
//! *Extract* turns the headers of an incoming request into a parent context; *inject* writes the
//! context of an outgoing call into its headers. Both go through the global propagator that
//! [`crate::init`] installs from `OTEL_PROPAGATORS`, so swapping formats is configuration, not code.
//!
//! The propagators are the SDK's own, as shipped: `TraceContextPropagator`, `BaggagePropagator`
//! and opentelemetry-zipkin's B3. They follow Trace Context Level 1 and W3C Baggage closely
//! enough for every service that talks to another OpenTelemetry SDK. What they accept or send that
//! the specifications' strictest reading does not, so a reader knows (a service that must pass the
//! official W3C suite at strict level 2 adds the strict layer of `shared-tracing-hardening`, through
//! [`crate::telemetry::Extension::propagator`]):
//! - `traceparent`: fields of the wrong length are not all refused, and two `traceparent` lines
//!   are read as the first; the `random` flag of Level 2 is neither kept nor set
//!   (open-telemetry/opentelemetry-rust#3270, #1238: the SDK has no `random` flag yet);
//! - `tracestate`: only the first line is read, and a Level 2 key the SDK's `TraceState` cannot
//!   hold (more than 13 characters after an `@`) drops the whole list; an empty `tracestate` may
//!   be sent;
//! - `baggage`: only the first line is read, a value is cut at its second `=`, and a member the
//!   grammar refuses is not dropped by itself;
//! - `b3` (the single header) sends the `X-B3-*` headers as well, where the B3 requirements ask
//!   for the single format only (open-telemetry/opentelemetry-specification#1570):
//!   opentelemetry-zipkin 0.33's `B3Encoding::support` tests a bit against `UnSpecified` (0),
//!   which every encoding passes.

use std::collections::HashMap;

use http::{HeaderMap, HeaderValue};
use opentelemetry::{
    Context,
    baggage::{Baggage, BaggageExt as _, KeyValueMetadata},
    global,
    propagation::{TextMapCompositePropagator, TextMapPropagator},
    trace::TraceContextExt as _,
};
use opentelemetry_http::{HeaderExtractor, HeaderInjector};
use opentelemetry_sdk::propagation::{BaggagePropagator, TraceContextPropagator};

use crate::config::{Propagator, Propagators};

/// Installs `propagator` (the SDK's for the `OTEL_PROPAGATORS` list, [`composite`], unless a
/// service's extension chose another) as the global propagator that [`extract`] and [`inject`]
/// use. The global default is a no-op that silently drops all context, which is why
/// [`crate::init`] calls this first.
pub fn install(propagator: TextMapCompositePropagator) {
    global::set_text_map_propagator(propagator);
}

/// The SDK's propagators `choice` names, in its order, as one. Each one injects its headers; on
/// extract, each one that finds its headers replaces what the ones before it found, so the last
/// one listed wins (the SDK's `TextMapCompositePropagator`).
pub fn composite(choice: &Propagators) -> TextMapCompositePropagator {
    TextMapCompositePropagator::new(choice.0.iter().filter_map(|p| sdk_propagator(*p)).collect())
}

/// The SDK's propagator for one entry of `OTEL_PROPAGATORS`, or `None` for one this build lacks
/// (`config` names B3 only in a build that has it).
pub fn sdk_propagator(propagator: Propagator) -> Option<Box<dyn TextMapPropagator + Send + Sync>> {
    match propagator {
        Propagator::TraceContext => Some(Box::new(TraceContextPropagator::new())),
        Propagator::Baggage => Some(Box::new(BaggagePropagator::new())),
        #[cfg(feature = "b3")]
        Propagator::B3 | Propagator::B3Multi => Some(b3(propagator)),
        #[cfg(not(feature = "b3"))]
        Propagator::B3 | Propagator::B3Multi => None,
    }
}

/// Zipkin's B3, for callers and callees of the Zipkin era: the single `b3` header or the `X-B3-*`
/// headers. opentelemetry-zipkin 0.33 marks the whole crate deprecated in favour of exporting OTLP
/// to Zipkin; its propagator is still the B3 implementation of this OpenTelemetry version, and
/// propagation is not export. (The `b3` feature.)
#[cfg(feature = "b3")]
#[allow(deprecated)]
fn b3(propagator: Propagator) -> Box<dyn TextMapPropagator + Send + Sync> {
    use opentelemetry_zipkin::{B3Encoding, Propagator as B3};
    let encoding =
        if propagator == Propagator::B3 { B3Encoding::SingleHeader } else { B3Encoding::MultipleHeader };
    Box::new(B3::with_encoding(encoding))
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
/// A missing or malformed `traceparent` yields a context without a span, and the request starts
/// a new trace, exactly as the W3C specification asks: bad context is ignored, never an error.
pub fn extract(headers: &HeaderMap) -> Context {
    global::get_text_map_propagator(|p| p.extract(&HeaderExtractor(headers)))
}

/// Writes `cx` (its span and its baggage) into outgoing request headers.
pub fn inject(cx: &Context, headers: &mut HeaderMap) {
    global::get_text_map_propagator(|p| p.inject_context(cx, &mut HeaderInjector(headers)));
}

/// The `traceresponse` value for the span in `cx`, or `None` for an invalid (telemetry off)
/// context: the `traceparent` the installed propagator would send for that span (the same layout
/// and flags), or, where none sends one (`OTEL_PROPAGATORS=b3`), that layout written here.
pub fn traceresponse_value(cx: &Context) -> Option<HeaderValue> {
    let span = cx.span();
    let sc = span.span_context();
    if !sc.is_valid() {
        return None;
    }
    let mut fields: HashMap<String, String> = HashMap::new();
    global::get_text_map_propagator(|p| p.inject_context(cx, &mut fields));
    let value = fields
        .remove("traceparent")
        .unwrap_or_else(|| format!("00-{}-{}-{:02x}", sc.trace_id(), sc.span_id(), sc.trace_flags().to_u8()));
    HeaderValue::from_str(&value).ok()
}

/// The trace id of the span that is current on this task, as 32 lowercase hex digits, or `None`
/// when there is no real span (telemetry disabled, or called outside a request).
pub fn current_trace_id() -> Option<String> {
    Context::map_current(|cx| {
        let span = cx.span();
        let sc = span.span_context();
        sc.is_valid().then(|| sc.trace_id().to_string())
    })
}

#[cfg(test)]
mod tests {
    use opentelemetry::trace::{SpanContext, SpanId, TraceFlags, TraceId, TraceState};

    use super::*;

    const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
    const GOOD: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    fn header_map(headers: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in headers {
            map.append(
                http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_str(value).unwrap(),
            );
        }
        map
    }

    /// What a service receives is what it sends on: the caller's trace and baggage, read into the
    /// context, are written back into the next call's headers, with the entries it added.
    #[test]
    fn a_context_extracted_from_headers_is_injected_back_with_its_baggage() {
        install(composite(&Propagators::w3c()));
        let cx = extract(&header_map(&[("traceparent", GOOD), ("baggage", "scenario=slow-db")]));
        let _attached = cx.attach();
        assert_eq!(current_baggage("scenario").as_deref(), Some("slow-db"));
        assert_eq!(current_baggage("customer"), None);
        assert_eq!(current_trace_id().as_deref(), Some(TRACE));

        let mut sent = HeaderMap::new();
        inject(&current_with_baggage_entry("customer", "c-1"), &mut sent);
        assert_eq!(sent["traceparent"], GOOD);
        let baggage = sent["baggage"].to_str().unwrap();
        assert!(baggage.contains("scenario=slow-db") && baggage.contains("customer=c-1"), "{baggage}");
    }

    #[cfg(feature = "b3")]
    /// `OTEL_PROPAGATORS` "Propagators are applied in the order listed" (the specification's
    /// `sdk-environment-variables.md`): on extract the last one to find its headers wins.
    #[test]
    fn with_conflicting_traceparent_and_b3_headers_the_propagator_listed_last_wins() {
        use Propagator::{B3, B3Multi, TraceContext};
        const B3_TRACE: &str = "0af7651916cd43dd8448eb211c80319c";
        let headers = header_map(&[
            ("traceparent", GOOD),
            ("b3", "0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-1"),
            ("x-b3-traceid", B3_TRACE),
            ("x-b3-spanid", "b7ad6b7169203331"),
            ("x-b3-sampled", "1"),
        ]);
        for (order, wins) in [
            (vec![TraceContext, B3], B3_TRACE),
            (vec![B3, TraceContext], TRACE),
            (vec![TraceContext, B3Multi], B3_TRACE),
            (vec![B3Multi, TraceContext], TRACE),
        ] {
            let cx = composite(&Propagators(order.clone())).extract(&HeaderExtractor(&headers));
            assert_eq!(cx.span().span_context().trace_id().to_string(), wins, "{order:?}");
        }
    }

    #[cfg(feature = "b3")]
    /// `b3multi` sends the `X-B3-*` headers only; `b3` sends the single `b3` header, and, with
    /// opentelemetry-zipkin 0.33, the `X-B3-*` ones too (see the module's documentation).
    #[test]
    fn b3_sends_the_single_header_and_b3multi_only_the_x_b3_headers() {
        let cx = extract_with(&Propagators::w3c(), &header_map(&[("traceparent", GOOD)]));
        let sent = |choice: Propagator| {
            let mut headers = HeaderMap::new();
            composite(&Propagators(vec![choice])).inject_context(&cx, &mut HeaderInjector(&mut headers));
            headers
        };
        let single = sent(Propagator::B3);
        assert_eq!(single["b3"], format!("{TRACE}-00f067aa0ba902b7-1"));
        assert_eq!(single["x-b3-traceid"], TRACE, "0.33 sends these too: {single:?}");
        let multi = sent(Propagator::B3Multi);
        assert_eq!(
            (multi["x-b3-traceid"].to_str().unwrap(), multi["x-b3-sampled"].to_str().unwrap()),
            (TRACE, "1")
        );
        assert!(!multi.contains_key("b3") && !multi.contains_key("traceparent"), "{multi:?}");
    }

    /// Trace context and baggage are two propagators: each listed alone carries only its own.
    #[test]
    fn tracecontext_and_baggage_each_carry_only_their_own_header() {
        let headers = header_map(&[("traceparent", GOOD), ("baggage", "scenario=slow-db")]);
        let cx = extract_with(&Propagators::w3c(), &headers);
        for (choice, sent, not_sent) in [
            (Propagator::TraceContext, "traceparent", "baggage"),
            (Propagator::Baggage, "baggage", "traceparent"),
        ] {
            let mut out = HeaderMap::new();
            composite(&Propagators(vec![choice])).inject_context(&cx, &mut HeaderInjector(&mut out));
            assert!(out.contains_key(sent) && !out.contains_key(not_sent), "{choice:?}: {out:?}");
        }
        // Without `baggage` listed, what came in is not read either.
        let cx = extract_with(&Propagators(vec![Propagator::TraceContext]), &headers);
        assert_eq!(cx.baggage().get("scenario"), None);
        // A malformed traceparent (a version 00 with a fifth field, an all-zero trace id) is no
        // parent: the request starts a trace of its own.
        for bad in [
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
        ] {
            let cx = extract_with(&Propagators::w3c(), &header_map(&[("traceparent", bad)]));
            assert!(!cx.span().span_context().is_valid(), "{bad}");
        }
    }

    /// `extract`, with the propagators `choice` names rather than the global ones.
    fn extract_with(choice: &Propagators, headers: &HeaderMap) -> Context {
        composite(choice).extract(&HeaderExtractor(headers))
    }

    #[test]
    fn traceresponse_uses_the_traceparent_layout() {
        let sc = SpanContext::new(
            TraceId::from_hex(TRACE).expect("valid hex"),
            SpanId::from_hex("00f067aa0ba902b7").expect("valid hex"),
            TraceFlags::SAMPLED,
            false,
            TraceState::default(),
        );
        let value = traceresponse_value(&Context::new().with_remote_span_context(sc)).expect("valid");
        assert_eq!(value, GOOD);
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
        let cx = Context::new().with_remote_span_context(sc);
        assert_eq!(
            traceresponse_value(&cx).expect("valid context"),
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00"
        );
        let _attached = cx.attach();
        assert_eq!(current_trace_id().as_deref(), Some("0af7651916cd43dd8448eb211c80319c"));
    }

    #[test]
    fn an_invalid_context_has_no_traceresponse() {
        assert!(traceresponse_value(&Context::new()).is_none());
    }
}
