//! Defence in depth for card data: the rule that masks card numbers and card tokens in every
//! exported span and log line (shared-tracing's redaction applies it: see
//! `shared_tracing_hardening::redact`, and [`crate::telemetry`], which hands it over).
//!
//! The first line of defence is the type system ([`crate::sensitive::CardToken`] cannot be
//! printed). This is the second: headers, paths and error messages carry whatever a client sent,
//! and a well-meaning `span.set_attribute("http.request.header.referer", …)` must not become a
//! PCI incident. So every exported span and every log line passes through [`mask`], which masks
//! - card numbers (PANs): 13 to 19 digits, optionally grouped with spaces or dashes, that pass
//!   the Luhn check (so order numbers and timestamps are left alone), standing apart from the
//!   letters and digits around them, and
//! - card tokens: `tok_…`, the form Stripe's tokens take.
//!
//! "Standing apart" is what keeps identifiers whole. A trace id, a span id or an `ord_…` id is
//! hex, and one in a few hundred holds 13 or more decimal digits in a row that pass the Luhn
//! check; masking that run would break the id (an order id in a span that no search finds, a log
//! line pointing at no trace). A digit run glued to a letter or another digit is part of such a
//! word and left alone; a card number is written apart from its neighbours, or after an
//! underscore (`card_4111…` is masked, so is `4111…` after a space, `=`, `/` or a quote).

use std::{borrow::Cow, sync::LazyLock};

use regex::Regex;

/// What a masked card number becomes.
pub const PAN_MASK: &str = "[REDACTED-PAN]";
/// What a masked card token becomes.
pub const TOKEN_MASK: &str = "tok_****";

static PAN: LazyLock<Regex> = LazyLock::new(|| {
    // Checked against the Luhn sum below; the pattern takes digit runs with single separators,
    // so "4111 1111 1111 1111" and "4111-1111-1111-1111" both match. The run must start at a word
    // boundary or after an underscore (which is then part of the match, and kept), and end at a
    // word boundary: a run inside a hex id is not a card number (see the module docs).
    Regex::new(r"(?:_|(?-u:\b))\d(?:[ -]?\d){12,18}(?-u:\b)")
        .unwrap_or_else(|e| unreachable!("valid pattern: {e}"))
});
static TOKEN: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"tok_[A-Za-z0-9_]+").unwrap_or_else(|e| unreachable!("valid pattern: {e}")));

