import importlib
import os
import re

import mmengine.registry as mmengine_registry
import pytest

import toolkit.registry as registry
from toolkit.registry import PLUGIN_ENTRY_POINT_GROUP, load_plugins

REPO_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))


def test_every_mmengine_root_has_a_toolkit_child():
    roots = [value for value in vars(mmengine_registry).values() if isinstance(value, mmengine_registry.Registry)]
    assert len(roots) >= 20
    for root in roots:
        assert 'toolkit' in root.children, f'MMEngine registry {root.name!r} has no toolkit child'


def test_typed_registries_exist_in_scope():
    for name in ('MODELS', 'BACKBONES', 'FUSIONS', 'LOSSES', 'RETRIEVERS', 'METRICS', 'DATASETS', 'TRANSFORMS'):
        assert getattr(registry, name).scope == 'toolkit'
    assert 'IdentityFusion' in registry.FUSIONS.module_dict
    assert 'UNet' not in registry.FUSIONS.module_dict


def test_core_never_imports_a_plugin_by_name():
    pattern = re.compile(r'^\s*(from|import)\s+plugins\b|import_module\([\'"]plugins', re.MULTILINE)
    for folder, _, files in os.walk(os.path.join(REPO_ROOT, 'toolkit')):
        for name in files:
            if name.endswith('.py'):
                with open(os.path.join(folder, name), encoding='utf-8') as handle:
                    assert not pattern.search(handle.read()), f'toolkit/{name} imports a plugin by name'


def _install_distribution(folder, monkeypatch, name: str, entry_point: str) -> None:
    """What `pip install` leaves behind: a dist-info folder with the entry point, on sys.path."""
    dist_info = folder / f'{name.replace("-", "_")}-0.1.dist-info'
    dist_info.mkdir()
    (dist_info / 'METADATA').write_text(f'Metadata-Version: 2.1\nName: {name}\nVersion: 0.1\n')
    (dist_info / 'entry_points.txt').write_text(f'[{PLUGIN_ENTRY_POINT_GROUP}]\n{entry_point}\n')
    monkeypatch.syspath_prepend(str(folder))
    importlib.invalidate_caches()


def test_entry_point_plugin_is_discovered(tmp_path, monkeypatch):
    package = tmp_path / 'my_hz_plugin'
    package.mkdir()
    (package / '__init__.py').write_text(
        'from toolkit.interfaces import BaseFusion\n'
        'from toolkit.registry import FUSIONS\n'
        '@FUSIONS.register_module(force=True)\n'
        'class ThirdPartyFusion(BaseFusion):\n'
        '    def forward(self, decoder_feat, encoder_feat, mask):\n'
        '        return decoder_feat * 2\n')
    _install_distribution(tmp_path, monkeypatch, 'my-hz-plugin', 'mine = my_hz_plugin')
    assert 'my_hz_plugin' in load_plugins()
    assert 'ThirdPartyFusion' in registry.FUSIONS.module_dict


def test_broken_plugin_is_reported(tmp_path, monkeypatch):
    _install_distribution(tmp_path, monkeypatch, 'broken-hz', 'broken = no_such_module_hz')
    assert 'no_such_module_hz' not in load_plugins()
    with pytest.raises(ImportError, match="plugin 'broken'"):
        load_plugins(strict=True)


def test_config_custom_imports_load_a_plugin(tmp_path, monkeypatch):
    from mmengine.config import Config

    from toolkit.registry import MODELS
    (tmp_path / 'cfg_plugin_hz.py').write_text(
        'from toolkit.interfaces import BaseFusion\n'
        'from toolkit.registry import FUSIONS\n'
        '@FUSIONS.register_module(force=True)\n'
        'class ConfigLoadedFusion(BaseFusion):\n'
        '    def forward(self, decoder_feat, encoder_feat, mask):\n'
        '        return decoder_feat + 1\n')
    monkeypatch.syspath_prepend(str(tmp_path))
    config = tmp_path / 'config.py'
    config.write_text(
        "custom_imports = dict(imports=['cfg_plugin_hz'], allow_failed_imports=False)\n"
        "model = dict(type='EncoderDecoderHarmonizer', backbone=dict(type='UNet', base_channels=2, num_levels=1),\n"
        "             fusion=dict(type='ConfigLoadedFusion'))\n")
    cfg = Config.fromfile(str(config))  # imports the plugin module
    model = MODELS.build(cfg.model)
    assert type(model.fusions[0]).__name__ == 'ConfigLoadedFusion'


def test_register_all_modules_enables_checkpoint_schemes():
    import subprocess
    import sys
    code = ('import sys; sys.path.insert(0, %r)\n'
            'from mmengine.runner.checkpoint import CheckpointLoader\n'
            'from toolkit.setup_env import register_all_modules\n'
            'register_all_modules()\n'
            'loader = CheckpointLoader._get_checkpoint_loader("hf://org/repo@%s/model.safetensors")\n'
            'print(loader.__module__, CheckpointLoader._get_checkpoint_loader("x.pth").__module__)'
            % (REPO_ROOT, 'a' * 40))
    result = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, timeout=120)
    # hf:// is registered by the zoo (the layer that knows the expected checksums), local files by the checkpoint module
    assert result.stdout.split() == ['toolkit.zoo', 'toolkit.checkpoint'], result.stderr[-2000:]
