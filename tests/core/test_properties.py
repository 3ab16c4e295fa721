"""Property tests: any text a user (or a file) can hold survives composing and saving."""

from __future__ import annotations

import unicodedata

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from workbench.compose import compose
from workbench.library import load_library, new_library
from workbench.spec import TEXT_FIELDS, VARIANTS, Lora, Params, PromptSpec

text = st.text(max_size=60)
specs = st.builds(
    PromptSpec,
    name=st.text(min_size=1, max_size=20).filter(str.strip),
    model=st.sampled_from(VARIANTS),
    tags=st.lists(st.text(min_size=1, max_size=8), max_size=3),
    notes=text, raw=st.one_of(st.just(""), text),
    params=st.builds(Params, seed=st.one_of(st.none(), st.integers(0, 2**63 - 1)),
                     guidance=st.one_of(st.none(), st.floats(0, 10, allow_nan=False)),
                     loras=st.lists(st.builds(Lora, name=st.text(min_size=1, max_size=10),
                                              strength=st.floats(-2, 2, allow_nan=False),
                                              triggers=st.lists(text, max_size=2)),
                                    max_size=2)),
    **{name: text for name in TEXT_FIELDS},
)


@given(specs)
def test_composed_text_has_no_control_characters_and_is_stable(spec):
    out = compose(spec)
    assert out == compose(spec.copy())
    assert not any(unicodedata.category(c) == "Cc" for c in out)
    assert out == out.strip() and "  " not in out


@settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(specs, min_size=1, max_size=3))
def test_library_save_and_reload_keeps_every_field(tmp_path, batch):
    path = tmp_path / "prop.toml"
    path.unlink(missing_ok=True)
    library = new_library(path, "Props")
    for spec in batch:
        library.add(spec.copy())
    library.save(force=True)
    again = load_library(path)
    assert again.problems == []
    for original, loaded in zip(library.prompts, again.prompts):
        assert loaded == original
    before = path.read_bytes()
    again.save(force=True)
    assert path.read_bytes() == before
