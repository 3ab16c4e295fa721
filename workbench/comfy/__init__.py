"""ComfyUI: the client, the FLUX workflows, and the way from a prompt to images on disk.

- `client`: `ComfyClient` (HTTP + WebSocket, reconnects and catches up) and `Job`.
- `events`: the typed WebSocket messages a `Job` yields.
- `workflows`: built-in FLUX workflows and `build_workflow(spec, text, ...)`.
- `graph`: role detection in a user's API-format workflow (+ sidecar overrides).
- `validate`: local checks against object_info and readable server errors.
- `results`: safe saving of outputs beside run.json / workflow.json.
- `journal` and `jobs`: journaled submission, one job to disk, recovery after a crash.

Nothing here imports Textual; the TUI calls these from its workers.
"""
