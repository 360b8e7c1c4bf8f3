"""The cost of MING's cross-pair mixing (`mixing='node'` and `'gated'`) against the pointwise reference θ, measured in one run.

  OMP_NUM_THREADS=1 python bench/ming_mixing_cost.py [--preset qm9-laptop] [--steps 20] [--batch 64] [--n-sample 250]

The three networks on the same QM9 training batches (binary Laplacian, the preset's layout): median seconds of one training
step (loss, backward, Adam) and of one reverse step of the sampler on `--n-sample` templates, the parameter counts, and
the ratios mixing / pointwise. The models alternate step by step, so drift of the machine's speed hits both alike.
"""
import argparse, time
import numpy as np, torch


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--preset', default='qm9-laptop'); ap.add_argument('--steps', type=int, default=20)
    ap.add_argument('--batch', type=int, default=64); ap.add_argument('--n-sample', type=int, default=250)
    a = ap.parse_args()
    from ming.graphs import load_graphs
    from ming.models.ming.model import MingModel, ming_config
    from ming.models.ming.inr import n_params
    torch.manual_seed(0)
    train = load_graphs('qm9', 'train', progress=False)
    models = {m: MingModel(ming_config(a.preset, laplacian='binary', mixing=m)) for m in ('none', 'node', 'gated')}
    opts = {m: torch.optim.Adam(x.parameters(), 1e-3) for m, x in models.items()}
    rng = np.random.default_rng(0)
    train_s = {m: [] for m in models}
    for it in range(a.steps + 2):
        rows = rng.choice(len(train), a.batch, replace=False)
        for m, model in models.items():
            b = model.collate(train, rows)
            t0 = time.perf_counter()
            loss, _, _ = model.loss(b); loss.backward(); opts[m].step(); opts[m].zero_grad()
            if it >= 2: train_s[m].append(time.perf_counter() - t0)     # the first two steps warm up
    samp_s = {m: [] for m in models}
    b = models['none'].collate(train, rng.choice(len(train), a.n_sample, replace=False))
    its = {m: iter(x.sample_steps(b, generator=torch.Generator().manual_seed(0))) for m, x in models.items()}
    for it in range(8):
        for m in models:
            t0 = time.perf_counter(); next(its[m])
            if it >= 2: samp_s[m].append(time.perf_counter() - t0)
    med = lambda v: float(np.median(v))
    print(f"{a.preset}, binary Laplacian, {torch.get_num_threads()} thread(s); medians")
    print(f"{'':10s} {'params':>9s} {'train step s':>13s} {'reverse step s':>15s}")
    for m in models: print(f"{m:10s} {n_params(models[m]):9d} {med(train_s[m]):13.4f} {med(samp_s[m]):15.4f}")
    for m in ('node', 'gated'):
        r = lambda d: med(d[m]) / med(d['none'])
        print(f"ratio {m}/none: params {n_params(models[m]) / n_params(models['none']):.2f}, "
              f"train step {r(train_s):.2f}, reverse step {r(samp_s):.2f}")


if __name__ == '__main__': main()
