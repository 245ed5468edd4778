from . import functional
from .harmonization_metric import (
                                   METRIC_NAMES,
                                   HarmonizationMetric,
                                   compute_image_metrics,
                                   format_table,
                                   prepare_for_profile,
                                   summarize,
)
from .profiles import METRIC_PROFILES, MetricProfile, get_profile

__all__ = ['functional', 'HarmonizationMetric', 'compute_image_metrics', 'summarize', 'format_table',
           'prepare_for_profile', 'METRIC_NAMES', 'METRIC_PROFILES', 'MetricProfile', 'get_profile']
