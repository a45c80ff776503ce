"""Refuse to train a classifier whose identity count is not the training set's."""
from typing import Optional, Tuple

from mmengine.dataset import RepeatDataset
from mmengine.hooks import Hook

from vireid.datasets.base_vireid_dataset import BaseVIReIDDataset
from vireid.models.utils import unwrap
from vireid.registry import HOOKS


def classifier_size(model) -> Optional[Tuple[str, int]]:
    """(config key, identities) of the model's identity classifier, or ``None`` if it has none."""
    model = unwrap(model)
    if isinstance(getattr(model, 'num_classes', None), int):  # FMCNet sizes its heads itself
        return 'model.num_classes', model.num_classes
    head = unwrap(getattr(model, 'head', None))
    if isinstance(getattr(head, 'num_classes', None), int):
        return 'model.head.num_classes', head.num_classes
    return None


@HOOKS.register_module()
class IdentityCountHook(Hook):
    """Before training, check the model's identity classes against the training set's identities.

    More classes than identities trains without a word, with logits that
    never get a positive: the sign of a config written for another dataset
    or split (the synthetic configs' 320 identities, for the generator's
    default 400-id tree, against one made with ``--num-ids 150``). Fewer fails at
    the first step, on a GPU with a device-side assert that names nothing.
    Either way the message names the key to set. Only vireid's datasets,
    which count the identities they relabel, are checked, also inside
    MMEngine's ``RepeatDataset``; a ``ConcatDataset``'s metainfo is its first
    part's, so it is not.
    """

    priority = 'VERY_HIGH'

    def before_train(self, runner) -> None:
        size = classifier_size(runner.model)
        dataset = runner.train_dataloader.dataset
        while isinstance(dataset, RepeatDataset):
            dataset = dataset.dataset
        if size is None or not isinstance(dataset, BaseVIReIDDataset):
            return
        identities = dataset.metainfo.get('num_classes')
        if not isinstance(identities, int) or size[1] == identities:
            return
        key, classes = size
        raise ValueError(
            f'{key}={classes}, but the training set ({type(dataset).__name__} at '
            f'{dataset.data_root}) has {identities} identities: set '
            f'{key}={identities} (--cfg-options {key}={identities}), or point the '
            'config at the data it was written for')
