"""bench/average_weights.py: the averaged checkpoint holds the tensor-wise mean of its sources' weights and moving
averages, samples, and refuses sources of another architecture."""
import importlib.util
from pathlib import Path
import pytest, torch
from ming.core import MingError
from ming.checkpoint import load_checkpoint
from cli_helpers import run_cli

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location('average_weights', ROOT / 'bench' / 'average_weights.py')
aw = importlib.util.module_from_spec(spec); spec.loader.exec_module(aw)
TINY = ['--preset', 'tiny', '--ema', '0.9', '--batch-size', '8', '--val-every', '0', '--val-samples', '8', '--quiet', '--device', 'cpu']
pytestmark = pytest.mark.usefixtures('one_thread')      # tests/conftest.py


@pytest.fixture(scope='module')
def runs(tmp_path_factory):
    "Warm restarts of one tiny checkpoint with other seeds (one in the packed layout), and a run of another width."
    d = tmp_path_factory.mktemp('soup')
    for name, extra in [('a', []), ('b', ['--init', d / 'a' / 'last.ckpt', '--seed', '2018']),
                        ('c', ['--init', d / 'a' / 'last.ckpt', '--seed', '2019']), ('w', ['--hidden', '16']),
                        ('p', ['--init', d / 'a' / 'last.ckpt', '--seed', '2020', '--layout', 'packed'])]:
        rc, o, e = run_cli('train', *TINY, '--max-steps', 3, '--out', d / name, *extra)
        assert rc == 0, e
    return d


def test_average_is_the_mean_and_samples(runs):
    paths = [runs / 'b' / 'last.ckpt', runs / 'c' / 'last.ckpt']
    out = runs / 'soup.ckpt'
    torch.save(aw.average_checkpoints(paths), out)
    ck, (b, c) = load_checkpoint(out), [load_checkpoint(p) for p in paths]
    for part in ('model', 'ema'):
        k = [k for k, v in b[part].items() if v.is_floating_point() and not torch.equal(v, c[part][k])][0]  # trained: differ
        assert torch.allclose(ck[part][k], (b[part][k] + c[part][k]) / 2)
    assert ck['averaged_from'] == [str(p) for p in paths]
    rc, o, e = run_cli('sample', '--ckpt', out, '--n', 4, '--out', runs / 's.csv', '--quiet', '--device', 'cpu')
    assert rc == 0, e
    # a checkpoint averaged with itself is itself
    same = aw.average_checkpoints([paths[0], paths[0]])
    assert all(torch.equal(same['model'][k], b['model'][k]) for k in b['model'])
    # the layout and the sampler's options leave the weights alone, so they do not refuse
    assert len(aw.average_checkpoints([paths[0], runs / 'p' / 'last.ckpt'])['averaged_from']) == 2


def test_refuses_other_architecture(runs):
    with pytest.raises(MingError, match='architecture'):
        aw.average_checkpoints([runs / 'a' / 'last.ckpt', runs / 'w' / 'last.ckpt'])
    with pytest.raises(MingError, match='at least two'):
        aw.average_checkpoints([runs / 'a' / 'last.ckpt'])
