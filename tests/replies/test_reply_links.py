"""Links a reply sends (link buttons, card images and actions, quick reply images, attachments, markdown links)
follow one rule: https, or http to a loopback host. Others are dropped; the rest of the reply stays."""

from __future__ import annotations

import pytest

from commandlang.registry.model import ReplySpec
from commandlang.replies.compile_genesys import compile_genesys
from commandlang.replies.compile_text import compile_text
from commandlang.replies.context import ReplyContext
from commandlang.replies.render import ReplyRenderer

from .helpers import pay_command

BAD = [
    "javascript:alert(document.cookie)",
    "data:text/html;base64,PHNjcmlwdD4=",
    "file:///etc/passwd",
    "http://example.com/receipt",
    "example.com/receipt",
    "  javascript:alert(1)",
]

#: Every place a reply holds a URL, each filled from backend data.
TEMPLATE = {
    "text": "Refund done. [Receipt]({{ result.url }})",
    "format": "markdown",
    "quick_replies": [{"label": "Again", "payload": "/pay 1", "image": "{{ result.url }}"}],
    "buttons": [
        {"kind": "link", "label": "Open", "url": "{{ result.url }}"},
        {"kind": "postback", "label": "Undo", "payload": "/undo 1"},
    ],
    "cards": [
        {
            "title": "Receipt",
            "image": "{{ result.url }}",
            "default_action": {"kind": "link", "url": "{{ result.url }}"},
            "actions": [
                {"kind": "link", "label": "View", "url": "{{ result.url }}"},
                {"kind": "postback", "label": "Email it", "payload": "/email 1"},
            ],
        }
    ],
    "attachments": [{"url": "{{ result.url }}", "media_type": "File", "filename": "receipt.pdf"}],
}


def render(url: str):  # noqa: ANN201 - a Reply
    spec = pay_command(reply=ReplySpec(success=TEMPLATE))
    context = ReplyContext(args={"invoice": 7, "note": "n"}, result={"url": url})
    return ReplyRenderer().render(spec, "success", context, strict=True)


@pytest.mark.parametrize("url", BAD)
def test_a_bad_url_from_the_backend_is_dropped_and_the_rest_kept(url: str) -> None:
    reply = render(url)
    assert reply.text == "Refund done. Receipt"  # the markdown link keeps its label
    assert [b.label for b in reply.buttons] == ["Undo"]
    assert reply.quick_replies[0].label == "Again" and reply.quick_replies[0].image is None
    card = reply.cards[0]
    assert card.title == "Receipt" and card.image is None and card.default_action is None
    assert [a.label for a in card.actions] == ["Email it"]
    assert reply.attachments == ()
    for shown in (str(compile_genesys(reply)), compile_text(reply), str(reply.to_json())):
        assert url.strip() not in shown


@pytest.mark.parametrize(
    "url", ["https://receipts.example.com/r/1", "http://127.0.0.1:8700/r/1", "http://localhost:8700/r/1"]
)
def test_https_and_loopback_http_go_out_everywhere(url: str) -> None:
    reply = render(url)
    assert reply.text == f"Refund done. [Receipt]({url})"
    assert reply.buttons[0].url == url and reply.quick_replies[0].image == url
    card = reply.cards[0]
    assert card.image == url and card.default_action is not None and card.default_action.url == url
    assert card.actions[0].url == url and reply.attachments[0].url == url


def test_a_reply_that_was_only_a_bad_link_falls_back_to_the_default() -> None:
    spec = pay_command(reply=ReplySpec(success={"attachments": [{"url": "{{ result.url }}"}]}))
    context = ReplyContext(args={"invoice": 7}, result={"url": "javascript:alert(1)"})
    assert ReplyRenderer().render(spec, "success", context).text == "Done: /pay"
