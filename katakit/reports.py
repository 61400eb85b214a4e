"""What `katas grade` writes: per submission results.json (Gradescope), junit.xml and report.md;
per batch summary.csv and summary.md."""

from __future__ import annotations

import csv
import datetime
import json
import xml.etree.ElementTree as ET
from pathlib import Path

from . import integrity
from .grade import Check, SubmissionResult, headline, known_mistake

MAX_OUTPUT = 2000


def _short(check: Check) -> str:
    """What a reviewer needs of a failure: its first line, and the known mistake it matches."""
    if check.passed:
        return ""
    text = headline(check.message) or check.status
    mistake = known_mistake(check.message)
    return text + (f"\nknown mistake: {mistake}" if mistake and mistake not in text else "")


def _status_word(check: Check) -> str:
    return {"passed": "passed", "todo": "todo (still raises NotImplementedError)", "timeout": "timed out",
            "not run": "not run"}.get(check.status, check.status)


# ---- per submission --------------------------------------------------------------------------------

def gradescope(result: SubmissionResult, batch) -> dict:
    tests, number = [], 0
    for kata_number, kata in enumerate(batch.katas, 1):
        found = result.katas[kata.id]
        scored = [c for c in found.hidden if not c.constraint]
        each = kata.points / len(scored) if scored else 0.0
        for check_number, check in enumerate(found.hidden, 1):
            number += 1
            worth = 0.0 if check.constraint else each
            earned = worth if check.passed and not found.broke_rules else 0.0
            tests.append({
                "name": f"{kata.id}: {check.name}", "number": f"{kata_number}.{check_number}",
                "score": round(earned, 6), "max_score": round(worth, 6),
                "status": "passed" if check.passed else "failed",
                "output": ("" if check.passed else f"{_status_word(check)}: {_short(check)}")[:MAX_OUTPUT],
                "tags": [kata.id, *kata.frameworks], "visibility": "after_published",
            })
    return {"score": result.score, "execution_time": round(result.wall_s), "output": overview(result),
            "visibility": "after_published", "stdout_visibility": "hidden", "tests": tests}


def overview(result: SubmissionResult) -> str:
    lines = [f"{result.name}: {result.score:.2f} of {result.max_score} points (hidden checks)."]
    for kata_id, found in result.katas.items():
        hp, ht = found.counts(True)
        pp, pt = found.counts(False)
        lines.append(f"{kata_id}: {found.score:.2f}/{found.kata.points} points; hidden checks {hp}/{ht}, "
                     f"public checks {pp}/{pt}")
    lines.extend(f"note: {note}" for note in result.notes)
    return "\n".join(lines)


def junit(result: SubmissionResult) -> ET.ElementTree:
    suites = ET.Element("testsuites", name=result.name)
    for kata_id, found in result.katas.items():
        for hidden, checks in ((True, found.hidden), (False, found.public)):
            suite = ET.SubElement(suites, "testsuite", name=f"{kata_id} ({'hidden' if hidden else 'public'} checks)",
                                  tests=str(len(checks)),
                                  failures=str(sum(c.status in ("failed", "todo", "timeout") for c in checks)),
                                  errors=str(sum(c.status == "error" for c in checks)),
                                  skipped=str(sum(c.status == "not run" for c in checks)),
                                  time=f"{sum(c.duration for c in checks):.3f}")
            for check in checks:
                case = ET.SubElement(suite, "testcase", classname=f"{result.name}.{kata_id}."
                                     f"{'hidden' if hidden else 'public'}", name=check.name,
                                     time=f"{check.duration:.3f}")
                if check.passed:
                    continue
                tag = {"error": "error", "not run": "skipped"}.get(check.status, "failure")
                element = ET.SubElement(case, tag, message=f"{_status_word(check)}: {headline(check.message)}"[:500])
                if tag != "skipped":
                    element.text = check.message[:MAX_OUTPUT]
    tree = ET.ElementTree(suites)
    ET.indent(tree)
    return tree


