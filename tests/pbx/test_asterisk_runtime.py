"""The project-provisioned Asterisk: boot, AMI rights, restart, isolation, dialplan."""

from __future__ import annotations

import os
import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from pbx_dialer.paths import PROJECT_CONF_DIR
from pbx_dialer.testing.asterisk import (
    AMI_DIALER_SECRET,
    AMI_DIALER_USER,
    AMI_SIMULATOR_SECRET,
    AMI_SIMULATOR_USER,
    AmiMessage,
    AsteriskInstance,
    RawAmi,
)

pytestmark = [pytest.mark.pbx, pytest.mark.timeout(60)]


@pytest.fixture
async def asterisk() -> AsyncIterator[AsteriskInstance]:
    async with AsteriskInstance() as inst:
        yield inst


async def _login(inst: AsteriskInstance, user: str = AMI_DIALER_USER) -> RawAmi:
    ami = await RawAmi.connect(inst.ami_host, inst.ami_port)
    await ami.login(user, AMI_DIALER_SECRET if user == AMI_DIALER_USER else AMI_SIMULATOR_SECRET)
    return ami


def _asterisk_pids() -> set[int]:
    pids = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            comm = (entry / "comm").read_text().strip()
        except OSError:
            continue
        if comm == "asterisk":
            pids.add(int(entry.name))
    return pids


async def test_boots_and_dialer_user_gets_fully_booted(asterisk: AsteriskInstance) -> None:
    ami = await _login(asterisk)
    try:
        assert ami.banner.startswith("Asterisk Call Manager/")
        booted = await ami.wait_for(lambda m: m.get("Event") == "FullyBooted", timeout=10)
        assert booted.get("Status") == "Fully Booted"
        pong = await ami.action("Ping")
        assert pong.get("Response") == "Success"
        assert pong.get("Ping") == "Pong"
    finally:
        await ami.close()


async def test_every_listed_module_loads(asterisk: AsteriskInstance) -> None:
    listed = re.findall(r"(?m)^load\s*=\s*(\S+)", (PROJECT_CONF_DIR / "modules.conf").read_text())
    shown = await asterisk.cli("module show")
    running = {line.split()[0] for line in shown.splitlines() if re.search(r"\sRunning\s", line)}
    assert set(listed) <= running, set(listed) - running
    log = asterisk.log_path.read_text()
    bad = [
        line
        for line in log.splitlines()
        if "ERROR[" in line or "declined" in line or "failed to load" in line
    ]
    assert not bad, "\n".join(bad)


async def test_dialer_user_rights(asterisk: AsteriskInstance) -> None:
    ami = await _login(asterisk)
    try:
        ok: dict[str, dict[str, str]] = {
            "Setvar": {"Variable": "DEVICE_STATE(Custom:agent7001)", "Value": "NOT_INUSE"},
            "Getvar": {"Variable": "DEVICE_STATE(Custom:agent7001)"},
            "QueueAdd": {
                "Queue": "sales",
                "Interface": "Local/7001@sim-agents",
                "MemberName": "Agent 7001",
                "StateInterface": "Custom:agent7001",
            },
            "QueuePause": {
                "Queue": "sales",
                "Interface": "Local/7001@sim-agents",
                "Paused": "true",
            },
            "QueueStatus": {},
            "QueueSummary": {},
            "CoreShowChannels": {},
            "QueueRemove": {"Queue": "sales", "Interface": "Local/7001@sim-agents"},
        }
        for action, fields in ok.items():
            action_id = await ami.send(action, **fields)

            def is_response(m: AmiMessage, a: str = action_id) -> bool:
                return "Response" in m and m.get("ActionID") == a

            resp = await ami.wait_for(is_response)
            assert resp.get("Response") == "Success", (action, resp)
        value = await ami.action("Getvar", Variable="DEVICE_STATE(Custom:agent7001)")
        assert value.get("Value") == "NOT_INUSE"
        denied = await ami.action("Command", Command="core show version")
        assert denied.get("Response") == "Error"
        assert "Permission denied" in denied.get("Message", "")
    finally:
        await ami.close()


