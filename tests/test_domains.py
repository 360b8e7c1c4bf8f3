"""Generated domains (nbs/40a_domains.ipynb): a skeleton generator's graphs as the domain of MING (binary Laplacian) and
ModFlow, end to end through `ming sample --domain generated` and `ming evaluate`; connected graphs with the training
split's atom-count distribution; clean errors for a missing or wrong generator."""
import json
import numpy as np, pandas as pd, pytest, torch
from scipy import stats

from ming.graphs import load_graphs
from ming.templates import choose_templates
from ming.checkpoint import load_model
from ming.sample import sample_checkpoint
from ming.domains import generated_domains
from ming.metrics import mol_skeleton_key, skeleton_key
from ming.models.skeleton import is_connected
from cli_helpers import run_cli, clean_error

pytestmark = pytest.mark.usefixtures('one_thread')


@pytest.fixture(scope='module')
def runs(tmp_path_factory):
    "Tiny runs of the skeleton generator, MING on binary coordinates, ModFlow and the graph SDE."
    d = tmp_path_factory.mktemp('domains')
    for name, args in (('sk', ['--model', 'skeleton']), ('mb', ['--model', 'ming', '--options', 'laplacian=binary']),
                       ('mf', ['--model', 'modflow']), ('gs', ['--model', 'graph_sde']),
                       ('mm', ['--model', 'ming', '--options', 'laplacian=binary,mixing=gated'])):
        rc, out, err = run_cli('train', *args, '--preset', 'tiny', '--out', d / name, '--quiet', '--device', 'cpu')
        assert rc == 0, err[-2000:]
    return d


def test_ming_on_generated_domains_through_the_cli(runs, tmp_path):
    "MING (binary Laplacian) samples on generated skeletons; the samples file says so; evaluate reports skeleton, not template, statistics."
    out = tmp_path / 'gen.csv'
    rc, o, e = run_cli('sample', '--ckpt', runs / 'mb' / 'last.ckpt', '--n', 40, '--reps', 2, '--domain', 'generated',
                       '--skeleton-ckpt', runs / 'sk' / 'last.ckpt', '--out', out, '--quiet', '--device', 'cpu')
    assert rc == 0, e[-2000:]
    assert o.count('generated domains') == 2 and 'connected at the first draw' in o
    df = pd.read_csv(out)
    assert len(df) == 80 and set(df['domain']) == {'generated'} and 'template_idx' not in df
    assert df['domain_skeleton'].str.len().gt(0).all()
    rc, o, e = run_cli('evaluate', out, '--dataset', 'qm9', '--protocol', 'strict', '--out', tmp_path / 'ev', '--n-jobs', 1)
    assert rc == 0, e[-2000:]
    rep = json.loads((tmp_path / 'ev' / 'results.json').read_text())
    md = (tmp_path / 'ev' / 'results.md').read_text()
    assert 'Domain novelty' in md and 'Skeleton novelty' in md and 'Template copy' not in md and 'Generated domains' in md
    assert len(rep['reps']) == 2 and all(r['n_domains'] == 40 and 0 <= r['domain_novel'] <= 1 for r in rep['reps'])
    assert 'Data row of Skeleton novelty' in md and rep['data_skeleton_novel'] < 0.01   # QM9's test split: no new skeleton
    assert 'Domain FCD (skeletons as hydrocarbons)' in md and 'Data row of the domain distances' in md
    assert all(r['skeleton_fcd'] > 0 and 0 <= r['cycle_tv'] <= 1 and 0 <= r['degree_tv'] <= 1 for r in rep['reps'])
    assert rep['data_skeleton_distances']['n'] == 40 and rep['data_skeleton_distances']['skeleton_fcd'] > 0


def test_template_domain_is_the_default_and_recorded(runs):
    df = sample_checkpoint(runs / 'mb' / 'last.ckpt', 8, progress=False)
    assert set(df['domain']) == {'template'} and 'template_idx' in df and 'domain_skeleton' not in df


def test_generated_skeletons_connected_with_the_training_atom_counts(runs):
    "1,000 generated domains: connected, symmetric, carbon placeholders, and atom counts distributed as the training split's (chi-square)."
    train = load_graphs('qm9', 'train', progress=False)
    skel, _ = load_model(runs / 'sk' / 'last.ckpt', 'cpu', kind='skeleton')
    rows = choose_templates(len(train), 1000, seed=5, rep=0)
    pool, keys, st = generated_domains(skel, train.n_atoms[rows], 'qm9', torch.Generator().manual_seed(0))
    assert is_connected(pool.bonds, pool.n_atoms).all() and st['n'] == 1000
    assert (pool.bonds == pool.bonds.transpose(0, 2, 1)).all() and (np.einsum('mii->mi', pool.bonds) == 0).all()
    assert keys == [skeleton_key(pool[i][1]) for i in range(len(pool))]
    p = np.bincount(train.n_atoms, minlength=10)[1:] / len(train)                     # training distribution of n = 1..9
    big = p * 1000 >= 5                                                                # chi-square bins with >= 5 expected
    obs = np.bincount(pool.n_atoms, minlength=10)[1:]
    f_obs = np.append(obs[big], obs[~big].sum()); f_exp = np.append(p[big], p[~big].sum()) * 1000
    assert stats.chisquare(f_obs, f_exp).pvalue > 1e-3


