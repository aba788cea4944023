"""Every model family, patched by its recipe, against the unmodified Hugging Face model (eager attention).

Small random models built from each family's transformers config (no downloads); random token ids with
uneven right-padded masks. Checks: eager PyTorch equality on valid tokens, weights untouched, one encexport
node per layer in the exported graph (dynamo for all, legacy for some), and ONNX Runtime CPU with the
library matching PyTorch at shapes other than the ones exported with; the same for the packed variant.
"""

import copy
import warnings

import numpy as np
import onnx
import pytest
import torch
from onnx import helper

from encexport.export import SentenceEncoder, build_encoders, export
from encexport.models import UnsupportedModelError, get_recipe, modernbert
from encexport.models.loading import random_image_inputs, random_text_inputs
from encexport.models.patching import PatchedSelfAttention

FAMILIES = ["bert", "roberta", "xlm-roberta", "distilbert", "vit", "modernbert"]
TOL = 1e-4


def inputs_for(recipe, config, *, batch, seq, seed):
    if recipe.modality == "image":
        return random_image_inputs(config, batch=batch, seed=seed)
    return random_text_inputs(config, recipe.input_names, batch=batch, seq=seq, seed=seed)


def reference_hidden(model, inputs):
    """The unmodified model, called directly with its own mask handling."""
    with torch.no_grad():
        return model(**inputs).last_hidden_state


def valid_tokens(inputs, hidden):
    mask = inputs.get("attention_mask")
    return mask.bool() if mask is not None else torch.ones(hidden.shape[:2], dtype=torch.bool)


@pytest.mark.parametrize("family", FAMILIES)
def test_patched_matches_unpatched_eager(family):
    recipe = get_recipe(family)
    reference, patched, _ = build_encoders(recipe)
    original = {k: v for k, v in reference.model.state_dict().items()}
    inputs = inputs_for(recipe, reference.model.config, batch=3, seq=12, seed=1)
    if "attention_mask" in inputs:
        assert len(set(inputs["attention_mask"].sum(-1).tolist())) == 3  # uneven lengths
    expected = reference_hidden(reference.model, inputs)
    with torch.no_grad():
        hidden, pooled = patched(**inputs)
        _, ref_pooled = reference(**inputs)
    valid = valid_tokens(inputs, expected)
    assert (hidden - expected)[valid].abs().max().item() <= TOL
    assert (pooled - ref_pooled).abs().max().item() <= TOL
    assert len(patched.slot.attention_modules) == reference.model.config.num_hidden_layers
    if recipe.handling == "rule":
        layers = [m for m in patched.modules() if isinstance(m, PatchedSelfAttention)]
        assert len(layers) == reference.model.config.num_hidden_layers
    else:  # through the attention interface: no module replaced
        assert patched.model.config._attn_implementation == "encexport"
        assert not any(isinstance(m, PatchedSelfAttention) for m in patched.modules())
    state = patched.model.state_dict()
    assert state.keys() == original.keys()  # same names: projections kept under their attribute names
    assert all(torch.equal(state[k], original[k]) for k in original)


EXPORTS = [(f, "dynamo") for f in FAMILIES] + [("bert", "legacy"), ("distilbert", "legacy"), ("vit", "legacy")]


@pytest.mark.parametrize("family,exporter", EXPORTS, ids=[f"{f}-{e}" for f, e in EXPORTS])
def test_export_runs_in_ort_and_matches_pytorch(family, exporter, tmp_path, ort_library):
    from encexport import ort

    recipe = get_recipe(family)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = export(recipe, tmp_path, exporter=exporter)
    model = onnx.load(str(result.path))
    reference, _, _ = build_encoders(recipe)
    config = reference.model.config
    nodes = [n for n in model.graph.node if n.op_type == "EncoderOnlyAttention"]
    assert len(nodes) == config.num_hidden_layers and all(n.domain == "encexport" for n in nodes)
    for n in nodes:
        attrs = {a.name: helper.get_attribute_value(a) for a in n.attribute}
        assert attrs["causal"] == 0
        assert (attrs["num_heads"], attrs["head_size"]) == (4, 16)
        assert len(n.input) == (3 if recipe.modality == "image" else 4)  # images: no lengths input
    assert [i.name for i in model.graph.input] == list(recipe.input_names)
    assert [o.name for o in model.graph.output] == list(recipe.output_names)

    # Other batch/sequence sizes than the export's sample: the axes are dynamic.
    inputs = inputs_for(recipe, config, batch=4, seq=9, seed=7)
    session = ort.session(result.path)
    hidden, pooled = session.run(list(recipe.output_names), {k: v.numpy() for k, v in inputs.items()})
    expected = reference_hidden(reference.model, inputs)
    with torch.no_grad():
        _, ref_pooled = reference(**inputs)
    valid = valid_tokens(inputs, expected).numpy()
    assert np.abs(hidden - expected.numpy())[valid].max() <= TOL
    assert np.abs(pooled - ref_pooled.numpy()).max() <= TOL


TEXT_FAMILIES = [f for f in FAMILIES if f != "vit"]


