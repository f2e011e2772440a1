//! Registry round trips against a real docker-registry: images, `.sig` and `.att` manifests, bundle referrers
//! and the referrers tag-schema index, read back with plain HTTP and copied out with skopeo.

use std::process::Command;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};
use syncgate_testsign::bundle::{Bundle, BundleContent, BundleVersion, Signer};
use syncgate_testsign::cosign::{AttestationLayer, RekorBundle, SignatureLayer, simple_signing_payload};
use syncgate_testsign::dsse::{Envelope, Statement};
use syncgate_testsign::key::{Algorithm, KeyPair};
use syncgate_testsign::registry::{Registry, digest_tag};
use syncgate_testsign::tlog::{TransparencyLog, body};

use crate::support::{LocalRegistry, openssl_verifies};

const ACCEPT: &str = "application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json";

fn get(url: &str) -> (String, Vec<u8>) {
    let mut response = ureq::get(url).header("Accept", ACCEPT).call().unwrap_or_else(|e| panic!("GET {url}: {e}"));
    let content_type = response.headers().get("Content-Type").unwrap().to_str().unwrap().to_owned();
    (content_type, response.body_mut().read_to_vec().unwrap())
}

fn get_json(url: &str) -> Value {
    serde_json::from_slice(&get(url).1).unwrap()
}