@pytest.mark.parametrize('run', ['mf', 'gs'])
def test_labelling_models_keep_generated_skeletons(runs, run):
    "ModFlow and the graph SDE generate atom types only: the bonds they return are the generated domain's, orders included."
    model, _ = load_model(runs / run / 'last.ckpt', 'cpu')
    skel, _ = load_model(runs / 'sk' / 'last.ckpt', 'cpu', kind='skeleton')
    pool, keys, _ = generated_domains(skel, np.array([3, 5, 7, 9] * 4), 'qm9', torch.Generator().manual_seed(1))
    atoms, bonds = model.sample(model.collate(pool, np.arange(16)))
    n = bonds.shape[1]
    assert torch.equal(bonds.cpu().long(), torch.as_tensor(pool.bonds[:, :n, :n]).long())
    assert torch.equal(atoms.cpu() > 0, torch.arange(n)[None] < torch.as_tensor(pool.n_atoms)[:, None].long())
    df = sample_checkpoint(runs / run / 'last.ckpt', 6, domain='generated', skeleton_ckpt=runs / 'sk' / 'last.ckpt', progress=False)
    assert set(df['domain']) == {'generated'} and len(df) == 6 and df['domain_skeleton'].str.len().gt(0).all()


def test_bad_domains_are_refused(runs):
    ck = runs / 'mb' / 'last.ckpt'
    clean_error('sample', '--ckpt', ck, '--domain', 'generated', words=['--skeleton-ckpt'])
    clean_error('sample', '--ckpt', ck, '--domain', 'random', words=["Unknown domain 'random'"])
    clean_error('sample', '--ckpt', ck, '--skeleton-ckpt', runs / 'sk' / 'last.ckpt', words=['only with --domain generated'])
    clean_error('sample', '--ckpt', ck, '--domain', 'generated', '--skeleton-ckpt', ck, '--n', 4, '--quiet',
                words=["holds a 'ming' model", 'skeleton'])
    clean_error('sample', '--ckpt', ck, '--skeleton-options', 'temperature=2', words=['--skeleton-options needs --domain generated'])
    clean_error('sample', '--ckpt', ck, '--domain', 'generated', '--skeleton-ckpt', runs / 'sk' / 'last.ckpt',
                '--skeleton-options', 'temperature=0', '--n', 4, '--quiet', words=['temperature must be positive'])


def test_skeleton_temperature(runs, tmp_path):
    "The generator's temperature is a sampling option: 1 reproduces the trained model's skeletons, 3 changes them (still connected)."
    train = load_graphs('qm9', 'train', progress=False)
    n = train.n_atoms[choose_templates(len(train), 64, seed=3, rep=0)]
    ck = runs / 'sk' / 'last.ckpt'
    pools = [generated_domains(load_model(ck, 'cpu', kind='skeleton', options=o)[0], n, 'qm9', torch.Generator().manual_seed(0))[0]
             for o in ({}, dict(temperature=1.0), dict(temperature=3.0))]
    assert (pools[0].bonds == pools[1].bonds).all() and not (pools[0].bonds == pools[2].bonds).all()
    assert is_connected(pools[2].bonds, pools[2].n_atoms).all()
    out = tmp_path / 'hot.csv'
    rc, o, e = run_cli('sample', '--ckpt', runs / 'mb' / 'last.ckpt', '--n', 8, '--domain', 'generated', '--skeleton-ckpt', ck,
                       '--skeleton-options', 'temperature=1.5', '--out', out, '--quiet', '--device', 'cpu')
    assert rc == 0, e[-2000:]
    assert len(pd.read_csv(out)) == 8 and ' s)' in o


def test_skeleton_feasible(runs, tmp_path):
    "feasible=degree|valence re-draws skeletons with an over-valent atom; the CLI says how many were feasible at first."
    from ming.models.skeleton import over_valent
    train = load_graphs('qm9', 'train', progress=False)
    n = train.n_atoms[choose_templates(len(train), 64, seed=3, rep=0)]
    ck = runs / 'sk' / 'last.ckpt'
    plain = generated_domains(load_model(ck, 'cpu', kind='skeleton')[0], n, 'qm9', torch.Generator().manual_seed(0))[0]
    for f in ('degree', 'valence'):
        m = load_model(ck, 'cpu', kind='skeleton', options=dict(feasible=f))[0]
        pool, _, st = generated_domains(m, n, 'qm9', torch.Generator().manual_seed(0))
        assert st['feasible'] == f and st['infeasible'] == int(over_valent(pool.bonds, f).sum())
        assert st['infeasible'] < int(over_valent(plain.bonds, f).sum()) and st['drawn'] > len(n)   # re-drawing removed some
        assert is_connected(pool.bonds, pool.n_atoms).all()
    out = tmp_path / 'feasible.csv'
    rc, o, e = run_cli('sample', '--ckpt', runs / 'mb' / 'last.ckpt', '--n', 8, '--domain', 'generated', '--skeleton-ckpt', ck,
                       '--skeleton-options', 'feasible=degree,temperature=2', '--out', out, '--quiet', '--device', 'cpu')
    assert rc == 0, e[-2000:]
    assert 'degree-feasible at the first draw' in o and len(pd.read_csv(out)) == 8
    clean_error('sample', '--ckpt', runs / 'mb' / 'last.ckpt', '--domain', 'generated', '--skeleton-ckpt', ck,
                '--skeleton-options', 'feasible=planar', '--n', 4, '--quiet', words=['Unknown feasible'])
    clean_error('sample', '--ckpt', ck, '--options', 'feasible=degree', '--n', 4, '--quiet', words=['use it with --domain generated'])


