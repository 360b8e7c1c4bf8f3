"""Robustness (issue 6): bad input gets one clear paragraph, never a traceback; random strings and graphs never crash the
featuriser or the decoder; interrupted training resumes exactly; a failed checkpoint write keeps the previous one;
non-finite losses and sampler states stop with the step named; checkpoints hold only tensors and plain types and
anything else is refused without running it. Downloads are verified by sha256 in tests/test_data.py
(test_download_hash_mismatch_leaves_nothing, test_local_file_with_wrong_hash_is_refused)."""
import contextlib, io, os, pickle, re, signal, subprocess, sys, time
from pathlib import Path
from types import SimpleNamespace
import numpy as np, pandas as pd, pytest, torch
from hypothesis import given, settings, HealthCheck, strategies as st

from ming.core import MingError, get_vocab, atomic_torch_save
from ming.cli import main

ROOT = Path(__file__).resolve().parents[1]
from cli_helpers import run_cli, clean_error

TINY = ['--preset', 'tiny', '--batch-size', '8', '--val-every', '0', '--val-samples', '8', '--log-every', '1', '--quiet',
        '--device', 'cpu']                                # tiny preset: 256 molecules, so 32 steps per epoch
PER_EPOCH, STEPS = 32, 40                                 # the resumed part of a run crosses an epoch boundary
QM9 = get_vocab('qm9')


pytestmark = pytest.mark.usefixtures('one_thread')      # tests/conftest.py


def write(path, text=None, data=None):
    path = Path(path); path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data) if data is not None else path.write_text(text)
    return path


# ---------------------------------------------------------------------------------------------------------------------
# Bad input: user SMILES files
# ---------------------------------------------------------------------------------------------------------------------
from ming.data import load_smiles_file
from ming.graphs import load_graphs_file, smiles_to_graph, graph_failure_reason

GOOD = 'CCO\n' * 100                                     # lines 1..100 (no header in .smi files)


def test_malformed_smiles_counted_and_skipped(tmp_path, capsys):
    p = write(tmp_path / 'u.smi', GOOD + 'C1CC\nCC(\n' + 'CCN\n' * 10)       # bad lines 101, 102
    smi, rows = load_smiles_file(p)
    assert len(smi) == 110 and 100 not in rows and 101 not in rows
    err = capsys.readouterr().err
    assert f'{p}: 2 of 112 SMILES cannot be parsed by RDKit (lines 101, 102); they are skipped' in err


def test_malformed_smiles_above_the_allowed_fraction(tmp_path):
    p = write(tmp_path / 'u.smi', 'CCO\n' + ''.join(f'C{i}CC(\n' for i in range(8)))
    with pytest.raises(MingError) as e: load_smiles_file(p)
    msg = str(e.value)
    assert f'{p}: 8 of 9 SMILES cannot be parsed' in msg and '(lines 2, 3, 4, 5, 6, ...)' in msg
    assert 'more than the allowed 5%' in msg and 'max_bad_frac' in msg
    with pytest.raises(MingError, match='more than the allowed 5%'): load_graphs_file(p, 'qm9', procs=1)


def test_featurise_report_by_reason(tmp_path, capsys):
    "Unsupported elements, disconnected, too large, single atom: skipped, counted by reason, with their line numbers."
    bad = ['C[Si](C)C', 'CCCl', 'CCO.CC', 'CCCCCCCCCCCC', 'C', '[Na+].[Cl-]']      # lines 102..107
    p = write(tmp_path / 'u.csv', 'id,SMILES\n' + ''.join(f'{i},CCO\n' for i in range(100)) +
              ''.join(f'{100 + i},{s}\n' for i, s in enumerate(bad)))
    g, rep = load_graphs_file(p, 'qm9', procs=1, max_bad_frac=0.1)
    assert len(g) == 100 and rep.dropped == 6
    assert rep.counts == {'element Si not in vocabulary': 1, 'element Cl not in vocabulary': 1, 'disconnected': 1,
                          'too many atoms (> 9)': 1, 'single atom': 1, 'element Na not in vocabulary': 1}
    err = capsys.readouterr().err
    assert f'{p}: 6 of 106 molecules rejected' in err and 'they are skipped' in err
    for reason, line in [('element Si not in vocabulary', 102), ('element Cl not in vocabulary', 103), ('disconnected', 104),
                         ('too many atoms (> 9)', 105), ('single atom', 106)]:
        assert f'1 {reason} (lines {line})' in err, (reason, err)
    with pytest.raises(MingError, match=r'6 of 106 molecules rejected.*more than the allowed 5%.*another vocabulary'):
        load_graphs_file(p, 'qm9', procs=1)
    assert graph_failure_reason('CCCCCCCCCCCC', 'qm9') == 'too many atoms (12 > 9)'
    assert graph_failure_reason('CCO.CC', 'qm9') == 'disconnected (2 fragments)'
    assert load_graphs_file(p, 'zinc250k', procs=1, max_bad_frac=0.1)[1].counts.get('element Cl not in vocabulary') is None


