#!/usr/bin/env python3
"""Flux's side of an artifact exchange, in plain Python stdlib (not syncgate's code), used by
tests/it/flux_artifact.rs.

consume: what Flux's fetcher does for kustomize-controller: download status.artifact.url over
HTTP, check the SHA-256 of the downloaded bytes against status.artifact.digest, untar. Prints a
JSON description of the archive (gzip header, every member's name, type, mode, owner and time)
and of the extracted files. Exits 1 on a digest mismatch.

build-upstream: writes a tar.gz the way source-controller's Archive() does (filepath.Walk order
with the root as ".", regular files and directories only, uid/gid/names/mtime zeroed, modes
0750/0700/0600, gzip at the default level with mtime 0) and prints its digest and size. With
--evil it appends a member named ../escape.yaml, as a hostile upstream would.
"""

import argparse
import gzip
import hashlib
import io
import json
import os
import stat
import sys
import tarfile
import tempfile
import urllib.request


def consume(args):
    with urllib.request.urlopen(args.url, timeout=30) as response:
        data = response.read()
        length = response.headers.get("Content-Length")
    algorithm, _, expected = args.digest.partition(":")
    actual = hashlib.new(algorithm, data).hexdigest()
    if actual != expected:
        print(f"digest mismatch: expected {args.digest}, got {algorithm}:{actual}", file=sys.stderr)
        sys.exit(1)
    header = data[:10]
    members = []
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
        for m in archive.getmembers():
            members.append({
                "name": m.name, "type": m.type.decode(), "mode": oct(m.mode), "uid": m.uid, "gid": m.gid,
                "uname": m.uname, "gname": m.gname, "mtime": m.mtime, "size": m.size,
                "format": "pax" if m.pax_headers else "ustar",
            })
        kwargs = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
        archive.extractall(args.dest, **kwargs)
    files = {}
    for root, dirs, names in os.walk(args.dest):
        dirs.sort()
        for name in sorted(names):
            path = os.path.join(root, name)
            with open(path, encoding="utf-8") as f:
                files[os.path.relpath(path, args.dest)] = f.read()
    print(json.dumps({
        "sha256": f"sha256:{hashlib.sha256(data).hexdigest()}",
        "size": len(data),
        "content_length": int(length) if length is not None else None,
        "gzip": {"magic": header[:3].hex(), "flags": header[3], "mtime": int.from_bytes(header[4:8], "little"),
                 "xfl": header[8], "os": header[9]},
        "filter": "data" if kwargs else None,
        "members": members,
        "files": files,
    }))


def build_upstream(args):
    buffer = io.BytesIO()
    with gzip.GzipFile(fileobj=buffer, mode="wb", compresslevel=6, mtime=0) as gz:
        with tarfile.open(fileobj=gz, mode="w", format=tarfile.USTAR_FORMAT) as archive:
            def add(path, name):
                st = os.lstat(path)
                if not (stat.S_ISREG(st.st_mode) or stat.S_ISDIR(st.st_mode)):
                    return
                info = tarfile.TarInfo(name)
                info.uid = info.gid = info.mtime = 0
                info.uname = info.gname = ""
                if stat.S_ISDIR(st.st_mode):
                    info.type, info.mode = tarfile.DIRTYPE, 0o750
                    archive.addfile(info)
                    for child in sorted(os.listdir(path)):
                        add(os.path.join(path, child), child if name == "." else f"{name}/{child}")
                else:
                    info.mode = 0o700 if st.st_mode & 0o111 else 0o600
                    info.size = st.st_size
                    with open(path, "rb") as f:
                        archive.addfile(info, f)

            add(args.dir, ".")
            if args.evil:
                payload = b"kind: Escape\n"
                info = tarfile.TarInfo("../escape.yaml")
                info.size, info.mode = len(payload), 0o600
                archive.addfile(info, io.BytesIO(payload))
    data = buffer.getvalue()
    with open(args.out, "wb") as f:
        f.write(data)
    print(json.dumps({"digest": f"sha256:{hashlib.sha256(data).hexdigest()}", "size": len(data)}))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    c = commands.add_parser("consume")
    c.add_argument("--url", required=True)
    c.add_argument("--digest", required=True)
    c.add_argument("--dest", default=None)
    b = commands.add_parser("build-upstream")
    b.add_argument("--dir", required=True)
    b.add_argument("--out", required=True)
    b.add_argument("--evil", action="store_true")
    args = parser.parse_args()
    if args.command == "consume":
        if args.dest is None:
            args.dest = tempfile.mkdtemp()
        consume(args)
    else:
        build_upstream(args)


if __name__ == "__main__":
    main()
