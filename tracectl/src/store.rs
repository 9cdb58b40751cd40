//! Traces kept in a file, without Jaeger: what `tracectl listen --store FILE` appends, and what
//! `show`, `analyze`, `compare` and `search` read back with `--file FILE`.
//!
//! The format is the OTLP file exporter's (the Collector's `file` exporter, the SDKs' file
//! exporters): one OTLP/JSON `ExportTraceServiceRequest` per line, each export as it arrived, so
//! a trace's spans may be on several lines and any OTLP tool reads the file. It is bounded: past
//! its size cap the oldest lines are dropped (said once), down to three quarters of the cap, and
//! with them every span of the traces they held, so no trace is left in the file cut in half (which
//! `tracectl lint` would take for an orphan).

use std::{
    fs::{File, OpenOptions},
    io::{BufRead as _, BufReader, Write as _},
    path::{Path, PathBuf},
    sync::{Arc, Mutex, PoisonError},
};

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;

use crate::{jaeger::parse_otlp_json, model::Span};

/// The size cap unless told otherwise: 64 MiB.
pub const DEFAULT_MAX_BYTES: u64 = 64 << 20;

/// A store file, appended to.
#[derive(Debug, Clone)]
pub struct FileStore {
    inner: Arc<Mutex<Inner>>,
}

#[derive(Debug)]
struct Inner {
    path: PathBuf,
    file: File,
    size: u64,
    max_bytes: u64,
    /// Whether dropping old lines was said already.
    said_full: bool,
}

impl FileStore {
    /// Opens `path` for appending (creating it and its directory), capped at `max_bytes`.
    pub fn open(path: &Path, max_bytes: u64) -> std::io::Result<Self> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        let size = file.metadata()?.len();
        let inner = Inner { path: path.to_owned(), file, size, max_bytes, said_full: false };
        Ok(Self { inner: Arc::new(Mutex::new(inner)) })
    }

    /// Appends one export as a line. A failure is logged: the traces are still drawn.
    pub fn append(&self, request: &ExportTraceServiceRequest) {
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        let written = serde_json::to_string(request)
            .map_err(std::io::Error::other)
            .and_then(|line| inner.append(&line));
        if let Err(e) = written {
            tracing::warn!(path = %inner.path.display(), "could not store an export: {e}");
        }
    }
}

impl Inner {
    fn append(&mut self, line: &str) -> std::io::Result<()> {
        let needed = line.len() as u64 + 1;
        let mut line = std::borrow::Cow::Borrowed(line);
        if self.size + needed > self.max_bytes {
            let gone = self.drop_oldest(needed)?;
            // This export's spans of a dropped trace go with it too.
            match without_traces_of(&gone, &[line.as_ref()]).pop() {
                Some(kept) => line = std::borrow::Cow::Owned(kept.into_owned()),
                None => return Ok(()),
            }
        }
        let line = line.as_bytes();
        self.file.write_all(line)?;
        self.file.write_all(b"\n")?;
        self.size += needed;
        Ok(())
    }

    /// Rewrites the file with only its newest lines, leaving room for `needed` more bytes and a
    /// quarter of the cap besides (so this does not run at every export).
    fn drop_oldest(&mut self, needed: u64) -> std::io::Result<std::collections::HashSet<Vec<u8>>> {
        let keep_bytes = (self.max_bytes / 4 * 3).saturating_sub(needed);
        let lines: Vec<String> = BufReader::new(File::open(&self.path)?).lines().collect::<Result<_, _>>()?;
        let (mut kept, mut total) = (Vec::new(), 0u64);
        for line in lines.iter().rev() {
            total += line.len() as u64 + 1;
            if total > keep_bytes {
                break;
            }
            kept.push(line.as_str());
        }
        kept.reverse();
        let gone = trace_ids(&lines[..lines.len() - kept.len()]);
        let kept = without_traces_of(&gone, &kept);
        if !self.said_full {
            self.said_full = true;
            tracing::warn!(
                path = %self.path.display(),
                max_bytes = self.max_bytes,
                "trace store full: dropping the oldest exports (said once)"
            );
        }
        let tmp = self.path.with_extension("tmp");
        let mut rewritten = File::create(&tmp)?;
        for line in &kept {
            rewritten.write_all(line.as_ref().as_bytes())?;
            rewritten.write_all(b"\n")?;
        }
        rewritten.sync_all()?;
        std::fs::rename(&tmp, &self.path)?;
        self.file = OpenOptions::new().append(true).open(&self.path)?;
        self.size = self.file.metadata()?.len();
        Ok(gone)
    }
}

