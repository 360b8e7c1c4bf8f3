"""Benchmarks of the `gdss` evaluation protocol (`ming.metrics` / `ming.evaluate`).

  python bench/bench_metrics.py timing  [--n 10000] [--n-jobs 2] [--no-cache]   # time per metric on n QM9 molecules
  python bench/bench_metrics.py datarow [--n 10000] [--reps 3] [--n-jobs 2] [--out runs/qm9-data]   # QM9 "data" row

`timing` evaluates n molecules drawn from QM9's training split (a stand-in for a model's samples: all valid, realistic
sizes) and prints the wall and CPU time of every step. The test-set statistics are cached on disk after their first
computation; `--no-cache` recomputes them and includes that time. `datarow` is the published "data: train vs test"
row: `--reps` independent random train samples of `--n` molecules, each evaluated under the gdss protocol, mean ± std.
Set OMP_NUM_THREADS (and MING_DATA_DIR / MING_CACHE_DIR) as for the tests.
"""
import os, sys, time, argparse, resource
import numpy as np, pandas as pd


def cpu():
    "CPU seconds used so far by this process and its finished children."
    s, c = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return s.ru_utime + s.ru_stime + c.ru_utime + c.ru_stime


class Timer:
    def __init__(self): self.rows = []
    def __call__(self, name, f, *a, **kw):
        w, c = time.perf_counter(), cpu()
        out = f(*a, **kw)
        self.rows.append((name, time.perf_counter() - w, cpu() - c))
        print(f'  {name:<34} {self.rows[-1][1]:7.1f} s wall {self.rows[-1][2]:7.1f} s cpu', flush=True)
        return out


def sample_train(n, seed):
    from ming.data import load_smiles
    tr = load_smiles('qm9', 'train_full')[0]
    return [tr[i] for i in np.random.default_rng(seed).choice(len(tr), n, replace=False)]


def timing(a):
    from ming.metrics import vun_gdss, canonical_list, fcd, nspdk_embedding, nspdk_mmd, property_table, property_distances
    from ming.evaluate import Reference
    print(f'gdss protocol on {a.n:,} QM9 molecules, n_jobs={a.n_jobs}, OMP_NUM_THREADS={os.environ.get("OMP_NUM_THREADS")}, '
          f'cores={os.cpu_count()}, load average before: {os.getloadavg()[0]:.1f}', flush=True)
    gen = sample_train(a.n, 123)
    t = Timer()
    ref = t('load train/test SMILES', Reference.for_dataset, 'qm9', n_jobs=a.n_jobs, cache=not a.no_cache)
    t('reference: canonical train set', lambda: ref.train_set)
    t('reference: test FCD moments', lambda: ref.fcd)
    t('reference: test NSPDK embedding', lambda: ref.nspdk)
    t('reference: test properties', lambda: ref.props)
    n_ref = len(t.rows)
    r = t('validity, uniqueness, novelty', vun_gdss, gen, ref.train_set)
    valid = t('canonical valid list', lambda: [c for c in canonical_list(gen, largest_fragment=True) if c])
    f = t('FCD', fcd, valid, ref.fcd)
    k = t('NSPDK MMD', lambda: nspdk_mmd(nspdk_embedding(valid, a.n_jobs), ref.nspdk))
    p = t('property distances (extra)', lambda: property_distances(property_table(valid), ref.props))
    core = [x for x in t.rows[n_ref:] if 'extra' not in x[0]]
    refw = sum(x[1] for x in t.rows[:n_ref])
    print(f'\nvalid_wo_corr {r["valid_wo_corr"]:.4f} unique {r["unique"]:.4f} novel {r["novel"]:.4f} FCD {f:.4f} NSPDK {k:.6f}')
    print(f'gdss protocol (validity, uniqueness, novelty, FCD, NSPDK): {sum(x[1] for x in core):.1f} s wall, '
          f'{sum(x[2] for x in core):.1f} s cpu; reference statistics ({"computed" if a.no_cache else "cache"}): {refw:.1f} s wall; '
          f'property distances: {t.rows[-1][1]:.1f} s wall; load average after: {os.getloadavg()[0]:.1f}')


def datarow(a):
    from ming.evaluate import evaluate, results_table, to_markdown
    print(f'QM9 data row: {a.reps} random train_full samples of {a.n:,} (seeds 0..{a.reps - 1}) vs the test split, protocol gdss', flush=True)
    df = pd.concat([pd.DataFrame(dict(smiles=sample_train(a.n, s), rep=s)) for s in range(a.reps)])
    w = time.perf_counter()
    ev = evaluate(df, 'qm9', 'gdss', n_jobs=a.n_jobs, verbose=True)
    t = results_table(ev)
    print(to_markdown(t[['label', 'value']]))
    for k in ('fcd', 'nspdk', 'unique'):
        print(f'{k}: per repetition {[round(r[k], 6) for r in ev.reps]}')
    print(f'{time.perf_counter() - w:.0f} s wall')
    if a.out:
        from ming.evaluate import write_results
        write_results(ev, a.out); print(f'written to {a.out}/')


if __name__ == '__main__':
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('mode', choices=['timing', 'datarow'])
    p.add_argument('--n', type=int, default=10_000)
    p.add_argument('--reps', type=int, default=3)
    p.add_argument('--n-jobs', type=int, default=2)
    p.add_argument('--no-cache', action='store_true', help='recompute the reference statistics (timing)')
    p.add_argument('--out', help='datarow: also write results.{md,csv,json} and plots to this folder')
    a = p.parse_args()
    timing(a) if a.mode == 'timing' else datarow(a)
