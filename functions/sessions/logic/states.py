"""The playback session's states and the one table of allowed transitions (the state pattern).

Every heartbeat names the state the player is in now; the move from the stored state to it must
be in ``TRANSITIONS``, or the heartbeat is refused (409 ``invalid_transition``) and changes
nothing. The heartbeat never reads the session first: the DynamoDB condition carries
``allowed_from(new_state)``, the set of stored states this table lets reach it.

- ``idle``: created by POST /v1/videos/{id}/playback, nothing played yet;
- ``playing``, ``paused``, ``buffering``: the player's own states (a repeat of the current state is
  the ordinary periodic heartbeat);
- ``ended`` (watched to the end, or the viewer left) and ``error`` (playback failed) are terminal:
  the session is over and a later heartbeat is 410.
"""

from __future__ import annotations

from functions.sessions.models import SessionState

__all__ = ["TERMINAL", "TRANSITIONS", "SessionState", "allowed", "allowed_from"]

S = SessionState
TERMINAL = frozenset({S.ENDED, S.ERROR})

# from -> the states it may move to. A player may report the state it is already in (a periodic
# heartbeat) except idle: once anything happened the session is not idle again.
TRANSITIONS: dict[SessionState, frozenset[SessionState]] = {
    S.IDLE: frozenset({S.IDLE, S.PLAYING, S.PAUSED, S.BUFFERING, S.ENDED, S.ERROR}),
    S.PLAYING: frozenset({S.PLAYING, S.PAUSED, S.BUFFERING, S.ENDED, S.ERROR}),
    S.PAUSED: frozenset({S.PAUSED, S.PLAYING, S.BUFFERING, S.ENDED, S.ERROR}),
    S.BUFFERING: frozenset({S.BUFFERING, S.PLAYING, S.PAUSED, S.ENDED, S.ERROR}),
    S.ENDED: frozenset(),
    S.ERROR: frozenset(),
}


def allowed(current: SessionState, new: SessionState) -> bool:
    return new in TRANSITIONS[current]


def allowed_from(new: SessionState) -> frozenset[SessionState]:
    """The stored states from which ``new`` may be reached (the heartbeat's condition)."""
    return frozenset(state for state, targets in TRANSITIONS.items() if new in targets)
