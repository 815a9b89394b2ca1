"""Collection rules for the whole tree (the tests' fixtures are in tests/conftest.py)."""

import importlib.util

# The doctests are collected from src/ too: the web UI's page module needs its extra.
collect_ignore_glob = (
    [] if importlib.util.find_spec("gradio") else ["src/facetwin/ui/app.py", "src/facetwin/ui/forms.py"]
)
