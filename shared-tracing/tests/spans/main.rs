//! In-process tests of the spans shared-tracing makes: a router and a client running in the test,
//! spans caught by an in-memory exporter, nothing spawned.

mod context_crossing;
