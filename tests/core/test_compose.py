from workbench.compose import clean, compose, sentence, word_count
from workbench.spec import Lora, Params, PromptSpec


def test_full_spec_composes_in_priority_order():
    spec = PromptSpec(
        name="fox",
        subject="a red fox",
        action="leaping over a frozen stream",
        style="wildlife photograph with crisp winter light",
        context="early morning in a Finnish forest",
        foreground="ice crystals on reeds",
        midground="the fox mid-air",
        background="snow-covered pines",
        camera="shot on a 400mm lens at f/4",
    )
    assert compose(spec) == (
        "A red fox leaping over a frozen stream. "
        "Wildlife photograph with crisp winter light. "
        "Early morning in a Finnish forest. "
        "In the foreground, ice crystals on reeds; in the middle ground, the fox mid-air; "
        "in the background, snow-covered pines. "
        "Shot on a 400mm lens at f/4."
    )


def test_in_image_text_is_quoted_once():
    spec = PromptSpec(name="poster", subject="a retro travel poster of Lisbon", text="LISBOA 1962")
    assert compose(spec) == ('A retro travel poster of Lisbon. '
                             'The image shows the text "LISBOA 1962", spelled exactly.')
    spec.subject = 'a retro travel poster of Lisbon titled "LISBOA 1962"'
    assert compose(spec).count('"LISBOA 1962"') == 1


def test_only_some_layers():
    spec = PromptSpec(name="x", subject="a lighthouse", background="storm clouds.")
    assert compose(spec) == "A lighthouse. In the background, storm clouds."


def test_raw_mode_ignores_structured_fields_and_cleans_whitespace():
    spec = PromptSpec(name="x", subject="ignored",
                      raw="  Make the car red\n while keeping\tthe rest. ")
    assert compose(spec) == "Make the car red while keeping the rest."


def test_control_characters_never_reach_the_prompt():
    spec = PromptSpec(name="x", subject="a cat\x1b[31m\x07 on a mat")
    assert compose(spec) == "A cat[31m on a mat."


def test_empty_spec_composes_to_empty_text():
    assert compose(PromptSpec(name="empty")) == ""


def test_existing_punctuation_is_respected():
    assert sentence("What a view!") == "What a view!"
    assert sentence("soft light,") == "Soft light."
    assert sentence('a sign that says "OPEN."') == 'A sign that says "OPEN."'
    assert sentence("Été à Paris") == "Été à Paris."


def test_composition_is_deterministic_and_params_do_not_leak_into_text():
    spec = PromptSpec(name="x", subject="a bowl of ramen",
                      params=Params(seed=7, loras=[Lora("film.safetensors", 0.8, ["kodak"])]))
    assert compose(spec) == compose(spec.copy()) == "A bowl of ramen."


def test_helpers():
    assert clean(" a \n\n b\t") == "a b"
    assert word_count("one two  three") == 3
