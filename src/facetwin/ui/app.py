"""The web UI: four views over one project, in Gradio.

Every button calls the library as the command line does (``facetwin.extract``,
``facetwin.train``, ``facetwin.convert``, ``facetwin.evaluate``, ``facetwin.verify``); the forms are built from
the options declared on the configs (``facetwin.options``), as ``--help`` is. Long work
goes through one ``JobQueue`` in the server, and a timer on the page reads the queue and
the project's folders, so a page opened later picks up where the work stands. Each view
is a module of ``facetwin.ui.views`` that lays out its components and returns the
timer's updates by name; this module puts them on one page.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import gradio as gr

from facetwin._check import check_number, check_range
from facetwin.errors import InvalidOptionError, ServerStartError
from facetwin.ui.access import generate_credentials, is_loopback, resolve_roots, served_files
from facetwin.ui.jobs import JobQueue
from facetwin.ui.project import Project
from facetwin.ui.views import conversion, evaluation, faces, training
from facetwin.ui.views.common import Server, describe_refs, mtime, queue_table

__all__ = ["build_app", "launch", "DEFAULT_MAX_UPLOAD"]

log = logging.getLogger(__name__)

#: Uploads larger than this are refused (a path on this machine has no limit).
DEFAULT_MAX_UPLOAD = 2 * 2**30
_CSS = (
    ".ft-message p { color: #b3261e; font-weight: 600; }"
    # The preview grid is small (64 px faces): drawn as large as its column, pixels kept sharp.
    " #train-preview img { width: 100%; height: auto; max-height: none; image-rendering: pixelated; }"
)


def build_app(
    project: str | Path,
    *,
    queue: JobQueue | None = None,
    device: str = "auto",
    max_upload: int = DEFAULT_MAX_UPLOAD,
    key_dir: str | Path | None = None,
    refresh: float = 1.0,
    roots: tuple[Path, ...] | None = None,
    shared: bool = False,
) -> gr.Blocks:
    """The UI over the project folder ``project`` (created if missing).

    Args:
        queue: the job queue (one is made, with crash logs in the project, if None).
        device: where training and conversion run: "auto", "cpu", "cuda".
        max_upload: the largest upload accepted, in bytes.
        key_dir: the signing key folder for the outputs' C2PA manifests.
        refresh: seconds between the page's reads of the jobs and the project.
        roots: resolved folders typed paths must lie under (``access.allowed_input``);
            None: any path on this machine.
        shared: the page is served to others: *start over* (discarding the model) is
            refused and hidden.
    """
    proj = Project(project)
    server = Server(
        proj,
        queue or JobQueue(crash_log=proj.root / "logs", history=proj.root / "jobs.json"),
        device,
        max_upload,
        Path(key_dir) if key_dir is not None else None,
        roots=roots,
        shared=shared,
    )
    where = "on this machine" if roots is None else "under " + " or ".join(f"{r}" for r in roots)

    # Every preview picture is a new file in Gradio's cache: an hour's worth is kept.
    with gr.Blocks(title="facetwin", analytics_enabled=False, delete_cache=(600, 3600)) as app:
        gr.Markdown(
            f"# facetwin\nProject `{proj.root}` · every image and video facetwin writes is marked "
            "as synthetic (watermark, metadata, C2PA)."
        )
        with gr.Row(equal_height=False):
            queue_md = gr.Markdown(queue_table([]), elem_id="queue")
            with gr.Column(scale=0, min_width=200):
                stop_job = gr.Button(
                    "Stop the running job", elem_id="stop-job", size="sm", variant="stop", interactive=False
                )
                clear_jobs = gr.Button("Clear finished jobs", elem_id="clear-jobs", size="sm", interactive=False)
        with gr.Tabs(elem_id="views"):
            with gr.Tab("1. Project and faces", id="project", elem_id="tab-project"):
                person_ui = faces.build(server, where)
            with gr.Tab("2. Training", id="training", elem_id="tab-training"):
                training_ui = training.build(server, shared)
            with gr.Tab("3. Conversion", id="conversion", elem_id="tab-conversion"):
                conversion_ui = conversion.build(server, where)
            with gr.Tab("4. Evaluate and verify", id="evaluate", elem_id="tab-evaluate"):
                evaluation_ui = evaluation.build(server)

        seen = gr.State({})
        timer = gr.Timer(refresh)

        def stop_running():
            job = next((j for j in server.queue.snapshot() if j.state in ("running", "paused")), None)
            if job is not None:
                server.queue.stop(job.id)

        stop_job.click(stop_running, None, None)
        clear_jobs.click(lambda: server.queue.clear_finished() and None, None, None)

        # --- the page's view of jobs and folders: updates by name, mapped to components here
        shown = {
            "queue": queue_md,
            "stop_job": stop_job,
            "clear_jobs": clear_jobs,
            **training_ui,
            **{k: v for k, v in conversion_ui.items() if k != "frame"},
            **evaluation_ui,
            **{
                f"{p}_{part}": ui[part]
                for p, ui in person_ui.items()
                for part in ("status", "gallery", "crops", "source", "refs")
            },
            "seen": seen,
        }
        outputs = [shown[name] for name in _SHOWN]

        def by_component(updates: dict[str, Any]) -> dict:
            return {shown[name]: value for name, value in updates.items()}

        def refresh_page(seen: dict, order_a: str, order_b: str, page_a: float, page_b: float):
            return by_component(_refresh(server, dict(seen), {"a": (order_a, page_a), "b": (order_b, page_b)}))

        def refresh_now(seen: dict, *views):
            return refresh_page({**seen, "force": True}, *views)

        page_inputs = [seen, *(person_ui[p][part] for part in ("order", "page") for p in "ab")]
        timer.tick(refresh_page, page_inputs, outputs, show_progress="hidden")
        app.load(refresh_page, page_inputs, outputs, show_progress="hidden")
        app.load(
            lambda: gr.update(maximum=conversion.frames_of(server)),
            None,
            conversion_ui["frame"],
            show_progress="hidden",
        )
        for ui in person_ui.values():
            for control in (ui["order"], ui["page"]):
                control.change(refresh_now, page_inputs, outputs, show_progress="hidden")
    app.facetwin_server = server  # for tests and embedding
    return app


def _refresh(server: Server, seen: dict, views: dict[str, tuple[str, float | None]]) -> dict[str, Any]:
    """What the timer updates, by name (``_SHOWN``); a component whose source did not
    change is left out. ``seen`` records what the page shows, and comes back as "seen".
    ``views`` is each person's gallery order and page."""
    force = seen.pop("force", False)
    jobs = server.queue.snapshot()
    updates: dict[str, Any] = {"queue": queue_table(jobs)}
    # The job table's buttons, greyed out when they would do nothing (sent on change only).
    buttons = [any(j.state in ("running", "paused") for j in jobs), any(not j.active for j in jobs)]
    if force or seen.get("job_buttons") != buttons:
        seen["job_buttons"] = buttons
        updates.update(stop_job=gr.update(interactive=buttons[0]), clear_jobs=gr.update(interactive=buttons[1]))
    updates.update(training.refresh(server, seen, force))
    updates.update(conversion.refresh(server, seen, force))
    updates.update(evaluation.refresh(server, seen, force))
    # The sources change only with project.json (another tab may have set them).
    sources_stamp = mtime(server.project.root / "project.json")
    new_sources = force or seen.get("sources", -1) != sources_stamp
    seen["sources"] = sources_stamp
    for person in ("a", "b"):
        order, page = views[person]
        updates.update(faces.refresh(server, person, order, page, seen, force, new_sources))
    if new_sources:
        updates["input_refs"] = describe_refs(server.project.refs("input"))
    updates["seen"] = seen
    return updates


