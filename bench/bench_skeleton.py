"""Speed of the skeleton diffusion: the packed layout (`SkeletonConfig.layout='packed'`: the layers run on the real
atoms and the real unordered pairs i<j) against the dense grid (every (i, j) of the padded n x n grid), same weights.

Usage: python bench/bench_skeleton.py [--ckpt runs/skeleton-qm9/last.ckpt] [--n 2000] [--batch-size 1000]
       [--threads 1] [--reps 3] [--train-steps 10]

Measured side by side in one run, alternating dense and packed, median over repetitions:
* agreement: the largest difference of the logits over real pairs (a batch of 256 noisy training skeletons at random
  t), and the share of identical skeletons when both layouts run the whole chain from the same generator seed;
* sampling: the reverse chain (T steps, `generate_skeletons`' batches of similar atom counts) for --n atom counts drawn
  from the QM9 training split: skeletons/s and the ratio (connectivity re-draws are not included: they re-run the
  same chain on the failures);
* training: one step (loss, backward, AdamW) on 256 training skeletons: steps/s and the ratio.

Without --ckpt the `qm9` preset's network is freshly initialised: the cost depends only on the shapes, but the draws
of an untrained network are not a trained one's. Times are CPU time of this process (`time.process_time`) with
--threads 1, i.e. the time on one dedicated core; wall time is printed beside it, and the ratios use it with more threads.
"""
import argparse, os, time, statistics
from dataclasses import replace
os.environ.setdefault('OMP_NUM_THREADS', '1')
import numpy as np, torch

from ming.graphs import load_graphs
from ming.checkpoint import load_model
from ming.models.skeleton import SkeletonDiffusion, _draw_skeletons, pair_masks


def timed(f):
    w, c = time.perf_counter(), time.process_time(); r = f()
    return r, time.process_time() - c, time.perf_counter() - w


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--ckpt'); ap.add_argument('--n', type=int, default=2000); ap.add_argument('--batch-size', type=int, default=1000)
    ap.add_argument('--threads', type=int, default=1); ap.add_argument('--reps', type=int, default=3)
    ap.add_argument('--train-steps', type=int, default=10)
    a = ap.parse_args(argv)
    torch.set_num_threads(a.threads); torch.manual_seed(0)
    i, what = (0, 'CPU') if a.threads == 1 else (1, 'wall')             # with more threads, CPU time counts their spinning
    base = load_model(a.ckpt, 'cpu', kind='skeleton')[0] if a.ckpt else SkeletonDiffusion(SkeletonDiffusion.make_config('qm9', 'qm9'))
    dense, packed = (SkeletonDiffusion(replace(base.cfg, layout=l)) for l in ('dense', 'packed'))   # whatever layout it was trained in
    for m in (dense, packed): m.load_state_dict(base.state_dict())
    models = dict(dense=dense.eval(), packed=packed.eval())
    graphs = load_graphs('qm9', 'train', progress=False)
    cfg = dense.cfg
    print(f"skeleton diffusion: hidden {cfg.hidden}, layers {cfg.layers}, T {cfg.T}; "
          f"{'checkpoint ' + a.ckpt if a.ckpt else 'fresh qm9-preset weights'}; {a.threads} thread(s)")

    # agreement of the logits
    rows = np.random.default_rng(0).choice(len(graphs), 256, replace=False)
    b = dense.collate(graphs, rows)
    t = torch.randint(1, cfg.T + 1, (len(rows),), generator=torch.Generator().manual_seed(1))
    et = dense.noisy(b, t, torch.rand(len(rows), b.n, b.n, generator=torch.Generator().manual_seed(2)))
    with torch.no_grad(): l = {k: m.denoise(et, t, b.n_atoms) for k, m in models.items()}
    _, pairs, _ = b.masks()
    diff = (l['dense'][pairs] - l['packed'][pairs]).abs().max().item()
    print(f"logits on real pairs: max |dense - packed| = {diff:.2e} (largest |logit| {l['dense'][pairs].abs().max().item():.2f})")

    # sampling: the whole chain for a.n atom counts
    n_atoms = np.asarray(graphs.n_atoms)[np.random.default_rng(3).choice(len(graphs), a.n)].astype(np.int64)
    times, out = {k: [] for k in models}, {}
    for r in range(a.reps):
        for k, m in models.items():
            out[k], c, w = timed(lambda: _draw_skeletons(m, n_atoms, torch.Generator().manual_seed(4), a.batch_size))
            times[k].append((c, w))
    same = float((out['dense'] == out['packed']).all((1, 2)).mean())
    med = {k: (statistics.median(c for c, _ in v), statistics.median(w for _, w in v)) for k, v in times.items()}
    for k, (c, w) in med.items():
        print(f"sampling {a.n} skeletons ({cfg.T} steps, batches of {a.batch_size}), {k:6s}: CPU {c:7.2f} s, wall {w:7.2f} s, "
              f"{a.n / c:7.1f} skeletons per CPU-second")
    print(f"sampling ratio dense / packed ({what} time): {med['dense'][i] / med['packed'][i]:.2f}; "
          f"identical skeletons from the same seed: {same:.1%}")

    # training: loss, backward, AdamW
    steps = {}
    for k, m in models.items():
        m.train(); steps[k] = torch.optim.AdamW(m.parameters(), lr=1e-4)
    st = {k: [] for k in models}
    for s in range(a.train_steps + 1):
        rows = np.random.default_rng(10 + s).choice(len(graphs), 256, replace=False)
        bb = dense.collate(graphs, rows)
        noise = dense.draw_noise(graphs, rows, torch.Generator().manual_seed(s))
        for k, m in models.items():
            def step():
                loss = m.loss(bb, noise)[0]; steps[k].zero_grad(); loss.backward(); steps[k].step(); return loss
            _, c, w = timed(step)
            if s: st[k].append((c, w))                                 # the first step warms up
    tm = {k: (statistics.median(c for c, _ in v), statistics.median(w for _, w in v)) for k, v in st.items()}
    for k, (c, w) in tm.items(): print(f"training step, 256 skeletons, {k:6s}: CPU {c * 1000:7.1f} ms, wall {w * 1000:7.1f} ms")
    print(f"training ratio dense / packed ({what} time): {tm['dense'][i] / tm['packed'][i]:.2f}")


if __name__ == '__main__': main()
