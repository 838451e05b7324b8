"""http_push: accepted bodies become readings only after commit; bad bodies get a JSON 4xx."""

from __future__ import annotations

import asyncio
import contextlib

import httpx

from tests.gateway.drivers.harness import as_wire, make_driver
from tests.services import free_port

NOW_MS = 1_750_000_000_000


def test_accepts_valid_and_refuses_bad_bodies() -> None:
    port = free_port()
    driver, _ctx = make_driver("http_push", "fever_screener", {"port": port})
    url = f"http://127.0.0.1:{port}/readings"
    good = {"ts_ms": NOW_MS, "skin_temp_c": 36.6, "alarm": False, "pair_id": "p-1"}

    async def client() -> list[tuple[int, dict]]:
        await asyncio.sleep(0.3)
        answers = []
        async with httpx.AsyncClient(trust_env=False, timeout=10) as http:
            for body in (
                good,
                {"readings": [{**good, "ts_ms": NOW_MS + 1, "pair_id": "p-2"}]},
                {**good, "skin_temp_c": "hot"},
                {**good, "colour": "red"},
                [good, {"ts_ms": NOW_MS + 2}],
            ):
                response = await http.post(url, json=body)
                answers.append((response.status_code, response.json()))
            response = await http.post(url, content=b"{not json")
            answers.append((response.status_code, response.json()))
            response = await http.post(url.replace("/readings", "/other"), json=good)
            answers.append((response.status_code, response.json()))
        return answers

    async def scenario() -> tuple[list, list]:
        readings: list = []

        async def consume() -> None:
            async for batch in driver.readings():
                readings.extend(batch.readings)

        consumer = asyncio.create_task(consume())
        answers = await client()
        consumer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await consumer
        return readings, answers

    readings, answers = asyncio.run(scenario())
    assert as_wire(readings) == [good, {**good, "ts_ms": NOW_MS + 1, "pair_id": "p-2"}]
    statuses = [status for status, _ in answers]
    assert statuses[:2] == [200, 200]
    assert answers[0][1] == {"accepted": 1}
    assert answers[2] == (422, {"error": "type_mismatch", "detail": answers[2][1]["detail"]})
    assert answers[3][1]["error"] == "unknown_field"
    assert answers[4][0] == 422 and "reading 1" in answers[4][1]["detail"]
    assert answers[5][0] == 400 and answers[5][1]["error"] == "bad_json"
    assert answers[6][0] == 404


def test_a_negative_or_signed_content_length_is_refused_and_the_connection_closed() -> None:
    port = free_port()
    driver, _ctx = make_driver("http_push", "fever_screener", {"port": port})

    async def raw(length: str) -> bytes:
        for _ in range(200):  # the server starts with the consumer task; wait until it listens
            try:
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
                break
            except OSError:
                await asyncio.sleep(0.05)
        writer.write(f"POST /readings HTTP/1.1\r\nContent-Length: {length}\r\n\r\n".encode())
        await writer.drain()
        answer = await asyncio.wait_for(reader.read(), 10)  # read() returns at EOF: closed
        writer.close()
        return answer

    async def scenario() -> list[bytes]:
        async def consume() -> None:
            async for _batch in driver.readings():
                pass

        consumer = asyncio.create_task(consume())
        answers = [await raw(length) for length in ("-5", "+5", "5 5", "٣")]
        consumer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await consumer
        return answers

    for answer in asyncio.run(scenario()):
        assert answer.startswith(b"HTTP/1.1 400 ") and b"bad Content-Length" in answer