fn sha256(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

#[test]
fn legacy_signatures_and_attestations_round_trip() {
    let server = LocalRegistry::start();
    let registry = Registry::new(&server.base_url);
    let image = registry.push_image("test/app", "v1", &[("hello", b"hello\n")]).unwrap();
    let digest = registry.resolve("test/app", "v1").unwrap();
    assert_eq!(digest, image.digest);
    assert_eq!(registry.head_manifest("test/app", "v1").unwrap(), image);

    let key = KeyPair::generate(Algorithm::EcdsaP256).unwrap();
    let mut log = TransparencyLog::new().unwrap();
    let payload = simple_signing_payload(&registry.docker_reference("test/app"), &digest);
    let signature = key.sign(&payload).unwrap();
    let entry = log.append_now(body::hashedrekord(&signature, &key.public_pem(), &Sha256::digest(&payload))).unwrap();
    let second = KeyPair::generate(Algorithm::EcdsaP256).unwrap();
    let layers = [
        SignatureLayer::new(payload.clone(), &signature).with_bundle(&RekorBundle::from_entry(&entry)),
        SignatureLayer::sign(payload.clone(), &second).unwrap(),
    ];
    let pushed = registry.push_signatures("test/app", &digest, &layers).unwrap();

    let base = format!("{}/v2/test/app", server.base_url);
    let sig_tag = digest_tag(&digest, "sig").unwrap();
    let (content_type, raw) = get(&format!("{base}/manifests/{sig_tag}"));
    assert_eq!(content_type, "application/vnd.oci.image.manifest.v1+json");
    assert_eq!(sha256(&raw), pushed.digest);
    let manifest: Value = serde_json::from_slice(&raw).unwrap();
    assert_eq!(manifest["schemaVersion"], 2);
    assert_eq!(manifest["config"]["mediaType"], "application/vnd.oci.image.config.v1+json");
    let config: Value = get_json(&format!("{base}/blobs/{}", manifest["config"]["digest"].as_str().unwrap()));
    assert_eq!(config["rootfs"]["diff_ids"], json!([sha256(&payload), sha256(&payload)]));
    let layer = &manifest["layers"][0];
    assert_eq!(layer["mediaType"], "application/vnd.dev.cosign.simplesigning.v1+json");
    assert_eq!(layer["digest"], sha256(&payload));
    assert_eq!(layer["size"], payload.len());
    let blob = get(&format!("{base}/blobs/{}", layer["digest"].as_str().unwrap())).1;
    assert_eq!(blob, payload);
    let annotated =
        STANDARD.decode(layer["annotations"]["dev.cosignproject.cosign/signature"].as_str().unwrap()).unwrap();
    assert!(openssl_verifies(&key.public_pem(), &blob, &annotated, Some("sha256")));
    let second_sig = STANDARD
        .decode(manifest["layers"][1]["annotations"]["dev.cosignproject.cosign/signature"].as_str().unwrap())
        .unwrap();
    assert!(openssl_verifies(&second.public_pem(), &blob, &second_sig, Some("sha256")));
    let payload_json: Value = serde_json::from_slice(&blob).unwrap();
    assert_eq!(payload_json["critical"]["image"]["docker-manifest-digest"], digest);
    assert_eq!(payload_json["critical"]["identity"]["docker-reference"], format!("{}/test/app", registry.host()));

    let statement =
        Statement::new(&registry.docker_reference("test/app"), &digest, "https://slsa.dev/provenance/v1", json!({}));
    let envelope = Envelope::sign_statement(&statement, &key).unwrap();
    registry
        .push_attestations("test/app", &digest, &[AttestationLayer::new(&envelope, "https://slsa.dev/provenance/v1")])
        .unwrap();
    let att: Value = get_json(&format!("{base}/manifests/{}", digest_tag(&digest, "att").unwrap()));
    assert_eq!(att["layers"][0]["mediaType"], "application/vnd.dsse.envelope.v1+json");
    assert_eq!(att["layers"][0]["annotations"]["predicateType"], "https://slsa.dev/provenance/v1");
    let envelope_blob = get(&format!("{base}/blobs/{}", att["layers"][0]["digest"].as_str().unwrap())).1;
    assert_eq!(envelope_blob, envelope.to_json().as_bytes());

    let tags = get_json(&format!("{base}/tags/list"));
    let tags: Vec<&str> = tags["tags"].as_array().unwrap().iter().map(|t| t.as_str().unwrap()).collect();
    for tag in ["v1", sig_tag.as_str(), digest_tag(&digest, "att").unwrap().as_str()] {
        assert!(tags.contains(&tag), "{tag} missing from {tags:?}");
    }

    // skopeo copies the image and the signature image out, checking every blob digest on the way.
    let out_dir = tempfile::tempdir().unwrap();
    for (tag, name) in [("v1", "image"), (sig_tag.as_str(), "sig")] {
        let status = Command::new("skopeo")
            .args(["copy", "--src-tls-verify=false", "--preserve-digests"])
            .arg(format!("docker://{}/test/app:{tag}", registry.host()))
            .arg(format!("oci:{}:{name}", out_dir.path().display()))
            .output()
            .expect("skopeo is installed");
        assert!(status.status.success(), "skopeo copy {tag}: {}", String::from_utf8_lossy(&status.stderr));
    }
}

#[test]
fn bundle_referrers_and_tag_schema_index() {
    let server = LocalRegistry::start();
    let registry = Registry::new(&server.base_url);
    let image = registry.push_image("team/svc", "1.0", &[("hello", b"svc\n")]).unwrap();
    let key = KeyPair::generate(Algorithm::EcdsaP256).unwrap();
    let mut log = TransparencyLog::new().unwrap();

    let mut pushed = Vec::new();
    for predicate_type in ["https://sigstore.dev/cosign/sign/v1", "https://slsa.dev/provenance/v1"] {
        let statement = Statement::new("", &image.digest, predicate_type, json!({}));
        let envelope = Envelope::sign_statement(&statement, &key).unwrap();
        let entry = log.append_now(body::dsse_body(&envelope, &key.public_pem())).unwrap();
        let bundle = Bundle::new(
            BundleVersion::V0_3,
            Signer::PublicKey(key.public_key()),
            BundleContent::Dsse(envelope),
            &entry,
        );
        let json = bundle.to_json();
        let descriptor =
            registry.push_referrer_bundle("team/svc", &image, json.as_bytes(), Some(predicate_type)).unwrap();
        pushed.push((descriptor, json, predicate_type));
    }

    let base = format!("{}/v2/team/svc", server.base_url);
    let index_tag = digest_tag(&image.digest, "").unwrap();
    let (content_type, raw) = get(&format!("{base}/manifests/{index_tag}"));
    assert_eq!(content_type, "application/vnd.oci.image.index.v1+json");
    let index: Value = serde_json::from_slice(&raw).unwrap();
    assert_eq!(index["schemaVersion"], 2);
    let listed = index["manifests"].as_array().unwrap();
    assert_eq!(listed.len(), 2, "read-modify-write keeps earlier referrers: {index}");

    for ((descriptor, json, predicate_type), item) in pushed.iter().zip(listed) {
        assert_eq!(item["digest"], descriptor.digest.as_str());
        assert_eq!(item["mediaType"], "application/vnd.oci.image.manifest.v1+json");
        assert_eq!(item["artifactType"], "application/vnd.dev.sigstore.bundle.v0.3+json");
        assert_eq!(item["annotations"]["dev.sigstore.bundle.content"], "dsse-envelope");
        assert_eq!(item["annotations"]["dev.sigstore.bundle.predicateType"], *predicate_type);
        assert!(item["annotations"]["org.opencontainers.image.created"].as_str().unwrap().ends_with('Z'));

        let (content_type, raw) = get(&format!("{base}/manifests/{}", descriptor.digest));
        assert_eq!(content_type, "application/vnd.oci.image.manifest.v1+json");
        assert_eq!(sha256(&raw), descriptor.digest);
        assert_eq!(item["size"], raw.len());
        let manifest: Value = serde_json::from_slice(&raw).unwrap();
        assert_eq!(manifest["artifactType"], "application/vnd.dev.sigstore.bundle.v0.3+json");
        assert_eq!(manifest["config"]["mediaType"], "application/vnd.oci.empty.v1+json");
        assert_eq!(
            manifest["config"]["digest"],
            "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
        );
        assert_eq!(get(&format!("{base}/blobs/{}", manifest["config"]["digest"].as_str().unwrap())).1, b"{}");
        assert_eq!(
            manifest["subject"],
            json!({"mediaType": image.media_type, "size": image.size, "digest": image.digest})
        );
        assert_eq!(manifest["annotations"], item["annotations"]);
        let layer = &manifest["layers"][0];
        assert_eq!(layer["mediaType"], "application/vnd.dev.sigstore.bundle.v0.3+json");
        assert_eq!(get(&format!("{base}/blobs/{}", layer["digest"].as_str().unwrap())).1, json.as_bytes());
    }

    // Pushing the same referrer again does not duplicate it.
    registry.add_to_referrers_index("team/svc", &image.digest, &pushed[0].0).unwrap();
    let index = get_json(&format!("{base}/manifests/{index_tag}"));
    assert_eq!(index["manifests"].as_array().unwrap().len(), 2);
}
