from workbench.judge.checklist import WEIGHTS, build_checklist, wanted_texts
from workbench.judge.scoring import adherence_score
from workbench.spec import PromptSpec


def test_one_item_per_filled_field_with_weights():
    spec = PromptSpec("Shop", subject="a bakery window", action="glowing at dusk",
                      style="", context="a rainy street", background="tram lines",
                      camera="35mm, f/2", text='"OPEN"')
    checklist = build_checklist(spec)
    assert checklist.keys == ["subject", "action", "context", "background", "camera", "text"]
    assert checklist.item("subject").wanted == "a bakery window"
    assert checklist.item("subject").weight == WEIGHTS["subject"] > WEIGHTS["camera"]
    assert checklist.item("text").wanted == 'the text "OPEN"'
    assert checklist.texts == ("OPEN",)


def test_text_field_forms():
    assert wanted_texts(PromptSpec("a", text="OPEN 24/7")) == ["OPEN 24/7"]
    assert wanted_texts(PromptSpec("a", text='"OPEN" and "CLOSED"')) == ["OPEN", "CLOSED"]
    assert wanted_texts(PromptSpec("a", text="  ")) == []
    assert wanted_texts(PromptSpec("a", raw='A sign «ВЫХОД» and a "Coffee" mug')) == \
        ["ВЫХОД", "Coffee"]


def test_raw_prompt_becomes_sentences():
    spec = PromptSpec("raw", raw="A lighthouse at dawn. Waves crash! A gull circles?",
                      subject="ignored in raw mode")
    checklist = build_checklist(spec)
    assert [i.wanted for i in checklist.items] == ["A lighthouse at dawn.", "Waves crash!",
                                                   "A gull circles?"]
    long = PromptSpec("raw", raw=" ".join(f"Sentence {n}." for n in range(20)))
    assert len(build_checklist(long).items) == 8
    assert build_checklist(long).items[-1].wanted.endswith("Sentence 19.")


def test_hash_is_stable_and_follows_the_question_not_the_weights(monkeypatch):
    a = build_checklist(PromptSpec("A", subject="a red fox", notes="one"))
    b = build_checklist(PromptSpec("B", subject="a red fox", notes="two", tags=["x"]))
    assert a.hash == b.hash and len(a.hash) == 64
    assert build_checklist(PromptSpec("A", subject="a grey fox")).hash != a.hash
    monkeypatch.setitem(WEIGHTS, "subject", 10.0)
    assert build_checklist(PromptSpec("A", subject="a red fox")).hash == a.hash


def test_empty_prompt_has_an_empty_checklist():
    checklist = build_checklist(PromptSpec("nothing"))
    assert checklist.items == () and adherence_score(checklist, {}) is None


def test_score_is_the_weighted_share_present():
    checklist = build_checklist(PromptSpec("s", subject="fox", action="sits", camera="50mm",
                                           text="OPEN"))
    # weights: subject 3, action 2, camera 0.5, text 2 -> total 7.5
    score = adherence_score(checklist, {"subject": "present", "action": "partly",
                                        "camera": "absent", "text": "present"})
    assert score == (3 + 1 + 0 + 2) / 7.5
    assert adherence_score(checklist, {k: "present" for k in checklist.keys}) == 1.0
    assert adherence_score(checklist, {k: "absent" for k in checklist.keys}) == 0.0
    # only the items answered count
    assert adherence_score(checklist, {"subject": "present"}) == 1.0
