//! W3C Trace Context Level 2 and W3C Baggage read and written as the specifications say, around
//! the SDK's propagators: what the official W3C suite checks at strict level 2, and what the SDK
//! does not do yet (shared-tracing's `propagation` module lists it, with the upstream issues).
//! [`Hardening`](crate::Hardening) installs these in place of the SDK's `tracecontext` and
//! `baggage` propagators; each rule is added around the SDK's propagator, here:
//! - extract: exactly one `traceparent` line, each field its exact length; several `tracestate`
//!   and `baggage` lines read as one list; a `tracestate` key given twice keeps its first member;
//!   a `tracestate` key of Level 2's grammar kept even where the SDK's `TraceState` cannot hold
//!   it; a baggage value holding `=`, or a member the grammar refuses, read as the grammar says;
//! - inject: the `random` flag kept (the SDK writes `sampled` alone), no empty `tracestate` sent.
//!
//! The participant of the official suite, `examples/w3c_tracecontext.rs`, runs with this layer.

use std::collections::HashMap;

use opentelemetry::{
    Context,
    propagation::{
        Extractor, Injector, TextMapCompositePropagator, TextMapPropagator, text_map_propagator::FieldIter,
    },
    trace::{SpanContext, TraceContextExt as _, TraceFlags},
};
use opentelemetry_sdk::propagation::{BaggagePropagator, TraceContextPropagator};
use shared_tracing::{
    config::{Propagator, Propagators},
    propagation::sdk_propagator,
};

/// The propagators `choice` names, in its order, as one: the strict ones below for
/// `tracecontext` and `baggage`, the SDK's for the others.
pub fn propagator(choice: &Propagators) -> TextMapCompositePropagator {
    let propagators = choice.0.iter().filter_map(|p| match p {
        Propagator::TraceContext => Some(Box::new(TraceContext(TraceContextPropagator::new())) as Box<_>),
        Propagator::Baggage => Some(Box::new(W3cBaggage(BaggagePropagator::new())) as Box<_>),
        other => sdk_propagator(*other),
    });
    let all = RandomFlag(TextMapCompositePropagator::new(propagators.collect()));
    TextMapCompositePropagator::new(vec![Box::new(all)])
}

/// The propagators, with Level 2's `random` flag remembered once all of them have read the
/// headers: the trace id's right-most 7 bytes are random when no caller's context was found (the
/// SDK draws the id) or when the caller's `traceparent` says so. `TraceContext` sends it on.
#[derive(Debug)]
struct RandomFlag(TextMapCompositePropagator);

impl TextMapPropagator for RandomFlag {
    fn inject_context(&self, cx: &Context, injector: &mut dyn Injector) {
        self.0.inject_context(cx, injector);
    }

    fn extract_with_context(&self, cx: &Context, extractor: &dyn Extractor) -> Context {
        let extracted = self.0.extract_with_context(cx, extractor);
        let span = extracted.span();
        let sc = span.span_context();
        let random = !sc.is_valid() || sc.trace_flags() & RANDOM == RANDOM;
        if random { extracted.with_value(RandomTraceId) } else { extracted }
    }

    fn fields(&self) -> FieldIter<'_> {
        self.0.fields()
    }
}

const TRACEPARENT: &str = "traceparent";
const TRACESTATE: &str = "tracestate";
const BAGGAGE: &str = "baggage";
/// Trace Context Level 2's second flag: the trace id's right-most 7 bytes are random.
const RANDOM: TraceFlags = TraceFlags::new(0x02);

/// Marks a context whose trace id is random: a trace that starts from it (no valid `traceparent`
/// came) gets its id from the SDK's random generator, and a trace continued keeps the `random`
/// flag its caller sent, even through a span the sampler drops (the SDK gives those flags 00).
#[derive(Debug, Clone, Copy)]
struct RandomTraceId;

/// The flags to send for the span in `cx`: `sampled` as the span says, and `random` where the trace
/// id is known to be random. Other bits are reserved: "Vendors MUST set those to zero."
fn flags(cx: &Context) -> TraceFlags {
    let span = cx.span();
    let random = if cx.get::<RandomTraceId>().is_some() { RANDOM } else { TraceFlags::NOT_SAMPLED };
    (span.span_context().trace_flags() & (TraceFlags::SAMPLED | RANDOM)) | random
}

/// A `tracestate` that Level 2 allows but the SDK's `TraceState` cannot hold (its key rules are
/// Level 1's: one `@`, at most 13 characters after it), carried beside the span and sent on as is.
#[derive(Debug, Clone)]
struct Unheld(String);

