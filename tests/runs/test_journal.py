"""The submission journal: survives a torn line, and never grows without bound."""

from __future__ import annotations

from workbench.runs.journal import COMPACT_BYTES, Journal, JournalEntry


def test_journal_survives_a_torn_last_line(tmp_path):
    journal = Journal(tmp_path / "journal.jsonl")
    journal.submitting(JournalEntry("p1", "http://x", "c", "/r", {"1": {}}, 5))
    journal.queued("p1", 3)
    with open(journal.path, "ab") as handle:
        handle.write(b'{"event": "finished", "prompt_')
    [entry] = journal.unfinished()
    assert entry.state == "queued" and entry.number == 3 and entry.seed == 5
    journal.finished("p1", "success")
    assert journal.unfinished() == []


def test_settled_entries_are_compacted_away(tmp_path):
    """Once nothing is open the file is emptied; a long-lived open entry does not keep
    every settled one around either: past COMPACT_BYTES only open entries remain."""
    journal = Journal(tmp_path / "journal.jsonl")
    workflow = {"1": {"class_type": "X", "inputs": {"text": "x" * 2000}}}
    for n in range(20):
        journal.submitting(JournalEntry(f"p{n}", "http://x", "c", "/r", workflow, n))
        journal.queued(f"p{n}", n)
        journal.finished(f"p{n}", "success")
    assert journal.path.stat().st_size == 0

    journal.submitting(JournalEntry("open", "http://x", "c", "/r", workflow, 1))
    journal.queued("open", 1)
    for n in range(200):
        journal.submitting(JournalEntry(f"q{n}", "http://x", "c", "/r", workflow, n))
        journal.finished(f"q{n}", "success")
    assert journal.path.stat().st_size < COMPACT_BYTES
    [entry] = journal.unfinished()
    assert (entry.prompt_id, entry.state, entry.number) == ("open", "queued", 1)
    lines = journal.path.read_bytes().splitlines()
    assert len(lines) < 300      # not 402: settled entries went


def test_compaction_keeps_other_open_entries(tmp_path):
    journal = Journal(tmp_path / "journal.jsonl")
    journal.submitting(JournalEntry("a", "http://x", "c", "/r", {}, 1, {"cell": "v0-s1"}))
    journal.submitting(JournalEntry("b", "http://x", "c", "/r", {}, 2))
    journal.queued("b", 7)
    journal.finished("b", "success")
    journal.compact()
    [entry] = journal.unfinished()
    assert entry.prompt_id == "a" and entry.meta == {"cell": "v0-s1"}
