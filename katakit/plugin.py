"""The pytest plugin (entry point ``pytest11: katakit``).

It is active only where the rootdir has a ``katas.toml``, so installing the package never
changes how pytest behaves in other projects. One hook per job:

- pytest_configure: pick the mode (learner, ``--solutions``, ``--pitfalls``, ``--stubs``).
- pytest_sessionstart: import the frameworks the selected katas need, torch before TensorFlow.
- pytest_generate_tests: in ``--pitfalls`` mode, run each kata's tests once per pitfall or alternative.
- pytest_collection_modifyitems: time limits from the catalog, the forbidden-calls check, and
  the share of the tests that `--katas-share` asks for.
- pytest_runtest_makereport / pytest_report_teststatus: the "todo" status, short load errors,
  and "caught" pitfalls.
- pytest_terminal_summary / pytest_sessionfinish: progress and next kata, hints, pitfall and
  stub verdicts.
"""

from __future__ import annotations

import builtins
import functools
import inspect
import json
import os
import random
import signal
import sys
import threading
from collections import Counter, defaultdict
from pathlib import Path

import pytest

from . import catalog as catalog_module
from . import shares
from .constraints import find_forbidden, unfinished_functions
from .loading import KataLoadError, load_module, prepare_frameworks
from .state import State

RUNNER = pytest.StashKey["KataRunner"]()
KATA_ID = pytest.StashKey[str]()
VARIANT = pytest.StashKey[object]()
SEED = 20240607
VALID_CATALOG_KEY = "katakit/valid-catalog-digest"
MODES = ("solutions", "pitfalls", "stubs")
QUIZ_EXPLANATION = "katakit_quiz_explanation"  # = katakit.quiz.EXPLANATION_PROPERTY (not imported: keeps startup lean)


def pytest_addoption(parser):
    group = parser.getgroup("katas", "Inference Katas")
    group.addoption("--solutions", action="store_true",
                    help="run the kata tests against the reference solutions in solutions/ (all must pass)")
    group.addoption("--pitfalls", action="store_true",
                    help="run every known wrong answer in pitfalls/ against its kata's tests, and every known "
                         "correct alternative there too; passes only when each wrong answer is rejected and "
                         "each alternative accepted, and names any that are not")
    group.addoption("--stubs", action="store_true",
                    help="maintainer check: every kata test must report the untouched stubs in katas/ as todo")
    group.addoption("--katas-json", metavar="PATH", default=None,
                    help="also write each test's outcome (todo, passed, failed, ...) and each kata's status "
                         "to PATH as JSON, for tools such as the katas command")
    group.addoption("--katas-share", metavar="K/N|speed", default=None,
                    help="run one share of the selected tests: the K-th of N shares of those not marked speed, "
                         "balanced by the durations in --katas-durations, or 'speed' for only those marked speed. "
                         "Watch mode runs the shares side by side and merges their --katas-json results; a share "
                         "records no progress of its own")
    group.addoption("--katas-durations", metavar="PATH", default=None,
                    help="an earlier --katas-json file: its test durations balance the shares of --katas-share")
    group.addoption("--hint", action="store_true",
                    help="after the run, reveal the next hint level for each kata that is not done "
                         "(the level reached is remembered in .katas-state.json)")


def pytest_configure(config):
    # TensorFlow reads this once, at import; set it before any test module can import it.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    config.addinivalue_line("markers", "gpu: needs a GPU; skipped, with the reason, where none is visible")
    config.addinivalue_line("markers", "speed: measures a speed ratio; `katas bench ID` runs these, with figures")
    config.addinivalue_line("markers", "share_group(name): tests that reuse something slow a module fixture makes "
                                       "once per process; watch mode keeps them in the same share (--katas-share)")
    chosen = [mode for mode in MODES if config.getoption(mode)]
    if len(chosen) > 1:
        raise pytest.UsageError("choose one of --solutions, --pitfalls, --stubs")
    if chosen and config.getoption("hint"):
        raise pytest.UsageError("--hint goes with a learner run (no --solutions, --pitfalls or --stubs)")
    share = config.getoption("katas_share")
    if share is not None and not shares.valid_share(share):
        raise pytest.UsageError(f"--katas-share takes K/N (1 <= K <= N) or 'speed', not {share!r}")
    root = config.rootpath
    if not (root / catalog_module.CATALOG_FILE).is_file():
        if chosen or config.getoption("hint"):
            raise pytest.UsageError(f"no {catalog_module.CATALOG_FILE} in {root}: run pytest from the kata repository")
        return
    cache = getattr(config, "cache", None)  # absent with -p no:cacheprovider
    known_valid = cache.get(VALID_CATALOG_KEY, None) if cache is not None else None
    try:
        catalog = catalog_module.load(root, known_valid=known_valid)
    except catalog_module.CatalogError as exc:
        raise pytest.UsageError(str(exc)) from None
    if cache is not None and catalog.digest != known_valid:
        cache.set(VALID_CATALOG_KEY, catalog.digest)
    runner = KataRunner(config, catalog, chosen[0] if chosen else "learner")
    config.stash[RUNNER] = runner
    config.pluginmanager.register(runner, "katakit-runner")
    _load_hypothesis_profile()


