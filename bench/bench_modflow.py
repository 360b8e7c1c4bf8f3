"""ModFlow speed on the QM9 configuration (2D-EGNN, hidden 32, dopri5 atol = rtol = 1e-5), ratios measured side by side.

  python bench/bench_modflow.py [--ckpt runs/modflow-fast/last.ckpt] [--device cpu] [--rounds 3]

1. Training molecules/s: batches of 128 molecules as one block-diagonal graph (one ODE solve per step) versus one graph
   per step as the released code trains (128 optimiser steps of one molecule each). The optimiser runs with lr 0, so
   both modes integrate the same dynamics (training moves one-graph steps 128 times as often). The two modes alternate in
   `--rounds` rounds from the same weights, so a busy machine slows both alike; the ratio is of the summed times.
   The ratio is also printed per function evaluation and molecule: one adaptive solve for the batch takes the steps
   the batch as a whole needs, which may be more or fewer than a single molecule's, and that depends on the weights.
2. The exact per-atom trace versus Hutchinson's estimator with one probe: one function evaluation with its traces, built
   for backpropagation, then the backward pass (batch 128), and a whole training step of each (whose solver may take a
   different number of evaluations: both are printed).
3. Function evaluations per solve at the released tolerances: encoding (training direction, with traces) on batches of
   128 and on single molecules, generation (sampling) on a batch of 1,000.
Times are CPU seconds of this process (`time.process_time`, one torch thread), which a machine shared with other jobs
disturbs far less than wall time; wall seconds are printed beside them. `--ckpt` loads trained weights (a `ming train` checkpoint, or a dict with 'cfg' and 'state'); without it the weights are a fresh
initialisation, whose dynamics are gentler than a trained model's (fewer evaluations). Set OMP_NUM_THREADS=1.
"""
import argparse, copy, time
import numpy as np, torch


def load(ckpt, device):
    from ming.models.modflow.model import ModFlow, ModFlowConfig
    if ckpt is None:
        torch.manual_seed(0); return ModFlow(ModFlow.make_config('qm9', 'qm9')).to(device)
    d = torch.load(ckpt, map_location='cpu', weights_only=False)
    if 'kind' in d:                                           # a checkpoint written by `ming train`
        from ming.checkpoint import load_model
        return load_model(ckpt, device, kind='modflow')[0].train()
    cfg = d.get('cfg') or d.get('model_cfg') or d['config']
    m = ModFlow(ModFlowConfig.from_dict(cfg)); m.load_state_dict(d.get('state') or d['model']); return m.to(device)


def sync(device):
    if device.type == 'cuda': torch.cuda.synchronize()


def clock(device):
    "CPU seconds of this process on the CPU; wall seconds on a GPU."
    sync(device); return time.process_time() if device.type == 'cpu' else time.perf_counter()