async def test_restart_keeps_ports(asterisk: AsteriskInstance) -> None:
    ami_port, sip_port, pid = asterisk.ami_port, asterisk.sip_port, asterisk.pid
    await asterisk.restart()
    assert (asterisk.ami_port, asterisk.sip_port) == (ami_port, sip_port)
    assert asterisk.pid is not None and asterisk.pid != pid
    assert pid not in _asterisk_pids()
    ami = await _login(asterisk)
    try:
        assert (await ami.action("Ping")).get("Response") == "Success"
    finally:
        await ami.close()
    transports = await asterisk.cli("pjsip show transports")
    assert re.search(rf"transport-udp\s+udp\s.*127\.0\.0\.1:{sip_port}\b", transports), transports


async def test_stop_leaves_no_process_and_no_directory() -> None:
    inst = AsteriskInstance()
    await inst.start()
    pid = inst.pid
    directory = inst.instance_dir
    assert pid in _asterisk_pids()
    await inst.stop()
    assert pid not in _asterisk_pids()
    assert str(pid) not in os.listdir("/proc")
    assert not directory.exists()


async def test_two_instances_at_once() -> None:
    async with AsteriskInstance() as one, AsteriskInstance() as two:
        assert one.ami_port != two.ami_port
        assert one.sip_port != two.sip_port
        assert one.instance_dir != two.instance_dir
        for inst in (one, two):
            ami = await _login(inst)
            try:
                assert (await ami.action("Ping")).get("Response") == "Success"
            finally:
                await ami.close()


async def _originate(ami: RawAmi, number: str, attempt: int) -> None:
    await ami.send(
        "Originate",
        Channel=f"Local/{number}@sim-pstn",
        Context="dialer-connect",
        Exten="s",
        Priority="1",
        Async="true",
        Timeout="15000",
        ChannelId=f"pbxd-{attempt}",
        OtherChannelId=f"pbxd-{attempt}-2",
        ActionID=f"originate/pbxd-{attempt}",
        Variable=f"DIALER_ATTEMPT={attempt},DIALER_CAMPAIGN=1,DIALER_QUEUE=sales,DIALER_PRIO=5",
    )


@pytest.mark.parametrize(
    ("number", "reason"), [("+12125550201", "5"), ("+12125550401", "8"), ("+12125550701", "0")]
)
async def test_simulated_failures(asterisk: AsteriskInstance, number: str, reason: str) -> None:
    ami = await _login(asterisk)
    try:
        await _originate(ami, number, 7)
        resp = await ami.wait_for(lambda m: m.get("Event") == "OriginateResponse", timeout=10)
        assert resp.get("Response") == "Failure"
        assert resp.get("Reason") == reason
        assert resp.get("Uniqueid") == "pbxd-7"
        assert resp.get("ActionID") == "originate/pbxd-7"
    finally:
        await ami.close()


async def test_simulated_call_reaches_simulated_agent(asterisk: AsteriskInstance) -> None:
    sim = await _login(asterisk, AMI_SIMULATOR_USER)
    ami = await _login(asterisk)
    try:
        await sim.action("Setvar", Variable="DEVICE_STATE(Custom:agent7001)", Value="NOT_INUSE")
        added = await sim.action(
            "QueueAdd",
            Queue="sales",
            Interface="Local/7001@sim-agents",
            MemberName="Agent 7001",
            StateInterface="Custom:agent7001",
        )
        assert added.get("Response") == "Success"
        await _originate(ami, "+12125550101", 3)
        seen: list[AmiMessage] = []

        def complete(m: AmiMessage) -> bool:
            return m.get("Event") == "AgentComplete" and m.get("Uniqueid") == "pbxd-3"

        done = await ami.wait_for(complete, timeout=20, collect=seen)
        events = {m.get("Event"): m for m in seen if m.get("Uniqueid") == "pbxd-3"}
        assert events["OriginateResponse"].get("Reason") == "4"
        join = events["QueueCallerJoin"]
        assert join.get("Queue") == "sales"
        assert join.chanvars["DIALER_ATTEMPT"] == "3"
        connect = events["AgentConnect"]
        assert connect.get("MemberName") == "Agent 7001"
        assert connect.get("Interface") == "Local/7001@sim-agents"
        assert connect.chanvars == {"DIALER_ATTEMPT": "3", "DIALER_CAMPAIGN": "1"}
        assert done.get("Reason") == "caller"
        assert done.chanvars["DIALER_ATTEMPT"] == "3"
    finally:
        await ami.close()
        await sim.close()
