"""Every action of the TUI once: its id, default key, label and help.

One table feeds the key bindings (each `Binding` gets the action's id, so the ``[keys]``
config table remaps it through Textual's keymap), the command palette (with the key as
it is bound now) and F1 help (the key panel shows each binding's label and help; the
editor's help lists the actions that have no key).  ``scope`` says where an action
lives: ``app`` everywhere, ``editor`` on the editor screen, and so on for the other
screens and panels.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from textual.binding import Binding


@dataclass(frozen=True)
class Action:
    """One action of the table: its key, label, help and where it applies."""
    id: str        # the binding id and the name in [keys]
    scope: str     # app | editor | jobs | problems | compare | single | chain | ...
    key: str       # default key(s), comma-separated; "" for palette-only actions
    label: str     # the footer's word for it
    help: str      # what it does: palette, F1 and the footer's tooltip
    action: str    # the Textual action it runs, with its arguments
    title: str = ""          # the palette's name for it (default: the label)
    show: bool = True        # in the footer
    priority: bool = False   # before the focused widget sees the key
    palette: bool = True     # offered in the command palette

    @property
    def name(self) -> str:
        return self.title or self.label


def _scope(scope: str, *actions: Action, priority: bool = False) -> list[Action]:
    return [replace(a, scope=scope, priority=priority) for a in actions]


def _a(id_: str, key: str, label: str, help_: str, action: str, **more) -> Action:
    return Action(id_, "", key, label, help_, action, **more)


HIDDEN = {"show": False}
ONLY_KEY = {"palette": False}

ACTIONS: list[Action] = [
    *_scope(
        "app",
        _a("help", "f1", "Help", "Keys and help for what has the focus (F1 again closes "
           "it)", "toggle_help", **ONLY_KEY),
        _a("help.close", "escape", "Close help", "Close the help", "close_help", **HIDDEN,
           **ONLY_KEY),
        _a("help.down", "pagedown", "Help down", "Scroll the open help down a page",
           "scroll_help(1)", **HIDDEN, **ONLY_KEY),
        _a("help.up", "pageup", "Help up", "Scroll the open help up a page",
           "scroll_help(-1)", **HIDDEN, **ONLY_KEY),
        _a("save", "f6,ctrl+s", "Save", "Write every library with unsaved edits; resolves "
           "a conflict with the file on disk", "save_now", title="Save now", **HIDDEN),
        priority=True),
    *_scope(
        "editor",
        _a("rename", "f2", "Rename", "Edit the selected prompt's name", "rename",
           title="Rename prompt", **HIDDEN),
        _a("new", "f3", "New", "Add a prompt after the selected one", "new_prompt",
           title="New prompt"),
        _a("duplicate", "f4", "Duplicate", "Copy the selected prompt", "duplicate",
           title="Duplicate prompt"),
        _a("run", "f5", "Run", "Run the selected prompt on ComfyUI", "run",
           title="Run on ComfyUI"),
        _a("compare", "ctrl+t", "A/B", "Fixed-seed comparison of this prompt with another "
           "(and sweeps) on ComfyUI", "compare", title="Compare A/B"),
        _a("copy", "f7", "Copy", "Copy the composed prompt to the clipboard (works over "
           "SSH via OSC 52)", "copy_prompt", title="Copy composed prompt", **HIDDEN),
        _a("delete", "f8", "Delete", "Delete the selected prompt, after asking", "delete",
           title="Delete prompt"),
        _a("assist", "f9", "Assist", "Ask the local LLM (Ollama): rewrite, fix, translate, "
           "expand, decompose, describe", "assist", **ONLY_KEY),
        _a("undo", "f12", "Undo", "Restore the prompt as it was before the last accepted "
           "proposal or fix", "undo_assist", **HIDDEN),
        _a("problems", "ctrl+l", "Problems", "Go to the linter's findings for this prompt",
           "focus_problems", **HIDDEN),
        _a("runs", "ctrl+o", "Runs", "Go to the runs panel: progress, results, the full "
           "text of an error", "focus_runs", title="Go to runs", **HIDDEN),
        _a("filter", "ctrl+f", "Filter", "Filter prompts by name, #tag or @model", "filter",
           title="Filter prompts"),
        priority=True),
    *_scope(
        "editor",
        _a("browser", "escape", "Browser", "Back to the prompt list", "focus_browser",
           **HIDDEN, **ONLY_KEY),
        _a("cancel_run", "", "Cancel run", "Interrupt the running job, or take it off the "
           "server's queue", "cancel_run"),
        _a("chain", "", "Kontext chain", "The selected edit's chain as a strip of images: "
           "run it, branch from any step", "chain"),
        _a("add_lora", "", "Add LoRA from the server", "Pick from the LoRA files ComfyUI "
           "has installed", "add_lora"),
        _a("history", "", "Run history", "Open a past run or comparison: grid, single "
           "view, winners", "history"),
        _a("queue", "", "Server queue", "What runs and waits on ComfyUI; interrupt or "
           "remove prompts", "queue"),
        _a("fix_all", "", "Apply all safe fixes", "Apply every fix the linter marks safe",
           "fix_all")),
    *_scope(
        "jobs",
        _a("jobs.view", "v", "View image", "Show the selected run's image (else the latest "
           "finished one)", "view"),
        _a("jobs.cancel", "c", "Cancel job", "Interrupt the selected running job (else the "
           "latest)", "cancel"),
        _a("jobs.details", "enter", "Details", "Show the selected run's whole text (its "
           "error, where its images are), or fold it again", "details"),
        _a("jobs.up", "up", "↑", "Previous run", "move(-1)", **HIDDEN, **ONLY_KEY),
        _a("jobs.down", "down", "↓", "Next run", "move(1)", **HIDDEN, **ONLY_KEY),
        _a("jobs.clear", "x", "Clear done", "Remove finished jobs from the list", "clear")),
    *_scope(
        "problems",
        _a("problems.fix", "f", "Apply fix", "Apply the highlighted problem's fix (or open "
           "the LLM action that fixes it)", "fix", **ONLY_KEY)),
    *_scope(
        "compare",
        _a("compare.left", "left", "←", "Previous column", "move(0,-1)", **HIDDEN,
           **ONLY_KEY),
        _a("compare.right", "right", "→", "Next column", "move(0,1)", **HIDDEN, **ONLY_KEY),
        _a("compare.up", "up", "↑", "Previous row", "move(-1,0)", **HIDDEN, **ONLY_KEY),
        _a("compare.down", "down", "↓", "Next row", "move(1,0)", **HIDDEN, **ONLY_KEY),
        _a("compare.open", "enter", "View", "Open the cell in the single view: zoom, pan, "
           "A|B flip", "open"),
        _a("compare.winner", "w", "Winner", "Mark the cell as the winner (kept in the run "
           "and with the prompt)", "winner"),
        _a("compare.cancel", "c", "Cancel run", "Stop the running comparison", "cancel"),
        _a("compare.sheet", "s", "Sheet", "Where the contact sheet is", "sheet"),
        _a("compare.final", "f", "Final on dev", "The same seeds and axes again on FLUX.1 "
           "dev", "final"),
        _a("compare.judge", "j", "Judge", "Score each cell against its prompt with the "
           "local vision model: adherence, in-image text, sharpness, same as A",
           "judge", title="Judge results"),
        _a("compare.details", "d", "Details", "Show or hide the selected cell's checklist "
           "and the judge's reasons", "toggle_details", title="Judge details"),
        _a("compare.best", "b", "Best", "Go to the next cell by judge score, best first",
           "next_best", title="Next best by score"),
        _a("compare.close", "escape", "Back", "Back to where you came from", "close",
           **ONLY_KEY)),
    *_scope(
        "single",
        _a("single.zoom_in", "plus,equals_sign", "Zoom in", "Zoom in", "zoom(1)"),
        _a("single.zoom_out", "minus", "Zoom out", "Zoom out", "zoom(-1)"),
        _a("single.left", "left", "Pan", "Pan left", "pan(-1,0)", **HIDDEN, **ONLY_KEY),
        _a("single.right", "right", "Pan", "Pan right", "pan(1,0)", **HIDDEN, **ONLY_KEY),
        _a("single.up", "up", "Pan", "Pan up", "pan(0,-1)", **HIDDEN, **ONLY_KEY),
        _a("single.down", "down", "Pan", "Pan down", "pan(0,1)", **HIDDEN, **ONLY_KEY),
        _a("single.flip", "tab,b", "A|B flip", "The same spot in the other variant", "flip"),
        _a("single.winner", "w", "Winner", "Mark this image as the winner", "winner"),
        _a("single.close", "escape,enter", "Back", "Back to the grid", "close",
           **ONLY_KEY)),
    *_scope(
        "chain",
        _a("chain.left", "left", "←", "Previous step", "move(-1)", **HIDDEN, **ONLY_KEY),
        _a("chain.right", "right", "→", "Next step", "move(1)", **HIDDEN, **ONLY_KEY),
        _a("chain.run", "r", "Run chain", "Run every step (steps already made are reused)",
           "run"),
        _a("chain.branch", "b", "Branch here", "A new edit after the selected step",
           "branch"),
        _a("chain.wish", "k", "Wish → edits", "The local model turns a wish into "
           "single-change edits", "wish"),
        _a("chain.describe", "d", "Describe source", "The local vision model describes "
           "the source image", "describe"),
        _a("chain.close", "escape", "Back", "Back to the editor", "close", **ONLY_KEY)),
    *_scope(
        "queue",
        _a("queue.close", "escape", "Close", "Close the queue", "dismiss", **ONLY_KEY),
        _a("queue.refresh", "r", "Refresh", "Ask the server again", "refresh"),
        _a("queue.delete", "d", "Remove waiting", "Take the highlighted waiting prompt off "
           "the queue", "delete"),
        _a("queue.interrupt", "i", "Interrupt running", "Interrupt the running prompt",
           "interrupt")),
    *_scope(
        "assist",
        _a("assist.cancel", "escape", "Cancel / discard", "Stop asking, or discard the "
           "proposal", "cancel", **ONLY_KEY),
        _a("assist.accept", "a", "Accept", "Take the proposal (F12 undoes it)", "accept"),
        _a("assist.retry", "r", "Ask again", "Ask the model again", "retry")),
    *_scope(
        "dialog",
        _a("dialog.cancel", "escape", "Cancel", "Close without choosing", "dismiss(None)",
           **ONLY_KEY)),
    *_scope(
        "history",
        _a("history.close", "escape", "Close", "Close the run history", "dismiss(None)",
           **ONLY_KEY)),
    *_scope(
        "image",
        _a("image.close", "escape,enter,q", "Back", "Back to the editor", "dismiss",
           **ONLY_KEY)),
]

BY_ID: dict[str, Action] = {a.id: a for a in ACTIONS}
assert len(BY_ID) == len(ACTIONS), "action ids are unique"


def in_scope(scope: str) -> list[Action]:
    return [a for a in ACTIONS if a.scope == scope]


def bindings(scope: str, only: tuple[str, ...] = ()) -> list[Binding]:
    """The key bindings of ``scope``'s actions (those with a default key; ``only`` some)."""
    return [Binding(a.key, a.action, a.label, show=a.show, priority=a.priority,
                    tooltip=a.help, id=a.id) for a in in_scope(scope)
            if a.key and (not only or a.id in only)]


@dataclass
class Keys:
    """The ``[keys]`` config table, checked against the table of actions."""

    keymap: dict[str, str]     # id -> keys, for actions bound by default (Textual's keymap)
    added: dict[str, str]      # id -> keys, for palette-only actions the user gave a key
    problems: list[str]        # what in the table is not an action


def user_keys(table: dict[str, str]) -> Keys:
    keys = Keys({}, {}, [])
    for action_id, key in table.items():
        action = BY_ID.get(action_id)
        if action is None:
            keys.problems.append(f"[keys] {action_id}: no such action (F1 and the "
                                 "palette show them; see the README)")
        else:
            (keys.keymap if action.key else keys.added)[action_id] = key
    return keys


def key_of(action: Action, keys: Keys | None = None) -> str:
    """The key that runs ``action`` now (the user's if remapped), written the way people
    read keys (``F5``, ``Ctrl+T``); "" for none."""
    chosen = keys.keymap.get(action.id) or keys.added.get(action.id) if keys else None
    first = (chosen or action.key).split(",")[0].strip()
    if not first:
        return ""
    *modifiers, key = first.split("+")
    return "+".join([m.capitalize() for m in modifiers]
                    + [key.upper() if len(key) == 1 else key.capitalize()])
