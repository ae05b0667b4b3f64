"""Hostile client frames on real sockets: each closes its own session with a clear code, and the hub serves on."""

from __future__ import annotations

import json
from pathlib import Path

import trio
from trio_websocket import ConnectionClosed, open_websocket_url

from .support import FakeRuntime, first_frame, refused_with, running_hub, token
from .test_resilience import masked_frame, raw_session, server_frames


async def _refused_raw(url: str, text: str) -> tuple[int, str, list[str]]:
    """Like `refused_with`, for a first frame that is not a JSON document we could build with json.dumps."""
    received: list[str] = []
    async with open_websocket_url(url) as ws:
        await ws.send_message(text)
        try:
            while True:
                received.append(await ws.get_message())
        except ConnectionClosed as closed:
            return closed.reason.code, closed.reason.reason or "", received


async def test_a_deeply_nested_hello_gets_4400_and_the_hub_serves_on(tmp_path: Path) -> None:
    async with running_hub(tmp_path / "s.db") as (store, hub, url):
        with trio.fail_after(10):
            for document in ("[" * 60_000, '{"type": "hello", "subscribe": ' + "[" * 30_000 + "]" * 30_000 + "}"):
                code, reason, frames = await _refused_raw(url, document)  # 60,000 deep fits the 64 KiB frame limit
                assert (code, reason, frames) == (4400, "bad hello: nested deeper than 64 levels", [])
            assert (await first_frame(url, ["*"]))["type"] == "snapshot"


async def test_lone_surrogates_in_any_hello_field_get_4400_with_where_they_are(tmp_path: Path) -> None:
    async with running_hub(tmp_path / "s.db") as (store, hub, url):
        granted = token("conversation:c1")
        hellos = [  # json.dumps writes each lone surrogate as a \ud800-style escape
            {"type": "hello", "token": granted, "subscribe": ["conversation:\ud800"]},  # its 4403 reason would quote it
            {"type": "hello", "token": granted, "subscribe": ["conversation:c1"], "note": "\udfff"},
            {"type": "hello\udbff", "token": granted, "subscribe": ["conversation:c1"]},
            {"type": "hello", "token": granted + "\ud800", "subscribe": ["conversation:c1"]},
        ]
        with trio.fail_after(10):
            for hello in hellos:
                text = json.dumps(hello)
                escape = next(part for part in ("\\ud800", "\\udfff", "\\udbff") if part in text)
                code, reason, frames = await _refused_raw(url, text)
                assert (code, frames) == (4400, [])
                assert reason == f"bad hello: lone surrogate {escape} at character {text.index(escape) + 1}"
            assert (await first_frame(url, ["conversation:c1"]))["type"] == "snapshot"


async def test_other_undecodable_hellos_get_4400_saying_what_is_wrong(tmp_path: Path) -> None:
    async with running_hub(tmp_path / "s.db") as (store, hub, url):
        with trio.fail_after(10):
            code, reason, _ = await _refused_raw(url, "hello?")
            assert (code, reason) == (4400, "bad hello: not JSON: Expecting value at character 1")
            code, reason, _ = await _refused_raw(url, '{"type": "hello", "resume_after": NaN}')
            assert (code, reason) == (4400, "bad hello: NaN is not JSON")
            code, reason, _ = await _refused_raw(url, '{"type": "hello", "resume_after": ' + "9" * 5000 + "}")
            assert code == 4400 and reason.startswith("bad hello: not usable JSON: Exceeds the limit")
            code, reason, _ = await refused_with(
                url, {"type": "hello", "token": token("*"), "subscribe": ["*"], "resume_after": 1.5}
            )
            assert (code, reason) == (4400, "resume_after must be a seq (an integer >= 0) or null")


async def test_invalid_utf8_in_a_text_frame_closes_with_1007_before_or_after_the_hello(tmp_path: Path) -> None:
    async with running_hub(tmp_path / "s.db") as (store, hub, url):
        with trio.fail_after(10):
            for hello in (None, {"type": "hello", "token": token("*"), "subscribe": ["*"], "resume_after": None}):
                stream = await raw_session(hub.port, hello)
                await stream.send_all(masked_frame(b'{"type": "hello\xff"}'))
                data = b""
                while chunk := await stream.receive_some(65536):  # the hub sends its close frame and hangs up
                    data += chunk
                await stream.aclose()
                close = [payload for opcode, payload in server_frames(data) if opcode == 0x8]
                assert close, "the hub hung up without a close frame"
                assert int.from_bytes(close[0][:2], "big") == 1007  # RFC 6455: invalid frame payload data
                assert b"utf-8" in close[0][2:].lower(), close[0]  # with a reason saying so
            assert (await first_frame(url, ["*"]))["type"] == "snapshot"


async def test_hostile_frames_after_the_hello_are_ignored_and_the_session_stays_live(tmp_path: Path) -> None:
    async with running_hub(tmp_path / "s.db") as (store, hub, url):
        runtime = FakeRuntime(store, hub)
        with trio.fail_after(10):
            async with open_websocket_url(url) as ws:
                await ws.send_message(
                    json.dumps({"type": "hello", "token": token("*"), "subscribe": ["*"], "resume_after": None})
                )
                assert json.loads(await ws.get_message())["type"] == "snapshot"
                for text in ("[" * 60_000, '"\\ud800"', "not json"):
                    await ws.send_message(text)
                await runtime.create("k1", "c1")
                frame = json.loads(await ws.get_message())
                assert (frame["type"], frame["command"]["id"]) == ("state", "k1")
