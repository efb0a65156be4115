"""The official ``openai`` Node SDK (npm) against the running gateway: chat, stream, embeddings."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import RunningGateway
from tests.fakes.openai_fake import fake_vector

NODE_DIR = Path(__file__).resolve().parents[1] / "node"


@pytest.mark.node
def test_node_sdk_chat_stream_and_embeddings(gateway: RunningGateway) -> None:
    node = shutil.which("node")
    if node is None or not (NODE_DIR / "node_modules" / "openai").is_dir():
        pytest.skip("Node.js or tests/node/node_modules/openai is missing (run `make test`, which installs it)")
    completed = subprocess.run([node, str(NODE_DIR / "sdk_check.mjs"), gateway.url + "/v1"], capture_output=True,
                               text=True, timeout=60, check=False)
    assert completed.returncode == 0, completed.stderr
    result = json.loads(completed.stdout.strip().splitlines()[-1])
    assert result["chat"] == "echo: hello from node" and result["usage"] == 18
    assert result["streamed"] == "echo: hello from node" and result["chunks"] >= 4
    assert result["embeddings"] == [8, 8]
    assert result["first"] == pytest.approx(fake_vector("a", 8)[:2], rel=1e-6)
