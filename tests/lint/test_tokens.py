"""Exact token counts with the vendored T5 and CLIP-L tokenizers."""

from __future__ import annotations

from workbench import tokens
from workbench.lint import lint

from .conftest import make, pointed


def test_clip_l_tokenises_like_clip():
    clip = tokens._load_clip()
    # OpenAI CLIP's ids for "a photo of a cat" (start 49406 and end 49407 added by count)
    assert clip.encode("a photo of a cat", add_special_tokens=False).ids == [
        320, 1125, 539, 320, 2368]
    assert clip.encode("A   PHOTO of a Cat", add_special_tokens=False).ids == [
        320, 1125, 539, 320, 2368]  # lower case, spaces collapsed
    assert tokens.count("a photo of a cat").clip == 7
    # rare words go through the merges (the merges file's "#version" line is skipped);
    # non-ASCII goes through the byte-level alphabet
    encoded = clip.encode("hyperrealistic bokeh, Kodak Portra", add_special_tokens=False)
    assert encoded.tokens == ["hyper", "realistic</w>", "bo", "keh</w>", ",</w>",
                              "kodak</w>", "por", "tra</w>"]
    assert encoded.ids == [7997, 16157, 647, 36983, 267, 30425, 817, 2483]
    assert clip.encode("naïve café 東京", add_special_tokens=False).ids == [
        1097, 35689, 563, 15304, 48338, 21078, 361]


def test_t5_counts_include_the_end_token():
    counted = tokens.count("A cat holding a sign that says hello world")
    assert counted.t5 == 11  # ▁A ▁cat ▁holding ▁ a ▁sign ▁that ▁says ▁hello ▁world </s>
    assert tokens.count("").t5 == 1


def test_the_clip_window_end_is_found():
    text = "red fox " * 60  # 120 words: past CLIP-L's 77 tokens
    counted = tokens.count(text)
    assert counted.clip == 122 and counted.clip_cut is not None
    inside = text[:counted.clip_cut]
    assert tokens.count(inside).clip == 77  # start + 75 + end
    assert tokens.count("a red fox").clip_cut is None


def test_counts_are_cached_per_text():
    tokens.count.cache_clear()
    tokens.count("an owl at dusk")
    tokens.count("an owl at dusk")
    info = tokens.count.cache_info()
    assert info.hits == 1 and info.misses == 1


def test_t5_budget_per_model_and_the_cut():
    text = "A harbour at dusk with boats and lanterns. " * 60  # ~600 tokens
    assert tokens.count(text).over_budget("dev")
    cut = tokens.t5_cut(text, 512)
    assert cut is not None and tokens.count(text[:cut]).t5 <= 512
    assert tokens.t5_cut("a short prompt", 512) is None


def test_prompt_length_reports_exact_counts_and_marks_what_is_cut():
    text = "A busy night market with lanterns and noodle stalls. " * 30
    spec = make(model="schnell", raw=text)
    [d] = [d for d in lint(spec) if d.rule == "prompt-length"]
    counted = tokens.count(text.strip()).t5
    assert f"{counted} T5 tokens" in d.message and "256" in d.message
    assert "estimate" not in d.message
    cut = pointed(spec, d)
    assert 0 < len(cut) < len(text) and text.rstrip().endswith(cut)
    assert not [d for d in lint(make(raw=text)) if d.rule == "prompt-length"]  # dev: 512


def test_subject_after_the_clip_window_is_said():
    preamble = ", ".join(["masterpiece", "best quality", "8k", "cinematic lighting",
                          "volumetric light", "dramatic", "moody"] * 6)
    spec = make(raw=f"{preamble}, a lighthouse keeper on a rocky cliff")
    [d] = [d for d in lint(spec) if d.rule == "subject-late"]
    assert "77-token" in d.message
