"""The worker process of :mod:`dataworkflows.runtime.evaluation_pool`.

``python -m dataworkflows.runtime.evaluation_worker MEMORY_MB RESULT_BYTES NAME=MODULE:FUNCTION
...`` limits its own address space, imports the named task functions (the pool's
creator names them: nothing here knows the engine or the reports), says ``ready``, then
answers requests
on stdin/stdout one at a time: a 4-byte big-endian length, then msgpack
``[task, args]``; the answer ``{"ok": result}`` or ``{"error": message, "limit": bool}``.
The pool kills it when an evaluation takes too long; nothing here has to stop itself.
"""

from __future__ import annotations

import importlib
import resource
import struct
import sys
from collections.abc import Callable
from typing import Any, BinaryIO, Final

import msgspec

_HEADER: Final = struct.Struct(">I")
_encoder: Final = msgspec.msgpack.Encoder()
_decoder: Final = msgspec.msgpack.Decoder()


def _tasks(specs: list[str]) -> dict[str, Callable[..., Any]]:
    """``NAME=MODULE:FUNCTION`` each, imported before "ready": the first evaluation does
    not pay for the imports."""
    tasks: dict[str, Callable[..., Any]] = {}
    for spec in specs:
        name, _, target = spec.partition("=")
        module, _, function = target.partition(":")
        tasks[name] = getattr(importlib.import_module(module), function)
    return tasks


def _read(stream: BinaryIO, size: int) -> bytes:
    data = stream.read(size)
    if len(data) != size:
        raise EOFError
    return data


def _write(stream: BinaryIO, payload: bytes) -> None:
    stream.write(_HEADER.pack(len(payload)) + payload)
    stream.flush()


def _answer(tasks: dict[str, Callable[..., Any]], request: bytes, result_bytes: int) -> bytes:
    try:
        name, args = _decoder.decode(request)
        result = tasks[name](*args)
        answer = _encoder.encode({"ok": result})
    except MemoryError:
        return _encoder.encode(
            {"error": "needed more memory than an evaluation may use", "limit": True}
        )
    except RecursionError:
        return _encoder.encode({"error": "nests too deeply", "limit": True})
    except Exception as exc:  # the task's own failure: what it says goes back
        line = getattr(exc, "line", None)
        message = getattr(exc, "message", None)
        return _encoder.encode(
            {
                # A template error's message without its "line N:" (sent as "line").
                "error": message if isinstance(message, str) else str(exc) or type(exc).__name__,
                "limit": False,
                "type": type(exc).__name__,
                "line": line if isinstance(line, int) else None,
            }
        )
    if len(answer) > result_bytes:
        return _encoder.encode(
            {
                "error": f"the result is {len(answer):,} bytes; at most {result_bytes:,}",
                "limit": True,
            }
        )
    return answer


def main(argv: list[str]) -> int:
    """Serve requests until stdin closes."""
    memory_mb, result_bytes = int(argv[0]), int(argv[1])
    tasks = _tasks(argv[2:])
    limit = memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    _write(stdout, b"ready")
    while True:
        try:
            (length,) = _HEADER.unpack(_read(stdin, _HEADER.size))
            request = _read(stdin, length)
        except EOFError:
            return 0
        _write(stdout, _answer(tasks, request, result_bytes))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
