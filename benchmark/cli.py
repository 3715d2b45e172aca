"""``nanoaq``: the one console script.  It gathers the subcommands of every package (each
package's ``cli.register``) and turns a user's mistake into one line and exit status 2."""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

from simulator import __version__
from simulator.errors import UserError

__all__ = ["main", "build_parser"]

#: Modules with a ``register(subparsers)`` function, in the order their commands are listed.
_COMMAND_MODULES = ("simulator.cli", "baselines.cli", "unet.cli", "benchmark.commands", "benchmark.demo")


class _Parser(argparse.ArgumentParser):
    """argparse that raises instead of exiting, so main() prints one line and returns 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UserError(f"{self.prog}: {message}")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="nanoaq", description="nanoaquarium: simulate, segment and score "
                     "liquid-phase electron microscopy videos of nanoparticles.")
    parser.add_argument("--version", action="version", version=f"nanoaquarium {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress details")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name in _COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:  # that package has no commands yet
                continue
            raise
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run ``nanoaq`` with ``argv`` (default: the command line); return the exit status."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                            format="%(levelname)s %(name)s: %(message)s")
        if args.command is None:
            parser.print_help()
            return 2
        return int(args.func(args) or 0)
    except UserError as exc:
        print(f"nanoaq: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("nanoaq: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
