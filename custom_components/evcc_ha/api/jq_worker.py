"""The process that runs `?jq=` filters for the evcc API (started by `jq.JqRunner`).

Run as a script, not imported: it reads one JSON request per line on stdin
(`{"query": …, "document": …, "max_output": …}`) and answers one JSON line on stdout
(`{"result": …}` or `{"error": …}`). The jq library holds the interpreter lock while a filter
runs, so a filter that takes seconds would stop Home Assistant's event loop; in this process
only this process waits, and the caller kills it when the time budget is over.
"""

from __future__ import annotations

import json
import sys
from functools import lru_cache
from typing import Any


def main() -> int:
    try:
        import jq
    except ImportError:
        jq = None
    print("ready" if jq is not None else "no-jq", flush=True)

    @lru_cache(maxsize=128)
    def compiled(query: str) -> Any:
        assert jq is not None
        return jq.compile(query)

    for line in sys.stdin:
        try:
            request = json.loads(line)
            if jq is None:
                raise ValueError("jq is not available")
            try:
                result = compiled(request["query"]).input_text(request["document"]).first()
            except StopIteration:
                result = None  # no output: null, as evcc
            reply = json.dumps({"result": result}, separators=(",", ":"), allow_nan=False)
            if len(reply) > int(request["max_output"]):
                reply = json.dumps({"error": "jq: output too large"})
        except ValueError as err:
            reply = json.dumps({"error": str(err).strip() or "jq: error"})
        print(reply, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
