"""PyTorch side of scripts/device-check.sh: the same shapes as scripts/device-bench.ts (random weights, fp32),
forward, forward+backward of every parameter and an AdamW tuning step on two middle layers' MLP down and attention
output projections, median ms over N steps, on CUDA when available. Plain attention (matmul + softmax with a causal
mask, as rtune computes it), not a fused kernel, so the comparison is of the same arithmetic.
Prints one JSON line per workload."""
import json, sys, time
import torch
import torch.nn.functional as F

dev = 'cuda' if torch.cuda.is_available() else 'cpu'
steps = int(sys.argv[1]) if len(sys.argv) > 1 else 5
torch.manual_seed(0)


def rms(x, w, eps):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w


def rope(x, theta):
    B, H, T, D = x.shape
    inv = 1.0 / (theta ** (torch.arange(0, D, 2, device=x.device).float() / D))
    f = torch.outer(torch.arange(T, device=x.device).float(), inv)
    cos, sin = torch.cat([f.cos(), f.cos()], -1), torch.cat([f.sin(), f.sin()], -1)
    x1, x2 = x[..., : D // 2], x[..., D // 2 :]
    return x * cos + torch.cat([-x2, x1], -1) * sin


def P(*shape):
    return (torch.randn(*shape, device=dev) * 0.02).requires_grad_()


def attention(q, k, v, T):
    mask = torch.triu(torch.full((T, T), float('-inf'), device=dev), 1)
    return torch.softmax(q @ k.transpose(-1, -2) / q.shape[-1] ** 0.5 + mask, -1) @ v


def gpt2(V=50257, d=768, L=12, h=12):
    p = {'wte': P(V, d), 'wpe': P(1024, d), 'lnf_w': P(d), 'lnf_b': P(d)}
    layers = [dict(ln1w=P(d), ln1b=P(d), qkv=P(d, 3 * d), qkvb=P(3 * d), proj=P(d, d), projb=P(d), ln2w=P(d), ln2b=P(d), fc=P(d, 4 * d), fcb=P(4 * d), out=P(4 * d, d), outb=P(d)) for _ in range(L)]

    def fwd(ids):
        B, T = ids.shape
        x = p['wte'][ids] + p['wpe'][:T]
        for l in layers:
            a = F.layer_norm(x, (d,), l['ln1w'], l['ln1b']) @ l['qkv'] + l['qkvb']
            q, k, v = [t.view(B, T, h, d // h).transpose(1, 2) for t in a.split(d, -1)]
            x = x + attention(q, k, v, T).transpose(1, 2).reshape(B, T, d) @ l['proj'] + l['projb']
            x = x + F.gelu(F.layer_norm(x, (d,), l['ln2w'], l['ln2b']) @ l['fc'] + l['fcb'], approximate='tanh') @ l['out'] + l['outb']
        return F.layer_norm(x, (d,), p['lnf_w'], p['lnf_b']) @ p['wte'].T

    tuned = [layers[i][k] for i in (L // 2 - 1, L // 2) for k in ('proj', 'projb', 'out', 'outb')]
    params = list(p.values()) + [t for l in layers for t in l.values()]
    return fwd, params, tuned, V


def qwen2(V=151936, d=896, L=24, h=14, kv=2, f=4864, theta=1e6):
    hd = d // h
    p = {'emb': P(V, d), 'norm': P(d)}
    layers = [dict(n1=P(d), q=P(d, d), qb=P(d), k=P(d, kv * hd), kb=P(kv * hd), v=P(d, kv * hd), vb=P(kv * hd), o=P(d, d), n2=P(d), g=P(d, f), u=P(d, f), dn=P(f, d)) for _ in range(L)]

    def fwd(ids):
        B, T = ids.shape
        x = p['emb'][ids]
        for l in layers:
            y = rms(x, l['n1'], 1e-6)
            q = (y @ l['q'] + l['qb']).view(B, T, h, hd).transpose(1, 2)
            k = (y @ l['k'] + l['kb']).view(B, T, kv, hd).transpose(1, 2)
            v = (y @ l['v'] + l['vb']).view(B, T, kv, hd).transpose(1, 2)
            q, k = rope(q, theta), rope(k, theta)
            k, v = k.repeat_interleave(h // kv, 1), v.repeat_interleave(h // kv, 1)
            x = x + attention(q, k, v, T).transpose(1, 2).reshape(B, T, d) @ l['o']
            y = rms(x, l['n2'], 1e-6)
            x = x + (F.silu(y @ l['g']) * (y @ l['u'])) @ l['dn']
        return rms(x, p['norm'], 1e-6) @ p['emb'].T

    tuned = [layers[i][k] for i in (L // 2 - 1, L // 2) for k in ('o', 'dn')]
    params = list(p.values()) + [t for l in layers for t in l.values()]
    return fwd, params, tuned, V


def sync():
    if dev == 'cuda':
        torch.cuda.synchronize()


def med(fn):
    fn(); sync()
    ts = []
    for _ in range(steps):
        t = time.perf_counter(); fn(); sync(); ts.append(time.perf_counter() - t)
    return sorted(ts)[len(ts) // 2] * 1000


for name, make in (('gpt2-12', gpt2), ('qwen2-0.5b', qwen2)):
    out = {'workload': name, 'device': torch.cuda.get_device_name() if dev == 'cuda' else 'cpu', 'torch': torch.__version__}
    try:
        if dev == 'cuda':
            torch.cuda.reset_peak_memory_stats()
        fwd, params, tuned, V = make()
        ids = torch.randint(0, V, (4, 256), device=dev)
        loss = lambda: F.cross_entropy(fwd(ids)[:, :-1].reshape(-1, V), ids[:, 1:].reshape(-1))
        with torch.no_grad():
            out['fwd_ms'] = med(lambda: fwd(ids))

        def fb():
            for t in params:
                t.grad = None
            loss().backward()

        out['fwd_bwd_ms'] = med(fb)
        for t in params:
            t.requires_grad_(False)
        for t in tuned:
            t.requires_grad_(True)
        opt = torch.optim.AdamW(tuned, lr=1e-4, weight_decay=0)

        def step():
            opt.zero_grad(set_to_none=True)
            loss().backward()
            opt.step()

        out['tune_ms'] = med(step)
        out['params'] = sum(t.numel() for t in params)
        if dev == 'cuda':
            out['peak_mib'] = torch.cuda.max_memory_allocated() / 2**20
        del fwd, params, tuned
    except Exception as e:  # report and go on to the next workload
        out['error'] = str(e).split('\n')[0]
    print(json.dumps(out), flush=True)
    if dev == 'cuda':
        torch.cuda.empty_cache()
