"""Preprocessing benchmark: featurise full QM9 and the MOSES files into a fresh cache, print times and kept counts.

Usage: python bench/bench_preprocess.py [--datasets qm9 moses] [--procs 2] [--moses-files train test test_scaffolds]
       [--cache-dir DIR (default: a fresh temporary folder, removed afterwards)] [--out runs/bench_preprocess.json]
Targets (issue 2): full QM9 <= 60 s on 2 cores; MOSES train (1,584,663) <= 15 min, parallel chunks with a progress bar.
Times are wall-clock as measured (the machine may be shared: the load average is printed with them), plus the CPU
seconds of the process and its workers, which divided by --procs is the wall time on that many otherwise idle cores.
"""
import argparse, os, time, json, tempfile, shutil, resource
os.environ.setdefault('OMP_NUM_THREADS', '2')
import numpy as np
from ming.data import read_smiles, split_indices
from ming.graphs import load_file_graphs

def _cpu():
    "CPU seconds of this process and its finished children (the pool's workers)."
    return sum(getattr(resource.getrusage(w), f) for w in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
               for f in ('ru_utime', 'ru_stime'))

def one(dataset, key, procs, cache):
    t0 = time.time(); smi = read_smiles(dataset, key); t_read = time.time() - t0      # fetch + hash + csv read
    c1 = _cpu(); t1 = time.time(); g, rep = load_file_graphs(dataset, key, cache_dir=cache, procs=procs)
    t_feat, cpu = time.time() - t1, _cpu() - c1
    t2 = time.time(); g2, _ = load_file_graphs(dataset, key, cache_dir=cache); t_load = time.time() - t2
    assert len(g2) == len(g)
    r = dict(dataset=dataset, file=key, rows=len(smi), kept=rep['kept'], dropped=rep['total'] - rep['kept'],
             counts=rep['counts'], read_s=round(t_read, 2), featurise_s=round(rep['seconds'], 2),
             featurise_and_save_s=round(t_feat, 2), cpu_s=round(cpu, 1), cached_load_s=round(t_load, 3), procs=procs, load_avg=os.getloadavg())
    print(f"{dataset}/{key}: {len(smi):,} rows, kept {rep['kept']:,} (dropped {r['dropped']:,}: {rep['counts']}); "
          f"read {t_read:.1f} s, featurise {rep['seconds']:.1f} s with {procs} procs, featurise+save {t_feat:.1f} s, "
          f"cached load {t_load:.3f} s; CPU {cpu:.1f} s in all (= {cpu / procs:.1f} s wall on {procs} dedicated cores); "
          f"load average {os.getloadavg()[0]:.2f}", flush=True)
    return r

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--datasets', nargs='+', default=['qm9', 'moses'])
    ap.add_argument('--procs', type=int, default=2)
    ap.add_argument('--moses-files', nargs='+', default=['train', 'test', 'test_scaffolds'])
    ap.add_argument('--cache-dir', default=None)
    ap.add_argument('--out', default='runs/bench_preprocess.json')
    a = ap.parse_args()
    cache = a.cache_dir or tempfile.mkdtemp(prefix='ming-bench-')
    print(f'cpus {os.cpu_count()}, procs {a.procs}, cache {cache}', flush=True)
    res = []
    try:
        for ds in a.datasets:
            for key in ({'qm9': ['smiles'], 'zinc250k': ['smiles'], 'moses': a.moses_files}[ds]):
                res.append(one(ds, key, a.procs, cache))
            done = {'qm9': ['smiles'], 'zinc250k': ['smiles'], 'moses': a.moses_files}[ds]
            kept = {s: int(np.isin(load_file_graphs(ds, k, cache_dir=cache)[0].index, rows).sum())
                    for s, (k, rows) in split_indices(ds).items() if k in done}     # only the files featurised above
            print(f'{ds}: kept per split {kept}', flush=True); res.append(dict(dataset=ds, kept_per_split=kept))
    finally:
        if not a.cache_dir: shutil.rmtree(cache, ignore_errors=True)
    os.makedirs(os.path.dirname(a.out) or '.', exist_ok=True)
    with open(a.out, 'w') as f: json.dump(res, f, indent=1)
    print(f'wrote {a.out}')

if __name__ == '__main__': main()
