//! `Idempotency-Key`: the header that makes a checkout safe to retry, as in Stripe's API.
//!
//! A client that repeats a request with the same key (after a timeout, say) gets the first
//! answer again instead of a second charge. The gateway checks the key at the edge; order-service
//! stores it with the order and checks it again (an internal API still trusts no one).

use http::HeaderValue;

/// The header name (lowercase, as HTTP/2 sends it).
pub const HEADER: &str = "idempotency-key";
/// The response header that says an answer was replayed, not computed again.
pub const REPLAYED_HEADER: &str = "idempotent-replayed";
/// Longest accepted key (Stripe allows 255 characters).
pub const MAX_LEN: usize = 255;

/// Checks a key: 1 to [`MAX_LEN`] visible ASCII characters. The error says what is wrong.
pub fn parse(value: &HeaderValue) -> Result<String, String> {
    let invalid = || format!("Idempotency-Key must be 1 to {MAX_LEN} visible ASCII characters");
    let key = value.to_str().map_err(|_| invalid())?.trim();
    if key.is_empty() || key.len() > MAX_LEN || !key.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(invalid());
    }
    Ok(key.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_visible_ascii_of_bounded_length() {
        let ok = |s: &str| parse(&HeaderValue::from_str(s).expect("header")).is_ok();
        assert!(ok("checkout-7f3a"));
        assert!(ok(&"k".repeat(MAX_LEN)));
        assert!(!ok(&"k".repeat(MAX_LEN + 1)));
        assert!(!ok("two words"));
        assert!(!ok("   "));
        assert!(parse(&HeaderValue::from_bytes(b"caf\xc3\xa9").expect("header")).is_err());
    }
}
