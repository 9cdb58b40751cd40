//! The teaching page at `GET /`, in a real headless browser: Debian's Chromium driven by
//! ChromeDriver over the W3C WebDriver protocol (plain HTTP + JSON, so no extra crate).
//!
//! `.ci/run` installs `chromium` and `chromium-driver` and sets `REQUIRE_BROWSER=1`, so in CI a
//! missing browser is a failure. Elsewhere, without them, the test says it was skipped and how to
//! run it (`sudo apt-get install chromium chromium-driver`).

use std::{path::Path, process::Stdio};

use crate::support::*;
use serde_json::{Value, json};
use tokio::{
    io::{AsyncBufReadExt as _, BufReader},
    process::{Child, Command},
};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
/// The WebDriver name of an element reference in JSON.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// A WebDriver session on a ChromeDriver this test started.
struct Browser {
    _driver: Child,
    session: String,
    http: reqwest::Client,
}

impl Browser {
    async fn start() -> Browser {
        let mut driver = Command::new(CHROMEDRIVER)
            .arg("--port=0")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        // ChromeDriver prints the port it chose; waiting for that line is the readiness signal.
        let mut lines = BufReader::new(driver.stdout.take().unwrap()).lines();
        let port = tokio::time::timeout(START_TIMEOUT, async {
            while let Some(line) = lines.next_line().await.unwrap() {
                if let Some(rest) = line.split("started successfully on port ").nth(1) {
                    return rest.trim_end_matches('.').trim().parse::<u16>().unwrap();
                }
            }
            panic!("chromedriver exited before it was ready");
        })
        .await
        .expect("chromedriver did not start");
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });

        let http = http();
        let profile = std::env::temp_dir().join(format!("web-page-test-{}", std::process::id()));
        let capabilities = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": CHROMIUM,
                // As this machine needs them: no sandbox as root, and no background traffic to
                // Google, whose hosts this closed network refuses.
                "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                         "--disable-quic", "--no-first-run", "--disable-background-networking",
                         "--disable-component-update", "--disable-sync",
                         format!("--user-data-dir={}", profile.display())]
            }
        }}});
        let base = format!("http://127.0.0.1:{port}");
        let created: Value = http
            .post(format!("{base}/session"))
            .json(&capabilities)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let session = created["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no WebDriver session: {created}"))
            .to_owned();
        let browser = Browser { _driver: driver, session: format!("{base}/session/{session}"), http };
        // Finding an element waits up to 20 s for it to appear: the page's fetches are async.
        browser.call("timeouts", json!({"implicit": 20_000})).await;
        browser
    }

    async fn call(&self, path: &str, body: Value) -> Value {
        let response = self.http.post(format!("{}/{path}", self.session)).json(&body).send().await.unwrap();
        let status = response.status();
        let value: Value = response.json().await.unwrap();
        assert!(status.is_success(), "WebDriver {path}: {status} {value}");
        value["value"].clone()
    }

    async fn get(&self, path: &str) -> Value {
        let value: Value =
            self.http.get(format!("{}/{path}", self.session)).send().await.unwrap().json().await.unwrap();
        value["value"].clone()
    }

    async fn open(&self, url: &str) {
        self.call("url", json!({"url": url})).await;
    }

    /// The first element matching `css`, waiting for it to appear.
    async fn find(&self, css: &str) -> String {
        let found = self.call("element", json!({"using": "css selector", "value": css})).await;
        found[ELEMENT].as_str().unwrap().to_owned()
    }

    async fn click(&self, element: &str) {
        self.call(&format!("element/{element}/click"), json!({})).await;
    }

    async fn text(&self, element: &str) -> String {
        self.get(&format!("element/{element}/text")).await.as_str().unwrap().to_owned()
    }

    async fn property(&self, element: &str, name: &str) -> String {
        self.get(&format!("element/{element}/property/{name}")).await.as_str().unwrap().to_owned()
    }

    /// Where `element` is drawn: x, y, width, height in CSS pixels.
    async fn rect(&self, element: &str) -> [f64; 4] {
        let rect = self.get(&format!("element/{element}/rect")).await;
        ["x", "y", "width", "height"].map(|k| rect[k].as_f64().unwrap_or_else(|| panic!("{rect}")))
    }

    async fn close(self) {
        let _ = self.http.delete(&self.session).send().await;
    }
}

fn browser_available() -> bool {
    let present = Path::new(CHROMIUM).exists() && Path::new(CHROMEDRIVER).exists();
    if !present {
        assert!(
            std::env::var_os("REQUIRE_BROWSER").is_none(),
            "REQUIRE_BROWSER is set but {CHROMIUM} or {CHROMEDRIVER} is missing"
        );
        eprintln!(
            "SKIPPED: the browser test needs Debian's chromium and chromium-driver \
             (sudo apt-get install chromium chromium-driver); .ci/run installs them"
        );
    }
    present
}

