"""PyTorch's side of `npm run bench` (scripts/bench.ts): the same workload shapes in plain PyTorch, fp32, on CPU,
at a given thread count (torch.set_num_threads; OPENBLAS_NUM_THREADS is set by the caller). Random weights: timing
does not depend on them. Prints one line: torch version, threads, forward ms, forward+backward ms, AdamW step ms
(medians after one warm-up).

usage: python3 bench-torch.py ARCH D HEADS KV_HEADS FF LAYERS VOCAB B T STEPS THREADS   (ARCH gpt2 or llama)
"""
import sys, time
import torch
import torch.nn.functional as F

arch = sys.argv[1]
d, h, kv, f, L, V, B, T, steps, threads = (int(a) for a in sys.argv[2:12])
torch.set_num_threads(threads)
torch.manual_seed(0)
hd = d // h
lin = lambda i, o, bias: torch.nn.Linear(i, o, bias=bias)
emb = torch.nn.Embedding(V, d)
mods = [emb]
if arch == "gpt2":
    pos = torch.nn.Embedding(T, d)
    blocks = [dict(ln1=torch.nn.LayerNorm(d), qkv=lin(d, 3 * d, True), proj=lin(d, d, True), ln2=torch.nn.LayerNorm(d), fc=lin(d, f, True), out=lin(f, d, True)) for _ in range(L)]
    lnf = torch.nn.LayerNorm(d)
    mods += [pos, lnf]
else:
    blocks = [dict(q=lin(d, h * hd, False), k=lin(d, kv * hd, False), v=lin(d, kv * hd, False), o=lin(h * hd, d, False), gate=lin(d, f, False), up=lin(d, f, False), down=lin(f, d, False)) for _ in range(L)]
    norms = [(torch.nn.Parameter(torch.ones(d)), torch.nn.Parameter(torch.ones(d))) for _ in range(L)]
    normf = torch.nn.Parameter(torch.ones(d))
    inv = 1.0 / (10000 ** (torch.arange(0, hd, 2).float() / hd))
    ang = torch.outer(torch.arange(T).float(), inv)
    cos, sin = torch.cat([ang.cos()] * 2, -1), torch.cat([ang.sin()] * 2, -1)
params = [p for m in mods for p in m.parameters()] + [p for b in blocks for m in b.values() for p in m.parameters()]
if arch != "gpt2":
    params += [p for n in norms for p in n] + [normf]
ids = torch.randint(0, V, (B, T))
mask = torch.triu(torch.full((T, T), float("-inf")), 1)


def rms(x, g):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-5) * g


def rope(x):
    x1, x2 = x[..., : hd // 2], x[..., hd // 2 :]
    return x * cos + torch.cat([-x2, x1], -1) * sin


def heads(t, n):
    return t.view(B, T, n, hd).transpose(1, 2)


def attend(q, k, v):
    a = torch.softmax(q @ k.transpose(-1, -2) / hd**0.5 + mask, -1) @ v
    return a.transpose(1, 2).reshape(B, T, -1)


def fwd():
    if arch == "gpt2":
        x = emb(ids) + pos(torch.arange(T))
        for b in blocks:
            q, k, v = b["qkv"](b["ln1"](x)).split(d, -1)
            x = x + b["proj"](attend(heads(q, h), heads(k, h), heads(v, h)))
            x = x + b["out"](F.gelu(b["fc"](b["ln2"](x)), approximate="tanh"))
        x = lnf(x)
    else:
        x = emb(ids)
        for b, (g1, g2) in zip(blocks, norms):
            y = rms(x, g1)
            q, k, v = rope(heads(b["q"](y), h)), rope(heads(b["k"](y), kv)), heads(b["v"](y), kv)
            k, v = k.repeat_interleave(h // kv, 1), v.repeat_interleave(h // kv, 1)
            x = x + b["o"](attend(q, k, v))
            y = rms(x, g2)
            x = x + b["down"](F.silu(b["gate"](y)) * b["up"](y))
        x = rms(x, normf)
    logits = x @ emb.weight.T
    return F.cross_entropy(logits[:, :-1].reshape(-1, V), ids[:, 1:].reshape(-1))


def med(fn):
    fn()
    ts = []
    for _ in range(steps):
        t = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t)
    return sorted(ts)[len(ts) // 2] * 1000


def fb():
    for p in params:
        p.grad = None
    fwd().backward()


opt = torch.optim.AdamW(params, lr=1e-4, weight_decay=0.01)


def train():
    opt.zero_grad(set_to_none=True)
    fwd().backward()
    opt.step()


with torch.no_grad():
    f_ms = med(fwd)
print(f"{torch.__version__} {torch.get_num_threads()} {f_ms:.1f} {med(fb):.1f} {med(train):.1f}")
