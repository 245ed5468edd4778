"""tools/worse_by_change.py: a native board's images grouped by how far off the composite was, checked by hand and
against a real ``full_res_eval`` result."""
import json
import os
import subprocess
import sys

TOOL = os.path.join(os.path.dirname(__file__), '..', '..', '..', 'tools', 'worse_by_change.py')


def _run(*args):
    return subprocess.run([sys.executable, TOOL, *map(str, args)], capture_output=True, text=True)


def _row(name, before, after):
    return {'name': name, 'input composite': {'fMSE': before}, 'full-resolution transfer': {'fMSE': after}}


def test_bins_by_hand(tmp_path):
    """Edges (200, 800): 50→80 and 150→150 fall below 200 (the first made worse, the second not: equal is not
    worse); 200→100 sits on an edge and goes up; 790→900 is worse; 5000→1000 is in the open last bin; a composite
    without a foreground (NaN) is left out."""
    rows = [_row('A/a', 50.0, 80.0), _row('A/b', 150.0, 150.0), _row('A/c', 200.0, 100.0),
            _row('B/d', 790.0, 900.0), _row('B/e', 5000.0, 1000.0), _row('B/f', float('nan'), 3.0)]
    board = tmp_path / 'm.json'
    board.write_text(json.dumps(dict(model='m', data_root='dev', per_image=rows)))
    out = tmp_path / 'bins.json'
    run = _run(board, '--edges', 200, 800, '--out', out)
    assert run.returncode == 0, run.stderr
    assert 'm on dev: 2 of 5 made worse' in run.stdout
    assert '| 0-200 | 2 | 1 | 100.0 | 115.0 |' in run.stdout
    assert '| 200-800 | 2 | 1 | 495.0 | 500.0 |' in run.stdout
    assert '| 800+ | 1 | 0 | 5000.0 | 1000.0 |' in run.stdout
    bins = json.loads(out.read_text())[str(board)]['bins']
    assert list(bins) == ['0-200', '200-800', '800+']
    assert bins['200-800'] == dict(N=2, input_fMSE=495.0, fMSE=500.0, worse=1)


def test_the_tool_groups_a_full_res_eval_result(tiny_iharmony, tmp_path):
    """On a real ``compare_full_res`` result every image is in one bin, and the made-worse counts add up to the
    images whose output fMSE is above the input's."""
    from toolkit.apis import Harmonizer
    from toolkit.apis.full_res_eval import compare_full_res
    result = compare_full_res(Harmonizer.from_pretrained('reinhard-lab'), tiny_iharmony, min_side=0)
    result.update(model='reinhard-lab', data_root=tiny_iharmony)
    board = tmp_path / 'reinhard-lab.json'
    board.write_text(json.dumps(result))
    before = [row['input composite']['fMSE'] for row in result['per_image']]
    after = [row['full-resolution transfer']['fMSE'] for row in result['per_image']]
    out = tmp_path / 'bins.json'
    run = _run(board, '--edges', 300, '--out', out)
    assert run.returncode == 0, run.stderr
    worse = sum(a > b for a, b in zip(after, before))
    assert f'reinhard-lab on {tiny_iharmony}: {worse} of {len(before)} made worse' in run.stdout
    bins = json.loads(out.read_text())[str(board)]['bins']
    assert bins['0-300']['N'] == sum(value < 300 for value in before)
    assert sum(row['N'] for row in bins.values()) == len(before)
    assert sum(row.get('worse', 0) for row in bins.values()) == worse


def test_bad_input_is_one_line_naming_the_file(tmp_path):
    broken = tmp_path / 'broken.json'
    broken.write_text('{"per_image": [')
    other = tmp_path / 'other.json'
    other.write_text('{"rows": []}')
    lacking = tmp_path / 'lacking.json'
    lacking.write_text(json.dumps(dict(model='m', per_image=[{'name': 'A/a', 'input composite': {'fMSE': 1.0}}])))
    expected = {broken: f'error: {broken}: cannot read it as JSON (JSONDecodeError)',
                other: f'error: {other}: not a tools/full_res_eval.py --out result (no model or per_image)',
                lacking: f"error: {lacking}: a per-image row lacks 'full-resolution transfer'"}
    for path, line in expected.items():
        run = _run(path)
        assert run.returncode != 0 and run.stderr.strip() == line
    run = _run(lacking, '--edges', 300, 100)
    assert run.stderr.strip() == 'error: --edges must be positive and increasing, got 300 100'
