"""The deploy files are checked here as far as this machine allows (it has no Docker engine):
the Dockerfile's stages, user, health check and sources, and the compose file's wiring."""

from __future__ import annotations

import fnmatch
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def _instructions() -> list[tuple[str, str]]:
    """``(INSTRUCTION, arguments)`` pairs, continuation lines joined, comments dropped."""
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    logical, pending = [], ""
    for line in text.splitlines():
        if not pending and (not line.strip() or line.lstrip().startswith("#")):
            continue
        pending += line.rstrip("\\").strip() + " "
        if not line.endswith("\\"):
            logical.append(pending.strip())
            pending = ""
    return [(item.split(None, 1)[0].upper(), item.split(None, 1)[1]) for item in logical]


def _stages() -> list[list[tuple[str, str]]]:
    stages: list[list[tuple[str, str]]] = []
    for name, args in _instructions():
        if name == "FROM":
            stages.append([])
        stages[-1].append((name, args))
    return stages


def _ignored(path: str) -> bool:
    patterns = [p.strip().rstrip("/") for p in (ROOT / ".dockerignore").read_text().splitlines()
                if p.strip() and not p.startswith("#")]
    return any(fnmatch.fnmatch(path, p) or path.startswith(p + "/") for p in patterns)


def test_the_image_is_multi_stage_and_runs_unprivileged_with_a_health_check() -> None:
    stages = _stages()
    assert len(stages) >= 2
    final = dict(stages[-1])
    user = final.get("USER", "root").split(":")[0]
    assert user not in ("root", "0")
    assert "/healthz" in final["HEALTHCHECK"]
    assert final["CMD"] == '["gateway", "serve"]'
    assert any(name == "COPY" and args.startswith("--from=") for name, args in stages[-1])


def test_every_file_the_image_copies_exists_and_is_not_ignored() -> None:
    for name, args in _instructions():
        if name != "COPY" or args.startswith("--from="):
            continue
        *sources, _dest = args.split()
        for source in sources:
            assert (ROOT / source).exists(), source
            assert not _ignored(source), f"{source} is excluded by .dockerignore"


def test_the_image_keeps_the_migrations_next_to_the_package() -> None:
    """``run_migrations`` finds ``alembic/`` beside the ``gateway`` package (an in-place install)."""
    copies = [args for name, args in _instructions() if name == "COPY"]
    assert any(a.split()[0] == "alembic" for a in copies)
    assert any("pip install -e ." in args for name, args in _instructions() if name == "RUN")


def test_compose_runs_migrations_once_before_the_gateway() -> None:
    compose = yaml.safe_load((ROOT / "deploy" / "docker-compose.yml").read_text(encoding="utf-8"))
    services = compose["services"]
    assert services["migrate"]["command"] == ["gateway", "migrate"]
    assert services["migrate"]["build"]["dockerfile"] == "Dockerfile"
    assert (ROOT / "deploy" / services["migrate"]["build"]["context"] / "Dockerfile").is_file()
    gateway = services["gateway"]
    assert gateway["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert gateway["environment"]["GATEWAY_MIGRATE_ON_START"] == "false"
    assert gateway["environment"]["GATEWAY_DATABASE_URL"].startswith("postgresql+psycopg://")
    assert "GATEWAY_MASTER_KEY" in gateway["environment"]
