"""Command line: `encexport <command>` / `python -m encexport <command>`."""