/// W3C Trace Context Level 2 (`spec/20-http_request_header_format.md` in w3c/trace-context): the
/// SDK's `TraceContextPropagator`, given the headers as Level 2 reads them and its answer
/// completed with what Level 2 keeps (see the module's documentation).
#[derive(Debug)]
struct TraceContext(TraceContextPropagator);

impl TextMapPropagator for TraceContext {
    fn inject_context(&self, cx: &Context, injector: &mut dyn Injector) {
        // The SDK writes into a map (the API's own carrier), and what it wrote is completed here.
        let mut sdk: HashMap<String, String> = HashMap::new();
        self.0.inject_context(cx, &mut sdk);
        let Some(traceparent) = sdk.remove(TRACEPARENT) else { return };
        // The SDK writes the `sampled` flag alone; Level 2: "a trace continued MUST keep the
        // random flag it received". The flags are the value's last two digits.
        let (fields, _) = traceparent.split_at(traceparent.len() - 2);
        injector.set(TRACEPARENT, format!("{fields}{:02x}", flags(cx).to_u8()));
        let state = sdk.remove(TRACESTATE).filter(|state| !state.is_empty());
        let state = state.or_else(|| cx.get::<Unheld>().map(|Unheld(state)| state.clone()));
        // "Vendors MUST accept empty `tracestate` headers but SHOULD avoid sending them."
        if let Some(state) = state {
            injector.set(TRACESTATE, state);
        }
    }

    fn extract_with_context(&self, cx: &Context, extractor: &dyn Extractor) -> Context {
        self.extract_level_2(cx, extractor)
    }

    fn fields(&self) -> FieldIter<'_> {
        self.0.fields()
    }
}

impl TraceContext {
    /// The context `extractor`'s headers name, read as Level 2 reads them.
    fn extract_level_2(&self, cx: &Context, extractor: &dyn Extractor) -> Context {
        // Two `traceparent` lines name two parents: neither can be trusted.
        let lines = extractor.get_all(TRACEPARENT).unwrap_or_default();
        let [line] = lines.as_slice() else { return cx.clone() };
        // The SDK checks the grammar but not the fields' lengths.
        if !is_valid_traceparent(line) {
            return cx.clone();
        }
        // "Failure to parse `tracestate` MUST NOT affect the parsing of `traceparent`."
        let state = extractor.get_all(TRACESTATE).map(|lines| lines.join(",")).and_then(|h| tracestate(&h));
        // The SDK reads a map of one value per field (the API's own carrier).
        let mut headers = HashMap::from([(TRACEPARENT.to_owned(), line.to_string())]);
        headers.extend(state.clone().map(|state| (TRACESTATE.to_owned(), state)));
        let extracted = self.0.extract_with_context(cx, &headers);
        let span = extracted.span();
        let sc = span.span_context();
        if !sc.is_valid() {
            return cx.clone();
        }
        // The SDK keeps `sampled` alone; Level 2's `random` is kept too (reserved bits are zeroed).
        let sent = u8::from_str_radix(&line[53..55], 16).unwrap_or_default();
        let flags = TraceFlags::new(sent) & (TraceFlags::SAMPLED | RANDOM);
        let held = sc.trace_state().clone();
        let parent = SpanContext::new(sc.trace_id(), sc.span_id(), flags, true, held.clone());
        let cx = cx.with_remote_span_context(parent);
        match state {
            // A list of Level 2 keys the SDK could not hold: sent on as it came.
            Some(state) if held.header().is_empty() => cx.with_value(Unheld(state)),
            _ => cx,
        }
    }
}

/// The combined `tracestate` lines (RFC 7230 3.2.2: joined with commas) as a list to send on, or
/// `None` when it is empty or not a list the specification allows, which is then discarded whole
/// (as the W3C test suite expects): a member whose key or value breaks the grammar, more than 32 members.
/// Empty members and the spaces and tabs around members are dropped, and a key given twice
/// ("Only one entry per key is allowed") keeps its first member: Level 2 lets a vendor "discard
/// duplicate keys", and warns that deleting the whole list breaks correlation in other systems.
fn tracestate(header: &str) -> Option<String> {
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
        if !key_ok || !value_ok {
            return None;
        }
        if !list.iter().any(|(k, _)| *k == key) {
            list.push((key, value));
        }
    }
    if list.len() > 32 || list.is_empty() {
        return None;
    }
    let list: Vec<String> = list.iter().map(|(key, value)| format!("{key}={value}")).collect();
    Some(list.join(","))
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