def test_charged_molecules_are_kept_with_their_charges(tmp_path, capsys):
    "Charged molecules in the vocabulary are kept (QM9 has zwitterions); the charges are recorded per atom."
    p = write(tmp_path / 'u.smi', GOOD + 'C[N+](C)(C)C\nCC(=O)[O-]\nC[NH3+]\n')
    g, rep = load_graphs_file(p, 'qm9', procs=1)
    assert rep.dropped == 0 and len(g) == 103 and capsys.readouterr().err == ''
    for m, (smi, charged) in zip(range(100, 103), [('C[N+](C)(C)C', {1: 1}), ('CC(=O)[O-]', {3: -1}), ('C[NH3+]', {1: 1})]):
        a, b, c = g[m]
        assert {int(i): int(c[i]) for i in np.flatnonzero(c)} == charged, smi
        assert (b == b.T).all()


def test_empty_files_and_wrong_columns(tmp_path):
    for name, text in [('e.csv', ''), ('h.csv', 'smiles\n'), ('e.smi', ''), ('b.smi', '\n  \n\n'), ('blank.csv', 'SMILES\n\n\n')]:
        for load in (load_smiles_file, lambda p: load_graphs_file(p, 'qm9', procs=1)):
            with pytest.raises(MingError, match='empty') as e: load(write(tmp_path / name, text))
            assert str(tmp_path / name) in str(e.value)
    p = write(tmp_path / 'c.csv', 'id,name,formula\n1,ethanol,CCO\n')
    with pytest.raises(MingError) as e: load_smiles_file(p)
    assert "its columns are ['id', 'name', 'formula']" in str(e.value) and 'smiles_column' in str(e.value)
    with pytest.raises(MingError, match=r"no SMILES column 'mol'; its columns are \['id', 'name', 'formula'\]"):
        load_graphs_file(p, 'qm9', smiles_column='mol')
    assert load_smiles_file(p, smiles_column='formula')[0] == ['CCO']
    with pytest.raises(MingError, match='does not exist'): load_smiles_file(tmp_path / 'missing.smi')


def test_line_numbers_survive_blank_lines_and_crlf(tmp_path):
    body = 'CCO\r\n' * 50
    for name, text, line in [('a.smi', body + '\r\nC1CC\r\n', 52), ('a.csv', 'SMILES\n' + 'CCO\n' * 50 + '\nC1CC\n', 53)]:
        with pytest.raises(MingError, match=rf'\(lines {line}\)'): load_smiles_file(write(tmp_path / name, text), max_bad_frac=0)


def test_binary_and_corrupt_files(tmp_path):
    noise = np.random.default_rng(0).integers(0, 256, 3000, dtype=np.uint8).tobytes()
    with pytest.raises(MingError, match='not a readable CSV file'): load_smiles_file(write(tmp_path / 'x.csv', data=noise))
    with pytest.raises(MingError, match='cannot be parsed by RDKit'): load_smiles_file(write(tmp_path / 'x.smi', data=noise))
    for name in ('x.smi.gz', 'x.csv.gz'):                # not gzip at all
        with pytest.raises(MingError, match=str(tmp_path / name)): load_smiles_file(write(tmp_path / name, data=b'CCO\nCC\n'))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.binary(max_size=400), suffix=st.sampled_from(['.csv', '.smi', '.tsv', '.txt']))
def test_random_file_content_gives_result_or_ming_error(tmp_path_factory, data, suffix):
    "Any bytes at all: the user-file reader returns SMILES or raises MingError, nothing else."
    p = write(tmp_path_factory.mktemp('rand') / f'f{suffix}', data=data)
    try: smi, rows = load_smiles_file(p, verbose=False)
    except MingError: return
    assert len(smi) == len(rows) and all(isinstance(s, str) and s for s in smi)


# ---------------------------------------------------------------------------------------------------------------------
# Bad input: command-line values
# ---------------------------------------------------------------------------------------------------------------------
BAD_TRAIN = [
    (['--dataset', 'qm7'], ["Unknown dataset 'qm7'", 'qm9, zinc250k, moses']),
    (['--preset', 'huge'], ["Unknown preset 'huge'", 'tiny']),
    (['--preset', 'tiny', '--batch-size', '-3'], ['--batch-size must be positive, got -3']),
    (['--preset', 'tiny', '--epochs', '0'], ['--epochs must be positive, got 0']),
    (['--preset', 'tiny', '--subset', '-5'], ['--subset must be positive']),
    (['--preset', 'tiny', '--max-steps', '-1'], ['--max-steps must be positive', 'no limit']),
    (['--preset', 'tiny', '--time-budget', '0'], ['--time-budget must be positive, got 0.0', 'Leave it out for no limit']),
    (['--preset', 'tiny', '--lr', 'nan'], ['--lr must be positive, got nan']),
    (['--preset', 'tiny', '--log-every', '0'], ['--log-every must be positive']),
    (['--preset', 'tiny', '--val-samples', '0'], ['--val-samples must be positive']),
    (['--preset', 'tiny', '--val-every', '-1'], ['--val-every must be 0 or more, got -1']),
    (['--preset', 'tiny', '--seed', '-1'], ['--seed must be 0 or more, got -1']),
    (['--preset', 'tiny', '--precision', 'fp16'], ["Unknown precision 'fp16'", "'fp32', 'bf16', 'tf32'"]),
    (['--preset', 'tiny', '--device', 'gpu0'], ["Unknown device 'gpu0'", '--device cpu']),
    (['--preset', 'tiny', '--layout', 'diag'], ["Unknown pair layout 'diag'", "'dense'", "'packed'"]),
    (['--preset', 'tiny', '--hidden', '0'], ['--hidden must be positive, got 0']),
    (['--preset', 'tiny', '--d-z', '-4'], ['--d-z must be positive, got -4']),
    (['--preset', 'tiny', '--layers', '0'], ['--layers must be positive, got 0']),
]