#: Every name ``_refresh`` may update: the job table, then each view's components.
_SHOWN = (
    "queue",
    "stop_job",
    "clear_jobs",
    "train_status",
    "train_preview",
    "train_loss",
    "train_save",
    "train_pause",
    "train_resume",
    "train_stop",
    "convert_status",
    "result_video",
    "result_image",
    "result_download",
    "provenance",
    "input_refs",
    "eval_status",
    "eval_table",
    "eval_sheet",
    *(f"{p}_{part}" for p in "ab" for part in ("status", "gallery", "crops", "source", "refs")),
    "seen",
)


def launch(
    project: str | Path,
    *,
    host: str = "127.0.0.1",
    port: int = 7860,
    device: str = "auto",
    max_upload: int = DEFAULT_MAX_UPLOAD,
    key_dir: str | Path | None = None,
    allow: Sequence[str | Path] | None = None,
    auth: tuple[str, str] | None = None,
    shared: bool | None = None,
    block: bool = True,
):
    """Serve the UI for ``project`` on http://HOST:PORT (loopback only by default).

    On a loopback host the page is its owner's, as the command line is: no log-in, any
    path. Served to others (any other host, or ``shared=True``: a loopback port behind a
    proxy or tunnel) it asks for a log-in, reads typed paths only under ``allow`` (the
    project folder if not given) and refuses *start over*. Either way Gradio serves from
    the project only what the page shows (``access.served_files``): never the weights,
    uploads, ``project.json`` or logs.

    Args:
        allow: folders whose videos and images may be given by path. Default: any path on
            a loopback host, the project folder only when shared.
        auth: (user, password) to log in with; made up when shared and not given
            (``app.facetwin_auth`` holds it, for the caller to pass on; with
            ``block=False`` only, as a blocking call could not hand it over).
        shared: served to others; None: whenever ``host`` is not a loopback address.

    Returns the Gradio app (with ``block=False``; call ``.close()`` to stop it).

    Raises:
        InputNotFoundError: an ``allow`` folder does not exist.
        InvalidOptionError: shared, ``block=True`` and no ``auth``.
        ProjectFolderError: ``project`` is a file or cannot be created.
        ServerStartError: the port cannot be listened on.
    """
    from facetwin.device import pick_device

    # Settings are checked before the project folder is made or opened: a server that
    # cannot start leaves nothing behind.
    port = int(check_number(port, "port", integral=True))
    check_range(port, "port", low=0, high=65535)  # 0: any free port
    pick_device(device)
    shared = not is_loopback(host) if shared is None else shared
    if allow:
        roots: tuple[Path, ...] | None = resolve_roots(allow)
    else:
        roots = (Path(project).resolve(),) if shared else None
    if shared and auth is None:
        if block:  # launch would not return, so a made-up password could never be shown
            raise InvalidOptionError("auth", None, "(user, password) when serving others with block=True")
        auth = generate_credentials()
    app = build_app(project, device=device, max_upload=max_upload, key_dir=key_dir, roots=roots, shared=shared)
    proj = app.facetwin_server.project
    allowed_paths, blocked_paths = served_files(proj)
    if shared:
        log.warning(
            "serving %s to others on %s:%d: visitors log in as %r, run jobs, see the project's faces, "
            "previews and outputs, and give paths under %s only",
            proj.root,
            host,
            port,
            auth[0],
            ", ".join(str(r) for r in roots or ()),
        )
    app.facetwin_auth = auth  # for the caller to show (a made-up password is new at each start)
    app.queue(default_concurrency_limit=4)
    try:
        app.launch(
            server_name=host,
            server_port=port,
            max_file_size=max_upload,
            allowed_paths=allowed_paths,
            blocked_paths=blocked_paths,
            auth=auth,
            auth_message="facetwin: log in with the user name and password the server's owner gave you.",
            prevent_thread_lock=not block,
            ssr_mode=False,
            quiet=True,
            show_error=False,
            css=_CSS,
            footer_links=[],
        )
    except OSError as exc:
        app.facetwin_server.queue.close()
        raise ServerStartError(host, port, str(exc).split(". ")[0]) from None
    return app
