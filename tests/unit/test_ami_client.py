"""AmiClient against a fake AMI server: no resend, Ping watchdog, backoff, login refusal.

The fake server is a real TCP server on loopback that speaks just enough AMI, so the
whole of panoramisk's protocol code runs as it does against Asterisk."""

from __future__ import annotations

import asyncio
import itertools
import logging
import socket
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field, replace

import pytest

from pbx_dialer.ami import actions
from pbx_dialer.ami.client import (
    AmiClient,
    AmiConnectionLost,
    AmiNotConnected,
    AmiTimeout,
    ConnectionState,
)
from pbx_dialer.ami.messages import AmiEvent, AmiResponse
from pbx_dialer.ami.pbx import CallRequest, OriginateRefused, Pbx
from pbx_dialer.config import PbxSettings

Headers = dict[str, str | list[str]]


@dataclass
class _Conn:
    writer: asyncio.StreamWriter
    answer_pings: bool = True
    closed: asyncio.Event = field(default_factory=asyncio.Event)


class FakeAmi:
    """Enough of Asterisk's AMI for the client: greeting, Login, FullyBooted, Ping,
    async Originate; it records every action and can misbehave on request."""

    def __init__(self) -> None:
        self.actions: list[Headers] = []
        self.connected_at: list[float] = []
        self.swallow: set[str] = set()  # lower-case action names left unanswered
        # Originates to these channels: refused with an Error, or left unanswered.
        self.refuse_channels: set[str] = set()
        self.swallow_channels: set[str] = set()
        # OriginateResponse (Failure) sent before the Originate's own reply.
        self.response_first = False
        self.refuse_login = False
        self.close_at_once = False  # accept, then hang up before the greeting
        # Action name (lower case) -> the entries of the event list it is answered with.
        self.lists: dict[str, list[Headers]] = {}
        self._conns: list[_Conn] = []
        self._handlers: set[asyncio.Task[None]] = set()
        self._server: asyncio.Server | None = None
        self.port = 0

    async def start(self, port: int = 0) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        self.drop()
        # Let every handler see its connection end, so no task outlives the test.
        if self._handlers:
            await asyncio.wait(self._handlers, timeout=2)

    def named(self, name: str) -> list[Headers]:
        return [a for a in self.actions if str(a.get("Action", "")).lower() == name.lower()]

    @property
    def connections(self) -> int:
        return len(self.connected_at)

    def drop(self) -> None:
        """Hang up every connection, as a crashed Asterisk or a cut cable would."""
        for conn in self._conns:
            conn.writer.transport.abort()

    def stop_answering_pings(self) -> None:
        """On the connections open now only: the socket stays up, Pings go unanswered."""
        for conn in self._conns:
            conn.answer_pings = False

    def send_event(self, headers: Headers) -> None:
        for conn in self._conns:
            conn.writer.write(_encode({"Event": "", **headers}))

    async def send_raw(self, data: bytes) -> None:
        """Bytes as they are, flushed at once: a message may end in another read."""
        for conn in self._conns:
            conn.writer.write(data)
            await conn.writer.drain()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        self.connected_at.append(time.monotonic())
        conn = _Conn(writer)
        self._conns.append(conn)
        try:
            if self.close_at_once:
                return
            writer.write(b"Asterisk Call Manager/11.0.0\r\n")
            while True:
                block = await reader.readuntil(b"\r\n\r\n")
                action = _decode(block)
                self.actions.append(action)
                self._answer(conn, action)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            self._conns.remove(conn)
            writer.transport.abort()
            self._handlers.discard(task)

    def _answer(self, conn: _Conn, action: Headers) -> None:
        name = str(action.get("Action", "")).lower()
        action_id = str(action.get("ActionID", ""))
        reply: Headers
        if name in self.swallow:
            return
        if name == "login":
            if self.refuse_login:
                reply = {"Response": "Error", "Message": "Authentication failed"}
                conn.writer.write(_encode({**reply, "ActionID": action_id}))
                return
            reply = {"Response": "Success", "Message": "Authentication accepted"}
            conn.writer.write(_encode({**reply, "ActionID": action_id}))
            conn.writer.write(_encode({"Event": "FullyBooted", "Status": "Fully Booted"}))
        elif name == "ping":
            if conn.answer_pings:
                conn.writer.write(
                    _encode({"Response": "Success", "ActionID": action_id, "Ping": "Pong"})
                )
        elif name == "originate":
            channel = str(action.get("Channel", ""))
            if channel in self.swallow_channels:
                return
            if self.response_first:
                event = {"Event": "OriginateResponse", "ActionID": action_id}
                conn.writer.write(_encode({**event, "Response": "Failure", "Reason": "0"}))
            reply = {"Response": "Success", "Message": "Originate successfully queued"}
            if channel in self.refuse_channels:
                reply = {"Response": "Error", "Message": "Originate failed"}
            conn.writer.write(_encode({**reply, "ActionID": action_id}))
        elif name in self.lists:
            start = {"Response": "Success", "EventList": "start", "Message": "will follow"}
            conn.writer.write(_encode({**start, "ActionID": action_id}))
            for entry in self.lists[name]:
                conn.writer.write(_encode({**entry, "ActionID": action_id}))
            end = {"Event": f"{action['Action']}Complete", "EventList": "Complete"}
            conn.writer.write(_encode({**end, "ActionID": action_id}))
        else:
            conn.writer.write(_encode({"Response": "Success", "ActionID": action_id}))


