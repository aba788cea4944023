"""Puts package folders named by the server's environment on sys.path (stdlib only, imported first).

The Python-backend stub embeds libpython and ignores PYTHONPATH. A server whose own Python has the packages of
../../requirements.txt needs nothing here. `encexport serve` instead names this environment's package folders
in ENCEXPORT_TRITON_PYTHONPATH (os.pathsep-separated) when it starts the server; no path of the machine that
wrote the repository is kept in it.
"""

import os
import sys

for _path in reversed([p for p in os.environ.get("ENCEXPORT_TRITON_PYTHONPATH", "").split(os.pathsep) if p]):
    if _path not in sys.path:
        sys.path.insert(0, _path)
