"""The complete config report: every problem of a file at once, each with its line, the same
for ``gateway config check``, ``gateway serve`` (which then does not serve) and ``create_app``."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway import cli
from gateway.app import create_app
from gateway.callers.registry import load_registry
from gateway.config import ConfigError, load_config
from gateway.config_report import check_config
from gateway.settings import Settings

FIVE_PROBLEMS = """\
providers:
  opnai:
    credential: {key: sk-test}
models:
  - name: fast
    model: openai/gpt-4o-mini
    credentail: {key: sk-other}
  - name: claude
    model: anthropic/claude-haiku-4-5
    fallbacks: [fsat]
provider: {}
"""

EXPECTED = [
    ":2: providers.opnai: unknown provider 'opnai' (did you mean 'openai'?)",
    ":7: models[0].credentail: Extra inputs are not permitted (did you mean 'credential'?)",
    ":8: models[1]: warning: missing credential 'key' for provider 'anthropic' "
    "(set ANTHROPIC_API_KEY, or providers.anthropic.credential in the config file); requests for it fail until it "
    "is set",
    ":10: models[1].fallbacks[0]: fallback 'fsat' is neither a model alias nor 'provider/upstream-model' "
    "(did you mean 'fast'?)",
    ":11: provider: Extra inputs are not permitted (did you mean 'providers'?)",
]

ENV = {"OPENAI_API_KEY": "sk-test"}


def expected(path: Path) -> list[str]:
    return [f"{path}{line}" for line in EXPECTED]


@pytest.fixture
def bad_config(tmp_path: Path) -> Path:
    path = tmp_path / "gateway.yaml"
    path.write_text(FIVE_PROBLEMS)
    return path


@pytest.fixture
def environment(bare_environment: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A clean environment for ``cli.main``: only an OpenAI key and a database that must stay unmade."""
    tmp_path = bare_environment
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    database = tmp_path / "never.db"
    monkeypatch.setenv("GATEWAY_DATABASE_URL", f"sqlite:///{database}")
    return database


def test_every_problem_of_the_file_at_once_with_its_line_and_a_suggestion(bad_config: Path) -> None:
    report = check_config(bad_config, load_registry(), ENV)
    assert report.lines() == expected(bad_config)
    assert report.text().endswith(f"\n{bad_config}: 4 problem(s), 1 warning(s)")


def test_yaml_syntax_errors_name_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "gateway.yaml"
    path.write_text("models:\n  - name: fast\n    fallbacks: [a, b\n  - name: slow\n")
    assert check_config(path, load_registry(), ENV).lines() == [
        f"{path}:4:9: invalid YAML: while parsing a flow sequence at line 3: expected ',' or ']', but got ':'"]
    path.write_text("models:\n  - name: fast\n\tmodel: openai/gpt-4o\n")
    assert check_config(path, load_registry(), ENV).lines() == [
        f"{path}:3:1: invalid YAML: found character '\\t' that cannot start any token"]


def test_the_rest_of_the_document_is_checked_too(tmp_path: Path) -> None:
    path = tmp_path / "gateway.yaml"
    path.write_text("""\
providers:
  openai:
    credential: {key: "${TEAM_KEY}", organization: os.environ/TEAM_ORG}
    timeouts: {conect: 5}
models:
  - name: fast
    model: openai/gpt-4o-mini
    parameters: {model.temprature: 0.2, model.safe_prompt: true, model.max_tokens: 100}
  - {name: fast, model: openai/gpt-4o}
  - name: broken
    model: gpt-4o
""")
    assert check_config(path, load_registry(), {}).lines() == [f"{path}{line}" for line in [
        ":3: providers.openai.credential.key: environment variable TEAM_KEY is not set",
        ":3: providers.openai.credential.organization: environment variable TEAM_ORG is not set",
        ":4: providers.openai.timeouts.conect: Extra inputs are not permitted (did you mean 'connect'?)",
        ":8: models[0].parameters['model.temprature']: unknown parameter (did you mean 'model.temperature'?)",
        ":8: models[0].parameters['model.safe_prompt']: provider 'openai' does not honour this parameter",
        ":9: models[1].name: model alias 'fast' is defined twice (first at models[0])",
        ":11: models[2].model: must be 'provider/upstream-model', e.g. 'openai/gpt-4o-mini'",
    ]]