def _load_hypothesis_profile():
    from hypothesis import Phase, settings

    # derandomize: the same examples on every run and every machine, so a failure reproduces.
    # No explain phase: it lists lines of katakit's own code, which tells a learner nothing.
    settings.register_profile("katas", derandomize=True, deadline=None, database=None, print_blob=False,
                              phases=[phase for phase in Phase if phase != Phase.explain])
    settings.load_profile("katas")


def _runner(request) -> KataRunner:
    runner = request.config.stash.get(RUNNER, None)
    if runner is None:
        pytest.fail("the kata fixtures need a katas.toml at the rootdir", pytrace=False)
    return runner


def _kata_id(request) -> str:
    kata_id = request.node.stash.get(KATA_ID, None) if hasattr(request.node, "stash") else None
    if kata_id is None:
        kata = _runner(request).catalog.kata_for_test_file(Path(request.node.path))
        if kata is None:
            pytest.fail(f"{request.node.path.name} is not tests/test_<id>.py for a kata in katas.toml", pytrace=False)
        kata_id = kata.id
    return kata_id


@pytest.fixture(scope="module")
def kata(request):
    """The module under test: the learner's katas/<id>.py, a solution, or a pitfall variant."""
    return _runner(request).module_under_test(_kata_id(request), getattr(request, "param", None))


@pytest.fixture(scope="module")
def reference(request):
    """The reference solution; skipped, with the reason, in a copy that has none (a candidate's)."""
    runner = _runner(request)
    kata_id = _kata_id(request)
    path = runner.catalog.get(kata_id).solution_path(runner.root)
    if not path.is_file():
        pytest.skip(f"differential check skipped: this copy has no reference solution "
                    f"(solutions/{kata_id}.py); the hidden checks run when the work is graded")
    return runner.cached(("reference", kata_id), lambda: load_module(path, "reference"))


@pytest.fixture(scope="module")
def differential(request, kata, reference):
    """Call as ``differential("fn", *args, equal=..., **kwargs)``: compares yours with the reference."""
    from .testing import Differential

    runner = _runner(request)
    kata_id = _kata_id(request)
    return Differential(kata, reference, lambda: runner.pitfall_variants(kata_id))


@pytest.fixture(autouse=True)
def _seeded_randomness(request):
    """Every kata test starts from the same random state, in whichever frameworks are loaded."""
    if request.config.stash.get(RUNNER, None) is None:
        return
    random.seed(SEED)
    if "numpy" in sys.modules:
        sys.modules["numpy"].random.seed(SEED % 2**32)
    if "torch" in sys.modules:
        sys.modules["torch"].manual_seed(SEED)
    if "tensorflow" in sys.modules:
        sys.modules["tensorflow"].random.set_seed(SEED)


def status_from_tally(tally) -> str | None:
    """A kata's status from how many of its tests ended how (outcome -> number)."""
    if not tally:
        return None
    for outcome, status in (("broken", "error"), ("failed", "failing"), ("todo", "todo"), ("passed", "done")):
        if tally.get(outcome):
            return status
    return "skipped"


class ForbiddenCall(AssertionError):
    pass


class UnfinishedStub(Exception):
    """The constraint check has nothing to judge yet: the learner's file still has stub functions."""