#[tokio::test(flavor = "multi_thread")]
async fn clicking_a_scenario_button_adds_a_row_with_its_status_latency_and_trace_link() {
    if !browser_available() {
        return;
    }
    let receiver = receiver().await;
    let stack = Stack::start(&receiver.endpoint(), &[("JAEGER_UI_URL", "http://jaeger.test:16686")]).await;
    let browser = Browser::start().await;
    browser.open(&format!("{}/", stack.gateway.url())).await;

    // A button per scenario, built from GET /api/scenarios.
    let happy = browser.find(r#"button[data-scenario="happy"]"#).await;
    browser.find(r#"button[data-scenario="pool-contention"]"#).await;
    browser.click(&happy).await;
    let row = browser.find(r#"#results tr[data-status="201"]"#).await;
    let text = browser.text(&row).await;
    let link = browser.find(r#"#results tr[data-status="201"] a.trace"#).await;
    let href = browser.property(&link, "href").await;

    let out_of_stock = browser.find(r#"button[data-scenario="out-of-stock"]"#).await;
    browser.click(&out_of_stock).await;
    let refused = browser.find(r#"#results tr[data-status="409"]"#).await;
    let refused_text = browser.text(&refused).await;
    let refused_href =
        browser.property(&browser.find(r#"#results tr[data-status="409"] a.trace"#).await, "href").await;

    // A mistake chosen in the list, made by the next checkout.
    browser.click(&browser.find(r#"#mistake option[value="id-in-span-name"]"#).await).await;
    browser.click(&happy).await;
    let mistaken = browser.find(r#"#results tr[data-mistake="id-in-span-name"][data-status="201"]"#).await;
    let mistaken_text = browser.text(&mistaken).await;
    let mistaken_href = browser
        .property(&browser.find(r#"#results tr[data-mistake="id-in-span-name"] a.trace"#).await, "href")
        .await;
    // Each control's label and its field share a line, at a laptop's width and a narrow one.
    let mut layouts = Vec::new();
    for width in [1280, 800] {
        browser.call("window/rect", json!({"width": width, "height": 900})).await;
        for field in ["#mistake", "#concurrency"] {
            let label = browser.rect(&browser.find(&format!("label:has({field})")).await).await;
            let input = browser.rect(&browser.find(field).await).await;
            layouts.push((width, field, label, input));
        }
    }
    browser.close().await;
    for (width, field, label, input) in layouts {
        // One line: the label is no taller than its field (plus the line's leading).
        assert!(
            label[3] < input[3] * 1.6,
            "at {width}px, {field}'s label wraps: {label:?}, its field {input:?}"
        );
        assert!(
            input[1] >= label[1] - 1.0 && input[1] + input[3] <= label[1] + label[3] + 1.0,
            "{width} {field}"
        );
    }

    // The row: scenario, status, a latency, the order; the link opens its trace in Jaeger.
    assert!(
        text.contains("happy") && text.contains("201") && text.contains(" ms") && text.contains("ord_"),
        "{text}"
    );
    let trace_id = href.strip_prefix("http://jaeger.test:16686/trace/").unwrap_or_else(|| panic!("{href}"));
    assert_eq!(trace_id.len(), 32, "{href}");
    assert!(refused_text.contains("409") && refused_text.contains("out_of_stock"), "{refused_text}");
    let refused_trace = refused_href.rsplit('/').next().unwrap().to_owned();
    assert_ne!(refused_trace, trace_id);

    // And the link is to the real trace: the click's checkout, whole, chosen by the page's query.
    let spans = receiver
        .store
        .wait_for(SPANS_TIMEOUT, |s| of_trace(s, trace_id).len() >= CHECKOUT_SPANS + 2)
        .await
        .unwrap();
    let trace = of_trace(&spans, trace_id);
    assert!(trace.iter().all(|s| s.str_attribute("demo.scenario") == Some("happy")));
    assert!(spans.iter().any(|s| s.trace_id == refused_trace));

    // The mistake's checkout: order-service's SERVER span named after its order.
    assert!(mistaken_text.contains("happy + id-in-span-name"), "{mistaken_text}");
    let mistaken_trace = mistaken_href.rsplit('/').next().unwrap().to_owned();
    let spans = receiver
        .store
        .wait_for(SPANS_TIMEOUT, |s| of_trace(s, &mistaken_trace).len() >= CHECKOUT_SPANS + 2)
        .await
        .unwrap();
    let server = of_trace(&spans, &mistaken_trace)
        .into_iter()
        .find(|s| s.service_name == "order-service" && s.kind == tracectl::model::Kind::Server)
        .unwrap();
    assert!(server.name.starts_with("POST /orders ord_"), "{}", server.name);
    assert_eq!(server.str_attribute("demo.mistake"), Some("id-in-span-name"));
    stack.stop().await;

    // Opening the page (the page, its two lists, the icon a browser asks for) made no trace: the
    // three checkouts' traces are all there is, once the services have flushed on their way out.
    let checkouts = [trace_id, refused_trace.as_str(), mistaken_trace.as_str()];
    let others: Vec<String> = receiver
        .store
        .spans()
        .into_iter()
        .filter(|s| !checkouts.contains(&s.trace_id.as_str()))
        .map(|s| format!("{} {:?}", s.service_name, s.name))
        .collect();
    assert!(others.is_empty(), "spans of no checkout: {others:?}");
}