fn luhn_valid(digits: &[u8]) -> bool {
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, d)| {
            let d = u32::from(*d);
            if i % 2 == 1 {
                let doubled = d * 2;
                if doubled > 9 { doubled - 9 } else { doubled }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

/// Whether `bytes` holds 13 or more digits in a row, single spaces or dashes allowed between
/// them: exactly the runs [`PAN`] can match, found without a regex. It is the hot path (every
/// attribute of every span), the regex runs only when it says yes.
fn has_long_digit_run(bytes: &[u8]) -> bool {
    let mut digits = 0;
    let mut after_separator = false;
    for &b in bytes {
        if b.is_ascii_digit() {
            digits += 1;
            if digits >= 13 {
                return true;
            }
            after_separator = false;
        } else if (b == b' ' || b == b'-') && digits > 0 && !after_separator {
            after_separator = true;
        } else {
            digits = 0;
            after_separator = false;
        }
    }
    false
}

/// Masks card numbers and card tokens in `text`; borrows when there is nothing to mask.
pub fn mask(text: &str) -> Cow<'_, str> {
    // Every span attribute of every request passes through here, and nearly all are clean: rule
    // them out with byte scans before running a regex. First one branch-free pass (the compiler
    // vectorises it) counts what card data needs: 13 digits for a card number, an underscore for a
    // token. Order ids (UUIDs) hold many digits, so for them the digit count is not enough, and a
    // second scan looks for the PAN pattern's shape itself.
    let bytes = text.as_bytes();
    let (digits, underscores) = bytes.iter().fold((0_usize, 0_usize), |(digits, underscores), &b| {
        (digits + usize::from(b.is_ascii_digit()), underscores + usize::from(b == b'_'))
    });
    let might_hold_token = underscores > 0 && text.contains("tok_");
    let might_hold_pan = digits >= 13 && has_long_digit_run(bytes);
    if !might_hold_token && !might_hold_pan {
        return Cow::Borrowed(text);
    }
    let mut out = Cow::Borrowed(text);
    if might_hold_token && TOKEN.is_match(&out) {
        out = Cow::Owned(TOKEN.replace_all(&out, TOKEN_MASK).into_owned());
    }
    if might_hold_pan && PAN.is_match(&out) {
        let replaced = PAN.replace_all(&out, |caps: &regex::Captures<'_>| {
            let found = &caps[0];
            let digits: Vec<u8> = found.bytes().filter(u8::is_ascii_digit).map(|b| b - b'0').collect();
            if !((13..=19).contains(&digits.len()) && luhn_valid(&digits)) {
                found.to_owned()
            } else if found.starts_with('_') {
                format!("_{PAN_MASK}")
            } else {
                PAN_MASK.to_owned()
            }
        });
        if replaced != out {
            out = Cow::Owned(replaced.into_owned());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn card_numbers_are_masked_in_any_common_grouping() {
        for pan in ["4111111111111111", "4111 1111 1111 1111", "4111-1111-1111-1111", "378282246310005"] {
            assert_eq!(mask(&format!("card {pan} here")), format!("card {PAN_MASK} here"), "{pan}");
        }
    }

    #[test]
    fn digit_runs_that_fail_the_luhn_check_are_left_alone() {
        // A 16-digit order number and a nanosecond timestamp are not card numbers.
        for text in ["order 1234567890123456", "at 1795576455123456789"] {
            assert!(matches!(mask(text), Cow::Borrowed(_)), "{text}");
        }
    }

    #[test]
    fn a_card_number_standing_apart_is_masked_whatever_its_neighbours() {
        for (text, masked) in [
            ("card_4111111111111111", "card_[REDACTED-PAN]"),
            ("?card=4111111111111111&x=1", "?card=[REDACTED-PAN]&x=1"),
            ("/api/checkout/4111111111111111", "/api/checkout/[REDACTED-PAN]"),
            (r#"{"pan":"4111 1111 1111 1111"}"#, r#"{"pan":"[REDACTED-PAN]"}"#),
            ("4111111111111111,4111111111111111", "[REDACTED-PAN],[REDACTED-PAN]"),
            ("(4111-1111-1111-1111)", "([REDACTED-PAN])"),
        ] {
            assert_eq!(mask(text), masked, "{text}");
        }
    }

    #[test]
    fn hex_ids_whose_digits_pass_the_luhn_check_are_left_whole() {
        // Each holds 4111111111111111, glued to letters or digits.
        for id in [
            "ord_ab4111111111111111cdef01234567",
            "0af76519c4111111111111111e0319cd",
            "span 4111111111111111a",
            "trace a4111111111111111",
            "20 digits 41111111111111111111",
        ] {
            assert!(matches!(mask(id), Cow::Borrowed(_)), "{id} became {}", mask(id));
        }
        // And random ids, many of which hold long digit runs: without the boundary rule about
        // one in 560 `ord_` ids would lose a Luhn-valid run to the mask.
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        let mut hex = || {
            (0..32)
                .map(|_| {
                    // xorshift64*: deterministic, no dependency.
                    state ^= state >> 12;
                    state ^= state << 25;
                    state ^= state >> 27;
                    let r = state.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 60;
                    // Digits twice as likely as in real hex, to make long runs common.
                    b"01234567890123456789abcdef"[(r as usize * 26) >> 4] as char
                })
                .collect::<String>()
        };
        for _ in 0..20_000 {
            let id = format!("ord_{}", hex());
            assert_eq!(mask(&id), id);
        }
    }

    #[test]
    fn card_tokens_are_masked() {
        assert_eq!(mask("charged tok_visa and tok_1NcL2x_abc"), "charged tok_**** and tok_****");
    }

    #[test]
    fn the_pre_check_finds_exactly_the_runs_the_pattern_can_match() {
        for (text, expected) in [
            ("4111111111111111", true),
            ("4111 1111 1111 1111", true),
            ("4111-1111-1111-1111", true),
            ("123456789012", false),
            ("1234567890123", true),
            ("4111  1111 1111 1111", false), // a double separator breaks the run
            ("4111--1111-1111-1111", false),
            ("order 0b4e7f30-2c9d-4f55-9a11-82c7b3a91d04", false),
            ("trace 4bf92f3577b34da6a3ce929d0e0e4736", false),
        ] {
            assert_eq!(has_long_digit_run(text.as_bytes()), expected, "{text}");
            assert_eq!(PAN.is_match(text), expected, "the regex disagrees on {text}");
        }
    }

    #[test]
    fn clean_text_is_borrowed_not_copied() {
        assert!(matches!(mask("POST /api/checkout"), Cow::Borrowed(_)));
    }
}
