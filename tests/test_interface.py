"""The model interface: MING's training losses are bit-identical to those recorded before the interface existed; a format-1
checkpoint still loads; a trivial second model goes through train, sample, evaluate and the papermill notebook."""
import json, subprocess, sys, os
from pathlib import Path
import numpy as np, pandas as pd, pytest, torch

from ming.train import Trainer, train_config, train
from ming.checkpoint import load_checkpoint, load_model
from ming.sample import sample_checkpoint
from ming.models.base import MODELS, model_class
from ming.cli import main

DATA = Path(__file__).parent / 'data'
pytestmark = pytest.mark.usefixtures('one_thread')      # tests/conftest.py: the recorded losses were taken on one thread


@pytest.mark.parametrize('preset', ['tiny', 'qm9-cpu'])
def test_ming_losses_bit_identical_to_before_the_interface(tmp_path, preset):
    "The first 50 losses (and their ce/mse parts) of two MING presets equal the values recorded before the refactor, bit for bit."
    rec = json.loads((DATA / 'ming_losses_before_interface.json').read_text())[preset]
    cfg = train_config(preset, max_steps=50, val_every=0, progress=False, **rec['overrides'])
    t = Trainer(cfg, tmp_path); t.fit()
    for k, v in rec['logs'].items():
        assert [h[k] for h in t.history] == v, k


def test_format1_checkpoint_loads_and_resumes(tmp_path):
    "A checkpoint written by the code before the interface (format 1) samples, and resumes into a run of format 2."
    old = DATA / 'ming_tiny_format1.ckpt'
    assert torch.load(old, weights_only=True)['format'] == 1
    model, tcfg = load_model(old, 'cpu')
    assert model.kind == 'ming' and tcfg['preset'] == 'tiny' and tcfg['options'] == {}
    run = tmp_path / 'run'; run.mkdir(); (run / 'last.ckpt').write_bytes(old.read_bytes())
    assert main(['train', '--preset', 'tiny', '--out', str(run), '--resume', '--max-steps', '8', '--quiet', '--device', 'cpu']) == 0
    ck = load_checkpoint(run / 'last.ckpt')
    assert ck['format'] == 2 and ck['step'] == 8 and ck['kind'] == 'ming'


def test_registry_kinds():
    for kind in ('ming', 'template_copy'): assert model_class(kind).kind == kind


def test_second_model_end_to_end(tmp_path):
    "template_copy through train, sample and evaluate: every sample is its template (valid, 100 % template copy)."
    run, s = tmp_path / 'run', tmp_path / 's.csv'
    assert main(['train', '--model', 'template_copy', '--preset', 'tiny', '--out', str(run), '--quiet', '--device', 'cpu']) == 0
    ck = load_checkpoint(run / 'best.ckpt'); assert ck['kind'] == 'template_copy'
    assert main(['sample', '--ckpt', str(run / 'last.ckpt'), '--n', '40', '--out', str(s), '--quiet', '--device', 'cpu']) == 0
    df = pd.read_csv(s)
    assert len(df) == 40 and df.valid_wo_corr.all()
    assert main(['evaluate', str(s), '--dataset', 'qm9', '--protocol', 'gdss', '--out', str(tmp_path / 'ev'), '--n-jobs', '1']) == 0
    report = ' '.join(p.read_text() for p in (tmp_path / 'ev').glob('*.md'))
    assert 'template copy' in report.lower(), report
    # a template_copy checkpoint is refused where a MING run is resumed, with the kind named
    run2 = tmp_path / 'run2'; run2.mkdir(); (run2 / 'last.ckpt').write_bytes((run / 'last.ckpt').read_bytes())
    assert main(['train', '--preset', 'tiny', '--out', str(run2), '--resume', '--max-steps', '20', '--quiet']) == 2
    with pytest.raises(Exception, match="holds a 'template_copy' model, not a MING model"): load_model(run / 'last.ckpt', 'cpu', kind='ming')


