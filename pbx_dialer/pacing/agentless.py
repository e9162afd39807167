"""Pacing of agentless message campaigns: nobody waits for an agent, so the only limits
are the campaign's lines (its throttle, `max_lines`) and, applied by the dial loop, its
dispatch rate. Unlike the other policies it dials with no agent logged in: a person who
presses the transfer key simply waits in the queue like any inbound caller."""

from __future__ import annotations

from pbx_dialer.pacing.policy import BasePolicy, PacingSnapshot, free_lines


class Agentless(BasePolicy):
    def calls_to_place(self, snapshot: PacingSnapshot) -> int:
        return free_lines(snapshot)
