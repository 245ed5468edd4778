"""Harmonization-oriented retrieval: dense content encoders, patch descriptors, an on-disk gallery, the retriever."""
from .encoders import DINOV2_REG_VITB14, DenseContentEncoder, DVTDenoiser
from .gallery import GalleryError, GalleryIndex
from .patches import cell_fractions, hsv_patch_histograms, pool_patch_features
from .raharmony4 import build_reference_lists, list_gallery_images
from .retriever import (
                        DEFAULT_RETRIEVAL_CONFIG,
                        GalleryScores,
                        HarmonizationRetriever,
                        QueryDescriptors,
                        add_retriever_arguments,
                        build_retriever,
                        score_gallery,
)

__all__ = ['DINOV2_REG_VITB14', 'DenseContentEncoder', 'DVTDenoiser', 'GalleryError', 'GalleryIndex',
           'GalleryScores', 'HarmonizationRetriever', 'QueryDescriptors', 'cell_fractions', 'hsv_patch_histograms',
           'pool_patch_features', 'score_gallery', 'build_retriever', 'build_reference_lists', 'list_gallery_images',
           'DEFAULT_RETRIEVAL_CONFIG', 'add_retriever_arguments']