def test_warmup_cosine_ema_resume_exactly(tmp_path):
    "With warm-up, cosine decay and weight averaging on, a run stopped and resumed equals an uninterrupted one (losses, lr, EMA)."
    kw = dict(schedule='cosine', warmup=3, max_steps=12, ema=0.9, val_every=0, epochs=100)
    full = train(train_config('tiny', **kw), tmp_path / 'a')
    # stop after 5 steps without changing the config (a smaller --max-steps would change the cosine horizon)
    class Stop(Trainer):
        def _stop_reason(self): return 'max_steps' if self.step >= 5 else None
    t = Stop(train_config('tiny', **kw), tmp_path / 'd'); t.fit()
    rest = train(train_config('tiny', **kw), tmp_path / 'd', resume=True)
    la = [h['loss'] for h in full.history]; lb = [h['loss'] for h in t.history + rest.history]
    assert len(lb) == 12 and la == lb
    log_a, log_d = pd.read_csv(tmp_path / 'a' / 'train_log.csv'), pd.read_csv(tmp_path / 'd' / 'train_log.csv')
    assert log_a.lr.tolist() == log_d.lr.tolist() and log_a.lr.iloc[0] < log_a.lr.max()     # warm-up, then decay
    for k, v in full.ema.items(): assert torch.equal(v, rest.ema[k]), k
    model, _ = load_model(tmp_path / 'a' / 'last.ckpt', 'cpu')                              # sampling uses the average
    assert torch.equal(model.state_dict()['net.theta.out.weight'], full.ema['net.theta.out.weight'])
    assert not torch.equal(full.ema['net.theta.out.weight'], full.model.state_dict()['net.theta.out.weight'])


def test_model_options_on_the_command_line(tmp_path):
    "`--options key=value` reaches the model at training (the graph SDE's objective) and at sampling (its sampler)."
    run, s = tmp_path / 'run', tmp_path / 's.csv'
    assert main(['train', '--model', 'graph_sde', '--preset', 'tiny', '--max-steps', '3', '--out', str(run), '--quiet',
                 '--options', 'objective=ism']) == 0
    assert load_checkpoint(run / 'last.ckpt')['model_cfg']['objective'] == 'ism'
    assert main(['sample', '--ckpt', str(run / 'last.ckpt'), '--n', '8', '--out', str(s), '--quiet',
                 '--options', 'sampler=ode']) == 0
    model, _ = load_model(run / 'last.ckpt', 'cpu', options=dict(sampler='ode'))
    assert model.cfg.sampler == 'ode' and load_model(run / 'last.ckpt', 'cpu')[0].cfg.sampler != 'ode'
    assert main(['sample', '--ckpt', str(run / 'last.ckpt'), '--n', '8', '--out', str(s), '--options', 'colour=red']) == 2
    assert main(['train', '--preset', 'tiny', '--out', str(tmp_path / 'x'), '--options', 'objective']) == 2


def test_ming_sampling_options(tmp_path):
    "MING's `x0_param` can be set when sampling (it reaches the nested diffusion config); options that change the network cannot."
    run, s = tmp_path / 'run', tmp_path / 's.csv'
    assert main(['train', '--preset', 'tiny', '--max-steps', '2', '--out', str(run), '--quiet', '--device', 'cpu']) == 0
    model, _ = load_model(run / 'last.ckpt', 'cpu', options=dict(x0_param='probs'))
    assert model.cfg.diffusion.x0_param == 'probs' and load_model(run / 'last.ckpt', 'cpu')[0].cfg.diffusion.x0_param == 'logits'
    assert main(['sample', '--ckpt', str(run / 'last.ckpt'), '--n', '4', '--out', str(s), '--quiet', '--options', 'x0_param=probs']) == 0
    assert len(pd.read_csv(s)) == 4
    assert main(['sample', '--ckpt', str(run / 'last.ckpt'), '--n', '4', '--out', str(s), '--quiet', '--options', 'hidden=8']) == 2
    assert main(['sample', '--ckpt', str(run / 'last.ckpt'), '--n', '4', '--out', str(s), '--quiet', '--options', 'x0_param=mean']) == 2
