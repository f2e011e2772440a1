//! The artifact server: plain HTTP over the storage directory, the URLs published in
//! `status.artifact.url`.
//!
//! `GET` (and `HEAD`) `/<namespace>/<name>/<digest hex>.tar.gz` answers the archive with its
//! `Content-Length`; every other path is 404: no directory listings, no records, no quarantine,
//! and no path that could leave the root (each segment must be an object name or an archive name,
//! so `..`, encoded slashes and dot files never reach the file system). Until `ready` turns true
//! (leader elected, storage verified) every request is answered 503.

use std::path::PathBuf;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse as _, Response};
use axum::routing::get;
use tokio::sync::watch;

use super::storage::{Storage, is_archive_name, is_object_name};

struct Served {
    root: PathBuf,
    ready: watch::Receiver<bool>,
}

/// The router serving `storage`, gated on `ready`.
pub fn router(storage: &Storage, ready: watch::Receiver<bool>) -> Router {
    let state = Arc::new(Served { root: storage.root().to_owned(), ready });
    Router::new().route("/{namespace}/{name}/{file}", get(artifact)).fallback(not_found).with_state(state)
}

/// Serves `storage` on `listener` until the listener fails; 503 until `ready` is true.
pub async fn serve(
    listener: tokio::net::TcpListener,
    storage: &Storage,
    ready: watch::Receiver<bool>,
) -> std::io::Result<()> {
    axum::serve(listener, router(storage, ready)).await
}

async fn artifact(
    State(served): State<Arc<Served>>,
    Path((namespace, name, file)): Path<(String, String, String)>,
) -> Response {
    if !*served.ready.borrow() {
        return (StatusCode::SERVICE_UNAVAILABLE, "artifact server is not ready\n").into_response();
    }
    if !(is_object_name(&namespace) && is_object_name(&name) && is_archive_name(&file)) {
        return not_found().await;
    }
    let path = served.root.join(&namespace).join(&name).join(&file);
    // Streamed from the open file: an archive is never held in memory, and a GC that removes it
    // meanwhile does not cut a download short (the open file stays readable).
    let opened = match tokio::fs::File::open(&path).await {
        Ok(file) => file.metadata().await.map(|meta| (file, meta.len())),
        Err(e) => Err(e),
    };
    match opened {
        Ok((file, length)) => Response::builder()
            .status(StatusCode::OK)
            .header(header::CONTENT_TYPE, "application/gzip")
            .header(header::CONTENT_LENGTH, length)
            .body(Body::from_stream(tokio_util::io::ReaderStream::new(file)))
            .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => not_found().await,
        Err(e) => {
            tracing::warn!(path = %path.display(), error = %e, "cannot read artifact");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

async fn not_found() -> Response {
    (StatusCode::NOT_FOUND, "404 page not found\n").into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

    /// Sends one raw HTTP/1.1 request (no client-side path normalisation) and returns status and body.
    async fn raw_get(addr: std::net::SocketAddr, target: &str) -> (u16, Vec<u8>) {
        let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        let request = format!("GET {target} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut response = Vec::new();
        stream.read_to_end(&mut response).await.unwrap();
        let status = std::str::from_utf8(&response[9..12]).unwrap().parse().unwrap();
        let body_at = response.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
        (status, response[body_at..].to_vec())
    }

    #[tokio::test]
    async fn serves_archives_only_and_only_once_ready() {
        let root = tempfile::tempdir().unwrap();
        let storage = Storage::open(root.path().join("data")).unwrap();
        let app = tempfile::tempdir().unwrap();
        std::fs::write(app.path().join("manifests.yaml"), "kind: A\n").unwrap();
        let stored = storage.store("flux-system", "api", app.path(), "r", None).unwrap();
        std::fs::write(root.path().join("secret.tar.gz"), "outside").unwrap();
        let (ready_tx, ready) = watch::channel(false);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server_storage = storage.clone();
        tokio::spawn(async move { serve(listener, &server_storage, ready).await });

        let artifact = format!("/{}", stored.path);
        assert_eq!(raw_get(addr, &artifact).await.0, 503);
        ready_tx.send(true).unwrap();
        let (status, body) = raw_get(addr, &artifact).await;
        assert_eq!(status, 200);
        assert_eq!(body, std::fs::read(storage.root().join(&stored.path)).unwrap());

        let record = artifact.replace(".tar.gz", ".json");
        let hex = stored.record.digest_hex();
        for target in [
            "/",
            "/flux-system/",
            "/flux-system/api/",
            record.as_str(),
            &format!("/flux-system/api/{}.tar.gz", "0".repeat(64)),
            "/../secret.tar.gz",
            "/flux-system/api/../../../secret.tar.gz",
            "/flux-system/%2e%2e/%2e%2e%2fsecret.tar.gz",
            &format!("/%2e%2e/flux-system/{hex}.tar.gz"),
            &format!("/flux-system/api%2f..%2fapi/{hex}.tar.gz"),
            &format!("/.quarantine/api/{hex}.tar.gz"),
            &format!("/flux-system/api/{hex}.tar.gz/x"),
        ] {
            assert_eq!(raw_get(addr, target).await.0, 404, "{target}");
        }
    }
}