def _md(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def report_markdown(result: SubmissionResult) -> str:
    lines = [f"# {result.name}: {result.score:.2f} / {result.max_score}", "",
             f"Source: `{result.source}` ({result.kind}); graded in {result.wall_s:.1f} s "
             f"({result.runs} sandboxed run{'s' if result.runs != 1 else ''}).", "",
             "| kata | score | hidden checks | public checks | notes |", "| --- | ---: | ---: | ---: | --- |"]
    for kata_id, found in result.katas.items():
        hp, ht = found.counts(True)
        pp, pt = found.counts(False)
        notes = "; ".join(found.notes + [f"known mistake: {m}" for m in found.known_mistakes])
        lines.append(f"| {kata_id} | {found.score:.2f} / {found.kata.points} | {hp}/{ht} | {pp}/{pt} | {_md(notes)} |")
    if result.notes:
        lines += ["", "## Notes", ""] + [f"- {_md(n)}" for n in result.notes]
    failed = [c for found in result.katas.values() for c in found.hidden if not c.passed]
    if failed:
        lines += ["", "## Hidden checks not passed", ""]
        groups: dict[tuple, list[Check]] = {}
        for check in failed:
            groups.setdefault((check.kata, check.status, _short(check)), []).append(check)
        for (kata_id, _, short), checks in list(groups.items())[:200]:
            names = ", ".join(c.name for c in checks[:3])
            names += f" and {len(checks) - 3} more" if len(checks) > 3 else ""
            lines.append(f"- `{kata_id}`: {_md(names)}: {_status_word(checks[0])}"
                         + (f": {_md(short)}" if short else ""))
    lines += ["", "## Integrity signals", "", "Context for a reviewer, not verdicts: each has innocent explanations.",
              "", f"- git history: {integrity.describe_git(result.git)}",
              f"- progress file (self-reported by the candidate's copy, editable): "
              f"{integrity.describe_progress(result.progress)}"]
    for kata_id, found in result.suspicious.items():
        lines.append(f"- constructs a kata function rarely needs, in katas/{kata_id}.py: {_md('; '.join(found))}")
    lines.append(f"- unusually similar kata code: {_md('; '.join(result.similar)) or 'none found'}")
    if result.audit:
        lines += ["", "## What the sandbox saw", ""]
        for event in result.audit[:100]:
            lines.append(f"- {'blocked' if event.get('blocked') else 'seen'}: {_md(event.get('name'))} "
                         f"{_md(event.get('detail', ''))[:160]} (at {_md(event.get('where') or '?')})")
    if result.changed:
        lines += ["", "## Files changed outside katas/ (ignored: the grader used its own)", ""]
        lines += [f"- {_md(c)}" for c in result.changed[:100]]
        if len(result.changed) > 100:
            lines.append(f"- ... and {len(result.changed) - 100} more")
    return "\n".join(lines) + "\n"


def write_submission(folder: Path, result: SubmissionResult, batch) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "results.json").write_text(json.dumps(gradescope(result, batch), indent=2) + "\n")
    junit(result).write(folder / "junit.xml", encoding="utf-8", xml_declaration=True)
    (folder / "report.md").write_text(report_markdown(result))


# ---- per batch -------------------------------------------------------------------------------------

