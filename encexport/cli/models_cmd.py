"""`encexport models`: what can be exported, and how each family's attention reaches the node."""

from __future__ import annotations

HOW = {
    "interface": "transformers' attention interface (no family code)",
    "rule": "attention rule (its modules are swapped)",
    "refused": "refused",
}


def register(sub) -> None:
    p = sub.add_parser("models", help="list the supported models and how each family is handled")
    p.set_defaults(func=run)


def rows() -> list[tuple[str, str, str, str]]:
    """(name, model types, handling, what it says) for every registered recipe."""
    from ..models import recipes

    out = []
    for r in recipes():
        names = ", ".join((r.name,) + r.aliases)
        what = r.note if r.handling == "refused" else r.description + (f"; {r.note}" if r.note else "")
        out.append((names, "/".join(r.model_types), HOW[r.handling], what))
    return out


def run(args) -> int:
    table = rows()
    width = max(len(r[0]) for r in table)
    kind = max(len(r[1]) for r in table)
    for name, types, how, what in table:
        print(f"{name:<{width}}  {types:<{kind}}  {how}")
        print(f"{'':<{width}}  {'':<{kind}}  {what}")
    print("\nAny other local checkpoint folder (config.json) whose attention goes through transformers' attention "
          "interface exports the same way; what the node cannot express (causal or sliding-window masks, attention "
          "code of its own) is refused at patch time, naming the layer. Nothing is downloaded: hub ids other than "
          "the aliases above are not found.")
    return 0
