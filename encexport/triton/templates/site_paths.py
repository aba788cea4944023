"""Puts the generating environment's package folders on sys.path.

The Python-backend stub embeds libpython and ignores PYTHONPATH, so model.py imports this (stdlib only) before
anything else. The list is written at generation time: regenerate the repository after moving the environment.
"""

import sys

SITE_PACKAGES = []  # @generated
for _path in reversed(SITE_PACKAGES):
    if _path not in sys.path:
        sys.path.insert(0, _path)
