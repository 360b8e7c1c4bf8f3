"Property checks of `ming.spectral` and `ming.models.ming.pairs` on random graphs (fast, CPU)."
import numpy as np, torch, pytest
from ming.core import get_vocab
from ming.spectral import laplacian, spectral_features, pair_coords, spectral_coords, spectral_config, node_mask
from ming.models.ming.pairs import encode_y0, decode_y, pair_mask, Batch, pack_pairs, unpack

def random_graphs(bs, N, seed, max_order=3, n_min=2):
    "Random connected dense graphs: a random tree plus a few extra edges, bond orders 1..max_order, sizes n_min..N."
    rng = np.random.default_rng(seed)
    B = np.zeros((bs, N, N), np.int64); n = rng.integers(n_min, N + 1, bs)
    for b in range(bs):
        for i in range(1, n[b]):
            j = rng.integers(0, i); B[b, i, j] = B[b, j, i] = rng.integers(1, max_order + 1)
        for _ in range(rng.integers(0, 3)):
            i, j = rng.choice(n[b], 2, replace=False); B[b, i, j] = B[b, j, i] = rng.integers(1, max_order + 1)
    return torch.as_tensor(B), torch.as_tensor(n)

@pytest.mark.parametrize('weighted', [True, False])
@pytest.mark.parametrize('seed', [0, 1, 2])
def test_identity_and_scaling(seed, weighted):
    B, n = random_graphs(64, 13, seed)
    phi, ev = spectral_features(B, n, k=12, weighted=weighted)          # full basis: N - 1
    x = pair_coords(phi)
    Lrec = (x * ev[:, None, None]).sum(-1) / n[:, None, None]
    pm = pair_mask(node_mask(n, 13))
    assert torch.allclose(Lrec, laplacian(B, n, weighted) * pm, atol=1e-10)
    W = B.double() if weighted else (B > 0).double()
    off = ~torch.eye(13, dtype=torch.bool)
    assert torch.allclose(-Lrec * off, W, atol=1e-10)
    real = ev > 0
    rms = (phi.pow(2).sum(1) / n[:, None]).sqrt()
    assert torch.allclose(rms[real], torch.ones(int(real.sum()), dtype=rms.dtype), atol=1e-10)
    assert (real.sum(-1) == n - 1).all()

def test_sign_and_crop():
    B, n = random_graphs(32, 11, 5)
    phi, _ = spectral_features(B, n, k=6)
    flip = torch.randint(0, 2, (32, 1, 6)).double() * 2 - 1
    assert torch.equal(pair_coords(phi * flip), pair_coords(phi))
    x = spectral_coords(B, n, spectral_config('tiny', k=6))
    assert x.shape == (32, int(n.max()), int(n.max()), 6) and x.dtype == torch.float32

@pytest.mark.parametrize('vocab', ['qm9', 'moses'])
def test_encode_decode_pack_roundtrip(vocab):
    v = get_vocab(vocab); N = 10
    B, n = random_graphs(16, N, 7, max_order=3)
    nm = node_mask(n, N)
    atoms = torch.randint(1, v.n_atom + 1, (16, N)) * nm
    y0 = encode_y0(atoms, B, v)
    m = pair_mask(nm)
    a2, b2 = decode_y(y0, m, v)
    assert torch.equal(a2, atoms) and torch.equal(b2, B)
    x = spectral_coords(B, n, spectral_config('tiny', k=5), n=N)
    bt = Batch(x, y0, m, nm, n, torch.arange(16))
    for tri in (True, False):
        pk = pack_pairs(bt, triangle=tri)
        assert torch.equal(unpack(pk.y0, pk), y0) and torch.equal(unpack(pk.x, pk), x)

def test_binary_coordinates_carry_no_bond_orders():
    "The weighted read-out W = -(1/n)<λ, x> recovers bond orders from weighted coordinates and only the adjacency from binary ones."
    B, n = random_graphs(64, 12, 7, max_order=3)
    multiple = (B > 1).flatten(1).any(-1)                                  # graphs with a double or triple bond
    assert multiple.sum() > 30
    off = ~torch.eye(12, dtype=torch.bool)
    def read_out(weighted):
        phi, ev = spectral_features(B, n, k=11, weighted=weighted)        # full basis
        return (-(pair_coords(phi) * ev[:, None, None]).sum(-1) / n[:, None, None]).round() * off
    assert torch.equal(read_out(True), B.double())                        # weighted: the bond orders come back
    Wb = read_out(False)
    assert torch.equal(Wb, (B > 0).double())                              # binary: the adjacency only
    assert not (Wb == B).flatten(1).all(-1)[multiple].any()               # no graph with a multiple bond is recovered
