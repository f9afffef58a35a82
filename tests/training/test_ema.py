"""EMA weights follow the closed-form average."""

from __future__ import annotations

import torch
from torch import nn

from molgen.training.ema import EMA


def test_ema_matches_closed_form_average() -> None:
    model = nn.Linear(1, 1, bias=False)
    nn.init.constant_(model.weight, 0.0)
    ema = EMA(model, decay=0.5)
    expected = 0.0
    for n, value in enumerate([1.0, 2.0, 3.0, 4.0]):
        nn.init.constant_(model.weight, value)
        ema.update(model)
        d = min(0.5, (1 + n) / (10 + n))
        expected = d * expected + (1 - d) * value
    assert torch.allclose(ema.module.weight, torch.tensor([[expected]]))
    assert int(ema.num_updates) == 4 and not ema.module.weight.requires_grad
    ema.train()
    assert not ema.module.training
