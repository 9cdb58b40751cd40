//! `GET /`: the teaching page. One self-contained HTML file (no build step, no CDN) with a button
//! per scenario; each click sends a checkout and adds a row with its status, its latency and a
//! link to its trace in the Jaeger UI (or, without one, the trace id to give `tracectl show`).
//!
//! The page is not traced (like `/health`), nor are the two lists it loads: the checkouts it
//! sends are. Its icon is inline, so a browser asks for no `/favicon.ico` (a traced 404).

use axum::{
    http::header,
    response::{Html, IntoResponse},
};

const TEMPLATE: &str = include_str!("page.html");

/// Only what the page's inline style and script need: everything else from this origin.
const CSP: &str = "default-src 'self'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; \
                   connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// The page, with the Jaeger UI address its trace links use.
#[derive(Debug, Clone)]
pub struct Page(String);

impl Page {
    /// Renders the page once, at start-up; without a Jaeger UI, each row shows its trace id.
    pub fn new(jaeger_ui_url: Option<&str>) -> Self {
        Page(TEMPLATE.replace("__JAEGER_UI_URL__", &escape_attribute(jaeger_ui_url.unwrap_or(""))))
    }

    /// Answers `GET /`.
    pub fn response(&self) -> impl IntoResponse + use<> {
        ([(header::CONTENT_SECURITY_POLICY, CSP), (header::CACHE_CONTROL, "no-cache")], Html(self.0.clone()))
    }
}

/// Escapes a value for a double-quoted HTML attribute.
fn escape_attribute(value: &str) -> String {
    value.replace('&', "&amp;").replace('"', "&quot;").replace('<', "&lt;").replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_jaeger_address_is_escaped_into_its_meta_tag() {
        let page = Page::new(Some("http://jaeger.example/\"><script>alert(1)</script>"));
        assert!(page.0.contains(
            r#"<meta name="jaeger-ui" content="http://jaeger.example/&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;">"#
        ));
        assert!(!page.0.contains("__JAEGER_UI_URL__"));
    }
}
