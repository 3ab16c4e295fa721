"""ComfyUI transport: the client, its events, validation, graphs and the FLUX workflows.

- `client`: `ComfyClient` (HTTP + WebSocket, reconnects and catches up) and `Job`.
- `events`: the typed WebSocket messages a `Job` yields.
- `workflows`: built-in FLUX workflows and `build_workflow(spec, text, ...)`.
- `graph`: role detection in a user's API-format workflow (+ sidecar overrides).
- `validate`: local checks against object_info and readable server errors.
- `loras`: the LoRA files a server offers.

Orchestration (running a prompt, plans, chains, journal, recovery) lives in
`workbench.runs`; nothing here imports it, nor Textual.
"""