@pytest.mark.parametrize('args,words', BAD_TRAIN, ids=[' '.join(a) for a, _ in BAD_TRAIN])
def test_bad_train_values(tmp_path, args, words):
    clean_error('train', *args, '--out', tmp_path / 'run', '--quiet', words=words)
    assert not (tmp_path / 'run' / 'last.ckpt').exists()


@pytest.mark.skipif(torch.cuda.is_available(), reason='needs a machine without CUDA')
def test_cuda_asked_for_without_cuda(tmp_path):
    clean_error('train', '--preset', 'tiny', '--device', 'cuda', '--out', tmp_path / 'run', words=["Device 'cuda'", '--device cpu'])


def test_bad_option_syntax_and_commands(tmp_path):
    rc, out, err = run_cli('train', '--epochs', 'abc')
    assert rc == 2 and "argument --epochs: invalid int value: 'abc'" in err and 'Traceback' not in err
    rc, out, err = run_cli('trian')
    assert rc == 2 and "unknown command 'trian'" in err and 'train' in err
    clean_error('data', 'info', 'qm7', words=["Unknown dataset 'qm7'"])
    clean_error('data', 'frob', 'qm9', words=['usage: ming data {info,prepare}'])
    clean_error('train', '--preset', 'tiny', '--resume', '--out', tmp_path / 'none',
                words=[f"there is no checkpoint {tmp_path / 'none' / 'last.ckpt'}", 'without --resume'])


def test_bad_sample_values(tmp_path):
    clean_error('sample', words=['needs --ckpt PATH'])
    clean_error('sample', '--ckpt', tmp_path / 'no.ckpt', words=[f"Checkpoint {tmp_path / 'no.ckpt'} does not exist"])
    ck = write(tmp_path / 'x.ckpt', 'x')
    clean_error('sample', '--ckpt', ck, '--n', '-5', words=['--n must be positive, got -5'])
    clean_error('sample', '--ckpt', ck, '--reps', '0', words=['--reps must be positive'])
    clean_error('sample', '--ckpt', ck, '--seed', '-2', words=['--seed must be 0 or more'])
    clean_error('sample', '--ckpt', ck, '--precision', 'fp8', words=["Unknown precision 'fp8'"])


def test_evaluate_bad_files(tmp_path):
    clean_error('evaluate', tmp_path / 'none.csv', words=[f"Samples file {tmp_path / 'none.csv'} does not exist"])
    for name, text in [('e.csv', ''), ('h.csv', 'smiles,valid_wo_corr\n'), ('e.smi', '\n')]:
        clean_error('evaluate', write(tmp_path / name, text), words=[str(tmp_path / name), 'has no samples', 'ming sample'])
    noise = np.random.default_rng(1).integers(0, 256, 3000, dtype=np.uint8).tobytes()
    clean_error('evaluate', write(tmp_path / 'b.csv', data=noise), words=['is not a readable CSV file', 'ming sample'])
    clean_error('evaluate', write(tmp_path / 'c.csv', 'step,loss\n1,0.5\n'),
                words=["has no SMILES column; its columns are ['step', 'loss']", "Name the column 'smiles'"])
    p = write(tmp_path / 'v.csv', 'smiles,valid_wo_corr\nCCO,1\nCC,yes\n')
    clean_error('evaluate', p, words=[f"{p}, line 3: column 'valid_wo_corr' has 'yes'"])
    p = write(tmp_path / 's.csv', 'smiles\nCCO\nCC\n')
    clean_error('evaluate', p, '--protocol', 'gdsss', words=["Unknown protocol 'gdsss'", 'gdss, strict, moses'])
    clean_error('evaluate', p, '--n-jobs', '0', words=['--n-jobs must be 1 or more, got 0'])
    clean_error('evaluate', p, '--n-reps', '-1', words=['--n-reps must be 1 or more, got -1'])
    clean_error('data', 'prepare', 'qm9', '--procs', '0', words=['--procs must be 1 or more, got 0', 'all cores'])


# ---------------------------------------------------------------------------------------------------------------------
# Property-based: the featuriser and the decoder never raise on any input
# ---------------------------------------------------------------------------------------------------------------------
from ming.decode import decode_batch, graph_to_mol_gdss, graph_to_smiles_gdss, graph_to_smiles_strict, correct_mol, SAMPLE_COLUMNS

SMILES_ALPHABET = 'CNOFSPIBrcnosl()[]=#-+123456789%.@/\\H*: '

