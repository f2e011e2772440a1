//! Generates the gRPC code for `proto/` (Argo CD's CMP service and syncgate.v1) with the vendored
//! protoc, so building needs no system protobuf compiler.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut config = tonic_prost_build::Config::new();
    config.protoc_executable(protoc_bin_vendored::protoc_bin_path()?);
    let includes = ["proto".into(), protoc_bin_vendored::include_path()?];
    tonic_prost_build::configure().compile_with_config(
        config,
        &["proto/argocd/plugin.proto".into(), "proto/syncgate/v1/syncgate.proto".into()],
        &includes,
    )?;
    Ok(())
}
