//! `cargo bench --bench verify`: signature and provenance verification of many images against a real
//! registry, with figures that compare against targets and against a floor measured in the same run.
//!
//! Starts Debian's `docker-registry` on a free loopback port, creates a signing environment (test CA
//! and transparency log) with the project's test signer, and pushes IMAGES distinct images, each with
//! a keyless cosign signature (certificate + Rekor bundle) from a GitHub release workflow under its
//! `.sig` tag and an SLSA v1 provenance attestation under its `.att` tag. Setup time is printed apart
//! and not measured. Then, RUNS times, it verifies every image with a fresh client and verifier:
//!
//! - against a policy demanding the signature only (target: at most 3 registry requests per image),
//! - against a policy demanding the signature and the provenance (target: at most 5),
//! - again with the same verifier, from its evidence cache (target: 0),
//!
//! and measures the CPU cost of one verification: the pure check (`verify::check::evaluate`) over
//! material already read, against its floor, the signature checks it cannot avoid, timed in the same
//! run: a keyless signature needs two ECDSA P-256 verifications (the signature and the log's signed
//! entry timestamp) and two P-384 ones (the leaf and the intermediate certificate, signed by the
//! Fulcio-like P-384 CA); with the attestation, twice that. Usage:
//! `cargo bench --bench verify [-- IMAGES [RUNS]]` (defaults 200, 3).

#![allow(clippy::print_stdout, reason = "a benchmark command prints its figures")]

#[path = "servers.rs"]
mod servers;
#[path = "signing.rs"]
mod signing;

use std::time::Instant;

use anyhow::{Context as _, ensure};
use futures::StreamExt as _;
use syncgate::manifest::Limits;
use syncgate::policy::{self, PolicySet};
use syncgate::registry::{Registry, RegistryOptions};
use syncgate::verify::{Verifier, Verify as _, check, discover};
use syncgate_testsign::key::{Algorithm, KeyPair};

use servers::{WorkDir, require, start, start_registry};
use signing::{Image, PROVENANCE, SIGNATURE_ONLY, sign_images};

/// Verifications in flight at once.
const PARALLEL: usize = 32;
/// Target registry requests per image: legacy signature; signature and one attestation; cached.
const TARGETS: [f64; 3] = [3.0, 5.0, 0.0];

fn main() -> anyhow::Result<()> {
    // `cargo bench` passes `--bench`; `cargo test --all-targets` runs bench targets without it, to
    // check that they start, and the test suite must not run a benchmark.
    if !std::env::args().any(|arg| arg == "--bench") {
        println!("syncgate verify bench: run it with `cargo bench --bench verify`");
        return Ok(());
    }
    let args: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with('-')).collect();
    let number = |index: usize, default: usize, name: &str| -> anyhow::Result<usize> {
        args.get(index).map_or(Ok(default), |text| text.parse().with_context(|| format!("{name} must be a number")))
    };
    let (count, runs) = (number(0, 200, "IMAGES")?, number(1, 3, "RUNS")?);
    ensure!(count > 0 && runs > 0, "IMAGES and RUNS must be at least 1");
    require("docker-registry", "docker-registry")?;
    println!("syncgate verify bench: {count} signed images, {runs} runs");
    if cfg!(debug_assertions) {
        println!("note: a debug build; figures are only meaningful from `cargo bench`");
    }
    let work = WorkDir::create("syncgate-verify-bench")?;
    let (_registry, port) = start("docker-registry", |port| start_registry(&work.0, port))?;
    let host = format!("127.0.0.1:{port}");
    let started = Instant::now();
    let images = sign_images(&work, &host, count)?;
    println!("setup: {count} images signed and attested in {:.1} s (not measured)", started.elapsed().as_secs_f64());

    let limits = Limits::default();
    let signature_only = load(&work, "signature.yaml", SIGNATURE_ONLY, &limits)?;
    let with_provenance = load(&work, "provenance.yaml", &format!("{SIGNATURE_ONLY}{PROVENANCE}"), &limits)?;
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().context("cannot start Tokio")?;

    let mut rows: Vec<(&str, Vec<f64>, Vec<f64>)> = vec![
        ("signature (cold)", vec![], vec![]),
        ("signature + provenance (cold)", vec![], vec![]),
        ("cached", vec![], vec![]),
    ];
    for _ in 0..runs {
        for (index, set) in [&signature_only, &with_provenance].into_iter().enumerate() {
            let client = client(&host)?;
            let verifier = Verifier::new(client.clone());
            let (seconds, requests) = runtime.block_on(verify_all(&verifier, &client, set, &images))?;
            rows[index].1.push(seconds);
            rows[index].2.push(requests);
            if index == 1 {
                let (seconds, requests) = runtime.block_on(verify_all(&verifier, &client, set, &images))?;
                rows[2].1.push(seconds);
                rows[2].2.push(requests);
            }
        }
    }
    println!("\nregistry requests per verified image (manifest, blob and referrers GETs; auth excluded):");
    let mut ok = true;
    for ((name, seconds, requests), target) in rows.iter().zip(TARGETS) {
        let per_image = median(requests);
        let within = per_image <= target;
        ok &= within;
        println!(
            "  {name:<31} {per_image:>5.2} per image (target <= {target}) {}   wall {:.3} s for {count} images",
            if within { "OK" } else { "OVER TARGET" },
            median(seconds)
        );
    }
    let cpu = runtime.block_on(cpu_cost(&host, &signature_only, &with_provenance, &images))?;
    cpu.print();
    ensure!(ok, "a request target was missed");
    Ok(())
}

