"""Take-home mode, proven: `katas release` and `katas grade` on the numpy kata ar_forecast.

The batch test grades a folder of deliberately bad submissions (an endless loop, os._exit at
import, a 50 GB allocation, fork loops in Python and in C, network calls, reading the grader's
solutions, edited tests, a syntax error, a missing file, a zip whose entries escape the folder)
next to good ones, with -j 2, and checks that each is contained and reported and that the batch
completes with every report written.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from katakit import integrity
from katakit.catalog import load as load_catalog
from katakit.takehome import find_leaks

from .takehome_submissions import COPIED_SUFFIX, GOOD_SUFFIX, make_submissions

ROOT = Path(__file__).resolve().parents[2]
KATA = "ar_forecast"
GRADE_OPTIONS = ["-j", "2", "--test-time-limit", "15", "--time-limit", "120", "--memory", "2G", "--processes", "64"]


def katas(*args: str, cwd: Path = ROOT, timeout: float = 600) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "KATAKIT_"))}
    return subprocess.run([sys.executable, "-m", "katakit", *args], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL)


@pytest.fixture(scope="module")
def release(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("release") / "take-home"
    result = katas("release", "--katas", KATA, "--out", str(out), "--hints", "first", "--time-guide", "2h")
    assert result.returncode == 0, result.stdout + result.stderr
    return out


# ---- release -------------------------------------------------------------------------------------

def test_release_writes_a_candidate_repository(release):
    for rel in ("katas/ar_forecast.py", "tests/test_ar_forecast.py", "tests/recorded/ar_forecast.json.gz",
                "katakit/plugin.py", "katakit/recorded.py", "conftest.py", "katas.toml", "pyproject.toml", "README.md",
                ".devcontainer/devcontainer.json", ".github/workflows/public-checks.yml", ".gitignore",
                ".katas-release.json"):
        assert (release / rel).is_file(), rel
    assert not (release / "solutions").exists() and not (release / "pitfalls").exists()
    assert not (release / "katakit" / "tests").exists()
    assert (release / "katas" / "ar_forecast.py").read_text() == (ROOT / "katas" / "ar_forecast.py").read_text()
    catalog = load_catalog(release)
    assert [k.id for k in catalog] == [KATA]
    hints = catalog.get(KATA).hints
    assert hints[0] == load_catalog(ROOT).get(KATA).hints[0] and "No hint" in hints[1] and "No hint" in hints[2]
    readme = (release / "README.md").read_text()
    assert "public checks" in readme and "hidden checks" in readme.lower() and "2h" in readme
    workflow = (release / ".github" / "workflows" / "public-checks.yml").read_text()
    assert "python -m pytest" in workflow and "on:" in workflow
    devcontainer = json.loads((release / ".devcontainer" / "devcontainer.json").read_text())
    assert devcontainer["hostRequirements"]["gpu"] == "optional" and "runArgs" not in devcontainer
    schema_path = os.environ.get("DEVCONTAINER_SCHEMA")
    if schema_path and Path(schema_path).is_file():  # as test_repository.py does for the repository's own
        import jsonschema

        schema = json.loads(Path(schema_path).read_text())
        assert not list(jsonschema.validators.validator_for(schema)(schema).iter_errors(devcontainer))
    import tomllib

    dependencies = " ".join(tomllib.loads((release / "pyproject.toml").read_text())["project"]["dependencies"])
    assert "hypothesis==" in dependencies and "torch" not in dependencies and "tensorflow" not in dependencies
    assert ".katas-state.json\n" not in (release / ".gitignore").read_text()  # the progress file is submitted


def test_release_holds_nothing_that_reveals_an_answer(release, tmp_path):
    catalog = load_catalog(ROOT)
    chosen = [catalog.get(KATA)]
    assert find_leaks(release, ROOT, catalog, chosen, "first") == []
    # The check finds each kind of leak when one is planted.
    planted = tmp_path / "planted"
    shutil.copytree(release, planted)
    solution_line = next(line for line in (ROOT / "solutions" / f"{KATA}.py").read_text().splitlines()
                         if "forecasts[k] = c + sum" in line)
    with open(planted / "katakit" / "testing.py", "a") as handle:
        handle.write(f"\n# {solution_line.strip()}\n")
    (planted / "NOTES.md").write_text(catalog.get(KATA).hints[2] + "\n" + catalog.get("top_p").hints[0])
    with open(planted / "README.md", "a") as handle:
        handle.write("Returns the coefficients in reverse order: phi_1 must go with y[t-1], the most recent value.\n")
    (planted / "solutions").mkdir()
    (planted / "solutions" / "x.py").write_text("x = 1\n")
    leaks = "\n".join(find_leaks(planted, ROOT, catalog, chosen, "first"))
    assert "katakit/testing.py: contains line" in leaks and "solutions/ar_forecast.py" in leaks
    assert "NOTES.md: contains hint 3 of ar_forecast" in leaks and "hint 1 of top_p" in leaks
    assert "README.md: contains the diagnosis of pitfalls/ar_forecast.py::reversed_lag_order" in leaks
    assert "solutions/x.py: a solutions/ or pitfalls/ path" in leaks


def test_candidate_run_replays_recorded_answers_and_says_they_are_public(release, tmp_path):
    solved = tmp_path / "solved"
    shutil.copytree(release, solved)
    shutil.copy2(ROOT / "solutions" / f"{KATA}.py", solved / "katas" / f"{KATA}.py")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "KATAKIT_"))}
    result = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider"], cwd=solved, env=env,
                            capture_output=True, text=True, timeout=300)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "PUBLIC checks" in output and "HIDDEN checks" in output and "does not mean a full score" in output
    compared = int(output.split("comparisons with recorded answers in this run: ")[1].split()[0])
    assert compared >= 20 and "no recorded answer" not in output
    state = json.loads((solved / ".katas-state.json").read_text())
    assert state["take_home"]["runs"] == 1  # the progress file notes each run


def test_release_refuses_a_folder_in_use_and_an_unknown_kata(release, tmp_path):
    result = katas("release", "--katas", KATA, "--out", str(release))
    assert result.returncode == 2 and "already exists" in result.stderr
    result = katas("release", "--katas", "ar_forcast", "--out", str(tmp_path / "x"))
    assert result.returncode == 2 and "did you mean ar_forecast" in result.stderr
    assert not (tmp_path / "x").exists()


# ---- grading a batch of bad submissions --------------------------------------------------------------

def _process_limit_holds() -> bool:
    """Whether the OS bounds a fork loop here (a pids cgroup, or RLIMIT_NPROC for a non-root user)."""
    from katakit.sandbox import Cgroups

    return os.geteuid() != 0 or "pids" in Cgroups().bases


@pytest.fixture(scope="module")
def graded(release, tmp_path_factory):
    folder = tmp_path_factory.mktemp("submissions")
    made = make_submissions(release, folder / "in", ROOT, fork_in_c=_process_limit_holds())
    out = folder / "report"
    result = katas("grade", *[str(p) for p in made.values()], "--release", str(release), "--out", str(out),
                   *GRADE_OPTIONS, timeout=900)
    assert result.returncode == 0, result.stdout + result.stderr
    with open(out / "summary.csv", newline="") as handle:
        rows = {row["submission"]: row for row in csv.DictReader(handle)}
    reports = {name: (out / name / "report.md").read_text() for name in made}
    return {"made": made, "out": out, "rows": rows, "reports": reports, "folder": folder,
            "stdout": result.stdout, "stderr": result.stderr}


def test_the_batch_completes_with_every_report_written(graded):
    out, made = graded["out"], graded["made"]
    assert set(graded["rows"]) == set(made)
    for name in made:
        results = json.loads((out / name / "results.json").read_text())
        assert isinstance(results["score"], float) and results["tests"]
        for test in results["tests"]:
            assert {"name", "score", "max_score", "status", "output"} <= set(test)
            assert test["status"] in ("passed", "failed")
        assert abs(sum(t["max_score"] for t in results["tests"]) - 10) < 1e-3
        suites = ET.parse(out / name / "junit.xml").getroot()
        assert suites.tag == "testsuites" and len(suites.findall("testsuite")) == 2
    summary = (out / "summary.md").read_text()
    assert "## The sandbox on this machine" in summary and "| network |" in summary
    assert "[9/" in graded["stderr"] or "9/" in graded["stderr"]  # progress, one line per submission (no TTY)


def test_no_process_of_the_batch_is_left_running(graded):
    left = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                command = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if str(graded["folder"]) in command or "katas-grade-" in command and "pytest" in command:
                left.append(command)
    assert not left


def test_good_work_scores_full_marks_with_its_integrity_signals(graded):
    row = graded["rows"]["good"]
    assert row["score"] == "10.00" and row["ar_forecast public passed"].split("/")[0] == \
        row["ar_forecast public passed"].split("/")[1]
    assert "2 commits by 1 author" in row["git"] and "(2.0 h)" in row["git"]
    assert "checks run 9 times" in row["progress_file"] and "1 hint" in row["progress_file"]


def test_a_copy_with_new_names_is_flagged_as_similar(graded):
    assert "ar_forecast: 1.00 with good" in graded["rows"]["copied"]["similar"]
    assert graded["rows"]["copied"]["score"] == "10.00"


def test_a_known_mistake_is_named_and_earns_partial_credit(graded):
    score = float(graded["rows"]["known_mistake"]["score"])
    assert 0 < score < 10
    assert "known mistake: Returns the coefficients in reverse order" in graded["reports"]["known_mistake"]


BAD = {
    "infinite_loop": ["ran past the time limit"],
    "exit_at_import": ["exited early (status 3)"],
    "huge_allocation": ["MemoryError", "50.0 GiB"],
    "fork_loop": ["blocked: os.fork"],
    "fork_loop_in_c": ["reached the limit of 64 processes and threads"],
    "network": ["blocked: socket.getaddrinfo", "network access"],
    "reads_solutions": ["blocked: open", "solutions/ar_forecast.py", "found no reference solution"],
    "edited_tests": ["tests/test_ar_forecast.py (changed)", "conftest.py (changed)"],
    "syntax_error": ["SyntaxError in katas/ar_forecast.py, line"],
    "tampers": ["replaced what the checks rely on", "numpy.allclose", "assigns to np.allclose"],
    "missing_file": ["katas/ar_forecast.py is missing"],
}


@pytest.mark.parametrize("name", list(BAD))
def test_each_bad_submission_is_contained_scored_zero_and_reported(graded, name):
    if name not in graded["made"]:
        pytest.skip("no OS process limit here (no pids cgroup, and root ignores RLIMIT_NPROC): not run")
    assert graded["rows"][name]["score"] == "0.00"
    report = graded["reports"][name]
    for text in BAD[name]:
        assert text in report, f"{name}: {text!r} not in its report:\n{report}"


def test_a_zip_whose_entries_escape_is_graded_without_them(graded):
    assert graded["rows"]["zip_escape"]["score"] == "10.00"
    report = graded["reports"]["zip_escape"]
    assert report.count("leaves the submission's folder") == 3
    folder = graded["folder"]
    assert not list(folder.rglob("escaped_*.py")) and not Path("/tmp/katas_absolute_escape.py").exists()


# ---- parts, quickly ------------------------------------------------------------------------------------

def test_recorded_values_round_trip_and_digest_stably():
    np = pytest.importorskip("numpy")
    from katakit.recorded import decode, digest, encode
    from katakit.testing import exact

    values = [np.arange(6, dtype=np.float32).reshape(2, 3), np.float64(-0.0), 3, 2.5, float("nan"), True, None,
              "text", (1, [2.0, np.int64(3)]), {"a": np.zeros((0, 2))}, np.array([1 + 2j])]
    for value in values:
        again = decode(json.loads(json.dumps(encode(value))))
        assert exact(again, value) or (value != value and again != again), value
        assert type(again) is type(value)
    assert digest((np.ones(3),), {}) == digest((np.ones(3),), {})
    assert digest((np.ones(3),), {}) != digest((np.ones(3, dtype=np.float32),), {})
    assert digest(([1, 2],), {}) != digest(((1, 2),), {})
    assert digest((object(),), {}) is None


def test_recorded_torch_tensors_round_trip():
    torch = pytest.importorskip("torch")
    from katakit.recorded import decode, encode

    for tensor in (torch.tensor([[1.5, -float("inf")]], dtype=torch.float32), torch.arange(4, dtype=torch.int64),
                   torch.tensor([1.0, 2.0], dtype=torch.bfloat16), torch.zeros(0, 3)):
        again = decode(encode(tensor))
        assert again.dtype == tensor.dtype and again.shape == tensor.shape and torch.equal(again, tensor)


def test_recorded_tf_datasets_round_trip():
    """A reference that returns a tf.data.Dataset (inference_dataset) can be recorded and replayed."""
    tf = pytest.importorskip("tensorflow")
    from katakit.recorded import Unencodable, decode, encode

    features = tf.reshape(tf.range(10, dtype=tf.float32), (5, 2))
    dataset = tf.data.Dataset.from_tensor_slices(features).batch(2)
    again = decode(json.loads(json.dumps(encode(dataset))))
    assert again.element_spec == dataset.element_spec
    assert [b.numpy().tolist() for b in again] == [b.numpy().tolist() for b in dataset]
    pairs = tf.data.Dataset.from_tensor_slices((features, tf.range(5))).batch(3)
    again = decode(encode(pairs))
    assert again.element_spec == pairs.element_spec and len(list(again)) == 2
    with pytest.raises(Unencodable, match="infinite"):
        encode(dataset.repeat())


def test_similarity_threshold_separates_copies_from_independent_answers():
    """The measurement behind the default threshold (see docs/benchmarks.md)."""
    import ast

    highest = 0.0
    catalog = load_catalog(ROOT)
    for kata in catalog:
        solution = kata.solution_path(ROOT).read_text()
        functions = {n.name: ast.get_source_segment(solution, n) for n in ast.parse(solution).body
                     if isinstance(n, ast.FunctionDef)}
        pitfalls = kata.pitfalls_path(ROOT).read_text()
        for node in ast.parse(pitfalls).body:
            decorator = node.decorator_list[0] if isinstance(node, ast.FunctionDef) and node.decorator_list else None
            if not (isinstance(decorator, ast.Call) and getattr(decorator.func, "id", "") == "alternative"):
                continue
            replaces = decorator.args[0].value
            theirs = ast.get_source_segment(pitfalls, node).replace(node.name, replaces, 1)
            score = integrity.similarity(integrity.fingerprints(theirs), integrity.fingerprints(functions[replaces]))
            highest = max(highest, score)
    assert highest < integrity.DEFAULT_THRESHOLD - 0.2, highest
    stub = (ROOT / "katas" / f"{KATA}.py").read_text()
    good = integrity.fingerprints("import numpy as np\n" + GOOD_SUFFIX, stub)
    copied = integrity.fingerprints("import numpy as np\n" + COPIED_SUFFIX, stub)
    assert integrity.similarity(good, copied) == 1.0
    assert integrity.fingerprints("def f(:") is None


def test_suspicious_constructs_are_found_statically():
    found = integrity.suspicious_constructs("import os, numpy\nfrom sys import modules\n"
                                            "def f(x):\n    return open(x).read(), x.__globals__\n")
    assert found == ["line 1: import os", "line 2: from sys import ...", "line 4: .__globals__", "line 4: open(...)"]
    assert integrity.suspicious_constructs("import numpy as np\nnp.allclose = max\n") == \
        ["line 2: assigns to np.allclose"]
    assert integrity.suspicious_constructs("import numpy as np\ndef f(x):\n    return np.sum(x)\n") == []


def test_archives_are_unpacked_without_escapes_or_links(tmp_path):
    import tarfile
    import zipfile

    from katakit.intake import take_in

    source = tmp_path / "src" / "work" / "katas"
    source.mkdir(parents=True)
    (source / "k.py").write_text("def k():\n    return 1\n")
    archive = tmp_path / "sub.tar.gz"
    with tarfile.open(archive, "w:gz") as bundle:
        bundle.add(source.parent, arcname="work")
        link = tarfile.TarInfo("work/katas/evil.py")
        link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
        bundle.addfile(link)
        escape = tarfile.TarInfo("../outside.py")
        escape.size = 0
        bundle.addfile(escape)
    intake = take_in(archive, tmp_path / "scratch", ["k"])
    assert intake.kata_sources == {"k": "def k():\n    return 1\n"}
    assert any("a link" in n for n in intake.notes) and any("leaves" in n for n in intake.notes)
    assert not (tmp_path / "outside.py").exists() and not (tmp_path / "scratch" / "outside.py").exists()
    bad = tmp_path / "bad.zip"
    bad.write_bytes(b"not a zip")
    with pytest.raises(Exception, match="not a readable zip"):
        take_in(bad, tmp_path / "scratch2", ["k"])
    with zipfile.ZipFile(tmp_path / "empty.zip", "w") as bundle:
        bundle.writestr("README.md", "nothing here\n")
    with pytest.raises(Exception, match="no katas/ folder"):
        take_in(tmp_path / "empty.zip", tmp_path / "scratch3", ["k"])


def test_the_sandbox_degrades_and_says_so_without_namespaces_or_cgroups(tmp_path):
    from katakit.sandbox import Limits, Sandbox

    limits = Limits(submission_s=3, memory_bytes=2**30)
    sandbox = Sandbox.probe(limits, hide=[], work=tmp_path, allow_namespaces=False, allow_cgroups=False)
    assert sandbox.namespaces == {}
    details = {c.name: c for c in sandbox.controls}
    assert not details["network"].active and "audit hook" in details["network"].detail
    assert not details["process tree"].active
    tree = tmp_path / "tree"
    tree.mkdir()
    run = sandbox.run([sys.executable, "-c", "import time; time.sleep(60)"], tree, {}, run_dir=tmp_path / "run",
                      scratch=tmp_path, tag="sleep", watch=None, time_limit_s=1.5)
    assert run.killed and "time limit" in run.killed and run.wall_s < 15


def test_without_namespaces_or_cgroups_the_audit_hook_still_contains_and_the_report_says_so(graded, tmp_path):
    """Where the machine allows no namespaces (some CI runners, containers), grading still holds."""
    made = graded["made"]
    out = tmp_path / "report"
    chosen = [made[name] for name in ("good", "network", "reads_solutions", "fork_loop")]
    result = katas("grade", *map(str, chosen), "--katas", KATA, "--out", str(out), *GRADE_OPTIONS,
                   "--no-namespaces", "--no-cgroups", timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    with open(out / "summary.csv", newline="") as handle:
        rows = {row["submission"]: row for row in csv.DictReader(handle)}
    assert rows["good"]["score"] == "10.00"
    assert rows["network"]["score"] == rows["reads_solutions"]["score"] == rows["fork_loop"]["score"] == "0.00"
    assert "blocked: socket.getaddrinfo" in (out / "network" / "report.md").read_text()
    assert "blocked: open" in (out / "reads_solutions" / "report.md").read_text()
    assert "blocked: os.fork" in (out / "fork_loop" / "report.md").read_text()
    summary = (out / "summary.md").read_text()
    assert "| network | no | no network namespace here" in summary
    assert "| process tree | no |" in summary and "turned off" in summary
