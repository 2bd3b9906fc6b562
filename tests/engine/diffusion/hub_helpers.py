"""What the model-loader tests share: a snapshot id for cached repos and a weight comparison
(the offline, private cache itself is the autouse fixture in conftest.py)."""

import torch

COMMIT = "0123456789abcdef0123456789abcdef01234567"
LCM_LORA_SD15 = "latent-consistency/lcm-lora-sdv1-5"


def same_weights(a, b) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)
