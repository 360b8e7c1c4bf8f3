"""Graph SDE (issue 12): closed-form marginals against simulated paths, locality of the score on QM9 skeletons, the exact
per-atom trace, the two objectives on a toy mixture with a known score, the samplers, a tiny run end to end, and an
interrupted run that resumes exactly."""
import io, math, time
import numpy as np
import pytest
import torch

pytestmark = pytest.mark.usefixtures('one_thread')      # tests/conftest.py


@pytest.fixture(scope='module')
def graphs():
    from ming.graphs import load_graphs
    return load_graphs('qm9', 'train', progress=False)


def _scaled(net, f=2.5):
    "Scale a network's weights up so that every atom's output depends strongly on its neighbours."
    with torch.no_grad():
        for p in net.parameters(): p.mul_(f)
    return net


@pytest.mark.parametrize('kind', ['vp', 've'])
def test_marginals_match_simulated_paths(kind):
    from ming.models.graph_sde.sde import SDEConfig, make_sde, simulate_forward
    sde = make_sde(SDEConfig(kind=kind))
    g = torch.Generator().manual_seed(0)
    M = 20_000
    x0 = torch.tensor([1., 0., 0., 0.], dtype=torch.float64).expand(M, 4)
    for te in (0.05, 0.5, 1.):
        xt = simulate_forward(sde, x0, te, n_steps=500, generator=g)
        a, s = sde.marginal(torch.tensor(te, dtype=torch.float64))
        se = s.item() / math.sqrt(M)
        assert (xt.mean(0) - a * x0[0]).abs().max() < 5 * se + 0.005, (kind, te)
        assert (xt.std(0) / s - 1).abs().max() < 0.025, (kind, te, xt.std(0), s)
        c = torch.corrcoef(xt.T)
        assert (c - torch.eye(4, dtype=c.dtype)).abs().max() < 0.03          # entries diffuse independently


def _distances(b):
    "(N, N) graph distances inside the block-diagonal batch (inf across molecules)."
    N = b.N
    A = torch.zeros(N, N, dtype=torch.bool); A[b.edge_index[0], b.edge_index[1]] = True
    D = torch.full((N, N), math.inf); D.fill_diagonal_(0)
    reach = torch.eye(N, dtype=torch.bool)
    for d in range(1, 10):
        reach_new = reach | ((reach.float() @ A.float()) > 0)
        D[reach_new & ~reach] = d; reach = reach_new
    return D


@pytest.mark.parametrize('radius', [1, 2, 3])
def test_locality_on_qm9_skeletons(graphs, radius):
    "Perturbing atom k changes exactly the outputs of atoms within `radius` bonds of it; all others stay bit-identical."
    from ming.skeletons import collate_skeletons
    from ming.models.graph_sde.score import LocalScoreNet, ScoreConfig
    b = collate_skeletons(graphs, np.arange(500, 516))
    D = _distances(b)
    torch.manual_seed(radius)
    net = _scaled(LocalScoreNet(ScoreConfig(hidden=32, radius=radius)), 1.5)
    x, t = torch.randn(b.N, 4), torch.rand(len(b))[b.batch]
    with torch.no_grad():
        y = net(x, t, b.edge_index, b.bond)
        for k in torch.randperm(b.N)[:25].tolist():
            x2 = x.clone(); x2[k] += torch.randn(4)
            changed = (net(x2, t, b.edge_index, b.bond) != y).any(-1)
            assert torch.equal(changed, D[k] <= radius), (k, changed.nonzero().flatten(), (D[k] <= radius).nonzero().flatten())


