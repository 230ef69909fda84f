"""What a cluster runs, asked of `kubectl` when it has a context; a short answer either way, never an error."""

from __future__ import annotations

import json
import shutil
import subprocess

TIMEOUT_S = 10


def kubectl(*args: str) -> subprocess.CompletedProcess[str] | None:
    """`kubectl ARGS`, or None when there is no kubectl or it did not answer in time."""
    program = shutil.which("kubectl")
    if program is None:
        return None
    try:
        return subprocess.run([program, *args], capture_output=True, text=True, timeout=TIMEOUT_S, check=False)
    except subprocess.TimeoutExpired:
        return None


def observed(name: str, namespace: str, container: str, version_label: str) -> str:
    """The version, image digest and ready replicas of a Deployment, as one phrase."""
    context = kubectl("config", "current-context")
    if context is None or context.returncode != 0:
        return "not asked (no kubectl context)"
    answer = kubectl(
        "get", "deployment", name, "--namespace", namespace, "--output", "json", f"--request-timeout={TIMEOUT_S}s"
    )
    if answer is None or answer.returncode != 0:
        reason = answer.stderr.strip().splitlines()[-1] if answer and answer.stderr.strip() else "no answer"
        return f"unknown in context {context.stdout.strip()} ({reason})"
    deployment = json.loads(answer.stdout)
    images = [c["image"] for c in deployment["spec"]["template"]["spec"]["containers"] if c["name"] == container]
    version = deployment["metadata"].get("labels", {}).get(version_label, "?")
    ready = deployment.get("status", {}).get("readyReplicas", 0)
    wanted = deployment["spec"].get("replicas", 0)
    digest = images[0].rpartition("@")[2][:19] if images else "?"
    return f"{version} {digest}…, {ready}/{wanted} ready"
