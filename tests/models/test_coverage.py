"""Every encoder family encexport lists, exported and checked (or refused as documented), one test per family.

Each family: its small random config, the padded layout through both exporters, the packed layout where the
family has one, each ONNX model run in ONNX Runtime CPU with our library against the unmodified model at other
shapes than the export's (uneven right padding). A refused family must raise UnsupportedModelError with the
reason its recipe documents, before anything is exported.
"""

import warnings

import numpy as np
import onnx
import pytest
import torch

from encexport.export import build_encoders, export
from encexport.models import UnsupportedModelError, get_recipe, recipes

# What the project promises to cover (README's model table); the registry must list each one.
PROMISED = ["bert", "roberta", "xlm-roberta", "distilbert", "electra", "camembert", "albert", "mpnet", "deberta-v2",
            "modernbert", "t5", "vit", "beit", "clip-vision", "clip-text", "whisper"]
TOL = 2e-4
# Families whose nodes carry the attn_bias input (relative position biases).
WITH_BIAS = {"mpnet", "deberta-v2", "t5", "beit"}


def test_every_promised_family_is_registered_with_its_handling():
    by_name = {r.name: r for r in recipes()}
    assert set(PROMISED) <= set(by_name)
    for name in PROMISED:
        recipe = by_name[name]
        assert recipe.handling in ("interface", "rule", "refused")
        assert recipe.handling != "refused" or recipe.note


def other_inputs(recipe, config):
    """Other shapes than the export's sample: batch 4, sequence 9 (text), uneven right padding."""
    if recipe.modality == "text":
        return recipe.example_inputs(config, recipe.input_names, batch=4, seq=9, seed=7)
    return recipe.example_inputs(config, recipe.input_names, batch=3, seed=7)


def check_in_ort(recipe, path, reference):
    from encexport import ort

    inputs = other_inputs(recipe, reference.model.config)
    outputs = ort.session(path).run(list(recipe.output_names), {k: v.numpy() for k, v in inputs.items()})
    with torch.no_grad():
        expected = reference(**inputs)
    mask = inputs.get("attention_mask")
    valid = mask.bool().numpy() if mask is not None else np.ones(outputs[0].shape[:2], dtype=bool)
    assert np.abs(outputs[0] - expected[0].numpy())[valid].max() <= TOL
    assert np.abs(outputs[1] - expected[1].numpy()).max() <= TOL


@pytest.mark.parametrize("name", PROMISED)
def test_family_exports_and_matches_or_is_refused(name, tmp_path, ort_library):
    recipe = get_recipe(name)
    if recipe.handling == "refused":
        with pytest.raises(UnsupportedModelError, match="causal attention"):
            build_encoders(recipe)
        with pytest.raises(UnsupportedModelError):
            export(recipe, tmp_path, exporter="legacy")
        assert not (tmp_path / "model.onnx").exists()
        return
    reference, _, _ = build_encoders(recipe)
    config = reference.model.config
    layers = getattr(config, "num_hidden_layers", None) or config.num_layers
    runs = [("legacy", "padded"), ("dynamo", "padded")]
    if recipe.first_position is not None:
        runs.append(("legacy", "packed"))
    for exporter, layout in runs:
        out = tmp_path / f"{exporter}-{layout}"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = export(recipe, out, exporter=exporter, layout=layout)
        graph = onnx.load(str(result.path)).graph
        nodes = [n for n in graph.node if n.op_type == "EncoderOnlyAttention" and n.domain == "encexport"]
        assert len(nodes) == layers, (exporter, layout, len(nodes))
        if name in WITH_BIAS:
            assert all(len(n.input) == 5 and n.input[4] for n in nodes)  # attn_bias is the 5th input
        else:
            assert all(len(n.input) <= 4 for n in nodes)
        check_in_ort(recipe, result.path, reference)


def test_hub_id_of_the_shipped_model_maps_to_it_and_a_missing_folder_is_not_found(tmp_path):
    assert get_recipe("sentence-transformers/all-MiniLM-L6-v2").name == "all-MiniLM-L6-v2"
    for name in (str(tmp_path / "missing"), "sentence-transformers/all-mpnet-base-v2"):
        with pytest.raises(FileNotFoundError, match=r"^not found: ") as info:
            get_recipe(name)
        assert "no recipe" not in str(info.value)
    with pytest.raises(FileNotFoundError, match="no config.json"):
        get_recipe(str(tmp_path))


def test_checkpoint_of_a_family_without_recipe_goes_through_the_interface(tmp_path, ort_library):
    import transformers

    config = transformers.ErnieConfig(hidden_size=64, num_hidden_layers=2, num_attention_heads=4,
                                      intermediate_size=128, vocab_size=256, max_position_embeddings=64)
    torch.manual_seed(0)
    transformers.ErnieModel(config).save_pretrained(tmp_path / "ernie")
    recipe = get_recipe(str(tmp_path / "ernie"))
    assert recipe.handling == "interface" and recipe.model_types == ("ernie",) and not recipe.random_weights
    reference, patched, _ = build_encoders(recipe)
    assert patched.slot.attention_modules == ("encoder.layer.0.attention.self", "encoder.layer.1.attention.self")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = export(recipe, tmp_path / "out", exporter="legacy")
    check_in_ort(recipe, result.path, reference)


def test_causal_checkpoint_is_refused_at_patch_time_naming_the_layer(tmp_path):
    import transformers

    config = transformers.CLIPTextConfig(hidden_size=64, num_hidden_layers=2, num_attention_heads=4,
                                         intermediate_size=128, vocab_size=256, max_position_embeddings=64,
                                         bos_token_id=1, eos_token_id=2, pad_token_id=0)
    transformers.CLIPTextModel(config).save_pretrained(tmp_path)
    with pytest.raises(UnsupportedModelError, match=r"unsupported: causal attention .* in layer "
                                                    r"encoder\.layers\.0\.self_attn \(CLIPAttention\)"):
        build_encoders(get_recipe(str(tmp_path)))


def test_models_command_lists_every_family_and_how_it_is_handled(capsys):
    from encexport.cli.main import main

    assert main(["models"]) == 0
    out = capsys.readouterr().out
    for name in PROMISED:
        assert name in out
    assert "transformers' attention interface" in out and "attention rule" in out
    assert "refused" in out and "causal attention" in out
