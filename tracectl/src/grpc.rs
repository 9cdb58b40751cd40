//! The OTLP/gRPC side of the receiver (`opentelemetry.proto.collector.trace.v1.TraceService/Export`,
//! conventionally on port 4317), feeding the same kind of [`Sink`] as the HTTP side.
//!
//! With it, services configured with `OTEL_EXPORTER_OTLP_PROTOCOL=grpc` can be checked end to end
//! just like the default `http/protobuf` ones.

use std::net::SocketAddr;

use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
    trace_service_server::{TraceService, TraceServiceServer},
};
use tonic::transport::server::TcpIncoming;

use crate::receiver::{Sink, SpanStore};

/// The gRPC `TraceService`, handing what it receives to its sink.
#[derive(Debug, Clone)]
pub struct Collector<S> {
    sink: S,
}

/// The gRPC service of the receiver, accepting gzip, for serving on a server of the caller's
/// own (behind TLS, say).
pub fn service<S: Sink>(sink: S) -> TraceServiceServer<Collector<S>> {
    // gzip, which every OTLP server must accept (and the SDKs send with
    // OTEL_EXPORTER_OTLP_COMPRESSION=gzip), and zstd, which some send too.
    TraceServiceServer::new(Collector { sink })
        .accept_compressed(tonic::codec::CompressionEncoding::Gzip)
        .accept_compressed(tonic::codec::CompressionEncoding::Zstd)
}

#[tonic::async_trait]
impl<S: Sink> TraceService for Collector<S> {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        let rejected = self.sink.accept(request.get_ref());
        Ok(tonic::Response::new(crate::receiver::export_response(rejected)))
    }
}

/// A gRPC receiver running on a Tokio task.
#[derive(Debug)]
pub struct RunningGrpcReceiver<S = SpanStore> {
    /// Where it listens.
    pub addr: SocketAddr,
    /// What it has received.
    pub store: S,
    task: tokio::task::JoinHandle<()>,
}

impl<S> RunningGrpcReceiver<S> {
    /// The endpoint, for `OTEL_EXPORTER_OTLP_ENDPOINT` with `OTEL_EXPORTER_OTLP_PROTOCOL=grpc`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl<S> Drop for RunningGrpcReceiver<S> {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Starts a gRPC receiver on `addr` (use port 0 for a free port), storing into `store`.
pub async fn spawn<S: Sink>(addr: SocketAddr, store: S) -> std::io::Result<RunningGrpcReceiver<S>> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let addr = listener.local_addr()?;
    let service = self::service(store.clone());
    let task = tokio::spawn(async move {
        let served = tonic::transport::Server::builder()
            .add_service(service)
            .serve_with_incoming(TcpIncoming::from(listener))
            .await;
        if let Err(e) = served {
            tracing::error!(error = %e, "OTLP gRPC receiver stopped");
        }
    });
    Ok(RunningGrpcReceiver { addr, store, task })
}

#[cfg(test)]
mod tests {
    use opentelemetry_proto::tonic::{
        resource::v1::Resource,
        trace::v1::{ResourceSpans, ScopeSpans, Span},
    };

    use super::*;

    #[tokio::test]
    async fn spans_with_invalid_ids_are_refused_with_a_partial_success() {
        let good =
            Span { trace_id: vec![7; 16], span_id: vec![9; 8], name: "GET /".into(), ..Span::default() };
        let spans = vec![good.clone(), Span { span_id: vec![0; 8], ..good }];
        let request = ExportTraceServiceRequest {
            resource_spans: vec![ResourceSpans {
                resource: Some(Resource::default()),
                scope_spans: vec![ScopeSpans { spans, ..ScopeSpans::default() }],
                ..ResourceSpans::default()
            }],
        };
        let store = SpanStore::default();
        let answer = Collector { sink: store.clone() }.export(tonic::Request::new(request)).await.unwrap();
        let partial = answer.into_inner().partial_success.expect("a partial success");
        assert_eq!(partial.rejected_spans, 1);
        assert_eq!(store.spans().len(), 1);
    }
}
