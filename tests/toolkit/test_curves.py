"""Learning curves from MMEngine's scalars.json: validation rows get the iteration they were computed at."""
import json

from toolkit.visualization.curves import plot_learning_curves, read_scalars


def test_validation_rows_take_the_preceding_iteration_and_the_plot_is_written(tmp_path):
    rows = [dict(loss=0.5 - 0.01 * i, loss_a=0.3, loss_b=0.2, iter=100 * i, step=100 * i) for i in range(1, 11)]
    rows.insert(5, dict(fMSE=900.0, PSNR=28.0, step=0))   # after iteration 500
    rows.append(dict(fMSE=600.0, PSNR=31.0, step=0))      # after iteration 1000
    path = tmp_path / 'scalars.json'
    path.write_text('\n'.join(json.dumps(row) for row in rows) + '\n')
    train, val = read_scalars(str(path))
    assert len(train) == 10 and [row['iter'] for row in val] == [500, 1000]
    out = plot_learning_curves(str(path), str(tmp_path / 'curve.png'), title='t')
    from PIL import Image
    assert Image.open(out).size[0] > 600


def test_a_chain_puts_stages_on_one_axis_and_keeps_only_dev_validation(tmp_path):
    from toolkit.visualization.curves import chain_rows, plot_training_chain
    first = tmp_path / 'stage1.json'
    first.write_text('\n'.join(json.dumps(row) for row in [
        dict(loss=0.5, iter=1000), dict(fMSE=800.0, step=0), dict(loss=0.4, iter=3000)]))
    second = tmp_path / 'stage2.json'
    second.write_text('\n'.join(json.dumps(row) for row in [
        dict(loss=0.3, iter=500), dict(fMSE=700.0, step=0), dict(loss=0.2, iter=1000), dict(fMSE=650.0, step=0)]))
    stages = [dict(scalars=str(first), dev=False, label='a'), dict(scalars=str(second), dev=True, label='b')]
    train, dev, boundaries = chain_rows(stages)
    assert [row['iter'] for row in train] == [1000, 3000, 3500, 4000]
    # stage 1 validated on another set: its 800 is not a dev point
    assert [(row['iter'], row['fMSE']) for row in dev] == [(3500, 700.0), (4000, 650.0)]
    assert boundaries == [3000]
    out = plot_training_chain(stages, str(tmp_path / 'chain.png'), points=[(3000, 750.0)], references={'input': 900})
    from PIL import Image
    assert Image.open(out).size[0] > 600
