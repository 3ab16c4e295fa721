"""From a prompt spec to files on disk: prepare, submit (journaled), follow, save; and
recover what an earlier session left running.

These are the building blocks the CLI's ``run`` verb, the TUI and a later A/B runner share:
`prepare` builds and checks the workflow against the server, `run_job` carries one built
workflow to a `RunRecord`, `recover` settles journaled prompts after a crash or kill.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from ..compose import compose
from ..images.source import SourceImage, load_source
from ..spec import PromptSpec
from ..comfy.client import ComfyClient, ComfyError, Job, JobResult, ServerRejected, Unreachable
from ..comfy.events import Event
from .journal import Journal, JournalEntry
from .results import RunRecord, save_results
from .uploads import UploadCache, ensure_uploaded
from ..comfy.validate import (
    InvalidWorkflow, Problem, check_workflow, explain_execution_error, explain_interrupted, explain_rejection,
)
from ..comfy.workflows import BuiltWorkflow, build_workflow


async def prepare(client: ComfyClient, spec: PromptSpec, *, workflow: str | dict | None = None,
                  config: Any = None, seed: int | None = None,
                  source_path: Path | None = None, check: bool = True,
                  source: SourceImage | None = None, source_name: str | None = None,
                  upload_cache: UploadCache | None = None,
                  fit_1mp: bool = False) -> BuiltWorkflow:
    """Upload the source image (if any), build the workflow from the spec and check it
    against the server's object_info.  Raises `InvalidWorkflow` naming every problem.

    The source is ``source`` (already checked) or ``source_path`` (checked here: a bad
    file raises `SourceImageError` before anything is sent); it is uploaded once per
    content hash (`uploads.ensure_uploaded`) unless ``source_name`` says where it already
    is on the server.  On a GPU shared with Ollama, its models are unloaded first
    (`llm.gpu.release_for_images`)."""
    if config is not None:
        from ..llm.gpu import sharing_for

        await sharing_for(config).release_for_images()
    object_info = await client.object_info()
    uploaded: set[str] = set()
    if source is None and source_path is not None:
        source = await asyncio.to_thread(load_source, Path(source_path))
    if source is not None and source_name is None:
        source_name = await ensure_uploaded(client, source, cache=upload_cache,
                                            object_info=object_info)
    if source_name is not None:
        uploaded.add(source_name)
    built = build_workflow(spec, compose(spec), workflow=workflow, object_info=object_info,
                           config=config, source_image=source_name, seed=seed,
                           source_size=source.size if source is not None else None,
                           fit_1mp=fit_1mp)
    if check:
        problems = check_workflow(built.workflow, object_info, uploaded=uploaded)
        if problems:
            raise InvalidWorkflow(problems, f" {built.name}")
    return built


@dataclass
class Outcome:
    """A finished run: the record on disk plus the readable problems, if any."""

    record: RunRecord
    result: JobResult
    problems: list[Problem] = field(default_factory=list)


def _problems(result: JobResult, workflow: dict) -> list[Problem]:
    if result.error is not None:
        return [explain_execution_error(result.error, workflow)]
    if result.interrupted is not None:
        return [explain_interrupted(result.interrupted, workflow)]
    if result.status in ("lost", "cancelled"):
        return [Problem("", "", "", result.message or result.status)]
    return []


async def run_job(client: ComfyClient, workflow: dict, run_dir: Path, *, seed: int | None,
                  journal: Journal | None = None, meta: dict | None = None,
                  extra_pnginfo: dict | None = None,
                  on_event: Callable[[Job, Event], None] | None = None,
                  on_submitted: Callable[[Job], None] | None = None,
                  max_bytes: int | None = None) -> Outcome:
    """Submit ``workflow``, follow it to the end and save what it made in ``run_dir``.
    A refusal raises `InvalidWorkflow`; failures at run time come back in the outcome."""
    prompt_id = str(uuid.uuid4())
    if journal is not None:  # disk writes (fsync) go to a thread: the loop keeps serving
        await asyncio.to_thread(journal.submitting, JournalEntry(
            prompt_id, client.base_url, client.client_id, str(run_dir), workflow, seed,
            dict(meta or {})))
    try:
        job = await client.submit(workflow, prompt_id=prompt_id, extra_pnginfo=extra_pnginfo,
                                  on_event=on_event)
    except ServerRejected as exc:
        if journal is not None:
            await asyncio.to_thread(journal.finished, prompt_id, "rejected")
        raise InvalidWorkflow(explain_rejection(exc.status, exc.body, workflow,
                                                client._object_info)) from exc
    except Unreachable:
        if journal is not None:
            await asyncio.to_thread(journal.finished, prompt_id, "not-sent")
        raise
    if journal is not None:
        await asyncio.to_thread(journal.queued, prompt_id, job.number)
    if on_submitted is not None:
        on_submitted(job)
    result = await job.wait()
    return await _finish(client, result, workflow, run_dir, seed, meta, journal, max_bytes)


async def _finish(client: ComfyClient, result: JobResult, workflow: dict, run_dir: Path,
                  seed: int | None, meta: dict | None, journal: Journal | None,
                  max_bytes: int | None) -> Outcome:
    problems = _problems(result, workflow)
    record = await save_results(client, result, Path(run_dir), workflow=workflow, seed=seed,
                                message="; ".join(str(p) for p in problems), meta=meta,
                                max_bytes=max_bytes)
    if journal is not None and result.status != "detached":  # detached: left for recovery
        await asyncio.to_thread(journal.finished, result.prompt_id, result.status)
    return Outcome(record, result, problems)


async def recover(journal: Journal, make_client: Callable[[str, str], ComfyClient], *,
                  wait: bool = True, timeout: float | None = None,
                  on_attached: Callable[[Job], None] | None = None) -> list[Outcome]:
    """Settle every unfinished journaled prompt: finished ones are collected from /history,
    running or queued ones are followed to the end (``wait``), unknown ones become "lost".
    ``make_client(server, client_id)`` builds a client; servers that do not answer are
    left in the journal for next time."""
    outcomes: list[Outcome] = []
    groups: dict[tuple[str, str], list[JournalEntry]] = {}
    for entry in journal.unfinished():
        groups.setdefault((entry.server, entry.client_id), []).append(entry)
    for (server, client_id), entries in groups.items():
        client = make_client(server, client_id)
        try:
            await client.connect()
        except Unreachable:
            await client.close()
            continue
        try:
            jobs = []
            for entry in entries:
                job = client.attach(entry.prompt_id, entry.workflow, entry.submitted_at)
                if on_attached is not None:
                    on_attached(job)
                jobs.append((entry, job))
            for entry, job in jobs:
                if not wait and not job.done:
                    await client.check_job(job)
                    if not job.done:
                        continue
                try:
                    result = await job.wait(timeout)
                except asyncio.TimeoutError:
                    continue
                outcomes.append(await _finish(client, result, entry.workflow,
                                              Path(entry.run_dir), entry.seed, entry.meta,
                                              journal, None))
        finally:
            await client.close()
    return outcomes