def test_serve_with_a_bad_config_prints_every_problem_and_does_not_serve(
        bad_config: Path, environment: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        caplog: pytest.LogCaptureFixture) -> None:
    import uvicorn

    def never(*_: object, **__: object) -> None:
        pytest.fail("uvicorn.run was called with a bad config")

    monkeypatch.setattr(uvicorn, "run", never)
    monkeypatch.setenv("GATEWAY_CONFIG", str(bad_config))
    assert cli.main(["serve"]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.splitlines() == [*expected(bad_config), f"{bad_config}: 4 problem(s), 1 warning(s); not serving"]
    assert "serving on" not in err + caplog.text
    assert not environment.exists(), "no migration before the config is known to be good"


def test_config_check_and_serve_print_the_same_problems(
        bad_config: Path, environment: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    import uvicorn

    monkeypatch.setattr(uvicorn, "run", lambda *_, **__: pytest.fail("uvicorn.run was called"))
    monkeypatch.setenv("GATEWAY_CONFIG", str(bad_config))
    assert cli.main(["config", "check"]) == 2
    check = capsys.readouterr().err.splitlines()
    assert cli.main(["serve"]) == 2
    serve = capsys.readouterr().err.splitlines()
    assert check[:-1] == serve[:-1] == expected(bad_config)
    assert check[-1] == f"{bad_config}: 4 problem(s), 1 warning(s)"


def test_serve_with_a_good_config_goes_on_to_serve(
        tmp_path: Path, environment: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import uvicorn

    served: list[str] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **_: served.append(app))
    path = tmp_path / "gateway.yaml"
    path.write_text("models:\n  - {name: fast, model: openai/gpt-4o-mini}\n")
    monkeypatch.setenv("GATEWAY_CONFIG", str(path))
    assert cli.main(["serve"]) == 0
    assert served == ["gateway.app:create_app_from_env"]


def test_a_missing_credential_alone_is_a_warning_that_does_not_stop_serving(
        tmp_path: Path, environment: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """The rest of the file works: requests for the alias fail (and fall back) until the key is set."""
    import uvicorn

    served: list[str] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **_: served.append(app))
    path = tmp_path / "gateway.yaml"
    path.write_text("models:\n  - {name: fast, model: openai/gpt-4o-mini}\n  - {name: claude, model: anthropic/c}\n")
    monkeypatch.setenv("GATEWAY_CONFIG", str(path))
    assert cli.main(["config", "check"]) == 0
    check = capsys.readouterr()
    assert cli.main(["serve"]) == 0
    serve = capsys.readouterr()
    assert served == ["gateway.app:create_app_from_env"]
    warning = f"{path}:3: models[1]: warning: missing credential 'key' for provider 'anthropic'"
    assert check.err.splitlines()[0].startswith(warning)
    assert serve.err.splitlines()[0].startswith(warning)
    assert check.err.splitlines()[-1] == serve.err.splitlines()[-1] == f"{path}: 0 problem(s), 1 warning(s)"
    assert check.out.startswith("ok: 2 aliases")


def test_create_app_refuses_a_bad_config_with_the_whole_report(bad_config: Path, tmp_path: Path) -> None:
    settings = Settings.load(env_file=None, config=bad_config, database_url=f"sqlite:///{tmp_path / 'app.db'}",
                             environment=ENV)
    with pytest.raises(ConfigError) as excinfo:
        create_app(settings)
    assert str(excinfo.value).splitlines() == [*expected(bad_config), f"{bad_config}: 4 problem(s), 1 warning(s)"]


def test_load_config_lists_every_problem_of_the_document(bad_config: Path) -> None:
    with pytest.raises(ConfigError) as excinfo:
        load_config(bad_config, ENV)
    assert str(excinfo.value).splitlines() == [
        f"{bad_config}:7: models[0].credentail: Extra inputs are not permitted (did you mean 'credential'?)",
        f"{bad_config}:11: provider: Extra inputs are not permitted (did you mean 'providers'?)",
        f"{bad_config}: 2 problem(s)",
    ]