/// The trace ids of the spans in `lines` (exports; a line that does not parse has none).
fn trace_ids(lines: &[String]) -> std::collections::HashSet<Vec<u8>> {
    lines
        .iter()
        .filter_map(|line| serde_json::from_str::<ExportTraceServiceRequest>(line).ok())
        .flat_map(|request| request.resource_spans)
        .flat_map(|resource| resource.scope_spans)
        .flat_map(|scope| scope.spans)
        .map(|span| span.trace_id)
        .collect()
}

/// `kept`, without the spans of the traces in `gone` (lines that do not parse are left as they
/// are), and without the lines that leaves empty.
fn without_traces_of<'a>(
    gone: &std::collections::HashSet<Vec<u8>>,
    kept: &[&'a str],
) -> Vec<std::borrow::Cow<'a, str>> {
    use std::borrow::Cow;
    if gone.is_empty() {
        return kept.iter().map(|line| Cow::Borrowed(*line)).collect();
    }
    let parse = |line: &str| serde_json::from_str::<ExportTraceServiceRequest>(line).ok();
    let mut out = Vec::with_capacity(kept.len());
    for &line in kept {
        let Some(mut request) = parse(line) else {
            out.push(Cow::Borrowed(line));
            continue;
        };
        let before: usize =
            request.resource_spans.iter().flat_map(|r| &r.scope_spans).map(|s| s.spans.len()).sum();
        for resource in &mut request.resource_spans {
            for scope in &mut resource.scope_spans {
                scope.spans.retain(|span| !gone.contains(&span.trace_id));
            }
            resource.scope_spans.retain(|scope| !scope.spans.is_empty());
        }
        request.resource_spans.retain(|resource| !resource.scope_spans.is_empty());
        let after: usize =
            request.resource_spans.iter().flat_map(|r| &r.scope_spans).map(|s| s.spans.len()).sum();
        match (after, serde_json::to_string(&request)) {
            (0, _) => {}
            _ if after == before => out.push(Cow::Borrowed(line)),
            (_, Ok(rewritten)) => out.push(Cow::Owned(rewritten)),
            (_, Err(_)) => out.push(Cow::Borrowed(line)),
        }
    }
    out
}

/// Every span in the store at `path`. A line that is not an OTLP/JSON export (say, the last one,
/// cut short by a crash) is skipped and counted in a warning; a missing file is an error.
pub fn read(path: &Path) -> Result<Vec<Span>, String> {
    let file = File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut spans = Vec::new();
    let mut skipped = 0;
    for line in BufReader::new(file).lines() {
        let line = line.map_err(|e| format!("{}: {e}", path.display()))?;
        if line.trim().is_empty() {
            continue;
        }
        match parse_otlp_json(line.as_bytes()) {
            Ok(found) => spans.extend(found),
            Err(_) => skipped += 1,
        }
    }
    if skipped > 0 {
        tracing::warn!(path = %path.display(), skipped, "lines that are not OTLP/JSON exports were skipped");
    }
    Ok(spans)
}

/// The spans of the traces among `spans` that started within `lookback` of `now`, as a Jaeger
/// search's time range keeps them: a trace is kept whole when any of its spans started since.
pub fn within(spans: Vec<Span>, lookback: std::time::Duration, now: std::time::SystemTime) -> Vec<Span> {
    let since = now.checked_sub(lookback).and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok());
    let since = since.map_or(0, |t| u64::try_from(t.as_nanos()).unwrap_or(u64::MAX));
    let recent: std::collections::HashSet<String> =
        spans.iter().filter(|s| s.start_unix_nano >= since).map(|s| s.trace_id.clone()).collect();
    spans.into_iter().filter(|s| recent.contains(&s.trace_id)).collect()
}

