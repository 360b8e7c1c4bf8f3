"""Average the weights of several trainings of one model (a "model soup", Wortsman et al., ICML 2022) into one checkpoint.

The trainings must share their architecture (the same `model_cfg`, the sampler's options and the layout aside) and should share a start
(warm restarts of one checkpoint with other seeds), so that their weights lie in one basin and their mean is a model.
Both the trained weights and their moving averages are averaged, tensor by tensor (integer buffers are copied from the
first); the rest of the file (configs, the first run's optimiser state) is the first checkpoint's, and the sources are
listed under `averaged_from`. The result is for `ming sample --ckpt`, not for `--resume`.

Measured on MING's aromatic-class labeller (nbs/14_ming_model.ipynb, *Averaging the three ends instead*): three
10,000-step warm restarts from 10^-3 of one checkpoint do not average; their mean samples carbon chains (FCD 15).

    python bench/average_weights.py RUN_A/last.ckpt RUN_B/last.ckpt [...] --out runs/soup.ckpt
"""
import argparse, copy
import torch
from ming.core import MingError, atomic_torch_save
from ming.checkpoint import load_checkpoint

SAMPLING = ('x0_param', 'sample_steps')   # read only by the sampler; `layout` (dense or packed) keeps the same weights


def _arch(cfg:dict) -> dict:
    "The model config without the options that leave the weights alone."
    cfg = copy.deepcopy(cfg); cfg.pop('layout', None)
    for k in SAMPLING: cfg.get('diffusion', {}).pop(k, None)
    return cfg


def average_state(states:list) -> dict:
    "The tensor-wise mean of state dicts with the same keys and shapes (integer tensors: the first's)."
    keys = list(states[0])
    for i, s in enumerate(states[1:], 1):
        if list(s) != keys: raise MingError(f"checkpoint {i} has other parameters than checkpoint 0.")
    out = {}
    for k in keys:
        ts = [s[k] for s in states]
        if any(t.shape != ts[0].shape for t in ts): raise MingError(f"parameter {k}: shapes differ {[tuple(t.shape) for t in ts]}.")
        out[k] = torch.stack([t.float() for t in ts]).mean(0).to(ts[0].dtype) if ts[0].is_floating_point() else ts[0].clone()
    return out


def average_checkpoints(paths:list) -> dict:
    "One checkpoint whose `model` and `ema` weights are the means of those of `paths`."
    if len(paths) < 2: raise MingError("give at least two checkpoints to average.")
    cks = [load_checkpoint(p) for p in paths]
    for p, ck in zip(paths[1:], cks[1:]):
        if ck['kind'] != cks[0]['kind'] or _arch(ck['model_cfg']) != _arch(cks[0]['model_cfg']):
            raise MingError(f"{p}: another model ({ck['kind']}) or architecture than {paths[0]}.")
    out = dict(cks[0])
    out['model'] = average_state([ck['model'] for ck in cks])
    if all(ck.get('ema') for ck in cks): out['ema'] = average_state([ck['ema'] for ck in cks])
    else: out['ema'] = {}                                   # as a run that kept no average
    out['averaged_from'] = [str(p) for p in paths]
    return out


if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('ckpts', nargs='+'); ap.add_argument('--out', required=True)
    a = ap.parse_args()
    ck = average_checkpoints(a.ckpts)
    atomic_torch_save(ck, a.out)
    print(f"wrote {a.out}: the mean of {len(a.ckpts)} checkpoints' weights" + (" and moving averages" if ck['ema'] else ""))
