"""Speed benchmark of MING: packed pairs (`MingConfig.layout='packed'`) against the dense reference formulation.

Usage: python bench/bench_speed.py [--quick] [--threads 1] [--reps 3] [--configs qm9 zinc250k moses] [--no-memory]
       [--out runs/bench_speed.json]

For the QM9, ZINC250k and MOSES configurations (released networks, E-step, T and batch sizes), measured side by side in
one run, alternating dense and packed, several repetitions, median:
* training-step throughput (molecules/s): E-step + loss + backward + AdamW step on one batch;
* sampling throughput (molecules/s for the full reverse chain of T-1 updates): every update costs the same, so a few
  updates of one sampler batch (256 molecules, not the reference's 2,000-5,000) are timed, extrapolated to T-1
  updates and divided by the batch's molecules;
* peak memory of one training step: peak RSS (VmHWM of /proc/self/status; `ru_maxrss` would count the parent's RSS
  inherited at fork) of a fresh subprocess that loads the batch, builds the model and runs one step (tracemalloc does
  not see torch's allocations), with glibc returning large blocks to the system on free (see `peak_memory`);
* the achieved FLOP rate of a training step: matmul FLOPs counted with torch's FLOP formulas (those of
  `torch.utils.flop_counter.FlopCounterMode`, applied to every aten op of a step on 4 molecules, then scaled by the
  number of network rows: every matmul has one row per pair; forward, E-step gradients and backward; element-wise work
  is not counted) divided by the step time, against the
  rate of a dense 2048^3 matmul (1024^3 in bf16) and of a matmul shaped like the configuration's hidden layers
  (rows x H x H), both timed by torch in the same run at the same precision; and the share of the step's time spent in
  matmul kernels (torch.profiler), which bounds that ratio;
* bf16 autocast against fp32 (packed layout, a small batch: bf16 is slow on CPUs without native bf16 instructions).

Times: wall-clock and CPU time of this process (`time.process_time`). The machine may be shared; with --threads 1
(default) the CPU time is the time the work takes on one dedicated core, so the ratios and rates are computed from
CPU time; the wall times and the load average are printed with them.

Allocator: glibc maps every block above its mmap threshold (at most 32 MB) afresh and unmaps it on free, so a step
whose activations exceed 32 MB (the dense layout's, at these batch sizes) spends much of its time in page faults
(system time): 10 s of the 15 s of a dense ZINC250k step at 256 molecules. By default the timings therefore run with
glibc told to serve everything from a heap it never trims (MALLOC_MMAP_MAX_=0, MALLOC_TRIM_THRESHOLD_ huge; the bench
re-executes itself with them), which is fair to the dense formulation; --allocator default measures glibc as it comes.

Data: QM9 and MOSES batches are real training molecules (QM9 from the graphs cache; MOSES from a seeded sample of the
MOSES training file, featurised here). The ZINC250k csv is not available offline, so the ZINC250k configuration runs on
synthetic molecules with ZINC250k's size distribution (heavy atoms ~ N(23.2, 4.5) clipped to 6..38) and random
symmetric coordinates and labels: the cost depends only on the shapes. MOSES's dense step at its released batch size
(1,024) needs more memory than this machine has, so throughput compares the layouts at 256 molecules, and the dense
peak memory at 1,024 is extrapolated linearly from 128 and 256 molecules (the packed one is measured).
"""
import argparse, os, sys, time, json, subprocess, tempfile, statistics, dataclasses
os.environ.setdefault('OMP_NUM_THREADS', '1')
import numpy as np
import torch
import torch.nn.functional as F

CONFIGS = {  # preset: (dataset of the vocabulary, train batch, sampler batch)
    'qm9': ('qm9', 256, 256), 'zinc250k': ('zinc250k', 256, 256), 'moses': ('moses', 256, 256)}
QUICK = {'qm9': (32, 32), 'zinc250k': (32, 32), 'moses': (32, 32)}
TARGET = {'qm9': 1.7, 'zinc250k': 4.0}


def status_mb(key):
    "A memory line of /proc/self/status in MB: 'VmRSS' (now) or 'VmHWM' (peak of this process image)."
    with open('/proc/self/status') as f: return next(int(l.split()[1]) for l in f if l.startswith(key + ':')) / 1024