class KataTimeout(BaseException):
    """A kata test ran past its time limit.

    A BaseException on purpose: Hypothesis catches ordinary failures (pytest-timeout's included)
    and replays the example to shrink it, which would run an endless loop again with no timer left.
    """


class ForbiddenCallsItem(pytest.Item):
    """One check per kata (per pitfall in --pitfalls mode): the code under test uses no forbidden name."""

    def __init__(self, *, kata_id, variant, **kwargs):
        super().__init__(**kwargs)
        self.kata_id, self.variant = kata_id, variant
        self.stash[KATA_ID] = kata_id
        self.stash[VARIANT] = variant

    def runtest(self):
        runner = self.config.stash[RUNNER]
        module = runner.module_under_test(self.kata_id, self.variant)
        chosen = getattr(module, "__katakit_pitfall__", None)
        if chosen is not None:
            path, lines = Path(chosen.function.__code__.co_filename), chosen.lines
        else:
            path, lines = Path(module.__file__), None
        rules = runner.catalog.get(self.kata_id).forbidden
        violations = find_forbidden(path.read_text(encoding="utf-8"), rules, lines=lines)
        if violations:
            shown = "\n".join(f"  {_relative(path, runner.root)}:{v}" for v in violations)
            raise ForbiddenCall(f"forbidden calls in {_relative(path, runner.root)}:\n{shown}")
        if runner.mode == "learner":
            # An untouched stub trivially uses no forbidden call; that is not a pass to count.
            unfinished = unfinished_functions(path.read_text(encoding="utf-8"))
            if unfinished:
                raise UnfinishedStub(f"{_relative(path, runner.root)}: {', '.join(unfinished)} still raise"
                                     f"{'s' if len(unfinished) == 1 else ''} NotImplementedError")

    def repr_failure(self, excinfo, style=None):
        if isinstance(excinfo.value, ForbiddenCall | KataLoadError):
            return str(excinfo.value)
        return super().repr_failure(excinfo)

    def reportinfo(self):
        return self.path, None, f"{self.kata_id}: no forbidden calls"


def _short_message(report) -> str:
    """What went wrong, without the traceback: the exception's own text (for a differential check,
    input / expected / yours), or the one-line todo, timeout or load-error text."""
    if not report.failed:
        return ""
    crash = getattr(report.longrepr, "reprcrash", None)
    text = crash.message if crash is not None else str(report.longrepr)
    for prefix in ("katakit.testing.Mismatch: ", "AssertionError: "):
        text = text.removeprefix(prefix)
    return text[:4000]


def _relative(path: Path, root: Path) -> str:
    try:
        return str(Path(path).resolve().relative_to(root.resolve()))
    except ValueError:
        return str(path)


def _location_in(excinfo, directory: Path) -> str | None:
    """The innermost traceback line that is in `directory` (the learner's file), as file:line (function)."""
    found = None
    tb = excinfo.value.__traceback__
    while tb is not None:
        filename = Path(tb.tb_frame.f_code.co_filename)
        if directory.resolve() in filename.resolve().parents:
            found = f"{directory.name}/{filename.name}:{tb.tb_lineno} ({tb.tb_frame.f_code.co_name})"
        tb = tb.tb_next
    return found


class KataTodo(BaseException):
    """A stub's NotImplementedError, passed on as a BaseException.

    Hypothesis treats an ordinary exception as a bug to shrink, and spends a second replaying a
    stub that can only ever say "not done"; it lets a BaseException through at once. Also, a
    test's `pytest.raises(Exception)` cannot mistake an unwritten function for a raised error.
    """


def _stop_at_todo(module):
    """Wrap the plain functions of a module under test so that NotImplementedError becomes KataTodo."""

    def guard(function):
        @functools.wraps(function)
        def guarded(*args, **kwargs):
            try:
                return function(*args, **kwargs)
            except NotImplementedError as exc:
                raise KataTodo(f"{function.__name__} still raises NotImplementedError") from exc

        return guarded

    for name, value in list(vars(module).items()):
        if inspect.isfunction(value) and (value.__module__ == module.__name__
                                          or hasattr(value, "__katakit_pitfall__")):
            setattr(module, name, guard(value))
    return module


