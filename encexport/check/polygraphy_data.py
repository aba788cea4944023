"""`polygraphy run ... --data-loader-script encexport/check/polygraphy_data.py`: real token feeds.

Polygraphy's default loader draws random int64 values, which are not valid token ids or masks. This yields
the recipe's first three sentences one per batch (no padding), then the three padded together (uneven lengths,
so the padded path runs too). ENCEXPORT_RECIPE picks the recipe (default all-MiniLM-L6-v2).
"""

import os


def load_data():
    from encexport.models import get_recipe

    from encexport.check.data import sentence_feeds

    recipe = get_recipe(os.environ.get("ENCEXPORT_RECIPE", "all-MiniLM-L6-v2"))
    _, tokenizer, _ = recipe.load()
    yield from sentence_feeds(tokenizer, recipe.sample_texts[:3], recipe.input_names)
