# syntax=docker/dockerfile:1
# OneID and the demo apps in one small image. Build: docker build -t oneid .

FROM rust:1-slim-bookworm AS build
WORKDIR /src
COPY . .
# SQLite (and later libpq) are compiled from source by their -sys crates: gcc is all they need.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --workspace --bins \
 && install -m 0755 target/release/oneid target/release/oneid-app /usr/local/bin/

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /data --create-home oneid
COPY --from=build /usr/local/bin/oneid /usr/local/bin/oneid-app /usr/local/bin/
USER oneid
WORKDIR /data
ENV ONEID_LISTEN=0.0.0.0:8080 \
    ONEID_DATABASE_URL=sqlite:///data/oneid.db \
    ONEID_OUTBOX=/data/outbox.jsonl \
    ONEID_KEYS__ENCRYPTION_KEY_FILE=/data/keys.secret
VOLUME ["/data"]
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --retries=3 CMD ["oneid", "healthcheck"]
ENTRYPOINT ["oneid"]
CMD ["serve"]
