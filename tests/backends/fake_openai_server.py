"""A local OpenAI-protocol server for tests and the benchmark: 127.0.0.1 only, stdlib only.

It answers POST /v1/completions and /v1/chat/completions with "echo: <prompt>" and injects
scripted faults. `faults` maps a prompt (for chat: the last message's content) to the list
of faults its successive attempts meet before the server answers normally:
"429" (with Retry-After), "408", "409", "500", "503", "400", "timeout" (hang, then close
without answering), "drop" (close at once), "malformed" (200 with broken JSON),
"badshape" (200 with JSON lacking choices), "crash" (stop listening for good: later
connections are refused). It counts attempts and successful generations per prompt, so
tests can check that nothing is lost or generated twice.

Like vLLM's server, it can report `max_model_len` on GET /v1/models and answer 400 to more
than `max_stops` stop strings or to a max_tokens above max_model_len.
"""

from __future__ import annotations

import asyncio
import json
import random
import threading
from collections import Counter
from collections.abc import Sequence

_REASONS = {
    200: "OK",
    400: "Bad Request",
    408: "Request Timeout",
    409: "Conflict",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


class FakeOpenAIServer:
    def __init__(
        self,
        faults: dict[str, list[str]] | None = None,
        *,
        retry_after: str = "0",
        hang_seconds: float = 2.0,
        latency: float = 0.0,
        jitter: float = 0.0,
        max_model_len: int | None = None,
        max_stops: int | None = None,
    ) -> None:
        # fault lists are consumed as attempts arrive; several servers may share one mapping
        self.faults = faults if faults is not None else {}
        self.retry_after = retry_after
        self.hang_seconds = hang_seconds
        self.latency = latency
        self.jitter = jitter  # each answer takes latency * uniform(1 - jitter, 1 + jitter)
        self.max_model_len = max_model_len  # GET /v1/models reports it; None: 404 there
        self.max_stops = max_stops
        self._rng = random.Random(0)
        self.attempts: Counter[str] = Counter()
        self.successes: Counter[str] = Counter()
        self.bodies: list[dict] = []
        self.auth: Counter[str] = Counter()
        self.keep_bodies = True
        self.port = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: asyncio.AbstractServer | None = None
        self._handlers: set[asyncio.Task] = set()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    # lifecycle ----------------------------------------------------------------------------

    def start(self) -> FakeOpenAIServer:
        self._loop = asyncio.new_event_loop()
        ready = threading.Event()

        def run() -> None:
            asyncio.set_event_loop(self._loop)
            self._loop.run_until_complete(self._start())
            ready.set()
            self._loop.run_forever()

        self._thread = threading.Thread(target=run, name="fake-openai", daemon=True)
        self._thread.start()
        ready.wait(10)
        return self

    async def _start(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0, backlog=1024)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _shutdown(self) -> None:
        assert self._server is not None
        self._server.close()
        for task in list(self._handlers):
            task.cancel()
        await asyncio.gather(*self._handlers, return_exceptions=True)
        await self._server.wait_closed()

    def stop(self) -> None:
        if self._loop is None:
            return
        asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        assert self._thread is not None
        self._thread.join(10)
        self._loop.close()
        self._loop = None

    def __enter__(self) -> FakeOpenAIServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # HTTP -------------------------------------------------------------------------------

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        try:
            while True:
                line = await reader.readline()
                if not line:
                    break
                method, path, _ = line.decode("latin-1").split(" ", 2)
                headers: dict[str, str] = {}
                while True:
                    h = await reader.readline()
                    if h in (b"\r\n", b"\n", b""):
                        break
                    k, _, v = h.decode("latin-1").partition(":")
                    headers[k.strip().lower()] = v.strip()
                length = int(headers.get("content-length", "0"))
                body = await reader.readexactly(length) if length else b""
                if method == "POST":  # generations only, not the /models probe
                    self.auth[headers.get("authorization", "")] += 1
                if not await self._respond(method, path, body, writer):
                    break
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.CancelledError):
            pass
        finally:
            self._handlers.discard(task)
            writer.close()

    async def _send(
        self, writer: asyncio.StreamWriter, status: int, payload: bytes, extra: str = ""
    ) -> None:
        head = (
            f"HTTP/1.1 {status} {_REASONS.get(status, 'Status')}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n{extra}\r\n"
        )
        writer.write(head.encode("latin-1") + payload)
        await writer.drain()

    async def _respond(
        self, method: str, path: str, raw: bytes, writer: asyncio.StreamWriter
    ) -> bool:
        chat = path.endswith("/chat/completions")
        if method == "GET" and path.endswith("/models") and self.max_model_len is not None:
            models = {"object": "list", "data": [
                {"id": "m", "object": "model", "max_model_len": self.max_model_len}
            ]}  # fmt: skip
            await self._send(writer, 200, json.dumps(models).encode())
            return True
        if method != "POST" or not (chat or path.endswith("/completions")):
            await self._send(writer, 404, b'{"error": {"message": "not found"}}')
            return True
        body = json.loads(raw)
        if self.keep_bodies:
            self.bodies.append(body)
        key = body["messages"][-1]["content"] if chat else body["prompt"]
        self.attempts[key] += 1
        plan = self.faults.get(key)
        fault = plan.pop(0) if plan else None
        if fault == "drop":
            writer.transport.abort()
            return False
        if fault == "crash":
            assert self._server is not None
            self._server.close()  # nothing listens any more: connections are refused
            for task in self._handlers:  # and open keep-alive connections die with it
                if task is not asyncio.current_task():
                    task.cancel()
            writer.transport.abort()
            return False
        refusal = self._refusal(body)
        if refusal is not None:
            err = json.dumps({"error": {"message": refusal, "type": "BadRequestError"}})
            await self._send(writer, 400, err.encode())
            return True
        if fault == "timeout":
            await asyncio.sleep(self.hang_seconds)
            writer.transport.abort()
            return False
        if fault == "malformed":
            await self._send(writer, 200, b'{"id": "x", "choices": [{"text": "trunc')
            return True
        if fault == "badshape":
            await self._send(writer, 200, b'{"id": "x", "object": "text_completion"}')
            return True
        if fault is not None:
            status = int(fault)
            extra = f"Retry-After: {self.retry_after}\r\n" if status == 429 else ""
            err = json.dumps({"error": {"message": f"injected {status}", "type": "fault"}})
            await self._send(writer, status, err.encode(), extra)
            return True
        if self.latency:
            spread = self._rng.uniform(1 - self.jitter, 1 + self.jitter)
            await asyncio.sleep(self.latency * spread)
        text = f"echo: {key}"
        n = int(body.get("n") or 1)
        if chat:
            choices = [
                {
                    "index": i,
                    "message": {"role": "assistant", "content": text},
                    "finish_reason": "stop",
                }
                for i in range(n)
            ]
        else:
            choices = [{"index": i, "text": text, "finish_reason": "stop"} for i in range(n)]
        payload = json.dumps(
            {
                "id": "cmpl-1",
                "object": "chat.completion" if chat else "text_completion",
                "model": body.get("model"),
                "choices": choices,
                "usage": {
                    "prompt_tokens": len(key.split()),
                    "completion_tokens": 2 * n,
                    "total_tokens": len(key.split()) + 2 * n,
                },
            }
        ).encode()
        await self._send(writer, 200, payload)
        self.successes[key] += 1
        return True


    def _refusal(self, body: dict) -> str | None:
        """vLLM's 400s for a request over the server's limits (its wording), or None."""
        stop = body.get("stop") or []
        if self.max_stops is not None and len(stop) > self.max_stops:
            return (
                "1 validation error:\n  {'type': 'too_long', 'loc': ('body', 'stop', "
                f"'list[str]'), 'msg': 'List should have at most {self.max_stops} items "
                f"after validation, not {len(stop)}'}}"
            )
        max_tokens = body.get("max_tokens")
        if self.max_model_len is not None and max_tokens and max_tokens > self.max_model_len:
            return (
                f"max_tokens={max_tokens} cannot be greater than max_model_len="
                f"{self.max_model_len}. Please request fewer output tokens."
            )
        return None


