"""Running the auth flow: the sync and async drivers, their single-flight locks, and off-loop resolution.

`RegistryAuth`'s flow (`._flow`) is a generator of steps and makes no I/O of its own. This module owns
what it takes to run one:

- `drive_sync` / `drive_async`: send each ``httpx.Request`` step (the caller's client sends it), read
  the bodies the flow needs (token answers, pings, 401s: capped), answer `EntraTokenNeeded` from the
  credential (awaited when it is async), and take and release the locks the flow asks for with
  `Hold` / `Release`; a flow that ends or fails while holding a lock has it released;
- `FlightLocks`: one lock per key, for threads and for the running event loop. The flow keys them by
  what must happen once: learning a registry's challenge, fetching a token for one scope set, one
  registry's Entra ID exchange. Flows that need different keys never wait on each other, and a flow
  waits only for the step it would otherwise repeat (a token fetch), not for another request's body;
- `CredentialResolver`: a `DockerConfigCredential` resolved once per host (it may run a credential
  helper); async callers run it in a worker thread so a slow helper never stalls the event loop, and
  concurrent first requests to one host share one helper run.
"""

from __future__ import annotations

import threading
from collections.abc import AsyncGenerator, Generator
from typing import TYPE_CHECKING, Any

import httpx

from ..exceptions import RegistryError
from ._credentials import DockerConfigCredential
from ._entra import entra_token_async, entra_token_sync
from ._tokens import EntraTokenNeeded, Flow, Hold, Release, aread_answer, needs_body, prepare, read_answer

if TYPE_CHECKING:
    import asyncio  # imported when an async flow runs: the sync API never loads asyncio

__all__ = ["CredentialResolver", "FlightLocks", "drive_async", "drive_sync"]


class FlightLocks:
    """Single-flight locks by key: `thread_lock` for sync flows, `loop_lock` for the running event loop.

    A lock lives as long as the `RegistryAuth` (one per registry, scope set and exchange it met), like
    the tokens the cache keeps for those scope sets.
    """

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._threads: dict[str, threading.Lock] = {}
        self._loop_locks: dict[str, asyncio.Lock] = {}
        self._loop: asyncio.AbstractEventLoop | None = None

    def thread_lock(self, key: str) -> threading.Lock:
        with self._guard:
            lock = self._threads.get(key)
            if lock is None:
                lock = self._threads[key] = threading.Lock()
            return lock

    def loop_lock(self, key: str) -> asyncio.Lock:
        import asyncio

        loop = asyncio.get_running_loop()
        with self._guard:
            if self._loop is not loop:
                # An asyncio.Lock belongs to one loop: a client used on a new loop starts afresh.
                self._loop_locks, self._loop = {}, loop
            lock = self._loop_locks.get(key)
            if lock is None:
                lock = self._loop_locks[key] = asyncio.Lock()
            return lock


def drive_sync(
    flow: Flow, credential: object, locks: FlightLocks
) -> Generator[httpx.Request, httpx.Response, Any]:
    """Run `flow` for a sync client: yields the requests to send, returns the flow's result.

    Entra ID tokens come from `credential` directly; the bodies the flow reads (token answers, pings,
    401s) are read here, capped; `Hold` waits for a thread lock of `locks`.
    """
    held: dict[str, threading.Lock] = {}
    value: Any = None
    try:
        while True:
            try:
                step = flow.send(value)
            except StopIteration as stop:
                return stop.value
            value = None
            if isinstance(step, Hold):
                lock = locks.thread_lock(step.key)
                lock.acquire()
                held[step.key] = lock
                continue
            if isinstance(step, Release):
                held.pop(step.key).release()
                continue
            if isinstance(step, EntraTokenNeeded):
                value = entra_token_sync(credential, step)
                continue
            prepare(step)
            response = yield step
            if needs_body(step, response):
                read_answer(step, response)
            value = response
    finally:
        for lock in held.values():
            lock.release()


async def drive_async(
    flow: Flow, credential: object, locks: FlightLocks, outcome: list[Any] | None = None
) -> AsyncGenerator[httpx.Request, httpx.Response]:
    """Async twin of `drive_sync`; the flow's result is appended to `outcome` (an async generator
    returns no value). Entra ID tokens may be awaited; bodies are read without blocking the loop;
    `Hold` awaits a lock of the running loop."""
    held: dict[str, asyncio.Lock] = {}
    value: Any = None
    try:
        while True:
            try:
                step = flow.send(value)
            except StopIteration as stop:
                if outcome is not None:
                    outcome.append(stop.value)
                return
            value = None
            if isinstance(step, Hold):
                lock = locks.loop_lock(step.key)
                await lock.acquire()
                held[step.key] = lock
                continue
            if isinstance(step, Release):
                held.pop(step.key).release()
                continue
            if isinstance(step, EntraTokenNeeded):
                value = await entra_token_async(credential, step)
                continue
            prepare(step)
            response = yield step
            if needs_body(step, response):
                await aread_answer(step, response)
            value = response
    finally:
        for lock in held.values():
            lock.release()


class CredentialResolver:
    """What a `DockerConfigCredential` gives each host, resolved once per host.

    Hosts whose credential could not be resolved (a missing credential helper) get None, so requests
    go anonymous; the error is kept (`error_for`) and raised only if the registry then asks for
    credentials.
    """

    def __init__(self, credential: DockerConfigCredential) -> None:
        self._credential = credential
        self._resolved: dict[str, object | None] = {}
        self._resolving: dict[str, asyncio.Future[object | None]] = {}
        self._errors: dict[str, RegistryError] = {}

    def for_host(self, host: str) -> object | None:
        """The credential for `host`, running the credential helper the first time (in this thread)."""
        if host not in self._resolved:
            try:
                self._resolved[host] = self._credential.resolve(host)
            except RegistryError as exc:
                # An open registry needs no credentials: a broken helper must not block it.
                self._resolved[host] = None
                self._errors[host] = exc
        return self._resolved[host]

    def error_for(self, host: str) -> RegistryError | None:
        """Why `host` got no credential, if resolving it failed."""
        return self._errors.get(host) if self._errors else None

    async def resolve_off_loop(self, host: str) -> None:
        """Resolve `host` in a worker thread (once, shared by concurrent callers); `for_host` then
        finds the answer without running anything."""
        import asyncio

        if host in self._resolved:
            return
        pending = self._resolving.get(host)
        if pending is None or pending.get_loop() is not asyncio.get_running_loop():
            credential = self._credential

            async def resolve() -> object | None:
                return await asyncio.to_thread(credential.resolve, host)

            pending = asyncio.ensure_future(resolve())
            self._resolving[host] = pending
        try:
            resolved = await asyncio.shield(pending)
        except RegistryError as exc:
            # An open registry needs no credentials: a broken helper must not block it.
            self._errors.setdefault(host, exc)
            resolved = None
        finally:
            if pending.done() and self._resolving.get(host) is pending:
                del self._resolving[host]
        self._resolved.setdefault(host, resolved)
