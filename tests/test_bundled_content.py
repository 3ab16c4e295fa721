"""The bundled example libraries and themes: they load cleanly and teach good habits.

The example prompts are the first thing a new user copies, so they are held to the FLUX
guide's rules (seed 000): sensible length, no Stable Diffusion weight syntax, no "white
background" on dev, sizes in multiples of 16, variant-appropriate steps and guidance,
Kontext edits that chain correctly.  The themes must be real Textual themes with readable
contrast.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import fields
from pathlib import Path

import pytest

from workbench.compose import compose, word_count
from workbench.library import load_library
from workbench.locations import bundled_prompts_dir, bundled_themes_dir
from workbench.spec import TOOL_GUIDANCE, VARIANTS, PromptSpec, tool_guidance, tools_problem

PROMPTS_DIR = bundled_prompts_dir()
THEMES_DIR = bundled_themes_dir()
# pitfalls.toml is a catalogue of deliberately bad prompts for the linter; not an example.
LIBRARY_FILES = sorted(p for p in PROMPTS_DIR.glob("*.toml") if p.name != "pitfalls.toml")
THEME_FILES = sorted(THEMES_DIR.glob("*.toml"))

SD_WEIGHT = re.compile(r"\([^()]*:\s*[0-9]*\.?[0-9]+\s*\)|\(\(|\)\)|\[\[|\]\]")
HEX = re.compile(r"^#[0-9a-fA-F]{6}$")
LIGHT_WORDS = re.compile(r"light|\blit\b|glow|sun|shadow", re.IGNORECASE)
REPLACE_TEXT = re.compile(r"\bReplace '[^']+' with '[^']+'")


def _libraries():
    return [load_library(path) for path in LIBRARY_FILES]


def _all_prompts() -> list[tuple[Path, PromptSpec]]:
    return [(lib.path, spec) for lib in _libraries() for spec in lib.prompts]


def _ids(items):
    return [f"{path.name}:{spec.name}" for path, spec in items]


ALL = _all_prompts()


# -- libraries ------------------------------------------------------------------------------

def test_bundled_folders_hold_libraries_and_themes():
    assert PROMPTS_DIR.is_dir() and THEMES_DIR.is_dir()
    assert len(LIBRARY_FILES) >= 3
    assert len(THEME_FILES) >= 4


@pytest.mark.parametrize("path", LIBRARY_FILES, ids=lambda p: p.name)
def test_library_loads_with_no_problems(path):
    library = load_library(path)
    assert library.problems == []
    assert library.prompts, f"{path.name} has no prompts"
    assert library.title != path.stem, "bundled libraries carry a human title"
    names = [spec.name for spec in library.prompts]
    assert len(names) == len(set(names)), f"duplicate names in {path.name}"


@pytest.mark.parametrize("path", LIBRARY_FILES, ids=lambda p: p.name)
def test_library_round_trips_byte_for_byte(path):
    # The files are full of comments and multi-line notes; an unchanged save must keep them.
    library = load_library(path)
    assert not library.dirty
    assert library.render() == path.read_text(encoding="utf-8")


def test_enough_prompts_and_every_variant_is_shown():
    assert len(ALL) >= 14
    assert {spec.model for _, spec in ALL} == set(VARIANTS)
    names = [spec.name for _, spec in ALL]
    assert len(names) == len(set(names)), "names are unique across the bundled libraries"


@pytest.mark.parametrize("path,spec", ALL, ids=_ids(ALL))
def test_composed_text_follows_the_guide(path, spec):
    text = compose(spec)
    assert 20 <= word_count(text) <= 110, f"{word_count(text)} words: {text}"
    assert not SD_WEIGHT.search(text), "FLUX ignores Stable Diffusion weight syntax"
    assert "white background" not in text.lower()
    assert spec.tags, "every example is tagged"
    assert len(spec.notes.split()) >= 15, "notes say where the prompt comes from and why"
    if not spec.is_raw:
        subject = spec.subject.strip()
        assert subject, "structured prompts lead with a subject"
        assert text.lower().startswith(subject.lower()), "the subject comes first"
        assert LIGHT_WORDS.search(text), "lighting is described"
        assert text.count('"') in (0, 2), "quotes only for the one in-image text"


@pytest.mark.parametrize("path,spec", ALL, ids=_ids(ALL))
def test_params_suit_the_variant(path, spec):
    p = spec.params
    assert p.seed is not None, "a fixed seed makes results reproducible"
    assert (p.width is None) == (p.height is None)
    if p.width is not None:
        assert p.width % 16 == 0 and p.height % 16 == 0
        assert 0.5e6 <= p.width * p.height <= 2.1e6, "around one megapixel"
    if spec.model == "schnell":
        assert 1 <= p.steps <= 4
        assert p.guidance is None, "schnell ignores guidance"
    elif spec.model == "dev" and tool_guidance(spec) is not None:
        assert 20 <= p.steps <= 50
        # Fill / Canny / Depth: BFL's guidance, best left to the tool's default
        assert p.guidance in (None, tool_guidance(spec)), TOOL_GUIDANCE
    elif spec.model == "dev":
        assert 20 <= p.steps <= 50
        assert 2.0 <= p.guidance <= 3.5
    else:
        assert 20 <= p.steps <= 50
        assert 2.0 <= p.guidance <= 3.5
        assert spec.is_raw, "Kontext prompts are instructions, written in raw"
        assert spec.follows or spec.source_image, "a Kontext edit needs an image to edit"
        assert p.width is None, "an edit keeps the size of its input"
    if spec.source_image:
        assert p.width is None, "img2img keeps the source image's dimensions"


def test_an_img2img_example_with_a_sensible_denoise():
    img2img = [spec for _, spec in ALL if spec.model == "dev" and spec.source_image
               and not spec.tools.fill]
    assert img2img
    for spec in img2img:
        assert 0.6 <= spec.params.denoise <= 0.8
    for _, spec in ALL:
        if not spec.source_image and not spec.follows:
            assert spec.params.denoise in (None, 1.0)


def test_lora_examples_use_their_trigger_words():
    with_loras = [spec for _, spec in ALL if spec.params.loras]
    assert with_loras
    for spec in with_loras:
        text = compose(spec).lower()
        for lora in spec.params.loras:
            assert lora.name.endswith(".safetensors")
            assert 0.0 < lora.strength <= 1.5
            assert lora.triggers, f"{lora.name} has no trigger words"
            for trigger in lora.triggers:
                assert trigger.lower() in text, f"trigger {trigger!r} missing from the text"
                assert text.index(trigger.lower()) < 20, "the trigger opens the prompt"


@pytest.mark.parametrize("path", LIBRARY_FILES, ids=lambda p: p.name)
def test_kontext_chains_follow_earlier_prompts_in_the_same_file(path):
    prompts = load_library(path).prompts
    position = {spec.name: i for i, spec in enumerate(prompts)}
    for i, spec in enumerate(prompts):
        if spec.follows:
            assert spec.follows in position, f"{spec.name!r} follows a missing prompt"
            assert position[spec.follows] < i, "a chain reads top to bottom"
            assert spec.model == "kontext"


def test_a_kontext_chain_of_at_least_three_edits_with_a_text_replacement():
    by_name = {spec.name: spec for _, spec in ALL}
    longest: list[PromptSpec] = []
    for spec in by_name.values():
        chain = [spec]
        while chain[-1].follows:
            chain.append(by_name[chain[-1].follows])
            assert len(chain) < 20, "follows chains must not loop"
        edits = [s for s in chain if s.model == "kontext"]
        if len(edits) > len(longest):
            longest = edits
    assert 3 <= len(longest) <= 6, "seed 001: quality drops after about six edits"
    assert any(REPLACE_TEXT.search(s.raw) for s in longest)
    for edit in longest:
        assert re.search(r"\bkeep(ing)?\b|\bpreserv", edit.raw), "say what must stay"


# -- themes ---------------------------------------------------------------------------------

THEME_FIELDS = {"name", "dark", "primary", "secondary", "accent", "foreground", "background",
                "surface", "panel", "success", "warning", "error", "boost", "variables",
                "luminosity_spread", "text_alpha"}
COLOUR_FIELDS = ("primary", "secondary", "accent", "foreground", "background", "surface",
                 "panel", "success", "warning", "error", "boost")
TEXT_STYLES = {"none", "bold", "italic", "underline", "reverse", "strike", "dim", "b", "i",
               "u", "not"}


def _theme_data(path: Path) -> dict:
    with path.open("rb") as handle:
        return tomllib.load(handle)


def _luminance(hex_colour: str) -> float:
    channels = [int(hex_colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a: str, b: str) -> float:
    high, low = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_contrast_helper_matches_wcag_reference_values():
    assert contrast("#000000", "#ffffff") == pytest.approx(21.0)
    assert contrast("#777777", "#ffffff") == pytest.approx(4.48, abs=0.01)


@pytest.mark.parametrize("path", THEME_FILES, ids=lambda p: p.name)
def test_theme_file_is_a_valid_textual_theme(path):
    from textual.theme import Theme

    data = _theme_data(path)
    assert set(data) <= THEME_FIELDS, f"unknown keys: {set(data) - THEME_FIELDS}"
    assert {f.name for f in fields(Theme)} >= THEME_FIELDS
    assert data["name"] == path.stem, "the file is named after its theme"
    assert isinstance(data["dark"], bool)
    for key in COLOUR_FIELDS:
        if key != "boost":
            assert key in data, f"{path.name} lacks {key}"
        if key in data:
            assert HEX.match(data[key]), f"{key} = {data[key]!r} is not #rrggbb"
    variables = data.get("variables", {})
    for key, value in variables.items():
        if key.endswith("-text-style"):
            assert set(value.split()) <= TEXT_STYLES, f"{key} = {value!r}"
        else:
            assert HEX.match(value) or re.fullmatch(r"auto \d{1,3}%", value), f"{key}={value!r}"
    generated = Theme(**data).to_color_system().generate()
    for key, value in variables.items():
        assert key in generated, f"{key} is not a Textual design variable"
        assert generated[key] == value


def test_theme_names_are_unique_and_the_defaults_exist():
    themes = {path: _theme_data(path) for path in THEME_FILES}
    names = [data["name"] for data in themes.values()]
    assert len(names) == len(set(names))
    by_name = {data["name"]: data for data in themes.values()}
    assert by_name["workbench-dark"]["dark"] is True
    assert by_name["workbench-light"]["dark"] is False
    assert "high-contrast" in by_name


@pytest.mark.parametrize("path", THEME_FILES, ids=lambda p: p.name)
def test_theme_text_is_readable(path):
    data = _theme_data(path)
    for ground in ("background", "surface", "panel"):
        assert contrast(data["foreground"], data[ground]) >= 4.5, f"foreground on {ground}"
    for key in ("primary", "accent", "success", "warning", "error"):
        assert contrast(data[key], data["background"]) >= 3.0, f"{key} on background"


def test_high_contrast_theme_is_black_white_yellow_and_aaa():
    data = _theme_data(THEMES_DIR / "high-contrast.toml")
    assert data["background"] == data["surface"] == data["panel"] == "#000000"
    assert data["foreground"] == "#ffffff"
    assert data["primary"] == data["accent"] == "#ffff00"
    for key in ("foreground", "primary", "secondary", "accent", "success", "warning", "error"):
        assert contrast(data[key], "#000000") >= 7.0, key
    variables = data["variables"]
    assert variables["block-cursor-background"] == "#ffff00"
    assert variables["block-cursor-foreground"] == "#000000"


async def test_textual_applies_every_bundled_theme():
    from textual.app import App, ComposeResult
    from textual.theme import Theme
    from textual.widgets import Static

    from tests.tui.helpers import wait_until

    class Probe(App):
        CSS = "#box { background: $surface; color: $foreground; border: solid $border; }"

        def compose(self) -> ComposeResult:
            yield Static("prompt", id="box")

    themes = [Theme(**_theme_data(path)) for path in THEME_FILES]
    app = Probe()
    async with app.run_test(size=(40, 8)) as pilot:
        for theme in themes:
            app.register_theme(theme)
        for theme in themes:
            app.theme = theme.name
            box = app.query_one("#box")
            await wait_until(pilot, lambda box=box, theme=theme:
                             box.styles.background.hex.lower() == theme.surface.lower())
            assert app.current_theme.name == theme.name
            assert box.styles.background.hex.lower() == theme.surface.lower()
            assert box.styles.color.hex.lower() == theme.foreground.lower()
            border = theme.variables.get("border", theme.primary)
            assert box.styles.border_top[1].hex.lower() == border.lower()


def test_the_tools_library_shows_every_tool_with_images_that_exist():
    tools = [(path, spec) for path, spec in ALL if spec.tools.used]
    names = {name for _, spec in tools for name in spec.tools.names()}
    assert {"fill", "outpaint", "canny", "depth", "redux"} <= names
    for path, spec in tools:
        assert tools_problem(spec) is None, spec.name
        images = [spec.tools.mask, spec.tools.control_image, spec.source_image,
                  *(ref.image for ref in spec.tools.redux)]
        for image in filter(None, images):
            assert (path.parent / image).is_file(), f"{spec.name}: {image}"