def avail_gb():
    with open('/proc/meminfo') as f:
        return next(int(l.split()[1]) for l in f if l.startswith('MemAvailable')) / 2**20


# ---------------------------------------------------------------- data
_POOLS = {}

def template_pool(preset, n, seed=0):
    "A pool of `n` template molecules for `preset` (cached in this process): (MolGraphs or None, description)."
    if (preset, n) not in _POOLS: _POOLS[preset, n] = _template_pool(preset, n, seed)
    return _POOLS[preset, n]

def _template_pool(preset, n, seed=0):
    "A pool of `n` template molecules for `preset`: (MolGraphs or None, description)."
    from ming.graphs import load_graphs, featurise
    from ming.data import read_smiles
    if preset == 'qm9':
        g = load_graphs('qm9', 'train', progress=False)
        return g[np.sort(np.random.default_rng(seed).choice(len(g), min(n, len(g)), replace=False))], 'QM9 train molecules'
    if preset == 'moses':
        smi = read_smiles('moses', 'train')
        rows = np.sort(np.random.default_rng(seed).choice(len(smi), n, replace=False))
        g, _ = featurise([smi[i] for i in rows], 'moses', index=rows, procs=1, progress=False)
        return g, f'MOSES train molecules (seeded sample of {n:,}, featurised here)'
    return None, 'synthetic molecules with ZINC250k sizes'


def synthetic_batch(sizes, k, C, E=4, seed=0):
    "A dense Batch of random symmetric molecules-as-functions with the given atom counts (for the ZINC250k shapes)."
    from ming.models.ming.pairs import Batch
    g = torch.Generator().manual_seed(seed)
    bs, n = len(sizes), int(max(sizes))
    node = torch.arange(n)[None] < torch.as_tensor(sizes)[:, None]
    mask = node[:, :, None] & node[:, None, :]
    phi = torch.randn(bs, n, k, generator=g) * node[..., None]
    b = torch.triu(torch.randint(0, E, (bs, n, n), generator=g), 1); b = b + b.transpose(1, 2)
    cls = torch.where(torch.eye(n, dtype=torch.bool), torch.randint(E, C, (bs, n, n), generator=g), b)
    return Batch(x=phi[:, :, None] * phi[:, None, :], y0=F.one_hot(cls, C).float() * mask[..., None], mask=mask,
                 node_mask=node, n_atoms=node.sum(1), idx=torch.arange(bs))


def make_batches(preset, pool, bs, count, seed=0):
    "`count` batches of `bs` molecules for `preset`."
    from ming.models.ming.pairs import collate
    from ming.spectral import spectral_config
    from ming.models.ming.model import ming_config
    cfg, rng = ming_config(preset), np.random.default_rng(seed)
    if pool is None:
        out = []
        for r in range(count):
            sizes = np.clip(np.rint(rng.normal(23.2, 4.5, bs)), 6, 38).astype(int)
            out.append(synthetic_batch(sizes, cfg.inr.k, cfg.inr.C, seed=seed + r))
        return out
    return [collate(pool, rng.choice(len(pool), bs, replace=False), spectral_config(cfg.dataset)) for _ in range(count)]


# ---------------------------------------------------------------- measurements
def models(preset):
    "The released configuration in both layouts, with the same weights."
    from ming.models.ming.model import MingModel, ming_config
    torch.manual_seed(0)
    md, mp = MingModel(ming_config(preset)), MingModel(ming_config(preset, layout='packed'))
    mp.load_state_dict(md.state_dict())
    return {'dense': md, 'packed': mp}


def train_step(model, opt, batch, precision='fp32'):
    ctx = torch.autocast('cpu', dtype=torch.bfloat16) if precision == 'bf16' else torch.autocast('cpu', enabled=False)
    with ctx: loss, _ = model.loss(batch)
    opt.zero_grad(set_to_none=True); loss.backward(); opt.step()


def timed(fn):
    "(wall s, CPU s) of fn()."
    w, c = time.perf_counter(), time.process_time(); fn()
    return time.perf_counter() - w, time.process_time() - c


