"""How far MING's E-step gets in its K gradient steps, on checkpoints of the same recipe.

The E-step (`ming.models.ming.em.infer_latents`) runs K = 3 steps of size `lr` on the inner loss
sum ||psi(s, z) - y_t||^2 from z = 0, in training and in sampling alike. This script draws one fixed batch of training
molecules, noises it at a few diffusion times with one fixed noise draw, and prints the inner loss per real pair after
0, 1, ..., `--steps` steps (the run's own step size), for the averaged weights (if the run kept them) and the trained
weights of each checkpoint. A residual after K steps that grows from one checkpoint to the next says that psi has
moved where K steps of that size no longer reach, so theta is trained and sampled on latents that are further from
the inner optimum.

    python bench/estep_residual.py runs/a/last.ckpt [runs/b/last.ckpt ...] [--n 512] [--steps 6] [--times 0.05 0.5 0.95]
"""
import argparse
import numpy as np
import torch
from ming.core import MingError
from ming.checkpoint import load_checkpoint, load_model
from ming.graphs import load_graphs
from ming.models.ming.em import make_input, inner_loss


def residuals(model, batch, times, steps:int, seed:int=1) -> dict:
    "{t/T: [inner loss per real pair after 0..steps E-steps]} for `model` on `batch`."
    y0, mask, em = batch.y0, batch.mask, model.cfg.em
    g, out, n_pairs = torch.Generator().manual_seed(seed), {}, float(mask.sum())
    for frac in times:
        t = torch.full((y0.shape[0],), int(frac * model.diffusion.T))                        # (B,)
        y_t = model.diffusion.q_sample(y0, t, torch.randn(y0.shape, generator=g)) * mask[..., None]   # (B, n, n, C)
        s = make_input(batch.x, (t.to(y0.dtype) / model.diffusion.T)[:, None, None], mask)  # (B, n, n, k+1)
        z, traj = s.new_zeros(*s.shape[:-1], model.net.psi.dim_z), []                      # (B, n, n, d_z)
        for _ in range(steps + 1):
            z.requires_grad_(True)
            loss = inner_loss(model.net.psi, s, z, y_t, mask, em.reg_z, em.reg)
            gz, = torch.autograd.grad(loss, z)
            traj.append(loss.item() / n_pairs)
            z = (z - em.lr * gz).detach()
        out[frac] = traj
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('ckpts', nargs='+'); ap.add_argument('--n', type=int, default=512)
    ap.add_argument('--steps', type=int, default=6); ap.add_argument('--seed', type=int, default=0)
    ap.add_argument('--times', type=float, nargs='+', default=[0.05, 0.5, 0.95])
    a = ap.parse_args()
    torch.manual_seed(a.seed)
    graphs = {}
    print(f"inner loss per real pair after 0..{a.steps} E-steps ({a.n} training molecules, one noise draw)")
    print('| checkpoint | weights | t/T | ' + ' | '.join(f'{k} steps' for k in range(a.steps + 1)) + ' |')
    print('|---|---|---|' + '---|' * (a.steps + 1))
    for ck in a.ckpts:
        averaged = bool(load_checkpoint(ck).get('ema'))      # a run without a moving average has only its weights
        for ema in ((True, False) if averaged else (False,)):
            try: model, _ = load_model(ck, ema=ema, kind='ming')
            except MingError as e: raise SystemExit(str(e))   # another kind, or a file that is no checkpoint
            ds = model.cfg.dataset
            if ds not in graphs: graphs[ds] = load_graphs(ds, 'train', progress=False)
            rows = np.random.default_rng(a.seed).choice(len(graphs[ds].n_atoms), a.n, replace=False)
            with torch.no_grad(): batch = model.collate(graphs[ds], rows)
            for frac, traj in residuals(model, batch, a.times, a.steps).items():
                print(f"| {ck} | {'ema' if ema else 'raw'} | {frac} | " + ' | '.join(f'{v:.4f}' for v in traj) + ' |',
                      flush=True)


if __name__ == '__main__':
    main()
