"Checks of `ming.metrics` / `ming.evaluate` on a few hundred real QM9 molecules and on the command line (CPU, < 1 min)."
import os, sys, json, math, subprocess, warnings
import numpy as np, pandas as pd, pytest
from ming.metrics import (canonical, one_hot_batch, fcd, fcd_stats, frechet_distance, nspdk_mmd, nspdk_mmd_dense,
                          nspdk_embedding, StableLabel, vun_gdss, vun_strict, template_stats)
from ming.evaluate import Reference, evaluate, read_samples, write_results
from ming.cli import main


@pytest.fixture(scope='module')
def qm9():
    "300 training and 300 test molecules of QM9 (seeded)."
    from ming.data import load_smiles
    tr, te = load_smiles('qm9', 'train_full')[0], load_smiles('qm9', 'test')[0]
    rng = np.random.default_rng(0)
    return [tr[i] for i in rng.choice(len(tr), 300, replace=False)], [te[i] for i in rng.choice(len(te), 300, replace=False)]


def test_one_hot_is_fcd_torch(qm9):
    from fcd_torch.utils import get_one_hot
    smi = [canonical(s) for s in qm9[0][:100]] + ['ClC(Br)[Si]', 'C' * 500, 'CC.O']
    for s, x in zip(smi, one_hot_batch(smi)): np.testing.assert_array_equal(x, (get_one_hot(s, 350) / 35).astype(np.float32))


def test_fcd_is_fcd_torch(qm9):
    "Our chunked, de-duplicated moments and eigen-based Fréchet distance give fcd-torch's moments and value."
    import fcd_torch
    a, b = qm9[0][:150] + qm9[0][:30], qm9[1][:150]          # duplicates on one side
    F = fcd_torch.FCD()
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        pa, pb = F.precalc(a), F.precalc(b); ref = F.metric(pa, pb)
    ma, mb = fcd_stats(a, chunk=64), fcd_stats(b)
    assert ma.n == 180
    np.testing.assert_allclose(ma.mu, pa['mu'], atol=1e-6); np.testing.assert_allclose(ma.sigma, pa['sigma'], atol=1e-6)
    ours = frechet_distance(ma.mu, ma.sigma, mb.mu, mb.sigma)
    assert abs(ours - ref) < 1e-3 * ref, (ours, ref)


def test_nspdk_linear_equals_dense(qm9):
    "MMD² from mean embeddings equals GDSS's mean K(X,X) + mean K(Y,Y) - 2 mean K(X,Y) within 1e-9."
    x, y = qm9[0][:250] + qm9[0][:20], qm9[1][:250]
    lin, dense = nspdk_mmd(x, y), nspdk_mmd_dense(x, y)
    assert abs(lin - dense) < 1e-9, (lin, dense)
    assert 0 < lin < 0.05


def test_stable_label_hash_across_processes():
    code = 'from ming.metrics import StableLabel; print(hash(StableLabel("Cl")), hash("Cl"))'
    out = [subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, check=True,
                          env={**os.environ, 'PYTHONHASHSEED': s}).stdout.split() for s in ('1', '2')]
    assert out[0][0] == out[1][0] == str(hash(StableLabel('Cl')))   # our label: the same everywhere
    assert out[0][1] != out[1][1]                                    # a plain str: salted per process


def test_hand_checked_vun(qm9):
    "A known duplicate, a known invalid SMILES and a training molecule."
    train = {canonical(s) for s in qm9[0]}
    t = qm9[0][0]
    gen = [t, 'C1=CC=CC=C1', 'c1ccccc1', 'C1CC', 'CC(C)(C)(C)(C)C', 'OCCN']
    g = vun_gdss(gen, train)
    assert (g['n_valid'], g['n_unique'], g['n_novel']) == (4, 3, 2)          # benzene twice; t is not novel
    s = vun_strict(gen + ['C.O'], train)
    assert (s['n_valid'], s['n_unique'], s['n_novel'], s['n_vun']) == (4, 3, 3, 2) and s['n_generated'] == 7


def test_templates_from_idx():
    "template_idx rows of qm9's file: rows 1, 2, 4, 5 are N, O, C#N, C=O."
    ref = Reference(['CC', 'CO'], ['CCC', 'CCO', 'CN'], cache=False)
    df = pd.DataFrame(dict(smiles=['N', 'C', 'N#C', 'CO'], template_idx=[1, 2, 4, 5]))
    r = evaluate(df, dataset='qm9', ref=ref).reps[0]
    assert r['template_copy'] == 2 / 4 and r['skeleton_copy'] == 1.0     # C/O and CO/C=O: same skeleton
    assert r['novel_vs_templates'] == 2 / 4
    bad = df.assign(template_idx=[1, 2, 4, 10**7])
    with pytest.raises(Exception, match='outside'): evaluate(bad, dataset='qm9', ref=ref)


@pytest.mark.parametrize('content,msg', [(b'', 'no samples'), (b'smiles\n', 'no samples'), (b'a,b\n1,2\n', 'no SMILES column'),
                                         (bytes(range(256)) * 8, 'samples.csv'),
                                         (b'smiles,valid_wo_corr\nCCO,1\nCC,2\n', 'line 3')])
def test_cli_bad_input(tmp_path, capsys, content, msg):
    p = tmp_path/'samples.csv'; p.write_bytes(content)
    assert main(['evaluate', str(p), '--dataset', 'qm9']) == 2
    err = capsys.readouterr().err
    assert 'ming evaluate: error' in err and msg in err and 'Traceback' not in err


def test_unparsable_smiles_are_counted(tmp_path):
    p = tmp_path/'s.csv'; p.write_text('smiles\nCCO\nnot-a-smiles\nC1CC\n""\nc1ccccc1\n')          # "" = no molecule (as pandas writes it)
    df = read_samples(p)
    assert len(df) == 5 and df['valid_wo_corr'].tolist() == [1, 0, 0, 0, 1]
    ev = evaluate(df, ref=Reference(['CC'], ['CCC', 'CCO', 'CN'], cache=False))
    assert ev.reps[0]['n_generated'] == 5 and ev.reps[0]['n_valid'] == 2
    paths = write_results(ev, tmp_path/'out', df['smiles'])
    assert json.loads(paths['json'].read_text())['reps'][0]['n_valid'] == 2


def test_results_notebook_runs(tmp_path):
    "The results notebook (a papermill notebook) renders published rows beside a run's results.json."
    ev = evaluate(['CCO', 'c1ccccc1', 'OCC', 'CCOC'], ref=Reference(['CC'], ['CCC', 'CCO', 'CN'], cache=False), n_reps=2)
    write_results(ev, tmp_path/'runs'/'my-run')
    root = __import__('pathlib').Path(__file__).resolve().parents[1]
    out = tmp_path/'out.ipynb'
    r = subprocess.run([sys.executable, '-m', 'papermill', '-k', 'python3', str(root/'nbs/experiments/results.ipynb'), str(out),
                        '-p', 'results_glob', str(tmp_path/'runs'/'**'/'results.json')], cwd=root, capture_output=True, text=True,
                       timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    text = out.read_text()
    assert 'my-run' in text and 'published' in text and '1 result file(s)' in text
