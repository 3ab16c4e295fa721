"""What a judgement says, in words: a cell's badge, its checklist, a variant's summary.

Everything here reads the ``judge.json`` form (`RunJudgement.to_dict`), whether it was just
made or read back from a run folder, so the compare screen, the contact sheet and the run
history word the scores the same way.  The file may have been edited or damaged: every
value is type-checked, and a missing one reads as "not measured", never as a crash.
Strings from the model are returned as they are stored; whoever draws them sanitises
(`textsafe`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

JUDGE_FILE = "judge.json"
#: judge.json files larger than this are not read (a 1000-cell sweep writes ~3 MB).
MAX_JUDGE_BYTES = 16 * 1024 * 1024
MARKS = {"present": "✓", "partly": "~", "absent": "✗"}


class JudgeFileError(ValueError):
    """A ``judge.json`` that can't be read; the message names it and says why."""


def read_judgement(folder: Path) -> dict[str, Any] | None:
    """The run's ``judge.json`` as a dict; None when the run was never judged."""
    from ..untrusted import read_json_file

    path = Path(folder) / JUDGE_FILE
    try:
        data = read_json_file(path, max_bytes=MAX_JUDGE_BYTES)
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:   # JsonError is a ValueError
        raise JudgeFileError(f"{path}: cannot read: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("cells"), dict):
        raise JudgeFileError(f"{path}: not a judgement (no cells)")
    return data


def _num(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) \
        else None


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _dicts(value: Any) -> list[dict[str, Any]]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def percent(value: Any) -> str:
    number = _num(value)
    return "-" if number is None else f"{number * 100:.0f}%"


def cells_of(data: dict[str, Any] | None) -> dict[str, dict[str, Any]]:
    cells = (data or {}).get("cells")
    if not isinstance(cells, dict):
        return {}
    return {str(k): v for k, v in cells.items() if isinstance(v, dict)}


def _soft(cell: dict[str, Any]) -> bool:
    for image in _dicts(cell.get("images")):
        pixels = image.get("pixels")
        if image.get("softer_than_run") is True or (
                isinstance(pixels, dict) and pixels.get("sharpness_low") is True):
            return True
    return False


def _failed(cell: dict[str, Any]) -> bool:
    return any(_str(i.get("error")) for i in _dicts(cell.get("images")))


def flags(cell: dict[str, Any]) -> dict[str, Any]:
    """The badge's facts: adherence (0-1 or None), text hit (bool or None), soft, same as
    A, and whether a picture could not be checked."""
    text = cell.get("text_hit")
    return {"adherence": _num(cell.get("adherence")),
            "text": text if isinstance(text, bool) else None,
            "soft": _soft(cell), "same": cell.get("same_as_a") is True,
            "failed": _failed(cell)}


def badge(cell: dict[str, Any]) -> str:
    """The compare screen's short badge: ``82% T✓ soft =A``."""
    facts = flags(cell)
    parts = ["unreadable" if facts["failed"] and facts["adherence"] is None
             else percent(facts["adherence"])]
    if facts["text"] is not None:
        parts.append("T✓" if facts["text"] else "T✗")
    if facts["soft"]:
        parts.append("soft")
    if facts["same"]:
        parts.append("=A")
    return " ".join(parts)


def caption(cell: dict[str, Any]) -> str:
    """The contact sheet's line under a cell (plain ASCII: the sheet's font has no ✓)."""
    facts = flags(cell)
    parts = [f"adherence {percent(facts['adherence'])}"]
    if facts["text"] is not None:
        parts.append("text ok" if facts["text"] else "text wrong")
    if facts["soft"]:
        parts.append("soft")
    if facts["same"]:
        parts.append("same as A")
    return " | ".join(parts)


def _image_lines(image: dict[str, Any]) -> list[tuple[str, str]]:
    lines: list[tuple[str, str]] = []
    if _str(image.get("error")):
        lines.append(("absent", f"not checked: {_str(image.get('error'))}"))
    if _str(image.get("adherence_error")):
        lines.append(("absent", f"no verdict: {_str(image.get('adherence_error'))}"))
    for item in _dicts(image.get("checklist")):
        status = _str(item.get("status"))
        mark = MARKS.get(status, "?")
        line = f"{mark} {_str(item.get('label')) or _str(item.get('key'))}: " \
               f"{_str(item.get('wanted'))}"
        reason = _str(item.get("reason"))
        lines.append((status or "note", line + (f" — {reason}" if reason else "")))
    text = image.get("text")
    if isinstance(text, dict):
        missing = [w for w in text.get("missing_words") or [] if isinstance(w, str)]
        hit = text.get("hit") is True
        lines.append(("present" if hit else "absent",
                      f"{'✓' if hit else '✗'} text: read \"{_str(text.get('seen'))}\""
                      + (f" (missing: {', '.join(missing)})" if missing else "")))
    return lines


def _pixel_line(image: dict[str, Any], same: Any) -> str:
    pixels = image.get("pixels") if isinstance(image.get("pixels"), dict) else {}
    sharp = _num(pixels.get("sharpness"))
    parts = ["sharpness -" if sharp is None else f"sharpness {sharp:.0f}"
             + (" (low)" if pixels.get("sharpness_low") is True
                or image.get("softer_than_run") is True else "")]
    clipped = [_num(pixels.get(k)) for k in ("clipped_highlights", "clipped_shadows")]
    if any(c is not None for c in clipped):
        parts.append(f"clipped {max(c or 0.0 for c in clipped) * 100:.0f}%")
    if same is True:
        parts.append("same as A")
    return " · ".join(parts)


def details(cell: dict[str, Any]) -> list[tuple[str, str]]:
    """The side panel for one cell, as (kind, line) pairs; kind is present, partly,
    absent, note or title (how the line is coloured)."""
    lines = [("title", f"adherence {percent(cell.get('adherence'))}")]
    images = _dicts(cell.get("images"))
    for n, image in enumerate(images):
        if len(images) > 1:
            lines.append(("title", f"picture {n + 1}"))
        lines += _image_lines(image)
        lines.append(("note", _pixel_line(image, image.get("same_as_a"))))
    return lines


def summary_lines(data: dict[str, Any] | None) -> list[str]:
    """One line per variant: mean adherence, text hit rate, mean sharpness, same as A."""
    out = []
    for v in _dicts((data or {}).get("variants")):
        parts = [f"{_str(v.get('label'))}: adherence {percent(v.get('mean_adherence'))}"]
        if _num(v.get("text_hit_rate")) is not None:
            parts.append(f"text {percent(v.get('text_hit_rate'))}")
        sharp = _num(v.get("mean_sharpness"))
        parts.append("sharpness -" if sharp is None else f"sharpness {sharp:.0f}")
        same = _num(v.get("same_as_a"))
        if _num(v.get("variant")) and same:
            parts.append(f"{same:.0f} same as A")
        out.append(" · ".join(parts))
    return out


def ranked(data: dict[str, Any] | None) -> list[str]:
    """Cell ids by adherence, best first (cells without a score left out)."""
    scored = [(flags(c)["adherence"], cid) for cid, c in cells_of(data).items()]
    return [cid for _, _, cid in sorted((-s, n, c) for n, (s, c) in enumerate(scored)
                                        if s is not None)]


def manifest_summary(data: dict[str, Any]) -> dict[str, Any]:
    """What the run's manifest keeps of a judgement, for the run history."""
    adherence = data.get("adherence") if isinstance(data.get("adherence"), dict) else {}
    return {"file": JUDGE_FILE, "judged_at": _str(data.get("judged_at")),
            "model": _str(adherence.get("model")), "status": _str(adherence.get("status")),
            "variants": [{"label": _str(v.get("label")),
                          "mean_adherence": _num(v.get("mean_adherence")),
                          "text_hit_rate": _num(v.get("text_hit_rate")),
                          "same_as_a": _num(v.get("same_as_a"))}
                         for v in _dicts(data.get("variants"))]}


def history_text(summary: dict[str, Any]) -> str:
    """The run history's note for a judged run: ``judged A 82% · B 64%``."""
    variants = _dicts(summary.get("variants"))
    if not variants:
        return ""
    return "judged " + " · ".join(f"{_str(v.get('label'))} {percent(v.get('mean_adherence'))}"
                                  for v in variants)
