"""Install the client libraries ``tests/clientvenvs`` drives against the gateway, each in its own venv.

Neither fits the main venv, whose ``openai`` is 3.x: ``llama-index-llms-openai-like`` pins
``openai<3``, and ``instructor`` pins ``jiter<0.15`` where ``openai`` 3.x needs ``jiter>=0.16``. So
each gets ``tests/clientvenvs/.venv-<name>`` (gitignored) beside ``openai`` 2.x, with the exact
versions below; the tests run small scripts with that venv's python.

Run it directly (``python tests/clientvenvs/install.py [name ...]``) or let the suite's fixtures run
it when a venv is missing. A stamp in each venv records the Python version and the requirement set:
a changed pin rebuilds that venv from scratch (``venv --clear``), an unchanged one is left alone.
Cold: about half a minute for both on 2 cores, side by side (30-40 s with an empty pip cache too). Warm:
nothing to do (a stamp read).
Safe to run concurrently (a file lock per venv). Exits non-zero naming the step that failed.
"""

from __future__ import annotations

import fcntl
import importlib.util
import os
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

HERE = Path(__file__).resolve().parent

OPENAI_2 = "openai==2.54.0"
REQUIREMENTS: dict[str, tuple[str, ...]] = {
    "llamaindex": (
        "llama-index-llms-openai-like==0.8.1",
        "llama-index-llms-openai==0.8.3",
        "llama-index-core==0.14.25",
        OPENAI_2,
    ),
    "instructor": (
        "instructor==1.17.0",
        "jiter==0.14.0",
        OPENAI_2,
    ),
}
"""Per venv, the libraries under test and the ``openai`` SDK they drive, pinned exactly."""


class InstallError(RuntimeError):
    """A step failed; the message names it and ends with the tail of its output."""


def venv(name: str) -> Path:
    return HERE / f".venv-{name}"


def python(name: str) -> Path:
    return venv(name) / "bin" / "python"


def _stamp(name: str) -> Path:
    return venv(name) / ".installed"


def _wanted(name: str) -> str:
    return "\n".join([f"python {sys.version_info.major}.{sys.version_info.minor}", *REQUIREMENTS[name]])


def ready(name: str) -> bool:
    """The venv exists and was installed with exactly this module's requirement set."""
    stamp = _stamp(name)
    return python(name).is_file() and stamp.is_file() and stamp.read_text().strip() == _wanted(name)


def _log(message: str) -> None:
    print(f"clientvenvs install: {message}", file=sys.stderr, flush=True)


def _run(step: str, argv: Sequence[str | os.PathLike[str]]) -> None:
    started = time.monotonic()
    _log(f"{step} ...")
    result = subprocess.run([os.fspath(a) for a in argv], capture_output=True, text=True, check=False,
                            stdin=subprocess.DEVNULL)
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).splitlines()[-40:])
        raise InstallError(f"{step} failed (exit {result.returncode}):\n{tail}")
    _log(f"{step}: done in {time.monotonic() - started:.0f} s")


@contextmanager
def _locked(name: str) -> Iterator[None]:
    with (HERE / f".venv-{name}.lock").open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _pip(name: str) -> list[str | os.PathLike[str]]:
    """This interpreter's pip aimed at the venv (``--python``), so the venv needs no pip of its own;
    the venv's pip when this interpreter has none."""
    if importlib.util.find_spec("pip") is not None:
        return [sys.executable, "-m", "pip", "--python", python(name)]
    return [python(name), "-m", "pip"]


def install(name: str) -> Path:
    """Make ``ready(name)`` true and return the venv's python; raises ``InstallError`` naming the failed step.

    pip installs without compiling (``--no-compile``: it compiles one file at a time) and ``compileall``
    then compiles on every core, so that the scripts' imports are quick even where
    ``PYTHONDONTWRITEBYTECODE`` is set.
    """
    if name not in REQUIREMENTS:
        raise InstallError(f"unknown client venv {name!r} (known: {', '.join(REQUIREMENTS)})")
    with _locked(name):
        if ready(name):
            return python(name)
        where = venv(name).relative_to(HERE.parents[1])
        own_pip = importlib.util.find_spec("pip") is None
        _run(f"creating {where}", [sys.executable, "-m", "venv", "--clear", *([] if own_pip else ["--without-pip"]),
                                   venv(name)])
        _run(f"installing {' '.join(REQUIREMENTS[name])} into {where}",
             [*_pip(name), "install", "--quiet", "--disable-pip-version-check", "--no-input", "--no-compile",
              *REQUIREMENTS[name]])
        _run(f"compiling {where}", [python(name), "-m", "compileall", "-q", "-j0", _site_packages(name)])
        _stamp(name).write_text(_wanted(name) + "\n")
    return python(name)


def _site_packages(name: str) -> Path:
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    return venv(name) / "lib" / version / "site-packages"


def install_all(names: Sequence[str] | None = None) -> dict[str, InstallError]:
    """Install every named venv that is not ready, side by side; return the failures by name."""
    missing = [name for name in (names or list(REQUIREMENTS)) if not ready(name)]
    failures: dict[str, InstallError] = {}

    def one(name: str) -> None:
        try:
            install(name)
        except InstallError as exc:
            failures[name] = exc

    with ThreadPoolExecutor(max_workers=max(1, len(missing))) as pool:
        list(pool.map(one, missing))
    return failures


def main(argv: Sequence[str]) -> int:
    started = time.monotonic()
    names = list(argv) or list(REQUIREMENTS)
    failures = install_all(names)
    for name, exc in failures.items():
        _log(f"{name}: {exc}")
    if failures:
        return 1
    _log(f"ready in {time.monotonic() - started:.0f} s: " + ", ".join(str(python(name)) for name in names))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
