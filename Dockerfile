# flashsale-server on the default profile (Redis + Kafka + SQLite).
FROM debian:12 AS build
WORKDIR /src
COPY scripts/install-deps.sh scripts/
RUN bash scripts/install-deps.sh
COPY . .
RUN cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF && cmake --build build -j "$(nproc)"

FROM debian:12
RUN apt-get update && apt-get install -y --no-install-recommends \
      libpoco-dev libhiredis0.14 librdkafka1 libpq5 && rm -rf /var/lib/apt/lists/*
COPY --from=build /src/build/bin/flashsale-server /opt/flashsale/bin/
COPY --from=build /src/build/plugins/*.so /opt/flashsale/plugins/
COPY etc /opt/flashsale/etc
EXPOSE 8080
ENTRYPOINT ["/opt/flashsale/bin/flashsale-server", "--config", "/opt/flashsale/etc/flashsale.properties"]