def bench_train(ms, batches, reps, precision='fp32'):
    "Median (wall, cpu) seconds per training step for each model, alternating models within each repetition."
    opts = {k: torch.optim.AdamW(m.parameters(), lr=1e-6) for k, m in ms.items()}
    for k, m in ms.items(): train_step(m, opts[k], batches[0], precision)          # warm-up
    res = {k: [] for k in ms}
    for r in range(reps):
        for k in (list(ms) if r % 2 == 0 else list(ms)[::-1]):
            res[k].append(timed(lambda: train_step(ms[k], opts[k], batches[r % len(batches)], precision)))
    return {k: tuple(statistics.median(x[i] for x in v) for i in (0, 1)) for k, v in res.items()}


def bench_sample(ms, batch, reps, steps):
    "Median (wall, cpu) seconds per reverse-chain update for each model (after one warm-up update)."
    res = {k: [] for k in ms}
    for r in range(reps):
        for k in (list(ms) if r % 2 == 0 else list(ms)[::-1]):
            it = ms[k].sample_steps(batch, generator=torch.Generator().manual_seed(r)); next(it)
            w, c = timed(lambda: [next(it) for _ in range(steps)])
            res[k].append((w / steps, c / steps))
    return {k: tuple(statistics.median(x[i] for x in v) for i in (0, 1)) for k, v in res.items()}


def step_flops(model, batch):
    "Matmul FLOPs of one training step (forward, E-step gradients, backward), by torch's FLOP formulas."
    from torch.utils._python_dispatch import TorchDispatchMode
    from torch.utils.flop_counter import FlopCounterMode
    registry = FlopCounterMode(display=False).flop_registry   # (FlopCounterMode itself trips on autograd.grad's hooks)
    class Count(TorchDispatchMode):
        flops = 0
        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            out = func(*args, **(kwargs or {}))
            f = registry.get(func._overloadpacket)
            if f: Count.flops += f(*args, **(kwargs or {}), out_val=out)
            return out
    with Count():
        loss, _ = model.loss(batch); loss.backward()
    model.zero_grad(set_to_none=True)
    return Count.flops


def matmul_rate(m, k, n, dtype, reps=5):
    "FLOP/s (by CPU time) of an (m,k) x (k,n) matmul in `dtype`, median of `reps`."
    a, b = torch.randn(m, k).to(dtype), torch.randn(k, n).to(dtype)
    a @ b
    return 2 * m * k * n / statistics.median(timed(lambda: a @ b)[1] for _ in range(reps))


def matmul_share(model, batch):
    "Share of a training step's CPU time spent in matmul kernels (torch.profiler, self time)."
    from torch.profiler import profile, ProfilerActivity
    opt = torch.optim.AdamW(model.parameters(), lr=1e-6)
    with profile(activities=[ProfilerActivity.CPU]) as prof: train_step(model, opt, batch)
    ev = prof.key_averages()
    tot = sum(e.self_cpu_time_total for e in ev)
    mm = sum(e.self_cpu_time_total for e in ev if e.key in ('aten::mm', 'aten::addmm', 'aten::bmm', 'aten::_mkl_linear'))
    return mm / tot


def pairs(batch):
    "(dense cells, packed rows) per molecule."
    n = batch.n_atoms.double()
    return batch.mask.shape[1] ** 2, float((n * (n + 1) / 2).mean())


# ---------------------------------------------------------------- memory (fresh subprocess per measurement)
def child_memory(path):
    "Run in a subprocess: load a saved batch, build the model, run one training step, print peak RSS as JSON."
    from ming.models.ming.pairs import Batch
    from ming.models.ming.model import MingModel, ming_config
    spec = torch.load(path, weights_only=False)
    torch.set_num_threads(spec['threads'])
    batch = Batch(**spec['batch'])
    model = MingModel(ming_config(spec['preset'], layout=spec['layout']))
    opt = torch.optim.AdamW(model.parameters())
    base, t0 = status_mb('VmRSS'), os.times()
    train_step(model, opt, batch)
    t1 = os.times()
    print(json.dumps(dict(base_mb=base, peak_mb=status_mb('VmHWM'),   # ru_maxrss would include the parent's RSS at fork
                          user_s=t1.user - t0.user, sys_s=t1.system - t0.system)))


ALLOCATORS = {  # glibc malloc settings, read at process start
    'default': {},                                              # glibc's defaults
    'tuned': {'MALLOC_MMAP_MAX_': '0', 'MALLOC_TRIM_THRESHOLD_': str(2**40)},   # heap only, never trimmed
    'mmap>64KB': {'MALLOC_MMAP_THRESHOLD_': str(64 * 1024)},    # every block > 64 KB mapped, unmapped on free
}

