"""`mlci build`, `serve`, `image`, `smoke` and `kind-proof`: one build per version, and what is made of it."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from mlci.cli.common import Commands, repository


def build_command(args: argparse.Namespace) -> int:
    """Build the current model's bento once, store it, and seal its checksums in git."""
    from mlci.build.bento import build_stored

    opened = repository(args)
    built = build_stored(opened, args.version, args.store)
    stored = "built, stored and sealed in git" if built.sealed else "built and stored as a trial, not sealed"
    state = stored if built.made else "already built, nothing built"
    name = opened.project.name
    print(f"{name} {built.version}: {state}: {built.store} (bento sha256 {built.record['bento_sha256']})")
    print(f"  it {built.serves}")
    return 0


def serve_command(args: argparse.Namespace) -> int:
    """Serve a stored build until interrupted."""
    from mlci.build.installed import serve_stored

    serve_stored(repository(args), args.version, args.port, args.host)


def image_command(args: argparse.Namespace) -> int:
    """Prepare a stored version's image build context; build and push it, or record an image built elsewhere."""
    from mlci.build.image import make_image

    opened = repository(args)
    folder = args.context or Path("build") / "image" / args.version
    made = make_image(opened, args.version, folder, args.push, args.record)
    name = opened.project.name
    if made.context:
        print(f"{name} {made.version}: build context ready and checked in {made.context}")
    if made.image:
        state = "built, pushed and sealed in git" if made.made else "sealed in git"
        print(f"{name} {made.version}: image {made.image} ({state})")
    return 0


def smoke_command(args: argparse.Namespace) -> int:
    """Send the smoke test to a server: the example request answered, a request with no records refused."""
    from mlci.deploy.smoke import answer_problems, ready, smoke_for

    project = repository(args).project
    url = args.url.rstrip("/")
    if not ready(url):
        print(f"mlci: error: {url} is not ready: /readyz did not answer 200", file=sys.stderr)
        return 1
    problems = answer_problems(url, args.expect_version, smoke_for(project))
    for problem in problems:
        print(f"mlci: {problem}", file=sys.stderr)
    if problems:
        return 1
    print(f"{url}: the example request answered, an invalid request refused with 400")
    return 0


def kind_proof_command(args: argparse.Namespace) -> int:
    """Run a stored version's image through a stage's overlay on a throwaway kind cluster, smoke-tested."""
    from mlci.deploy.kind_proof import prove

    opened = repository(args)
    proof = prove(opened, args.version, args.stage)
    print(
        f"{opened.project.name} {proof.version}: {proof.source} rolled out in {proof.namespace} on a kind "
        f"cluster and answered the smoke test at {proof.url} (the cluster is deleted)"
    )
    return 0


def add(commands: Commands) -> None:
    build_parser = commands.add_parser(
        "build",
        help="build the current model's bento once and keep it in the artifact store",
        description="Build the bento of the model dvc.lock records and store it with its checksum. "
        "A version already built from the same model is left as it is.",
    )
    build_parser.add_argument(
        "version", nargs="?", help="the version to build (default: HEAD's registered version, else git-<commit>)"
    )
    build_parser.add_argument(
        "--store", metavar="URL", help="build into this store instead of mlci.toml's (CI checks a build this way)"
    )
    build_parser.set_defaults(handler=build_command)
    serve_parser = commands.add_parser("serve", help="serve a stored build (not the working tree) over HTTP")
    serve_parser.add_argument("version", nargs="?", help="the stored version (default: HEAD's, as for build)")
    serve_parser.add_argument("--port", type=int, default=3000, help="the port to listen on (default: 3000)")
    serve_parser.add_argument(
        "--host", default="127.0.0.1", help="the address to listen on (default: 127.0.0.1, this machine only)"
    )
    serve_parser.set_defaults(handler=serve_command)
    image_parser = commands.add_parser(
        "image",
        help="a stored version's container image: its build context, built and pushed once, its digest recorded",
        description="Unpacks the stored bento (checked against its checksum) as a build context, and checks the "
        "Dockerfile BentoML wrote into it: entrypoint, port, non-root user, the contract's service. With --push, "
        "builds it with docker or podman, pushes it and records its digest beside the bento's checksum; a version "
        "that has an image already keeps it. With --record, records an image built elsewhere.",
    )
    image_parser.add_argument("version", help="a stored version, such as v0.1.2")
    image_parser.add_argument("--context", type=Path, metavar="DIR", help="default: build/image/VERSION")
    chosen = image_parser.add_mutually_exclusive_group()
    chosen.add_argument("--push", metavar="REPOSITORY", help="build and push to this repository, e.g. ghcr.io/o/n")
    chosen.add_argument("--record", metavar="IMAGE@DIGEST", help="record this image, built and pushed elsewhere")
    image_parser.set_defaults(handler=image_command)
    smoke_parser = commands.add_parser(
        "smoke",
        help="smoke-test a running server at a URL (exit 1 on failure)",
        description="Sends the example request ([contract] example), which must get 200, and a request with no "
        "records, which must get 400: what every deploy checks, for a server mlci did not start.",
    )
    smoke_parser.add_argument("url", help="the server's address, e.g. http://127.0.0.1:8080")
    smoke_parser.add_argument("--expect-version", metavar="VERSION", help="the version every answer must name")
    smoke_parser.set_defaults(handler=smoke_command)
    kind_parser = commands.add_parser(
        "kind-proof",
        help="run a stored version's image through a stage's overlay on a throwaway kind cluster (exit 0: it served)",
        description="Builds the image from the stored bento, creates a kind cluster, loads the image, applies the "
        "stage's overlay with that image, waits for the rollout, and sends the smoke test through a port-forward. "
        "Needs docker (with a running engine), kind and kubectl; the cluster is deleted at the end.",
    )
    kind_parser.add_argument("version", help="a stored version, such as v0.1.2")
    kind_parser.add_argument("--stage", default="staging", help="whose overlay to apply (default: staging)")
    kind_parser.set_defaults(handler=kind_proof_command)
