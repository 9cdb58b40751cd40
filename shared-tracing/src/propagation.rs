//! W3C Trace Context and Baggage on HTTP headers (and Zipkin's B3, when `OTEL_PROPAGATORS` asks
//! for it): the only module in the workspace that knows the header names `traceparent`,
//! `tracestate`, `baggage` and `b3`.
//!
//! *Extract* turns the headers of an incoming request into a parent context; *inject* writes the
//! context of an outgoing call into its headers. Both go through the global propagator that
//! [`crate::init`] installs from `OTEL_PROPAGATORS`, so swapping formats is configuration, not code.

use std::sync::{Arc, LazyLock};

use http::{HeaderMap, HeaderValue};
use opentelemetry::{
    Context,
    baggage::{Baggage, BaggageExt as _, KeyValueMetadata},
    global,
    propagation::{Extractor, Injector, TextMapPropagator, text_map_propagator::FieldIter},
    trace::{SpanContext, SpanId, TraceContextExt as _, TraceFlags, TraceId, TraceState},
};
use opentelemetry_http::HeaderInjector;
use opentelemetry_sdk::propagation::BaggagePropagator;

use crate::config::Propagators;

/// Installs the propagators chosen by `OTEL_PROPAGATORS` as the global propagator that
/// [`extract`] and [`inject`] use. The global default is a no-op that silently drops all context,
/// which is why [`crate::init`] calls this first. Each one injects its headers; on extract, each
/// one that finds its headers replaces what the ones before it found, in the order listed.
pub fn install(choice: Propagators) {
    use opentelemetry::propagation::TextMapCompositePropagator;
    let mut propagators: Vec<Box<dyn TextMapPropagator + Send + Sync>> = Vec::new();
    if choice.trace_context {
        propagators.push(Box::new(TraceContext));
    }
    if choice.baggage {
        propagators.push(Box::new(W3cBaggage(BaggagePropagator::new())));
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
    global::get_text_map_propagator(|p| p.extract(&opentelemetry_http::HeaderExtractor(headers)))
}

/// Writes `cx` (its span and its baggage) into outgoing request headers.
pub fn inject(cx: &Context, headers: &mut HeaderMap) {
    global::get_text_map_propagator(|p| p.inject_context(cx, &mut HeaderInjector(headers)));
}

const TRACEPARENT: &str = "traceparent";
const TRACESTATE: &str = "tracestate";
/// Trace Context Level 2's second flag: the trace id's right-most 7 bytes are random.
pub(crate) const RANDOM: TraceFlags = TraceFlags::new(0x02);

/// Marks the context of a trace started in this process, whose trace id the SDK drew at random
/// (set by [`crate::EdgeTracer`] on a root span): its `traceparent` carries the `random` flag.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RandomTraceId;

/// A `tracestate` that Level 2 allows but the SDK's `TraceState` cannot hold (its key rules are
/// Level 1's: one `@`, at most 13 characters after it), carried beside the span and sent on as is.
#[derive(Debug, Clone)]
struct Unheld(Arc<str>);

/// W3C Trace Context Level 2 (`spec/20-http_request_header_format.md` in w3c/trace-context), in
/// place of the SDK's `TraceContextPropagator`, which reads only the first header line, does not
/// check the fields' lengths, drops the `random` flag, checks `tracestate` keys by Level 1's
/// grammar and values not at all, and sends an empty `tracestate`.
#[derive(Debug)]
struct TraceContext;

static FIELDS: LazyLock<[String; 2]> = LazyLock::new(|| [TRACEPARENT.to_owned(), TRACESTATE.to_owned()]);

impl TextMapPropagator for TraceContext {
    fn inject_context(&self, cx: &Context, injector: &mut dyn Injector) {
        let Some(value) = traceparent(cx) else { return };
        // The SDK's `Injector` takes a `String`; the value is ASCII.
        injector.set(TRACEPARENT, value.to_str().unwrap_or_default().to_owned());
        let span = cx.span();
        let state = match (span.span_context().trace_state().header(), cx.get::<Unheld>()) {
            (held, Some(Unheld(unheld))) if held.is_empty() => unheld.to_string(),
            (held, _) => held,
        };
        // "Vendors MUST accept empty `tracestate` headers but SHOULD avoid sending them."
        if !state.is_empty() {
            injector.set(TRACESTATE, state);
        }
    }

    fn extract_with_context(&self, cx: &Context, extractor: &dyn Extractor) -> Context {
        // Two `traceparent` lines name two parents: neither can be trusted.
        let lines = extractor.get_all(TRACEPARENT).unwrap_or_default();
        let [line] = lines.as_slice() else { return cx.clone() };
        if !is_valid_traceparent(line) {
            return cx.clone();
        }
        let (Ok(trace_id), Ok(span_id), Ok(flags)) = (
            TraceId::from_hex(&line[3..35]),
            SpanId::from_hex(&line[36..52]),
            u8::from_str_radix(&line[53..55], 16),
        ) else {
            return cx.clone();
        };
        // Flags other than `sampled` and `random` are reserved: "Vendors MUST set those to zero."
        let flags = TraceFlags::new(flags) & (TraceFlags::SAMPLED | RANDOM);
        // "Failure to parse `tracestate` MUST NOT affect the parsing of `traceparent`."
        let header = extractor.get_all(TRACESTATE).map(|lines| lines.join(","));
        let members = header.as_deref().and_then(tracestate_members);
        let (state, unheld) = match members.map(|m| (TraceState::from_key_value(m.iter().copied()), m)) {
            Some((Ok(state), _)) => (state, None),
            Some((Err(_), members)) => {
                let text = members.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(",");
                (TraceState::NONE, Some(Unheld(text.into())))
            }
            None => (TraceState::NONE, None),
        };
        let cx = cx.with_remote_span_context(SpanContext::new(trace_id, span_id, flags, true, state));
        match unheld {
            Some(unheld) => cx.with_value(unheld),
            None => cx,
        }
    }

    fn fields(&self) -> FieldIter<'_> {
        FieldIter::new(&*FIELDS)
    }
}

