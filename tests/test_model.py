"Tests of the MING model pieces together: TwinINR, E-step, losses, diffusion, sampler, MingModel (CPU, tiny sizes)."
from types import SimpleNamespace
import dataclasses
import pytest, torch
import torch.nn.functional as F
from hypothesis import given, settings, strategies as st

from ming.core import MingError
from ming.models.ming.inr import TwinINR, ModulatedSiren, inr_config, n_params
from ming.models.ming.em import EMConfig, infer_latents, make_input, ming_losses
from ming.models.ming.diffusion import Diffusion, DiffusionConfig
from ming.models.ming.model import ming_sample_steps, ming_sample, MingModel, MingConfig, ming_config, dense_pairs, Pairs
from ming.models.ming.testing import synthetic, Oracle


pytestmark = pytest.mark.usefixtures('one_thread')      # tests/conftest.py


def test_param_counts():
    assert n_params(TwinINR(inr_config('qm9'))) == 1_836_048
    assert n_params(TwinINR(inr_config('zinc250k'))) == 26_432
    assert n_params(TwinINR(inr_config('moses'))) == 251_928
    m = MingModel(ming_config('qm9'))
    assert n_params(m) == 1_836_048                      # the diffusion adds no parameters


def test_permutation_equivariance():
    "Relabelling the atoms permutes latents and outputs and leaves the losses unchanged."
    torch.manual_seed(0)
    b = synthetic(sizes=(5,))
    tw = TwinINR(inr_config('tiny'))
    y_t = 0.7 * b.y0 + 0.5 * torch.randn_like(b.y0)
    p = torch.tensor([3, 0, 4, 1, 2])
    P = lambda a: a[:, p][:, :, p]
    s = make_input(b.x, 0.4, b.mask)
    z, zp = infer_latents(tw.psi, s, y_t, b.mask), infer_latents(tw.psi, P(s), P(y_t), P(b.mask))
    torch.testing.assert_close(zp, P(z))
    l1, _ = ming_losses(tw, b.x, 0.4, b.y0, y_t, b.mask)
    l2, _ = ming_losses(tw, P(b.x), 0.4, P(b.y0), P(y_t), P(b.mask))
    torch.testing.assert_close(l1, l2)


def _upper(b):
    "Indices of the real upper-triangle pairs (diagonal included) and their dense-equivalent weights (2 off-diagonal)."
    n = b.mask.shape[-1]
    up = b.mask & torch.ones(n, n, dtype=torch.bool).triu()
    w = torch.where(torch.eye(n, dtype=torch.bool), 1., 2.).expand_as(up)[up]
    return up, w


def test_packed_upper_triangle_matches_dense():
    "On symmetric inputs, the packed upper triangle with weight 2 off the diagonal gives the dense losses."
    torch.manual_seed(1)
    b = synthetic()
    tw = TwinINR(inr_config('tiny'))
    e = torch.randn_like(b.y0); e = torch.where(torch.ones(5, 5, dtype=torch.bool).triu()[..., None], e, e.transpose(1, 2))
    y_t = (0.8 * b.y0 + 0.6 * e) * b.mask[..., None]         # symmetric noisy state
    t = torch.tensor([0.1, 0.5, 0.9])
    dense, dl = ming_losses(tw, b.x, t[:, None, None], b.y0, y_t, b.mask)
    up, w = _upper(b)
    # the E-step is per pair, so the packed latents use weight 1; the M-step means use the dense-equivalent weights
    s = make_input(b.x, t[:, None, None], b.mask)
    zd = infer_latents(tw.psi, s, y_t, b.mask)
    zp = infer_latents(tw.psi, s[up], y_t[up], torch.ones(len(w)))
    torch.testing.assert_close(zp, zd[up])
    from ming.models.ming.em import masked_ce, masked_mse
    torch.testing.assert_close(masked_ce(tw.theta(s[up], zp), b.y0[up], w), dl['ce'])
    torch.testing.assert_close(masked_mse(tw.psi(s[up], zp), y_t[up], w), dl['mse'])


def test_packed_sampler_matches_dense():
    "Without noise, the dense symmetrised chain and a packed upper-triangle chain agree at every step."
    torch.manual_seed(2)
    b = synthetic()
    tw = TwinINR(inr_config('tiny'))
    d = Diffusion(DiffusionConfig(T=6))
    y = torch.randn(3, 5, 5, 8); y = (y + y.transpose(1, 2)) / 2 * b.mask[..., None]
    up, _ = _upper(b)
    dense = [s.y for s in ming_sample_steps(tw, dense_pairs(b.x, b.mask), d, y=y, eta=0.)]
    rows = Pairs(b.x[up], torch.ones(int(up.sum()), dtype=torch.bool), packed=True)   # rows: nothing to symmetrise, weight 1
    packed = [s.y for s in ming_sample_steps(tw, rows, d, y=y[up], eta=0.)]
    assert len(dense) == len(packed) == 5
    for a, p in zip(dense, packed): torch.testing.assert_close(a[up], p, rtol=1e-4, atol=1e-5)


