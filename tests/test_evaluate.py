"""Checks of `ming evaluate`'s report (issue 14): every row of a hand-built samples file under gdss and strict, the
strict molecules used everywhere, no spread printed for one repetition, progress lines, parallel workers and one output
folder per protocol (CPU, tiny references; < 1 min)."""
import os, json, time, warnings
import numpy as np, pandas as pd, pytest
import ming.evaluate as E
from ming.evaluate import Reference, evaluate, results_table, report_markdown, write_results, protocol_molecules
from ming.metrics import fcd, nspdk_mmd, nspdk_embedding, property_table, property_distances, label_profile, label_distances
from ming.cli import main

TRAIN = ['CCO', 'CC', 'CCN', 'CCCO']
TEST = ['CCCC', 'CCOC', 'c1ccccc1', 'CC(=O)O', 'CCNC', 'OCCO', 'CC#N', 'C1CCC1']

# A samples file whose every number is known. template_idx are rows of QM9's source file:
# 10 CC=O, 12 CCC, 13 CCO, 40 CCOC, 41 OCCO, 213 benzene.
SAMPLES = pd.DataFrame([
    # smiles (corrected)    valid_wo_corr  strict_smiles     template_idx
    ('CCO',                 1,             'CCO',            13),   # training molecule; copy of its template
    ('c1ccccc1',            1,             'c1ccccc1',       213),  # novel; copy
    ('OCC',                 1,             'CCO',            12),   # repeat of CCO; template CCC: same skeleton only
    ('C#CC[N+](C)(C#C)CC',  0,             '',               40),   # charge added by correction: strict SMILES empty
    ('CCOC.O',              0,             'CCOC.O',         40),   # two fragments: gdss keeps CCOC (a copy); strict: invalid
    ('',                    0,             '',               13),   # no molecule at all
    ('c1ccccc1',            1,             'c1ccccc1',       10),   # repeat of benzene; template CC=O
    ('CCCCN',               1,             '',               41),   # valid w/o correction, yet strict SMILES empty
], columns=['smiles', 'valid_wo_corr', 'strict_smiles', 'template_idx'])

# The molecules each protocol evaluates, sample by sample ('' = invalid under it).
MOLS = dict(gdss=['CCO', 'c1ccccc1', 'CCO', 'C#CC[N+](C)(C#C)CC', 'CCOC', '', 'c1ccccc1', 'CCCCN'],
            strict=['CCO', 'c1ccccc1', 'CCO', '', '', '', 'c1ccccc1', ''])

EXPECTED = {   # every row but the distances, which are checked against the metrics on MOLS' valid molecules
    'gdss': dict(n_generated=8, n_valid=7, n_valid_wo_corr=5, n_unique=5, n_novel=4,
                 valid_wo_corr=5/7, valid_wo_corr_all=5/8, valid=7/8, unique=5/7, novel=4/5, vun=5/7 * 5/7 * 4/5,
                 # pairs: the 7 valid samples; copies CCO, benzene, CCOC; skeletons + OCC/CCC
                 n_with_template=7, n_template_copy=3, n_skeleton_copy=4, template_copy=3/7, skeleton_copy=4/7,
                 novel_vs_templates=2/5),          # C#CC[N+](C)(C#C)CC and CCCCN are no template
    'strict': dict(n_generated=8, n_valid=4, n_unique=2, n_novel=2, n_vun=1,
                   valid=4/8, unique=2/8, novel=2/8, vun=1/8,
                   n_with_template=4, n_template_copy=2, n_skeleton_copy=3, template_copy=2/4, skeleton_copy=3/4,
                   novel_vs_templates=0.),         # CCO and benzene are both templates
}


@pytest.fixture
def ref(): return Reference(TRAIN, TEST, cache=False)


@pytest.fixture
def samples_csv(tmp_path):
    p = tmp_path/'samples.csv'; SAMPLES.to_csv(p, index=False); return p


def _expected(protocol, ref):
    "Every row's value: the hand counts above, and the distances of the metrics on the valid molecules of MOLS."
    valid = [m for m in MOLS[protocol] if m]
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        e = dict(EXPECTED[protocol], fcd=fcd(valid, ref.fcd), nspdk=nspdk_mmd(nspdk_embedding(valid), ref.nspdk))
    return {**e, **property_distances(property_table(valid), ref.props), **label_distances(label_profile(valid), label_profile(TEST))}


@pytest.mark.parametrize('protocol', ['gdss', 'strict'])
def test_every_row_of_a_hand_built_file(samples_csv, ref, protocol):
    "Under strict, an empty or two-fragment strict SMILES is invalid in every row, the template statistics and the grid."
    test_eq = lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-15)
    assert protocol_molecules(E.read_samples(samples_csv), protocol) == MOLS[protocol]
    ev = evaluate(samples_csv, dataset='qm9', protocol=protocol, ref=ref)
    want, t = _expected(protocol, ref), results_table(ev)
    assert set(t['metric']) == set(want), set(t['metric']) ^ set(want)          # every row, no row unaccounted for
    for m, v in zip(t['metric'], t['mean']): test_eq(v, want[m])
    assert ev.grid == [m for m in MOLS[protocol] if m] and ev.grid_skipped == MOLS[protocol].count('')
    assert set(t['label']).isdisjoint({'Valid (%)', 'Unique (%)', 'Novel (%)'})  # labels say their denominators


