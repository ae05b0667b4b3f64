"""The one scrubber (`replies.scrub`): what it removes from a text, and the URL rule for links."""

from __future__ import annotations

import pytest

from commandlang.registry.model import BackendSpec, RegistrySpec, Settings
from commandlang.replies.scrub import Scrubber, is_allowed_link

CARD = "4111111111111111"


def registry_with(*base_urls: str) -> RegistrySpec:
    backends = {f"b{i}": BackendSpec(name=f"b{i}", base_url=url) for i, url in enumerate(base_urls)}
    return RegistrySpec(version=1, settings=Settings(), backends=backends, commands={}, aliases={})


SCRUBBER = Scrubber(hosts=("orders.internal",), secrets=(CARD,))


@pytest.mark.parametrize(
    ("leak", "gone"),
    [
        ("database exploded at 10.1.2.3", "10.1.2.3"),
        ("pool 10.1.2.3:5432 is full", "10.1.2.3"),
        ("replica fe80::1%eth0 down", "fe80::1"),
        ("peer [2001:db8::1]:443 refused", "2001:db8::1"),
        ("bound to ::1 only", "::1"),
        ("see http://orders.internal:8700/v1/x", "orders.internal"),
        ("ask ORDERS.INTERNAL:8700 directly", "ORDERS.INTERNAL"),
        ("try wss://sync.corp/ws or ftp://files.corp/x", "corp"),
        ("Traceback (most recent call last):\n  File \"/srv/app.py\", line 3, in f\nKeyError: 'x'", "KeyError"),
        ("failed in /srv/app/db.py:42:7 while saving", "db.py"),
        ("at com.acme.Db.query(Db.java:17) nested", "Db.java"),
        (f"card {CARD} declined", CARD),
    ],
)
def test_a_message_loses_what_is_internal(leak: str, gone: str) -> None:
    assert gone not in SCRUBBER.message(leak)


@pytest.mark.parametrize(
    "kept",
    [
        "Order 7 was not found",
        "try again at 12:00:00",
        "version 1.2 and 3.14",
        "amount 10.50 EUR",
        "ratio 3:4",
    ],
)
def test_a_message_keeps_what_a_user_needs(kept: str) -> None:
    assert SCRUBBER.message(kept) == kept


def test_a_secret_is_masked_before_a_url_holding_it_is_cut() -> None:
    assert SCRUBBER.message(f"card {CARD} at https://x.example/{CARD}") == "card ****1111 at [link removed]"


def test_a_message_is_one_bounded_line() -> None:
    text = SCRUBBER.message("a\nb\r\n" + "x" * 1000)
    assert "\n" not in text and len(text) <= 300 and text.endswith("…")


def test_mask_only_masks_and_reaches_into_structures() -> None:
    data = {"note": f"card {CARD}", "items": [CARD, 5], "url": "https://example.com/receipt"}
    assert SCRUBBER.mask(data) == {
        "note": "card ****1111",
        "items": ["****1111", 5],
        "url": "https://example.com/receipt",
    }


def test_for_registry_takes_the_backends_host_names_but_not_ip_literals() -> None:
    scrubber = Scrubber.for_registry(
        registry_with("https://Orders.Internal:8443/v1", "http://10.9.8.7:80", "http://[::1]:9")
    )
    assert scrubber.hosts == ("orders.internal",)
    assert (
        scrubber.message("orders.internal:8443 and 10.9.8.7 said no")
        == "[address removed] and [address removed] said no"
    )


@pytest.mark.parametrize(
    "url",
    [
        "https://example.com/r/1",
        "HTTPS://example.com",
        "http://127.0.0.1:8700/receipt",
        "http://127.9.9.9/x",
        "http://localhost:8080/x",
        "http://[::1]:9/x",
    ],
)
def test_links_allowed(url: str) -> None:
    assert is_allowed_link(url)


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "JavaScript:alert(1)",
        "data:text/html,<script>x</script>",
        "file:///etc/passwd",
        "http://example.com/x",
        "http://127.0.0.1.evil.example/",
        "//evil.example/x",
        "example.com/x",
        "https:///x",
        "vbscript:x",
        "https://exa mple.com",
        "https://example.com/\nx",
        "",
        None,
    ],
)
def test_links_refused(url: str | None) -> None:
    assert not is_allowed_link(url)
