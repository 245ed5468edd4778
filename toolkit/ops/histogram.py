"""Histogram matching, shared by the histogram-matching baseline and the synthetic-composite generator."""
from __future__ import annotations

import numpy as np


def match_cumulative_cdf(source: np.ndarray, template: np.ndarray) -> np.ndarray:
    """Map 1-D ``source`` values so their empirical CDF follows ``template``'s (classic histogram matching).

    Each distinct source value goes to the template value at the same cumulative quantile,
    interpolated linearly between the template's distinct values (the algorithm of
    ``skimage.exposure.match_histograms``).

    Example:
        >>> match_cumulative_cdf(np.array([0, 0, 1, 1]), np.array([10, 10, 20, 20])).tolist()
        [10.0, 10.0, 20.0, 20.0]
    """
    _, source_index, source_counts = np.unique(source, return_inverse=True, return_counts=True)
    template_values, template_counts = np.unique(template, return_counts=True)
    source_quantiles = np.cumsum(source_counts) / source.size
    template_quantiles = np.cumsum(template_counts) / template.size
    return np.interp(source_quantiles, template_quantiles, template_values)[source_index.reshape(-1)]
