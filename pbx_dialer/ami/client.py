"""The one module that imports panoramisk, and the fixes the dialer needs on top of it.

panoramisk 1.4 has three traits a dialer cannot live with, each handled here:

* An awaited asynchronous Originate only returns at OriginateResponse, and that event
  is then swallowed as the action's reply instead of reaching the event handlers.
  We send every action with ``as_list=False``: the future resolves on the immediate
  ``Response: Success`` and OriginateResponse arrives as an ordinary event.
* After a reconnect it resends every action that had no reply. An Originate sent
  twice is a person called twice, so nothing is ever resent: such actions fail with
  `AmiConnectionLost` and the dialer settles them from a resync instead.
* It neither notices a dead TCP connection nor backs off when Asterisk is down.
  A Ping watchdog aborts a connection that stops answering, and reconnects back off
  exponentially (capped), whether Asterisk refused, timed out or refused the login.

Its reader and writer are also replaced for speed (`_Protocol`): at a thousand calls a
second, parsing every event three times and writing every action on its own were most
of the dialer's CPU.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import functools
import logging
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Any

from panoramisk import Manager
from panoramisk.actions import Action as PanoramiskAction
from panoramisk.ami_protocol import AMIProtocol
from panoramisk.message import Message

from pbx_dialer.ami import actions
from pbx_dialer.ami.messages import (
    AmiEvent,
    AmiResponse,
    event_from_headers,
    event_name,
    parse_event,
    parse_response,
)
from pbx_dialer.config import PbxSettings

log = logging.getLogger(__name__)


class ConnectionState(enum.StrEnum):
    CONNECTING = "connecting"  # not connected yet, or lost and retrying
    LOGGED_IN = "logged_in"  # authenticated, waiting for FullyBooted
    READY = "ready"  # Asterisk fully booted: actions may be sent
    AUTH_FAILED = "auth_failed"  # Asterisk refused our username/secret (retrying)
    CLOSED = "closed"


class AmiError(Exception):
    pass


class AmiNotConnected(AmiError):
    pass


class AmiConnectionLost(AmiError):
    """The connection dropped before the action was answered. It was NOT resent."""


class AmiTimeout(AmiError):
    pass


EventHandler = Callable[[AmiEvent], None]
StateHandler = Callable[[ConnectionState, str], None]

_BANNER = b"Asterisk Call Manager/"
# Events panoramisk must see itself: FullyBooted ends the login, Shutdown the connection.
_PANORAMISK_EVENTS = frozenset({"FullyBooted", "Shutdown"})
_ORIGINATE_PREFIX = actions.originate_action_id("")
_ORIGINATE_ID = "\r\nActionID: " + _ORIGINATE_PREFIX


class _Sent:
    """An Originate awaiting its reply: all of panoramisk's Action that its protocol and
    `_fail_pending` use (id, future, as_list, responses, ["action"]), at a fraction of
    its cost."""

    __slots__ = ("as_list", "future", "id", "name", "responses")

    def __init__(self, action_id: str, name: str, future: asyncio.Future[Any]) -> None:
        self.id = action_id
        self.name = name
        self.future = future
        self.as_list = False
        self.responses: list[Any] = []  # its reply never goes through panoramisk

    def __getitem__(self, key: str) -> str:
        if key.lower() != "action":
            raise KeyError(key)
        return self.name


def _wire(action: actions.Action) -> bytes:
    """An action as sent: one header line per value, then a blank line."""
    lines = []
    for key, value in action.items():
        for item in value if isinstance(value, list) else (value,):
            lines.append(f"{key}: {item}\r\n")
    lines.append("\r\n")
    return "".join(lines).encode()


class _Protocol(AMIProtocol):  # type: ignore[misc]
    """panoramisk's protocol with a one-pass reader and a batching writer.

    Reading: an event is parsed once, straight into an AmiEvent, and handed to the
    client; one the client does not listen to is dropped after reading its name.
    Replies to actions, and events that belong to an action still waiting (the entries
    of an event list), go through panoramisk as before, so its futures resolve as they
    always did. Writing: the actions sent in one pass of the event loop leave in one
    write (one system call instead of one per Originate)."""

    factory: _Manager | None
    version: str | None  # set by panoramisk: None until the banner was read

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self._buffer = b""
        self._outgoing: list[bytes] = []

    def send(self, data: Any, as_list: bool = False) -> asyncio.Future[Any]:
        if not isinstance(data, PanoramiskAction):
            data = PanoramiskAction(data, as_list=as_list)
        data.as_list = as_list
        self.responses[data.id] = data
        if not self._outgoing:
            asyncio.get_running_loop().call_soon(self._flush)
        self._outgoing.append(str(data).encode())
        future: asyncio.Future[Any] = data.future
        return future

    def send_originate(self, action: actions.Action) -> asyncio.Future[Any]:
        """Send an Originate without building a panoramisk Action (one per call): its
        ActionID is ours (actions.originate) and its reply takes `_originate_reply`."""
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        sent = _Sent(str(action["ActionID"]), str(action["Action"]), future)
        self.responses[sent.id] = sent
        if not self._outgoing:
            asyncio.get_running_loop().call_soon(self._flush)
        self._outgoing.append(_wire(action))
        return future

    def _flush(self) -> None:
        outgoing, self._outgoing = self._outgoing, []
        # Closed meanwhile: the actions are failed with the connection (_fail_pending).
        if not self.closed and outgoing:
            self.transport.write(b"".join(outgoing))

    def data_received(self, data: bytes) -> None:
        buffer = self._buffer + data if self._buffer else data
        if self.version is None:
            banner, sep, rest = buffer.partition(b"\r\n")
            if not sep:
                self._buffer = buffer
                return
            if banner.startswith(_BANNER):
                self.version = banner[len(_BANNER) :].decode(errors="replace").strip()
                buffer = rest
            else:
                self.version = ""
        if self.factory is None:
            # Connected, but the manager does not know yet (it is told in a callback):
            # only the banner can come this early; the rest waits for the next read.
            self._buffer = buffer
            return
        *blocks, self._buffer = buffer.split(b"\r\n\r\n")
        client = self.factory._client
        wanted = client._events
        now = client._clock()
        for block in blocks:
            text = block.decode(errors="replace").strip()
            if not text.startswith("Event: "):
                if text.startswith("Response: ") and self._originate_reply(text):
                    continue
                message = Message.from_line(text)
                if message is not None:
                    self.handle_message(message)
                continue
            name = event_name(text)
            if name in _PANORAMISK_EVENTS or (self.responses and self._awaited(text)):
                self.handle_message(Message.from_line(text))
            elif wanted is None or name in wanted:
                client._deliver(parse_event(text, now))

    def _originate_reply(self, text: str) -> bool:
        """An Originate's reply (one per call) resolves its action at once, read in one
        pass into an AmiResponse instead of a panoramisk Message; False: not one."""
        start = text.find(_ORIGINATE_ID)
        if start < 0:
            return False
        start += len("\r\nActionID: ")
        end = text.find("\r", start)
        action = self.responses.pop(text[start:end] if end >= 0 else text[start:], None)
        # No one waiting (failed with the connection): dropped, as panoramisk would.
        if action is not None and not action.future.done():
            action.future.set_result(parse_response(text))
        return True

    def _awaited(self, event: str) -> bool:
        """Whether this event carries the ActionID (or CommandID) of an action still
        waiting for its reply: then it is part of that reply (an event list)."""
        for header in ("\r\nActionID: ", "\r\nCommandID: "):
            start = event.find(header)
            if start >= 0:
                start += len(header)
                end = event.find("\r", start)
                action = self.responses.get(event[start:end] if end >= 0 else event[start:])
                # An Originate's own events (OriginateResponse) are never part of its reply.
                if action is not None and not isinstance(action, _Sent):
                    return True
        return False


class _Manager(Manager):  # type: ignore[misc]
    """panoramisk's Manager with its reconnect, resend and login paths rerouted to us."""

    pinger: asyncio.TimerHandle | None  # set by panoramisk

    def __init__(self, client: AmiClient, **config: Any) -> None:
        self._client = client
        self._connect_task: asyncio.Task[Any] | None = None
        self._retry: asyncio.TimerHandle | None = None
        super().__init__(**config)

    def connect(
        self, run_forever: bool = False, on_startup: Any = None, on_shutdown: Any = None
    ) -> Any:
        self._retry = None
        if self._client._closed:
            return None
        # AUTH_FAILED stays while retrying: it is the reason we are not connected.
        if self._client.state is not ConnectionState.AUTH_FAILED:
            self._client._set_state(ConnectionState.CONNECTING, self._client.last_error)
        coro = asyncio.wait_for(
            self.loop.create_connection(
                self.config["protocol_factory"],
                self.config["host"],
                self.config["port"],
                ssl=self.config["ssl"],
            ),
            timeout=self._client.settings.connect_timeout,
        )
        task = self.loop.create_task(coro)
        task.add_done_callback(self.connection_made)
        self._connect_task = task
        return task

    def connection_made(self, f: asyncio.Future[Any]) -> None:
        self._connect_task = None
        if self._client._closed:
            if not f.cancelled() and f.exception() is None:
                f.result()[0].close()
            return
        if f.cancelled():
            return
        exc = f.exception()
        if exc is not None:
            self._client._connect_failed(exc)
            self._schedule_reconnect()
            return
        super().connection_made(f)

    def _schedule_reconnect(self) -> None:
        # panoramisk reads its reconnect_timeout twice per loss (log and timer); we take
        # exactly one backoff step per attempt, and keep the handle so close() can cancel.
        if self._client._closed:
            return
        if self._retry is not None:
            self._retry.cancel()
        self._retry = self.loop.call_later(self._client._next_backoff(), self.connect)

    def login(self, future: asyncio.Future[Any]) -> bool:
        if future.cancelled() or future.exception() is not None:
            # The connection dropped before Asterisk answered; connection_lost retries.
            self.authenticated_future = None
            return False
        authenticated = bool(super().login(future))
        if authenticated:
            self._client._logged_in()
        else:
            self._client._auth_failed(str(future.result().message or "login refused"))
            if self.protocol is not None and not self.protocol.closed:
                # abort() ends in connection_lost, which schedules the backed-off retry.
                self.protocol.transport.abort()
        return authenticated

    async def send_awaiting_actions(self, *_: Any) -> None:
        # Called on FullyBooted. Never resend: fail what was left unanswered.
        self._client._fail_pending()
        self._client._fully_booted()

    def connection_lost(self, exc: Any) -> None:
        # Replaces panoramisk's: same bookkeeping, but our backoff and no resend queue.
        self._connected = False
        if self.pinger is not None:
            self.pinger.cancel()
            self.pinger = None
        self._client._lost(exc)
        self._schedule_reconnect()

    def close(self) -> None:
        if self._retry is not None:
            self._retry.cancel()
            self._retry = None
        if self._connect_task is not None:
            self._connect_task.cancel()
            self._connect_task = None
        super().close()