@settings(max_examples=10, deadline=None)
@given(bs=st.integers(1, 3), n=st.integers(1, 5), seed=st.integers(0, 1000))
def test_latents_are_per_pair(bs, n, seed):
    "Changing one pair's inputs changes only that pair's latent (no regulariser or the per-pair one)."
    g = torch.Generator().manual_seed(seed)
    psi = ModulatedSiren(4, 3, 8, 5, 3)
    s, y = torch.randn(bs, n, n, 4, generator=g), torch.randn(bs, n, n, 5, generator=g)
    mask = torch.ones(bs, n, n, dtype=torch.bool)
    i = tuple(torch.randint(0, m, (1,), generator=g).item() for m in (bs, n, n))
    for reg_z, reg in ((0., 'frobenius'), (1., 'pair_l2')):
        z = infer_latents(psi, s, y, mask, reg_z=reg_z, reg=reg)
        y2 = y.clone(); y2[i] += 3.
        changed = ((infer_latents(psi, s, y2, mask, reg_z=reg_z, reg=reg) - z).abs().amax(-1) > 0).nonzero().tolist()
        assert changed in ([list(i)], [])                     # [] only if the step happens to be unchanged


def test_model_oracle_end_to_end():
    "MingModel.sample_steps with an oracle θ ends at the true classes (checks the posterior chain end to end)."
    b = synthetic()
    model = MingModel(dataclasses.replace(ming_config('qm9'), inr=inr_config('tiny')))   # T = 100, the released schedule; small ψ
    model.net.theta = Oracle(10. * b.y0)
    states = list(model.sample_steps(b, generator=torch.Generator().manual_seed(0)))
    assert [s.t for s in states] == list(range(99, 0, -1))
    y = states[-1].y
    assert torch.equal(y.argmax(-1)[b.mask], b.y0.argmax(-1)[b.mask])
    assert torch.equal(y, y.transpose(1, 2)) and y[~b.mask].abs().sum() == 0


def test_model_trains_and_roundtrips(tmp_path):
    "A few steps lower the loss on a fixed batch; a checkpoint (config dict + state_dict) rebuilds the same model."
    torch.manual_seed(0)
    b = synthetic()
    model = MingModel(ming_config('tiny'))
    opt = torch.optim.AdamW(model.parameters(), lr=1e-2)
    fixed = lambda m: m.loss(b, generator=torch.Generator().manual_seed(0))[0].item()
    l0 = fixed(model)
    for i in range(20):
        opt.zero_grad(); model.loss(b)[0].backward(); opt.step()
    assert fixed(model) < l0
    torch.save({'config': model.cfg.to_dict(), 'model': model.state_dict()}, tmp_path / 'm.ckpt')
    ck = torch.load(tmp_path / 'm.ckpt', weights_only=True)
    m2 = MingModel(MingConfig.from_dict(ck['config'])); m2.load_state_dict(ck['model'])
    assert fixed(m2) == fixed(model)
    g = lambda: torch.Generator().manual_seed(5)
    torch.testing.assert_close(ming_sample(m2.net, dense_pairs(b.x, b.mask), m2.diffusion, generator=g()),
                               ming_sample(model.net, dense_pairs(b.x, b.mask), model.diffusion, generator=g()))


def test_errors():
    b = synthetic()
    model = MingModel(ming_config('tiny'))
    with pytest.raises(MingError, match='spectral channels'): model.loss(SimpleNamespace(x=b.x[..., :3], y0=b.y0, mask=b.mask))
    with pytest.raises(MingError, match='T >= 2'):
        ming_sample(model.net, dense_pairs(b.x, b.mask), Diffusion(DiffusionConfig(T=1)))
    with pytest.raises(MingError, match='regulariser'):
        infer_latents(model.net.psi, make_input(b.x, 0.5, b.mask), b.y0, b.mask, reg_z=1., reg='l1')


def test_chain_follows_marginal_means():
    "Oracle θ = y0, start at the mean of q(y_{T-1}|y0), no noise: the chain ends at sqrt(ab_0) y0 (coefficients + indexing)."
    b = synthetic()
    for T in (10, 100):
        d = Diffusion(DiffusionConfig(T=T))
        tw = TwinINR(inr_config('tiny')); tw.theta = Oracle(b.y0)
        y = ming_sample(tw, dense_pairs(b.x, b.mask), d, y=d.sqrt_ab[-1] * b.y0, eta=0.)
        torch.testing.assert_close(y, d.sqrt_ab[0] * b.y0, rtol=1e-5, atol=1e-5)


def test_ce_targets_and_value():
    "A perfect θ has ~0 CE, a uniform θ has log C; the MSE of ψ = y_t is 0."
    from ming.models.ming.em import masked_ce, masked_mse
    b = synthetic()
    assert masked_ce(20. * b.y0, b.y0, b.mask) < 1e-6
    torch.testing.assert_close(masked_ce(torch.zeros_like(b.y0), b.y0, b.mask), torch.tensor(8.).log())
    assert masked_ce(20. * (1 - b.y0), b.y0, b.mask) > 10
    assert masked_mse(b.y0, b.y0, b.mask) == 0
