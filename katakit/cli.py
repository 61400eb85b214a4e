"""The `katas` command (also ``python -m katakit``).

With no subcommand it starts watch mode. Each subcommand lives in a module of its own that
defines ``register(subparsers)``: it adds its parser(s) and sets ``func`` to a function that
takes the parsed arguments and returns the exit status. This file only lists those modules
and holds what they share: finding the kata repository and resolving kata ids.
"""

from __future__ import annotations

import argparse
import difflib
import importlib
import sys
from pathlib import Path

from . import catalog as catalog_module

# Modules that register subcommands, in the order `katas --help` lists them.
SUBCOMMAND_MODULES = ("katakit.learner", "katakit.quiz", "katakit.release", "katakit.grade")


class CommandError(Exception):
    """A user error: printed as one clear line, exit status 2."""


def find_root(start: Path | None = None) -> Path:
    """The kata repository containing `start` (default: the current directory): where katas.toml is."""
    here = Path(start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / catalog_module.CATALOG_FILE).is_file():
            return folder
    raise CommandError(f"no {catalog_module.CATALOG_FILE} in {here} or above it: run katas inside the kata repository")


def load_catalog(root: Path) -> catalog_module.Catalog:
    try:
        return catalog_module.load(root)
    except catalog_module.CatalogError as exc:
        raise CommandError(str(exc)) from None


def resolve_kata(catalog: catalog_module.Catalog, kata_id: str) -> catalog_module.Kata:
    """The kata called `kata_id`, or a CommandError that lists the closest ids."""
    kata = catalog.get(kata_id)
    if kata is not None:
        return kata
    ids = [k.id for k in catalog]
    close = difflib.get_close_matches(kata_id, ids, n=3, cutoff=0.5)
    hint = f"did you mean {', '.join(close)}?" if close else "katas list shows them all"
    raise CommandError(f"no kata called {kata_id!r}: {hint}")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="katas",
        description="Inference Katas: make each kata's tests pass, one kata at a time. "
                    "With no command, watch mode shows the current kata and re-checks it on every save.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in SUBCOMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv or (argv[0].startswith("-") and argv[0] not in ("-h", "--help")):
        argv = ["watch", *argv]  # no command: watch mode, with any options given (`katas --poll`)
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except CommandError as exc:
        print(f"katas: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `katas list | head`: the reader left; nothing more to say
        sys.stderr.close()
        return 0
