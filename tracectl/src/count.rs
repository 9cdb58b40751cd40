//! Counting spans per trace, for `tracectl listen --stats`: how many spans and traces arrived,
//! and the smallest and largest trace, so a benchmark can see lost spans without drawing anything.
//!
//! A benchmark sends tens of thousands of spans a second, on the same machine as the services it
//! measures, so the receiver's own CPU time is part of the result. Decoding a span in full (every
//! attribute, event and id turned into strings) costs several times more than making it did. So
//! protobuf exports are decoded into [`TraceIds`], a message that declares only the trace id of
//! each span: protobuf skips every other field by its length, unread.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use axum::body::Bytes;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use prost::Message as _;

use crate::receiver::Sink;

/// `ExportTraceServiceRequest` reduced to the trace ids of its spans (same field numbers).
#[derive(Clone, PartialEq, prost::Message)]
struct TraceIds {
    #[prost(message, repeated, tag = "1")]
    resource_spans: Vec<ResourceSpanIds>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct ResourceSpanIds {
    #[prost(message, repeated, tag = "2")]
    scope_spans: Vec<ScopeSpanIds>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct ScopeSpanIds {
    #[prost(message, repeated, tag = "2")]
    spans: Vec<SpanId>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct SpanId {
    #[prost(bytes = "vec", tag = "1")]
    trace_id: Vec<u8>,
}

/// Spans received per trace id.
#[derive(Debug, Clone, Default)]
pub struct TraceCounter {
    per_trace: Arc<Mutex<HashMap<[u8; 16], usize>>>,
}

/// What arrived: spans, traces, and the smallest and largest trace. A span lost on the way shows
/// as a trace smaller than the rest.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Counts {
    /// Spans received.
    pub spans: usize,
    /// Distinct trace ids among them.
    pub traces: usize,
    /// Spans in the smallest trace.
    pub min_spans_per_trace: usize,
    /// Spans in the largest trace.
    pub max_spans_per_trace: usize,
}

impl TraceCounter {
    fn add(&self, trace_ids: impl Iterator<Item = [u8; 16]>) {
        let mut per_trace = self.per_trace.lock().unwrap_or_else(|e| e.into_inner());
        for trace_id in trace_ids {
            *per_trace.entry(trace_id).or_default() += 1;
        }
    }

    /// The counts so far.
    pub fn counts(&self) -> Counts {
        let per_trace = self.per_trace.lock().unwrap_or_else(|e| e.into_inner());
        let mut counts =
            Counts { spans: per_trace.values().sum(), traces: per_trace.len(), ..Counts::default() };
        counts.min_spans_per_trace = per_trace.values().copied().min().unwrap_or(0);
        counts.max_spans_per_trace = per_trace.values().copied().max().unwrap_or(0);
        counts
    }
}

/// A trace id as the 16 bytes it must be (an invalid one counts as all zeros, which no valid
/// trace has).
fn id(bytes: &[u8]) -> [u8; 16] {
    bytes.try_into().unwrap_or_default()
}

impl Sink for TraceCounter {
    /// Counts every span: a benchmark's spans come from the SDK, whose ids are valid.
    fn accept(&self, request: &ExportTraceServiceRequest) -> u64 {
        self.add(
            request
                .resource_spans
                .iter()
                .flat_map(|r| &r.scope_spans)
                .flat_map(|s| &s.spans)
                .map(|span| id(&span.trace_id)),
        );
        0
    }

    fn accept_protobuf(&self, body: Bytes) -> Result<u64, prost::DecodeError> {
        let request = TraceIds::decode(body)?;
        self.add(
            request
                .resource_spans
                .iter()
                .flat_map(|r| &r.scope_spans)
                .flat_map(|s| &s.spans)
                .map(|span| id(&span.trace_id)),
        );
        Ok(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};

    fn request(trace_ids: &[u8]) -> ExportTraceServiceRequest {
        let spans = trace_ids
            .iter()
            .map(|&t| Span { trace_id: vec![t; 16], name: "a name to skip".into(), ..Default::default() })
            .collect();
        ExportTraceServiceRequest {
            resource_spans: vec![ResourceSpans {
                scope_spans: vec![ScopeSpans { spans, ..Default::default() }],
                ..Default::default()
            }],
        }
    }

    #[test]
    fn the_reduced_decoding_counts_what_the_full_one_does() {
        let full = TraceCounter::default();
        let reduced = TraceCounter::default();
        let export = request(&[1, 1, 2, 1, 3, 3]);

        full.accept(&export);
        reduced.accept_protobuf(Bytes::from(export.encode_to_vec())).unwrap();

        let expected = Counts { spans: 6, traces: 3, min_spans_per_trace: 1, max_spans_per_trace: 3 };
        assert_eq!(full.counts(), expected);
        assert_eq!(reduced.counts(), expected);
    }

    #[test]
    fn nothing_received_counts_zero() {
        assert_eq!(TraceCounter::default().counts(), Counts::default());
    }
}