def _check_featurised(s, vocab):
    g, why = smiles_to_graph(s, vocab), graph_failure_reason(s, vocab)
    assert (g is None) == (why is not None) and (why is None or isinstance(why, str))
    if g is not None:
        a, b, c = g; n = len(a)
        assert 2 <= n <= vocab.max_atoms and b.shape == (n, n) and c.shape == (n,) and (b == b.T).all()
        assert 1 <= a.min() and a.max() <= vocab.n_atom and 0 <= b.min() and b.max() <= 3 and ((b > 0).sum(1) > 0).all()

@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(s=st.one_of(st.text(max_size=40), st.text(alphabet=SMILES_ALPHABET, max_size=40)),
       vocab=st.sampled_from(['qm9', 'zinc250k', 'moses']))
def test_random_strings_to_the_featuriser(s, vocab):
    _check_featurised(s, get_vocab(vocab))


@st.composite
def raw_graphs(draw, vocab, n_max=10, wild=False):
    "A dense graph: atom classes (0 = deleted) and a bond matrix; `wild` allows out-of-range classes and asymmetry."
    n = draw(st.integers(0, n_max))
    lo_a, hi_a, lo_b, hi_b = (-2, vocab.n_atom + 2, -1, vocab.n_bond + 1) if wild else (0, vocab.n_atom, 0, vocab.n_bond - 1)
    atoms = np.array(draw(st.lists(st.integers(lo_a, hi_a), min_size=n, max_size=n)), dtype=np.int64)
    flat = draw(st.lists(st.integers(lo_b, hi_b), min_size=n * n, max_size=n * n))
    bonds = np.array(flat, dtype=np.int64).reshape(n, n)
    if not wild: bonds = np.tril(bonds, -1); bonds = bonds + bonds.T
    return atoms, bonds

@pytest.mark.parametrize('name', ['qm9', 'moses'])
def test_random_graphs_to_decoder_and_back_to_featuriser(name):
    "Random graphs (also with out-of-range classes): the builders return a molecule or None; strictly valid ones featurise back."
    vocab = get_vocab(name)
    @settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(g=st.one_of(raw_graphs(vocab), raw_graphs(vocab, wild=True)))
    def check(g):
        atoms, bonds = g
        mol, ok = graph_to_mol_gdss(atoms, bonds, vocab)
        smi, ok2 = graph_to_smiles_gdss(atoms, bonds, vocab)
        strict = graph_to_smiles_strict(atoms, bonds, vocab)
        kept = atoms[atoms != 0]
        if len(kept) == 0 or kept.min() < 0 or kept.max() > vocab.n_atom:
            assert (mol, ok, smi, strict) == (None, False, None, None)               # a reported failure, not a crash
        assert correct_mol(mol) is None or smi is not None
        for s in (smi, strict):
            if s: _check_featurised(s, vocab)
        if strict and '.' not in strict:                                            # strictly valid: featurises back
            r = graph_failure_reason(strict, vocab)
            assert r is None or r == 'single heavy atom', (strict, r)
            if r is None: assert len(smiles_to_graph(strict, vocab)[0]) == len(kept)
    check()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(bs=st.integers(1, 4), n=st.integers(1, 9), seed=st.integers(0, 2**31), as_tensor=st.booleans())
def test_random_batches_to_decode_batch(bs, n, seed, as_tensor):
    "`decode_batch` on arbitrary integer batches (padding, garbage classes, asymmetric bonds): one row per graph, never raises."
    r = np.random.default_rng(seed)
    atoms, bonds = r.integers(-1, QM9.n_atom + 2, (bs, n)), r.integers(-1, QM9.n_bond + 1, (bs, n, n))
    atoms[r.random((bs, n)) < 0.3] = 0
    if as_tensor: atoms, bonds = torch.as_tensor(atoms), torch.as_tensor(bonds)
    df = decode_batch(atoms, bonds, QM9)
    assert tuple(df.columns) == SAMPLE_COLUMNS and len(df) == bs
    assert df.smiles.map(type).eq(str).all() and df.valid_wo_corr.isin([0, 1]).all()
    assert (df.n_atoms.to_numpy() == (np.asarray(atoms) != 0).sum(1)).all()


# ---------------------------------------------------------------------------------------------------------------------
# Training: reference run, interrupted runs, failed checkpoint writes, non-finite losses
# ---------------------------------------------------------------------------------------------------------------------
from ming.train import Trainer, train, train_config
from ming.checkpoint import load_checkpoint, load_model, CKPT_FORMAT

@pytest.fixture(scope='module')
def reference(tmp_path_factory):
    "An uninterrupted `ming train` of STEPS steps on the tiny preset (in this process)."
    out = tmp_path_factory.mktemp('ref') / 'run'
    rc, o, e = run_cli('train', *TINY, '--max-steps', STEPS, '--out', out)
    assert rc == 0, e
    return out


def _log(run): return pd.read_csv(run / 'train_log.csv')


def _wait_for_steps(p, log, k, timeout=300):
    "Poll `train_log.csv` until it has `k` steps (or the process ends)."
    t0 = time.time()
    while time.time() - t0 < timeout:
        if p.poll() is not None: return
        if log.exists() and len(log.read_text().splitlines()) >= k + 1: return
        time.sleep(0.05)
    raise AssertionError('training did not log its first steps in time')


