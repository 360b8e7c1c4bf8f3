"""MOSES data row with `ming.moses_metrics`: train samples vs the MOSES test sets, and the test set's own Valid/Unique.

Usage: python bench/bench_moses.py [--n 25000] [--reps 3] [--n_jobs 2] [--fcd] [--only valid|row|scaf_n]
Prints every number as measured, with wall times (the machine may be shared: times are as measured).
"""
import argparse, os, time, json, warnings
import numpy as np

os.environ.setdefault('OMP_NUM_THREADS', '2')
from ming import moses_metrics as mm

def _scaffold_of(smiles):
    mol = mm.get_mol(smiles)
    return None if mol is None else mm.scaffold(mol)

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--n', type=int, default=25_000)
    ap.add_argument('--reps', type=int, default=3)
    ap.add_argument('--n_jobs', type=int, default=2)
    ap.add_argument('--fcd', action='store_true', help='also FCD/Test and FCD/TestSF (ming.metrics.fcd)')
    ap.add_argument('--only', choices=['valid', 'row', 'scaf_n'], default=None)
    ap.add_argument('--out', default='runs/bench_moses.json')
    a = ap.parse_args()
    res = {}
    t0 = time.perf_counter()
    train, test = mm.moses_smiles('train'), mm.moses_smiles('test')
    print(f'loaded train {len(train):,} / test {len(test):,} SMILES in {time.perf_counter() - t0:.1f} s', flush=True)

    if a.only in (None, 'valid'):
        t = time.perf_counter()
        can = mm.pmap(mm.canonical, test, a.n_jobs)
        valid = [c for c in can if c is not None]
        res['test_valid'], res['test_unique'] = len(valid) / len(test), len(set(valid)) / len(valid)
        res['test_canonical_unchanged'] = sum(c == s for c, s in zip(can, test)) / len(test)
        print(f"MOSES test set ({len(test):,} molecules): valid {res['test_valid']:.6f}  unique {res['test_unique']:.6f}  "
              f"(canonical SMILES unchanged by RDKit {__import__('rdkit').__version__}: {res['test_canonical_unchanged']:.6f})"
              f"  [{time.perf_counter() - t:.1f} s]", flush=True)

    if a.only in (None, 'row'):
        fcd_fn = None if a.fcd else (lambda g, r: float('nan'))
        runs = []
        for rep in range(a.reps):
            rng = np.random.default_rng(rep)
            sample = [train[i] for i in rng.choice(len(train), a.n, replace=False)]
            tm, t = {}, time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter('ignore', UserWarning)
                r = mm.moses_metrics(sample, n_jobs=a.n_jobs, fcd_fn=fcd_fn, timings=tm)
            wall = time.perf_counter() - t
            runs.append(r)
            print(f'rep {rep} (seed {rep}, {a.n:,} train molecules) [{wall:.1f} s]: ' +
                  '  '.join(f'{k} {v:.4f}' for k, v in r.items()), flush=True)
            print('   times: ' + '  '.join(f'{k} {v:.1f}s' for k, v in tm.items()), flush=True)
        keys = list(runs[0])
        res['row'] = {k: (float(np.mean([r[k] for r in runs])), float(np.std([r[k] for r in runs]))) for k in keys}
        print(f'MOSES data row, {a.reps} x {a.n:,} train molecules vs test (mean ± std over repetitions):')
        for k, (m, s) in res['row'].items(): print(f'  {k:12s} {m:.4f} ± {s:.4f}')
    if a.only == 'scaf_n':      # Scaf/Test and Frag/Test depend on the sample size: grow a random train sample to all of train
        from collections import Counter
        ref = mm.reference_stats(test, a.n_jobs)
        order = np.random.default_rng(0).permutation(len(train))
        scafs, done, res['scaf_n'] = Counter(), 0, {}
        for n in (25_000, 50_000, 100_000, 200_000, 400_000, 800_000, len(train)):
            t = time.perf_counter()
            scafs.update(s for s in mm.pmap(_scaffold_of, [train[i] for i in order[done:n]], a.n_jobs) if s is not None)
            done = n
            res['scaf_n'][n] = mm.cos_similarity(ref.scafs, scafs)
            print(f'Scaf/Test of the first {n:,} of a random permutation of train: {res["scaf_n"][n]:.4f}  '
                  f'[{time.perf_counter() - t:.1f} s]', flush=True)
    os.makedirs(os.path.dirname(a.out) or '.', exist_ok=True)
    with open(a.out, 'w') as f: json.dump(res, f, indent=1)
    print(f'total {time.perf_counter() - t0:.1f} s', flush=True)

if __name__ == '__main__': main()
