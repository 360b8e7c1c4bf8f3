"""Skeleton statistics of a trained skeleton generator against its sampling temperature, and the data row.

  python bench/skeleton_novelty.py --ckpt runs/skeleton-qm9/last.ckpt --taus 1 1.5 2 3 [--feasible degree] [--n 1000] [--reps 3] [--out FILE.json]

For each temperature tau: `reps` x `n` skeletons with the atom counts of training templates
(`choose_templates(len(train), n, seed=2017, rep=r)`) and noise `torch.Generator().manual_seed(2017 + r)` (the seeds of
`ming sample`), drawn by `generate_skeletons` (disconnected ones re-drawn); then the share connected at the first draw,
re-drawn, over-valent (an atom's bond-order sum > 4), novel against the training split's skeletons (binary, and with
bond orders), distinct, novel among the skeletons with no atom of more than 4 neighbours (`novel_deg4`: what a labelling
that generates bond orders can make valid) and among those with no bond-order sum above 4 (`novel_val4`), CPU
seconds, and the distances to the test split's skeletons (`ming.metrics.skeleton_distances`: skeleton FCD of the graphs
as saturated hydrocarbons, cycle TV, degree TV); mean ± std over the repetitions. `--feasible degree|valence` re-draws the skeletons that fail that test. The
data rows: the same keys of the test split against the training split, and the distances of the training templates
(the skeletons that template-domain sampling uses: the same rows, `reps` x `n`) to the test split's skeletons. Set OMP_NUM_THREADS=1 for comparable CPU seconds.
"""
import argparse, json, time
import numpy as np, torch


def stats_row(rs:list) -> dict: return {k: (float(np.mean([x[k] for x in rs])), float(np.std([x[k] for x in rs]))) for k in rs[0]}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--ckpt', required=True); ap.add_argument('--taus', type=float, nargs='+', default=[1.])
    ap.add_argument('--n', type=int, default=1000); ap.add_argument('--reps', type=int, default=3); ap.add_argument('--out', default=None)
    ap.add_argument('--feasible', default='connected', choices=('connected', 'degree', 'valence'))
    a = ap.parse_args()
    from ming.checkpoint import load_model
    from ming.graphs import load_graphs
    from ming.templates import choose_templates
    from ming.models.skeleton import generate_skeletons, skeleton_keys, over_valent
    from ming.metrics import skeleton_distances, skeleton_hydrocarbons, cached_fcd_stats
    model = load_model(a.ckpt, 'cpu', kind='skeleton')[0]
    train, test = (load_graphs(model.cfg.dataset, s, progress=False) for s in ('train', 'test'))
    keys = {o: set(skeleton_keys(train.bonds, train.n_atoms, o)) for o in (False, True)}
    out = dict(data={})
    for o, name in ((False, 'binary'), (True, 'orders')):
        k = skeleton_keys(test.bonds, test.n_atoms, o)
        out['data'][f'novel_{name}'] = float(np.mean([x not in keys[o] for x in k]))
        print(f'data row ({model.cfg.dataset} test split vs train, {len(k):,} molecules): novel {name} '
              f'{100 * out["data"][f"novel_{name}"]:.2f} %; {len(set(k)):,} distinct, {len(set(k) - keys[o]):,} of them new '
              f'(the training split has {len(keys[o]):,})', flush=True)
    test_keys = skeleton_keys(test.bonds, test.n_atoms, False)
    ref_fcd = cached_fcd_stats(skeleton_hydrocarbons(test_keys))           # ChemNet moments of the test skeletons
    dist = lambda keys: skeleton_distances(keys, test_keys, ref_fcd)
    rows = [choose_templates(len(train), a.n, seed=2017, rep=r) for r in range(a.reps)]
    out['templates'] = row = stats_row([dist(skeleton_keys(train.bonds[i], train.n_atoms[i], False)) for i in rows])
    print(f'data row (training templates vs the test split, {a.reps} x {a.n}): ' +
          ', '.join(f'{k} {v[0]:.4f} ± {v[1]:.4f}' for k, v in row.items()), flush=True)
    for tau in a.taus:
        m = load_model(a.ckpt, 'cpu', kind='skeleton', options=dict(temperature=tau, feasible=a.feasible))[0]
        rs = []
        for r in range(a.reps):
            n = np.asarray(train.n_atoms[rows[r]], np.int64)
            t0 = time.process_time()
            b, st = generate_skeletons(m, n, torch.Generator().manual_seed(2017 + r))
            secs = time.process_time() - t0
            kb, ko = skeleton_keys(b, n, False), skeleton_keys(b, n, True)
            new = np.array([k not in keys[False] for k in kb])
            d4, v4 = ~over_valent(b, 'degree'), ~over_valent(b, 'valence')
            rs.append(dict(connected_first=st['connected_first'], redrawn=st['drawn'] - st['n'], valence_excess=st['valence_excess'],
                           novel_binary=new.mean(), novel_orders=np.mean([k not in keys[True] for k in ko]),
                           deg4=d4.mean(), novel_deg4=new[d4].mean() if d4.any() else np.nan,
                           val4=v4.mean(), novel_val4=new[v4].mean() if v4.any() else np.nan,
                           unique_binary=len(set(kb)) / len(kb), unique_orders=len(set(ko)) / len(ko), cpu_s=secs, **dist(kb)))
        out[str(tau)] = row = stats_row(rs)
        print(f'tau {tau} ({a.feasible}): ' + ', '.join(f'{k} {v[0]:.1f} ± {v[1]:.1f}' if k in ('redrawn', 'cpu_s') else
                                         f'{k} {v[0]:.4f} ± {v[1]:.4f}' if k in ('skeleton_fcd', 'cycle_tv', 'degree_tv') else
                                         f'{k} {100 * v[0]:.1f} ± {100 * v[1]:.1f} %' for k, v in row.items()), flush=True)
    if a.out:
        with open(a.out, 'w') as f: json.dump(out, f, indent=1)


if __name__ == '__main__': main()
