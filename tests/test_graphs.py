"Featurisation round trip: graph → RDKit molecule → canonical SMILES equals the input's, on real QM9 and MOSES rows."
import numpy as np, pytest
from rdkit import Chem
from ming.core import get_vocab
from ming.data import read_smiles
from ming.graphs import featurise, smiles_to_graph, MolGraphs

def _to_smiles(atoms, bonds, charges, vocab):
    "Rebuild a molecule from the arrays (test-only; decoding proper lives in ming.decode)."
    z = vocab.atomic_nums; m = Chem.RWMol()
    for a, c in zip(atoms, charges):
        at = Chem.Atom(int(z[a])); at.SetFormalCharge(int(c)); m.AddAtom(at)
    bt = {1: Chem.BondType.SINGLE, 2: Chem.BondType.DOUBLE, 3: Chem.BondType.TRIPLE}
    for i, j in zip(*np.triu_indices(len(atoms), 1)):
        if bonds[i, j]: m.AddBond(int(i), int(j), bt[int(bonds[i, j])])
    mol = m.GetMol(); Chem.SanitizeMol(mol)
    return Chem.MolToSmiles(mol)

@pytest.mark.parametrize('dataset,key', [('qm9', 'smiles'), ('moses', 'test')])
def test_round_trip(dataset, key):
    vocab = get_vocab(dataset)
    smi = read_smiles(dataset, key)
    rows = np.random.default_rng(0).choice(len(smi), 1500, replace=False)
    g, rep = featurise([smi[i] for i in rows], vocab, index=rows, procs=1, progress=False)
    assert rep.kept + sum(rep.counts.values()) == len(rows)
    for m in range(len(g)):
        a, b, c = g[m]
        assert (b == b.T).all() and (a > 0).all() and ((b > 0).sum(1) > 0).all()
        assert _to_smiles(a, b, c, vocab) == Chem.MolToSmiles(Chem.MolFromSmiles(smi[g.index[m]]))
    assert (g.atoms[:, :][np.arange(g.N)[None] >= g.n_atoms[:, None]] == 0).all()   # padding is zero

def test_charged_qm9_molecules_round_trip():
    vocab = get_vocab('qm9')
    smi = [s for s in read_smiles('qm9', 'smiles')[:30000] if '+' in s][:200]
    for s in smi:
        a, b, c = smiles_to_graph(s, vocab)
        assert c.any() and _to_smiles(a, b, c, vocab) == Chem.MolToSmiles(Chem.MolFromSmiles(s))
