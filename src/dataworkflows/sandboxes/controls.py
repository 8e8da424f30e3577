"""The test-control routes every sandbox serves, written once.

- ``POST /sandbox/faults`` (body: the sandbox's fault type) -> 204: fail the next
  requests as the vendor would;
- ``DELETE /sandbox/faults`` -> 204: forget the queued faults;
- ``GET /sandbox/requests`` -> every request the sandbox received;
- ``POST /sandbox/reset`` -> 204: reseed, forget faults and requests.

A sandbox whose requests or reset need more (a body, another rendering) leaves those
out and serves its own.
"""

# No ``from __future__ import annotations``: the handlers' annotations name the
# sandbox's own fault type, a local of the factory, which Litestar must see as a type.

from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Final, Generic, Protocol, TypeVar

from litestar import delete, get, post
from litestar.handlers import HTTPRouteHandler
from litestar.params import BodyKwarg

__all__ = ["BAD_GATEWAY_HTML", "FaultQueue", "SandboxState", "sandbox_controls"]

F = TypeVar("F")
F_contra = TypeVar("F_contra", contravariant=True)

BAD_GATEWAY_HTML: Final = (
    "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    "<center><h1>502 Bad Gateway</h1></center>\r\n</body>\r\n</html>\r\n"
)
"""What a proxy in front of a vendor answers when the vendor is down (``bad_gateway``)."""


@dataclass(slots=True)
class _Queued(Generic[F]):
    fault: F
    remaining: int


class FaultQueue(Generic[F]):
    """Faults waiting for the requests they fail, each for its number of requests."""

    def __init__(self) -> None:
        self._queued: deque[_Queued[F]] = deque()

    def add(self, fault: F, times: int) -> None:
        """Fail the next ``times`` requests that ``fault`` applies to."""
        self._queued.append(_Queued(fault, times))

    def clear(self) -> None:
        """Forget every queued fault."""
        self._queued.clear()

    def take(self, applies: Callable[[F], bool] | None = None) -> F | None:
        """The first queued fault that ``applies`` to this request (default: any),
        counting one use of it; None when no fault is waiting."""
        for queued in self._queued:
            if applies is None or applies(queued.fault):
                queued.remaining -= 1
                if queued.remaining <= 0:
                    self._queued.remove(queued)
                return queued.fault
        return None


class SandboxState(Protocol[F_contra]):
    """What the controls need of a sandbox's state."""

    @property
    def requests(self) -> Sequence[Any]:
        """Every request received, oldest first."""
        ...

    def inject(self, fault: F_contra) -> None:
        """Queue ``fault`` for the next matching requests."""
        ...

    def clear_faults(self) -> None:
        """Forget the queued faults."""
        ...

    def reset(self) -> None:
        """Reseed; forget faults and requests."""
        ...


def sandbox_controls(
    sandbox: SandboxState[F],
    fault_type: type[F],
    *,
    requests: str | None = "Every request received",
    reset: str | None = "Reseed the sandbox",
) -> list[HTTPRouteHandler]:
    """The ``/sandbox/*`` controls of ``sandbox``, whose faults are ``fault_type``;
    ``requests`` and ``reset`` are the routes' summaries (None: the sandbox serves its
    own)."""

    @post("/sandbox/faults", summary="Fail the next requests", status_code=204)
    async def inject_fault(data: Annotated[fault_type, BodyKwarg()]) -> None:  # type: ignore[valid-type]
        sandbox.inject(data)

    @delete("/sandbox/faults", summary="Forget queued faults", status_code=204)
    async def clear_faults() -> None:
        sandbox.clear_faults()

    handlers: list[HTTPRouteHandler] = [inject_fault, clear_faults]
    if requests is not None:

        @get("/sandbox/requests", summary=requests, sync_to_thread=False)
        def recorded_requests() -> list[Any]:
            return list(sandbox.requests)

        handlers.append(recorded_requests)
    if reset is not None:

        @post("/sandbox/reset", summary=reset, status_code=204)
        async def reseed() -> None:
            sandbox.reset()

        handlers.append(reseed)
    return handlers
