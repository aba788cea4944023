"""Offline loading shared by the recipes: small seeded models from a config, local checkpoints, and inputs.

Small random models stand in for checkpoints in tests and smoke exports: they are built from the family's
transformers config class, never downloaded, and seeded so that every load gives the same weights (export
and check load separately and must see one model).
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

SAMPLE_TEXTS = (
    "A man is eating food.",
    "The new movie is awesome and I would watch it again tomorrow with all of my friends.",
    "ONNX Runtime runs encoder models fast.",
    "Hi",
)

# Sizes of the small random models: big enough for several heads and layers, small enough for CPU tests. Named as
# transformers' configs name them (families with other names map these through their config's attribute_map).
SMALL = dict(hidden_size=64, num_hidden_layers=2, num_attention_heads=4, intermediate_size=128, vocab_size=256,
             max_position_embeddings=64)


def seeded_model(model_cls, config, seed: int = 0):
    """model_cls(config) with weights drawn from a fixed seed, eager attention (the reference path)."""
    config._attn_implementation = "eager"
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        model = model_cls(config)
    return model.eval()


def sentence_transformers_pooling(path: Path, default: dict) -> dict:
    """Pooling of a sentence-transformers folder (1_Pooling/config.json, Normalize module); else `default`."""
    pooling_file = path / "1_Pooling" / "config.json"
    if not pooling_file.is_file():
        return dict(default)
    pooling = json.loads(pooling_file.read_text())
    mode = "mean" if pooling.get("pooling_mode_mean_tokens") else "cls"
    modules_file = path / "modules.json"
    modules = json.loads(modules_file.read_text()) if modules_file.is_file() else []
    normalize = any(m["type"].endswith("Normalize") for m in modules)
    return {"mode": mode, "normalize": normalize}


def from_checkpoint(path: str | Path, default_pooling: dict, *, auto_cls: str = "AutoModel", tokenizer: bool = True):
    """(model, tokenizer or None, pooling) from a local folder, offline, eager attention as the reference."""
    import transformers

    path = Path(path)
    if not (path / "config.json").is_file():
        raise FileNotFoundError(f"not found: {path} (no config.json there; a checkpoint folder holds config.json and "
                                "the weights)")
    try:
        model = getattr(transformers, auto_cls).from_pretrained(str(path), local_files_only=True,
                                                                attn_implementation="eager")
    except OSError as exc:  # no weights file, or one that cannot be read
        raise FileNotFoundError(f"not found: the weights of {path} ({exc})") from exc
    if getattr(model.config, "is_encoder_decoder", False) and hasattr(model, "get_encoder"):
        model = model.get_encoder()  # the encoder tower is what is exported
    tok = None
    if tokenizer and any((path / f).is_file() for f in ("tokenizer.json", "tokenizer_config.json", "vocab.txt")):
        tok = transformers.AutoTokenizer.from_pretrained(str(path), local_files_only=True)
    return model.eval(), tok, sentence_transformers_pooling(path, default_pooling)


def random_text_inputs(config, input_names, *, batch: int = 3, seq: int = 12, seed: int = 0) -> dict:
    """Random token ids with uneven, right-padded attention masks (one row full, one short)."""
    gen = torch.Generator().manual_seed(seed)
    pad = getattr(config, "pad_token_id", None)
    pad = 0 if pad is None else pad
    low = pad + 1  # valid tokens never equal the pad id (RoBERTa derives positions from it)
    ids = torch.randint(low, config.vocab_size, (batch, seq), generator=gen)
    lengths = [max(1, seq - (i * seq) // (batch + 1)) for i in range(batch)]
    mask = (torch.arange(seq)[None, :] < torch.tensor(lengths)[:, None]).long()
    ids = ids.masked_fill(mask == 0, pad)
    inputs = {"input_ids": ids, "attention_mask": mask,
              "token_type_ids": torch.zeros_like(ids).masked_fill(torch.arange(seq) >= seq // 2, 1) * mask}
    if getattr(config, "type_vocab_size", 2) < 2:
        inputs["token_type_ids"].zero_()
    return {n: inputs[n] for n in input_names}


def random_audio_inputs(config, input_names=("input_features",), *, batch: int = 2, seed: int = 0, **_) -> dict:
    """Log-mel features [B, mel bins, frames]: the frames the encoder's positions cover (2 per position)."""
    gen = torch.Generator().manual_seed(seed)
    frames = 2 * config.max_source_positions
    return {"input_features": torch.randn(batch, config.num_mel_bins, frames, generator=gen)}


def random_image_inputs(config, input_names=("pixel_values",), *, batch: int = 2, seed: int = 0, **_) -> dict:
    gen = torch.Generator().manual_seed(seed)
    size = config.image_size
    return {"pixel_values": torch.randn(batch, config.num_channels, size, size, generator=gen)}
