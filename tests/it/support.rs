//! Real servers for the integration tests: a Debian `docker-registry` and a `redis-server`, each
//! started on a free loopback port and stopped when its handle drops.

pub(crate) mod proxy;
pub(crate) mod redis;
pub(crate) mod registry;