/// W3C Baggage (w3c/baggage `baggage/HTTP_HEADER_FORMAT.md`): the SDK's `BaggagePropagator`,
/// given the `baggage` header as the specification reads it. The SDK reads the first header line
/// only, cuts a value at its second `=` ("Parsers MUST NOT assume that the equal sign is only
/// used to separate `key` and `value`") and checks neither the value's characters nor a member's
/// size; so the lines are joined, a member the grammar refuses is dropped ("it MAY remove that
/// entry"), and an `=` inside a value is handed over percent-encoded, which the SDK decodes.
#[derive(Debug)]
struct W3cBaggage(BaggagePropagator);

impl TextMapPropagator for W3cBaggage {
    fn inject_context(&self, cx: &Context, injector: &mut dyn Injector) {
        self.0.inject_context(cx, injector);
    }

    fn extract_with_context(&self, cx: &Context, extractor: &dyn Extractor) -> Context {
        let Some(lines) = extractor.get_all(BAGGAGE) else { return cx.clone() };
        let members: Vec<String> =
            lines.iter().flat_map(|line| line.split(',')).filter_map(baggage_member).collect();
        self.0.extract_with_context(cx, &HashMap::from([(BAGGAGE.to_owned(), members.join(","))]))
    }

    fn fields(&self) -> FieldIter<'_> {
        self.0.fields()
    }
}

/// One `list-member = key OWS "=" OWS value *( OWS ";" OWS property )` as the SDK can read it
/// (an `=` in the value percent-encoded), or `None` if it breaks the grammar or is over 4,096
/// bytes. An empty member (`a=1,,b=2`) is nothing to read.
fn baggage_member(member: &str) -> Option<String> {
    let ows = [' ', '\t'];
    let (entry, properties) = member.split_once(';').map_or((member, None), |(e, p)| (e, Some(p)));
    let (key, value) = entry.split_once('=')?;
    let (key, value) = (key.trim_matches(ows), value.trim_matches(ows));
    // baggage-octet = %x21 / %x23-2B / %x2D-3A / %x3C-5B / %x5D-7E. (The SDK's `Baggage` checks
    // that the key is a token.)
    let octets_ok =
        value.bytes().all(|b| matches!(b, 0x21 | 0x23..=0x2B | 0x2D..=0x3A | 0x3C..=0x5B | 0x5D..=0x7E));
    if member.len() > 4096 || key.is_empty() || !octets_ok {
        return None;
    }
    let value = value.replace('=', "%3D");
    Some(match properties {
        Some(properties) => format!("{key}={value};{properties}"),
        None => format!("{key}={value}"),
    })
}

#[cfg(test)]
mod tests {
    use http::{HeaderMap, HeaderValue};
    use opentelemetry::{
        baggage::BaggageExt as _,
        trace::{SpanId, TraceId, TraceState},
    };
    use shared_tracing::propagation::{extract, inject, install};

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
        install(propagator(&Propagators::w3c()));
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
            (
                "only one entry per key: a duplicate is discarded, the first member and the rest kept",
                vec!["foo=1,bar=2,foo=3"],
                Some("foo=1,bar=2"),
            ),
            ("only one entry per key, across lines", vec!["foo=1", "foo=1"], Some("foo=1")),
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
        install(propagator(&Propagators::w3c()));
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
        install(propagator(&Propagators::w3c()));
        let sc = SpanContext::new(
            TraceId::from_hex(TRACE).unwrap(),
            SpanId::from_hex("00f067aa0ba902b7").unwrap(),
            TraceFlags::SAMPLED,
            false,
            TraceState::NONE,
        );
        let cx = Context::new().with_remote_span_context(sc.clone());
        let mut continued = HeaderMap::new();
        inject(&cx, &mut continued);
        assert_eq!(continued[TRACEPARENT], GOOD, "a continued trace keeps its caller's flags");
        // No `traceparent` came: the trace starts here, with a trace id the SDK drew at random.
        let mut started = HeaderMap::new();
        inject(&extract(&HeaderMap::new()).with_remote_span_context(sc.clone()), &mut started);
        assert_eq!(started[TRACEPARENT], "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-03");
        // A caller's `random` survives a span the sampler drops (the SDK gives it flags 00).
        let caller = extract(&header_map(&[(
            "traceparent",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-03",
        )]));
        let dropped = SpanContext::new(
            sc.trace_id(),
            SpanId::from(9_u64),
            TraceFlags::default(),
            false,
            TraceState::NONE,
        );
        let mut sent = HeaderMap::new();
        inject(&caller.with_remote_span_context(dropped), &mut sent);
        assert_eq!(sent[TRACEPARENT], "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000009-02");
    }
}
