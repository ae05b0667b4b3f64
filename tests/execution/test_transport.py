"""H11Transport against hand-written HTTP/1.1 servers: framing, keep-alive, stale connections, bounds."""

from __future__ import annotations

import functools

import httpx
import pytest
import trio

from commandlang.execution import H11Transport, PoolLimits, Target

from .exec_support import RawServer, ok, start


async def test_keep_alive_reuses_one_connection() -> None:
    async def answer(i: int, head: bytes) -> bytes:
        return ok()

    server = RawServer(answer)
    async with trio.open_nursery() as nursery:
        url = await start(nursery, server)
        async with httpx.AsyncClient(transport=H11Transport()) as client:
            for _ in range(5):
                assert (await client.get(url + "/x")).json() == {"ok": True}
        nursery.cancel_scope.cancel()
    assert (server.requests, server.connections) == (5, 1)


async def test_chunked_body_and_connection_close_are_handled() -> None:
    async def answer(i: int, head: bytes) -> bytes:
        return (
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
            b"4\r\nWiki\r\n6\r\npedia \r\nE\r\nin \r\n\r\nchunks.\r\n0\r\n\r\n"
        )

    server = RawServer(answer)
    async with trio.open_nursery() as nursery:
        url = await start(nursery, server)
        async with httpx.AsyncClient(transport=H11Transport()) as client:
            first = await client.get(url + "/x")
            second = await client.get(url + "/x")
        nursery.cancel_scope.cancel()
    assert first.text == second.text == "Wikipedia in \r\n\r\nchunks."
    assert server.connections == 2  # `Connection: close` is obeyed: no reuse


async def test_a_connection_closed_while_idle_is_not_reused() -> None:
    async def answer(i: int, head: bytes) -> bytes:
        return ok()

    server = RawServer(answer)

    async def close_after_one(stream: trio.SocketStream) -> None:
        # answers one request, then closes (no `Connection: close`: the client finds out later)
        data = b""
        while b"\r\n\r\n" not in data:
            data += await stream.receive_some(65536)
        server.requests += 1
        server.connections += 1
        await stream.send_all(ok())
        await stream.aclose()

    async with trio.open_nursery() as nursery:
        listeners = await nursery.start(functools.partial(trio.serve_tcp, close_after_one, 0, host="127.0.0.1"))
        url = f"http://127.0.0.1:{listeners[0].socket.getsockname()[1]}"
        async with httpx.AsyncClient(transport=H11Transport()) as client:
            for _ in range(3):
                await trio.sleep(0.05)  # let the server's close arrive
                assert (await client.post(url + "/x", json={}, headers={"Idempotency-Key": "k"})).status_code == 200
        nursery.cancel_scope.cancel()
    assert (server.requests, server.connections) == (3, 3)


@pytest.mark.parametrize(
    ("method", "headers", "succeeds"),
    [
        ("GET", {}, True),
        ("POST", {"Idempotency-Key": "cmd-1"}, True),
        ("POST", {}, False),
    ],
)
async def test_losing_the_race_with_a_server_close_retries_once_only_when_safe(
    method: str, headers: dict, succeeds: bool
) -> None:
    async def answer(i: int, head: bytes) -> bytes | None:
        return ok() if i == 0 else None  # the second request on a connection: closed, unanswered

    server = RawServer(answer)
    async with trio.open_nursery() as nursery:
        url = await start(nursery, server)
        async with httpx.AsyncClient(transport=H11Transport()) as client:
            await client.request(method, url + "/x", headers=headers)
            if succeeds:
                assert (await client.request(method, url + "/x", headers=headers)).status_code == 200
                assert server.requests == 3 and server.connections == 2
            else:
                with pytest.raises(httpx.RemoteProtocolError):
                    await client.request(method, url + "/x", headers=headers)
                assert server.requests == 2  # not sent twice
        nursery.cancel_scope.cancel()


