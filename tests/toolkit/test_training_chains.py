"""Warm-start chains in the model index agree with the configs that ran them (docs/training.md)."""
import os
import re

import pytest
from click.testing import CliRunner

from toolkit.config import read_config
from toolkit.zoo import load_index

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
CHAINED = {name: model for name, model in load_index().items() if model.metadata.get('Training Chain')}


def starts_from(load_from, previous_name):
    """Whether a later stage's config starts where it should: the previous stage's bundled weights, or, where they
    are not bundled, a checkpoint that the previous stage's own config writes (its last, or its best on dev data)."""
    return load_from == f'weights/{previous_name}.safetensors' or re.fullmatch(
        rf'work_dirs/{re.escape(previous_name)}/(best_fMSE_)?iter_\d+\.pth', load_from) is not None


def test_some_model_lists_its_chain():
    assert CHAINED, 'no model of the index lists a Training Chain'


@pytest.mark.parametrize('name', sorted(CHAINED))
def test_each_stage_starts_from_the_previous_stage_s_weights(name):
    model = CHAINED[name]
    stages = model.metadata['Training Chain']
    assert [stage['Stage'] for stage in stages] == list(range(1, len(stages) + 1))
    configs = [os.path.join(REPO, stage['Config']) for stage in stages]
    assert all(os.path.isfile(path) for path in configs), configs
    assert os.path.abspath(model.config) == configs[-1]
    assert read_config(configs[0]).get('load_from') is None  # stage 1 trains from scratch
    index = load_index()
    for previous_stage, previous, config in zip(stages, configs, configs[1:]):
        previous_name = os.path.splitext(os.path.basename(previous))[0]
        assert starts_from(read_config(config).load_from, previous_name)
        entry = index.get(previous_name)
        if entry is not None and entry.weights is not None:  # the stage's weights are still in the zoo
            assert entry.weights.sha256 == previous_stage['Result sha256']


def test_harmony_info_prints_one_line_per_stage():
    from toolkit.cli import main as harmony
    name = sorted(CHAINED)[0]
    output = CliRunner().invoke(harmony, ['info', name]).output
    lines = [line for line in output.splitlines() if line.startswith('  - Stage: ')]
    assert len(lines) == len(CHAINED[name].metadata['Training Chain'])


def test_the_gpu_script_runs_every_chain_stage_after_stage_from_the_previous_one():
    import subprocess
    printed = subprocess.run(['bash', os.path.join(REPO, 'tools', 'gpu_zoo_training.sh'), '--dry-run'],
                             capture_output=True, text=True, check=True, cwd=REPO).stdout
    commands = [line for line in printed.splitlines() if ' tools/train.py ' in line]
    configs = [re.search(r'tools/train\.py (\S+)', line).group(1) for line in commands]
    stage2 = [index for index, line in enumerate(commands) if 'load_from=' in line]
    assert commands and stage2 and all('--amp' in line for line in commands)
    for index in stage2:
        # a later stage follows the stage it warm-starts from (on the CPU: that stage's bundled weights, or its
        # checkpoint where they are not bundled) and starts from this run's checkpoint of it: stage 1's last, a
        # warm-start stage's best on the dev split
        previous_name = os.path.splitext(os.path.basename(configs[index - 1]))[0]
        assert starts_from(read_config(os.path.join(REPO, configs[index])).load_from, previous_name)
        kept = 'best_fMSE_iter_N.pth' if index - 1 in stage2 else 'iter_N.pth'
        assert f'load_from=work_dirs/gpu/{previous_name}/{kept}' in commands[index]
    assert any(index - 1 in stage2 for index in stage2), 'the colour-curve chain has a third stage'
    for index, config in enumerate(configs):
        if index not in stage2:  # stage 1 of a chain, or a one-stage run: from scratch
            assert read_config(os.path.join(REPO, config)).get('load_from') is None, config
    residual = [config for config in configs if 'residual' in config]
    assert len(residual) == 3 and all(index not in stage2 for index, c in enumerate(configs) if c in residual)


def test_the_default_s_config_trains_as_written():
    """The default's warm start (load_from) is a file in the checkout: its "Reproduce" line runs."""
    from toolkit.zoo import default_model_name
    model = load_index()[default_model_name()]
    load_from = read_config(model.config).get('load_from')
    assert load_from is None or os.path.isfile(os.path.join(REPO, load_from)), load_from


def test_a_stage_whose_weights_gave_way_is_listed_as_superseded_not_unreleased(tmp_path, monkeypatch):
    """A stage-1 model without weights, named as an earlier stage by a bundled stage 2, is superseded; a model
    without weights that no chain names stays "not released" (and so does a stage whose successor has no weights),
    unless its card says its weights were withdrawn."""
    import yaml

    from toolkit import zoo
    from toolkit.cli import main as harmony
    (tmp_path / 'w.safetensors').write_bytes(b'x')
    chain = [dict(Stage=1, Config='configs/a/stage1.py'), dict(Stage=2, Config='configs/a/stage2.py')]
    models = [
        dict(Name='stage1', Config='configs/a/stage1.py', Weights=None),
        dict(Name='stage2', Config='configs/a/stage2.py', Metadata={'Training Chain': chain},
             Weights=dict(file='w.safetensors', sha256='0' * 64, size=1)),
        dict(Name='lonely', Config='configs/a/lonely.py', Weights=None),
        dict(Name='pulled', Config='configs/a/pulled.py', Weights=None, Metadata={'Withdrawn': 'worse than the input'}),
        dict(Name='orphan1', Config='configs/b/stage1.py', Weights=None),
        dict(Name='orphan2', Config='configs/b/stage2.py', Weights=None, Metadata={'Training Chain': [
            dict(Stage=1, Config='configs/b/stage1.py'), dict(Stage=2, Config='configs/b/stage2.py')]}),
    ]
    index = tmp_path / 'model-index.yml'
    index.write_text(yaml.safe_dump({'Models': models}))
    monkeypatch.setattr(zoo, 'REPO_ROOT', str(tmp_path))
    monkeypatch.setenv(zoo.INDEX_ENV, str(index))
    assert zoo.superseded_by('stage1') == 'stage2'
    assert zoo.superseded_by('stage2') is None and zoo.superseded_by('lonely') is None
    assert zoo.superseded_by('orphan1') is None  # its successor has no weights either
    listed = CliRunner().invoke(harmony, ['list']).output
    rows = {line.split('\t')[1]: line.split('\t')[3] for line in listed.splitlines()[1:]}
    assert rows['stage1'] == 'superseded by stage2' and rows['lonely'] == 'not released'
    download = CliRunner().invoke(harmony, ['download', 'stage1'])
    assert download.exit_code == 1 and 'gave way' in download.output and 'stage2' in download.output
    # weights that were published and taken out are "withdrawn", with the card's reason, not "not released"
    assert rows['pulled'] == 'withdrawn' and zoo.get_model_info('pulled').weights_status == 'withdrawn'
    pulled = CliRunner().invoke(harmony, ['download', 'pulled'])
    assert pulled.exit_code == 1 and 'withdrawn from the zoo (worse than the input)' in pulled.output
    assert 'tools/train.py configs/a/pulled.py' in pulled.output
    info = CliRunner().invoke(harmony, ['info', 'pulled'])
    assert 'weights: withdrawn' in info.output and 'Withdrawn: worse than the input' in info.output
