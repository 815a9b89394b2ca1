"""Evaluation of a trained swap: measured quality on held-out footage."""