async def test_the_pool_bounds_open_connections_and_cancellation_frees_slots() -> None:
    async def answer(i: int, head: bytes) -> bytes:
        await trio.sleep(0.05)
        return ok()

    server = RawServer(answer)
    async with trio.open_nursery() as nursery:
        url = await start(nursery, server)
        async with httpx.AsyncClient(transport=H11Transport(PoolLimits(max_connections=2))) as client:
            results = []

            async def one() -> None:
                results.append((await client.get(url + "/x")).status_code)

            async with trio.open_nursery() as inner:
                for _ in range(10):
                    inner.start_soon(one)
            assert results == [200] * 10
            assert server.most_open == 2
            for _ in range(3):
                with trio.move_on_after(0.01):
                    await client.get(url + "/slow")  # cancelled mid-request: its slot must come back
            with trio.fail_after(2):  # with leaked slots this would wait forever
                assert (await client.get(url + "/x")).status_code == 200
        nursery.cancel_scope.cancel()


async def test_httpx_timeouts_are_enforced() -> None:
    async def answer(i: int, head: bytes) -> bytes:
        await trio.sleep(10)
        return ok()

    server = RawServer(answer)
    async with trio.open_nursery() as nursery:
        url = await start(nursery, server)
        async with httpx.AsyncClient(transport=H11Transport(), timeout=0.2) as client:
            with pytest.raises(httpx.ReadTimeout):
                await client.get(url + "/x")
        nursery.cancel_scope.cancel()


async def test_a_request_body_and_query_arrive_intact() -> None:
    seen: list[bytes] = []

    async def answer(i: int, head: bytes) -> bytes:
        seen.append(head)
        return ok()

    server = RawServer(answer)
    async with trio.open_nursery() as nursery:
        url = await start(nursery, server)
        async with httpx.AsyncClient(transport=H11Transport()) as client:

            async def body():
                yield b'{"a":'
                yield b" 1}"

            response = await client.post(url + "/x?q=1", content=body())
        nursery.cancel_scope.cancel()
    assert response.status_code == 200
    assert seen[0].startswith(b"POST /x?q=1 HTTP/1.1\r\n") and b"transfer-encoding: chunked" in seen[0].lower()


async def test_https_with_keep_alive() -> None:
    import ssl

    import trustme

    ca = trustme.CA()
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("localhost").configure_cert(server_context)
    client_context = ssl.create_default_context()
    ca.configure_trust(client_context)

    async def answer(i: int, head: bytes) -> bytes:
        return ok(b'{"tls": true}')

    server = RawServer(answer)
    async with trio.open_nursery() as nursery:
        listeners = await nursery.start(
            functools.partial(trio.serve_ssl_over_tcp, server.handle, 0, server_context, host="127.0.0.1")
        )
        port = listeners[0].transport_listener.socket.getsockname()[1]
        async with httpx.AsyncClient(transport=H11Transport(ssl_context=client_context)) as client:
            for _ in range(3):
                assert (await client.get(f"https://localhost:{port}/x")).json() == {"tls": True}
            untrusted = httpx.AsyncClient(transport=H11Transport())  # the system trust store: our CA is not in it
            with pytest.raises(httpx.ConnectError):
                await untrusted.get(f"https://localhost:{port}/x")
            await untrusted.aclose()
        nursery.cancel_scope.cancel()
    assert (server.requests, server.connections) == (3, 2)  # 3 answers on one connection; the refused handshake


