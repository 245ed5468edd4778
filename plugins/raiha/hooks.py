"""Checkpoints that say which content encoder their features came from.

Raiha's SGF is trained on one frozen encoder's features; the encoder is not in the state dict (its weights come
from the Hub), so a checkpoint alone would not tell which encoder, at which revision, it needs. This hook writes
the encoder's identity into every checkpoint's ``meta`` and warns when a checkpoint is resumed or loaded under a
different one.
"""
from __future__ import annotations

from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper

from toolkit.registry import HOOKS


def _encoder_identity(runner):
    model = runner.model.module if is_model_wrapper(runner.model) else runner.model
    encoder = getattr(model, 'content_encoder', None)
    return None if encoder is None else getattr(encoder, 'identity', None)


@HOOKS.register_module()
class ContentEncoderRecordHook(Hook):
    """``checkpoint['meta']['content_encoder']`` = the model's encoder identity (type, architecture, input size,
    Hub repository and revision or local file sha256, denoiser); a mismatch on load is logged as a warning.

    Example:
        >>> hook = ContentEncoderRecordHook()
        >>> hook.priority
        'LOW'
    """

    priority = 'LOW'

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        checkpoint.setdefault('meta', {})['content_encoder'] = _encoder_identity(runner)

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        recorded = (checkpoint.get('meta') or {}).get('content_encoder')
        current = _encoder_identity(runner)
        if recorded is not None and recorded != current:
            print_log(f'the checkpoint was trained with content encoder {recorded}, this model uses {current}: '
                      'SGF will see features it was not trained on', logger='current', level=30)
