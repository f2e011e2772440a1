//! Servers for the integration tests: a Debian `docker-registry`, a `redis-server` and `syncgate
//! serve` itself, each started on a free loopback port (and temp sockets) and stopped when its handle
//! drops, and a fake Kubernetes API (`kube_api`).

pub(crate) mod daemon;
pub(crate) mod kube_api;
pub(crate) mod proxy;
pub(crate) mod redis;
pub(crate) mod registry;

/// A loopback port that was free a moment ago (servers retry when it is taken by then).
pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind((std::net::Ipv4Addr::LOCALHOST, 0))
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .expect("bind a free loopback port")
}