@pytest.mark.parametrize('radius', [1, 2])
def test_exact_trace_matches_full_jacobian(graphs, radius):
    from ming.skeletons import collate_skeletons
    from ming.models.graph_sde.score import LocalScoreNet, ScoreConfig, exact_trace
    b = collate_skeletons(graphs, np.arange(700, 706))
    torch.manual_seed(0)
    net = _scaled(LocalScoreNet(ScoreConfig(hidden=16, radius=radius)).double())
    t = torch.rand(len(b), dtype=torch.float64)[b.batch]
    x = torch.randn(b.N, 4, dtype=torch.float64, requires_grad=True)
    _, tr = exact_trace(lambda u, so: net(u, t, b.edge_index, b.bond, so), x, b.edge_index, radius, create_graph=False)
    J = torch.func.jacrev(lambda u: net(u, t, b.edge_index, b.bond))(x.detach())   # (N, A, N, A)
    ref = torch.stack([J[i, :, i, :].trace() for i in range(b.N)])
    full = J.sum((1, 3)).diagonal()                                          # sum over all (b, a): includes cross terms
    assert (J.reshape(b.N * 4, b.N * 4) - torch.block_diag(*[J[i, :, i, :] for i in range(b.N)])).abs().max() > 0.1
    torch.testing.assert_close(tr, ref, atol=1e-10, rtol=1e-10)
    assert not torch.allclose(full, ref)


def test_ism_equals_fisher_divergence_up_to_a_constant():
    "On the toy mixture, J_ISM(θ) − ½ E‖ψ_θ − ∇log p_t‖² = −½ E‖∇log p_t‖² for networks whose J_ISM differ widely."
    from ming.models.graph_sde.sde import SDEConfig, make_sde
    from ming.models.graph_sde.score import LocalScoreNet, ScoreConfig, ToyMixture, toy_objectives
    toy, sde = ToyMixture([(0, 1), (1, 2), (2, 0)], 3, seed=3), make_sde(SDEConfig())
    g, J = torch.Generator().manual_seed(0), []
    for seed in range(4):
        for t in (0.2, 0.6):
            torch.manual_seed(seed)
            net = _scaled(LocalScoreNet(ScoreConfig(n_atom=3, hidden=16)).double(), 1.5 + seed)
            j, fd, c = toy_objectives(net, sde, toy, t, 10_000, g)
            d = j - fd + c
            assert abs(d.mean()) < 4 * d.std() / math.sqrt(len(d)), (seed, t, d.mean().item(), d.std().item())
            J.append(j.mean().item())
    assert max(J) - min(J) > 10


@pytest.mark.parametrize('objective', ['dsm', 'ism'])
def test_learned_toy_score_error_goes_down(objective):
    from ming.models.graph_sde.sde import SDEConfig, make_sde
    from ming.models.graph_sde.score import ToyMixture, train_toy
    toy, sde = ToyMixture([(0, 1), (1, 2), (2, 0)], 3, seed=1), make_sde(SDEConfig())
    _, e0, e1 = train_toy(objective, toy, sde, steps=400, M=64)
    assert e1 < 0.1 * e0, (objective, e0, e1)


@pytest.mark.parametrize('sampler', ['em', 'pc', 'ode'])
def test_samplers_with_an_oracle_on_a_molecule_batch(graphs, sampler):
    """On real skeletons, an oracle score of per-entry Gaussian data N(m_a, s0²) (a = atom type) makes every sampler return
    the data's moments; all molecules are sampled in one block-diagonal batch."""
    from ming.models.graph_sde.model import GraphSDE
    m = GraphSDE(GraphSDE.make_config('tiny', 'qm9'))
    b = m.collate(graphs, np.arange(0, 400))
    mu, s0 = torch.tensor([1., 0., -1., 0.5]), 0.3
    class Oracle(torch.nn.Module):
        cfg = m.net.cfg
        def forward(self, x, t, ei, bond, self_only=False):
            a, s = m.sde.marginal(t[:, None])
            return s * (x - a * mu) / (a**2 * s0**2 + s**2)
    m.net = Oracle()
    states = list(m.sample_steps(b, torch.Generator().manual_seed(0), sampler=sampler, n_steps={'em': 300, 'pc': 100, 'ode': 3}[sampler]))
    x = states[-1].x
    assert (x.mean(0) - mu).abs().max() < 0.03 and (x.std(0) - s0).abs().max() < 0.03, (x.mean(0), x.std(0))


