"""Watch mode, what `katas` does with no command: the current kata, re-checked on every save.

One loop, no threads: it waits up to a tenth of a second for a file change (watchfiles; with
--poll it checks modification times instead, for WSL and containers where change events never
arrive; with --manual-run it never watches and `r` runs the check), then reads a key, then
looks at the running check. Checks run in a warm forked child (katakit.warm), so only the
first one pays for importing TensorFlow or torch.
"""

from __future__ import annotations

import argparse
import os
import select
import sys
import time
from contextlib import contextmanager
from pathlib import Path

from rich.console import Console, Group
from rich.panel import Panel
from rich.syntax import Syntax
from rich.table import Table
from rich.text import Text

from . import course, learner
from .catalog import Catalog, Kata
from .cli import find_root, load_catalog, resolve_kata
from .loading import HEAVY_FRAMEWORKS
from .state import State
from .warm import CAN_FORK, CheckResult, RunningCheck, WarmRunner

KEYS = "[n]ext  [h]int  [l]ist  [r]un  [s]olution  [q]uit"
MAX_PROBLEM_LINES = 18
MAX_TASKS_SHOWN = 4  # a quiz kata has a dozen items; the file lists them all


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "watch", help="the current kata, re-checked on every save (what `katas` alone does)",
        description="Show the current kata and re-check it every time you save its file. Keys: n next kata "
                    "(once this one passes), h hint, l list, r run now, s solution (once it passes), q quit."
                    "\n\nexample:\n  katas --poll        # in WSL or a container where saves go unnoticed",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("id", nargs="?", metavar="ID", help="start at this kata (default: where you left off)")
    p.add_argument("--poll", action="store_true",
                   help="notice saves by polling modification times (for WSL and some containers)")
    p.add_argument("--manual-run", action="store_true",
                   help="never watch files: press r to check the kata")
    p.add_argument("--jobs", type=_jobs, default=None, metavar="N",
                   help="test processes a re-check may run side by side, for katas whose tests take a while "
                        "(default: 2, or 1 on a one-core machine; 1 runs every check in one process)")
    p.set_defaults(func=cmd_watch)


def cmd_watch(args) -> int:
    root = find_root()
    catalog = load_catalog(root)
    state = State.load(root)
    kata = resolve_kata(catalog, args.id) if args.id else course.current_kata(catalog, state)
    session = WatchSession(root, catalog, kata, poll=args.poll, manual=args.manual_run, jobs=args.jobs)
    code = session.run()
    if session.restart_at is not None:
        # A kata that needs other frameworks than the ones loaded: start afresh (the terminal is
        # restored by now), so the warm process holds just what the new kata needs and forks fast.
        flags = [*(["--poll"] if args.poll else []), *(["--manual-run"] if args.manual_run else []),
                 *(["--jobs", str(args.jobs)] if args.jobs else [])]
        os.execv(sys.executable, [sys.executable, "-m", "katakit", "watch", session.restart_at, *flags])
    return code


