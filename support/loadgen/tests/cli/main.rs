//! `scripts/load.sh` (and so `loadgen`) driven against the real checkout: the three services'
//! routers served in this test on free loopback ports, every simulated latency at zero.

#![allow(clippy::unwrap_used)] // in tests a panic is the failure report

use std::{collections::HashMap, path::PathBuf, process::Output};

use service_kit::settings::{FromSettings, Settings};
use shared_tracing::{EdgeTracer, config::Propagators, remote::RemoteSystem};
use tokio::{net::TcpListener, process::Command};

/// Settings from a map: the services read the same names as from the environment.
fn settings(vars: &[(&str, String)]) -> Settings<impl Fn(&str) -> Option<String>> {
    let map: HashMap<String, String> = vars.iter().map(|(k, v)| ((*k).to_owned(), v.clone())).collect();
    Settings::new(move |name| map.get(name).cloned())
}

/// Every simulated latency at zero.
fn zero_latencies() -> Vec<(&'static str, String)> {
    let mut vars: Vec<(&'static str, String)> =
        ["ORDER_VALIDATION_MS", "INVENTORY_MS", "FRAUD_CHECK_MS", "STRIPE_LATENCY_MS", "DB_QUERY_MS"]
            .into_iter()
            .map(|name| (name, "0".to_owned()))
            .collect();
    vars.push(("STRIPE_LEDGER_PATH", ":memory:".to_owned()));
    vars
}

async fn serve(router: axum::Router) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await });
    url
}

/// payment-service, order-service and the gateway, each calling the next; the gateway's URL.
async fn checkout_stack() -> String {
    // No spans, but W3C context still travels: the scenario is chosen by baggage.
    shared_tracing::propagation::install(shared_tracing::propagation::composite(&Propagators::w3c()));
    let untraced = EdgeTracer::disabled;
    let payment = payment_service::Config::from_settings(&settings(&zero_latencies())).unwrap();
    let payment_url =
        serve(payment_service::router(payment, untraced(), RemoteSystem::disabled("stripe")).unwrap()).await;

    // A database of its own per stack: the tests run side by side.
    static STACKS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let stack = STACKS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("loadgen-cli-{}-{stack}", std::process::id()));
    let db = dir.join("orders.sqlite3");
    let _ = std::fs::remove_file(&db);
    let mut vars = zero_latencies();
    vars.extend([("PAYMENT_SERVICE_URL", payment_url), ("ORDER_DB_PATH", db.display().to_string())]);
    let order = order_service::Config::from_settings(&settings(&vars)).unwrap();
    let order_url = serve(order_service::router(order, untraced()).unwrap()).await;

    let gateway = gateway::Config::from_settings(&settings(&[("ORDER_SERVICE_URL", order_url)])).unwrap();
    serve(gateway::router(gateway, untraced()).unwrap()).await
}

/// `scripts/load.sh ARGS` against `gateway_url`, with the `loadgen` this package built.
async fn load_sh(args: &[&str], gateway_url: &str) -> Output {
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let bin_dir = PathBuf::from(env!("CARGO_BIN_EXE_loadgen")).parent().unwrap().to_owned();
    Command::new("bash")
        .arg(repo.join("scripts/load.sh"))
        .args(args)
        .env("SKIP_BUILD", "1")
        .env("BIN_DIR", bin_dir)
        .env("GATEWAY_URL", gateway_url)
        .output()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn load_sh_drives_a_weighted_mix_and_reports_each_scenario_then_stops_by_itself() {
    // Arrange
    let gateway_url = checkout_stack().await;

    // Act
    let output =
        load_sh(&["--count", "40", "--concurrency", "4", "--mix", "happy=3,out-of-stock=1"], &gateway_url)
            .await;

    // Assert
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}{}", String::from_utf8_lossy(&output.stderr));
    // A row per scenario: requests, errors, outcomes by status, three percentiles.
    let row = |name: &str| -> Vec<String> {
        let line =
            stdout.lines().find(|l| l.starts_with(&format!("{name} "))).unwrap_or_else(|| panic!("{stdout}"));
        line.split_whitespace().map(str::to_owned).collect()
    };
    let (happy, sold_out) = (row("happy"), row("out-of-stock"));
    let requests = |r: &[String]| r[1].parse::<u64>().unwrap();
    assert_eq!(requests(&happy) + requests(&sold_out), 40, "{stdout}");
    assert!(requests(&happy) > 0 && requests(&sold_out) > 0, "both scenarios were sent: {stdout}");
    assert_eq!((happy[2].as_str(), happy[3].clone()), ("0", format!("201×{}", happy[1])), "{stdout}");
    assert_eq!(
        (sold_out[2].clone(), sold_out[3].clone()),
        (sold_out[1].clone(), format!("409×{}", sold_out[1]))
    );
    assert_eq!(happy.iter().filter(|c| c.as_str() == "ms").count(), 3, "p50, p90 and p99: {happy:?}");
    assert!(stdout.contains("40 checkouts in"), "{stdout}");
}

#[tokio::test(flavor = "multi_thread")]
async fn load_sh_exits_non_zero_at_once_when_the_gateway_is_unreachable() {
    // Arrange: a port nothing listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();

    // Act
    let output = load_sh(&["--count", "5"], &format!("http://127.0.0.1:{port}")).await;

    // Assert
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("is unreachable"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread")]
async fn load_sh_makes_the_mistake_it_is_given_on_every_checkout() {
    let gateway_url = checkout_stack().await;
    let row = |stdout: &str| -> Vec<String> {
        let line =
            stdout.lines().find(|l| l.starts_with("card-declined ")).unwrap_or_else(|| panic!("{stdout}"));
        line.split_whitespace().map(str::to_owned).collect()
    };

    // Without the context, payment-service never hears of the scenario: the cards are charged.
    let lost =
        load_sh(&["--count", "4", "--mix", "card-declined=1", "--mistake", "no-propagation"], &gateway_url)
            .await;
    let stdout = String::from_utf8_lossy(&lost.stdout).into_owned();
    assert!(lost.status.success(), "{stdout}{}", String::from_utf8_lossy(&lost.stderr));
    assert_eq!(row(&stdout)[3], "201×4", "{stdout}");

    // A name that is no mistake is refused at the edge.
    let typo =
        load_sh(&["--count", "2", "--mix", "card-declined=1", "--mistake", "typo"], &gateway_url).await;
    let stdout = String::from_utf8_lossy(&typo.stdout).into_owned();
    assert_eq!(row(&stdout)[3], "400×2", "{stdout}");
}
