"""What the network said about a call that was not answered, as a technical result.

Asterisk's OriginateResponse `Reason` is not a reliable outcome on a real trunk: on a
direct `PJSIP/...` originate a 486 Busy Here or a 503 comes back as Reason 0 ("failed").
The customer's own leg says more: its Hangup event carries the Q.850 cause (`Cause`)
and, since Asterisk 22.7, PJSIP's SIP final response (`TechCause`). So the result is
taken, in this order, from the SIP response, the Q.850 cause of the customer's leg, the
cause of the dialer's own channel, and only then the Reason. Pure: no I/O.

The README's table of SIP responses and causes is this module's tables
(tests/unit/test_causes.py keeps the two in step).
"""

from __future__ import annotations

from pbx_dialer.calls import TechResult

# SIP final responses whose meaning is sharper than the Q.850 cause Asterisk maps them
# to (chan_pjsip's hangup_sip2cause): 603 Decline becomes 21 "call rejected" and 410
# becomes 22, but a supervisor wants "the person declined" and "no such number".
SIP_RESULTS: dict[int, TechResult] = {
    404: TechResult.INVALID,  # Not Found
    410: TechResult.INVALID,  # Gone
    484: TechResult.INVALID,  # Address Incomplete
    485: TechResult.INVALID,  # Ambiguous
    604: TechResult.INVALID,  # Does Not Exist Anywhere
    486: TechResult.BUSY,  # Busy Here
    600: TechResult.BUSY,  # Busy Everywhere
    603: TechResult.BUSY,  # Decline: the person refused the call, as busy
    408: TechResult.NOANSWER,  # Request Timeout
    480: TechResult.NOANSWER,  # Temporarily Unavailable
    500: TechResult.CONGESTION,  # Server Internal Error
    502: TechResult.CONGESTION,  # Bad Gateway
    503: TechResult.CONGESTION,  # Service Unavailable
    504: TechResult.CONGESTION,  # Server Time-out
}
# 487 Request Terminated answers the dialer's own CANCEL (its ring timeout ran out):
# it says nothing about the customer, so the cause of the dialer's channel decides.
SIP_OWN_CANCEL = 487

# Q.850 causes of a leg that ended before answer.
CAUSE_RESULTS: dict[int, TechResult] = {
    1: TechResult.INVALID,  # unallocated number
    3: TechResult.FAILED,  # no route to destination
    17: TechResult.BUSY,  # user busy
    18: TechResult.NOANSWER,  # no user responding
    19: TechResult.NOANSWER,  # no answer (also the dialer's own ring timeout)
    20: TechResult.NOANSWER,  # subscriber absent
    21: TechResult.BUSY,  # call rejected: the person declined it
    22: TechResult.INVALID,  # number changed
    27: TechResult.FAILED,  # destination out of order
    28: TechResult.INVALID,  # invalid number format
    29: TechResult.FAILED,  # facility rejected
    34: TechResult.CONGESTION,  # no circuit/channel available
    38: TechResult.CONGESTION,  # network out of order
    41: TechResult.CONGESTION,  # temporary failure
    42: TechResult.CONGESTION,  # switching equipment congestion
    44: TechResult.CONGESTION,  # requested channel not available
    47: TechResult.CONGESTION,  # resource unavailable
    58: TechResult.FAILED,  # bearer capability not available (no common codec)
    102: TechResult.CONGESTION,  # recovery on timer expiry
    127: TechResult.FAILED,  # interworking: an unexpected SIP error
}

# OriginateResponse `Reason`: the last control frame Asterisk saw on the outbound leg.
REASON_RESULTS: dict[str, TechResult] = {
    "0": TechResult.FAILED,  # the channel could not even be created, or "failed"
    "3": TechResult.NOANSWER,  # still ringing when the originate timeout ran out
    "5": TechResult.BUSY,
    "8": TechResult.CONGESTION,
}


def parse_code(value: str) -> int | None:
    """A cause or status header as an int; None when absent, empty or not a number."""
    try:
        return int(value)
    except ValueError:
        return None


def sip_result(status: int) -> TechResult:
    """A SIP final response as a result: the table, else any other 5xx is CONGESTION and
    any other 4xx or 6xx FAILED (403 Forbidden, 488 Not Acceptable: the trunk or the
    call is wrong, not the person)."""
    found = SIP_RESULTS.get(status)
    if found is not None:
        return found
    return TechResult.CONGESTION if 500 <= status < 600 else TechResult.FAILED


def informative(cause: int | None) -> bool:
    """0 (unknown) and 16 (normal clearing) say nothing about why nobody answered."""
    return cause is not None and cause not in (0, 16)


def unanswered_result(
    *,
    far_sip: int | None,
    far_cause: int | None,
    own_cause: int | None,
    reason: str | None,
) -> TechResult:
    """The result of a call that was never answered: from the customer leg's SIP
    response (`far_sip`) and Q.850 cause (`far_cause`), the dialer's own channel's cause
    (`own_cause`: the same leg on a direct trunk; the Local channel otherwise), and the
    OriginateResponse Reason, in that order. No information at all: NOANSWER."""
    if far_sip is not None and far_sip != SIP_OWN_CANCEL:
        return sip_result(far_sip)
    if far_sip != SIP_OWN_CANCEL and informative(far_cause):
        by_cause = CAUSE_RESULTS.get(far_cause or 0)
        if by_cause is not None:
            return by_cause
    if informative(own_cause):
        by_own = CAUSE_RESULTS.get(own_cause or 0)
        if by_own is not None:
            return by_own
    if reason is not None and reason in REASON_RESULTS:
        return REASON_RESULTS[reason]
    return TechResult.NOANSWER
