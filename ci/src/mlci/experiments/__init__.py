"""Experiments: parameter sweeps of the repository's own pipeline on DVC experiments, their log, and the way
from the best of them to a reviewed pull request."""