@pytest.mark.parametrize("family", TEXT_FAMILIES)
def test_packed_variant_matches_unpatched_eager(family):
    recipe = get_recipe(family)
    reference, patched, _ = build_encoders(recipe, layout="packed")
    inputs = random_text_inputs(reference.model.config, recipe.input_names, batch=3, seq=12, seed=4)
    expected = reference_hidden(reference.model, inputs)
    with torch.no_grad():
        hidden, pooled = patched(**inputs)
        _, ref_pooled = reference(**inputs)
    assert (hidden - expected)[inputs["attention_mask"].bool()].abs().max().item() <= TOL
    assert not hidden[~inputs["attention_mask"].bool()].any()  # unpacked with zeros at padding
    assert (pooled - ref_pooled).abs().max().item() <= TOL


# RoBERTa: positions counted from pad_token_id + 1; BERT: token types packed too.
PACKED_EXPORTS = [("roberta", "dynamo"), ("bert", "legacy")]


@pytest.mark.parametrize("family,exporter", PACKED_EXPORTS, ids=[f"{f}-{e}" for f, e in PACKED_EXPORTS])
def test_packed_export_runs_in_ort_and_matches_pytorch(family, exporter, tmp_path, ort_library):
    from encexport import ort

    recipe = get_recipe(family)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = export(recipe, tmp_path, exporter=exporter, layout="packed")
    model = onnx.load(str(result.path))
    nodes = [n for n in model.graph.node if n.op_type == "EncoderOnlyAttention"]
    assert len(nodes) == 2
    for n in nodes:
        attrs = {a.name: helper.get_attribute_value(a) for a in n.attribute}
        assert attrs["causal"] == 0 and attrs["layout"] == b"packed"
    assert [i.name for i in model.graph.input] == list(recipe.input_names)
    reference, _, _ = build_encoders(recipe)
    inputs = random_text_inputs(reference.model.config, recipe.input_names, batch=4, seq=9, seed=7)
    hidden, pooled = ort.session(result.path).run(list(recipe.output_names), {k: v.numpy() for k, v in inputs.items()})
    expected = reference_hidden(reference.model, inputs)
    with torch.no_grad():
        _, ref_pooled = reference(**inputs)
    assert np.abs(hidden - expected.numpy())[inputs["attention_mask"].bool().numpy()].max() <= TOL
    assert np.abs(pooled - ref_pooled.numpy()).max() <= TOL


def test_image_encoder_has_no_packed_variant():
    with pytest.raises(ValueError, match="no packed variant"):
        build_encoders(get_recipe("vit"), layout="packed")


def test_modernbert_narrow_sliding_window_is_refused_untouched():
    model, _, _ = modernbert.load(layer_types=["full_attention", "sliding_attention"], local_attention=16)
    before = [type(m).__name__ for m in model.modules()]
    with pytest.raises(UnsupportedModelError, match=r"unsupported: sliding-window attention .* in layer layers\.1\.attn "
                                                    r"\(ModernBertAttention\); the encexport node implements full "
                                                    "bidirectional attention"):
        modernbert.patch(model)
    assert [type(m).__name__ for m in model.modules()] == before  # nothing half-patched
    assert model.config._attn_implementation == "eager"  # the implementation is restored


def test_modernbert_window_covering_all_positions_exports_as_full_attention():
    # Alternating local/global layers whose local window spans max_position_embeddings: the band mask removes
    # nothing, and the local layers keep their own rotary base.
    model, _, pooling = modernbert.load(layer_types=["sliding_attention", "full_attention"], local_attention=128)
    assert model.config.layer_types[0] == "sliding_attention"
    rope = model.config.rope_parameters
    assert rope["sliding_attention"]["rope_theta"] != rope["full_attention"]["rope_theta"]
    patched_model = copy.deepcopy(model)  # its own config: the patch selects the attention implementation there
    patched = SentenceEncoder(patched_model, pooling, modernbert.patch(patched_model)).eval()
    inputs = random_text_inputs(model.config, ("input_ids", "attention_mask"), batch=3, seq=40, seed=2)
    expected = reference_hidden(model, inputs)
    with torch.no_grad():
        hidden, _ = patched(**inputs)
    assert (hidden - expected)[inputs["attention_mask"].bool()].abs().max().item() <= TOL


def test_local_checkpoint_folder_uses_the_family_recipe(tmp_path):
    from encexport.models import bert

    model, _, _ = bert.load()
    model.save_pretrained(tmp_path)
    recipe = get_recipe(str(tmp_path))
    assert recipe.name == str(tmp_path) and recipe.patch is bert.patch
    reference, patched, tokenizer = build_encoders(recipe)
    assert tokenizer is None
    inputs = random_text_inputs(model.config, recipe.input_names, seed=3)
    with torch.no_grad():
        hidden, _ = patched(**inputs)
    expected = reference_hidden(model, inputs)
    assert (hidden - expected)[inputs["attention_mask"].bool()].abs().max().item() <= TOL


def test_unknown_architecture_names_the_supported_ones_and_how_to_add_one():
    with pytest.raises(ValueError) as info:
        get_recipe("gpt2")
    message = str(info.value)
    for name in ("all-MiniLM-L6-v2", "bert", "roberta", "xlm-roberta", "distilbert", "vit", "modernbert"):
        assert name in message
    assert "models/<family>.py" in message and "recipe" in message
