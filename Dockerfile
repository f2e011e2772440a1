# syntax=docker/dockerfile:1
#
# ghcr.io/syncgate/syncgate: the syncgate binary plus the renderers it calls, for the Argo CD sidecar
# (plugin-manifests/argocd) and for CI. Build from the repository root:
#   docker build -t ghcr.io/syncgate/syncgate:0.1.0 .
#
# The runtime image has no shell and no package manager. It runs as UID/GID 999, the user Argo CD's
# CMP server requires, with a read-only root filesystem: everything written goes to /tmp (HOME) and
# /var/cache/syncgate, both volumes in the pod.

ARG RUST_VERSION=1.95
ARG KUSTOMIZE_VERSION=v5.5.0
ARG HELM_VERSION=3.16.4

# kustomize (`generate` renders kustomize applications with it; it must be on PATH as `kustomize`).
FROM registry.k8s.io/kustomize/kustomize:${KUSTOMIZE_VERSION} AS kustomize

# helm (Helm chart applications). Optional: drop this stage and its COPY if no application is a chart.
FROM docker.io/alpine/helm:${HELM_VERSION} AS helm

FROM docker.io/library/rust:${RUST_VERSION}-bookworm AS build
WORKDIR /src
COPY . .
# Cargo.lock is honoured exactly (--locked). The caches speed up rebuilds; the binary is copied out
# of the cached target directory in the same step.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --bin syncgate \
 && install -D -m 0755 target/release/syncgate /out/syncgate

# Debian 12 with glibc and libgcc, CA certificates and tzdata, nothing else (the binary needs no
# other shared library). Its `nonroot` user is 65532; Argo CD's CMP server needs 999.
FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /out/syncgate /usr/local/bin/syncgate
COPY --from=kustomize /app/kustomize /usr/local/bin/kustomize
COPY --from=helm /usr/bin/helm /usr/local/bin/helm
ENV HOME=/tmp \
    XDG_CACHE_HOME=/tmp/.cache \
    XDG_CONFIG_HOME=/tmp/.config \
    HELM_CACHE_HOME=/tmp/helm/cache \
    HELM_CONFIG_HOME=/tmp/helm/config \
    HELM_DATA_HOME=/tmp/helm/data \
    SYNCGATE_CACHE_DIR=/var/cache/syncgate
USER 999:999
ENTRYPOINT ["/usr/local/bin/syncgate"]
CMD ["--help"]
