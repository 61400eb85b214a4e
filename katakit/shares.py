"""Shares of one kata's tests, so that watch mode can run them side by side on several cores.

Every share is picked from the same collected list by the same rule, so the shares of a check
never overlap and together hold every test. The tests marked ``speed`` form a share of their
own: they time code, and watch mode runs them after the others, alone, so that nothing else on
the machine competes with them.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

SPEED = "speed"
UNKNOWN_TEST_S = 0.05  # a test with no recorded duration (new since the last run) counts as this


def valid_share(share: str) -> bool:
    match = re.fullmatch(r"(\d+)/(\d+)", share)
    return share == SPEED or bool(match and 1 <= int(match[1]) <= int(match[2]))


def read_durations(path: str | None) -> dict[str, float]:
    """Seconds per test from an earlier ``--katas-json`` file; empty when there is none to read."""
    if not path:
        return {}
    try:
        durations = json.loads(Path(path).read_text(encoding="utf-8")).get("durations", {})
    except (OSError, ValueError, AttributeError):
        return {}
    if not isinstance(durations, dict):
        return {}
    return {nodeid: float(s) for nodeid, s in durations.items() if isinstance(s, int | float)}


def pick(share: str, collected: list[str], speed_tests: list[str], durations: dict[str, float],
         groups: dict[str, str] | None = None) -> list[str]:
    """The nodeids of `collected` that belong to `share` ("K/N" or "speed"), in run order.

    Tests of one group (``@pytest.mark.share_group(name)``: they reuse something slow that a
    module fixture makes once per process) stay together. The longest tests or groups are
    dealt out first, each to the share with the least work so far, which keeps the shares
    close to equal when one test takes much longer than the rest.
    """
    speed = set(speed_tests)
    if share == SPEED:
        return [nodeid for nodeid in collected if nodeid in speed]
    k, n = (int(part) for part in share.split("/"))
    units: dict[str, list[str]] = {}  # a group's name, or a test's own nodeid -> its tests
    for nodeid in collected:
        if nodeid not in speed:
            units.setdefault((groups or {}).get(nodeid, nodeid), []).append(nodeid)
    cost = {unit: sum(durations.get(nodeid, UNKNOWN_TEST_S) for nodeid in tests) for unit, tests in units.items()}
    position = {unit: i for i, unit in enumerate(units)}
    load = [0.0] * n
    chosen: list[str] = []
    for unit in sorted(units, key=lambda u: (-cost[u], position[u])):
        lightest = min(range(n), key=lambda s: (load[s], s))
        load[lightest] += cost[unit]
        if lightest == k - 1:
            chosen += units[unit]
    mine = set(chosen)
    return [nodeid for nodeid in collected if nodeid in mine]