async def raw_client_throughput(port: int, prompts: Sequence[str], concurrency: int) -> float:
    """Requests/s of a minimal keep-alive HTTP client: the server's capacity alone."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[str] = asyncio.Queue()
    for p in prompts:
        queue.put_nowait(p)

    async def worker() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while not queue.empty():
                p = queue.get_nowait()
                payload = json.dumps({"model": "m", "prompt": p, "max_tokens": 16}).encode()
                writer.write(
                    b"POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json"
                    + f"\r\nContent-Length: {len(payload)}\r\n\r\n".encode()
                    + payload
                )
                await writer.drain()
                length = 0
                await reader.readline()
                while True:
                    h = await reader.readline()
                    if h in (b"\r\n", b""):
                        break
                    if h.lower().startswith(b"content-length:"):
                        length = int(h.split(b":")[1])
                json.loads(await reader.readexactly(length))
        finally:
            writer.close()
            await writer.wait_closed()

    start = loop.time()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return len(prompts) / (loop.time() - start)


def main() -> None:
    """Serve in the foreground (for benchmarks): prints the port, runs until killed."""
    import argparse
    import time

    parser = argparse.ArgumentParser()
    parser.add_argument("--latency", type=float, default=0.0)
    parser.add_argument("--jitter", type=float, default=0.0)
    args = parser.parse_args()
    server = FakeOpenAIServer(latency=args.latency, jitter=args.jitter).start()
    server.keep_bodies = False
    print(server.port, flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        server.stop()


if __name__ == "__main__":
    main()
