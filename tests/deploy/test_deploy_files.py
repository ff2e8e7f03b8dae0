"""deploy/compose.yaml and deploy/k8s cannot drift from the code: every pingan service runs a
`pingan` command, with options, that the CLI has; the compose file is valid for Docker Compose where
it is installed (offline: `docker compose config` needs no daemon); every Kubernetes object is valid
against the Kubernetes API's own schemas, strictly (kubernetes-validate: the JSON schemas generated
from each release's OpenAPI document, no cluster needed)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import typer.main
import yaml

from pingan.cli import app

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
# What a copied deployment must run (issue 23): the API twice, the robot, the stream consumer, bank-sim.
REQUIRED = {("serve",), ("robot", "run"), ("stream", "consume"), ("bank-sim",), ("db", "upgrade"), ("sweep",)}
SECRETS = {
    "POSTGRES_PASSWORD": "x",
    "PINGAN_SECRET_KEY": "x",
    "PINGAN_PII_HMAC_KEY": "x",
    "PINGAN_PII_ENC_KEY": "x",
    "PINGAN_AUDIT_KEY": "x",
    "PINGAN_BANK_KEY_SEED": "x",
}


def _compose() -> dict[str, Any]:
    return dict(yaml.safe_load((DEPLOY / "compose.yaml").read_text(encoding="utf-8")))


def _k8s_commands() -> list[tuple[str, list[str]]]:
    found = []
    for path in sorted((DEPLOY / "k8s").glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            spec = (doc or {}).get("spec", {})
            spec = spec.get("jobTemplate", {}).get("spec", spec)  # a CronJob's job
            pod = spec.get("template", {}).get("spec", {})
            for c in pod.get("containers", []):
                if c.get("image", "").startswith("pingan"):
                    found.append((f"{path.name}:{doc['metadata']['name']}", list(c["command"])))
    return found


def _problem(argv: list[str]) -> str | None:
    """Why `argv` is not a command the pingan CLI has (None when it is): an unknown command, an unknown
    option, a missing required option, or an option without its value."""
    if not argv or argv[0] != "pingan":
        return f"{argv[:1]} is not the pingan command"
    # Typer carries its own copy of click: commands and options are told apart by what they have.
    cmd: Any = typer.main.get_command(app)
    rest = argv[1:]
    while hasattr(cmd, "commands"):
        if not rest or rest[0] not in cmd.commands:
            return f"no command {rest[:1]} in {' '.join(argv)}"
        cmd, rest = cmd.commands[rest[0]], rest[1:]
    flags = [p for p in cmd.params if p.param_type_name == "option"]
    options = {o: p for p in flags for o in p.opts + p.secondary_opts}
    given: set[str] = set()
    i = 0
    while i < len(rest):
        token = rest[i]
        if token.startswith("--"):
            option = options.get(token.split("=", 1)[0])
            if option is None:
                return f"{' '.join(argv)}: unknown option {token}"
            given.add(option.name or "")
            if not option.is_flag and "=" not in token:
                i += 1
                if i >= len(rest):
                    return f"{' '.join(argv)}: {token} needs a value"
        i += 1
    missing = [p.name for p in flags if p.required and p.name not in given]
    return f"{' '.join(argv)}: missing {missing}" if missing else None


def _path(argv: list[str]) -> tuple[str, ...]:
    words = [w for w in argv[1:3] if not w.startswith("-")]
    return tuple(words[:1]) if words[:1] in (["serve"], ["bank-sim"]) else tuple(words[:2])


def test_every_compose_service_of_the_pingan_image_runs_a_command_the_cli_has() -> None:
    services = _compose()["services"]
    commands = {name: s["command"] for name, s in services.items() if "pingan" in str(s.get("image", ""))}
    assert {name: _problem(argv) for name, argv in commands.items()} == dict.fromkeys(commands)
    assert {_path(argv) for argv in commands.values()} >= REQUIRED
    assert sum(1 for argv in commands.values() if _path(argv) == ("serve",)) == 2, "two API instances"


def test_the_reverse_proxy_spreads_requests_over_every_api_service() -> None:
    services = _compose()["services"]
    apis = {name for name, s in services.items() if _path(s.get("command") or ["x"]) == ("serve",)}
    conf = (DEPLOY / "nginx.conf").read_text(encoding="utf-8")
    assert all(f"server {name}:8000" in conf for name in apis)
    assert set(services["proxy"]["depends_on"]) == apis


def test_every_kubernetes_container_of_the_pingan_image_runs_a_command_the_cli_has() -> None:
    commands = _k8s_commands()
    assert [(where, _problem(argv)) for where, argv in commands] == [(where, None) for where, _ in commands]
    assert {_path(argv) for _, argv in commands} >= REQUIRED


# The oldest Kubernetes the manifests are meant for (docs/deploy.md), and the newest schemas at hand.
K8S_VERSIONS = ("1.30.0", "1.37.0")


def _k8s_objects() -> list[tuple[str, dict[str, Any]]]:
    return [
        (f"{path.name}:{doc['kind']}/{doc['metadata']['name']}", doc)
        for path in sorted((DEPLOY / "k8s").glob("*.yaml"))
        for doc in yaml.safe_load_all(path.read_text(encoding="utf-8"))
        if doc
    ]


def _schema_problem(doc: dict[str, Any], version: str) -> str | None:
    import kubernetes_validate

    try:
        kubernetes_validate.validate(doc, version, strict=True)
    except kubernetes_validate.ValidationError as exc:
        return f"{'.'.join(str(p) for p in exc.path)}: {exc.message}"
    return None


@pytest.mark.parametrize("version", K8S_VERSIONS)
def test_every_kubernetes_object_is_valid_against_the_apis_schemas_with_no_unknown_field(
    version: str,
) -> None:
    objects = _k8s_objects()
    assert len(objects) >= 15
    assert {where: _schema_problem(doc, version) for where, doc in objects} == dict.fromkeys(
        w for w, _ in objects
    )


def test_a_misspelt_or_mistyped_kubernetes_field_is_caught() -> None:
    doc = next(doc for _, doc in _k8s_objects() if doc["metadata"]["name"] == "pingan-api")
    container = doc["spec"]["template"]["spec"]["containers"][0]
    misspelt = {**container, "comand": container["command"]}
    mistyped = {**container, "command": " ".join(container["command"])}
    for wrong in (misspelt, mistyped):
        bad = {**doc, "spec": {**doc["spec"], "template": {**doc["spec"]["template"],
               "spec": {**doc["spec"]["template"]["spec"], "containers": [wrong]}}}}  # fmt: skip
        assert _schema_problem(bad, K8S_VERSIONS[-1]) is not None


def test_a_command_the_cli_lacks_is_caught() -> None:
    assert _problem(["pingan", "robot", "fly"]) is not None
    assert _problem(["pingan", "robot", "run", "--lease", "3"]) is not None
    assert _problem(["pingan", "stream", "consume"]) is not None  # --store is required
    assert _problem(["pingan", "robot", "run", "--name", "sender-a"]) is None


def _docker_compose() -> list[str] | None:
    for argv in (["docker", "compose"], ["docker-compose"]):
        if shutil.which(argv[0]) is None:
            continue
        if subprocess.run([*argv, "version"], capture_output=True, check=False).returncode == 0:
            return argv
    return None


def test_docker_compose_accepts_the_file_and_refuses_it_without_the_secrets() -> None:
    compose = _docker_compose()
    if compose is None:
        pytest.skip("Docker Compose is not installed here; the YAML checks above still ran")
    env = {k: v for k, v in os.environ.items() if k not in SECRETS}
    ok = subprocess.run(
        [*compose, "-f", str(DEPLOY / "compose.yaml"), "config", "--quiet"],
        env=env | SECRETS,
        capture_output=True,
        text=True,
        check=False,
    )
    assert ok.returncode == 0, ok.stderr
    refused = subprocess.run(
        [*compose, "-f", str(DEPLOY / "compose.yaml"), "config", "--quiet"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert refused.returncode != 0
    assert "set POSTGRES_PASSWORD" in refused.stderr or "PINGAN_" in refused.stderr