def train_steps(m, opt, graphs, batches, device):
    "Seconds and summed NFE of one optimiser step per batch of rows."
    t0, nfe = clock(device), 0
    for k, rows in enumerate(batches):
        loss, logs, _ = m.loss(m.collate(graphs, rows).to(device), m.draw_noise(graphs, rows, torch.Generator().manual_seed(k)))
        opt.zero_grad(); loss.backward(); opt.step(); nfe += int(logs['nfe'])
    return clock(device) - t0, nfe


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--ckpt', default=None); ap.add_argument('--device', default='cpu'); ap.add_argument('--rounds', type=int, default=3)
    ap.add_argument('--bs', type=int, default=128)
    a = ap.parse_args()
    from ming.graphs import load_graphs
    from ming.models.modflow.flow import dynamics_and_traces
    from ming.models.modflow.networks import n_params
    dev = torch.device(a.device)
    graphs = load_graphs('qm9', 'train', progress=False)
    base = load(a.ckpt, dev)
    if getattr(base.cfg, 'train_atol', 0) or getattr(base.cfg, 'train_rtol', 0):   # e.g. a qm9-cpu-fast checkpoint
        from dataclasses import replace
        print(f'(the checkpoint trains at atol={base.cfg.train_atol} rtol={base.cfg.train_rtol}; timed here at the released tolerances)')
        base.cfg = replace(base.cfg, train_atol=0., train_rtol=0.)
    w_start = time.perf_counter()
    print(f'ModFlow {base.cfg.net}, {n_params(base.flow.net):,} network parameters, T = {base.flow.T.item():.3f}, '
          f'{base.cfg.method} atol={base.cfg.atol} rtol={base.cfg.rtol}, torch threads {torch.get_num_threads()}, {a.device}')
    rng = np.random.default_rng(0)

    print(f'\n1. training throughput (batch {a.bs} as one graph vs one graph per step)')
    sets = [rng.choice(len(graphs), a.bs, replace=False) for _ in range(4 * a.rounds + 2)]
    base._pool_coords(graphs, np.concatenate(sets))          # depictions once, outside the timings (as after epoch 1)
    sets = iter(sets)
    mb, mo = copy.deepcopy(base), copy.deepcopy(base)
    ob, oo = (torch.optim.Adam(x.parameters(), 0., weight_decay=0.) for x in (mb, mo))   # weights held fixed: same dynamics
    warm = next(sets); train_steps(mb, ob, graphs, [warm], dev); train_steps(mo, oo, graphs, [[i] for i in warm[:8]], dev)   # warm-up
    tb = to = nb = no = mols = 0
    for r in range(a.rounds):
        rows = next(sets)
        s, n = train_steps(mb, ob, graphs, [rows], dev); tb += s; nb += n
        s, n = train_steps(mo, oo, graphs, [[i] for i in rows], dev); to += s; no += n
        mols += a.bs
        print(f'  round {r}: batched {a.bs / (tb / (r + 1)):8.1f} mol/s   one-per-step {mols / to:8.1f} mol/s', flush=True)
    print(f'  batched: {mols / tb:.1f} molecules/s ({nb / a.rounds:.0f} NFE per step); one graph per step: {mols / to:.1f} '
          f'molecules/s ({no / mols:.1f} NFE per step)')
    print(f'  RATIO batched / one-per-step = {to / tb:.1f}x  (goal >= 30x)')
    print(f'  per function evaluation and molecule: batched {1e3 * tb / (nb * a.bs):.3f} ms, one graph {1e3 * to / no:.3f} ms; '
          f'RATIO = {(to / no) / (tb / (nb * a.bs)):.1f}x (the solver-step count of the trained dynamics set apart)')

    print(f'\n2. exact trace vs one-probe Hutchinson (batch {a.bs})')
    b = base.collate(graphs, next(sets)).to(dev)
    z = torch.randn(b.N, base.cfg.A, device=dev); eps = torch.randn_like(z)
    net = base.flow.net
    def one_eval(how):
        zz = z.clone().requires_grad_(True)
        dz, tr = dynamics_and_traces(net, 0.3, zz, b, create_graph=True, eps=eps if how == 'hutchinson' else None,
                                     tangents=how == 'tangents')
        (dz.sum() + tr.sum()).backward()
    hows = ('tangents', 'vjp', 'hutchinson'); tt = dict.fromkeys(hows, 0.)
    for how in hows: one_eval(how)                                     # warm-up
    for _ in range(60):
        for how in hows: t0 = clock(dev); one_eval(how); tt[how] += clock(dev) - t0
    print('  one evaluation + traces + backward: ' + ', '.join(f'{h} {1e3 * v / 60:.2f} ms' for h, v in tt.items()))
    print(f'  RATIO exact (|A| tangents) / Hutchinson per evaluation = {tt["tangents"] / tt["hutchinson"]:.2f}x  (goal <= 2x); '
          f'exact (|A| VJPs) / Hutchinson = {tt["vjp"] / tt["hutchinson"]:.2f}x')
    from dataclasses import replace
    from ming.models.modflow.model import ModFlow
    mh = ModFlow(replace(base.cfg, trace='hutchinson')).to(dev); mh.load_state_dict(base.state_dict())
    me = copy.deepcopy(base)
    oe, oh = (torch.optim.Adam(x.parameters(), 1e-3, weight_decay=1e-5) for x in (me, mh))
    se = sh = ne = nh = 0
    for r in range(a.rounds):
        rows = next(sets)
        s, n = train_steps(me, oe, graphs, [rows], dev); se += s; ne += n
        s, n = train_steps(mh, oh, graphs, [rows], dev); sh += s; nh += n
    print(f'  training step: exact {se / a.rounds:.3f} s ({ne / a.rounds:.0f} NFE), Hutchinson {sh / a.rounds:.3f} s ({nh / a.rounds:.0f} NFE)')
    print(f'  RATIO exact / Hutchinson per training step = {se / sh:.2f}x')

    print('\n3. function evaluations per solve at the released tolerances')
    from ming.models.modflow.flow import encode, smooth_labels
    with torch.no_grad():
        for bs in (a.bs, 1):
            nfes = []
            for r in range(8 if bs == 1 else a.rounds):
                rows = rng.choice(len(graphs), bs, replace=False); b = base.collate(graphs, rows).to(dev)
                x = smooth_labels(b.atoms, base.cfg.A, torch.rand(b.N, base.cfg.A, device=dev))
                encode(base.flow, x, b, **{**base.solver, 'adjoint': False}); nfes.append(base.flow.nfe)
            print(f'  encode (with traces), batch {bs:>4}: {np.mean(nfes):.1f} NFE per solve (min {min(nfes)}, max {max(nfes)})')
        rows = rng.choice(len(graphs), 1000, replace=False); b = base.collate(graphs, rows).to(dev)
        t0, w0 = clock(dev), time.perf_counter()
        base.sample(b, generator=torch.Generator().manual_seed(0)); t, w = clock(dev) - t0, time.perf_counter() - w0
        print(f'  generate, batch 1000: {base.flow.nfe} NFE, {t:.2f} s ({1000 / t:.0f} molecules/s; wall {w:.2f} s)')


    print(f'\nwall time of the whole benchmark: {time.perf_counter() - w_start:.0f} s')


if __name__ == '__main__': main()
