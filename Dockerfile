# Build: the official Swift image; run: slim Debian with the static binary only.
FROM swift:6.3-bookworm AS build
WORKDIR /src
COPY Package.swift ./
COPY Sources ./Sources
COPY Tests ./Tests
COPY scripts ./scripts
ARG FLOWGATE_COMMIT=unknown
# The same build as bench/run measures: static runtime, hot code together, stripped.
RUN FLOWGATE_COMMIT="${FLOWGATE_COMMIT}" scripts/build-release \
    && cp "$(swift build -c release --show-bin-path)/flowgate" /flowgate

FROM debian:bookworm-slim
# ca-certificates follows Debian's security updates; pinning it would freeze them.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --create-home --home-dir /data --uid 10001 flowgate \
    && chmod 1777 /data
COPY --from=build /flowgate /usr/local/bin/flowgate
# Any uid may run it (Hugging Face Spaces uses 1000): /data is writable by all, like /tmp;
# credential files in it are created 0600.
USER 10001
ENV HOME=/data HOST=0.0.0.0 PORT=7860
VOLUME ["/data"]
EXPOSE 7860
HEALTHCHECK --interval=30s --timeout=10s CMD ["/usr/local/bin/flowgate", "health"]
ENTRYPOINT ["/usr/local/bin/flowgate"]
CMD ["serve"]
