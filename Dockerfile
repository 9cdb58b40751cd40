# syntax=docker/dockerfile:1
#
# One Dockerfile for the three services; `--build-arg SERVICE=<name>` picks which binary the final
# image holds (docker-compose.yml sets it). Stages:
#   chef     - the Rust toolchain plus cargo-chef
#   planner  - turns Cargo.toml/Cargo.lock into recipe.json (the dependency list)
#   builder  - builds the dependencies from the recipe (cached until Cargo.lock changes), then the
#              workspace; identical for all three services, so Docker builds it once
#   runtime  - a slim Debian with one binary, curl for the healthcheck, and a non-root user
ARG RUST_VERSION=1.95

FROM rust:${RUST_VERSION}-slim-trixie AS chef
RUN cargo install cargo-chef --locked --version 0.1.78
WORKDIR /app

FROM chef AS planner
COPY . .
RUN cargo chef prepare --recipe-path recipe.json

FROM chef AS builder
COPY --from=planner /app/recipe.json recipe.json
RUN cargo chef cook --release --locked --recipe-path recipe.json
COPY . .
RUN cargo build --release --locked --bin gateway --bin order-service --bin payment-service

FROM debian:trixie-slim AS runtime
# The same for all three services, so built and downloaded once: `ARG SERVICE` comes after it.
# /data is order-service's database directory; a new named volume mounted there (compose's
# `orders-data`) starts with this owner. No `VOLUME` line: it would give every container of every
# service an anonymous volume that `docker compose down` leaves behind.
RUN apt-get update \
    && apt-get install -y --no-install-recommends curl ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --no-create-home app \
    && mkdir /data && chown app /data
ARG SERVICE
RUN test -n "${SERVICE}" || (echo "build with --build-arg SERVICE=gateway|order-service|payment-service" && exit 1)
COPY --from=builder /app/target/release/${SERVICE} /usr/local/bin/service
USER app
# Natively a service listens on loopback only; in a container it must take calls from the compose
# network, which is the boundary there (only the gateway and Jaeger are published).
ENV HOST=0.0.0.0
ENTRYPOINT ["/usr/local/bin/service"]
