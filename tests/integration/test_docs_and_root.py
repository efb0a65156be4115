"""``/docs`` and ``/redoc`` work with no network (every asset served by the gateway), and ``/``
sends a browser to the dashboard."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest

from tests.conftest import RunningGateway

_ASSET = re.compile(r"""(?:src|href|url)\s*[=:]\s*['"]([^'"]+\.(?:js|css|png))['"]""")


@pytest.mark.parametrize(("page", "expected"), [("/docs", {".js", ".css"}), ("/redoc", {".js"})])
def test_docs_pages_load_every_asset_from_the_gateway(gateway: RunningGateway, page: str,
                                                      expected: set[str]) -> None:
    response = gateway.http.get(page)
    assert response.status_code == 200
    assets = _ASSET.findall(response.text)
    assert {a[a.rindex("."):] for a in assets} >= expected, assets
    for asset in assets:
        parts = urlsplit(asset)
        assert not parts.scheme and not parts.netloc, f"{page} loads {asset} from another host"
        fetched = gateway.http.get(asset)
        assert fetched.status_code == 200, asset
        assert len(fetched.content) > 1000, asset
    assert "/openapi.json" in response.text


def test_root_redirects_to_the_dashboard(gateway: RunningGateway) -> None:
    response = gateway.http.get("/", follow_redirects=False)
    assert response.status_code == 307
    assert response.headers["location"] == "/dashboard"
    assert gateway.http.get("/", follow_redirects=True).url.path == "/dashboard"
