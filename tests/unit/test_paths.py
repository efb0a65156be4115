"""``gateway.callers.paths``: client text as URL path segments."""

from __future__ import annotations

import httpx
import pytest

from gateway.callers.paths import segment, segments
from gateway.errors import InvalidRequestError


@pytest.mark.parametrize(("value", "wire"), [
    ("gpt-4o", "gpt-4o"),
    ("a/b", "a%2Fb"),
    ("a?b#c", "a%3Fb%23c"),
    ("50%", "50%25"),
    ("%2e%2e", "%252e%252e"),
    ("..a", "..a"),
    ("~_.-", "~_.-"),
    ("\u00e9 :", "%C3%A9%20%3A"),
])
def test_segment_encodes_everything_outside_the_unreserved_set(value: str, wire: str) -> None:
    assert segment(value, "p") == wire
    assert httpx.URL(f"http://h/base/{segment(value, 'p')}/tail").raw_path == f"/base/{wire}/tail".encode()


@pytest.mark.parametrize("value", ["", ".", ".."])
def test_dot_and_empty_segments_are_refused_naming_the_param(value: str) -> None:
    with pytest.raises(InvalidRequestError) as raised:
        segment(value, "prov", param="deployment")
    assert (raised.value.status, raised.value.param, raised.value.provider) == (400, "deployment", "prov")


def test_segments_bound_their_count_and_check_each_part() -> None:
    assert segments("org/na?me", "p", most=2) == "org/na%3Fme"
    for bad in ("a/b/c", "a/..", "./a", "a//b", "a/"):
        with pytest.raises(InvalidRequestError) as raised:
            segments(bad, "p", most=2)
        assert raised.value.param == "model" and f"'{bad}'" in raised.value.message
