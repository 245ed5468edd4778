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
