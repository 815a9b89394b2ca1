"""The page's three views, one module each: ``faces`` (1. project and faces), ``training``
(2.) and ``conversion`` (3.). Each has ``build``, which lays out its components and wires
their handlers, and ``refresh``, which returns the timer's updates by name."""
