from workbench.library import load_library
from workbench.runs.plan import make_axis, make_plan
from workbench.runs.saved_plans import load_plans, save_plan
from workbench.spec import PromptSpec

LIB = '''\
# my foxes
format = 1

[[prompts]]
name = "Fox"   # the original
subject = "a red fox"

[[prompts]]
name = "Fox B"
subject = "an arctic fox"
'''


def test_plan_saved_in_library_survives_reload_and_edits(tmp_path):
    path = tmp_path / "fox.toml"
    path.write_text(LIB, encoding="utf-8")
    lib = load_library(path)
    plan = make_plan([lib.get("Fox"), lib.get("Fox B")], seeds=[11, 22],
                     axes=[make_axis("guidance", [2.5, 3.5])], created="2026-01-01T00:00:00+00:00")
    save_plan(lib, plan)
    text = path.read_text(encoding="utf-8")
    assert "# my foxes" in text and "# the original" in text
    assert "[[prompts.plans]]" in text

    again = load_library(path)
    assert [s.name for s in again.prompts] == ["Fox", "Fox B"]
    (loaded,), problems = load_plans(again, "Fox")
    assert problems == [] and loaded.to_dict() == plan.to_dict()

    # mark a winner and save again: replaced, not duplicated
    winner = loaded.cells()[3].id
    loaded.mark_winner(winner, "best")
    save_plan(again, loaded)
    third = load_library(path)
    (reloaded,), _ = load_plans(third, "Fox")
    assert reloaded.is_winner(winner) and reloaded.winners[0].note == "best"
    assert [c.spec for c in reloaded.cells()] == [c.spec for c in plan.cells()]

    # an ordinary edit and save keeps the plan
    third.get("Fox").style = "watercolour"
    third.save()
    fourth = load_library(path)
    assert fourth.get("Fox").style == "watercolour"
    (kept,), _ = load_plans(fourth, "Fox")
    assert kept.is_winner(winner)
    assert load_plans(fourth, "Fox B") == ([], [])


def test_plan_on_a_prompt_added_since_loading(tmp_path):
    path = tmp_path / "fox.toml"
    path.write_text(LIB, encoding="utf-8")
    lib = load_library(path)
    new = lib.add(PromptSpec(name="Owl", subject="a snowy owl"))
    save_plan(lib, make_plan([new], seeds=[3]))
    again = load_library(path)
    assert again.get("Owl").subject == "a snowy owl"
    (plan,), _ = load_plans(again, "Owl")
    assert plan.seeds == [3]
