"""`polygraphy run ... --data-loader-script encexport/check/polygraphy_data.py`: real token feeds.

Polygraphy's default loader draws random int64 values, which are not valid token ids or masks. This yields
the recipe's sentences, one per batch (unpadded, so padded positions cannot differ between graphs), then all
of them padded together. ENCEXPORT_RECIPE picks the recipe (default all-MiniLM-L6-v2).
"""

import os


def load_data():
    from encexport.models import get_recipe

    from encexport.export import tokenize

    recipe = get_recipe(os.environ.get("ENCEXPORT_RECIPE", "all-MiniLM-L6-v2"))
    _, tokenizer, _ = recipe.load()
    for text in recipe.sample_texts[:3]:
        yield {k: v.numpy() for k, v in tokenize(tokenizer, [text], recipe.input_names).items()}
