"""`Target.from_url` splits a URL exactly as httpx would have sent it (its fast path and its fallback)."""

from __future__ import annotations

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from commandlang.execution.target import Target


def httpx_target(url: str, query: list[tuple[str, str]]) -> Target:
    return Target.via_httpx(url, query)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/v1/orders/12345",
        "http://backend.internal/v1/orders/a%2Fb",
        "https://api.example.com:443/v1",  # the default port: no port in the Host header
        "http://api.example.com:80",  # no path at all
        "http://API.Example.com:8080/x",  # upper case: httpx lower-cases the host
        "http://[::1]:8080/v1/x",  # IPv6: brackets in the Host header, none for connecting
        "http://a/v1/orders/%2E%2E",  # an encoded dot-segment stays encoded
        "http://a/v1/./x/../y",  # literal dot segments: httpx removes them
        "http://a/v1/a b/é",  # characters httpx escapes
        "http://a/v1/%zz",  # a bad escape httpx keeps as it is
        "http://a/v1/x?fixed=1",  # a query already in the base URL
    ],
)
@pytest.mark.parametrize("query", [[], [("q", "x y&z/é"), ("q", "2"), ("empty", "")]])
def test_splits_as_httpx_sends(url: str, query: list[tuple[str, str]]) -> None:
    assert Target.from_url(url, query) == httpx_target(url, query)


def test_ipv6_connects_to_the_bare_address_and_names_it_in_brackets() -> None:
    target = Target.from_url("http://[::1]:8080/x")
    assert (target.host, target.port, target.netloc, target.target) == (b"::1", 8080, b"[::1]:8080", b"/x")


segment = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=8)
pairs = st.lists(st.tuples(st.text(max_size=5), st.text(max_size=8)), max_size=3)


@given(
    segments=st.lists(segment, max_size=4),
    query=pairs,
    port=st.sampled_from(["", ":80", ":443", ":8080"]),
    scheme=st.sampled_from(["http", "https"]),
)
def test_any_path_and_query_split_as_httpx_sends(
    segments: list[str], query: list[tuple[str, str]], port: str, scheme: str
) -> None:
    url = f"{scheme}://backend.example{port}/" + "/".join(segments)
    try:
        expected = httpx_target(url, query)
    except httpx.InvalidURL:  # httpx refuses it (a control character, say): we must not send it either
        with pytest.raises(httpx.InvalidURL):
            Target.from_url(url, query)
        return
    assert Target.from_url(url, query) == expected