@pytest.mark.parametrize('sig', [signal.SIGINT, signal.SIGTERM], ids=['SIGINT', 'SIGTERM'])
def test_interrupted_training_resumes_exactly(tmp_path, reference, sig):
    "Kill `ming train` with a signal mid-epoch: exit 0, a clean message, last.ckpt; `--resume` continues the same trajectory."
    out = tmp_path / 'run'
    cmd = [sys.executable, '-m', 'ming.cli', 'train', *TINY, '--max-steps', '1000', '--out', str(out)]
    env = dict(os.environ, OMP_NUM_THREADS='1', MKL_NUM_THREADS='1')   # as in this process: the same arithmetic, step for step
    p = subprocess.Popen(cmd, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        _wait_for_steps(p, out / 'train_log.csv', 2)
        p.send_signal(sig)
        so, se = p.communicate(timeout=300)
    finally:
        if p.poll() is None: p.kill(); p.communicate()
    name = signal.Signals(sig).name
    assert p.returncode == 0, se[-3000:]
    assert 'Traceback' not in se and f'stopped (signal {name}) after' in so, (so, se[-3000:])
    ck = load_checkpoint(out / 'last.ckpt')
    k = ck['step']
    assert 2 <= k < PER_EPOCH and ck['pos'] == k and ck['epoch'] == 0, (k, ck['pos'])   # mid-epoch, at a step boundary
    assert _log(out).step.tolist() == list(range(1, k + 1))
    assert [f.name for f in out.iterdir() if f.name.endswith('.tmp')] == []
    rc, o, e = run_cli('train', *TINY, '--max-steps', STEPS, '--out', out, '--resume')
    assert rc == 0 and f'stopped (max_steps) after {STEPS} steps' in o, e
    a, b = _log(reference), _log(out)
    assert b.step.tolist() == list(range(1, STEPS + 1))
    # Bit for bit: the subprocess, the reference and the resumed run all use one thread (with two threads in the killed
    # process the losses drift by up to 2e-4 relative within 40 steps: sums are split differently; see the next test).
    for col in ('loss', 'ce', 'mse', 'lr'): np.testing.assert_array_equal(b[col], a[col], err_msg=col)
    wa, wb = load_checkpoint(reference / 'last.ckpt'), load_checkpoint(out / 'last.ckpt')
    for key in wa['model']: torch.testing.assert_close(wb['model'][key], wa['model'][key], rtol=0, atol=0)
    assert wb['scheduler'] == wa['scheduler'] and (wb['epoch'], wb['pos']) == (wa['epoch'], wa['pos']) == (1, STEPS - PER_EPOCH)


def test_killed_training_recovers_from_its_last_checkpoint(tmp_path, reference):
    "SIGKILL (OOM killer, power loss): no clean stop, but last.ckpt is whole and `--resume` redoes the lost steps exactly."
    out = tmp_path / 'run'
    cmd = [sys.executable, '-m', 'ming.cli', 'train', *TINY, '--max-steps', '1000', '--out', str(out)]
    p = subprocess.Popen(cmd, cwd=tmp_path, env=dict(os.environ, OMP_NUM_THREADS='1', MKL_NUM_THREADS='1'), stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    try:
        _wait_for_steps(p, out / 'train_log.csv', 6)          # the tiny preset writes last.ckpt every 4 steps
        p.kill(); p.communicate(timeout=60)
    finally:
        if p.poll() is None: p.kill(); p.communicate()
    assert p.returncode == -signal.SIGKILL
    ck = load_checkpoint(out / 'last.ckpt')
    logged = _log(out).step.max()
    assert ck['step'] % 4 == 0 and 4 <= ck['step'] <= logged, (ck['step'], logged)
    stale = out / '.last.ckpt.k1ll3d.tmp'; stale.write_bytes(b'a checkpoint write cut short by the kill')
    rc, o, e = run_cli('train', *TINY, '--max-steps', STEPS, '--out', out, '--resume')
    assert rc == 0, e
    assert not stale.exists() and not list(out.glob('*.tmp')) and not list(out.glob('.*.tmp'))
    a, b = _log(reference), _log(out)          # the steps after the checkpoint were redone, and logged once
    assert b.step.tolist() == list(range(1, STEPS + 1))
    np.testing.assert_array_equal(b.loss, a.loss)


def test_resume_with_other_threads_says_so(tmp_path, reference):
    "A resume with another thread count than the checkpoint's works, and warns that it is exact only to float rounding."
    out = tmp_path / 'run'
    rc, o, e = run_cli('train', *TINY, '--max-steps', 4, '--out', out)
    assert rc == 0, e
    torch.set_num_threads(2)
    try:
        with pytest.warns(UserWarning, match='threads 1 -> 2'):
            rc, o, e = run_cli('train', *TINY, '--max-steps', 8, '--out', out, '--resume')
    finally: torch.set_num_threads(1)
    assert rc == 0 and 'stopped (max_steps) after 8 steps' in o, e
    np.testing.assert_allclose(_log(out).loss, _log(reference).loss[:8], rtol=1e-3)


def test_os_errors_are_one_paragraph(tmp_path):
    "A file where the run folder should be: the system's reason and the path, exit 2, no traceback."
    write(tmp_path / 'f', '')
    clean_error('train', *TINY, '--max-steps', 2, '--out', tmp_path / 'f' / 'run', words=['Not a directory', str(tmp_path / 'f')])


def test_failed_checkpoint_write_keeps_the_previous_one(tmp_path, monkeypatch, reference):
    "torch.save writes half a file and fails (disk full): MingError naming the file and step; the old last.ckpt is intact."
    out = tmp_path / 'run'; out.mkdir()
    (out / 'last.ckpt').write_bytes((reference / 'last.ckpt').read_bytes())
    before = (out / 'last.ckpt').read_bytes()
    real_save = torch.save
    def broken_save(obj, f, *a, **kw):
        buf = io.BytesIO(); real_save(obj, buf, *a, **kw)
        f.write(buf.getvalue()[:len(buf.getvalue()) // 3]); f.flush()
        raise OSError(28, 'No space left on device')
    monkeypatch.setattr(torch, 'save', broken_save)
    rc, o, e = run_cli('train', *TINY, '--max-steps', STEPS + 2, '--out', out, '--resume')
    assert rc == 2 and 'Traceback' not in e, e
    assert f"Could not write the checkpoint {out / 'last.ckpt'} at step {STEPS + 2}" in e and 'No space left on device' in e
    assert 'previous last.ckpt, if any, is intact' in e
    assert (out / 'last.ckpt').read_bytes() == before and load_checkpoint(out / 'last.ckpt')['step'] == STEPS
    assert sorted(f.name for f in out.iterdir() if f.name.startswith('.')) == []            # no temporary file left
    # an interrupt (BaseException) in the middle of a write is handled the same way
    def interrupted_save(obj, f, *a, **kw): f.write(b'PK\x03\x04 half'); raise KeyboardInterrupt
    monkeypatch.setattr(torch, 'save', interrupted_save)
    with pytest.raises(KeyboardInterrupt): atomic_torch_save({'x': torch.ones(1)}, out / 'last.ckpt')
    assert (out / 'last.ckpt').read_bytes() == before and [f for f in out.iterdir() if f.name.startswith('.')] == []


@pytest.mark.parametrize('bad,at,kept', [(float('nan'), 6, 4), (float('inf'), 3, None)], ids=['nan@6', 'inf@3'])
def test_non_finite_loss_stops_with_the_step(tmp_path, monkeypatch, bad, at, kept):
    "The loss turns NaN/inf at step `at`: exit 2, the message names the step, and the last good checkpoint (if any) is kept."
    from ming.models.ming.model import MingModel
    real_loss, calls = MingModel.loss, []
    def loss(self, *a, **kw):
        calls.append(1); l, logs, w = real_loss(self, *a, **kw)
        return (l * bad, {**logs, 'loss': l.detach() * bad}, w) if len(calls) == at else (l, logs, w)
    monkeypatch.setattr(MingModel, 'loss', loss)
    out = tmp_path / 'run'
    msg = clean_error('train', *TINY, '--max-steps', 20, '--out', out,
                      words=[f'the loss is {bad} at step {at} (epoch 0, batch {at - 1})', 'smaller --lr'])
    assert len(calls) == at
    if kept is None: assert 'No checkpoint had been written yet' in msg and not (out / 'last.ckpt').exists()
    else:
        assert f"The last good checkpoint {out / 'last.ckpt'} is kept" in msg
        ck = load_checkpoint(out / 'last.ckpt')
        assert ck['step'] == kept < at and all(torch.isfinite(v).all() for v in ck['model'].values())


def test_absurd_learning_rate_is_caught(tmp_path):
    "No injection: --lr 1e30 makes the loss non-finite within a few steps; the run stops with the step named."
    msg = clean_error('train', *TINY, '--lr', '1e30', '--max-steps', 8, '--out', tmp_path / 'run', words=['Training stopped: the loss is'])
    step = int(re.search(r'at step (\d+)', msg).group(1))
    assert 2 <= step <= 8
    if (tmp_path / 'run' / 'last.ckpt').exists(): assert load_checkpoint(tmp_path / 'run' / 'last.ckpt')['step'] < step


# ---------------------------------------------------------------------------------------------------------------------
# The sampler detects non-finite states
# ---------------------------------------------------------------------------------------------------------------------
from ming.models.ming.model import MingModel, ming_config


def _batch(bs=3, n=5, k=7, seed=0):
    g = torch.Generator().manual_seed(seed)
    node = torch.arange(n)[None] < torch.tensor([5, 4, 3])[:bs, None]
    phi = torch.randn(bs, n, k, generator=g) * node[..., None]
    return SimpleNamespace(x=phi[:, :, None] * phi[:, None, :], mask=node[:, :, None] & node[:, None, :])


class _BadTheta(torch.nn.Module):
    "θ that returns finite logits for `good` calls, then `value`."
    def __init__(self, C, good, value): super().__init__(); self.C, self.good, self.value, self.calls = C, good, value, 0
    def forward(self, s, z, pool=None):
        self.calls += 1
        out = torch.zeros(*s.shape[:-1], self.C)
        return out + self.value if self.calls > self.good else out


@pytest.mark.parametrize('value,good', [(float('nan'), 0), (float('inf'), 3)], ids=['nan@first', 'inf@4th'])
def test_sampler_detects_non_finite_state(value, good):
    torch.manual_seed(0)
    model = MingModel(ming_config('tiny')); T = model.diffusion.T
    model.net.theta = _BadTheta(model.cfg.inr.C, good, value)
    t = T - 1 - good
    with pytest.raises(MingError, match=rf'non-finite \(NaN or inf\) at step t={t} of T={T}'): model.sample(_batch())


def test_sample_cli_on_a_diverged_checkpoint(tmp_path, reference):
    "A checkpoint with a NaN weight: `ming sample` stops at the first sampler step with a clear message."
    ck = load_checkpoint(reference / 'last.ckpt')
    key = next(k for k in ck['model'] if k.startswith('net.theta') and k.endswith('bias'))
    ck['model'][key] = torch.full_like(ck['model'][key], float('nan'))
    torch.save(ck, tmp_path / 'nan.ckpt')
    T = ming_config('tiny').diffusion.T
    clean_error('sample', '--ckpt', tmp_path / 'nan.ckpt', '--n', 4, '--out', tmp_path / 's.csv', '--quiet', '--device', 'cpu',
                words=[f'non-finite (NaN or inf) at step t={T - 1} of T={T}'])
    assert not (tmp_path / 's.csv').exists() and [f for f in tmp_path.iterdir() if f.name.endswith('.tmp')] == []


# ---------------------------------------------------------------------------------------------------------------------
# Unsafe files: checkpoints are tensors and plain types; everything else is refused without running it
# ---------------------------------------------------------------------------------------------------------------------
PLAIN = (dict, list, tuple, str, int, float, bool, type(None), torch.Tensor)

def _walk(obj, path='ck'):
    "Every (path, type) in a nested checkpoint that is not a tensor or a plain type."
    if not isinstance(obj, PLAIN): yield path, type(obj)
    if isinstance(obj, dict):
        for k, v in obj.items():
            if not isinstance(k, (str, int)): yield f'{path} key {k!r}', type(k)
            yield from _walk(v, f'{path}[{k!r}]')
    elif isinstance(obj, (list, tuple)):
        for i, v in enumerate(obj): yield from _walk(v, f'{path}[{i}]')


def test_checkpoints_hold_only_tensors_and_plain_types(reference):
    for name in ('last.ckpt', 'best.ckpt'):
        p = reference / name
        assert torch.serialization.get_unsafe_globals_in_checkpoint(p) == []
        ck = torch.load(p, weights_only=True)
        assert list(_walk(ck)) == [], list(_walk(ck))[:5]
        assert ck['format'] == CKPT_FORMAT and ck['kind'] == 'ming' and {'model', 'optimizer', 'scheduler', 'rng'} <= set(ck)
    assert (reference / 'last.ckpt').stat().st_mode & 0o044                      # group/other may read, as `open` would allow


class _Evil:
    "Unpickling this runs `open(marker, 'w')`: a file appears if the loader executes code."
    def __init__(self, marker): self.marker = str(marker)
    def __reduce__(self): return (open, (self.marker, 'w'))


def _unsafe_files(d:Path, reference:Path):
    "(name, path, expected words) of files that must be refused by every loader."
    d.mkdir(exist_ok=True)
    good = (reference / 'last.ckpt').read_bytes()
    marker = d / 'PWNED'
    ck = torch.load(reference / 'last.ckpt', weights_only=True)
    files = [('truncated', write(d / 'trunc.ckpt', data=good[:len(good) // 2]), 'cannot be read'),
             ('empty', write(d / 'empty.ckpt', data=b''), 'cannot be read'),
             ('random bytes', write(d / 'rand.ckpt', data=np.random.default_rng(2).bytes(5000)), 'cannot be read'),
             ('text', write(d / 'text.ckpt', 'format: 1\nmodel: {}\n'), 'cannot be read')]
    code = 'holds more than tensors and plain Python types'
    torch.save(_Evil(marker), d / 'evil_torch.ckpt')
    files.append(('object (torch.save)', d / 'evil_torch.ckpt', f'{code} (the Python object io.open)'))
    torch.save({**ck, 'extra': _Evil(marker)}, d / 'evil_inside.ckpt')
    files.append(('object inside a real checkpoint', d / 'evil_inside.ckpt', f'{code} (the Python object io.open)'))
    with open(d / 'evil.pkl', 'wb') as f: pickle.dump({'format': 1, 'model': _Evil(marker)}, f)
    files.append(('plain pickle', d / 'evil.pkl', code))
    torch.save(torch.ones(3), d / 'tensor.ckpt'); files.append(('a tensor', d / 'tensor.ckpt', 'is not a ming checkpoint'))
    torch.save({k: v for k, v in ck.items() if k != 'format'}, d / 'noformat.ckpt')
    files.append(('no format entry', d / 'noformat.ckpt', 'is not a ming checkpoint'))
    torch.save({**ck, 'format': CKPT_FORMAT + 98}, d / 'future.ckpt')
    files.append(('future format', d / 'future.ckpt', f'has checkpoint format {CKPT_FORMAT + 98}, this ming reads format {CKPT_FORMAT}'))
    return files, marker


def test_unsafe_and_broken_checkpoints_are_refused(tmp_path, reference):
    files, marker = _unsafe_files(tmp_path / 'bad', reference)
    assert not marker.exists()
    for what, path, words in files:
        with pytest.raises(MingError, match=re.escape(words)) as e: load_checkpoint(path)
        assert str(path) in str(e.value), what
        clean_error('sample', '--ckpt', path, '--n', 2, '--out', tmp_path / 's.csv', words=[str(path), words])
    assert not marker.exists(), 'loading ran code from a checkpoint'
    # and through `ming train --resume`: each bad file as the run's last.ckpt
    for what, path, words in files:
        run = tmp_path / 'runs' / path.stem; run.mkdir(parents=True)
        (run / 'last.ckpt').write_bytes(path.read_bytes())
        clean_error('train', *TINY, '--max-steps', 20, '--out', run, '--resume', words=[str(run / 'last.ckpt'), words])
    assert not marker.exists()


def test_checkpoint_from_another_configuration(tmp_path, reference):
    "Another preset or batch size on --resume; weights of another model; a config whose k does not fit the weights."
    run = tmp_path / 'run'; run.mkdir()
    (run / 'last.ckpt').write_bytes((reference / 'last.ckpt').read_bytes())
    msg = clean_error('train', '--preset', 'qm9', '--out', run, '--resume', '--quiet', '--device', 'cpu',
                      words=[f"Cannot resume from {run / 'last.ckpt'}", 'another --out folder'])
    assert re.search(r"trained with \w+='tiny', this run has \w+='qm9'", msg), msg
    clean_error('train', *TINY, '--batch-size', 16, '--out', run, '--resume', words=['trained with batch_size=8, this run has batch_size=16'])
    clean_error('train', *TINY, '--hidden', 64, '--out', run, '--resume', words=['trained with hidden=None, this run has hidden=64'])
    ck = torch.load(reference / 'last.ckpt', weights_only=True)
    other = {**ck, 'model': MingModel(ming_config('qm9')).state_dict()}              # weights of the qm9 model, tiny config
    torch.save(other, tmp_path / 'other.ckpt')
    with pytest.raises(MingError, match='does not match the MING model it describes'): load_model(tmp_path / 'other.ckpt', 'cpu')
    (run / 'last.ckpt').write_bytes((tmp_path / 'other.ckpt').read_bytes())
    clean_error('train', *TINY, '--max-steps', 20, '--out', run, '--resume', words=[f"Checkpoint {run / 'last.ckpt'} does not match this model"])
    wrong_k = {**ck, 'model_cfg': {**ck['model_cfg'], 'inr': {**ck['model_cfg']['inr'], 'k': 9}}}
    torch.save(wrong_k, tmp_path / 'k.ckpt')
    clean_error('sample', '--ckpt', tmp_path / 'k.ckpt', '--n', 2, '--out', tmp_path / 's.csv', '--quiet', '--device', 'cpu',
                words=['does not match the MING model it describes'])
    torch.save({**ck, 'kind': 'template_copy'}, tmp_path / 'kind.ckpt')          # MING weights labelled as another model
    clean_error('sample', '--ckpt', tmp_path / 'kind.ckpt', '--n', 2, words=['does not match the template-copy model it describes'])
    (run / 'last.ckpt').write_bytes((tmp_path / 'kind.ckpt').read_bytes())
    clean_error('train', *TINY, '--max-steps', 20, '--out', run, '--resume', words=["holds a 'template_copy' model, not a MING model", 'Resume with --model template_copy'])


def test_no_unsafe_loading_in_the_package():
    "Static check: no pickle, no torch.load without weights_only=True, no allow_pickle=True, no eval/exec in ming/."
    bad = []
    for f in sorted((ROOT / 'ming').glob('*.py')):
        src = f.read_text()
        for m in re.finditer(r'torch\.load\(([^()]|\([^()]*\))*\)', src):
            if 'weights_only=True' not in m.group(0): bad.append(f'{f.name}: {m.group(0)}')
        for pat in (r'\bimport pickle\b', r'\bpickle\.loads?\(', r'allow_pickle\s*=\s*True', r'(?<![\w.])eval\(', r'(?<![\w.])exec\(',
                    r'\bdill\b', r'\bjoblib\.load\(', r'\bcloudpickle\b'):
            bad += [f'{f.name}: {m.group(0)}' for m in re.finditer(pat, src)]
    assert bad == [], bad


def test_tf32_on_cpu_is_fp32(tmp_path, reference):
    "--precision tf32 changes only CUDA matmuls: on a CPU the run is the fp32 run, bit for bit."
    rc, o, e = run_cli('train', *TINY, '--max-steps', 4, '--precision', 'tf32', '--out', tmp_path / 'run')
    assert rc == 0, e
    np.testing.assert_array_equal(_log(tmp_path / 'run').loss, _log(reference).loss[:4])
