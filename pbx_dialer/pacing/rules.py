"""Abandonment rules: what a campaign counts against its cap, and over which window.

A campaign chooses its rule (`CampaignSettings.abandon_rule`); its cap (`max_abandon_pct`)
is the share allowed. Both rules count per campaign, and the cap
(pbx_dialer.pacing.cap) holds each over the rule's window AND over the campaign's life
so far, so a campaign shorter than the window is held too.

* "tcpa" (US, 47 CFR 64.1200(a)(7)(i), the FTC's Telemarketing Sales Rule alike):
  abandoned calls / calls answered by a live person, over 30 days of the campaign.
  The rule reads "each successive 30-day period"; the cap holds it over every 30 days
  ending now (which covers those periods) and over the life so far.
* "ofcom" (UK, Ofcom's Revised statement of policy on the persistent misuse of an
  electronic communications network or service, 2008, as amended by "Tackling abandoned
  and silent calls", 2010): abandoned calls no more than 3% of live calls, per campaign,
  over any 24 hours, where, for a dialer using answering-machine detection, a reasoned
  estimate of AMD false positives (persons that AMD took for a machine and hung up on)
  counts both as abandoned and as live:

      rate = (abandoned + F) / (live + F),  F = false-positive rate x AMD machine verdicts

  with `live` the calls answered by a person (including the abandoned ones). Sources:
  the statement's definitions of "abandoned call", "live call" and "AMD false
  positive"; the derivation O = D_L + F_C over L in "Calculating abandoned calls in the
  light of the Ofcom 2008 statement" (Sytel, docplayer.net/1547931); the same formula
  in vendors' Ofcom reports (e.g. Genesys OCS "pa-amd-false-positive-rate"). The
  false-positive rate is the campaign's own measured estimate
  (`amd_false_positive_pct`: Ofcom names no figure and expects it to be evidenced, e.g.
  by listening to a sample of machine verdicts). The 2010 amendment also lets a dialer
  without AMD deduct an estimate of calls abandoned to answering machines; that would
  only loosen the count, so it is not used here. (Ofcom's 2016 statement dropped the
  fixed 3% as a safe level; a campaign keeps it as its cap.)
"""

from __future__ import annotations

from dataclasses import dataclass

RULE_TCPA = "tcpa"
RULE_OFCOM = "ofcom"
ABANDON_RULES = (RULE_TCPA, RULE_OFCOM)
DAY_S = 86_400.0
WINDOW_S = {RULE_TCPA: 30 * DAY_S, RULE_OFCOM: DAY_S}
WINDOW_NAMES = {RULE_TCPA: "30 days", RULE_OFCOM: "24 hours"}
RULE_NAMES = {RULE_TCPA: "TCPA", RULE_OFCOM: "Ofcom"}


@dataclass(frozen=True, slots=True)
class Counts:
    """What a rule counts, over some span of a campaign: persons answered (SUCCESS or
    ABANDONED), abandoned, and calls released as machines by AMD (MACHINE)."""

    answered: int = 0
    abandoned: int = 0
    machines: int = 0


@dataclass(frozen=True, slots=True)
class AbandonRule:
    name: str = RULE_TCPA
    # Ofcom only: the share of AMD machine verdicts that were persons (0..1).
    false_positive: float = 0.0

    def __post_init__(self) -> None:
        if self.name not in ABANDON_RULES:
            raise ValueError(f"abandon rule must be one of {', '.join(ABANDON_RULES)}")
        if not 0.0 <= self.false_positive <= 1.0:
            raise ValueError("the AMD false-positive rate must be between 0 and 1")

    @property
    def window_s(self) -> float:
        return WINDOW_S[self.name]

    @property
    def window_name(self) -> str:
        return WINDOW_NAMES[self.name]

    @property
    def title(self) -> str:
        return RULE_NAMES[self.name]

    def false_positives(self, machines: float) -> float:
        """Ofcom's reasoned estimate of persons among the machine verdicts."""
        return self.false_positive * machines if self.name == RULE_OFCOM else 0.0

    def abandoned(self, answered: float, abandoned: float, machines: float) -> float:
        """Abandoned calls as the rule counts them."""
        return abandoned + self.false_positives(machines)

    def live(self, answered: float, abandoned: float, machines: float) -> float:
        """Calls answered by a person, as the rule counts them."""
        return answered + self.false_positives(machines)

    def room(self, cap: float, answered: float, abandoned: float, machines: float) -> float:
        """Abandonments still allowed under `cap` (a share, 0.03 for 3%)."""
        return cap * self.live(answered, abandoned, machines) - self.abandoned(
            answered, abandoned, machines
        )

    def rate(self, answered: float, abandoned: float, machines: float) -> float:
        live = self.live(answered, abandoned, machines)
        return self.abandoned(answered, abandoned, machines) / live if live > 0 else 0.0
