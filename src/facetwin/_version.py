"""facetwin's version: a leaf, so that any layer can name the software that wrote a file."""

__version__ = "0.1.0"
