#!/usr/bin/env python3
"""An Argo CD repo-server stand-in: a gRPC client of the Config Management Plugin service that is
not syncgate's own code (grpcio), used by tests/it/serve.rs.

Stubs are generated at run time from the same proto files the server is built from
(python -m grpc_tools.protoc). The application directory is packed the way Argo CD packs it
(gzip-compressed tar of the repository root, SHA-256 over the compressed bytes, streamed in
1024-byte chunks after the metadata message). Prints one JSON object with the result of each call.
"""

import argparse
import hashlib
import importlib.resources
import io
import json
import os
import subprocess
import sys
import tarfile
import tempfile

CHUNK = 1024  # ARGOCD_CMP_CHUNK_SIZE default
MAX_MESSAGE = 100 * 1024 * 1024  # ARGOCD_GRPC_MAX_SIZE_MB default


def generate_stubs(proto_dir, out_dir):
    include = str(importlib.resources.files("grpc_tools") / "_proto")
    files = [os.path.join(proto_dir, "argocd", name) for name in ("plugin.proto", "repository.proto")]
    subprocess.run(
        [sys.executable, "-m", "grpc_tools.protoc", "-I", proto_dir, "-I", include,
         "--python_out", out_dir, "--grpc_python_out", out_dir, *files],
        check=True,
    )
    sys.path.insert(0, out_dir)


def pack(repo_dir, traversal):
    """gzip(tar) of repo_dir with paths relative to it; optionally one entry named ../escape.yaml."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for root, dirs, files in os.walk(repo_dir):
            dirs.sort()
            for name in sorted(dirs) + sorted(files):
                path = os.path.join(root, name)
                tar.add(path, arcname=os.path.relpath(path, repo_dir), recursive=False)
        if traversal:
            content = b"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: escaped}\n"
            info = tarfile.TarInfo("../escape.yaml")
            info.size = len(content)
            tar.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


def stream(plugin_pb2, archive, metadata):
    yield plugin_pb2.AppStreamRequest(metadata=metadata)
    for offset in range(0, len(archive), CHUNK):
        yield plugin_pb2.AppStreamRequest(file=plugin_pb2.File(chunk=archive[offset:offset + CHUNK]))


def call(fn):
    import grpc

    try:
        return {"ok": True, "response": fn()}
    except grpc.RpcError as error:
        return {"ok": False, "code": error.code().name, "details": error.details()}


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--socket", required=True)
    parser.add_argument("--proto-dir", required=True)
    parser.add_argument("--repo", required=True, help="repository root to pack")
    parser.add_argument("--app-path", default=".", help="application path inside the repository")
    parser.add_argument("--env", action="append", default=[], metavar="NAME=VALUE")
    parser.add_argument("--bad-checksum", action="store_true", help="send a checksum of other bytes")
    parser.add_argument("--traversal", action="store_true", help="add an entry named ../escape.yaml")
    parser.add_argument("--timeout", type=float, default=30.0)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as stubs:
        generate_stubs(args.proto_dir, stubs)
        import grpc
        from google.protobuf import empty_pb2
        from google.protobuf.json_format import MessageToDict
        from argocd import plugin_pb2, plugin_pb2_grpc

        archive = pack(args.repo, args.traversal)
        checksum = hashlib.sha256(archive).hexdigest()
        if args.bad_checksum:
            checksum = hashlib.sha256(archive + b"tampered").hexdigest()
        env = [plugin_pb2.EnvEntry(name=k, value=v) for k, v in (e.split("=", 1) for e in args.env)]
        metadata = plugin_pb2.ManifestRequestMetadata(
            appName=os.path.basename(os.path.normpath(os.path.join(args.repo, args.app_path))),
            appRelPath=args.app_path,
            checksum=checksum,
            size=len(archive),
            env=env,
        )
        # Argo CD's repo-server (grpc-go) sends `:authority: localhost` on unix sockets; grpcio
        # would send the socket path, which HTTP/2 servers built on hyperium/h2 (tonic) refuse as
        # an invalid authority (PROTOCOL_ERROR, hyperium/h2#487). Send what Argo CD sends.
        options = [
            ("grpc.max_send_message_length", MAX_MESSAGE),
            ("grpc.max_receive_message_length", MAX_MESSAGE),
            ("grpc.default_authority", "localhost"),
        ]
        with grpc.insecure_channel("unix:" + args.socket, options=options) as channel:
            stub = plugin_pb2_grpc.ConfigManagementPluginServiceStub(channel)
            as_dict = lambda message: MessageToDict(message, preserving_proto_field_name=True,
                                                    always_print_fields_with_no_presence=True)
            result = {
                "check": call(lambda: as_dict(stub.CheckPluginConfiguration(empty_pb2.Empty(), timeout=args.timeout))),
                "match": call(lambda: as_dict(stub.MatchRepository(stream(plugin_pb2, archive, metadata),
                                                                   timeout=args.timeout))),
                "parameters": call(lambda: as_dict(stub.GetParametersAnnouncement(
                    stream(plugin_pb2, archive, metadata), timeout=args.timeout))),
                "generate": call(lambda: list(stub.GenerateManifest(stream(plugin_pb2, archive, metadata),
                                                                    timeout=args.timeout).manifests)),
                "archive": {"bytes": len(archive), "sha256": checksum},
            }
    json.dump(result, sys.stdout, indent=2, sort_keys=True)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
