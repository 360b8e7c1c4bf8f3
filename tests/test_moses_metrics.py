"Checks of `ming.moses_metrics` beyond the notebook: the process-pool paths, the deprecated-fingerprint equivalence, MOSES data."
import math, warnings
import numpy as np
import pytest
from rdkit import Chem, rdBase
from rdkit.Chem import AllChem
from ming import moses_metrics as mm

SMI = ['CC(=O)Nc1ccc(O)cc1', 'C[C@H](N)C(=O)O', 'Clc1ccc2[nH]ccc2c1', 'O=C(Nc1ccccc1)c1ccco1', 'CCN(CC)CC']

def test_fingerprint_matches_deprecated_morgan():
    with rdBase.BlockLogs():
        for s in SMI:
            old = np.array(list(AllChem.GetMorganFingerprintAsBitVect(Chem.MolFromSmiles(s), 2, nBits=1024)), np.uint8)
            assert (np.unpackbits(mm.fingerprints([s])[0]) == old).all()

@pytest.fixture(scope='module')
def moses_test_head():
    return mm.moses_smiles('test')[:400]

def test_pool_matches_inline(moses_test_head, monkeypatch):
    monkeypatch.setattr(mm, 'POOL_MIN', 100); monkeypatch.setattr(mm, 'POOL_MIN_PAIRS', 1000)
    smi = moses_test_head[:400] + ['not a smiles', '']
    assert mm.pmap(mm.canonical, smi, n_jobs=2) == [mm.canonical(s) for s in smi]
    fps = mm.fingerprints(smi, n_jobs=2)
    assert fps.shape == (400, 128)
    g, r = fps[:150], fps[150:]
    np.testing.assert_allclose(mm.tanimoto_agg(g, r, 'max', n_jobs=2), mm.tanimoto_agg(g, r, 'max', n_jobs=1))
    np.testing.assert_allclose(mm.tanimoto_agg(g, r, 'mean', 2, n_jobs=2), mm.tanimoto_agg(g, r, 'mean', 2, n_jobs=1))

def test_kernel_against_dense_on_molecules(moses_test_head):
    fps = np.unpackbits(mm.fingerprints(moses_test_head[:300]), axis=1).astype(np.float64)
    inter = fps @ fps.T
    T = inter / (fps.sum(1)[:, None] + fps.sum(1)[None] - inter)
    assert math.isclose(mm.internal_diversity(moses_test_head[:300]), 1 - T.mean(), abs_tol=1e-6)
    assert math.isclose(mm.internal_diversity(moses_test_head[:300], p=2), 1 - np.sqrt((T**2).mean(1)).mean(), abs_tol=1e-6)
    assert math.isclose(mm.snn(moses_test_head[:100], moses_test_head[100:300]), T[:100, 100:].max(1).mean(), abs_tol=1e-6)

def test_moses_data_passes_filters_and_is_canonical(moses_test_head):
    head = moses_test_head[:300]
    assert mm.fraction_passes_filters(head) == 1.0     # the MOSES data were built with these filters
    assert mm.fraction_valid(head) == 1.0 and mm.fraction_unique(head) == 1.0

def test_never_raises_on_garbage():
    bad = ['', 'C1CC', 'Xx', 'c1cccc1', None, 123, 'C(C)(C)(C)(C)C']
    r = mm.moses_metrics(bad + ['CCO'], train_smiles=['CCO'], test=['CCO', 'CCN'], test_sf=['CCC'], n_jobs=1,
                         fcd_fn=lambda g, r: 0.0, cache=False, ks=(1,))
    assert r['valid'] == 1 / 8 and r['Novelty'] == 0.0 and r['unique@1'] == 1.0 and r['SNN/Test'] == 1.0
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        r = mm.moses_metrics(bad, test=['CCO'], n_jobs=1, fcd_fn=lambda g, r: 0.0, cache=False)
    assert r['valid'] == 0.0 and all(math.isnan(v) for k, v in r.items() if k != 'valid')
