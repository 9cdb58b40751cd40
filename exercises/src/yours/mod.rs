//! The exercises as you edit them: `exercises/NN_*.rs`.

#[path = "../../07_baggage.rs"]
pub mod baggage;
#[path = "../../02_call_context.rs"]
pub mod call_context;
#[path = "../../01_caller_context.rs"]
pub mod caller_context;
#[path = "../../04_database_span.rs"]
pub mod database_span;
#[path = "../../05_errors.rs"]
pub mod errors;
#[path = "../../11_flush_before_exit.rs"]
pub mod flush_before_exit;
#[path = "../../10_log_correlation.rs"]
pub mod log_correlation;
#[path = "../../12_message_parent.rs"]
pub mod message_parent;
#[path = "../../09_retry_links.rs"]
pub mod retry_links;
#[path = "../../06_route_names.rs"]
pub mod route_names;
#[path = "../../08_sampler.rs"]
pub mod sampler;
#[path = "../../03_spawned_task.rs"]
pub mod spawned_task;