/// The spans of trace `trace_id` in the store at `path`; an error if it holds none.
pub fn trace(path: &Path, trace_id: &str) -> Result<Vec<Span>, String> {
    let trace_id = crate::jaeger::parse_trace_id(trace_id).map_err(|e| e.to_string())?;
    let spans: Vec<Span> = read(path)?.into_iter().filter(|s| s.trace_id == trace_id).collect();
    if spans.is_empty() {
        return Err(format!("no trace {trace_id} in {}", path.display()));
    }
    Ok(spans)
}

#[cfg(test)]
mod tests {
    use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span as OtlpSpan};

    use super::*;

    fn export(trace: u8, span: u8, name: &str) -> ExportTraceServiceRequest {
        let span = OtlpSpan {
            trace_id: vec![trace; 16],
            span_id: vec![span; 8],
            name: name.into(),
            start_time_unix_nano: 1,
            end_time_unix_nano: 2,
            ..OtlpSpan::default()
        };
        ExportTraceServiceRequest {
            resource_spans: vec![ResourceSpans {
                scope_spans: vec![ScopeSpans { spans: vec![span], ..ScopeSpans::default() }],
                ..ResourceSpans::default()
            }],
        }
    }

    fn temp(name: &str) -> PathBuf {
        let path = std::env::temp_dir().join(format!("tracectl-store-{}-{name}.jsonl", std::process::id()));
        let _ = std::fs::remove_file(&path);
        path
    }

    #[test]
    fn exports_are_kept_as_otlp_json_lines_and_read_back_by_trace() {
        let path = temp("roundtrip");
        let store = FileStore::open(&path, DEFAULT_MAX_BYTES).unwrap();
        store.append(&export(1, 1, "first"));
        store.append(&export(2, 2, "other"));
        store.append(&export(1, 3, "second"));
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text.lines().count(), 3);
        assert!(text.lines().all(|l| l.starts_with(r#"{"resourceSpans":"#)), "{text}");
        let spans = trace(&path, &"01".repeat(16)).unwrap();
        let names: Vec<&str> = spans.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["first", "second"]);
        assert!(trace(&path, &"03".repeat(16)).unwrap_err().contains("no trace"));
        // A line cut short by a crash is skipped, not fatal.
        std::fs::OpenOptions::new().append(true).open(&path).unwrap().write_all(b"{\"resourceSp").unwrap();
        assert_eq!(read(&path).unwrap().len(), 3);
        let _ = std::fs::remove_file(path);
    }

    #[test]
    fn past_its_cap_the_store_drops_the_oldest_exports() {
        let path = temp("cap");
        let line = serde_json::to_string(&export(1, 1, "x")).unwrap().len() as u64 + 1;
        let store = FileStore::open(&path, line * 10).unwrap();
        for n in 0..25u8 {
            store.append(&export(n + 1, 1, "x"));
        }
        let size = std::fs::metadata(&path).unwrap().len();
        assert!(size <= line * 10, "{size} > {}", line * 10);
        let traces: Vec<String> = read(&path).unwrap().into_iter().map(|s| s.trace_id).collect();
        assert_eq!(traces.last().unwrap(), &"19".repeat(16), "the newest is kept");
        assert!(!traces.contains(&"01".repeat(16)), "the oldest is gone");
        let _ = std::fs::remove_file(path);
    }

    #[test]
    fn a_trace_with_a_span_in_a_dropped_export_goes_whole() {
        let path = temp("whole");
        let line = serde_json::to_string(&export(1, 1, "x")).unwrap().len() as u64 + 1;
        let store = FileStore::open(&path, line * 10).unwrap();
        // Trace 1's first span in the oldest export, its second among the newest.
        store.append(&export(1, 1, "x"));
        for n in 2..10u8 {
            store.append(&export(n, 1, "x"));
        }
        store.append(&export(1, 2, "y"));
        store.append(&export(10, 1, "x"));
        let traces: Vec<String> = read(&path).unwrap().into_iter().map(|s| s.trace_id).collect();
        assert!(!traces.contains(&"01".repeat(16)), "no half of trace 1 is left: {traces:?}");
        assert!(traces.contains(&"0a".repeat(16)), "the newest is kept: {traces:?}");
        let _ = std::fs::remove_file(path);
    }
}
