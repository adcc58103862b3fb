"""The CRNN: a VGG-style convolutional feature extractor that collapses the height
to 1, a 2-layer bidirectional LSTM over the width, and a linear layer to K classes.

Input (N, C, H, W) with H = ``input_height`` (32); output log-probs (N, T, K) with
T = ceil(W / 4): the two width-halving pools use ``ceil_mode`` so the frame rule
of DESIGN §1 holds for every width.
"""
from __future__ import annotations

import torch
from torch import nn

WIDTH_STRIDE = 4


def _conv(in_ch: int, out_ch: int) -> list[nn.Module]:
    return [nn.Conv2d(in_ch, out_ch, 3, padding=1, bias=False), nn.BatchNorm2d(out_ch), nn.ReLU(inplace=True)]


class CRNN(nn.Module):
    """CRNN for ``input_height`` 32; ``width`` scales the conv channels, ``hidden`` the LSTM."""

    def __init__(self, num_classes: int, input_channels: int = 1, input_height: int = 32,
                 width: int = 32, hidden: int = 192):
        super().__init__()
        if input_height != 32:
            raise ValueError("this architecture expects input_height 32")
        c1, c2, c3, c4 = width, 2 * width, 4 * width, 8 * width
        self.features = nn.Sequential(
            *_conv(input_channels, c1), nn.MaxPool2d(2, 2, ceil_mode=True),        # 16 x W/2
            *_conv(c1, c2), nn.MaxPool2d(2, 2, ceil_mode=True),                    # 8 x W/4
            *_conv(c2, c3), *_conv(c3, c3), nn.MaxPool2d((2, 1), (2, 1)),          # 4 x W/4
            *_conv(c3, c4), *_conv(c4, c4), nn.MaxPool2d((2, 1), (2, 1)),          # 2 x W/4
            nn.Conv2d(c4, c4, (2, 1), bias=False), nn.BatchNorm2d(c4), nn.ReLU(inplace=True),  # 1 x W/4
        )
        self.rnn = nn.LSTM(c4, hidden, num_layers=2, bidirectional=True, dropout=0.1)
        self.head = nn.Linear(2 * hidden, num_classes)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        """(N, C, 32, W) normalised pixels -> (N, T, K) log-probs, T = ceil(W / 4)."""
        feats = self.features(image)                      # N, C, 1, T
        seq = feats.squeeze(2).permute(2, 0, 1).float()   # T, N, C
        with torch.autocast(seq.device.type, enabled=False):  # the LSTM stays fp32 under AMP
            seq, _ = self.rnn(seq)
        logits = self.head(seq)                           # T, N, K
        return torch.log_softmax(logits.float(), dim=-1).permute(1, 0, 2)
