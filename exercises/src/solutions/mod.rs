//! A solution to each exercise: `exercises/solutions/NN_*.rs`.

#[path = "../../solutions/07_baggage.rs"]
pub mod baggage;
#[path = "../../solutions/02_call_context.rs"]
pub mod call_context;
#[path = "../../solutions/01_caller_context.rs"]
pub mod caller_context;
#[path = "../../solutions/04_database_span.rs"]
pub mod database_span;
#[path = "../../solutions/05_errors.rs"]
pub mod errors;
#[path = "../../solutions/11_flush_before_exit.rs"]
pub mod flush_before_exit;
#[path = "../../solutions/10_log_correlation.rs"]
pub mod log_correlation;
#[path = "../../solutions/12_message_parent.rs"]
pub mod message_parent;
#[path = "../../solutions/09_retry_links.rs"]
pub mod retry_links;
#[path = "../../solutions/06_route_names.rs"]
pub mod route_names;
#[path = "../../solutions/08_sampler.rs"]
pub mod sampler;
#[path = "../../solutions/03_spawned_task.rs"]
pub mod spawned_task;
