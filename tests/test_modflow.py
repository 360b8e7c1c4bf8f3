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
    with pytest.raises(MingError, match='does not cover'): m.loss(b, dict(u=torch.rand(1, 9, 4)))
    with pytest.raises(MingError, match='no option'): ModFlow.make_config('qm9', 'qm9', layout='dense')
    with pytest.raises(MingError, match="Unknown smoothing"): ModFlow.make_config('qm9', 'qm9', smoothing='gumbel')
