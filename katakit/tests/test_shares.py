"""Shares of a kata's tests (`--katas-share`): disjoint, complete, balanced, the speed tests apart."""

import json

import pytest

from katakit.shares import pick, read_durations, valid_share

from .toyrepo import make_repo

NODEIDS = [f"tests/test_k.py::test_{i}" for i in range(9)]
SPEED = ["tests/test_k.py::test_8"]


@pytest.mark.parametrize("n", [1, 2, 3])
def test_the_shares_hold_every_test_once_in_run_order(n):
    durations = {nodeid: 0.01 * (i % 4) for i, nodeid in enumerate(NODEIDS)}
    shares = [pick(f"{k}/{n}", NODEIDS, SPEED, durations) for k in range(1, n + 1)]
    shares.append(pick("speed", NODEIDS, SPEED, {}))
    together = [nodeid for share in shares for nodeid in share]
    assert sorted(together) == sorted(NODEIDS)
    assert all(share == [nodeid for nodeid in NODEIDS if nodeid in share] for share in shares)
    assert shares[-1] == SPEED


def test_a_long_test_gets_a_share_to_itself():
    durations = dict.fromkeys(NODEIDS, 0.1) | {NODEIDS[3]: 2.0}
    first, second = (pick(f"{k}/2", NODEIDS, SPEED, durations) for k in (1, 2))
    assert first == [NODEIDS[3]]
    assert NODEIDS[3] not in second and len(second) == 7


def test_a_group_stays_in_one_share_and_counts_as_one_long_test():
    durations = dict.fromkeys(NODEIDS, 0.1)
    groups = {NODEIDS[i]: "int8 conversion" for i in (0, 2, 4, 6)}
    first, second = (pick(f"{k}/2", NODEIDS, SPEED, durations, groups) for k in (1, 2))
    together = [nodeid for nodeid in NODEIDS if nodeid in groups]
    assert set(together) <= set(first) or set(together) <= set(second)
    assert sorted(first + second) == sorted(set(NODEIDS) - set(SPEED))
    assert abs(len(first) - len(second)) <= 2


def test_tests_with_no_recorded_duration_are_dealt_out_evenly():
    first, second = (pick(f"{k}/2", NODEIDS, [], {}) for k in (1, 2))
    assert abs(len(first) - len(second)) <= 1


@pytest.mark.parametrize("share, valid", [("1/2", True), ("2/2", True), ("speed", True), ("0/2", False),
                                          ("3/2", False), ("1/0", False), ("half", False), ("", False)])
def test_valid_shares(share, valid):
    assert valid_share(share) is valid


@pytest.mark.parametrize("content", [None, "not json", "[1, 2]", '{"durations": [1]}', '{"durations": {"a": "x"}}'])
def test_unreadable_durations_count_as_none(tmp_path, content):
    path = tmp_path / "results.json"
    if content is not None:
        path.write_text(content)
    assert read_durations(str(path)) == {}


def test_the_shares_of_a_run_together_give_the_whole_run(pytester):
    make_repo(pytester)
    (pytester.path / "katas" / "double.py").write_text("def double(x):\n    return x + 2\n")  # failing
    pytester.runpytest("tests/test_double.py", "--katas-json", "whole.json")
    whole = json.loads((pytester.path / "whole.json").read_text())
    parts = []
    for k in (1, 2):
        result = pytester.runpytest("tests/test_double.py", "--katas-share", f"{k}/2", "--katas-durations",
                                    "whole.json", "--katas-json", f"part{k}.json")
        assert "Inference Katas" not in result.stdout.str()  # a share records and shows no progress
        parts.append(json.loads((pytester.path / f"part{k}.json").read_text()))
    assert all(part["collected"] == whole["collected"] for part in parts)
    assert parts[0]["tests"].keys().isdisjoint(parts[1]["tests"])
    assert parts[0]["tests"] | parts[1]["tests"] == whole["tests"]
    assert sum(part["tally"]["double"]["failed"] for part in parts) == whole["tally"]["double"]["failed"]


def test_a_bad_share_is_a_usage_error(pytester):
    make_repo(pytester)
    result = pytester.runpytest("tests/test_double.py", "--katas-share", "3/2")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--katas-share takes K/N (1 <= K <= N) or 'speed', not '3/2'*"])


GROUPED_TESTS = """
import pytest

@pytest.mark.share_group("slow fixture")
@pytest.mark.parametrize("n", range(4))
def test_grouped(kata, n):
    assert kata.double(n) == 2 * n

@pytest.mark.parametrize("n", range(4))
def test_free(kata, n):
    assert kata.double(n) == 2 * n
"""


def test_a_share_group_runs_in_one_share(pytester):
    make_repo(pytester, double={"tests": GROUPED_TESTS})
    parts = []
    for k in (1, 2):
        pytester.runpytest("tests/test_double.py", "--katas-share", f"{k}/2", "--katas-json", f"part{k}.json")
        parts.append(set(json.loads((pytester.path / f"part{k}.json").read_text())["tests"]))
    grouped = {f"tests/test_double.py::test_grouped[{n}]" for n in range(4)}
    assert grouped <= parts[0] or grouped <= parts[1]
    assert len(parts[0] | parts[1]) == 8 and not parts[0] & parts[1]