def _todo_location(excinfo, stub_dir: Path) -> str | None:
    """Where a stub raised NotImplementedError, or None when the failure is anything else."""
    exc = excinfo.value
    group = getattr(builtins, "BaseExceptionGroup", None)  # Python 3.11+: Hypothesis may raise a group
    leaves = list(exc.exceptions) if group is not None and isinstance(exc, group) else [exc]
    leaves = [leaf.__cause__ if isinstance(leaf, KataTodo) else leaf for leaf in leaves]
    if not leaves or not all(isinstance(leaf, NotImplementedError) for leaf in leaves):
        return None
    tb = leaves[0].__traceback__
    last = None
    while tb is not None:
        last = tb
        tb = tb.tb_next
    if last is None:
        return None
    filename = Path(last.tb_frame.f_code.co_filename)
    if stub_dir.resolve() not in filename.resolve().parents:
        return None
    return f"{filename.parent.name}/{filename.name}:{last.tb_lineno} ({last.tb_frame.f_code.co_name})"


class KataRunner:
    def __init__(self, config, catalog, mode: str):
        self.config, self.catalog, self.mode = config, catalog, mode
        self.root = catalog.root
        self._cache: dict = {}
        self.tally: dict[str, Counter] = defaultdict(Counter)
        self.pitfall_catches: dict[tuple[str, str], list[str]] = defaultdict(list)
        self.rejected_alternatives: dict[tuple[str, str], list[str]] = defaultdict(list)
        self.pitfalls_seen: dict[str, list] = {}
        self.stub_problems: list[str] = []
        self.results: dict[str, dict] = {}  # nodeid -> outcome, for --katas-json
        self.collected: list[str] = []  # every test's nodeid in run order, before --katas-share picks some
        self.speed_tests: list[str] = []  # those marked speed
        self.durations: dict[str, float] = {}  # nodeid -> seconds of setup, call and teardown
        self.share = config.getoption("katas_share")
        self.partial: set[str] = set()  # katas whose tests were not all selected (-k, -m, test ids)
        self.explanations: list[tuple[str, str, str]] = []  # (kata id, quiz item, explanation) unlocked this run

    # ---- modules under test -------------------------------------------------------------
    def cached(self, key, make):
        if key not in self._cache:
            try:
                self._cache[key] = make()
            except KataLoadError as exc:
                self._cache[key] = exc
        value = self._cache[key]
        if isinstance(value, KataLoadError):
            raise value
        return value

    def module_under_test(self, kata_id: str, variant):
        kata = self.catalog.get(kata_id)
        # Every mode wraps the module under test the same way, so that --solutions and --pitfalls
        # prove what a learner's run would see, wrapper included.
        if self.mode == "solutions":
            return self.cached(("solutions", kata_id),
                               lambda: _stop_at_todo(load_module(kata.solution_path(self.root), "solutions")))
        if self.mode == "pitfalls":
            return next(v for v in self.pitfall_variants(kata_id) if v.__katakit_pitfall__.name == variant)
        return self.cached(("katas", kata_id), lambda: _stop_at_todo(load_module(kata.stub_path(self.root), "katas")))

    def pitfalls(self, kata_id: str) -> list:
        from .pitfalls import collect

        path = self.catalog.get(kata_id).pitfalls_path(self.root)
        if not path.is_file():
            return []
        return collect(self.cached(("pitfalls", kata_id), lambda: load_module(path, "pitfalls")))

    def pitfall_variants(self, kata_id: str) -> list:
        """One module per pitfall: the reference solution with that pitfall's function swapped in."""
        from .pitfalls import apply

        def build():
            solution_path = self.catalog.get(kata_id).solution_path(self.root)
            if not solution_path.is_file():
                return []
            solution = load_module(solution_path, "solutions")
            return [_stop_at_todo(apply(solution, chosen)) for chosen in self.pitfalls(kata_id)]

        return self.cached(("pitfall_variants", kata_id), build)

    # ---- collection ---------------------------------------------------------------------
    def selected_katas(self) -> list:
        """The katas whose test files the command line selects (before collection)."""
        selected = set()
        for arg in self.config.args:
            path = Path(arg.split("::")[0])
            path = path if path.is_absolute() else self.config.invocation_params.dir / path
            for kata in self.catalog:
                test_file = kata.test_path(self.root)
                if path.resolve() == test_file.resolve() or path.resolve() in test_file.resolve().parents:
                    selected.add(kata.id)
        return [k for k in self.catalog if k.id in selected]

    def pytest_deselected(self, items):
        for item in items:
            kata = self.catalog.kata_for_test_file(Path(item.path))
            if kata is not None and self.mode == "learner":
                self.partial.add(kata.id)

    def pytest_sessionstart(self, session):
        for arg in self.config.args:
            if "::" in arg:
                kata = self.catalog.kata_for_test_file(Path(arg.split("::")[0]))
                if kata is not None:
                    self.partial.add(kata.id)
        prepare_frameworks(self.selected_katas())

    def pytest_report_header(self, config):
        where = {"learner": "your code in katas/", "solutions": "the reference solutions in solutions/",
                 "pitfalls": "the known answers in pitfalls/ (wrong ones must be rejected, alternatives accepted)",
                 "stubs": "the untouched stubs in katas/ (each must be todo)"}[self.mode]
        return f"katas: {len(self.catalog)} in katas.toml; testing {where}"

    def pytest_generate_tests(self, metafunc):
        if self.mode != "pitfalls" or "kata" not in metafunc.fixturenames:
            return
        kata = self.catalog.kata_for_test_file(Path(metafunc.definition.path))
        if kata is None:
            return
        names = [p.name for p in self.pitfalls(kata.id)]
        self.pitfalls_seen[kata.id] = self.pitfalls(kata.id)
        metafunc.parametrize("kata", names, indirect=True, ids=names, scope="module")

    def pytest_collection_modifyitems(self, session, config, items):
        kept, deselected = [], []
        for item in items:
            kata = self.catalog.kata_for_test_file(Path(item.path))
            if kata is None:
                kept.append(item)
                continue
            uses_kata = "kata" in getattr(item, "fixturenames", ())
            if self.mode in ("pitfalls", "stubs") and not uses_kata:
                deselected.append(item)
                continue
            item.stash[KATA_ID] = kata.id
            callspec = getattr(item, "callspec", None)
            item.stash[VARIANT] = callspec.params.get("kata") if callspec else None
            if item.get_closest_marker("timeout") is None:
                item.add_marker(pytest.mark.timeout(kata.time_limit))
            kept.append(item)
        if deselected:
            config.hook.pytest_deselected(items=deselected)
        items[:] = self._with_forbidden_checks(kept)
        self.collected = [item.nodeid for item in items]
        self.speed_tests = [item.nodeid for item in items if item.get_closest_marker("speed")]
        if self.share is not None:
            groups = {item.nodeid: str(marker.args[0]) for item in items
                      if (marker := item.get_closest_marker("share_group")) is not None and marker.args}
            chosen = set(shares.pick(self.share, self.collected, self.speed_tests,
                                     shares.read_durations(config.getoption("katas_durations")), groups))
            config.hook.pytest_deselected(items=[item for item in items if item.nodeid not in chosen])
            items[:] = [item for item in items if item.nodeid in chosen]

    def _with_forbidden_checks(self, items):
        if self.mode == "stubs":
            return items
        result, seen = [], set()
        for item in items:
            kata_id = item.stash.get(KATA_ID, None)
            if kata_id is not None and self.catalog.get(kata_id).forbidden:
                key = (kata_id, item.stash[VARIANT])
                if key not in seen:
                    seen.add(key)
                    name = "forbidden_calls" + (f"[{key[1]}]" if key[1] else "")
                    check = ForbiddenCallsItem.from_parent(item.getparent(pytest.Module), name=name,
                                                           kata_id=kata_id, variant=key[1])
                    check.add_marker(pytest.mark.timeout(self.catalog.get(kata_id).time_limit))
                    result.append(check)
            result.append(item)
        return result

    # ---- running and reporting ----------------------------------------------------------
    @pytest.hookimpl(optionalhook=True)
    def pytest_timeout_set_timer(self, item, settings):
        """pytest-timeout's limits and markers, with a timeout that Hypothesis cannot swallow."""
        if (item.stash.get(KATA_ID, None) is None or settings.method != "signal"
                or threading.current_thread() is not threading.main_thread()):
            return None  # pytest-timeout's own timer

        def handler(signum, frame):
            raise KataTimeout(f"ran longer than its time limit of {settings.timeout:g} s (an endless loop?)")

        def cancel():
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, signal.SIG_DFL)

        item.cancel_timeout = cancel
        signal.signal(signal.SIGALRM, handler)
        signal.setitimer(signal.ITIMER_REAL, settings.timeout)
        return True

    def pytest_runtest_setup(self, item):
        if self.mode != "pitfalls":
            return
        key = (item.stash.get(KATA_ID, None), item.stash.get(VARIANT, None))
        if key[0] is not None and self.pitfall_catches.get(key):
            pytest.skip(f"pitfall {key[1]} already rejected by {self.pitfall_catches[key][0]}")

    def known_answer(self, kata_id: str, name: str):
        """The pitfall or alternative called `name` in pitfalls/<kata_id>.py."""
        return next(chosen for chosen in self.pitfalls(kata_id) if chosen.name == name)

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(self, item, call):
        report = yield
        kata_id = item.stash.get(KATA_ID, None)
        if kata_id is None:
            return report
        report.kata_id, report.kata_variant = kata_id, item.stash.get(VARIANT, None)
        report.kata_is_constraint = isinstance(item, ForbiddenCallsItem)
        if report.failed and call.excinfo is not None:
            stub_dir = self.root / "katas"
            todo = _todo_location(call.excinfo, stub_dir) if self.mode in ("learner", "stubs") else None
            if call.excinfo.errisinstance(UnfinishedStub):
                report.kata_outcome = "todo"
                report.longrepr = f"todo: {call.excinfo.value}"
            elif todo:
                report.kata_outcome = "todo"
                report.longrepr = f"todo: {todo} still raises NotImplementedError"
                if self.mode == "stubs" and call.when == "call":
                    report.outcome = "passed"  # a stub that is todo is what this mode checks for
                elif self.mode == "stubs":
                    # Todo while a fixture was being set up: the test body must not run without it.
                    report.outcome = "skipped"
                    report.longrepr = (str(item.path), item.location[1], report.longrepr)
            elif call.excinfo.errisinstance(KataTimeout):
                where = _location_in(call.excinfo, self.root / "katas")
                report.longrepr = f"timeout: {call.excinfo.value}" + (f", last seen at {where}" if where else "")
            elif call.excinfo.errisinstance(KataLoadError):
                report.kata_outcome = "broken"
                error = call.excinfo.value
                where = _relative(error.path, self.root) + (f", line {error.line}" if error.line else "")
                report.longrepr = f"cannot load the kata: {where}: {error.message}"
        if self.mode == "pitfalls" and report.kata_variant is not None \
                and self.known_answer(kata_id, report.kata_variant).correct:
            if report.failed:  # a correct answer written differently must pass every test
                self.rejected_alternatives[(kata_id, report.kata_variant)].append(item.name.split("[")[0])
                report.longrepr = (f"the correct alternative {report.kata_variant} was rejected; "
                                   f"the test is too strict:\n{report.longrepr}")
        elif self.mode == "pitfalls" and call.when == "call" and not report.skipped:
            report.kata_outcome = "caught" if report.failed else "missed"
            if report.failed:
                self.pitfall_catches[(kata_id, report.kata_variant)].append(item.name.split("[")[0])
                report.outcome = "passed"  # rejecting a wrong answer is this mode's success
                report.longrepr = None
        return report

    def pytest_report_teststatus(self, report, config):
        outcome = getattr(report, "kata_outcome", None)
        if outcome == "todo":
            return "todo", "T", ("TODO", {"yellow": True})
        if outcome == "caught" and report.when == "call":
            return "caught", "c", ("CAUGHT", {"green": True})
        if outcome == "missed" and report.when == "call":
            return "let through", "-", "LET THROUGH"
        return None

    def pytest_runtest_logreport(self, report):
        kata_id = getattr(report, "kata_id", None)
        if kata_id is None:
            return
        self.durations[report.nodeid] = self.durations.get(report.nodeid, 0.0) + report.duration
        outcome = getattr(report, "kata_outcome", None)
        counted = report.when == "call" or report.failed or (report.when == "setup" and report.skipped)
        key = outcome or ("passed" if report.passed else "skipped" if report.skipped else "failed")
        if counted and not (report.passed and getattr(report, "kata_is_constraint", False)):
            # A passed constraint check says nothing about progress (a stub passes it too).
            self.tally[kata_id][key] += 1
        if counted and report.nodeid not in self.results:
            self.results[report.nodeid] = {"kata": kata_id, "outcome": key, "message": _short_message(report)}
        if self.mode == "learner" and report.when == "call" and report.passed:
            self.explanations += [(kata_id, *value) for name, value in report.user_properties
                                  if name == QUIZ_EXPLANATION]
        relevant = report.when == "call" or report.failed
        if self.mode == "stubs" and relevant and outcome != "todo" and not report.skipped:
            verdict = "passes on the untouched stub (a check that cannot fail?)" if report.passed \
                else "fails on the stub with something other than todo"
            self.stub_problems.append(f"{report.nodeid}: {verdict}")

    def kata_status(self, kata_id: str) -> str | None:
        return status_from_tally(self.tally.get(kata_id))

    def pytest_sessionfinish(self, session, exitstatus):
        if self.mode == "pitfalls" and self.survivors() and exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED
        if self.mode == "stubs" and self.stub_problems and exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED
        path = self.config.getoption("katas_json")
        if path:
            katas = {kata_id: self.kata_status(kata_id) for kata_id in self.tally}
            Path(path).write_text(json.dumps({
                "mode": self.mode, "exitstatus": int(session.exitstatus), "katas": katas, "tests": self.results,
                "tally": self.tally, "collected": self.collected, "speed": self.speed_tests,
                "durations": {nodeid: round(s, 4) for nodeid, s in self.durations.items()}}, indent=1))

    def survivors(self) -> list:
        return [(kata_id, chosen) for kata_id, found in self.pitfalls_seen.items() for chosen in found
                if not chosen.correct and not self.pitfall_catches.get((kata_id, chosen.name))]

    def pytest_terminal_summary(self, terminalreporter, exitstatus, config):
        write = terminalreporter.write_line
        if self.mode == "learner":
            # Nothing of a kata ran (plugin tests, say): no progress to show. A share of a check
            # is not the whole check: whoever merges the shares records the progress.
            if self.tally and self.share is None:
                self._learner_summary(terminalreporter)
        elif self.mode == "pitfalls":
            terminalreporter.section("known wrong answers (pitfalls) and correct alternatives")
            for kata_id, found in self.pitfalls_seen.items():
                wrong = [p for p in found if not p.correct]
                right = [p for p in found if p.correct]
                caught = [p for p in wrong if self.pitfall_catches.get((kata_id, p.name))]
                accepted = [p for p in right if not self.rejected_alternatives.get((kata_id, p.name))]
                write(f"{kata_id}: {len(caught)} of {len(wrong)} pitfalls rejected"
                      + (f", {len(accepted)} of {len(right)} alternatives accepted" if right else ""))
                if not wrong:
                    write(f"  no pitfalls: add at least four to pitfalls/{kata_id}.py", red=True)
                for chosen in wrong:
                    by = self.pitfall_catches.get((kata_id, chosen.name))
                    if by:
                        write(f"  caught    {chosen.name}  (by {by[0]})")
                    else:
                        write(f"  SURVIVED  {chosen.name}: {chosen.diagnosis}", red=True, bold=True)
                for chosen in right:
                    by = self.rejected_alternatives.get((kata_id, chosen.name))
                    if by:
                        write(f"  REJECTED  {chosen.name} (a correct answer) by {', '.join(by)}", red=True, bold=True)
                    else:
                        write(f"  accepted  {chosen.name}")
            if self.survivors():
                write(f"{len(self.survivors())} known wrong answer(s) pass the tests: strengthen the tests "
                      f"until each one fails.", red=True, bold=True)
            if self.rejected_alternatives:
                write(f"{len(self.rejected_alternatives)} correct alternative(s) fail a test: a test demands more "
                      f"than the task states.", red=True, bold=True)
        elif self.mode == "stubs":
            terminalreporter.section("stubs")
            for problem in self.stub_problems:
                write(problem, red=True)
            done = [k for k in self.tally if self.kata_status(k) != "todo"]
            write(f"{len(self.tally) - len(done)} of {len(self.tally)} stubs reported as todo"
                  + (f"; not todo: {', '.join(done)}" if done else ""))
        elif self.mode == "solutions":
            terminalreporter.section("reference solutions")
            for kata_id in self.tally:
                write(f"{kata_id}: {self.kata_status(kata_id)}")

    def _learner_summary(self, reporter):
        state = State.load(self.root)
        if state.note:
            reporter.write_line(state.note, yellow=True)
        statuses = {}
        for kata in self.catalog:
            status = self.kata_status(kata.id)
            if status == "done" and kata.id in self.partial:
                status = None  # some of its tests did not run: this run cannot say it is done
            if status is not None and status != "skipped":
                state.record_check(kata.id, status)
            statuses[kata.id] = status or state.status(kata.id)
        done = sum(1 for s in statuses.values() if s == "done")
        total = len(self.catalog)
        reporter.section("Inference Katas")
        width = 24
        bar = "#" * round(width * done / total) + "." * (width - round(width * done / total))
        reporter.write_line(f"progress: {done}/{total} katas done  [{bar}]")
        for number, kata in enumerate(self.catalog, 1):
            status = statuses[kata.id]
            shown = status if self.kata_status(kata.id) else (f"{status} (last run)" if status else "not run yet")
            if kata.id in self.partial and self.kata_status(kata.id) == "done":
                shown = f"{status or 'not run yet'}: the selected tests pass; run them all to finish it"
            tally = self.tally.get(kata.id)
            if status in ("todo", "failing") and tally and tally["passed"]:
                checks = sum(tally[k] for k in ("passed", "failed", "todo", "broken"))
                shown += f" ({tally['passed']}/{checks} checks pass)"
            reporter.write_line(f"  {number:>2}. {kata.id:<24} {shown}",
                                green=status == "done", red=status in ("failing", "error"))
        pending = [k for k in self.catalog if statuses[k.id] != "done"]
        if pending:
            nxt = pending[0]
            test_file = _relative(nxt.test_path(self.root), self.root)
            reporter.write_line("")
            reporter.write_line(f"next: {nxt.id} ({nxt.title}): edit {_relative(nxt.stub_path(self.root), self.root)}",
                                bold=True)
            reporter.write_line(f"  check it:   pytest {test_file}")
            reporter.write_line(f"  get a hint: pytest --hint {test_file}")
            reporter.write_line("  or run `katas`: it watches your file and re-checks it on every save")
        else:
            reporter.write_line("every kata is done. Well played.", green=True, bold=True)
        if self.explanations:
            self._show_explanations(reporter, state)
        if self.config.getoption("hint"):
            self._reveal_hints(reporter, state)
        try:
            state.save()
        except OSError as exc:
            reporter.write_line(f"could not save progress to {state.path.name}: {exc}", yellow=True)

    def _show_explanations(self, reporter, state):
        """The explanations quiz answers unlocked for the first time; the state remembers those shown."""
        import textwrap

        def shown(kata_id) -> list:
            entry = state.kata(kata_id)
            if not isinstance(entry.get("explained"), list):
                entry["explained"] = []
            return entry["explained"]

        new = [(kata_id, item, text) for kata_id, item, text in self.explanations if item not in shown(kata_id)]
        if new:
            reporter.section("unlocked explanations")
        for kata_id, item, text in new:
            reporter.write_line(f"{kata_id}.{item}:", bold=True)
            reporter.write_line(textwrap.indent(textwrap.fill(text, 88), "    "))
            shown(kata_id).append(item)
        if len(new) < len(self.explanations):
            reporter.write_line(f"({len(self.explanations) - len(new)} explanation(s) unlocked in earlier runs: "
                                f"python -m katakit.quiz explain)")

    def _reveal_hints(self, reporter, state):
        reporter.section("hints")
        shown_any = False
        for kata in self.catalog:
            status = self.kata_status(kata.id)
            if status in (None, "done", "skipped"):
                continue
            shown_any = True
            level = state.next_hint(kata.id, len(kata.hints))
            reporter.write_line(f"{kata.id} (hint {level} of {len(kata.hints)}):", bold=True)
            for number, line in enumerate(kata.hints_up_to(level), 1):
                reporter.write_line(f"  {line}", yellow=number == level)
            if level == len(kata.hints):
                reporter.write_line("  (that was the last hint)")
        if not shown_any:
            reporter.write_line("no kata in this run needs a hint: everything checked is done")