def write_summary(out: Path, results: list[SubmissionResult], batch, *, wall_s: float, jobs: int,
                  threshold: float) -> None:
    katas = batch.katas
    header = ["submission", "source", "status", "score", "max_score", "percent"]
    for kata in katas:
        header += [f"{kata.id} score", f"{kata.id} hidden passed", f"{kata.id} public passed"]
    header += ["time_s", "git", "progress_file", "similar", "notes"]
    with open(out / "summary.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        for result in results:
            row = [result.name, result.source, "error" if result.error else "graded", f"{result.score:.2f}",
                   result.max_score, f"{100 * result.score / result.max_score:.1f}" if result.max_score else "0"]
            for kata in katas:
                found = result.katas[kata.id]
                hp, ht = found.counts(True)
                pp, pt = found.counts(False)
                row += [f"{found.score:.2f}", f"{hp}/{ht}", f"{pp}/{pt}"]
            row += [f"{result.wall_s:.1f}", integrity.describe_git(result.git),
                    integrity.describe_progress(result.progress), "; ".join(result.similar),
                    " | ".join(result.notes + [n for f in result.katas.values() for n in f.notes])]
            writer.writerow(row)
    (out / "summary.md").write_text(summary_markdown(results, batch, wall_s=wall_s, jobs=jobs, threshold=threshold))


def summary_markdown(results: list[SubmissionResult], batch, *, wall_s: float, jobs: int, threshold: float) -> str:
    katas = batch.katas
    when = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="minutes")
    title = (batch.manifest or {}).get("title") or "Take-home"
    per = f"{wall_s / len(results):.1f} s per submission" if results else ""
    lines = [f"# {title}: grades", "",
             f"{len(results)} submission{'s' if len(results) != 1 else ''} graded {when} in {wall_s:.1f} s "
             f"with -j {jobs} ({per}; preparation {batch.prepare_s:.1f} s). Hidden checks drawn from seed "
             f"{batch.seed} (`katas grade --seed {batch.seed}` draws them again).", "",
             "**Score** = the hidden checks: each kata's points shared equally among its checks (the kata's "
             "tests on inputs the candidate never saw, compared with the reference solution; known mistakes "
             "named; the forbidden-call rules). **Public** = the checks the candidate could run themselves. "
             "All public checks passed is not a full score.", ""]
    head = "| submission | score | " + " | ".join(f"{k.id} ({k.points})" for k in katas) + " | time | notes |"
    lines += [head, "| --- | ---: | " + " | ".join("---" for _ in katas) + " | ---: | --- |"]
    for result in results:
        cells = []
        for kata in katas:
            found = result.katas[kata.id]
            hp, ht = found.counts(True)
            pp, pt = found.counts(False)
            cells.append(f"{found.score:.2f} (hidden {hp}/{ht}, public {pp}/{pt})")
        notes = len(result.notes) + sum(len(f.notes) for f in result.katas.values())
        note = result.error or (f"{notes} note{'s' if notes != 1 else ''}" if notes else "")
        lines.append(f"| [{_md(result.name)}]({result.name}/report.md) | {result.score:.2f} / {result.max_score} | "
                     + " | ".join(cells) + f" | {result.wall_s:.1f} s | {_md(note)} |")
    noted = [r for r in results if r.notes or any(f.notes or f.known_mistakes for f in r.katas.values())]
    if noted:
        lines += ["", "## Notes", ""]
        for result in noted:
            lines.append(f"### {result.name}")
            lines += [f"- {_md(n)}" for n in result.notes]
            for kata_id, found in result.katas.items():
                lines += [f"- {kata_id}: {_md(n)}" for n in found.notes]
                lines += [f"- {kata_id}: known mistake: {_md(m)}" for m in found.known_mistakes]
            lines.append("")
    lines += ["", "## Integrity signals", "",
              "Context for a reviewer, never a verdict: each has innocent explanations (one big commit, a "
              "progress file deleted, two people who both followed the near-solution hint).", "",
              "| submission | git history | progress file (self-reported) | constructs to review | similar code |",
              "| --- | --- | --- | --- | --- |"]
    for result in results:
        constructs = "; ".join(f"{k}: {', '.join(v[:4])}" + (" ..." if len(v) > 4 else "")
                               for k, v in result.suspicious.items())
        lines.append(f"| {_md(result.name)} | {_md(integrity.describe_git(result.git))} | "
                     f"{_md(integrity.describe_progress(result.progress))} | {_md(constructs) or '-'} | "
                     f"{_md('; '.join(result.similar)) or '-'} |")
    lines += ["", f"Similar code: kata files are compared after normalisation (layout, comments, docstrings and "
              f"names do not count; the stub's own code is left out), by the share of 5-token sequences they "
              f"have in common. Pairs at or above {threshold:g} are listed. Independent correct answers in this "
              f"repository score well below it; a copy with renamed variables and new comments scores 1.0 "
              f"(docs/benchmarks.md has the measurements).", ""]
    lines += ["## The sandbox on this machine", "", "| control | in force | how |", "| --- | --- | --- |"]
    for control in batch.sandbox.controls:
        lines.append(f"| {control.name} | {'yes' if control.active else 'no'} | {_md(control.detail)} |")
    if batch.notes:
        lines += ["", "## Batch notes", ""] + [f"- {_md(n)}" for n in batch.notes]
    return "\n".join(lines) + "\n"