def _encode(headers: Headers) -> bytes:
    lines: list[str] = []
    for key, value in headers.items():
        for item in value if isinstance(value, list) else [value]:
            lines.append(f"{key}: {item}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def _decode(block: bytes) -> Headers:
    headers: Headers = {}
    for line in block.decode().split("\r\n"):
        key, sep, value = line.partition(": ")
        if not sep:
            continue
        if key in headers:
            old = headers[key]
            headers[key] = [*(old if isinstance(old, list) else [old]), value]
        else:
            headers[key] = value
    return headers


def _settings(port: int, **overrides: float | str) -> PbxSettings:
    base = PbxSettings(
        host="127.0.0.1",
        port=port,
        username="dialer",
        secret="s3cret",
        ping_interval=60.0,  # no watchdog Pings unless a test asks for them
        ping_timeout=1.0,
        connect_timeout=1.0,
        reconnect_min=0.05,
        reconnect_max=0.2,
    )
    return replace(base, **overrides)  # type: ignore[arg-type]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


async def until(check: Callable[[], bool], timeout: float = 3.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout}s: {what or check}")
        await asyncio.sleep(0.005)


class Recorder:
    def __init__(self) -> None:
        self.events: list[AmiEvent] = []
        self.states: list[tuple[ConnectionState, str]] = []

    def on_event(self, event: AmiEvent) -> None:
        self.events.append(event)

    def on_state(self, state: ConnectionState, detail: str) -> None:
        self.states.append((state, detail))


@pytest.fixture
async def fake() -> AsyncIterator[FakeAmi]:
    server = FakeAmi()
    await server.start()
    yield server
    await server.close()


async def _client(settings: PbxSettings, recorder: Recorder) -> AmiClient:
    client = AmiClient(settings, on_event=recorder.on_event, on_state=recorder.on_state)
    await client.start()
    return client


def _originate(channel_id: str) -> actions.Action:
    return actions.originate(
        channel="PJSIP/5550101@trunk",
        context="dialer-connect",
        exten="s",
        channel_id=channel_id,
        timeout_s=30,
    )


async def test_originate_unanswered_when_the_connection_drops_is_never_resent(
    fake: FakeAmi,
) -> None:
    recorder = Recorder()
    client = await _client(_settings(fake.port), recorder)
    try:
        await client.wait_ready(2)
        fake.swallow.add("originate")
        sending = asyncio.ensure_future(client.send(_originate("att-1"), timeout=5))
        await until(lambda: len(fake.named("Originate")) == 1, what="Originate received")
        fake.drop()
        with pytest.raises(AmiConnectionLost, match="Originate: connection lost before a reply"):
            await sending
        assert client.state is not ConnectionState.READY
        # Back again: logged in a second time and Asterisk said FullyBooted, which is
        # exactly when panoramisk resends what had no reply.
        await client.wait_ready(3)
        assert len(fake.named("Login")) == 2
        # A round trip after FullyBooted: anything resent would have been sent before it.
        assert (await client.send(actions.ping(), timeout=2)).success
        originates = fake.named("Originate")
        assert [o["ActionID"] for o in originates] == ["originate/att-1"]
        assert client.reconnects == 1
    finally:
        await client.close()


async def test_originate_resolves_on_success_and_originate_response_is_an_event(
    fake: FakeAmi,
) -> None:
    recorder = Recorder()
    client = await _client(_settings(fake.port), recorder)
    try:
        await client.wait_ready(2)
        # Resolves on the immediate "Success"; panoramisk alone would wait for OriginateResponse.
        response = await asyncio.wait_for(client.send(_originate("att-2"), timeout=5), 1)
        assert response.success
        assert response.message == "Originate successfully queued"
        assert response.get("ActionID") == "originate/att-2"
        fake.send_event(
            {
                "Event": "OriginateResponse",
                "ActionID": "originate/att-2",
                "Response": "Failure",
                "Reason": "3",
                "Uniqueid": "<null>",
            }
        )
        await until(
            lambda: any(e.name == "OriginateResponse" for e in recorder.events),
            what="OriginateResponse delivered to on_event",
        )
        event = next(e for e in recorder.events if e.name == "OriginateResponse")
        assert event.get("actionid") == "originate/att-2"
        assert event.get("reason") == "3"
        assert actions.channel_id_from_action_id(event.get("actionid")) == "att-2"
    finally:
        await client.close()


async def test_unanswered_pings_drop_the_connection_and_it_comes_back(fake: FakeAmi) -> None:
    interval, timeout = 0.3, 0.3
    recorder = Recorder()
    settings = _settings(fake.port, ping_interval=interval, ping_timeout=timeout)
    client = await _client(settings, recorder)
    try:
        await client.wait_ready(2)
        await until(lambda: len(fake.named("Ping")) >= 1, timeout=1, what="a watchdog Ping")
        fake.stop_answering_pings()
        muted_at = time.monotonic()
        await until(lambda: fake.connections == 2, timeout=3, what="a second connection")
        reconnected_after = fake.connected_at[1] - muted_at
        # Next Ping within `interval`, declared dead `timeout` later, then reconnect_min.
        assert reconnected_after < interval + timeout + settings.reconnect_min + 0.25
        await client.wait_ready(2)
        assert client.state is ConnectionState.READY
        # The drop is reported with its reason, then the way back to READY.
        assert recorder.states[-3:] == [
            (ConnectionState.CONNECTING, "no Ping reply within 0.3s"),
            (ConnectionState.LOGGED_IN, ""),
            (ConnectionState.READY, ""),
        ]
        # The new connection answers Pings: it stays up past several watchdog rounds.
        await asyncio.sleep(3 * interval)
        assert fake.connections == 2
        assert client.ready
    finally:
        await client.close()


def _gaps(times: list[float]) -> list[float]:
    return [b - a for a, b in itertools.pairwise(times)]


def _assert_backoff(gaps: list[float], low: float, high: float) -> None:
    """Each gap doubles from reconnect_min until it reaches reconnect_max."""
    assert len(gaps) >= 4, gaps
    for index, gap in enumerate(gaps):
        expected = min(low * 2**index, high)
        assert expected * 0.9 <= gap <= expected + 0.1, (index, gaps)


async def test_backoff_while_nothing_listens_then_connects(
    caplog: pytest.LogCaptureFixture,
) -> None:
    port = _free_port()
    low, high = 0.05, 0.4
    recorder = Recorder()
    caplog.set_level(logging.WARNING, logger="pbx_dialer.ami.client")
    client = await _client(_settings(port, reconnect_min=low, reconnect_max=high), recorder)
    server = FakeAmi()
    try:
        # It started although nothing listens, and it says why it is not connected.
        assert await client.wait_first_outcome(1) is ConnectionState.CONNECTING
        assert "cannot connect" in client.describe()
        with pytest.raises(AmiNotConnected, match="cannot connect"):
            await client.send(actions.ping())

        def failures() -> list[float]:
            return [r.created for r in caplog.records if "cannot connect" in r.getMessage()]

        await until(lambda: len(failures()) >= 6, timeout=3, what="6 connection attempts")
        _assert_backoff(_gaps(failures()), low, high)
        # Asterisk appears: the next attempt (at most reconnect_max later) gets in.
        await server.start(port)
        appeared = time.monotonic()
        await client.wait_ready(high + 1)
        assert time.monotonic() - appeared < high + 0.3
        assert client.state is ConnectionState.READY
        assert client.describe().endswith(": connected")
    finally:
        await client.close()
        await server.close()


async def test_backoff_when_asterisk_hangs_up_at_once(
    fake: FakeAmi, caplog: pytest.LogCaptureFixture
) -> None:
    low, high = 0.05, 0.4
    fake.close_at_once = True
    recorder = Recorder()
    client = await _client(_settings(fake.port, reconnect_min=low, reconnect_max=high), recorder)
    try:
        await until(lambda: fake.connections >= 6, timeout=3, what="6 connections")
        _assert_backoff(_gaps(fake.connected_at), low, high)
        assert client.state is ConnectionState.CONNECTING
        fake.close_at_once = False
        await client.wait_ready(high + 1)
    finally:
        await client.close()
    # A lost Login must not end as an "Exception in callback" traceback in the log.
    assert not [r for r in caplog.records if r.exc_info], caplog.text


async def test_refused_login_is_reported_and_retried(
    fake: FakeAmi, caplog: pytest.LogCaptureFixture
) -> None:
    low, high = 0.05, 0.4
    fake.refuse_login = True
    recorder = Recorder()
    client = await _client(_settings(fake.port, reconnect_min=low, reconnect_max=high), recorder)
    try:
        assert await client.wait_first_outcome(2) is ConnectionState.AUTH_FAILED
        description = client.describe()
        assert "login refused (Authentication failed)" in description
        assert "dialer@127.0.0.1" in description
        assert "check the AMI username and secret" in description
        await until(lambda: len(fake.named("Login")) >= 5, timeout=3, what="5 login attempts")
        # Still AUTH_FAILED between attempts: the reason stays visible while retrying.
        assert client.state is ConnectionState.AUTH_FAILED
        _assert_backoff(_gaps(fake.connected_at), low, high)
        assert all(a["Username"] == "dialer" for a in fake.named("Login"))
        # The secret gets fixed on the Asterisk side: the client gets in on its own.
        fake.refuse_login = False
        await client.wait_ready(high + 1)
        assert client.describe().endswith(": connected")
    finally:
        await client.close()
    assert not [r for r in caplog.records if r.exc_info], caplog.text


async def test_send_before_start_raises_at_once() -> None:
    client = AmiClient(_settings(_free_port()), on_event=lambda _e: None)
    started = time.monotonic()
    with pytest.raises(AmiNotConnected, match=r"dialer@127\.0\.0\.1"):
        await client.send(actions.ping())
    assert time.monotonic() - started < 0.05


async def test_close_leaves_nothing_running(fake: FakeAmi) -> None:
    recorder = Recorder()
    client = await _client(_settings(fake.port, ping_interval=0.05), recorder)
    await client.wait_ready(2)
    fake.swallow.add("originate")
    pending = asyncio.ensure_future(client.send(_originate("att-3"), timeout=5))
    await until(lambda: len(fake.named("Originate")) == 1)
    await client.close()
    # What was waiting for a reply is told the connection is gone, not left hanging.
    with pytest.raises(AmiConnectionLost):
        await pending
    assert client.state is ConnectionState.CLOSED
    with pytest.raises(AmiNotConnected):
        await client.send(actions.ping())
    await until(lambda: fake.connections == 1 and not fake._conns, what="server saw the close")
    others = asyncio.all_tasks() - {asyncio.current_task()}
    assert not others, others
    # And it stays closed: no reconnect after the backoff would have elapsed.
    await asyncio.sleep(0.3)
    assert fake.connections == 1


async def test_close_while_retrying_stops_retrying() -> None:
    port = _free_port()
    client = AmiClient(_settings(port), on_event=lambda _e: None)
    await client.start()
    await client.wait_first_outcome(1)
    await client.close()
    others = asyncio.all_tasks() - {asyncio.current_task()}
    assert not others, others
    # A server appearing later never hears from the closed client.
    server = FakeAmi()
    await server.start(port)
    try:
        await asyncio.sleep(0.4)
        assert server.connections == 0
    finally:
        await server.close()
    with pytest.raises(AmiNotConnected):
        await client.wait_ready(0.01)
    assert client.state is ConnectionState.CLOSED


async def test_an_event_cut_across_reads_arrives_once_and_whole(fake: FakeAmi) -> None:
    recorder = Recorder()
    client = await _client(_settings(fake.port), recorder)
    try:
        await client.wait_ready(2)
        data = _encode(
            {
                "Event": "Newchannel",
                "Timestamp": "1700000000.250000",
                "Uniqueid": "pbxd-7-ab",
                "CallerIDName": "Zoë Müller",
                "ChanVariable": ["DIALER_ATTEMPT=7", "DIALER_CAMPAIGN=2"],
            }
        ) + _encode({"Event": "Hangup", "Uniqueid": "pbxd-7-ab", "Cause": "16"})
        # Cut inside a header, inside the "ë" (a two-byte character) and inside the
        # blank line that ends the first event.
        cuts = [10, data.index("ë".encode()) + 1, data.index(b"\r\n\r\n") + 3]
        for start, end in itertools.pairwise([0, *cuts, len(data)]):
            await fake.send_raw(data[start:end])
            await asyncio.sleep(0.02)

        def calls() -> list[AmiEvent]:
            return [e for e in recorder.events if e.name != "FullyBooted"]

        await until(lambda: len(calls()) == 2, what="both events")
        first, second = calls()
        assert first.name == "Newchannel"
        assert first.at == 1700000000.25  # Asterisk's Timestamp, not the receive time
        assert first.get("CallerIDName") == "Zoë Müller"
        assert first.variables() == {"DIALER_ATTEMPT": "7", "DIALER_CAMPAIGN": "2"}
        assert (second.name, second.get("cause")) == ("Hangup", "16")
    finally:
        await client.close()


async def test_unlistened_events_are_dropped_but_event_list_replies_are_not(
    fake: FakeAmi,
) -> None:
    recorder = Recorder()
    client = AmiClient(_settings(fake.port), on_event=recorder.on_event, events={"Hangup"})
    await client.start()
    try:
        await client.wait_ready(2)
        fake.lists["queuestatus"] = [
            {"Event": "QueueMember", "Queue": "sales", "Name": "Agent 7001"},
            {"Event": "QueueMember", "Queue": "sales", "Name": "Agent 7002"},
        ]
        fake.send_event({"Event": "Newexten", "Uniqueid": "pbxd-1-aa"})
        fake.send_event({"Event": "Hangup", "Uniqueid": "pbxd-1-aa", "Cause": "16"})
        # QueueMember is not listened to, yet the reply's entries are its answer.
        entries = await client.send_list(actions.queue_status(), timeout=2)
        assert [(e.name, e.get("name")) for e in entries] == [
            ("QueueMember", "Agent 7001"),
            ("QueueMember", "Agent 7002"),
            ("QueueStatusComplete", ""),
        ]
        # Only the Hangup was handed over; a late one after the list still is.
        fake.send_event({"Event": "Hangup", "Uniqueid": "pbxd-2-bb", "Cause": "17"})
        await until(lambda: len(recorder.events) == 2, what="the second Hangup")
        assert [(e.name, e.get("uniqueid")) for e in recorder.events] == [
            ("Hangup", "pbxd-1-aa"),
            ("Hangup", "pbxd-2-bb"),
        ]
    finally:
        await client.close()


async def test_actions_sent_together_all_arrive_in_order(fake: FakeAmi) -> None:
    client = await _client(_settings(fake.port), Recorder())
    try:
        await client.wait_ready(2)
        replies = await asyncio.gather(
            *(client.send(_originate(f"att-{i}"), timeout=2) for i in range(50))
        )
        assert all(r.success for r in replies)
        assert [r.get("ActionID") for r in replies] == [f"originate/att-{i}" for i in range(50)]
        sent = [a["ActionID"] for a in fake.named("Originate")]
        assert sent == [f"originate/att-{i}" for i in range(50)]
    finally:
        await client.close()


def _originate_to(channel: str, channel_id: str) -> actions.Action:
    return actions.originate(
        channel=channel, context="dialer-connect", exten="s", channel_id=channel_id, timeout_s=30
    )


async def test_send_many_gives_each_action_its_own_reply_refusal_or_timeout(
    fake: FakeAmi,
) -> None:
    client = await _client(_settings(fake.port), Recorder())
    try:
        await client.wait_ready(2)
        fake.refuse_channels.add("PJSIP/refused@trunk")
        fake.swallow_channels.add("PJSIP/silent@trunk")
        batch = [
            _originate_to("PJSIP/ok@trunk", "att-1"),
            _originate_to("PJSIP/refused@trunk", "att-2"),
            _originate_to("PJSIP/silent@trunk", "att-3"),
            _originate_to("PJSIP/ok@trunk", "att-4"),
        ]
        replies = await client.send_many(batch, timeout=0.5)
        first, second, third, fourth = replies
        assert isinstance(first, AmiResponse) and first.success
        assert first.get("ActionID") == "originate/att-1"
        assert isinstance(second, AmiResponse) and not second.success
        assert second.message == "Originate failed"
        assert isinstance(third, AmiTimeout)
        assert "Originate: no reply within 0.5s" in str(third)
        assert isinstance(fourth, AmiResponse) and fourth.success
        assert fourth.get("ActionID") == "originate/att-4"
        # Sent once each, in order, in one go.
        sent = [a["ActionID"] for a in fake.named("Originate")]
        assert sent == [f"originate/att-{i}" for i in range(1, 5)]
    finally:
        await client.close()


async def test_send_many_when_the_connection_drops_fails_the_unanswered_never_resends(
    fake: FakeAmi,
) -> None:
    client = await _client(_settings(fake.port), Recorder())
    try:
        await client.wait_ready(2)
        fake.swallow_channels.add("PJSIP/silent@trunk")
        batch = [
            _originate_to("PJSIP/ok@trunk", "att-1"),
            _originate_to("PJSIP/silent@trunk", "att-2"),
        ]
        sending = asyncio.ensure_future(client.send_many(batch, timeout=5))
        await until(lambda: len(fake.named("Originate")) == 2, what="both Originates received")
        await asyncio.sleep(0.1)  # the first one's reply is read
        fake.drop()
        answered, lost = await sending
        assert isinstance(answered, AmiResponse) and answered.success
        assert isinstance(lost, AmiConnectionLost)
        await client.wait_ready(3)
        assert (await client.send(actions.ping(), timeout=2)).success
        assert [a["ActionID"] for a in fake.named("Originate")] == [
            "originate/att-1",
            "originate/att-2",
        ]
    finally:
        await client.close()


async def test_pbx_place_calls_settles_each_call_alone(fake: FakeAmi) -> None:
    settings = _settings(fake.port, dial_template="PJSIP/{number}@trunk")
    pbx = Pbx(settings, on_event=lambda _pbx, _event: None)
    await pbx.start()
    try:
        await pbx.client.wait_ready(2)
        fake.refuse_channels.add("PJSIP/refused@trunk")

        def request(attempt_id: int, number: str) -> CallRequest:
            return CallRequest(
                attempt_id=attempt_id,
                channel_id=f"pbxd-{attempt_id}",
                number=number,
                ring_timeout_s=30,
                variables={"DIALER_ATTEMPT": str(attempt_id)},
            )

        outcomes = await pbx.place_calls(
            [request(1, "ok"), request(2, "refused"), request(3, "bad\r\nAction: Hangup")]
        )
        assert outcomes[0] is None
        assert isinstance(outcomes[1], OriginateRefused)
        assert isinstance(outcomes[2], actions.UnsafeAmiValue)
        # Only the placed call is followed; the refused one was forgotten, the unsafe one
        # never sent.
        assert pbx.calls.is_tracking("pbxd-1")
        assert not pbx.calls.is_tracking("pbxd-2")
        assert not pbx.calls.is_tracking("pbxd-3")
        assert [a["ChannelId"] for a in fake.named("Originate")] == ["pbxd-1", "pbxd-2"]
        # A single call keeps the old contract: a refusal is raised.
        with pytest.raises(OriginateRefused):
            await pbx.place_call(
                attempt_id=4, channel_id="pbxd-4", number="refused", ring_timeout_s=30, variables={}
            )
    finally:
        await pbx.close()
    outcomes = await pbx.place_calls([request(5, "ok")])
    assert isinstance(outcomes[0], AmiNotConnected)


async def test_send_many_an_originate_response_before_the_reply_is_still_an_event(
    fake: FakeAmi,
) -> None:
    recorder = Recorder()
    client = await _client(_settings(fake.port), recorder)
    try:
        await client.wait_ready(2)
        fake.response_first = True
        (reply,) = await client.send_many([_originate_to("PJSIP/ok@trunk", "att-9")], timeout=2)
        assert isinstance(reply, AmiResponse) and reply.success
        assert reply.message == "Originate successfully queued"
        await until(
            lambda: any(e.name == "OriginateResponse" for e in recorder.events),
            what="OriginateResponse delivered",
        )
        event = next(e for e in recorder.events if e.name == "OriginateResponse")
        assert event.get("actionid") == "originate/att-9"
        assert event.get("response") == "Failure"
    finally:
        await client.close()
