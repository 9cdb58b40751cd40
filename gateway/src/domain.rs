//! A checkout, parsed at the edge: once a [`Checkout`] exists, every rule of the public API holds,
//! so nothing downstream re-checks shapes (parse, don't validate).
//!
//! Rules: `customer_id` non-empty; 1–50 items; each `sku` non-empty; each `quantity` 1–100;
//! `card_token` present and non-empty.

use checkout_domain::sensitive::CardToken;
pub use checkout_domain::values::{Quantity, Sku, ValidationError};
use serde::{Deserialize, Serialize};

/// Most items one checkout may hold.
pub const MAX_ITEMS: usize = 50;
/// Longest customer id accepted; anything longer is not a real id.
const MAX_ID_LEN: usize = 128;

/// The body of `POST /api/checkout`, as received (numbers signed, so a negative quantity gets our
/// message rather than serde's).
#[derive(Debug, Deserialize)]
pub struct CheckoutBody {
    /// Who is buying.
    pub customer_id: String,
    /// What they buy.
    pub items: Vec<ItemBody>,
    /// How they pay.
    pub card_token: String,
}

/// One item as received.
#[derive(Debug, Deserialize)]
pub struct ItemBody {
    /// The product.
    pub sku: String,
    /// How many.
    pub quantity: i64,
}

/// A non-empty customer id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CustomerId(String);

impl CustomerId {
    /// Parses a customer id: non-empty, at most 128 characters.
    pub fn parse(value: String) -> Result<Self, ValidationError> {
        non_empty_id("customer_id", value).map(Self)
    }

    /// The id.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// One valid line of a checkout.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LineItem {
    /// The product.
    pub sku: Sku,
    /// How many.
    pub quantity: Quantity,
}

/// A valid checkout. Serialises as order-service's `POST /orders` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Checkout {
    /// Who is buying.
    pub customer_id: CustomerId,
    /// What they buy: 1 to [`MAX_ITEMS`] lines.
    pub items: Vec<LineItem>,
    /// How they pay (redacted whenever printed).
    pub card_token: CardToken,
}

impl Checkout {
    /// Parses a received body, or says which rule it breaks.
    pub fn parse(body: CheckoutBody) -> Result<Self, ValidationError> {
        let customer_id = CustomerId::parse(body.customer_id)?;
        if body.items.is_empty() || body.items.len() > MAX_ITEMS {
            return Err(ValidationError(format!(
                "items must hold 1 to {MAX_ITEMS} entries, got {}",
                body.items.len()
            )));
        }
        let items = body
            .items
            .into_iter()
            .enumerate()
            .map(|(i, item)| {
                Ok(LineItem {
                    sku: Sku::parse(&format!("items[{i}].sku"), item.sku)?,
                    quantity: Quantity::parse(&format!("items[{i}].quantity"), item.quantity)?,
                })
            })
            .collect::<Result<Vec<_>, ValidationError>>()?;
        let card_token = CardToken::parse(body.card_token).map_err(|e| ValidationError(e.to_string()))?;
        Ok(Self { customer_id, items, card_token })
    }
}

fn non_empty_id(field: &str, value: String) -> Result<String, ValidationError> {
    let value = value.trim().to_owned();
    if value.is_empty() {
        Err(ValidationError(format!("{field} must not be empty")))
    } else if value.chars().count() > MAX_ID_LEN {
        Err(ValidationError(format!("{field} must be at most {MAX_ID_LEN} characters")))
    } else {
        Ok(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(customer: &str, items: &[(&str, i64)], token: &str) -> CheckoutBody {
        CheckoutBody {
            customer_id: customer.into(),
            items: items.iter().map(|(s, q)| ItemBody { sku: (*s).into(), quantity: *q }).collect(),
            card_token: token.into(),
        }
    }

    fn error_of(b: CheckoutBody) -> String {
        Checkout::parse(b).expect_err("should be rejected").0
    }

    #[test]
    fn a_valid_checkout_parses() {
        let c = Checkout::parse(body("cust-42", &[("sku-book", 2)], "tok_visa")).expect("valid");
        assert_eq!(c.items.len(), 1);
        assert_eq!(c.items[0].quantity.get(), 2);
    }

    #[test]
    fn an_empty_customer_id_is_rejected() {
        assert_eq!(error_of(body("  ", &[("sku-book", 1)], "tok_visa")), "customer_id must not be empty");
    }

    #[test]
    fn zero_negative_and_excessive_quantities_are_rejected_with_the_item_index() {
        assert_eq!(
            error_of(body("c", &[("sku-book", 1), ("sku-mug", 0)], "tok")),
            "items[1].quantity must be between 1 and 100, got 0"
        );
        assert!(error_of(body("c", &[("sku-book", -3)], "tok")).contains("got -3"));
        assert!(error_of(body("c", &[("sku-book", 101)], "tok")).contains("got 101"));
    }

    #[test]
    fn no_items_and_too_many_items_are_rejected() {
        assert!(error_of(body("c", &[], "tok")).starts_with("items must hold 1 to 50"));
        let many: Vec<(&str, i64)> = (0..51).map(|_| ("sku-book", 1)).collect();
        assert!(error_of(body("c", &many, "tok")).ends_with("got 51"));
    }

    #[test]
    fn an_empty_sku_or_card_token_is_rejected() {
        assert_eq!(error_of(body("c", &[("", 1)], "tok")), "items[0].sku must not be empty");
        assert_eq!(error_of(body("c", &[("sku-book", 1)], "")), "card_token must not be empty");
    }

    #[test]
    fn a_checkout_serialises_as_the_order_service_request() {
        let c = Checkout::parse(body("cust-42", &[("sku-book", 2)], "tok_visa")).expect("valid");
        let json = serde_json::to_value(&c).expect("serialises");
        assert_eq!(
            json,
            serde_json::json!({"customer_id": "cust-42", "items": [{"sku": "sku-book", "quantity": 2}], "card_token": "tok_visa"})
        );
    }
}
