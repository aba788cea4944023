"""The `encexport` command: one module per subcommand, registered here in pipeline order.

A subcommand whose optional dependencies are missing still shows up and explains itself when used,
instead of breaking the whole CLI.
"""

from __future__ import annotations

import argparse
import importlib
import sys

# (command module, what it needs): the pipeline reads top to bottom.
COMMANDS = (
    "encexport.cli.build_plugins_cmd",
    "encexport.cli.models_cmd",
    "encexport.cli.export_cmd",
    "encexport.cli.check_cmd",
    "encexport.cli.build_cmd",
    "encexport.cli.triton_cmd",
    "encexport.cli.serve_cmd",
    "encexport.cli.bench_cmd",
)


class UsageError(Exception):
    """A user mistake: one line naming the fix, no traceback, exit code 2."""


def _register_all(sub) -> None:
    for module_name in COMMANDS:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name == module_name:  # subcommand not part of this build
                continue
            name = module_name.rsplit(".", 1)[1].removesuffix("_cmd").replace("_", "-")
            missing = sub.add_parser(name, help=f"(unavailable: {exc})")
            missing.set_defaults(func=lambda args, exc=exc: _fail(f"this command needs {exc.name}: {exc}"))
            continue
        module.register(sub)


def _fail(message: str) -> int:
    print(f"encexport: error: {message}", file=sys.stderr)
    return 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="encexport", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _register_all(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except UsageError as exc:
        print(f"encexport: error: {exc}", file=sys.stderr)
        return 2
    except (ValueError, FileNotFoundError, FileExistsError, PermissionError, NotImplementedError) as exc:
        return _fail(str(exc))
    except RuntimeError as exc:
        return _fail(str(exc))


if __name__ == "__main__":
    raise SystemExit(main())