/// The `tracestate` list-members of the combined header (RFC 7230 3.2.2: lines joined with
/// commas), or `None` when it is not a list the specification allows, which is then discarded
/// whole (as the W3C test suite expects): a member whose key or value breaks the grammar, a key
/// given twice ("Only one entry per key is allowed"), more than 32 members. Empty members and
/// the spaces and tabs around members are dropped.
fn tracestate_members(header: &str) -> Option<Vec<(&str, &str)>> {
    let members = header.split(',').map(|m| m.trim_matches([' ', '\t'])).filter(|m| !m.is_empty());
    let mut list: Vec<(&str, &str)> = Vec::new();
    for member in members {
        let (key, value) = member.split_once('=')?;
        // key = ( lcalpha / DIGIT ) 0*255 ( keychar ); keychar = lcalpha / DIGIT / "_" / "-" / "*" / "/" / "@"
        let key_ok = key.len() <= 256
            && key.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
            && key.bytes().all(|b| matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'_' | b'-' | b'*' | b'/' | b'@'));
        // value = 0*255(chr) nblk-chr; chr = %x20 / nblk-chr; nblk-chr = %x21-2B / %x2D-3C / %x3E-7E
        let value_ok = (1..=256).contains(&value.len())
            && !value.ends_with(' ')
            && value.bytes().all(|b| matches!(b, 0x20..=0x2B | 0x2D..=0x3C | 0x3E..=0x7E));
        if !key_ok || !value_ok || list.iter().any(|(k, _)| *k == key) || list.len() == 32 {
            return None;
        }
        list.push((key, value));
    }
    Some(list)
}

/// W3C Baggage (w3c/baggage `baggage/HTTP_HEADER_FORMAT.md`): injected by the SDK's
/// `BaggagePropagator`, read here, because the SDK's reads the first header line only, cuts a
/// value at its second `=` ("Parsers MUST NOT assume that the equal sign is only used to separate
/// `key` and `value`") and checks neither the value's characters nor a member's size. A member
/// the grammar refuses is dropped ("it MAY remove that entry"); the SDK's `Baggage` checks the
/// key (a `token`) and keeps at most 64 entries and 8,192 bytes (the specification allows 180).
#[derive(Debug)]
struct W3cBaggage(BaggagePropagator);

const BAGGAGE: &str = "baggage";

impl TextMapPropagator for W3cBaggage {
    fn inject_context(&self, cx: &Context, injector: &mut dyn Injector) {
        self.0.inject_context(cx, injector);
    }

    fn extract_with_context(&self, cx: &Context, extractor: &dyn Extractor) -> Context {
        let Some(lines) = extractor.get_all(BAGGAGE) else { return cx.clone() };
        let joined = lines.join(",");
        let baggage: Baggage = joined.split(',').filter_map(baggage_member).collect();
        cx.with_baggage(baggage)
    }

