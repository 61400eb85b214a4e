# The kata machinery lives in the katakit package and is loaded by its pytest11 entry point
# (see pyproject.toml). This file only marks the repository root for pytest.
