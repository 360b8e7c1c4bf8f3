"""MING's training loss on fixed molecules and fixed noise, for checkpoints of the same recipe.

A run's `train_log.csv` logs the loss of each step's own batch and noise draw, so two runs (or two stretches of one
run) compare only on average, and a stretch of hard batches looks like a model getting worse. This script scores every
checkpoint on the same molecules (drawn once from the training split and from the test split) with the same diffusion
times and noise: the model's own `loss` (E-step, then CE(theta) + MSE(psi), exactly as in training), per real pair, at
a few fixed times t/T and with t drawn as in training. The averaged weights (if the run kept them) and the trained
weights are scored separately (`--weights ema` or `raw` for one of them).

The held-out molecules are the test split's, a diagnostic here, never a choice: the validation split was carved from
the training split with the run's seed until runs had a `split_seed` of their own, so a warm restart of those days with
another seed trained on the molecules its predecessor held out, and the test split is the only one no curve of such a
chain has seen.

    python bench/fixed_loss.py runs/a/last.ckpt [runs/b/last.ckpt ...] [--n 512] [--batch 64] [--times 0.05 0.5 0.95]
"""
import argparse
import numpy as np
import torch
from ming.core import MingError
from ming.checkpoint import load_checkpoint, load_model
from ming.graphs import load_graphs


def fixed_loss(model, graphs, rows, times, batch:int=64, seed:int=1) -> dict:
    "{t/T or 'drawn': (ce, mse) per real pair} of `model` on `graphs[rows]`, with noise drawn from `seed` alone."
    out = {}
    for frac in list(times) + ['drawn']:
        g, tot = torch.Generator().manual_seed(seed), np.zeros(3)          # ce, mse and pair weights, summed
        for i in range(0, len(rows), batch):
            r = rows[i:i + batch]
            noise = model.draw_noise(graphs, r, g)                           # t (B,), noise (B, n, n, C)
            if frac != 'drawn': noise['t'] = torch.full_like(noise['t'], int(frac * model.diffusion.T))
            with torch.no_grad(): b = model.collate(graphs, r)
            _, logs, w = model.loss(b, noise)
            tot += [float(logs['ce']) * w, float(logs['mse']) * w, w]
        out[frac] = (tot[0] / tot[2], tot[1] / tot[2])
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('ckpts', nargs='+'); ap.add_argument('--n', type=int, default=512)
    ap.add_argument('--batch', type=int, default=64); ap.add_argument('--seed', type=int, default=0)
    ap.add_argument('--times', type=float, nargs='+', default=[0.05, 0.5, 0.95])
    ap.add_argument('--splits', nargs='+', default=['train', 'test'])
    ap.add_argument('--weights', choices=['both', 'ema', 'raw'], default='both')
    a = ap.parse_args()
    torch.manual_seed(a.seed)
    data, cols = {}, [str(t) for t in a.times] + ['drawn']
    print(f"CE(theta) / MSE(psi) per real pair, {a.n} molecules per split, one noise draw, t/T fixed or drawn as in training")
    print('| checkpoint | weights | split | ' + ' | '.join(f'CE t/T={c}' for c in cols) + ' | ' + ' | '.join(f'MSE t/T={c}' for c in cols) + ' |')
    print('|---|---|---|' + '---|' * (2 * len(cols)))
    for ck in a.ckpts:
        averaged = bool(load_checkpoint(ck).get('ema'))      # a run without a moving average has only its weights
        for ema in ((True, False) if averaged else (False,)):
            if averaged and a.weights != 'both' and ema != (a.weights == 'ema'): continue   # a run without an average: its weights
            try: model, _ = load_model(ck, ema=ema, kind='ming')
            except MingError as e: raise SystemExit(str(e))   # another kind, or a file that is no checkpoint
            model.eval()
            for split in a.splits:
                key = (model.cfg.dataset, split)
                if key not in data:
                    gr = load_graphs(*key, progress=False)
                    data[key] = gr, np.sort(np.random.default_rng(a.seed).choice(len(gr.n_atoms), a.n, replace=False))
                res = fixed_loss(model, *data[key], a.times, a.batch)
                print(f"| {ck} | {'ema' if ema else 'raw'} | {split} | " + ' | '.join(f'{res[t][0]:.4f}' for t in res)
                      + ' | ' + ' | '.join(f'{res[t][1]:.5f}' for t in res) + ' |', flush=True)


if __name__ == '__main__':
    main()
