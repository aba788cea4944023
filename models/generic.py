"""A local checkpoint of a model_type without a recipe: the generic path (transformers' attention interface).

The folder's config says what the model reads: log-mel features (`num_mel_bins`), images (`image_size` and
`num_channels`) or tokens. The model loads with AutoModel (the encoder of an encoder-decoder); pooling comes from
its sentence-transformers files, else the mean over tokens (text) or the model's pooler (images). It patches
through the attention interface, whose dry run refuses what the node cannot express (causal, sliding windows,
attention code of its own), naming the layer. There is no packed variant: where a sequence's first position
sits is family knowledge.
"""

from __future__ import annotations

import functools
from pathlib import Path

from .family import generic_patch
from .loading import from_checkpoint, random_audio_inputs, random_image_inputs, random_text_inputs
from .patching import UnsupportedModelError
from .recipe import TEXT_OUTPUTS, Recipe

DENSE_OUTPUTS = ("last_hidden_state", "pooler_output")


def modality(fields: dict) -> str:
    if "num_mel_bins" in fields:
        return "audio"
    if "image_size" in fields and "num_channels" in fields:
        return "image"
    return "text"


def decoder_only(model_type: str) -> bool:
    """transformers lists the family for causal language modelling and for no bidirectional task (GPT-2, Llama):
    its attention is causal by design."""
    from transformers.models.auto import modeling_auto as auto

    bidirectional = (auto.MODEL_FOR_MASKED_LM_MAPPING_NAMES, auto.MODEL_FOR_IMAGE_MAPPING_NAMES,
                     auto.MODEL_FOR_AUDIO_CLASSIFICATION_MAPPING_NAMES, auto.MODEL_FOR_SEQ_TO_SEQ_CAUSAL_LM_MAPPING_NAMES)
    return model_type in auto.MODEL_FOR_CAUSAL_LM_MAPPING_NAMES and not any(model_type in m for m in bidirectional)


def checkpoint_recipe(path: Path, fields: dict) -> Recipe:
    model_type = fields.get("model_type", "")
    if decoder_only(model_type):
        raise UnsupportedModelError(
            f"unsupported: {path} is a {model_type} model, a decoder (causal language model) family; the encexport "
            "node implements bidirectional encoder attention only")
    towers = [k for k in ("text_config", "vision_config", "audio_config") if k in fields]
    if len(towers) > 1:
        raise UnsupportedModelError(
            f"unsupported: {path} is a composite model ({model_type}: {', '.join(towers)}); export one tower: save "
            "that tower's model (e.g. CLIPVisionModel.from_pretrained(...).save_pretrained(folder)) and pass its "
            "folder")
    kind = modality(fields)
    if kind == "text":
        names = ("input_ids", "attention_mask") + (("token_type_ids",) if fields.get("type_vocab_size", 0) > 1
                                                   else ())
        examples, outputs, pooling, extra = random_text_inputs, TEXT_OUTPUTS, {"mode": "mean"}, {}
    else:
        names = ("input_features",) if kind == "audio" else ("pixel_values",)
        examples = random_audio_inputs if kind == "audio" else random_image_inputs
        outputs, pooling = DENSE_OUTPUTS, {"mode": "mean" if kind == "audio" else "pooler"}
        extra = {"shapes": {"batch": 2}}
    return Recipe(
        name=str(path),
        model_types=(model_type,),
        load=functools.partial(from_checkpoint, path, pooling, tokenizer=kind == "text"),
        patch=generic_patch(names, examples),
        input_names=names,
        description=f"{model_type} checkpoint through transformers' attention interface (no recipe for its family)",
        modality=kind,
        output_names=outputs,
        example_inputs=examples,
        first_position=None,
        handling="interface",
        **extra,
    )
