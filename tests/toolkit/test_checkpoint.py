import os
import pickle

import pytest
import torch
from mmengine.logging import HistoryBuffer, MessageHub
from mmengine.runner.checkpoint import CheckpointLoader

from toolkit.checkpoint import TRUST_ENV_VARIABLE, safe_torch_load


def _training_state():
    hub = MessageHub.get_instance('harmonyzoo-test-hub')
    for value in (3.0, 2.0, 1.0):
        hub.update_scalar('train/loss', value)
    return dict(meta=dict(epoch=1, iter=10), state_dict=dict(weight=torch.ones(2)),
                message_hub=hub.state_dict())


def test_mmengine_training_state_loads_with_weights_only(tmp_path):
    path = str(tmp_path / 'iter_10.pth')
    torch.save(_training_state(), path)
    loaded = CheckpointLoader.load_checkpoint(path, map_location='cpu')  # the Runner's entry point
    buffer = loaded['message_hub']['log_scalars']['train/loss']
    assert isinstance(buffer, HistoryBuffer)
    assert buffer.current() == 1.0 and buffer.mean() == pytest.approx(2.0)
    assert torch.equal(loaded['state_dict']['weight'], torch.ones(2))


class _Exploit:
    def __reduce__(self):
        return (os.system, ('echo pwned',))


def test_malicious_pickle_is_refused_naming_the_file(tmp_path):
    path = str(tmp_path / 'evil.pth')
    with open(path, 'wb') as handle:
        pickle.dump({'state_dict': _Exploit()}, handle, protocol=2)
    with pytest.raises(RuntimeError, match='evil.pth contains objects that are not safe'):
        safe_torch_load(path)


def test_plain_mmengine_history_buffer_needs_explicit_trust(tmp_path, monkeypatch):
    # what plain MMEngine writes: the statistics table pickled as getattr(HistoryBuffer, 'min') calls
    buffer = HistoryBuffer([1.0], [1])
    state = dict(buffer.__dict__, _statistics_methods={'min': HistoryBuffer.min})

    class LegacyBuffer:
        def __reduce__(self):
            return (HistoryBuffer.__new__, (HistoryBuffer,), state)

    path = str(tmp_path / 'legacy.pth')
    torch.save({'message_hub': LegacyBuffer()}, path)
    with pytest.raises(RuntimeError, match=TRUST_ENV_VARIABLE):
        safe_torch_load(path)
    monkeypatch.setenv(TRUST_ENV_VARIABLE, '1')
    assert isinstance(safe_torch_load(path)['message_hub'], HistoryBuffer)


def test_missing_checkpoint(tmp_path):
    with pytest.raises(FileNotFoundError, match='nope.pth does not exist'):
        safe_torch_load(str(tmp_path / 'nope.pth'))
