# Multi-stage build of crm-server. SQLite, libpq and OpenSSL are compiled in,
# so the runtime image needs no database client library.
FROM rust:1-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p crm-api --bin crm-server

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates tzdata \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /data --shell /usr/sbin/nologin crm \
 && mkdir -p /data && chown crm:crm /data
COPY --from=build /src/target/release/crm-server /usr/local/bin/crm-server
USER crm
WORKDIR /data
# The SQLite file and the generated JWT secret live in /data; point
# DATABASE_URL at PostgreSQL to run several instances.
ENV DATABASE_URL=sqlite:///data/crm.db \
    CRM_DATA_DIR=/data \
    CRM_BIND=0.0.0.0:8080 \
    CRM_LOG_FORMAT=json
VOLUME ["/data"]
EXPOSE 8080
ENTRYPOINT ["crm-server"]
CMD ["serve"]
