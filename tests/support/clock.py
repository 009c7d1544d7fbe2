"""A fake clock for the auth flow's token cache: tests expire tokens by moving it, not by waiting.

`RegistryAuth(clock=FakeClock())` takes one directly; `use_clock` gives one to the `RegistryAuth` inside
a library client (sync or async, content or ACR client).
"""

from __future__ import annotations

from typing import Any

from containerregistry.auth import RegistryAuth

__all__ = ["FakeClock", "use_clock"]


class FakeClock:
    """Seconds that move only when told to (`advance`); starts at an arbitrary 1000.0."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def use_clock(client: Any, clock: FakeClock) -> FakeClock:
    """Make the token cache of `client`'s `RegistryAuth` read `clock`; returns it."""
    pipeline = client._pipeline if hasattr(client, "_pipeline") else client._session.pipeline
    auth = pipeline.auth
    assert isinstance(auth, RegistryAuth)
    auth._cache.clock = clock
    return clock
