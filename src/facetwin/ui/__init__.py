"""``facetwin ui``: a local web app over the library (needs ``pip install 'facetwin[ui]'``).

``jobs`` (the one-at-a-time queue), ``project`` (the project folder), ``tasks`` (what
each button runs: one library call) and ``access`` (what visitors of a shared server may
do) need nothing beyond facetwin; ``app`` and ``forms`` build the Gradio page and are
loaded on first use::

    from facetwin.ui import launch
    launch("my-project")            # http://127.0.0.1:7860
"""

from __future__ import annotations

from facetwin.ui.jobs import Job, JobContext, JobQueue, JobStopped
from facetwin.ui.project import Project

__all__ = ["launch", "build_app", "Job", "JobContext", "JobQueue", "JobStopped", "Project"]


def __getattr__(name: str):
    if name in ("launch", "build_app"):  # Gradio takes seconds to import
        from facetwin.ui import app

        return getattr(app, name)
    raise AttributeError(f"module 'facetwin.ui' has no attribute {name!r}")