def _tiny_loop(m, graphs, steps, start=0, opt=None, rows_of=None):
    "The hand-written trainer of the tiny preset: Adam, noise seeded by (seed, step), one batch per step."
    tp = type(m).train_presets['tiny']
    opt = opt or torch.optim.Adam(m.parameters(), lr=tp['lr'], weight_decay=tp['weight_decay'])
    losses = []
    for step in range(start, start + steps):
        rows = rows_of(step)
        loss, logs, w = m.loss(m.collate(graphs, rows), m.draw_noise(graphs, rows, torch.Generator().manual_seed(2017 * 100_003 + step)))
        assert torch.isfinite(loss) and w == graphs.n_atoms[rows].sum() and set(logs) >= {'loss', 'dsm'}
        opt.zero_grad(); loss.backward(); opt.step(); losses.append(loss.item())
    return opt, losses


def _rows_of(tp, seed=0):
    "Epoch-wise seeded permutations of the tiny subset, as a function of the global step."
    per = tp['subset'] // tp['batch_size']
    def rows(step):
        perm = np.random.default_rng([seed, step // per]).permutation(tp['subset'])
        k = step % per
        return perm[k * tp['batch_size']:(k + 1) * tp['batch_size']]
    return rows


@pytest.mark.parametrize('objective', ['dsm', 'ism'])
def test_tiny_end_to_end(graphs, objective):
    "tiny preset: train (hand-written loop), sample with the three samplers, decode, evaluate; under 2 minutes."
    from ming.models.graph_sde.model import GraphSDE
    from ming.decode import decode_batch
    from ming.core import get_vocab
    from ming.skeleton_protocol import skeleton_protocol
    from ming.metrics import canonical_list
    t0 = time.time(); torch.manual_seed(0)
    m = GraphSDE(GraphSDE.make_config('tiny', 'qm9', objective=objective))
    tp = GraphSDE.train_presets['tiny']
    steps = tp['epochs'] * tp['subset'] // tp['batch_size']
    _, losses = _tiny_loop(m, graphs, steps, rows_of=_rows_of(tp))
    assert np.mean(losses[-4:]) < np.mean(losses[:4]), losses
    b = m.collate(graphs, np.arange(1000, 1032))
    for sampler, n in (('em', m.cfg.n_steps), ('pc', m.cfg.n_steps), ('ode', m.cfg.ode_steps)):
        states = list(m.sample_steps(b, generator=torch.Generator().manual_seed(0), sampler=sampler))
        assert len(states) == n and all(s.x.shape == (b.N, 4) for s in states)
        atoms, bonds = m.decode(states[-1], b)
        df = decode_batch(atoms, bonds, get_vocab('qm9'))
        assert len(df) == 32 and (df['n_atoms'].values == b.n_atoms.numpy()).all()
        r = skeleton_protocol(df, set(canonical_list(['CCO'])), n_reps=2)
        assert len(r['reps']) == 2 and 0 <= r['summary']['valid']['mean'] <= 1
    lp, bpd = m.log_likelihood(m.collate(graphs, np.arange(8)))
    assert torch.isfinite(lp).all() and (bpd > 0).all()
    assert time.time() - t0 < 120


def test_resumed_run_equals_uninterrupted(graphs):
    """A run stopped after k steps (model, optimiser and step saved to a checkpoint in memory, loaded into fresh objects)
    and resumed ends bit-identical to an uninterrupted run: all the randomness comes from (seed, step)."""
    from ming.models.graph_sde.model import GraphSDE
    tp = GraphSDE.train_presets['tiny']
    rows = _rows_of(tp)
    def fresh():
        torch.manual_seed(0); return GraphSDE(GraphSDE.make_config('tiny', 'qm9', objective='ism'))
    a = fresh(); _tiny_loop(a, graphs, 12, rows_of=rows)
    b = fresh(); opt, _ = _tiny_loop(b, graphs, 5, rows_of=rows)
    buf = io.BytesIO(); torch.save(dict(model=b.state_dict(), opt=opt.state_dict(), step=5, cfg=b.cfg.to_dict()), buf); buf.seek(0)
    ck = torch.load(buf, weights_only=True)
    c = GraphSDE(GraphSDE.config_class.from_dict(ck['cfg'])); c.load_state_dict(ck['model'])
    opt_c = torch.optim.Adam(c.parameters(), lr=tp['lr'], weight_decay=tp['weight_decay']); opt_c.load_state_dict(ck['opt'])
    _tiny_loop(c, graphs, 7, start=ck['step'], opt=opt_c, rows_of=rows)
    for (k, p), q in zip(a.state_dict().items(), c.state_dict().values()): assert torch.equal(p, q), k


def test_checks_and_errors(graphs):
    from ming.core import MingError
    from ming.models.graph_sde.model import GraphSDE
    m = GraphSDE(GraphSDE.make_config('tiny', 'qm9'))
    b = m.collate(graphs, [0, 1])
    with pytest.raises(MingError, match='do not cover'): m.loss(b, dict(t=torch.rand(2), z=torch.randn(2, 1, 4)))
    with pytest.raises(MingError, match='for a batch of 2'): m.loss(b, dict(t=torch.rand(3), z=torch.randn(3, 9, 4)))
    with pytest.raises(MingError, match='no option'): GraphSDE.make_config('qm9', 'qm9', layout='dense')
    with pytest.raises(MingError, match='Unknown graph SDE objective'): GraphSDE.make_config('qm9', 'qm9', objective='sliced')
    with pytest.raises(MingError, match='Unknown SDE kind'): GraphSDE.make_config('qm9', 'qm9', sde='subvp')
    with pytest.raises(MingError, match='n_steps >= 1'): next(m.sample_steps(b, n_steps=0))
    bad = GraphSDE(GraphSDE.make_config('tiny', 'qm9'))
    with torch.no_grad(): bad.net.out[-1].bias.fill_(float('nan'))
    with pytest.raises(MingError, match='non-finite'): bad.sample(b)
    from ming.models.base import model_class
    assert model_class('graph_sde') is GraphSDE


# ---------------------------------------------------------------------------------------------------------------------
# Through the command line (the shared trainer, sampler and evaluator), as tests/test_robustness.py does it for MING
# ---------------------------------------------------------------------------------------------------------------------
import contextlib
import pandas as pd

from cli_helpers import run_cli, clean_error

TINY = ['--model', 'graph_sde', '--preset', 'tiny', '--batch-size', '8', '--val-every', '0', '--val-samples', '8',
        '--log-every', '1', '--quiet', '--device', 'cpu']          # 256 molecules: 32 steps per epoch
STEPS = 40                                                         # the resumed part crosses an epoch boundary


@pytest.fixture(scope='module')
def reference(tmp_path_factory):
    "An uninterrupted `ming train --model graph_sde` of STEPS steps on the tiny preset."
    out = tmp_path_factory.mktemp('gsde') / 'run'
    rc, o, e = run_cli('train', *TINY, '--max-steps', STEPS, '--out', out)
    assert rc == 0, e
    return out


def test_cli_train_sample_evaluate(tmp_path):
    "`ming train --model graph_sde --preset tiny`, `ming sample`, `ming evaluate --protocol gdss`, in under 2 minutes."
    t0 = time.time()
    out = tmp_path / 'run'
    rc, o, e = run_cli('train', '--model', 'graph_sde', '--preset', 'tiny', '--out', out, '--quiet', '--device', 'cpu')
    assert rc == 0 and 'stopped (epochs)' in o, e
    import json
    s = json.loads((out / 'summary.json').read_text())
    assert s['step'] == 16 and s['n_params'] > 1000
    log = pd.read_csv(out / 'train_log.csv')
    assert {'loss', 'dsm', 'lr'} <= set(log.columns) and np.isfinite(log.loss).all()
    rc, o, e = run_cli('sample', '--ckpt', out / 'last.ckpt', '--n', 64, '--out', tmp_path / 's.csv', '--quiet', '--device', 'cpu')
    assert rc == 0, e
    df = pd.read_csv(tmp_path / 's.csv')
    assert len(df) == 64 and {'smiles', 'strict_smiles', 'template_idx'} <= set(df.columns)
    rc, o, e = run_cli('evaluate', tmp_path / 's.csv', '--dataset', 'qm9', '--protocol', 'gdss', '--n-jobs', 1, '--out', tmp_path / 'ev')
    assert rc == 0, e
    res = json.loads((tmp_path / 'ev' / 'results.json').read_text())
    assert res and 'Template copy' in (tmp_path / 'ev' / 'results.md').read_text()
    assert time.time() - t0 < 120


def test_cli_resume_equals_uninterrupted(tmp_path, reference):
    "Stop after 5 steps (--max-steps), resume to STEPS: the logged losses and the final weights are bit-identical."
    from ming.checkpoint import load_checkpoint
    out = tmp_path / 'run'
    rc, o, e = run_cli('train', *TINY, '--max-steps', 5, '--out', out)
    assert rc == 0, e
    rc, o, e = run_cli('train', *TINY, '--max-steps', STEPS, '--out', out, '--resume')
    assert rc == 0 and f'stopped (max_steps) after {STEPS} steps' in o, e
    a, b = pd.read_csv(reference / 'train_log.csv'), pd.read_csv(out / 'train_log.csv')
    assert b.step.tolist() == list(range(1, STEPS + 1))
    for col in ('loss', 'dsm', 'lr'): np.testing.assert_array_equal(b[col], a[col], err_msg=col)
    wa, wb = load_checkpoint(reference / 'last.ckpt'), load_checkpoint(out / 'last.ckpt')
    assert wa['kind'] == wb['kind'] == 'graph_sde'
    for key in wa['model']: torch.testing.assert_close(wb['model'][key], wa['model'][key], rtol=0, atol=0)


def test_non_finite_loss_stops_with_the_last_good_checkpoint(tmp_path, monkeypatch):
    "The loss turns NaN at step 6: exit 2, the message names the step, last.ckpt of step 4 (ckpt_every=4) is kept."
    from ming.models.graph_sde.model import GraphSDE
    from ming.checkpoint import load_checkpoint
    real_loss, calls = GraphSDE.loss, []
    def loss(self, *a, **kw):
        calls.append(1); l, logs, w = real_loss(self, *a, **kw)
        return (l * float('nan'), {**logs, 'loss': l.detach() * float('nan')}, w) if len(calls) == 6 else (l, logs, w)
    monkeypatch.setattr(GraphSDE, 'loss', loss)
    out = tmp_path / 'run'
    msg = clean_error('train', *TINY, '--max-steps', 20, '--out', out, words=['the loss is nan at step 6'])
    assert f"The last good checkpoint {out / 'last.ckpt'} is kept" in msg
    ck = load_checkpoint(out / 'last.ckpt')
    assert ck['step'] == 4 and all(torch.isfinite(v).all() for v in ck['model'].values())


def test_checkpoint_of_another_model_is_refused(tmp_path, reference):
    "A graph-SDE run resumed as MING, and a graph-SDE checkpoint labelled as another kind: one clear paragraph each."
    ck = torch.load(reference / 'last.ckpt', weights_only=True)
    run = tmp_path / 'run'; run.mkdir()
    (run / 'last.ckpt').write_bytes((reference / 'last.ckpt').read_bytes())
    clean_error('train', '--preset', 'tiny', '--quiet', '--device', 'cpu', '--max-steps', 50, '--out', run, '--resume',
                words=["holds a 'graph_sde' model", '--model graph_sde'])
    torch.save({**ck, 'kind': 'modflow'}, tmp_path / 'kind.ckpt')
    clean_error('sample', '--ckpt', tmp_path / 'kind.ckpt', '--n', 2, '--out', tmp_path / 's.csv', '--quiet', '--device', 'cpu',
                words=['does not match'])
