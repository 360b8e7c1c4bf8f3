"""Graph SDE speed (issue 12): training molecules/s with implicit vs denoising score matching (the exact per-atom trace's
cost as a ratio, both measured in this run on the same batches), and sampling time per 10,000 QM9 molecules for each
sampler (Euler–Maruyama, predictor–corrector, probability-flow ODE).

Sampling is measured on `--n-mols` molecules in one block-diagonal batch for `--measure-steps` steps of EM and PC (the
cost per step is constant: one network evaluation per step, two for PC with one corrector step) and extrapolated to the
config's `n_steps` and to 10,000 molecules; the ODE is run to the end (its cost depends on the trained model through the
adaptive solver's number of function evaluations, so pass `--ckpt` for a meaningful figure). Every extrapolation is
printed as such.

    python bench/bench_graph_sde.py                         # CPU, one thread, untrained qm9-preset network
    python bench/bench_graph_sde.py --ckpt runs/graph-sde-dsm/last.ckpt --device cuda
"""
import argparse, time
import numpy as np
import torch


def _sync(device):
    if device.type == 'cuda': torch.cuda.synchronize()


def train_rate(objective, graphs, rows_list, device, model_cfg):
    "Molecules per second of collate + loss + backward + Adam step with `objective`, median over the batches."
    from ming.models.graph_sde.model import GraphSDE
    from dataclasses import replace
    torch.manual_seed(0)
    m = GraphSDE(replace(model_cfg, objective=objective)).to(device)
    opt = torch.optim.Adam(m.parameters(), 1e-3)
    ts = []
    for k, rows in enumerate(rows_list):
        _sync(device); t0 = time.perf_counter()
        b = m.collate(graphs, rows).to(device)
        noise = {key: v.to(device) for key, v in m.draw_noise(graphs, rows, torch.Generator().manual_seed(k)).items()}
        loss, _, _ = m.loss(b, noise)
        opt.zero_grad(); loss.backward(); opt.step()
        _sync(device); ts.append(time.perf_counter() - t0)
    t = float(np.median(ts[2:]))                              # the first two steps warm up
    return len(rows_list[0]) / t, t


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--device', default='cpu')
    p.add_argument('--threads', type=int, default=1, help='torch threads on CPU')
    p.add_argument('--batch', type=int, default=128, help='training molecules per step')
    p.add_argument('--train-steps', type=int, default=12, help='training steps timed per objective')
    p.add_argument('--n-mols', type=int, default=1000, help='molecules in the sampling batch')
    p.add_argument('--measure-steps', type=int, default=50, help='EM / PC steps timed (then extrapolated)')
    p.add_argument('--ckpt', default=None, help='a trained graph_sde checkpoint (default: untrained qm9 preset)')
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    device = torch.device(a.device)
    from ming.graphs import load_graphs
    from ming.models.graph_sde.model import GraphSDE
    graphs = load_graphs('qm9', 'train', progress=False)
    if a.ckpt:
        from ming.checkpoint import load_model
        model, _ = load_model(a.ckpt, device=device, kind='graph_sde')
    else:
        torch.manual_seed(0); model = GraphSDE(GraphSDE.make_config('qm9', 'qm9')).to(device)
    cfg = model.cfg
    print(f'device {device} ({torch.get_num_threads()} threads), model {"checkpoint " + a.ckpt if a.ckpt else "untrained qm9 preset"}: '
          f'hidden {cfg.hidden}, radius {cfg.radius}, {sum(p.numel() for p in model.parameters()):,} parameters')

    rng = np.random.default_rng(0)
    rows_list = [rng.choice(len(graphs), a.batch, replace=False) for _ in range(a.train_steps)]
    res = {obj: train_rate(obj, graphs, rows_list, device, cfg) for obj in ('dsm', 'ism')}
    print(f'\ntraining, batch {a.batch}, median of {a.train_steps - 2} steps (same batches for both):')
    for obj, (r, t) in res.items(): print(f'  {obj}: {r:10,.0f} molecules/s  ({1e3 * t:.1f} ms/step)')
    print(f'  ism / dsm time per step: {res["ism"][1] / res["dsm"][1]:.2f}x  (exact trace: {cfg.A} VJPs with create_graph)')

    model.eval()
    b = model.collate(graphs, np.arange(a.n_mols)).to(device)
    scale = 10_000 / a.n_mols
    print(f'\nsampling {a.n_mols} molecules ({b.N} atoms) in one block-diagonal batch; times per 10,000 molecules '
          f'extrapolated linearly from {a.n_mols}:')
    for sampler in ('em', 'pc'):
        k = min(a.measure_steps, cfg.n_steps)
        it = model.sample_steps(b, torch.Generator().manual_seed(0), sampler=sampler, n_steps=cfg.n_steps)
        next(it)                                               # warm-up step
        _sync(device); t0 = time.perf_counter()
        for _ in range(k): next(it)
        _sync(device); dt = (time.perf_counter() - t0) / k
        it.close()
        print(f'  {sampler:3s}: {1e3 * dt:7.1f} ms/step measured over {k} steps; {cfg.n_steps} steps -> '
              f'{dt * cfg.n_steps:7.1f} s per {a.n_mols}, {dt * cfg.n_steps * scale:8.1f} s per 10,000 (extrapolated)')
    nfe = [0]
    net_forward = model.net.forward
    def counted(*args, **kw): nfe[0] += 1; return net_forward(*args, **kw)
    model.net.forward = counted
    _sync(device); t0 = time.perf_counter()
    for _ in model.sample_steps(b, torch.Generator().manual_seed(0), sampler='ode'): pass
    _sync(device); dt = time.perf_counter() - t0
    model.net.forward = net_forward
    print(f'  ode: {dt:7.1f} s per {a.n_mols} measured to the end ({nfe[0]} network evaluations, {cfg.method} '
          f'rtol {cfg.rtol} atol {cfg.atol}); {dt * scale:8.1f} s per 10,000 (extrapolated)')


if __name__ == '__main__':
    main()
