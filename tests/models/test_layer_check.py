"""The per-layer check (encexport.check.layers) passes right patches and catches a wrong one where it enters."""

import pytest

from encexport.check.layers import check_layers
from encexport.models import get_recipe
from encexport.models.patching import AttentionRule, patch_attention


@pytest.mark.parametrize("name", ["bert", "mpnet", "t5", "beit", "deberta-v2", "modernbert"])
def test_right_patch_passes_every_layer_at_trained_scale(name):
    report = check_layers(get_recipe(name))
    assert report.passed, report.lines()
    assert len(report.rows) >= 2 and len(set(report.lengths)) == 3 or get_recipe(name).modality != "text"


def mpnet_without_its_bias(model):
    rule = AttentionRule("MPNetSelfAttention", q="q", k="k", v="v", out="o")  # no bias=("position_bias", 1)
    return patch_attention(model, (rule,), model.config.num_attention_heads)


def test_mpnet_patched_without_its_relative_bias_fails_at_the_first_layer():
    report = check_layers(get_recipe("mpnet"), patch=mpnet_without_its_bias)
    assert not report.passed
    bad = report.first_failure()
    assert bad.module == "encoder.layer.0.attention.attn" and bad.call == 0
    assert bad.max_abs > 100 * 1e-4
    assert any("first wrong layer    encoder.layer.0.attention.attn" in line for line in report.lines())