def _relay(waiter: asyncio.Future[Any], future: asyncio.Future[Any]) -> None:
    """Hand an action's reply to whoever still waits for it; mark it as seen either way."""
    if future.cancelled():
        if not waiter.done():
            waiter.cancel()
        return
    exc = future.exception()
    if waiter.done():
        return
    if exc is not None:
        waiter.set_exception(exc)
    else:
        waiter.set_result(future.result())


def _response(message: Any) -> AmiResponse:
    """panoramisk's reply message as an AmiResponse (an Originate's reply already is)."""
    if isinstance(message, AmiResponse):
        return message
    headers = dict(message)
    return AmiResponse(
        success=bool(message.success),
        message=str(headers.get("Message", "")),
        headers={str(k).lower(): v for k, v in headers.items()},
    )


def _seen(future: asyncio.Future[Any]) -> None:
    """Mark a reply nobody waits for any more as seen (no "never retrieved" noise)."""
    if not future.cancelled():
        future.exception()


def _expire(waiter: asyncio.Future[Any], name: str, timeout: float) -> None:
    if not waiter.done():
        waiter.set_exception(AmiTimeout(f"{name}: no reply within {timeout:g}s"))


class AmiClient:
    """One AMI connection to one Asterisk server. Start it even when Asterisk is down:
    it keeps trying, and reports how it is doing through `on_state`."""

    def __init__(
        self,
        settings: PbxSettings,
        *,
        on_event: EventHandler,
        on_state: StateHandler | None = None,
        clock: Callable[[], float] = time.time,
        events: Collection[str] | None = None,
    ) -> None:
        """`events`: the only event names `on_event` is given (None: every event).
        Others are dropped after reading their name, before any parsing."""
        self.settings = settings
        self._on_event = on_event
        self._events = frozenset(events) if events is not None else None
        self._on_state = on_state
        self._clock = clock
        self.state = ConnectionState.CONNECTING
        self.last_error = ""
        self.connected_since: float | None = None
        self.reconnects = 0
        self._closed = False
        self._drop_reason = ""  # why we aborted the connection ourselves, if we did
        self._backoff = settings.reconnect_min
        self._manager: _Manager | None = None
        self._watchdog: asyncio.Task[None] | None = None
        self._ready_event = asyncio.Event()
        self._first_outcome = asyncio.Event()

    # -- lifecycle ---------------------------------------------------------

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._manager = _Manager(
            self,
            loop=loop,
            host=self.settings.host,
            port=self.settings.port,
            username=self.settings.username,
            secret=self.settings.secret,
            # Our watchdog pings; panoramisk's own pinger never checks the reply.
            ping_delay=10**9,
            ping_interval=10**9,
            # Nothing is "forgettable": pending actions are failed, never resent.
            forgetable_actions=(),
            protocol_factory=_Protocol,
            log=logging.getLogger("pbx_dialer.ami.panoramisk"),
        )
        self._manager.register_event("*", self._dispatch)
        self._manager.connect()
        self._watchdog = loop.create_task(self._watch())

    async def wait_first_outcome(self, timeout: float) -> ConnectionState:
        """Wait until the first connect either succeeded or clearly failed."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._first_outcome.wait(), timeout)
        return self.state

    async def wait_ready(self, timeout: float) -> None:
        try:
            await asyncio.wait_for(self._ready_event.wait(), timeout)
        except TimeoutError:
            raise AmiNotConnected(self.describe()) from None

    async def close(self) -> None:
        self._closed = True
        if self._watchdog is not None:
            self._watchdog.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watchdog
        if self._manager is not None:
            self._manager.close()
            self._fail_pending()
        self._set_state(ConnectionState.CLOSED, "")

    @property
    def ready(self) -> bool:
        return self.state is ConnectionState.READY

    def describe(self) -> str:
        where = f"AMI {self.settings.username}@{self.settings.host}:{self.settings.port}"
        if self.state is ConnectionState.READY:
            return f"{where}: connected"
        if self.state is ConnectionState.AUTH_FAILED:
            return f"{where}: login refused ({self.last_error}); check the AMI username and secret"
        if self.last_error:
            return f"{where}: not connected ({self.last_error}); retrying"
        return f"{where}: connecting"

    # -- actions -----------------------------------------------------------

    async def send(self, action: actions.Action, timeout: float = 5.0) -> AmiResponse:
        """Send one action and return its direct reply (`Response: Success/Error`)."""
        return _response(await self._send(action, timeout, as_list=False))

    async def send_many(
        self, batch: Sequence[actions.Action], timeout: float = 5.0
    ) -> list[AmiResponse | AmiError]:
        """Send several actions in one go and wait for their direct replies together: one
        wait for the lot instead of a task, waiter and timer per action (a pick's
        Originates). Per action, in order: its reply, or the AmiError it met
        (AmiConnectionLost, AmiTimeout). Raises AmiNotConnected when none was sent."""
        manager = self._manager
        if manager is None or self.state is not ConnectionState.READY:
            raise AmiNotConnected(self.describe())
        protocol: _Protocol = manager.protocol
        futures: list[asyncio.Future[Any]] = [
            protocol.send_originate(action)
            if str(action.get("ActionID", "")).startswith(_ORIGINATE_PREFIX)
            else manager.send_action(dict(action), as_list=False)
            for action in batch
        ]
        if futures:
            # asyncio.wait never cancels them: a late reply is still marked as seen.
            await asyncio.wait(futures, timeout=timeout)
        results: list[AmiResponse | AmiError] = []
        for action, future in zip(batch, futures, strict=True):
            if not future.done():
                future.add_done_callback(_seen)
                results.append(AmiTimeout(f"{action['Action']}: no reply within {timeout:g}s"))
            elif future.cancelled():
                results.append(AmiConnectionLost(f"{action['Action']}: cancelled before a reply"))
            elif (exc := future.exception()) is not None:
                results.append(
                    exc if isinstance(exc, AmiError) else AmiError(f"{action['Action']}: {exc}")
                )
            else:
                results.append(_response(future.result()))
        return results

    async def send_list(self, action: actions.Action, timeout: float = 10.0) -> list[AmiEvent]:
        """Send an action answered by an event list (CoreShowChannels, QueueStatus)."""
        messages = await self._send(action, timeout, as_list=True)
        if not isinstance(messages, list):
            messages = [messages]
        first = messages[0] if messages else None
        if first is not None and "Response" in first and not first.success:
            raise AmiError(f"{action['Action']} refused: {first.get('Message', '')}")
        now = self._clock()
        return [event_from_headers(dict(m), now) for m in messages if "Event" in m]

    async def _send(self, action: actions.Action, timeout: float, *, as_list: bool) -> Any:
        manager = self._manager
        if manager is None or self.state is not ConnectionState.READY:
            raise AmiNotConnected(self.describe())
        future = manager.send_action(dict(action), as_list=as_list)
        # The reply's own future is never cancelled (a reply may come after we stopped
        # waiting, and its outcome is then marked as seen): we wait on a second one, with
        # a plain timer (cheaper than wait_for and shield, once per Originate).
        waiter: asyncio.Future[Any] = manager.loop.create_future()
        future.add_done_callback(functools.partial(_relay, waiter))
        timer = manager.loop.call_later(timeout, _expire, waiter, action["Action"], timeout)
        try:
            return await waiter
        finally:
            timer.cancel()

    # -- panoramisk callbacks (all on the event loop) -------------------------

    def _dispatch(self, _manager: Any, message: Mapping[str, Any]) -> None:
        # The events panoramisk handled itself (FullyBooted, Shutdown) or read as a
        # reply; every other event comes straight from _Protocol to _deliver.
        event = event_from_headers(dict(message), self._clock())
        if self._events is None or event.name in self._events:
            self._deliver(event)

    def _deliver(self, event: AmiEvent) -> None:
        try:
            self._on_event(event)
        except Exception:  # a consumer bug must not kill the AMI connection
            log.exception("AMI event handler failed on %s", event.name)

    def _set_state(self, state: ConnectionState, detail: str) -> None:
        changed = state is not self.state
        self.state = state
        if state is ConnectionState.READY:
            self._ready_event.set()
        else:
            self._ready_event.clear()
        if changed and self._on_state is not None:
            self._on_state(state, detail)

    def _next_backoff(self) -> float:
        delay = self._backoff
        self._backoff = min(self._backoff * 2, self.settings.reconnect_max)
        return delay

    def _connect_failed(self, exc: BaseException) -> None:
        reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
        if isinstance(exc, TimeoutError):
            reason = f"no answer within {self.settings.connect_timeout:g}s"
        self.last_error = f"cannot connect: {reason}"
        self._first_outcome.set()
        self._set_state(ConnectionState.CONNECTING, self.last_error)
        log.warning("%s", self.describe())

    def _logged_in(self) -> None:
        self._backoff = self.settings.reconnect_min
        self.last_error = ""
        self._set_state(ConnectionState.LOGGED_IN, "")

    def _auth_failed(self, message: str) -> None:
        self.last_error = message
        self._first_outcome.set()
        self._set_state(ConnectionState.AUTH_FAILED, message)
        log.error("%s", self.describe())

    def _fully_booted(self) -> None:
        if self.state is ConnectionState.LOGGED_IN:
            if self.connected_since is not None:
                self.reconnects += 1
            self.connected_since = self._clock()
            self._first_outcome.set()
            self._set_state(ConnectionState.READY, "")
            log.info("%s", self.describe())

    def _lost(self, exc: Any) -> None:
        self._fail_pending()
        reason, self._drop_reason = self._drop_reason, ""
        if self._closed:
            return
        if self.state is not ConnectionState.AUTH_FAILED:
            self.last_error = reason or "connection lost"
            log.warning("%s", self.describe())
            self._set_state(ConnectionState.CONNECTING, self.last_error)

    def _fail_pending(self) -> None:
        manager = self._manager
        if manager is None:
            return
        while manager.awaiting_actions:
            action = manager.awaiting_actions.popleft()
            if not action.future.done():
                action.future.set_exception(
                    AmiConnectionLost(f"{action['action']}: connection lost before a reply")
                )
        protocol = manager.protocol
        if protocol is not None and protocol.closed:
            for action in list(protocol.responses.values()):
                if not action.future.done():
                    action.future.set_exception(
                        AmiConnectionLost(f"{action['action']}: connection lost before a reply")
                    )
            protocol.responses.clear()

    async def _watch(self) -> None:
        """Abort a connection that stops answering Pings; panoramisk would wait forever."""
        while True:
            await asyncio.sleep(self.settings.ping_interval)
            if self.state is not ConnectionState.READY:
                continue
            try:
                await self.send(actions.ping(), timeout=self.settings.ping_timeout)
            except AmiTimeout:
                self._drop_reason = f"no Ping reply within {self.settings.ping_timeout:g}s"
                # _lost() logs the drop with this reason.
                manager = self._manager
                if manager is not None and manager.protocol is not None:
                    manager.protocol.transport.abort()
            except AmiError:
                continue
