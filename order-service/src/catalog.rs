//! The built-in product catalog: a handful of skus with prices in integer cents.
//!
//! A real service would query a database here (and issue #3 adds one); a fixed table keeps the
//! first trace about the request's journey rather than about storage.

use checkout_domain::values::{Cents, Quantity, Sku};
use serde::{Deserialize, Serialize};

/// One product.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Product {
    /// The stock-keeping unit (`sku-book`).
    pub sku: &'static str,
    /// A human name.
    pub name: &'static str,
    /// Unit price in cents.
    pub price_cents: Cents,
}

/// Every product the shop sells.
pub const PRODUCTS: [Product; 5] = [
    Product { sku: "sku-book", name: "Distributed Tracing in Practice", price_cents: Cents::new(3_999) },
    Product { sku: "sku-mug", name: "Span mug", price_cents: Cents::new(1_250) },
    Product { sku: "sku-shirt", name: "traceparent T-shirt", price_cents: Cents::new(2_400) },
    Product { sku: "sku-sticker", name: "Jaeger sticker", price_cents: Cents::new(199) },
    Product { sku: "sku-poster", name: "Critical path poster", price_cents: Cents::new(1_500) },
];

/// One line of an order: a sku and a quantity, each checked as it is read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderItem {
    /// The product.
    pub sku: Sku,
    /// How many (1 to 100).
    pub quantity: Quantity,
}

/// Looks a sku up.
pub fn find(sku: &str) -> Option<&'static Product> {
    PRODUCTS.iter().find(|p| p.sku == sku)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_skus_have_prices_and_unknown_ones_do_not() {
        assert_eq!(find("sku-book").map(|p| p.price_cents), Some(Cents::new(3_999)));
        assert_eq!(find("sku-nope"), None);
    }

    #[test]
    fn skus_are_unique() {
        for (i, p) in PRODUCTS.iter().enumerate() {
            assert!(PRODUCTS[i + 1..].iter().all(|q| q.sku != p.sku), "{} twice", p.sku);
        }
    }
}