async def test_the_default_tls_context_is_built_once_per_transport(tmp_path, monkeypatch) -> None:
    """The system trust store is read for the first TLS connection only, not for every new connection."""
    import ssl

    import trustme

    ca = trustme.CA()
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("localhost").configure_cert(server_context)
    bundle = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    monkeypatch.setenv("SSL_CERT_FILE", str(bundle))  # the "system" trust store: our CA

    async def answer(i: int, head: bytes) -> bytes:
        return ok(b"{}", extra=b"Connection: close\r\n")  # every request needs a new TLS connection

    server = RawServer(answer)
    async with trio.open_nursery() as nursery:
        listeners = await nursery.start(
            functools.partial(trio.serve_ssl_over_tcp, server.handle, 0, server_context, host="127.0.0.1")
        )
        port = listeners[0].transport_listener.socket.getsockname()[1]
        transport = H11Transport()
        async with httpx.AsyncClient(transport=transport) as client:
            assert (await client.get(f"https://localhost:{port}/x")).status_code == 200
            monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "absent.pem"))  # a store read again would trust nothing
            for _ in range(2):
                assert (await client.get(f"https://localhost:{port}/x")).status_code == 200
        async with httpx.AsyncClient(transport=H11Transport()) as fresh:
            with pytest.raises(httpx.ConnectError):  # a new transport does read the store again
                await fresh.get(f"https://localhost:{port}/x")
        nursery.cancel_scope.cancel()
    assert server.connections == 4


# -- the transport's own door (what the Executor uses) ---------------------------


async def test_request_door_keeps_connections_alive_and_reads_the_body() -> None:
    async def answer(i: int, head: bytes) -> bytes:
        return ok(b'{"n": %d}' % i, extra=b"Retry-After: 3\r\n")

    server = RawServer(answer)
    seen: list[bytes] = []
    async with trio.open_nursery() as nursery:
        url = await start(nursery, server)
        transport = H11Transport()
        for _ in range(4):
            response = await transport.request(
                b"GET", Target.from_url(url + "/x", [("q", "a b")]), [(b"Accept", b"*/*")]
            )
            assert (response.status_code, response.header(b"retry-after"), response.header(b"x-none")) == (
                200,
                "3",
                None,
            )
            seen.append(b"".join([chunk async for chunk in response]))
            assert response.release_nowait()  # read to the end: back to the pool without waiting
        await transport.aclose()
        nursery.cancel_scope.cancel()
    assert seen == [b'{"n": 0}', b'{"n": 1}', b'{"n": 2}', b'{"n": 3}']
    assert (server.requests, server.connections) == (4, 1)


async def test_request_door_closes_a_connection_whose_body_was_not_read() -> None:
    heads: list[bytes] = []

    async def answer(i: int, head: bytes) -> bytes:
        heads.append(head)
        return ok(b"x" * 100_000)

    server = RawServer(answer)
    async with trio.open_nursery() as nursery:
        url = await start(nursery, server)
        transport = H11Transport(PoolLimits(max_connections=1))
        with trio.fail_after(5):  # a slot not given back would make the second request wait forever
            for _ in range(2):
                response = await transport.request(b"GET", Target.from_url(url + "/big"), [])
                assert not response.release_nowait()  # the body is still coming: cannot be reused
                await response.aclose()
        await transport.aclose()
        nursery.cancel_scope.cancel()
    assert server.connections == 2
    assert heads[0].startswith(b"GET /big HTTP/1.1\r\nHost: 127.0.0.1:")


async def test_keep_alive_works_with_descriptor_numbers_past_1023() -> None:
    """The service raises its descriptor limit; a pooled socket numbered past select()'s 1023 is still reused."""
    import os
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < 1200:
        pytest.skip("the hard descriptor limit is below 1200 here")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, 1200), hard))
    pipes = [os.pipe() for _ in range(520)]  # the next sockets get numbers past 1023
    try:

        async def answer(i: int, head: bytes) -> bytes:
            return ok()

        server = RawServer(answer)
        async with trio.open_nursery() as nursery:
            url = await start(nursery, server)
            async with httpx.AsyncClient(transport=H11Transport()) as client:
                for _ in range(3):
                    assert (await client.get(url + "/x")).json() == {"ok": True}
            nursery.cancel_scope.cancel()
        assert (server.requests, server.connections) == (3, 1)
    finally:
        for read_end, write_end in pipes:
            os.close(read_end)
            os.close(write_end)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
