//! tracectl binary: parse the command line and run the chosen command.

use std::{net::SocketAddr, process::ExitCode, time::Duration};

use clap::{Parser, Subcommand};
use tracectl::listen::{self, ListenOptions};

/// Read traces from the terminal.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Receive OTLP/HTTP traces (as Jaeger would on 4318) and draw each one as a waterfall.
    Listen {
        /// Address to listen on; point services at it with OTEL_EXPORTER_OTLP_ENDPOINT=http://<addr>.
        #[arg(long, default_value = "127.0.0.1:4318", env = "TRACECTL_ADDR")]
        addr: SocketAddr,
        /// Also receive OTLP/gRPC here (e.g. 127.0.0.1:4317), for OTEL_EXPORTER_OTLP_PROTOCOL=grpc.
        #[arg(long)]
        grpc_addr: Option<SocketAddr>,
        /// Draw a trace once no span of it has arrived for this many milliseconds.
        #[arg(long, default_value_t = 1_500)]
        quiet_ms: u64,
        /// Most traces held while waiting for them to go quiet.
        #[arg(long, default_value_t = 1_000)]
        max_traces: usize,
        /// Also draw each span's events (log lines such as "Validating order").
        #[arg(long)]
        events: bool,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt().with_writer(std::io::stderr).with_target(false).init();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Listen { addr, grpc_addr, quiet_ms, max_traces, events } => {
            let options =
                ListenOptions { addr, grpc_addr, quiet: Duration::from_millis(quiet_ms), max_traces, events };
            listen::run(options, std::io::stdout(), shutdown_signal()).await
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tracectl: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            },
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
