"""`encexport.models` in a source checkout that runs without an install (PYTHONPATH=checkout, as on a GPU machine).

The recipes live at the repository's top (models/); installs map them into the package (pyproject's
wheel.packages), and an editable install's finder does the same. A plain checkout gets that mapping here,
as a last-resort finder: it answers only for `encexport.models`, and only when nothing before it did.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

_RECIPES = Path(__file__).resolve().parents[1] / "models"


class _CheckoutRecipes:
    @staticmethod
    def find_spec(fullname, path=None, target=None):
        if fullname != "encexport.models":
            return None
        return importlib.util.spec_from_file_location(fullname, _RECIPES / "__init__.py",
                                                      submodule_search_locations=[str(_RECIPES)])


def map_recipes() -> None:
    in_checkout = (_RECIPES / "registry.py").is_file() and (_RECIPES.parent / "pyproject.toml").is_file()
    if in_checkout and _CheckoutRecipes not in sys.meta_path:
        sys.meta_path.append(_CheckoutRecipes)
