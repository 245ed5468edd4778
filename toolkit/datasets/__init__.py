from . import transforms  # noqa: F401  (registers the transforms)
from .bsds500 import BSDS500Photos
from .iharmony4 import IHARMONY4_SUBSETS, IHarmony4Dataset, parse_composite_name
from .io import HarmonizationDataError, read_image, read_mask
from .lalonde_efros import LalondeEfrosPhotos, fetch_lalonde_efros
from .photos import FolderPhotos, PhotoCollection, open_collection
from .raharmony4 import RAHarmony4Dataset, read_reference_list, write_reference_list
from .synthesis import SyntheticCompositeDataset, load_manifest, make_composites, replay_composite

__all__ = ['IHarmony4Dataset', 'IHARMONY4_SUBSETS', 'parse_composite_name', 'HarmonizationDataError',
           'read_image', 'read_mask', 'RAHarmony4Dataset', 'read_reference_list', 'write_reference_list',
           'SyntheticCompositeDataset', 'make_composites', 'load_manifest', 'replay_composite', 'PhotoCollection',
           'FolderPhotos', 'LalondeEfrosPhotos', 'BSDS500Photos', 'open_collection', 'fetch_lalonde_efros']
