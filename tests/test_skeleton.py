"""The skeleton diffusion (nbs/50_skeleton.ipynb): the tiny preset through `ming train` and `ming sample`, exact resume,
the reverse posterior against brute-force Bayes, and `generate_skeletons`' connected graphs of the requested sizes."""
import numpy as np, pandas as pd, pytest, torch
import torch.nn.functional as F

from ming.train import Trainer, train_config, train
from ming.checkpoint import load_checkpoint, load_model
from ming.models.base import model_class
from ming.models.skeleton import (SkeletonDiffusion, SkeletonConfig, alpha_bars, transition, posterior_probs,
                                  generate_skeletons, is_connected, skeleton_batch)
from ming.core import MingError
from cli_helpers import run_cli

pytestmark = pytest.mark.usefixtures('one_thread')


def test_tiny_end_to_end_through_the_cli(tmp_path):
    "`ming train --model skeleton --preset tiny`, then `ming sample`: carbon skeletons with the templates' atom counts."
    run, s = tmp_path / 'run', tmp_path / 's.csv'
    rc, out, err = run_cli('train', '--model', 'skeleton', '--preset', 'tiny', '--out', run, '--quiet', '--device', 'cpu')
    assert rc == 0, err[-2000:]
    ck = load_checkpoint(run / 'last.ckpt')
    assert ck['kind'] == 'skeleton' and len(ck['model_cfg']['marginal']) == 4 and model_class('skeleton') is SkeletonDiffusion
    rc, out, err = run_cli('sample', '--ckpt', run / 'last.ckpt', '--n', 16, '--out', s, '--quiet', '--device', 'cpu')
    assert rc == 0, err[-2000:]
    df = pd.read_csv(s)
    assert len(df) == 16 and df.n_atoms.between(1, 9).all()
    assert all(set(str(x)) <= set('Cc()=#123456789[]H+-.') for x in df.smiles.dropna())      # carbon only
    model, _ = load_model(run / 'last.ckpt', 'cpu', options=dict(T=5))                      # a coarser chain, same weights
    assert model.cfg.T == 5 and len(list(model.sample_steps(skeleton_batch([3, 4])))) == 5
    # the packed layout samples the dense-trained checkpoint: the same skeletons from the same seed
    rc, out, err = run_cli('sample', '--ckpt', run / 'last.ckpt', '--n', 16, '--out', tmp_path / 'p.csv', '--quiet', '--device', 'cpu',
                           '--options', 'layout=packed')
    assert rc == 0, err[-2000:]
    assert pd.read_csv(tmp_path / 'p.csv').smiles.tolist() == df.smiles.tolist()
    with pytest.raises(MingError, match=r"options layout=bogus for .*last.ckpt: Unknown layout='bogus'"):   # the option's fault, not the checkpoint's
        load_model(run / 'last.ckpt', 'cpu', options=dict(layout='bogus'))


def test_resume_is_exact(tmp_path):
    "A tiny run stopped after 5 steps and resumed has the losses of an uninterrupted one, bit for bit."
    kw = dict(max_steps=10, val_every=0, epochs=100)
    full = train(train_config('tiny', 'skeleton', **kw), tmp_path / 'a')
    class Stop(Trainer):
        def _stop_reason(self): return 'max_steps' if self.step >= 5 else None
    t = Stop(train_config('tiny', 'skeleton', **kw), tmp_path / 'b'); t.fit()
    rest = train(train_config('tiny', 'skeleton', **kw), tmp_path / 'b', resume=True)
    assert [h['loss'] for h in full.history] == [h['loss'] for h in t.history + rest.history]


@pytest.mark.parametrize('t', [1, 2, 9, 20])
def test_posterior_matches_brute_force_bayes(t):
    "The reverse step equals sum_a p0[a] q(e_{t-1} | e_t, e_0=a), each q enumerated from explicit one-step products."
    T, m = 20, torch.tensor([0.6, 0.25, 0.1, 0.05], dtype=torch.float64)
    ab = alpha_bars(T); Qs = [transition(ab[s] / ab[s - 1], m) for s in range(1, T + 1)]
    Qprev = torch.eye(4, dtype=torch.float64)
    for Q in Qs[:t - 1]: Qprev = Qprev @ Q
    g = torch.Generator().manual_seed(t)
    for b in range(4):
        p0 = torch.rand(4, generator=g, dtype=torch.float64); p0 /= p0.sum()
        want = torch.zeros(4, dtype=torch.float64)
        for a in range(4):
            joint = torch.stack([Qprev[a, c] * Qs[t - 1][c, b] for c in range(4)])
            want += p0[a] * joint / joint.sum()
        got = posterior_probs(p0, torch.tensor(b), Qs[t - 1], transition(ab[t - 1], m), transition(ab[t], m))
        assert torch.allclose(got, want, atol=1e-10)
    assert torch.allclose(m @ Qs[t - 1], m, atol=1e-12)                   # the marginal is stationary


def test_generate_skeletons_connected_with_the_requested_sizes():
    "Connected, symmetric skeletons with the requested atom counts (single atoms included), nothing on the padding."
    torch.manual_seed(0)
    model = SkeletonDiffusion(SkeletonConfig(marginal=(0.73, 0.23, 0.03, 0.01), hidden=8, layers=1, T=4)).eval()
    n = np.random.default_rng(0).integers(1, 10, 50)
    bonds, st = generate_skeletons(model, n, torch.Generator().manual_seed(0), max_rounds=2, batch_size=16)
    assert bonds.shape == (50, 9, 9) and bonds.dtype == np.int8 and (bonds == bonds.transpose(0, 2, 1)).all()
    assert is_connected(bonds, n).all() and (np.diagonal(bonds, axis1=1, axis2=2) == 0).all()
    real = np.arange(9)[None] < n[:, None]
    assert not bonds[~(real[:, :, None] & real[:, None, :])].any()
    assert ((bonds != 0).any(2) == real)[n > 1].all()                     # every real atom of a larger graph has a bond
    assert st['drawn'] == 50 + sum(st['resampled']) and 0 <= st['valence_excess'] <= 1 and st['repaired'] >= 0
    with pytest.raises(Exception, match='atom counts in 1..9'): generate_skeletons(model, [0, 3])
