"""Capture the AMI sessions the tracker tests replay, from a real Asterisk.

    python -m pbx_dialer.testing.record_fixtures tests/fixtures/ami

For each scenario it starts from a fresh Asterisk, logs one simulated agent in, places
one call the way the dialer does, and saves every event the dialer's AMI user saw
(noise such as VarSet and Newexten left out) with the attempt it belongs to.

The transfer scenarios have the simulated agent transfer the customer with the AMI
actions a softphone integration would use (`blind_transfer`, `attended_transfer`,
also used by the real-Asterisk tests).
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path

from pbx_dialer.ami import actions
from pbx_dialer.ami.client import AmiClient, AmiError
from pbx_dialer.ami.messages import AmiEvent
from pbx_dialer.ami.pbx import AGENT_FIRST_CHANNEL, AGENT_FIRST_CONTEXT, MESSAGE_CONTEXT
from pbx_dialer.ami.recorder import Recorder
from pbx_dialer.ami.tracker import CALL_AGENT, CALL_AGENT_FIRST, CALL_MESSAGE
from pbx_dialer.config import PbxSettings
from pbx_dialer.testing.asterisk import AsteriskInstance
from pbx_dialer.testing.sim import Simulator


@dataclass(frozen=True)
class Scenario:
    name: str
    number: str
    story: str
    restart_after_connect: bool = False
    transfer: str = ""  # "blind" or "attended": the agent transfers the customer to 8001
    record: bool = False  # the campaign records its calls (DIALER_RECORD=1)
    kind: str = CALL_AGENT  # how the call runs (pbx_dialer.ami.tracker.CALL_KINDS)
    amd: bool = False  # message calls: answering-machine detection first


SCENARIOS = [
    Scenario("success", "5550101", "Customer answers after 1 s, agent 7001 answers 1.5 s "
             "after being rung, customer hangs up 4 s after answering."),
    Scenario("busy", "5550201", "Customer's line rings 0.5 s then is busy."),
    Scenario("noanswer", "5550301", "Customer never answers; the 15 s originate timeout ends it."),
    Scenario("congestion", "5550401", "The network answers with congestion at once."),
    Scenario("abandoned", "5550501", "Customer answers, waits in the queue and hangs up 1 s "
             "later, before agent 7001 (1.5 s to answer) takes the call."),
    Scenario("failed", "5550701", "A number the simulated network does not know."),
    Scenario("restart", "5550601", "Customer answers and talks to agent 7001; Asterisk is "
             "restarted during the call.", restart_after_connect=True),
    Scenario("blind_transfer", "5550601", "Recorded call: customer answers after 1 s, agent "
             "7001 takes it 1.5 s later, talks 1 s and blind-transfers the customer (AMI "
             "BlindTransfer on the agent's channel) to 8001@sim-transfer, which answers, "
             "talks 4 s and hangs up.", transfer="blind", record=True),
    Scenario("attended_transfer", "5550601", "Recorded call: customer answers after 1 s, "
             "agent 7001 takes it 1.5 s later, talks 1 s, starts an attended transfer (AMI "
             "Atxfer on the agent's channel) to 8001@sim-transfer, which answers at once; "
             "the agent hangs up when bridged with the target, which completes the "
             "transfer; the target talks with the customer until its 4 s are over.",
             transfer="attended", record=True),
    Scenario("agent_first_success", "5550101", "Agent first: the call waits in the queue, "
             "agent 7001 answers 1.5 s later, then the customer is dialed, rings 1 s, "
             "answers and hangs up 4 s later.", kind=CALL_AGENT_FIRST),
    Scenario("agent_first_busy", "5550201", "Agent first: agent 7001 takes the call after "
             "1.5 s; the customer's line rings 0.5 s then is busy; the agent hears the busy "
             "tone 2 s, then the call ends with cause 17.", kind=CALL_AGENT_FIRST),
    Scenario("message_transfer", "5551001", "Message campaign (message vm-goodbye, key 1, "
             "no AMD): the customer answers after 1 s, presses 1 three seconds later, joins "
             "the queue, agent 7001 takes it 1.5 s later; the customer hangs up 8 s after "
             "the key.", kind=CALL_MESSAGE),
    Scenario("message_machine", "5551101", "Message campaign with AMD: an answering "
             "machine answers after 1 s (a 5.7 s greeting, a beep, silence); AMD says "
             "MACHINE, the message plays after the beep, then the call ends.",
             kind=CALL_MESSAGE, amd=True),
    Scenario("message_person", "5551201", "Message campaign with AMD: a person answers "
             "after 1 s, says hello and listens; AMD says HUMAN, the message plays, no key "
             "is pressed and the call ends 5 s after the message.",
             kind=CALL_MESSAGE, amd=True),
]  # fmt: skip


async def blind_transfer(
    sim: Simulator, agent_channel: str, exten: str, context: str = "sim-transfer"
) -> None:
    """The agent on `agent_channel` sends the party bridged with it to exten@context."""
    response = await sim.client.send(
        {"Action": "BlindTransfer", "Channel": agent_channel, "Context": context, "Exten": exten}
    )
    if not response.success:
        raise AmiError(f"BlindTransfer failed: {response.message}")


async def attended_transfer(
    sim: Simulator, agent_channel: str, exten: str, context: str = "sim-transfer"
) -> None:
    """The agent on `agent_channel` calls exten@context (Atxfer: the customer is held),
    and once bridged with the target hangs up, which completes the transfer. Atxfer
    needs an atxfer feature code on the agent's channel: [dialer-agent] sets one."""
    consulting = sim.wait_event("BridgeEnter", timeout=10, channel=agent_channel)
    response = await sim.client.send(
        {"Action": "Atxfer", "Channel": agent_channel, "Context": context, "Exten": exten}
    )
    if not response.success:
        consulting.close()
        raise AmiError(f"Atxfer failed: {response.message}")
    await consulting
    response = await sim.client.send(actions.hangup(agent_channel))
    if not response.success:
        raise AmiError(f"hanging up the transferring agent failed: {response.message}")


