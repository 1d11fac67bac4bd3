"""`?jq=` filters of `/api/state`, run in a helper process with a time and size budget.

The jq library holds Python's interpreter lock while it runs, so a filter such as
`last(range(3000000))` would block Home Assistant's event loop for seconds. `JqRunner` sends
each filter to one long-lived helper process (`jq_worker.py`) and waits at most `budget_s` for
the answer; over budget the process is killed (a new one starts for the next filter) and the
caller gets `JqError("jq: timeout")`. Results larger than `max_output` bytes are refused.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
from pathlib import Path
from typing import Any, Final

__all__ = ["JqError", "JqRunner"]

BUDGET_S: Final = 0.2
MAX_OUTPUT_BYTES: Final = 1_000_000
_START_TIMEOUT_S: Final = 15.0
_WORKER: Final = Path(__file__).with_name("jq_worker.py")


class JqError(Exception):
    """A filter that does not compile, fails, runs too long or answers too much."""


class JqRunner:
    """One helper process for the filters of one API (started on the first filter)."""

    def __init__(self, budget_s: float = BUDGET_S, max_output: int = MAX_OUTPUT_BYTES) -> None:
        self.budget_s = budget_s
        self.max_output = max_output
        self._process: asyncio.subprocess.Process | None = None
        self._lock = asyncio.Lock()
        self._available = True

    async def run(self, query: str, document: str) -> Any:
        """The first output of `query` on the JSON text `document` (None when it has none)."""
        async with self._lock:
            process = await self._running()
            assert process.stdin is not None and process.stdout is not None
            request = {"query": query, "document": document, "max_output": self.max_output}
            process.stdin.write(json.dumps(request).encode() + b"\n")
            try:
                async with asyncio.timeout(self.budget_s):
                    await process.stdin.drain()
                    line = await process.stdout.readline()
            except TimeoutError:
                await self._stop()
                raise JqError("jq: timeout") from None
            if not line:
                await self._stop()
                raise JqError("jq: the filter process stopped")
        reply = json.loads(line)
        if "error" in reply:
            raise JqError(reply["error"])
        return reply["result"]

    async def _running(self) -> asyncio.subprocess.Process:
        if self._process is not None and self._process.returncode is None:
            return self._process
        if not self._available:
            raise JqError("jq is not available")
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            str(_WORKER),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
            limit=2 * self.max_output + 1024,
        )
        assert process.stdout is not None
        self._process = process
        try:
            async with asyncio.timeout(_START_TIMEOUT_S):
                hello = (await process.stdout.readline()).strip()
        except TimeoutError:
            hello = b""
        if hello != b"ready":
            await self._stop()
            self._available = hello != b"no-jq"
            raise JqError("jq is not available")
        return process

    async def _stop(self) -> None:
        process, self._process = self._process, None
        if process is None or process.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        await process.wait()

    async def close(self) -> None:
        """Stop the helper process (server stop, Home Assistant stop)."""
        async with self._lock:
            await self._stop()