def allocator_env(name):
    "os.environ with the glibc malloc settings of allocator `name` (and no other MALLOC_ variables)."
    env = {k: v for k, v in os.environ.items() if not k.startswith('MALLOC_')}
    return dict(env, **ALLOCATORS[name])


def peak_memory(preset, layout, batch, threads, allocator='mmap>64KB'):
    """Peak RSS and RSS before the step (MB) of one training step in a fresh process. With 'mmap>64KB' glibc maps every
    block over 64 KB and unmaps it on free, so RSS follows torch's live tensors; 'default' and 'tuned' are what a
    training run gets with those settings (freed heap memory stays resident)."""
    with tempfile.TemporaryDirectory() as d:
        p = os.path.join(d, 'spec.pt')
        torch.save(dict(preset=preset, layout=layout, threads=threads, batch=dataclasses.asdict(batch)), p)
        out = subprocess.run([sys.executable, __file__, '--child-memory', p], capture_output=True, text=True,
                             env=allocator_env(allocator))
    if out.returncode: return dict(error=(out.stderr.strip().splitlines() or ['killed'])[-1][:200], rc=out.returncode)
    return json.loads(out.stdout.strip().splitlines()[-1])


# ---------------------------------------------------------------- main
def fmt_table(rows, cols):
    "A plain-text table of dict rows."
    w = {c: max(len(c), *(len(str(r.get(c, ''))) for r in rows)) for c in cols}
    line = lambda vals: '  '.join(str(v).rjust(w[c]) for c, v in zip(cols, vals))
    return '\n'.join([line(cols), line(['-' * w[c] for c in cols])] + [line([r.get(c, '') for c in cols]) for r in rows])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--quick', action='store_true', help='small batches, fewer updates: a few minutes')
    ap.add_argument('--threads', type=int, default=1, help='torch threads (default 1: CPU time = one dedicated core)')
    ap.add_argument('--reps', type=int, default=None, help='repetitions (default 3, quick 2)')
    ap.add_argument('--configs', nargs='+', default=list(CONFIGS), choices=list(CONFIGS))
    ap.add_argument('--no-memory', action='store_true', help='skip the peak-memory subprocesses')
    ap.add_argument('--out', default='runs/bench_speed.json')
    ap.add_argument('--child-memory', default=None, help=argparse.SUPPRESS)
    ap.add_argument('--allocator', default='tuned', choices=['tuned', 'default'],
                    help="glibc malloc for the timings: 'tuned' (default; no mmap, no trimming) or glibc's 'default'")
    a = ap.parse_args()
    if a.child_memory: return child_memory(a.child_memory)
    if os.environ.get('MING_BENCH_ALLOCATOR') != a.allocator:     # glibc reads its settings at start: re-exec once
        os.execve(sys.executable, [sys.executable, *sys.argv], dict(allocator_env(a.allocator), MING_BENCH_ALLOCATOR=a.allocator))
    torch.set_num_threads(a.threads)
    reps, steps = a.reps or (2 if a.quick else 3), (1 if a.quick else 2)
    npool = 2048 if a.quick else 4096
    flags = open('/proc/cpuinfo').read()
    bf16_hw = [f for f in ('avx512_bf16', 'amx_bf16', 'avx_vnni') if f in flags]
    print(f'bench_speed: torch {torch.__version__}, {torch.get_num_threads()} thread(s), {os.cpu_count()} cpus, CPU capability '
          f"{torch.backends.cpu.get_cpu_capability()}, bf16 instructions {bf16_hw or 'none'}, load average "
          f"{os.getloadavg()[0]:.1f}, {'quick' if a.quick else 'full'}, {reps} reps, median, malloc {a.allocator} "
          f"{ALLOCATORS[a.allocator] or '(glibc defaults)'}", flush=True)
    t_start = time.time()
    mm32 = matmul_rate(2048, 2048, 2048, torch.float32)
    mm16 = matmul_rate(*(512,) * 3 if a.quick else (1024,) * 3, torch.bfloat16, reps=3)
    print(f'dense matmul rate (CPU time, {a.threads} thread): fp32 2048^3 {mm32 / 1e9:.1f} GFLOP/s; '
          f'bf16 {512 if a.quick else 1024}^3 {mm16 / 1e9:.2f} GFLOP/s', flush=True)
    rows, res = [], dict(threads=a.threads, quick=a.quick, reps=reps, matmul_fp32=mm32, matmul_bf16=mm16, configs={})
    # memory first: with the 'tuned' allocator this process keeps the heap of the dense steps it runs later
    if not a.no_memory:
        mrows = []
        big = 256 if a.quick else 1024
        plan = [(p, lay, (64 if a.quick else CONFIGS[p][1]), 'mmap>64KB') for p in a.configs for lay in ('dense', 'packed')]
        if 'moses' in a.configs:
            plan += [('moses', 'dense', 32 if a.quick else 128, 'mmap>64KB')]
            plan += [('moses', 'packed', big, al) for al in ('mmap>64KB', 'default', 'tuned')]
        for preset, layout, bs, alloc in plan:
            pool, _ = template_pool(preset, npool)
            b = make_batches(preset, pool, bs, 1, seed=4)[0]
            avail = avail_gb()
            if bs >= 1024 and avail < 14:                        # ~8 GB expected; leave room for the other users
                r = dict(error=f'skipped: only {avail:.1f} GB available')
            else: r = peak_memory(preset, layout, b, a.threads, alloc)
            r.update(config=preset, layout=layout, batch=bs, allocator=alloc, avail_gb_before=round(avail, 1))
            res.setdefault('memory', []).append(r)
            mrows.append({'config': preset, 'layout': layout, 'batch': bs, 'allocator': r['allocator'],
                          'peak RSS MB': f"{r['peak_mb']:.0f}" if 'peak_mb' in r else r.get('error', '?'),
                          'step MB': f"{r['peak_mb'] - r['base_mb']:.0f}" if 'peak_mb' in r else '',
                          'user s': f"{r['user_s']:.1f}" if 'user_s' in r else '', 'sys s': f"{r['sys_s']:.1f}" if 'sys_s' in r else ''})
        mem = {(r['config'], r['layout'], r['batch'], r['allocator']): r for r in res.get('memory', []) if 'peak_mb' in r}
        lo_bs, hi_bs = (32, 64) if a.quick else (128, 256)
        lo, hi = mem.get(('moses', 'dense', lo_bs, 'mmap>64KB')), mem.get(('moses', 'dense', hi_bs, 'mmap>64KB'))
        if lo and hi:
            est = hi['peak_mb'] + (hi['peak_mb'] - lo['peak_mb']) / (hi_bs - lo_bs) * (big - hi_bs)
            mrows.append({'config': 'moses', 'layout': 'dense', 'batch': big, 'allocator': 'mmap>64KB',
                          'peak RSS MB': f'~{est:.0f} (extrapolated)', 'step MB': ''})
            res['moses_dense_estimate_mb'] = dict(batch=big, mb=est)
        print('\nPeak memory of one training step (peak RSS of a fresh process; step MB = peak - RSS before the step; '
              'user/sys s: CPU time of that first step):')
        print(fmt_table(mrows, list(mrows[0])))
        for al in ALLOCATORS:
            if ('moses', 'packed', big, al) in mem:
                print(f"MOSES packed at batch {big:,} (malloc {al}): peak RSS {mem['moses', 'packed', big, al]['peak_mb'] / 1024:.1f} GB "
                      "(target <= 16 GB at 1,024)")
    for preset in a.configs:
        from ming.models.ming.model import ming_config
        cfg = ming_config(preset)
        bs, sbs = QUICK[preset] if a.quick else CONFIGS[preset][1:]
        pool, what = template_pool(preset, npool)
        batches = make_batches(preset, pool, bs, reps)
        sbatch = make_batches(preset, pool, sbs, 1, seed=1)[0]
        ms = models(preset)
        tr = bench_train(ms, batches, reps)
        sp = bench_sample(ms, sbatch, reps, steps)
        cells, rows_p = pairs(batches[0])
        small = make_batches(preset, pool, 4, 1, seed=2)[0]
        fl = {k: step_flops(m, small) / (pairs(small)[0] if k == 'dense' else pairs(small)[1]) / 4 for k, m in ms.items()}
        fl = {'dense': fl['dense'] * cells * bs, 'packed': fl['packed'] * rows_p * bs}     # per step of the bench batch
        H = cfg.inr.H
        mmH = matmul_rate(16384, H + cfg.inr.d_z, H, torch.float32)
        share = matmul_share(ms['packed'], batches[0])
        T1 = cfg.diffusion.T - 1
        r = dict(config=preset, data=what, batch=bs, sample_batch=sbs, T=cfg.diffusion.T,
                 dense_cells_per_mol=cells, packed_rows_per_mol=round(rows_p, 1),
                 train={k: dict(wall_s=v[0], cpu_s=v[1], mol_per_s=bs / v[1], gflop=fl[k] / 1e9,
                                gflop_per_s=fl[k] / v[1] / 1e9) for k, v in tr.items()},
                 sample={k: dict(wall_s_per_update=v[0], cpu_s_per_update=v[1], mol_per_s=sbs / (v[1] * T1))
                         for k, v in sp.items()},
                 matmul_layer_shape_gflop_per_s=mmH / 1e9, matmul_share_packed=share)
        res['configs'][preset] = r
        tgt = TARGET.get(preset)
        rows.append({'config': preset, 'batch': bs,
                     'train mol/s dense': f"{r['train']['dense']['mol_per_s']:.1f}",
                     'packed': f"{r['train']['packed']['mol_per_s']:.1f}",
                     'ratio': f"{tr['dense'][1] / tr['packed'][1]:.2f}x" + (f' (>={tgt})' if tgt else ''),
                     'wall ratio': f"{tr['dense'][0] / tr['packed'][0]:.2f}x",
                     'sample mol/s dense': f"{r['sample']['dense']['mol_per_s']:.2f}",
                     'packed ': f"{r['sample']['packed']['mol_per_s']:.2f}",
                     'ratio ': f"{sp['dense'][1] / sp['packed'][1]:.2f}x",
                     'pair bound': f"{cells / rows_p:.2f}x",
                     'GFLOP/s packed': f"{r['train']['packed']['gflop_per_s']:.1f}",
                     '% of matmul': f"{100 * r['train']['packed']['gflop_per_s'] * 1e9 / mm32:.0f}%",
                     '% of layer mm': f"{100 * r['train']['packed']['gflop_per_s'] * 1e9 / mmH:.0f}%",
                     'mm share': f'{100 * share:.0f}%'})
        print(f'{preset}: done ({time.time() - t_start:.0f} s; load {os.getloadavg()[0]:.1f})', flush=True)
        del ms
    print('\nThroughput, CPU time on 1 core per thread (molecules/s; sampling = full chain of T-1 updates, extrapolated '
          f'from {steps} update(s) of the sampler batch):')
    print(fmt_table(rows, list(rows[0])))

    # bf16 autocast vs fp32 (packed), small batches
    brows = []
    for preset in a.configs:
        pool, _ = template_pool(preset, npool)
        b = make_batches(preset, pool, 4 if a.quick else 8, 2, seed=3)
        m = models(preset)['packed']
        m16 = models(preset)['packed']
        t32 = bench_train({'fp32': m}, b, reps)['fp32']
        t16 = bench_train({'bf16': m16}, b, reps, precision='bf16')['bf16']
        brows.append({'config': preset, 'batch': len(b[0]), 'fp32 step s': f'{t32[1]:.2f}', 'bf16 step s': f'{t16[1]:.2f}',
                      'bf16 speed-up': f'{t32[1] / t16[1]:.2f}x (>=3)'})
        res['configs'][preset]['bf16'] = dict(batch=len(b[0]), fp32_cpu_s=t32[1], bf16_cpu_s=t16[1])
    print(f'\nbf16 autocast vs fp32, packed training step (CPU time); matmul rate bf16/fp32 = {mm16 / mm32:.3f}:')
    print(fmt_table(brows, list(brows[0])))

    res['seconds'] = time.time() - t_start; res['load_avg_end'] = os.getloadavg()
    os.makedirs(os.path.dirname(a.out) or '.', exist_ok=True)
    with open(a.out, 'w') as f: json.dump(res, f, indent=1, default=float)
    print(f'\n{time.time() - t_start:.0f} s; load average {os.getloadavg()[0]:.1f}; wrote {a.out}')


if __name__ == '__main__': main()
