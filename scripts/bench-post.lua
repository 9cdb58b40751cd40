-- wrk script: every request is the README.md checkout.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"customer_id":"cust-42","items":[{"sku":"sku-book","quantity":2},{"sku":"sku-mug","quantity":1}],"card_token":"tok_visa"}'