def _jobs(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of processes, 1 or more, not {text!r}")
    return int(text)


def needs_fresh_process(kata: Kata) -> bool:
    """True when the frameworks loaded in this process are not the ones `kata` needs."""
    loaded = {name for name in HEAVY_FRAMEWORKS if name in sys.modules}
    return CAN_FORK and loaded != set(HEAVY_FRAMEWORKS) & set(kata.frameworks)


# ---- input ------------------------------------------------------------------------------------

class Keys:
    """Single keypresses from a terminal (cbreak mode), or the first letter of each line from a pipe."""

    def __init__(self, stream=None):
        self.stream = stream or sys.stdin
        self.fd = self.stream.fileno()
        self.tty = self.stream.isatty()
        self.closed = False
        self.pending: list[str] = []  # keys already read from a pipe, one per line

    @contextmanager
    def active(self):
        if not self.tty:
            yield self
            return
        import termios
        import tty

        saved = termios.tcgetattr(self.fd)
        try:
            tty.setcbreak(self.fd)
            yield self
        finally:
            termios.tcsetattr(self.fd, termios.TCSADRAIN, saved)

    def read(self, timeout: float) -> str | None:
        if self.pending:
            return self.pending.pop(0)
        if self.closed:
            time.sleep(timeout)
            return None
        ready, _, _ = select.select([self.fd], [], [], timeout)
        if not ready:
            return None
        data = os.read(self.fd, 1 if self.tty else 4096)
        if not data:  # end of input from a pipe: keep watching, without keys
            self.closed = True
            return None
        text = data.decode(errors="ignore")
        if self.tty:
            return text.lower() if text.strip() else None
        self.pending += [line.strip()[:1].lower() for line in text.splitlines() if line.strip()]
        return self.pending.pop(0) if self.pending else None


class FileChanges:
    """Has the watched file changed since the last call? Events via watchfiles, or polling."""

    def __init__(self, path: Path, poll: bool):
        self.path = path
        self.poll = poll
        self._last = self._stamp()
        self._events = None
        if not poll:
            from watchfiles import watch

            self._events = watch(path.parent, debounce=50, step=20, rust_timeout=100, yield_on_timeout=True)

    def _stamp(self):
        try:
            info = self.path.stat()
        except OSError:
            return None
        return info.st_mtime_ns, info.st_size

    def changed(self) -> bool:
        if self._events is not None:
            batch = next(self._events)  # waits up to 0.1 s
            return any(Path(changed) == self.path for _, changed in batch)
        time.sleep(0.1)
        stamp = self._stamp()
        if stamp != self._last:
            self._last = stamp
            return True
        return False

    def close(self):
        if self._events is not None:
            self._events.close()


# ---- the session ------------------------------------------------------------------------------

HYPOTHESIS_EXAMPLE_HEADERS = ("Failing test case:", "Falsifying example:")


def _without_repeated_example(lines: list[str]) -> list[str]:
    """Drop Hypothesis's own account of the failing example when the message already shows it
    as input / expected / yours; the screen has room for one, and `pytest` still prints both."""
    if not any(line.lstrip().startswith("input:") for line in lines):
        return lines
    for number, line in enumerate(lines):
        if line.startswith(HYPOTHESIS_EXAMPLE_HEADERS):
            return lines[:number]
    return lines


class WatchSession:
    def __init__(self, root: Path, catalog: Catalog, kata: Kata, *, poll: bool = False, manual: bool = False,
                 console: Console | None = None, jobs: int | None = None):
        self.root, self.catalog, self.kata = root, catalog, kata
        self.poll, self.manual = poll, manual
        self.console = console or Console(highlight=False)
        self.runner = WarmRunner(root, jobs=jobs)
        self.check: RunningCheck | None = None
        self.result: CheckResult | None = None
        self.message: list = []  # what the last key asked for: hints, the list, the solution, a refusal
        self.changes: FileChanges | None = None
        self.restart_at: str | None = None  # set when the next kata wants a fresh process

    # ---- state of the course ----
    def state(self) -> State:
        return State.load(self.root)

    def remember_current(self) -> None:
        state = self.state()
        state.current = self.kata.id
        state.save()

    # ---- checks ----
    def start_check(self) -> None:
        if self.check is not None:
            self.check.cancel()
        self.result = None
        self.check = self.runner.start(self.kata)
        self.render()

    def switch_to(self, kata: Kata) -> None:
        self.kata = kata
        self.remember_current()
        if self.changes is not None:
            self.changes.close()
        self.changes = None if self.manual else FileChanges(kata.stub_path(self.root), self.poll)
        self.message = []
        self.result = None
        if kata.id not in self.runner.warmed:
            needs = [fw for fw in HEAVY_FRAMEWORKS if fw in kata.frameworks]
            self.say(f"Getting {kata.id} ready" + (f" (importing {' and '.join(needs)} once)" if needs else "") + "...")
            self.runner.warm_up(kata)
        self.start_check()

    # ---- drawing ----
    def say(self, text: str) -> None:
        self.console.print(text, markup=False)

    def render(self) -> None:
        state = self.state()
        number = [k.id for k in self.catalog].index(self.kata.id) + 1
        parts: list = []
        header = Text.assemble((f"Inference Katas  kata {number}/{len(self.catalog)}: ", "bold"),
                               (self.kata.id, "bold cyan"), f"  {self.kata.title}\n",
                               (f"{self.kata.topic}, {self.kata.difficulty}, {self.kata.points} points", "dim"))
        parts.append(header)
        parts.append(Text(f"edit {self.kata.stub_path(self.root).relative_to(self.root)}"
                          f"   (check it by hand: pytest {self.kata.test_path(self.root).relative_to(self.root)})"))
        tasks = course.task_summary(self.kata, self.root)
        for signature, summary in tasks[:MAX_TASKS_SHOWN]:
            parts.append(Text.assemble(("  " + signature, "bold"), "\n    " + summary))
        if len(tasks) > MAX_TASKS_SHOWN:
            parts.append(Text(f"  ... and {len(tasks) - MAX_TASKS_SHOWN} more: the file has them all", style="dim"))
        parts.append(Text(""))
        parts.append(self._result_view())
        parts.append(Text(""))
        parts.append(self._progress_view(state))
        if self.message:
            parts.append(Text(""))
            parts.extend(self.message)
        mode = "press r to check" if self.manual else ("polling for saves" if self.poll else "watching for saves")
        parts.append(Text(f"\n{KEYS}    ({mode})", style="dim"))
        if self.console.is_terminal:
            self.console.clear()
        else:
            self.console.rule()
        self.console.print(Group(*parts))

    def _result_view(self):
        if self.check is not None and self.result is None:
            return Text("checking...", style="bold")
        if self.result is None:
            return Text("not checked yet: press r", style="bold")
        result = self.result
        counts = result.counts
        total = sum(counts.values())
        timing = f"  ({result.seconds:.1f} s)"
        if result.status == "done":
            after = ("Press n for the next kata; `katas quiz explain` shows why each answer is right."
                     if self.kata.id.startswith("quiz_") else
                     "Press n for the next kata, s to compare with the reference solution.")
            return Text.assemble(("PASSED", "bold green"), f"  all {total} checks pass.{timing}  ", (after, "green"))
        if result.status == "todo":
            return Text.assemble(("TODO", "bold yellow"), "  ", _first_line(result.first_problem),
                                 timing, "\n  Replace `raise NotImplementedError` with your code and save.")
        label = {"failing": "FAILING", "error": "ERROR"}.get(result.status, result.status.upper())
        passed = counts.get("passed", 0)
        body = "\n".join(_without_repeated_example(result.first_problem.splitlines())[:MAX_PROBLEM_LINES])
        return Group(Text.assemble((label, "bold red"), f"  {passed} of {total} checks pass{timing}"),
                     Panel(Text(body), title="first problem", title_align="left", border_style="red"))

    def _progress_view(self, state: State):
        statuses = course.statuses(self.catalog, state)
        done = sum(1 for s in statuses.values() if s == "done")
        total = len(self.catalog)
        width = 30
        filled = round(width * done / total)
        line = Text.assemble(("progress ", "bold"), ("█" * filled, "green"), ("░" * (width - filled), "dim"),
                             f" {done}/{total} katas done")
        topics = "   ".join(f"{topic} {d}/{t}" for topic, d, t in course.topic_progress(self.catalog, state))
        return Group(line, Text("  " + topics, style="dim"))

    # ---- keys ----
    def on_key(self, key: str) -> bool:
        """Handle one key; False means quit."""
        if key == "q":
            return False
        if key == "r":
            self.message = []
            self.start_check()
            return True
        if key == "n":
            self.next_kata()
        elif key == "h":
            self.message = [Text("\n".join(learner.show_hint(self.kata, self.state())), style="yellow")]
        elif key == "l":
            self.message = [self._list_table()]
        elif key == "s":
            self.show_solution()
        else:
            self.message = [Text(f"keys: {KEYS}")]
        self.render()
        return True

    def next_kata(self) -> None:
        status = self.result.status if self.result else None
        if status != "done":
            self.message = [Text(f"{self.kata.id} does not pass yet ({status or 'not checked'}): n moves on only "
                                 f"once it passes, so no kata is skipped by accident. Press h for a hint.",
                                 style="yellow")]
            return
        following = course.first_pending(self.catalog, self.state(), after=self.kata.id)
        if following is None:
            self.message = [Text("Every kata is done. Well played.", style="bold green")]
            return
        if needs_fresh_process(following):
            state = self.state()
            state.current = following.id
            state.save()
            self.restart_at = following.id
            return
        self.switch_to(following)

    def show_solution(self) -> None:
        if not self.result or self.result.status != "done":
            self.message = [Text("The reference solution opens once your kata passes "
                                 f"(`katas solution {self.kata.id} --force` shows it earlier, and records that).",
                                 style="yellow")]
            return
        try:
            text = learner.solution_text(self.root, self.kata)
        except Exception as exc:  # no solutions/ in this copy
            self.message = [Text(str(exc), style="yellow")]
            return
        self.message = [Syntax(text, "python", word_wrap=True)]

    def _list_table(self) -> Table:
        state = self.state()
        table = Table(title="katas")
        for column in ("#", "id", "topic", "status", "hints"):
            table.add_column(column)
        for number, kata in enumerate(self.catalog, 1):
            marker = "▶ " if kata.id == self.kata.id else ""
            table.add_row(str(number), marker + kata.id, kata.topic, state.status(kata.id) or "not run",
                          f"{state.hint_level(kata.id)}/3")
        return table

    # ---- the loop ----
    def run(self) -> int:
        keys = Keys()
        with keys.active():
            try:
                self.switch_to(self.kata)
                while True:
                    if self.changes is not None and self.changes.changed():
                        self.message = []
                        self.start_check()
                    elif self.changes is None:
                        time.sleep(0.02)
                    key = keys.read(0.0 if self.changes is not None else 0.08)
                    if key and not self.on_key(key):
                        break
                    if self.restart_at is not None:
                        self.say(f"starting afresh for {self.restart_at}: it needs other frameworks than "
                                 f"{self.kata.id}")
                        return 0
                    if self.check is not None and self.result is None and self.check.done():
                        self.result = self.check.result()
                        self.render()
            except KeyboardInterrupt:
                pass
            finally:
                if self.check is not None:
                    self.check.cancel()
                if self.changes is not None:
                    self.changes.close()
        self.say("bye: run `katas` to pick up where you left off")
        return 0


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else ""