async def _record(scenario: Scenario, out_dir: Path) -> Path:
    async with AsteriskInstance() as asterisk:
        base = PbxSettings(host=asterisk.ami_host, port=asterisk.ami_port, reconnect_min=0.2)
        sim = Simulator(
            replace(
                base,
                name="sim",
                username=asterisk.simulator_user,
                secret=asterisk.simulator_secret,
            )
        )
        await sim.start()
        recorder = Recorder()
        done = asyncio.Event()
        channel_id = f"pbxd-1-{scenario.name}"

        def on_event(event: AmiEvent) -> None:
            recorder(event)
            if event.name == "Hangup" and event.get("uniqueid") == channel_id:
                done.set()
            if event.name == "OriginateResponse" and event.get("response") != "Success":
                done.set()

        client = AmiClient(
            replace(base, username=asterisk.dialer_user, secret=asterisk.dialer_secret),
            on_event=on_event,
        )
        await client.start()
        await client.wait_ready(10)
        await sim.add_agent("sales", 7001)
        await asyncio.sleep(0.3)
        placed_at = time.time()
        await client.send(_originate(scenario, channel_id))
        if scenario.transfer:
            connected = await sim.wait_event("AgentConnect", timeout=10)
            await asyncio.sleep(1.0)  # the agent talks to the customer first
            transfer = blind_transfer if scenario.transfer == "blind" else attended_transfer
            await transfer(sim, connected.get("destchannel"), "8001")
            await asyncio.wait_for(done.wait(), 30)
        elif scenario.restart_after_connect:
            await sim.wait_event("AgentConnect", timeout=10)
            await asterisk.restart()
            await client.wait_ready(20)
        else:
            await asyncio.wait_for(done.wait(), 30)
        await asyncio.sleep(1.0)  # the tail: AgentComplete, QueueMemberStatus, ...
        await client.close()
        await sim.close()
    path = out_dir / f"{scenario.name}.json"
    data = {
        "scenario": scenario.story,
        "attempt": {
            "attempt_id": 1,
            "channel_id": channel_id,
            "placed_at": placed_at,
            "kind": scenario.kind,
        },
        "events": [e.to_json() for e in recorder.events],
    }
    path.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    return path


def _originate(scenario: Scenario, channel_id: str) -> actions.Action:
    """The Originate the dialer (pbx_dialer.ami.pbx.Pbx.place_call) sends for the
    scenario's kind of call."""
    customer = f"Local/{scenario.number}@sim-pstn"
    variables = {
        "DIALER_ATTEMPT": "1",
        "DIALER_CAMPAIGN": "1",
        "DIALER_QUEUE": "sales",
        "DIALER_PRIO": "5",
        **({"DIALER_RECORD": "1"} if scenario.record else {}),
    }
    channel, context, timeout_s = customer, "dialer-connect", 15.0
    if scenario.kind == CALL_AGENT_FIRST:
        variables.update(DIALER_CUSTOMER=customer, DIALER_RING_TIMEOUT="15")
        channel, context, timeout_s = AGENT_FIRST_CHANNEL, AGENT_FIRST_CONTEXT, 35.0
    elif scenario.kind == CALL_MESSAGE:
        variables.update(DIALER_MESSAGE="vm-goodbye", DIALER_TRANSFER_KEY="1")
        if scenario.amd:
            variables["DIALER_AMD"] = "1"
        context = MESSAGE_CONTEXT
    return actions.originate(
        channel=channel,
        context=context,
        exten="s",
        channel_id=channel_id,
        timeout_s=timeout_s,
        variables=variables,
    )


async def main(out_dir: Path, names: list[str]) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    for scenario in SCENARIOS:
        if names and scenario.name not in names:
            continue
        path = await _record(scenario, out_dir)
        print(f"recorded {scenario.name}: {path}")


if __name__ == "__main__":
    asyncio.run(
        main(Path(sys.argv[1] if len(sys.argv) > 1 else "tests/fixtures/ami"), sys.argv[2:])
    )
