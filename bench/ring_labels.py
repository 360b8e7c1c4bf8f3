"""How the five- and six-membered rings of generated molecules are labelled, against the test split's.

Each ring (RDKit's smallest set of smallest rings, by bonds) of size 5 or 6 is counted as aromatic (every bond
aromatic after sanitising) or by the number of its double bonds; the counts are per 100 molecules, over the molecules
a protocol evaluates (`ming.evaluate.protocol_molecules`), one repetition of each samples file. The data are
kekulized, so a ring is generated aromatic only if its bonds and atoms form an aromatic pattern together; the kinds
the test split hardly has (non-aromatic rings with two or more double bonds) are the near misses.

    python bench/ring_labels.py runs/samples.csv [more.csv ...] [--rep 0] [--protocol gdss] [--dataset qm9]
"""
import argparse
from collections import Counter
from rdkit import Chem
from ming.metrics import to_mol
from ming.evaluate import Reference, protocol_molecules, read_samples


def ring_kinds(smiles:list) -> tuple:
    "(molecules parsed, Counter of (ring size, 'aromatic' | 'k double')) over the five- and six-rings of `smiles`."
    kinds, n = Counter(), 0
    for m in map(to_mol, smiles):
        if m is None: continue
        n += 1
        for ring in m.GetRingInfo().BondRings():
            if len(ring) not in (5, 6): continue
            bonds = [m.GetBondWithIdx(i) for i in ring]
            kind = 'aromatic' if all(b.GetIsAromatic() for b in bonds) else \
                   f'{sum(b.GetBondType() == Chem.BondType.DOUBLE for b in bonds)} double'
            kinds[(len(ring), kind)] += 1
    return n, kinds


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('samples', nargs='+'); ap.add_argument('--rep', type=int, default=0)
    ap.add_argument('--protocol', default='gdss'); ap.add_argument('--dataset', default='qm9')
    a = ap.parse_args()
    cols = {'test split': ring_kinds(Reference.for_dataset(a.dataset).test)}
    for f in a.samples:
        df = read_samples(f)
        if 'rep' in df: df = df[df['rep'] == a.rep]
        cols[f] = ring_kinds([m for m in protocol_molecules(df, a.protocol) if m])
    keys = sorted(set().union(*(c for _, c in cols.values())))
    print(f'rings per 100 molecules ({a.protocol} molecules, repetition {a.rep}; molecules: '
          + ', '.join(f'{k} {n:,}' for k, (n, _) in cols.items()) + ')')
    print('| ring | ' + ' | '.join(cols) + ' |\n|---|' + '---|' * len(cols))
    for k in keys:
        print(f'| {k[0]}-ring, {k[1]} | ' + ' | '.join(f'{100 * c[k] / max(n, 1):.2f}' for n, c in cols.values()) + ' |')


if __name__ == '__main__': main()
