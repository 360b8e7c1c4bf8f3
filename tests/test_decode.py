"Tests of `ming.decode`: hand-checked molecules and a hypothesis property (random graphs never make the builders raise)."
import numpy as np
import pytest
from hypothesis import given, settings, HealthCheck, strategies as st
from rdkit import Chem
from ming.core import get_vocab
from ming.decode import (graph_to_mol_gdss, graph_to_smiles_gdss, correct_mol, longest_fragment, graph_to_mol_strict,
                         graph_to_smiles_strict, decode_batch, SAMPLE_COLUMNS)

QM9, MOSES = get_vocab('qm9'), get_vocab('moses')

def graph_of(smi, vocab):
    "Kekulized, hydrogen-free graph of `smi`."
    m = Chem.MolFromSmiles(smi); Chem.Kekulize(m, clearAromaticFlags=True)
    a = np.array([vocab.atoms.index(x.GetSymbol()) for x in m.GetAtoms()])
    b = np.zeros((len(a), len(a)), int)
    for bd in m.GetBonds(): b[bd.GetBeginAtomIdx(), bd.GetEndAtomIdx()] = b[bd.GetEndAtomIdx(), bd.GetBeginAtomIdx()] = int(bd.GetBondTypeAsDouble())
    return a, b

def star(center, k):
    "Atom class `center` bonded to `k` carbons."
    b = np.zeros((k + 1, k + 1), int); b[0, 1:] = b[1:, 0] = 1
    return np.array([center] + [1] * k), b

@pytest.mark.parametrize('smi', ['CC(=O)N', 'OC1=CC=CC=C1', 'C#CC1=NC=CO1', 'CC1(C)CC1(F)C=O', 'N#CC1CC2OC12'])
def test_round_trip(smi):
    can = Chem.MolToSmiles(Chem.MolFromSmiles(smi))
    assert graph_to_smiles_gdss(*graph_of(smi, QM9), QM9) == (can, True)
    assert graph_to_smiles_strict(*graph_of(smi, QM9), QM9) == can

def test_charged_nitrogen():
    assert graph_to_smiles_gdss(*star(2, 4), QM9) == ('C[N+](C)(C)C', True)
    assert graph_to_smiles_strict(*star(2, 4), QM9) is None

def test_pentavalent_carbon():
    mol, ok = graph_to_mol_gdss(*star(1, 5), QM9)
    assert not ok and mol.GetNumBonds() == 5
    assert Chem.MolToSmiles(correct_mol(mol)) == 'CC(C)(C)C'
    assert mol.GetNumBonds() == 5                     # correct_mol works on a copy
    assert graph_to_mol_strict(*star(1, 5), QM9) is None

def test_fragments():
    a, b = graph_of('CCO.C', QM9)
    assert graph_to_smiles_gdss(a, b, QM9) == ('CCO', True)
    assert graph_to_smiles_strict(a, b, QM9) is None
    assert Chem.MolToSmiles(longest_fragment(Chem.MolFromSmiles('C.CCO.CC'))) == 'CCO'

def test_empty_and_out_of_range():
    z = np.zeros(4, int), np.ones((4, 4), int)
    assert graph_to_mol_gdss(*z, QM9) == (None, False)
    assert graph_to_smiles_gdss(*z, QM9) == (None, False)
    assert graph_to_mol_strict(*z, QM9) is None
    assert graph_to_smiles_gdss([1, 9], np.zeros((2, 2), int), QM9) == (None, False)
    assert graph_to_smiles_gdss([1, 1], [[0, 4], [4, 0]], QM9) == (None, False)
    assert correct_mol(None) is None

def test_aromatic_moses():
    ring = np.zeros((6, 6), int)
    for i in range(6): ring[i, (i + 1) % 6] = ring[(i + 1) % 6, i] = 4
    pyridine = [1, 1, 1, 2, 1, 1]                       # MOSES classes: 1 C, 2 N
    assert graph_to_smiles_gdss(pyridine, ring, MOSES) == ('c1ccncc1', True)
    assert graph_to_smiles_strict(pyridine, ring, MOSES) == 'c1ccncc1'
    assert graph_to_smiles_gdss([1, 1], [[0, 4], [4, 0]], MOSES) == (None, True)   # non-ring aromatic bond

def test_decode_batch_columns():
    A = np.zeros((3, 9), int); B = np.zeros((3, 9, 9), int)
    for k, (a, b) in enumerate([graph_of('CCO', QM9), star(2, 4), star(1, 5)]): A[k, :len(a)], B[k, :len(a), :len(a)] = a, b
    df = decode_batch(A, B, QM9)
    assert tuple(df.columns) == SAMPLE_COLUMNS
    assert df.smiles.tolist() == ['CCO', 'C[N+](C)(C)C', 'CC(C)(C)C']
    assert df.valid_wo_corr.tolist() == [1, 1, 0] and df.strict_smiles.tolist() == ['CCO', '', ''] and df.n_atoms.tolist() == [3, 5, 6]

@st.composite
def graphs(draw, vocab):
    n = draw(st.integers(0, 10))
    atoms = np.array(draw(st.lists(st.integers(0, vocab.n_atom), min_size=n, max_size=n)), dtype=int)
    upper = draw(st.lists(st.integers(0, vocab.n_bond - 1), min_size=n * (n - 1) // 2, max_size=n * (n - 1) // 2))
    bonds = np.zeros((n, n), int); bonds[np.triu_indices(n, 1)] = upper
    return atoms, bonds + bonds.T

@pytest.mark.parametrize('name', ['qm9', 'moses', 'zinc250k'])
def test_random_graphs_never_raise(name):
    vocab = get_vocab(name)
    @settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(graphs(vocab))
    def check(g):
        mol, ok = graph_to_mol_gdss(*g, vocab)
        assert mol is None or isinstance(mol, Chem.Mol)
        fixed = correct_mol(mol)
        assert fixed is None or isinstance(fixed, Chem.Mol)
        smi, ok2 = graph_to_smiles_gdss(*g, vocab)
        assert ok2 == ok and (smi is None or isinstance(smi, str))
        strict = graph_to_smiles_strict(*g, vocab)
        if strict is not None: assert (smi, ok) == (Chem.CanonSmiles(strict), True)   # strictly valid ⇒ the GDSS builder agrees
        assert graph_to_mol_strict(*g, vocab) is None or strict is not None
    check()


def test_builders_agree_up_to_rdkit_normalisation():
    "A double bond between O and I: the strict builder writes O=[IH], which RDKit's parser normalises to the charge-separated [O-][IH+], as the GDSS SMILES (parsed again for its largest fragment) is written; the same molecule."
    vocab = get_vocab('zinc250k')
    atoms, bonds = np.array([vocab.atoms.index('O'), vocab.atoms.index('I')]), np.array([[0, 2], [2, 0]])   # class 0 is '*', no atom
    strict = graph_to_smiles_strict(atoms, bonds, vocab)
    assert strict == 'O=[IH]' and graph_to_smiles_gdss(atoms, bonds, vocab) == (Chem.CanonSmiles(strict), True) == ('[O-][IH+]', True)
