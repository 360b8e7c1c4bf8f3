"Data layer: split sizes, kept counts after the faithful filters, the cache, downloads from a local HTTP server, user files."
import io, os, json, time, hashlib, contextlib
from pathlib import Path
import numpy as np, pytest
from ming.core import MingError
from ming.data import (fetch, split_indices, load_smiles, load_smiles_file, register_dataset, Dataset, DataFile, Variant,
                       DATASETS, download, _serve_folder, content_hashes)
from ming.graphs import load_graphs, load_file_graphs
from ming.cli import main

SLOW = 'slow' in os.environ.get('MING_TEST_FLAGS', '').split()

def test_qm9_split_sizes():
    sp = split_indices('qm9')
    assert {k: len(v[1]) for k, v in sp.items()} == {'test': 13_082, 'train_full': 120_803, 'valid': 6_040, 'train': 114_763}
    assert len(load_smiles('qm9', 'all')[0]) == 133_885
    smi, rows = load_smiles('qm9', 'test')
    assert rows[:3].tolist() == [6, 8, 18] and smi[0] == 'CC'          # GDSS's indices, 0-based

def test_moses_split_sizes():
    sp = split_indices('moses')
    assert {k: len(v[1]) for k, v in sp.items()} == {'test': 176_074, 'test_scaffolds': 176_225, 'train_full': 1_584_663,
                                                      'valid': 79_233, 'train': 1_505_430}

def test_valid_split_is_seeded():
    a, b, c = (split_indices('qm9', seed=s)['valid'][1] for s in (2017, 2017, 3))
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    assert len(split_indices('qm9', valid_frac=0.1)['valid'][1]) == 12_080

def test_qm9_kept_after_faithful_filters():
    g, rep = load_file_graphs('qm9', 'smiles', procs=2)          # featurises once, then cached
    assert (rep['total'], rep['kept'], rep['counts']) == (133_885, 133_882, {'single atom': 3})
    assert [e[0] for e in rep['examples']['single atom']] == [0, 1, 2]
    assert {s: len(load_graphs('qm9', s)) for s in ('train', 'valid', 'test', 'train_full', 'all')} == \
           {'train': 114_760, 'valid': 6_040, 'test': 13_082, 'train_full': 120_800, 'all': 133_882}
    t = time.time(); g2 = load_graphs('qm9', 'test'); dt = time.time() - t
    assert dt < 5, dt                                             # second load: memory-mapped cache (+ split lookup)
    assert g2.bonds.shape == (13_082, 9, 9) and (g2.n_atoms >= 2).all() and g2.n_atoms.max() == 9

def test_cli_info_qm9():
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf): assert main(['data', 'info', 'qm9']) == 0
    out = buf.getvalue(); print(out)
    assert 'test               13,082 rows (file smiles)  kept    13,082' in out
    assert 'train_full        120,803 rows (file smiles)  kept   120,800' in out

@pytest.mark.skipif(not SLOW, reason='featurises all of MOSES (minutes); run with MING_TEST_FLAGS=slow')
def test_moses_kept_after_faithful_filters():
    kept = {k: load_file_graphs('moses', k)[1]['kept'] for k in ('train', 'test', 'test_scaffolds')}
    assert kept == {'train': 1_584_663, 'test': 176_074, 'test_scaffolds': 176_225}   # MOSES: all single-fragment, > 1 atom

def test_zinc_missing_file_is_explained(tmp_path):
    with pytest.raises(MingError) as e: fetch('zinc250k', 'smiles', cache=tmp_path, download_ok=False)
    msg = str(e.value)
    assert 'zinc250k/zinc250k.csv' in msg and 'a8a6320c048787fce15d6a982e3d900850b5f9b0' in msg
    assert 'https://raw.githubusercontent.com/harryjo97/GDSS/master/data/zinc250k.csv' in msg
    assert len(fetch('zinc250k', 'test_idx').read_bytes()) > 0          # the index file is in shared/data