def test_strict_grid_differs_from_gdss(samples_csv, ref, tmp_path):
    "The strict molecule grid draws only strictly valid molecules, so it is not the gdss grid."
    out = {p: write_results(evaluate(samples_csv, 'qm9', p, ref=ref), tmp_path/p) for p in ('gdss', 'strict')}
    assert out['gdss']['grid'].read_bytes() != out['strict']['grid'].read_bytes()
    assert 'C#CC[N+](C)(C#C)CC' not in json.loads(out['strict']['json'].read_text())['grid']


def test_one_repetition_prints_no_spread(samples_csv, ref):
    one = report_markdown(evaluate(samples_csv, 'qm9', 'gdss', ref=ref))
    assert '±' not in one and 'n = 1' in one
    two = report_markdown(evaluate(samples_csv, 'qm9', 'gdss', ref=ref, n_reps=2))
    assert '| Unique (% of valid) | ' in two and ' ± ' in two.split('## Published')[1].split('##')[0]


def test_headline_then_extra_then_counts(samples_csv, ref):
    "The published columns first, in their order; no row twice; counts only in the counts table, per repetition."
    ev = evaluate(samples_csv, 'qm9', 'gdss', ref=ref, n_reps=2)
    t = results_table(ev)
    assert t[t['table'] == 'headline']['metric'].tolist() == ['valid_wo_corr', 'unique', 'novel', 'fcd', 'nspdk']
    assert t['metric'].is_unique and t['label'].is_unique
    assert all(m.startswith('n_') for m in t[t['table'] == 'count']['metric'])
    assert not any(m.startswith('n_') for m in t[t['table'] != 'count']['metric'])
    md = report_markdown(ev)
    head, extra, counts = (md.split(f'## {s}')[1].split('\n## ')[0] for s in ('Published', 'Further rows', 'Counts'))
    assert '%' in head and '| samples generated | 4 | 4 |' in counts and '±' not in counts and '| samples generated |' not in extra
    # every sample survived correction: "valid w/o corr, all samples" would repeat "valid w/o corr", so it is left out
    ok = evaluate(SAMPLES[SAMPLES.smiles != ''], 'qm9', 'gdss', ref=ref)
    assert 'valid_wo_corr_all' not in results_table(ok)['metric'].tolist() and 'not repeated' in ' '.join(ok.notes)


def test_progress_lines_per_reference_stage(tmp_path, monkeypatch, capsys):
    "A line per reference statistic with its time; computed the first time, read from the cache the second."
    monkeypatch.setenv('MING_CACHE_DIR', str(tmp_path/'cache'))
    monkeypatch.setattr(Reference, 'min_cache', 1)
    stages = ['canonical training set', 'ChemNet moments (FCD)', 'NSPDK mean embedding', 'property table']
    for how in ('computed', 'read from the cache'):
        evaluate(['CCO', 'c1ccccc1', 'CCN'], protocol='gdss', ref=Reference(TRAIN, TEST), verbose=True)
        err = capsys.readouterr().err.splitlines()
        for s in stages: assert any(s in l and f'{how} in ' in l and l.rstrip().endswith('CPU)') for l in err), (s, how, err)
        assert any(l.startswith('  FCD ... ') for l in err) and err[-1].startswith('Time: ')


def _pid(part): time.sleep(0.2); return os.getpid()

def test_parallel_parts_use_workers():
    pids = set(E._pmap(_pid, range(2000), n_jobs=2))
    assert len(pids) == 2 and os.getpid() not in pids


def test_results_do_not_depend_on_n_jobs(monkeypatch):
    "300 QM9 molecules with templates, cut in parts of 50 for the workers: the parallel evaluation gives the serial numbers."
    from ming.data import load_smiles
    monkeypatch.setattr(E, '_PART', 50); monkeypatch.setattr(E, '_PART_PARSE', 50)
    tr = load_smiles('qm9', 'train_full')[0]
    rng = np.random.default_rng(1)
    df = pd.DataFrame(dict(smiles=[tr[i] for i in rng.choice(len(tr), 300, replace=False)], template_idx=rng.integers(0, 1000, 300)))
    ref = Reference(tr[:2000], load_smiles('qm9', 'test')[0][:100], cache=False)
    a, b = (evaluate(df, 'qm9', 'strict', ref=ref, n_jobs=n).reps[0] for n in (1, 2))
    assert a.keys() == b.keys() and a['n_with_template'] == 300
    for k in a: np.testing.assert_allclose(a[k], b[k], rtol=1e-6, err_msg=k)


def test_two_protocols_write_two_folders(samples_csv, monkeypatch, capsys):
    monkeypatch.setattr(Reference, 'for_dataset', classmethod(lambda cls, dataset, **kw: cls(TRAIN, TEST, name=dataset, cache=False, **kw)))
    for p in ('gdss', 'strict'): assert main(['evaluate', str(samples_csv), '--protocol', p, '--n-jobs', '1']) == 0
    out = capsys.readouterr()
    for p in ('gdss', 'strict'):
        d = samples_csv.parent/f'samples_eval_{p}'
        assert json.loads((d/'results.json').read_text())['protocol'] == p and (d/'molecules.png').exists()
    assert 'reference qm9: ChemNet moments (FCD) of 8 SMILES ... computed in' in out.err
