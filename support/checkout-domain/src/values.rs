//! The values every service of the checkout passes to the next, parsed once into types that
//! cannot hold a wrong one (parse, don't validate): a [`Sku`], a [`Quantity`], an amount in
//! [`Cents`]. They serialise as the plain string or number they wrap, so the JSON between the
//! services is what it always was; deserialising one checks it, so a service behind the gateway
//! trusts no one either.

use std::{fmt, iter::Sum};

use serde::{Deserialize, Serialize};

/// Most units of one item.
pub const MAX_QUANTITY: u32 = 100;
/// Longest sku accepted; anything longer is not a real one.
pub const MAX_SKU_LEN: usize = 128;

/// A value broke a rule; the message says which, for the client.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ValidationError(pub String);

/// A stock-keeping unit: non-empty, at most [`MAX_SKU_LEN`] characters, no surrounding blanks.
/// Whether it exists is the catalog's business.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String")]
pub struct Sku(String);

impl Sku {
    /// Parses the sku in `field` (named in the error: `items[2].sku`).
    pub fn parse(field: &str, value: String) -> Result<Self, ValidationError> {
        let value = value.trim();
        if value.is_empty() {
            Err(ValidationError(format!("{field} must not be empty")))
        } else if value.chars().count() > MAX_SKU_LEN {
            Err(ValidationError(format!("{field} must be at most {MAX_SKU_LEN} characters")))
        } else {
            Ok(Self(value.to_owned()))
        }
    }

    /// The sku.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Sku {
    type Error = ValidationError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse("sku", value)
    }
}

impl fmt::Display for Sku {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// How many units of one item: 1 to [`MAX_QUANTITY`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "i64")]
pub struct Quantity(u32);

impl Quantity {
    /// Parses the quantity in `field` (named in the error). Signed, so that a negative quantity
    /// gets this message rather than a number parser's.
    pub fn parse(field: &str, value: i64) -> Result<Self, ValidationError> {
        if (1..=i64::from(MAX_QUANTITY)).contains(&value) {
            Ok(Self(value as u32))
        } else {
            Err(ValidationError(format!("{field} must be between 1 and {MAX_QUANTITY}, got {value}")))
        }
    }

    /// The number of units.
    pub fn get(self) -> u32 {
        self.0
    }
}

impl TryFrom<i64> for Quantity {
    type Error = ValidationError;
    fn try_from(value: i64) -> Result<Self, Self::Error> {
        Self::parse("quantity", value)
    }
}

/// An amount of money in cents (integer cents: money never goes through a float).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Cents(u64);

impl Cents {
    /// `cents` cents.
    pub const fn new(cents: u64) -> Self {
        Self(cents)
    }

    /// The amount in cents.
    pub fn get(self) -> u64 {
        self.0
    }

    /// The price of `quantity` units at this unit price.
    pub fn times(self, quantity: Quantity) -> Self {
        Self(self.0 * u64::from(quantity.get()))
    }

    /// As a span attribute: OTLP integers are signed (a larger amount saturates).
    pub fn as_attribute(self) -> i64 {
        i64::try_from(self.0).unwrap_or(i64::MAX)
    }
}

impl Sum for Cents {
    fn sum<I: Iterator<Item = Self>>(iter: I) -> Self {
        Self(iter.map(|c| c.0).sum())
    }
}

impl fmt::Display for Cents {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skus_are_trimmed_non_empty_and_bounded() {
        assert_eq!(Sku::parse("items[0].sku", " sku-mug ".into()).map(|s| s.0), Ok("sku-mug".to_owned()));
        assert_eq!(Sku::parse("items[1].sku", "  ".into()).unwrap_err().0, "items[1].sku must not be empty");
        assert!(Sku::parse("sku", "x".repeat(MAX_SKU_LEN + 1)).is_err());
    }

    #[test]
    fn quantities_are_one_to_a_hundred_and_say_which_field_was_wrong() {
        assert_eq!(Quantity::parse("q", 100).map(Quantity::get), Ok(100));
        assert_eq!(
            Quantity::parse("items[1].quantity", 0).unwrap_err().0,
            "items[1].quantity must be between 1 and 100, got 0"
        );
        assert!(Quantity::parse("q", -3).unwrap_err().0.contains("got -3"));
    }

    #[test]
    fn the_json_between_services_is_the_plain_values_and_is_checked_on_the_way_in() {
        let json = r#"{"sku":"sku-book","quantity":2,"total":3998}"#;
        #[derive(Debug, Serialize, Deserialize, PartialEq)]
        struct Line {
            sku: Sku,
            quantity: Quantity,
            total: Cents,
        }
        let line: Line = serde_json::from_str(json).expect("valid");
        assert_eq!((line.sku.as_str(), line.quantity.get(), line.total), ("sku-book", 2, Cents::new(3_998)));
        assert_eq!(serde_json::to_string(&line).expect("serialises"), json);
        let zero = serde_json::from_str::<Line>(r#"{"sku":"s","quantity":0,"total":1}"#).unwrap_err();
        assert!(zero.to_string().contains("quantity must be between 1 and 100, got 0"), "{zero}");
        assert!(serde_json::from_str::<Line>(r#"{"sku":" ","quantity":1,"total":1}"#).is_err());
    }

    #[test]
    fn line_prices_add_up_in_cents() {
        let lines = [Cents::new(1_250).times(Quantity(3)), Cents::new(3_999).times(Quantity(2))];
        assert_eq!(lines.into_iter().sum::<Cents>(), Cents::new(11_748));
    }
}