    fn fields(&self) -> FieldIter<'_> {
        self.0.fields()
    }
}

/// One `list-member = key OWS "=" OWS value *( OWS ";" OWS property )`, its value
/// percent-decoded, or `None` if it breaks the grammar or is over 4,096 bytes.
fn baggage_member(member: &str) -> Option<KeyValueMetadata> {
    let ows = [' ', '\t'];
    let (entry, properties) = member.split_once(';').unwrap_or((member, ""));
    let (key, value) = entry.split_once('=')?;
    let (key, value) = (key.trim_matches(ows), value.trim_matches(ows));
    // baggage-octet = %x21 / %x23-2B / %x2D-3A / %x3C-5B / %x5D-7E
    let octets_ok =
        value.bytes().all(|b| matches!(b, 0x21 | 0x23..=0x2B | 0x2D..=0x3A | 0x3C..=0x5B | 0x5D..=0x7E));
    if member.len() > 4096 || key.is_empty() || !octets_ok {
        return None;
    }
    let value = percent_encoding::percent_decode_str(value).decode_utf8().ok()?;
    let properties: Vec<&str> = properties.split(';').map(|p| p.trim_matches(ows)).collect();
    Some(KeyValueMetadata::new(key.to_owned(), value.into_owned(), properties.join(";")))
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

/// The `traceparent` value for the span in `cx`: version `00` (the version this implements; a
/// higher one received is downgraded, as the specification asks), the ids, and the `sampled` and
/// `random` flags. `None` for an invalid (telemetry off) context.
fn traceparent(cx: &Context) -> Option<HeaderValue> {
    let span = cx.span();
    let sc = span.span_context();
    if !sc.is_valid() {
        return None;
    }
    let random = if cx.get::<RandomTraceId>().is_some() { RANDOM } else { TraceFlags::NOT_SAMPLED };
    let flags = (sc.trace_flags() & (TraceFlags::SAMPLED | RANDOM)) | random;
    // Every request and response carries one, so it is written byte by byte rather than through
    // `format!` (which costs seven times as much, measured with callgrind): 2+1+32+1+16+1+2 bytes.
    let mut value = [0u8; 55];
    value[..3].copy_from_slice(b"00-");
    hex_into(&mut value[3..35], &sc.trace_id().to_bytes());
    value[35] = b'-';
    hex_into(&mut value[36..52], &sc.span_id().to_bytes());
    value[52] = b'-';
    hex_into(&mut value[53..], &[flags.to_u8()]);
    HeaderValue::from_bytes(&value).ok()
}

/// The `traceresponse` value for the span in `cx` (the `traceparent` layout), or `None` for an
/// invalid (telemetry off) context.
pub fn traceresponse_value(cx: &Context) -> Option<HeaderValue> {
    traceparent(cx)
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

    /// Header lines, as sent.
    type Headers<'a> = &'a [(&'a str, &'a str)];

    fn header_map(headers: Headers) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in headers {
            map.append(
                http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_str(value).unwrap(),
            );
        }
        map
    }

    /// What a service receiving `headers` sends on: extract, then inject the same context (a
    /// pass-through hop), as (`traceparent`, `tracestate`), or `None` when the trace restarts.
    fn forwarded(headers: Headers) -> Option<(String, Option<String>)> {
        install(Propagators::W3C);
        let mut out = HeaderMap::new();
        inject(&extract(&header_map(headers)), &mut out);
        let text = |name: &str| out.get(name).map(|v| v.to_str().unwrap().to_owned());
        text(TRACEPARENT).map(|tp| (tp, text(TRACESTATE)))
    }

    /// The trace id `headers` are continued with, or `None` for a fresh trace.
    fn continued(headers: Headers) -> Option<String> {
        forwarded(headers).map(|(tp, _)| tp[3..35].to_owned())
    }

    const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
    const GOOD: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    /// Each row a rule of w3c/trace-context `spec/20-http_request_header_format.md`: the
    /// `traceparent` sent, and whether the trace is continued.
    #[test]
    fn traceparent_is_read_as_the_specification_says() {
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
            if let Some(trace) = got {
                assert_eq!(trace, TRACE, "{rule}");
            }
        }
    }

    /// Each row a rule of Trace Context Level 2 ("trace-flags", "Versioning of traceparent",
    /// "Mutating the traceparent Field"): the `traceparent` received and the one sent on.
    #[test]
    fn flags_and_version_are_sent_on_as_level_2_says() {
        let rows: &[(&str, &str, &str)] = &[
            ("sampled is kept", GOOD, GOOD),
            (
                "random is kept: a trace continued MUST keep the random flag it received",
                "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-03",
                "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-03",
            ),
            (
                "random without sampled",
                "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-02",
                "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-02",
            ),
            (
                "other flags are reserved: vendors MUST set those to zero",
                "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-ff",
                "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-03",
            ),
            (
                "a higher version is sent on as the highest version known, 00",
                "cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-09-what-the-future-will-be",
                "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            ),
        ];
        for (rule, received, sent) in rows {
            let (traceparent, _) = forwarded(&[("traceparent", received)]).expect(rule);
            assert_eq!(traceparent, *sent, "{rule}");
            // The parent the service's spans inherit their flags from holds no reserved bit.
            let cx = extract(&header_map(&[("traceparent", received)]));
            assert_eq!(
                format!("{:02x}", cx.span().span_context().trace_flags().to_u8()),
                sent[53..],
                "{rule}"
            );
        }
    }

    /// Each row a rule of the `tracestate` section of `spec/20-http_request_header_format.md`
    /// (Level 2's key grammar: `key = ( lcalpha / DIGIT ) 0*255 ( keychar )`, `@` a keychar like
    /// any other; Level 1's tenant@system rules are gone): the lines received (after a valid
    /// `traceparent`) and the `tracestate` sent on (`None`: discarded, or none to send).
    #[test]
    fn tracestate_is_read_and_sent_as_level_2_says() {
        let z256 = format!("{}=1", "z".repeat(256));
        let z257 = format!("{}=1", "z".repeat(257));
        let v256 = format!("foo={}", "v".repeat(256));
        let v257 = format!("foo={}", "v".repeat(257));
        let members = |n: usize| (1..=n).map(|i| format!("bar{i:02}={i:02}")).collect::<Vec<_>>().join(",");
        let (m32, m33) = (members(32), members(33));
        let every_keychar = "abcdefghijklmnopqrstuvwxyz0123456789_-*/@=1";
        let every_value_char: String =
            (0x20u8..=0x7e).filter(|b| *b != b',' && *b != b'=').map(char::from).collect();
        let every_value_char = format!("foo={}", every_value_char.trim_end());
        let rows: Vec<(&str, Vec<&str>, Option<&str>)> = vec![
            ("no tracestate: none is sent (vendors SHOULD avoid sending empty ones)", vec![], None),
            ("an empty tracestate is accepted and none is sent", vec![""], None),
            ("one member is sent on unchanged", vec!["congo=t61rcWkgMzE"], Some("congo=t61rcWkgMzE")),
            (
                "multiple lines MUST be combined into a single header, in order (RFC 7230 3.2.2)",
                vec!["rojo=00f067aa0ba902b7", "congo=t61rcWkgMzE"],
                Some("rojo=00f067aa0ba902b7,congo=t61rcWkgMzE"),
            ),
            ("an empty line among them wipes nothing", vec!["", "foo=1"], Some("foo=1")),
            (
                "empty and whitespace-only list members are allowed",
                vec!["foo=1, ,,bar=2"],
                Some("foo=1,bar=2"),
            ),
            (
                "spaces and tabs around list members are ignored",
                vec!["foo=1 \t , \t bar=2"],
                Some("foo=1,bar=2"),
            ),
            ("a value's leading spaces MUST be preserved", vec!["foo=  1"], Some("foo=  1")),
            ("every keychar", vec![every_keychar], Some(every_keychar)),
            ("every value character", vec![&every_value_char], Some(&every_value_char)),
            ("@ anywhere after the first character (Level 2)", vec!["foo@bar@baz=1"], Some("foo@bar@baz=1")),
            ("a key ending in @ (Level 2)", vec!["foo@=1,bar=2"], Some("foo@=1,bar=2")),
            (
                "more than 13 characters after @ (Level 2)",
                vec!["foo=1", "t@vvvvvvvvvvvvvvv=1"],
                Some("foo=1,t@vvvvvvvvvvvvvvv=1"),
            ),
            ("a key MUST begin with a lowercase letter or a digit", vec!["@foo=1,bar=2"], None),
            ("no uppercase in keys", vec!["FOO=1"], None),
            ("no dots in keys", vec!["foo.bar=1"], None),
            ("no space inside a member's key", vec!["foo =1"], None),
            ("a key of 256 characters", vec![&z256], Some(&z256)),
            ("a key of 257 characters", vec!["foo=1", &z257], None),
            ("a value of 256 characters", vec![&v256], Some(&v256)),
            ("a value of 257 characters", vec![&v257], None),
            ("no = in values", vec!["foo=bar=baz"], None),
            ("an empty value is not a value", vec!["foo=,bar=3"], None),
            ("a member without =", vec!["foo"], None),
            ("only one entry per key", vec!["foo=1,foo=2"], None),
            ("only one entry per key, across lines", vec!["foo=1", "foo=1"], None),
            ("a maximum of 32 list-members", vec![&m32], Some(&m32)),
            ("33 list-members are not a list", vec![&m33], None),
        ];
        for (rule, lines, sent) in rows {
            let mut headers = vec![("traceparent", GOOD)];
            headers.extend(lines.iter().map(|line| ("tracestate", *line)));
            let (traceparent, tracestate) = forwarded(&headers).expect(rule);
            assert_eq!(traceparent, GOOD, "failure to parse tracestate MUST NOT affect traceparent: {rule}");
            assert_eq!(tracestate.as_deref(), sent, "{rule}");
        }
        // "If the vendor failed to parse traceparent, it MUST NOT attempt to parse tracestate."
        assert_eq!(forwarded(&[("tracestate", "foo=1")]), None);
    }

    /// Each row a rule of W3C Baggage (w3c/baggage `baggage/HTTP_HEADER_FORMAT.md`): the
    /// `baggage` lines received and the entries read, as `key=value;properties`, sorted.
    #[test]
    fn baggage_is_read_as_w3c_baggage_says() {
        let big = format!("big={}", "x".repeat(4092));
        let too_big = format!("big={}", "x".repeat(4093));
        let rows: &[(&str, &[&str], &[&str])] = &[
            ("a member", &["userId=alice"], &["userId=alice;"]),
            (
                "multiple baggage headers are allowed",
                &["userId=alice", "serverNode=DF%2028,isProduction=false"],
                &["isProduction=false;", "serverNode=DF 28;", "userId=alice;"],
            ),
            (
                "values and names might begin and end with spaces",
                &["userId =   alice", "serverNode = DF%2028, isProduction = false"],
                &["isProduction=false;", "serverNode=DF 28;", "userId=alice;"],
            ),
            ("a value MAY contain any number of =", &["k=a=b==c"], &["k=a=b==c;"]),
            ("a value is URL-encoded UTF-8", &["k=caf%C3%A9%2C%3B"], &["k=café,;;"]),
            ("properties, with and without values", &["k=v;p1;p2=x"], &["k=v;p1;p2=x"]),
            ("a value with a quote is dropped, the rest kept", &["bad=a\"b,ok=1"], &["ok=1;"]),
            ("a key that is not a token is dropped", &["b(ad=1,ok=1"], &["ok=1;"]),
            ("a member without = is dropped", &["nokey,ok=1"], &["ok=1;"]),
            ("a member of 4,096 bytes", &[&big], &[&format!("{big};")]),
            ("a member over 4,096 bytes is dropped", &[&too_big, "ok=1"], &["ok=1;"]),
        ];
        install(Propagators::W3C);
        for (rule, lines, expected) in rows {
            let headers: Vec<_> = lines.iter().map(|line| ("baggage", *line)).collect();
            let cx = extract(&header_map(&headers));
            let mut got: Vec<String> =
                cx.baggage().iter().map(|(k, (v, m))| format!("{k}={v};{}", m.as_str())).collect();
            got.sort();
            assert_eq!(got, *expected, "{rule}");
        }
    }

    #[test]
    fn a_trace_started_here_says_its_trace_id_is_random() {
        install(Propagators::W3C);
        let sc = SpanContext::new(
            TraceId::from_hex(TRACE).unwrap(),
            SpanId::from_hex("00f067aa0ba902b7").unwrap(),
            TraceFlags::SAMPLED,
            false,
            TraceState::NONE,
        );
        let cx = Context::new().with_remote_span_context(sc);
        let mut continued = HeaderMap::new();
        inject(&cx, &mut continued);
        assert_eq!(continued[TRACEPARENT], GOOD, "a continued trace keeps its caller's flags");
        let mut started = HeaderMap::new();
        inject(&cx.with_value(RandomTraceId), &mut started);
        assert_eq!(started[TRACEPARENT], "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-03");
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
