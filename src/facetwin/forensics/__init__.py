"""Marking outputs as synthetic, checking files for the marks, and labelled face-swap datasets."""