def test_ming_sample_steps(runs, tmp_path):
    "MING's sample_steps runs fewer reverse steps from the same weights; out of range is refused by name."
    ck = runs / 'mb' / 'last.ckpt'
    m = load_model(ck, 'cpu', options=dict(sample_steps=3))[0]
    c = m.diffusion.chain
    assert len(c) == 4 and c[0] == m.diffusion.T - 1 and c[-1] == 0 and c == sorted(c, reverse=True)
    out = tmp_path / 'short.csv'
    rc, o, e = run_cli('sample', '--ckpt', ck, '--n', 8, '--options', 'sample_steps=3,x0_param=probs', '--out', out, '--quiet', '--device', 'cpu')
    assert rc == 0, e[-2000:]
    assert len(pd.read_csv(out)) == 8
    clean_error('sample', '--ckpt', ck, '--options', 'sample_steps=500', '--n', 4, '--quiet', words=['sample_steps must be between 1 and T-1'])


def test_ming_with_cross_pair_mixing(runs, tmp_path):
    "MING with mixing='gated' (the mean mixer's code path plus gates) trains, keeps the option in its checkpoint, samples on generated domains, and refuses to drop it at sampling."
    ck = runs / 'mm' / 'last.ckpt'
    m = load_model(ck, 'cpu')[0]
    assert m.cfg.inr.mixing == 'gated' and m.net.theta.mix is not None and m.net.psi.mix is None
    assert any(mx.linear.weight.abs().sum() > 0 for mx in m.net.theta.mix)      # the mixers were trained
    assert any(mx.gate.weight.abs().sum() > 0 for mx in m.net.theta.mix)        # and their gates
    out = tmp_path / 'mix.csv'
    rc, o, e = run_cli('sample', '--ckpt', ck, '--n', 12, '--domain', 'generated', '--skeleton-ckpt', runs / 'sk' / 'last.ckpt',
                       '--options', 'x0_param=probs,sample_steps=4', '--out', out, '--quiet', '--device', 'cpu')
    assert rc == 0, e[-2000:]
    df = pd.read_csv(out)
    assert len(df) == 12 and set(df['domain']) == {'generated'}
    clean_error('sample', '--ckpt', ck, '--options', 'mixing=none', '--n', 4, '--quiet', words=['change the trained network'])
    clean_error('train', '--preset', 'tiny', '--options', 'mixing=edge', '--out', tmp_path / 'bad', '--quiet',
                words=["Unknown mixing 'edge'"])


def test_ming_with_aromatic_bonds_on_generated_domains(runs, tmp_path):
    "MING on `qm9-aromatic` (QM9 not kekulized, bond class 4 = aromatic) trains on binary coordinates, samples on the QM9 skeleton generator's domains and is evaluated against QM9; the weighted Laplacian is refused."
    clean_error('train', '--dataset', 'qm9-aromatic', '--preset', 'tiny', '--out', tmp_path / 'bad', '--quiet',
                words=["'qm9-aromatic' keeps aromatic bonds", 'laplacian=binary'])
    rc, o, e = run_cli('train', '--dataset', 'qm9-aromatic', '--preset', 'tiny', '--options', 'laplacian=binary',
                       '--out', tmp_path / 'ar', '--quiet', '--device', 'cpu')
    assert rc == 0, e[-2000:]
    m = load_model(tmp_path / 'ar' / 'last.ckpt', 'cpu')[0]
    assert m.cfg.dataset == 'qm9-aromatic' and m.cfg.inr.C == 9                      # 5 bond classes + 4 atom types
    out = tmp_path / 'ar.csv'
    rc, o, e = run_cli('sample', '--ckpt', tmp_path / 'ar' / 'last.ckpt', '--n', 30, '--domain', 'generated',
                       '--skeleton-ckpt', runs / 'sk' / 'last.ckpt', '--out', out, '--quiet', '--device', 'cpu')
    assert rc == 0, e[-2000:]
    df = pd.read_csv(out, keep_default_na=False)
    assert len(df) == 30 and set(df['domain']) == {'generated'}
    rc, o, e = run_cli('evaluate', out, '--dataset', 'qm9', '--out', tmp_path / 'ev', '--n-jobs', 1)
    assert rc == 0, e[-2000:]
    assert len(json.loads((tmp_path / 'ev' / 'results.json').read_text())['reps']) == 1
