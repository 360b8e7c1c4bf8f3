"""Choosing among runs without looking at the test set: FCD and NSPDK MMD of samples files against the validation split.

`ming evaluate` measures the distances against the dataset's test split, as the published tables do. Choosing a
checkpoint (a length of training, a learning rate, a skeleton generator) by those figures and then reporting them is
selection on the test set. `ming train` carves a validation split out of the training split (5 %, `split_seed`
2017; a run trained since `split_seed` existed never sees it, an older warm restart with another `--seed` may have);
this script scores samples files against it with the code of `ming evaluate` (`protocol_molecules`, `fcd`,
`nspdk_mmd`, one figure per repetition on all its molecules, mean ± sample std), prints beside them the test-split figures of the file's `ming evaluate` report where there is one, and a data row: as many
training-split molecules as a repetition has, drawn at random, against the same validation split.

    python bench/select_on_valid.py runs/a.csv [runs/b.csv ...] [--dataset qm9] [--protocol gdss] [--n-jobs 2]

The validation split has 6,040 molecules for QM9 against the test split's 13,082, so its figures are higher (the
estimates are biased upwards at small sizes) and compare with each other, not with the test split's.
"""
import argparse, json, warnings
from pathlib import Path
import numpy as np
from ming.evaluate import Reference, protocol_molecules, read_samples, _split_reps
from ming.metrics import fcd, nspdk_mmd, nspdk_embedding


def distances(smiles:list, ref:Reference, n_jobs:int) -> tuple:
    "(FCD, NSPDK MMD) of the valid molecules `smiles` ('' skipped) against `ref`'s held-out split."
    valid = [m for m in smiles if m]
    with warnings.catch_warnings():
        warnings.simplefilter('ignore'); f = fcd(valid, ref.fcd)
    return f, nspdk_mmd(nspdk_embedding(valid, n_jobs), ref.nspdk)


def _ms(v, d): return f'{np.mean(v):.{d}f} ± {np.std(v, ddof=1):.{d}f}' if len(v) > 1 else f'{v[0]:.{d}f}'


def test_figures(path:Path, protocol:str) -> tuple:
    "(FCD, NSPDK) 'mean ± std' of the `ming evaluate` report beside `path`, or ('–', '–')."
    f = path.with_name(f'{path.stem}_eval_{protocol}') / 'results.json'
    if not f.exists(): return '–', '–'
    reps = json.loads(f.read_text())['reps']
    return _ms([r['fcd'] for r in reps], 3), _ms([r['nspdk'] for r in reps], 6)


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('samples', nargs='+'); p.add_argument('--dataset', default='qm9')
    p.add_argument('--protocol', default='gdss'); p.add_argument('--n-jobs', type=int, default=2)
    p.add_argument('--seed', type=int, default=2017, help='seed of the data row\'s draw of training molecules')
    a = p.parse_args()
    ref = Reference.for_dataset(a.dataset, train_split='train', test_split='valid', n_jobs=a.n_jobs)
    print(f'{a.dataset}: validation split {len(ref.test):,} molecules, training split {len(ref.train):,}; protocol {a.protocol}\n')
    print('| samples | reps × n | FCD vs valid | NSPDK vs valid | FCD vs test | NSPDK vs test |')
    print('|---|---|---|---|---|---|')
    n_rep = None
    for s in a.samples:
        reps = _split_reps(read_samples(s), None)
        n_rep = n_rep or len(reps[0])
        d = np.array([distances(protocol_molecules(g, a.protocol, a.n_jobs), ref, a.n_jobs) for g in reps])   # (reps, 2)
        tf, tn = test_figures(Path(s), a.protocol)
        print(f'| {s} | {len(reps)} × {len(reps[0]):,} | {_ms(d[:, 0], 3)} | {_ms(d[:, 1], 6)} | {tf} | {tn} |', flush=True)
    rng = np.random.default_rng(a.seed)
    draw = [ref.train[i] for i in rng.choice(len(ref.train), min(n_rep, len(ref.train)), replace=False)]
    f, n = distances(draw, ref, a.n_jobs)
    print(f'| data row: {len(draw):,} training molecules | 1 × {len(draw):,} | {f:.3f} | {n:.6f} | | |')


if __name__ == '__main__': main()
