"""Fixtures for the Vertex AI tests: a throwaway RSA key, a service-account key file, the fake."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.fakes.vertexai_fake import CLIENT_EMAIL, PROJECT, FakeVertex


@pytest.fixture(scope="session")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def service_account_info(key: rsa.RSAPrivateKey, token_uri: str) -> dict[str, Any]:
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    return {"type": "service_account", "project_id": PROJECT, "private_key_id": "kid-1", "private_key": pem,
            "client_email": CLIENT_EMAIL, "client_id": "1", "token_uri": token_uri}


@pytest.fixture
def fake_vertex(rsa_key: rsa.RSAPrivateKey) -> Iterator[FakeVertex]:
    fake = FakeVertex(rsa_key.public_key()).start()
    yield fake
    fake.stop()


@pytest.fixture
def key_file(tmp_path: Path, rsa_key: rsa.RSAPrivateKey, fake_vertex: FakeVertex) -> Path:
    """A service-account JSON file whose token_uri is the fake's ``/token``."""
    path = tmp_path / "service-account.json"
    path.write_bytes(orjson.dumps(service_account_info(rsa_key, fake_vertex.url + "/token")))
    return path


@pytest.fixture
def make_key_text(rsa_key: rsa.RSAPrivateKey) -> Callable[[str], str]:
    return lambda token_uri: orjson.dumps(service_account_info(rsa_key, token_uri)).decode()


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client
