import pytest

from workbench.presets import ASPECTS, aspect_size, effective_params, load_presets
from workbench.spec import Params, PromptSpec


def test_bundled_presets_load_cleanly():
    presets = load_presets()
    assert presets.problems == []
    assert presets.get("fast").values == {"steps": 20}
    assert presets.get("quality").values["steps"] == 50
    assert presets.get("draft").model == "schnell"
    assert {"balanced", "portrait", "landscape", "photorealistic", "artistic"} <= set(
        presets.presets)


def test_precedence_prompt_then_preset_then_variant():
    spec = PromptSpec(name="x", params=Params(preset="portrait", guidance=3.0))
    params = effective_params(spec)
    assert (params.width, params.height) == (896, 1120)  # from the preset
    assert params.guidance == 3.0  # the prompt's own value wins
    assert params.steps == 28  # neither: dev's default
    spec.params.preset = "no-such-preset"
    assert effective_params(spec).width == 1024


def test_user_presets_extend_and_override(tmp_path):
    user = tmp_path / "presets.toml"
    user.write_text('[fast]\nsteps = 24\n[square-hd]\nwidth = 1440\nheight = 1440\n'
                    '[broken]\nsteps = "many"\nwat = 1\n')
    presets = load_presets(user)
    assert presets.get("fast").values == {"steps": 24}
    assert presets.get("square-hd").values == {"width": 1440, "height": 1440}
    assert len(presets.problems) == 2 and all("[broken]" in p for p in presets.problems)
    spec = PromptSpec(name="x", params=Params(preset="square-hd"))
    assert effective_params(spec, presets).width == 1440


@pytest.mark.parametrize("aspect", list(ASPECTS))
def test_aspect_sizes_are_flux_friendly(aspect):
    a, b = ASPECTS[aspect]
    for hd, low, high in ((False, 0.85e6, 1.15e6), (True, 1.8e6, 2.2e6)):
        width, height = aspect_size(aspect, hd=hd)
        assert width % 16 == 0 and height % 16 == 0
        assert low <= width * height <= high
        assert abs(width / height - a / b) / (a / b) < 0.03


def test_common_sizes():
    assert aspect_size("1:1") == (1024, 1024)
    assert aspect_size("16:9") == (1360, 768)
    assert aspect_size("2:3") == (832, 1248)