@pytest.fixture
def served(tmp_path):
    "A fake dataset whose file is served by a real HTTP server on 127.0.0.1."
    (tmp_path/'www').mkdir(); body = b'SMILES\nCCO\nCC\nC1CC\n'
    (tmp_path/'www'/'good.csv').write_bytes(body); (tmp_path/'www'/'bad.csv').write_bytes(body + b'CCCC\n')
    v = Variant('fake/f.csv', hashlib.sha256(body).hexdigest())
    with _serve_folder(tmp_path/'www') as base:
        def reg(name): register_dataset(Dataset('_fake', {'f': DataFile((v,), (f'{base}/{name}',), column='SMILES')},
                                                split_files={'train': 'f'}, vocab='qm9'))
        yield tmp_path, reg
    DATASETS.pop('_fake', None)

def _left(folder): return sorted(str(p.relative_to(folder)) for p in folder.rglob('*') if p.is_file())

def test_download_success(served):
    d, reg = served; reg('good.csv')
    p = fetch('_fake', 'f', data_dir=d/'local', cache=d/'cache', progress=False)
    assert p == d/'cache'/'fake'/'f.csv' and p.read_bytes().startswith(b'SMILES\nCCO')
    assert fetch('_fake', 'f', data_dir=d/'local', cache=d/'cache') == p   # second time: from the cache
    assert load_smiles('_fake', 'train_full', data_dir=d/'local')[0] == ['CCO', 'CC', 'C1CC']

def test_download_hash_mismatch_leaves_nothing(served):
    d, reg = served; reg('bad.csv')
    with pytest.raises(MingError) as e: fetch('_fake', 'f', data_dir=d/'local', cache=d/'cache', progress=False)
    msg = str(e.value)
    assert 'bad.csv' in msg and 'hash mismatch' in msg and DATASETS['_fake'].files['f'].variants[0].sha256 in msg
    assert hashlib.sha256((d/'www'/'bad.csv').read_bytes()).hexdigest() in msg        # the actual hash
    assert [x for x in _left(d/'cache') if 'fake' in x] == []                          # no file, no temporary file

def test_download_404_leaves_nothing(served):
    d, reg = served; reg('missing.csv')
    with pytest.raises(MingError) as e: fetch('_fake', 'f', data_dir=d/'local', cache=d/'cache', progress=False)
    assert '404' in str(e.value) and 'missing.csv' in str(e.value)
    assert [x for x in _left(d/'cache') if 'fake' in x] == []

def test_local_file_with_wrong_hash_is_refused(served):
    d, reg = served; reg('good.csv')
    (d/'local'/'fake').mkdir(parents=True); (d/'local'/'fake'/'f.csv').write_bytes(b'SMILES\nN\n')
    with pytest.raises(MingError, match='does not match the expected sha256'): fetch('_fake', 'f', data_dir=d/'local', cache=d/'cache')

def test_gzip_local_copy_is_accepted(served):
    import gzip
    d, reg = served; reg('missing.csv')                              # no download possible: must use the local .gz
    (d/'local'/'fake').mkdir(parents=True)
    with gzip.open(d/'local'/'fake'/'f.csv.gz', 'wb') as f: f.write((d/'www'/'good.csv').read_bytes())
    assert fetch('_fake', 'f', data_dir=d/'local', cache=d/'cache').name == 'f.csv.gz'

def test_user_file_reports_bad_lines(tmp_path):
    p = tmp_path/'u.csv'; p.write_text('id,SMILES\n' + ''.join(f'{i},CCO\n' for i in range(40)) + '40,C1CC\n41,CC(\n')
    with pytest.raises(MingError, match=r'2 of 42 SMILES cannot be parsed by RDKit \(lines 42, 43\)'): load_smiles_file(p, max_bad_frac=0.02)
    smi, rows = load_smiles_file(p, verbose=False)
    assert len(smi) == 40 and rows[-1] == 39
    with pytest.raises(MingError, match=r"no SMILES column 'smi'.*\['id', 'SMILES'\]"): load_smiles_file(p, 'smi')
    (tmp_path/'e.smi').write_text('')
    with pytest.raises(MingError, match='empty'): load_smiles_file(tmp_path/'e.smi')