fn load(work: &WorkDir, name: &str, text: &str, limits: &Limits) -> anyhow::Result<PolicySet> {
    let path = work.0.join(name);
    std::fs::write(&path, text)?;
    Ok(policy::load(&[path], limits)?)
}

fn client(host: &str) -> anyhow::Result<Registry> {
    Ok(Registry::new(RegistryOptions { insecure: vec![host.to_owned()], ..RegistryOptions::default() })?)
}

/// Verifies every image; wall seconds and registry requests (auth excluded) per image. Every image
/// must verify.
async fn verify_all(
    verifier: &Verifier<Registry>,
    client: &Registry,
    set: &PolicySet,
    images: &[Image],
) -> anyhow::Result<(f64, f64)> {
    let before = client.requests() - client.auth_requests();
    let start = Instant::now();
    let policy = &set.images[0];
    let outcomes: Vec<_> = futures::stream::iter(images)
        .map(|image| verifier.verify(policy, &image.reference, &image.digest))
        .buffer_unordered(PARALLEL)
        .collect()
        .await;
    let seconds = start.elapsed().as_secs_f64();
    for outcome in outcomes {
        if let Err(refusals) = outcome {
            anyhow::bail!("an image did not verify: {}", refusals[0].message);
        }
    }
    let requests = (client.requests() - client.auth_requests() - before) as f64;
    Ok((seconds, requests / images.len() as f64))
}

/// The CPU cost, in microseconds, of the pure check and of the signature checks it cannot avoid.
struct CpuCost {
    p256: f64,
    p384: f64,
    signature: f64,
    provenance: f64,
}

impl CpuCost {
    fn print(&self) {
        println!("\nCPU cost of one verification (material already read; median of 5 rounds):");
        println!("  one ECDSA P-256 verification             {:>8.1} us", self.p256);
        println!("  one ECDSA P-384 verification             {:>8.1} us", self.p384);
        for (name, us, checks) in
            [("keyless signature", self.signature, 1.0), ("signature + SLSA provenance", self.provenance, 2.0)]
        {
            let floor = checks * 2.0 * (self.p256 + self.p384);
            println!(
                "  {name:<31} {us:>8.1} us = {:.2}x its floor of {floor:.1} us ({} P-256 + {} P-384 verifications) {}",
                us / floor,
                2.0 * checks,
                2.0 * checks,
                if us / floor <= 1.5 { "OK (target <= 1.5x)" } else { "OVER TARGET (1.5x)" }
            );
        }
    }
}

async fn cpu_cost(
    host: &str,
    signature: &PolicySet,
    provenance: &PolicySet,
    images: &[Image],
) -> anyhow::Result<CpuCost> {
    let client = client(host)?;
    let mut material = Vec::with_capacity(images.len());
    for image in images {
        material.push(discover::legacy(&client, &image.reference, &image.digest, true).await?);
    }
    let name = |image: &Image| format!("{}/{}", image.reference.registry(), image.reference.repository());
    let time = |set: &PolicySet| -> anyhow::Result<f64> {
        let policy = &set.images[0];
        let trust = policy.trust_root.as_ref().and_then(|source| source.loaded()).context("a trust root file")?;
        let mut rounds = Vec::new();
        for _ in 0..5 {
            let start = Instant::now();
            for (image, found) in images.iter().zip(&material) {
                if let Err(refusals) = check::evaluate(policy, trust, &name(image), &image.digest, found) {
                    anyhow::bail!("an image did not verify: {}", refusals[0].message);
                }
            }
            rounds.push(start.elapsed().as_secs_f64() * 1e6 / images.len() as f64);
        }
        Ok(median(&rounds))
    };
    let signature_us = time(signature)?;
    let provenance_us = time(provenance)?;
    let p256 = time_verification(Algorithm::EcdsaP256)?;
    let p384 = time_verification(Algorithm::EcdsaP384)?;
    Ok(CpuCost { p256, p384, signature: signature_us, provenance: provenance_us })
}

/// Median microseconds of one signature verification with a fresh key of `algorithm`.
fn time_verification(algorithm: Algorithm) -> anyhow::Result<f64> {
    let key = KeyPair::generate(algorithm)?;
    let public = syncgate::verify::key::PublicKey::from_pem(&key.public_pem())?;
    let message = b"the floor: one signature verification";
    let signature = key.sign(message)?;
    let mut rounds = Vec::new();
    for _ in 0..5 {
        let start = Instant::now();
        for _ in 0..1000 {
            public.verify(message, &signature)?;
        }
        rounds.push(start.elapsed().as_secs_f64() * 1e6 / 1000.0);
    }
    Ok(median(&rounds))
}

fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted.get(sorted.len() / 2).copied().unwrap_or(f64::NAN)
}
