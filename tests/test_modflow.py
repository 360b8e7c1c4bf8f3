"ModFlow: exact traces, parameter count, invertibility, batched = per-graph solves, a tiny run end to end."
import os, time
import numpy as np
import pytest
import torch

SLOW = 'slow' in os.environ.get('MING_TEST_FLAGS', '').split()

@pytest.fixture(scope='module')
def graphs():
    from ming.graphs import load_graphs
    return load_graphs('qm9', 'train', progress=False)

@pytest.fixture(scope='module')
def batch(graphs):
    from ming.skeletons import collate_skeletons, depiction_coords
    sub = graphs[np.arange(200, 206)]
    return collate_skeletons(sub, np.arange(6), depiction_coords(sub, cache=False))

@pytest.mark.parametrize('net', ['egnn2d', 'gcn', 'rbf'])
@pytest.mark.parametrize('how', ['tangents', 'vjp-batched', 'vjp-loop'])
def test_exact_trace_matches_full_jacobian(one_thread, batch, net, how):
    from ming.models.modflow.networks import make_network
    from ming.models.modflow.flow import dynamics_and_traces, brute_force_traces, colouring
    torch.manual_seed(0)
    f = make_network(net, 4)
    z = torch.randn(batch.N, 4)
    col = None if f.split_self else colouring(batch, f.hops)
    dz, tr = dynamics_and_traces(f, 0.25, z, batch, col, batched=how == 'vjp-batched', tangents=how == 'tangents')
    ref = brute_force_traces(f, 0.25, z, batch)
    assert ref.abs().max() > 1e-3                       # a non-trivial Jacobian
    torch.testing.assert_close(tr, ref, atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(dz, f(0.25, z, batch))

def test_parameter_count():
    from ming.models.modflow.model import ModFlow
    from ming.models.modflow.networks import n_params
    m = ModFlow(ModFlow.make_config('qm9', 'qm9'))
    assert n_params(m.flow.net) == 7748                 # paper: ≈ 7.7 K
    assert abs(n_params(m.flow.net) / 7700 - 1) < 0.01

def _trained_like(seed=0):
    "A qm9-preset model with random weights scaled up, so that the flow moves the states a lot."
    from ming.models.modflow.model import ModFlow
    torch.manual_seed(seed)
    m = ModFlow(ModFlow.make_config('qm9', 'qm9'))
    with torch.no_grad():
        for p in m.flow.net.parameters(): p.mul_(2.)
    return m

def test_batched_solve_equals_per_graph_solves(one_thread, graphs):
    from ming.models.modflow.flow import encode, smooth_labels
    m, rows = _trained_like(), np.arange(300, 316)
    b = m.collate(graphs, rows)
    x = smooth_labels(b.atoms, 4, torch.rand(b.N, 4, generator=torch.Generator().manual_seed(0)))
    with torch.no_grad():
        z0, logp = encode(m.flow, x, b, **m.solver)
        moved = (z0 - x).abs().max()
        for k, r in enumerate(rows):
            bk, sel = m.collate(graphs, [r]), b.batch == k
            z0k, logpk = encode(m.flow, x[sel], bk, **m.solver)
            torch.testing.assert_close(z0k, z0[sel], atol=5e-5, rtol=5e-5)
            torch.testing.assert_close(logpk, logp[sel], atol=5e-5, rtol=5e-5)
    assert moved > 0.1

def test_edge_terms_once_per_solve_change_nothing(one_thread, batch):
    "The EGNN's per-solve edge terms and split first layer give the layer as written (phi_e on the concatenation)."
    import torch.nn.functional as F
    from ming.models.modflow.networks import make_network, node_input, scatter_sum, bond_order
    from ming.models.modflow.flow import egnn_traces, NodeODE
    torch.manual_seed(1)
    f, z = make_network('egnn2d', 4), torch.randn(batch.N, 4)
    j, i = batch.edge_index
    h = f.embed_in(node_input(0.3, z)); d2 = ((batch.pos[i] - batch.pos[j]) ** 2).sum(1, keepdim=True)
    m = f.phi_e(torch.cat([h[i], h[j], d2, bond_order(batch.bond)], 1))
    ref = f.embed_out(h + f.phi_h(torch.cat([h, scatter_sum(m, i, batch.N)], 1)))
    pre = f.prepare(batch)
    for out in (f(0.3, z, batch), f(0.3, z, batch, pre=pre), egnn_traces(f, 0.3, z, batch, pre)[0]):
        torch.testing.assert_close(out, ref, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(egnn_traces(f, 0.3, z, batch, pre)[1], egnn_traces(f, 0.3, z, batch)[1])
    for name in ('gcn', 'rbf'):                            # the other networks' constants too
        g = make_network(name, 4)
        torch.testing.assert_close(g(0.3, z, batch, pre=g.prepare(batch)), g(0.3, z, batch))
    flow = NodeODE(f).setup(batch)
    torch.testing.assert_close(flow.pre, pre)

def test_training_only_tolerances(one_thread, graphs):
    "qm9-cpu-fast trains at 1e-3 but samples, reconstructs and scores likelihoods at the released 1e-5."
    from ming.models.modflow.model import ModFlow
    m = ModFlow(ModFlow.make_config('qm9-cpu-fast', 'qm9'))
    assert (m.train_solver['atol'], m.train_solver['rtol'], m.solver['atol'], m.solver['rtol']) == (1e-3, 1e-3, 1e-5, 1e-5)
    rows = np.arange(40, 48); b = m.collate(graphs, rows); noise = m.draw_noise(graphs, rows, torch.Generator().manual_seed(0))
    loss, logs, _ = m.loss(b, noise); nfe_train = logs['nfe'].item()
    with torch.no_grad(): _, logs, _ = m.loss(b, noise)
    assert nfe_train < logs['nfe'].item()                # the gradient-free solve is the tighter one
    assert ModFlow(ModFlow.make_config('qm9', 'qm9')).train_solver == ModFlow(ModFlow.make_config('qm9', 'qm9')).solver

def test_egnn3d_option(one_thread, graphs):
    "net='egnn3d': RDKit 3D coordinates, a training step and a sample on a few molecules."
    from ming.models.modflow.model import ModFlow
    torch.manual_seed(0)
    m, rows = ModFlow(ModFlow.make_config('tiny', 'qm9', net='egnn3d')), np.arange(10, 16)
    b = m.collate(graphs, rows)
    assert b.pos.shape == (b.N, 3) and b.pos[:, 2].abs().max() > 0.1   # really 3D (QM9 molecules are not flat)
    loss, _, _ = m.loss(b, m.draw_noise(graphs, rows, torch.Generator().manual_seed(0)))
    loss.backward()
    assert torch.isfinite(loss) and m.flow.net.embed_in.weight.grad.abs().sum() > 0
    atoms, bonds = m.sample(b)
    assert atoms.shape == (len(rows), int(b.n_atoms.max())) and (atoms[atoms > 0] <= 4).all()

@pytest.mark.parametrize('n', [1000 if SLOW else 64])
def test_reconstruction(one_thread, graphs, n):
    "Encode smoothed labels to z(0) and generate back: every molecule's labels return (1,000 with MING_TEST_FLAGS=slow)."
    m = _trained_like(1)
    rows = np.random.default_rng(0).choice(len(graphs), n, replace=False)
    ok = torch.cat([m.reconstruct(m.collate(graphs, rows[k:k + 250]), torch.Generator().manual_seed(k)) for k in range(0, n, 250)])
    assert ok.all(), f'{int((~ok).sum())} of {n} molecules not reconstructed'

def test_tiny_end_to_end(one_thread, graphs):
    "tiny preset: a hand-written loop (collate → draw_noise → loss → backward → Adam), sample, decode, skeleton protocol."
    from ming.models.modflow.model import ModFlow
    from ming.decode import decode_batch
    from ming.core import get_vocab
    from ming.skeleton_protocol import skeleton_protocol
    from ming.metrics import canonical_list
    t0 = time.time(); torch.manual_seed(0)
    m = ModFlow(ModFlow.make_config('tiny', 'qm9'))
    tp = ModFlow.train_presets['tiny']
    opt = torch.optim.Adam(m.parameters(), lr=tp['lr'], weight_decay=tp['weight_decay'])
    rng, pool, losses, step = np.random.default_rng(0), np.arange(tp['subset']), [], 0
    for epoch in range(tp['epochs']):
        perm = rng.permutation(pool)
        for i in range(0, len(perm), tp['batch_size']):
            rows = perm[i:i + tp['batch_size']]
            loss, logs, w = m.loss(m.collate(graphs, rows), m.draw_noise(graphs, rows, torch.Generator().manual_seed(step)))
            opt.zero_grad(); loss.backward(); opt.step(); losses.append(loss.item()); step += 1
            assert torch.isfinite(loss) and w == graphs.n_atoms[rows].sum()
    assert np.mean(losses[-4:]) < np.mean(losses[:4])
    b = m.collate(graphs, np.arange(1000, 1032))
    states = list(m.sample_steps(b, generator=torch.Generator().manual_seed(0)))
    assert len(states) == m.cfg.frames and all(s.z.shape == (b.N, 4) for s in states)
    atoms, bonds = m.decode(states[-1], b)
    df = decode_batch(atoms, bonds, get_vocab('qm9'))
    assert len(df) == 32 and (df['n_atoms'].values == b.n_atoms.numpy()).all()
    train = set(c for c in canonical_list(['CCO']) if c)
    r = skeleton_protocol(df, train, n_reps=2)
    assert len(r['reps']) == 2 and 0 <= r['summary']['valid']['mean'] <= 1
    assert time.time() - t0 < 120

def test_checks_and_errors(graphs):
    from ming.core import MingError
    from ming.models.modflow.model import ModFlow
    m = ModFlow(ModFlow.make_config('tiny', 'qm9'))
    b = m.collate(graphs, [0, 1])
    with pytest.raises(MingError, match='do not cover'): m.loss(b, dict(u=torch.rand(1, 9, 4)))
    with pytest.raises(MingError, match='no option'): ModFlow.make_config('qm9', 'qm9', layout='dense')
    with pytest.raises(MingError, match="Unknown smoothing"): ModFlow.make_config('qm9', 'qm9', smoothing='gumbel')


# ---------------------------------------------------------------------------------------------------------------------
# Through the CLI (ming train / sample / evaluate), and robustness as tests/test_robustness.py checks it for MING
# ---------------------------------------------------------------------------------------------------------------------
import contextlib, io
import pandas as pd

from cli_helpers import run_cli, clean_error

TINY = ['--model', 'modflow', '--preset', 'tiny', '--batch-size', '16', '--val-every', '0', '--val-samples', '8',
        '--log-every', '1', '--quiet', '--device', 'cpu']          # 256 molecules: 16 steps per epoch


@pytest.fixture(scope='module')
def reference(tmp_path_factory):
    "An uninterrupted tiny run of 20 steps (crossing an epoch boundary)."
    out = tmp_path_factory.mktemp('modflow') / 'ref'
    rc, o, e = run_cli('train', *TINY, '--max-steps', 20, '--out', out)
    assert rc == 0, e
    return out


def test_cli_train_sample_evaluate(one_thread, tmp_path, reference):
    "`ming train --model modflow --preset tiny`, `ming sample`, `ming evaluate --protocol gdss`."
    log = pd.read_csv(reference / 'train_log.csv')
    assert {'loss', 'T', 'nfe'} <= set(log.columns) and log.step.tolist() == list(range(1, 21))
    rc, o, e = run_cli('sample', '--ckpt', reference / 'last.ckpt', '--n', 64, '--out', tmp_path / 's.csv', '--quiet', '--device', 'cpu')
    assert rc == 0, e
    df = pd.read_csv(tmp_path / 's.csv')
    assert len(df) == 64 and {'smiles', 'strict_smiles', 'template_idx'} <= set(df.columns)
    rc, o, e = run_cli('evaluate', tmp_path / 's.csv', '--dataset', 'qm9', '--protocol', 'gdss', '--out', tmp_path / 'ev')
    assert rc == 0, e


def test_resume_is_exact(one_thread, tmp_path, reference):
    "A run stopped at step 6 and resumed to 20 logs the same losses and ends with the same weights as an uninterrupted one."
    import torch
    out = tmp_path / 'run'
    assert run_cli('train', *TINY, '--max-steps', 6, '--out', out)[0] == 0
    rc, o, e = run_cli('train', *TINY, '--max-steps', 20, '--out', out, '--resume')
    assert rc == 0, e
    a, b = pd.read_csv(reference / 'train_log.csv'), pd.read_csv(out / 'train_log.csv')
    assert b.step.tolist() == list(range(1, 21))
    for col in ('loss', 'T', 'nfe'): np.testing.assert_array_equal(b[col], a[col], err_msg=col)
    wa, wb = (torch.load(r / 'last.ckpt', weights_only=True)['model'] for r in (reference, out))
    for k in wa: torch.testing.assert_close(wb[k], wa[k], rtol=0, atol=0)


def test_nan_loss_stops_with_the_last_good_checkpoint(one_thread, tmp_path, monkeypatch):
    "The loss turns NaN at step 6: exit 2, the step named, last.ckpt (step 4) kept and finite."
    import torch
    from ming.models.modflow.model import ModFlow
    real, calls = ModFlow.loss, []
    def loss(self, *a, **kw):
        calls.append(1); l, logs, w = real(self, *a, **kw)
        return (l * float('nan'), {**logs, 'loss': l.detach() * float('nan')}, w) if len(calls) == 6 else (l, logs, w)
    monkeypatch.setattr(ModFlow, 'loss', loss)
    out = tmp_path / 'run'
    clean_error('train', *TINY, '--max-steps', 20, '--out', out, words=['the loss is nan at step 6', str(out / 'last.ckpt')])
    ck = torch.load(out / 'last.ckpt', weights_only=True)
    assert ck['step'] == 4 and all(torch.isfinite(v).all() for v in ck['model'].values())


def test_other_kinds_of_checkpoint_are_refused(one_thread, tmp_path, reference):
    "A MING checkpoint given to ModFlow (resume), and MING weights labelled as ModFlow (sample): a clear message each."
    import torch
    ming_run = tmp_path / 'ming'
    rc, o, e = run_cli('train', '--model', 'ming', '--preset', 'tiny', '--max-steps', 1, '--val-every', '0', '--val-samples', 4,
                       '--quiet', '--device', 'cpu', '--out', ming_run)
    assert rc == 0, e
    run = tmp_path / 'run'; run.mkdir()
    (run / 'last.ckpt').write_bytes((ming_run / 'last.ckpt').read_bytes())
    clean_error('train', *TINY, '--max-steps', 4, '--out', run, '--resume', words=["holds a 'ming' model, not a ModFlow model"])
    ck = torch.load(ming_run / 'last.ckpt', weights_only=True)
    mf = torch.load(reference / 'last.ckpt', weights_only=True)
    torch.save({**mf, 'model': ck['model']}, tmp_path / 'mixed.ckpt')
    clean_error('sample', '--ckpt', tmp_path / 'mixed.ckpt', '--n', 2, '--out', tmp_path / 's.csv', '--quiet', '--device', 'cpu',
                words=['does not match'])


def test_options_hutchinson_gcn_rbf_paper_adjoint(one_thread, graphs):
    "Every option trains a step: Hutchinson trace (its probe drawn with the noise), GCN, RBF, paper smoothing, adjoint."
    from ming.models.modflow.model import ModFlow
    for opts in (dict(trace='hutchinson'), dict(net='gcn'), dict(net='rbf'), dict(smoothing='paper'), dict(adjoint=True),
                 dict(exact_by='vjp')):
        torch.manual_seed(0)
        m = ModFlow(ModFlow.make_config('tiny', 'qm9', **opts))
        rows = np.arange(8)
        noise = m.draw_noise(graphs, rows, torch.Generator().manual_seed(0))
        assert ('eps' in noise) == (opts.get('trace') == 'hutchinson')
        loss, logs, w = m.loss(m.collate(graphs, rows), noise)
        loss.backward()
        assert torch.isfinite(loss) and m.flow.sqrt_T.grad is not None and m.flow.sqrt_T.grad.abs() > 0, opts


def test_adjoint_gradients_match_direct(one_thread, graphs):
    "The adjoint method gives the direct backpropagation's gradients to solver tolerance."
    from ming.models.modflow.model import ModFlow
    grads = []
    for adjoint in (False, True):
        torch.manual_seed(0)
        m = ModFlow(ModFlow.make_config('qm9', 'qm9', adjoint=adjoint))
        rows = np.arange(4)
        loss = m.loss(m.collate(graphs, rows), m.draw_noise(graphs, rows, torch.Generator().manual_seed(0)))[0]
        loss.backward(); grads.append({n: p.grad for n, p in m.named_parameters()})
    direct, adj = grads
    for n, g in direct.items():                       # EGNN's coordinate MLP gets no gradient (None, or zeros by the adjoint)
        if g is None: assert 'phi_x' in n and (adj[n] is None or adj[n].abs().max() == 0), n
        else: torch.testing.assert_close(adj[n], g, atol=1e-3, rtol=1e-3, msg=n)
