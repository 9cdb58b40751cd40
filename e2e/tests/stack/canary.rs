//! The card-data canary: a card number and a card token are put in every field of a checkout and
//! in every header a client controls, and neither may appear in anything the services export
//! (span names, attributes, events, statuses, resources) or log.

use crate::support::*;
use serde_json::json;

/// A Luhn-valid test card number, in the groupings people type.
const PAN: &str = "4111111111111111";
const PAN_SPACED: &str = "4111 1111 1111 1111";
const PAN_DASHED: &str = "4111-1111-1111-1111";
/// A card token.
const TOKEN: &str = "tok_canary_4242";

fn leaks(text: &str) -> Vec<&'static str> {
    [PAN, PAN_SPACED, PAN_DASHED, TOKEN, "canary_4242"].into_iter().filter(|c| text.contains(c)).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn card_numbers_and_tokens_never_reach_spans_or_logs() {
    let receiver = receiver().await;
    // DEBUG logs too: nothing may leak even when someone turns logging up.
    let stack =
        Stack::start(&receiver.endpoint(), &[("RUST_LOG", "debug"), ("BAGGAGE_ALLOWLIST", "scenario,card")])
            .await;
    let client = http();
    let checkout = format!("{}/api/checkout", stack.gateway.url());
    let hostile_headers = |request: reqwest::RequestBuilder| {
        request
            .header("user-agent", format!("shop-app/1.0 card={PAN_SPACED}"))
            .header("x-forwarded-for", PAN)
            .header("referer", format!("https://shop.example/pay?card={PAN_DASHED}&token={TOKEN}"))
            .header("baggage", format!("card={PAN}:{TOKEN}"))
            .header("traceparent", format!("00-{PAN}{PAN}-{TOKEN}-01"))
    };
    let bodies = [
        // The card token where it belongs, and card data in every other field.
        json!({"customer_id": PAN_SPACED, "items": [{"sku": "sku-book", "quantity": 1}], "card_token": TOKEN}),
        // A raw card number where the token belongs.
        json!({"customer_id": "cust-1", "items": [{"sku": "sku-book", "quantity": 1}], "card_token": PAN}),
        // Card data as a sku (rejected: unknown sku, whose message repeats the sku).
        json!({"customer_id": TOKEN, "items": [{"sku": PAN_DASHED, "quantity": 1}], "card_token": TOKEN}),
        // Card data where a number belongs (rejected by the parser, whose message quotes it).
        json!({"customer_id": "c", "items": [{"sku": "sku-book", "quantity": PAN}], "card_token": TOKEN}),
    ];
    let mut statuses = Vec::new();
    for body in &bodies {
        let response = hostile_headers(client.post(&checkout)).json(body).send().await.unwrap();
        statuses.push(response.status().as_u16());
    }
    // Card data in the path, in the query string, and as a scenario name (refused with a 400
    // whose message quotes it back to the client, and must go nowhere else).
    for url in [
        format!("{checkout}/{PAN}"),
        format!("{checkout}?card={PAN}&token={TOKEN}"),
        format!("{checkout}?scenario={PAN}"),
    ] {
        let response = hostile_headers(client.post(url)).json(&bodies[0]).send().await.unwrap();
        statuses.push(response.status().as_u16());
    }
    assert_eq!(
        statuses,
        [201, 201, 422, 422, 404, 201, 400],
        "the requests went where the test meant them to"
    );

    let logs: Vec<String> =
        [&stack.gateway, &stack.order, &stack.payment].iter().flat_map(|s| s.logs()).collect();
    stack.stop().await;
    let spans = receiver.store.spans();
    assert!(spans.len() >= 3 * 9, "the three successful checkouts were traced: {} spans", spans.len());

    // Assert: nothing leaked, anywhere.
    for span in &spans {
        let exported = serde_json::to_string(span).unwrap();
        assert!(
            leaks(&exported).is_empty(),
            "{:?} leaked into span {:?}: {exported}",
            leaks(&exported),
            span.name
        );
    }
    for line in &logs {
        assert!(leaks(line).is_empty(), "{:?} leaked into a log line: {line}", leaks(line));
    }
    // …and the redaction really ran where data would have gone: the User-Agent and the path are
    // recorded on SERVER spans, masked.
    let exported = serde_json::to_string(&spans).unwrap();
    assert!(exported.contains("shop-app/1.0 card=[REDACTED-PAN]"), "the user agent was recorded, masked");
    assert!(exported.contains("/api/checkout/[REDACTED-PAN]"), "the path was recorded, masked");
}
