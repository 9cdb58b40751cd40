//! Values that must never reach a span, an event or a log line.
//!
//! The safest way to keep card data out of telemetry is to make it impossible to print: a
//! `CardToken` can be received and forwarded as JSON, but its `Debug` and `Display` print
//! `tok_****`, so `tracing::info!(?request)` or `#[instrument]` on a function taking one
//! cannot leak it. Only [`CardToken::expose`] gives the value, and it is called in one place:
//! where the (simulated) card processor is charged.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize};

/// A payment card token (`tok_visa`, …). Serialisable for the wire, redacted when formatted.
#[derive(Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct CardToken(String);

/// The token was empty or too long to be a card token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CardTokenError {
    /// Empty or only spaces.
    #[error("card_token must not be empty")]
    Empty,
    /// Over [`CardToken::MAX_LEN`] characters.
    #[error("card_token must be at most {} characters", CardToken::MAX_LEN)]
    TooLong,
}

impl CardToken {
    /// The longest token accepted; real processor tokens are far shorter.
    pub const MAX_LEN: usize = 255;

    /// Parses a token: non-empty and at most [`Self::MAX_LEN`] characters.
    pub fn parse(value: String) -> Result<Self, CardTokenError> {
        if value.trim().is_empty() {
            Err(CardTokenError::Empty)
        } else if value.chars().count() > Self::MAX_LEN {
            Err(CardTokenError::TooLong)
        } else {
            Ok(Self(value))
        }
    }

    /// The real token. Call only where the card is actually charged.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for CardToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CardToken(tok_****)")
    }
}

impl fmt::Display for CardToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("tok_****")
    }
}

impl<'de> Deserialize<'de> for CardToken {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(deserializer)?;
        CardToken::parse(raw).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formatting_a_card_token_never_shows_it() {
        let token = CardToken::parse("tok_4242424242424242".into()).expect("valid");
        assert!(!format!("{token:?}").contains("4242"));
        assert!(!format!("{token}").contains("4242"));
        assert_eq!(token.expose(), "tok_4242424242424242");
    }

    #[test]
    fn the_wire_format_is_the_plain_string() {
        let token: CardToken = serde_json::from_str("\"tok_visa\"").expect("valid");
        assert_eq!(serde_json::to_string(&token).expect("serialises"), "\"tok_visa\"");
    }

    #[test]
    fn empty_and_oversized_tokens_are_rejected() {
        assert_eq!(CardToken::parse("  ".into()), Err(CardTokenError::Empty));
        assert_eq!(CardToken::parse("x".repeat(256)), Err(CardTokenError::TooLong));
        assert!(serde_json::from_str::<CardToken>("\"\"").is_err());
    }
}
