"""Runs one benchmark cell (one model on one peer) and prints one JSON line.

Started by run.py with the peer's interpreter; not meant to be run by hand, though it can be:

    python benchmarks/worker.py --peer jkeras --model a --n 8192 --epochs 3

The last line of stdout is `BENCH_JSON {...}`. Any failure (a missing jkeras feature, an
exception in a peer) is caught and reported in that JSON as "error", so the harness keeps
going. Timing: the cold first epoch is measured from the fit call (compilation included) to
the end of epoch 1; then `--epochs` timed epochs, each from the end of the previous one, with
the loss read back to the host so the work is really done.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import platform
import resource
import statistics
import sys
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from bench_data import BATCH_SIZE, EPSILON, LEARNING_RATE, MODELS, RHO, make_data, token_inputs  # noqa: E402

VERSION_PACKAGES = ("jkeras", "keras", "jax", "jaxlib", "optax", "torch", "torchvision",
                    "numpy")


def rss_mb() -> float:
    """Peak resident memory of this process so far (ru_maxrss), in MiB."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def versions() -> dict:
    out = {"python": platform.python_version()}
    for name in VERSION_PACKAGES:
        if name not in sys.modules:  # only what this cell imported
            continue
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            pass
    return out


def default_device() -> str | None:
    """The device the cell's framework computes on by default (jax or torch)."""
    if "jax" in sys.modules and os.environ.get("KERAS_BACKEND") != "torch":
        import jax

        d = jax.devices()[0]
        return f"{d.platform}:{d.device_kind}"
    if "torch" in sys.modules:
        import torch

        return "cuda" if torch.cuda.is_available() else "cpu"
    return None


def cache_entries(path: str | None) -> int | None:
    if not path or not os.path.isdir(path):
        return None if not path else 0
    return sum(len(files) for _, _, files in os.walk(path))


def jax_cache_dir() -> str | None:
    if "jax" not in sys.modules:
        return None
    import jax

    return jax.config.jax_compilation_cache_dir or None


def note_cache(result: dict) -> None:
    """Records JAX's persistent compilation cache (directory, entries) before compiling."""
    cache_dir = jax_cache_dir()
    result["jax_cache_dir"] = cache_dir
    result["jax_cache_entries_before"] = cache_entries(cache_dir)


def timed_median(fn, reps: int) -> float:
    """Calls fn once to warm up, then `reps` times; the median wall time."""
    fn()
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def predict_count(args) -> int:
    """How many of the samples predict runs over (--predict-n, at most the data size)."""
    return min(args.predict_n or args.n, args.n)


def predict_batches(n: int, requested: list[int]) -> list[tuple[int, int]]:
    """(label, effective batch size) pairs: each requested size clamped to the data size."""
    return [(b, min(b, n)) for b in requested]


# ---------------------------------------------------------------------------------------
# Keras-API peers: jkeras and Keras 3 (jax / torch backends)


def run_keras(args, result: dict, keras, steps_per_execution: int | None,
              strings: bool = False) -> None:
    """Trains the Keras model with `fit`. A text model takes its strings (`strings`: a
    TextVectorization in the model, jkeras) or token ids made here, before timing."""
    import models_keras

    note_cache(result)
    x, y = make_data(args.model, args.n, args.seed)
    if strings and MODELS[args.model].text:
        model = models_keras.build(args.model, keras, texts=x[0])
    else:
        x = token_inputs(args.model, x)
        model = models_keras.build(args.model, keras)
    result["params"] = int(model.count_params())
    compile_kwargs = models_keras.compile_args(args.model, keras)
    if steps_per_execution is not None:
        compile_kwargs["steps_per_execution"] = steps_per_execution
    model.compile(**compile_kwargs)

    ends: list[float] = []
    cpu_ends: list[float] = []  # this process's CPU time (all threads) at each epoch end
    base = getattr(getattr(keras, "callbacks", None), "Callback", object)

    class EpochTimer(base):
        """Records when each epoch ends, after reading its loss back to the host."""

        def __init__(self):
            if base is not object:
                super().__init__()

        def on_epoch_end(self, epoch, logs=None):
            for v in (logs or {}).values():
                float(v)
            ends.append(time.perf_counter())
            cpu_ends.append(time.process_time())

    x_in = x if len(x) > 1 else x[0]
    y_in = y if len(y) > 1 else y[0]
    epochs = 1 if args.first_epoch_only else 1 + args.epochs
    # Default fit arguments (batch_size=32 is Keras's default; named for clarity).
    t0 = time.perf_counter()
    model.fit(x_in, y_in, epochs=epochs, batch_size=args.batch_size, verbose=0,
              callbacks=[EpochTimer()])
    if len(ends) != epochs:
        raise RuntimeError(f"epoch timer saw {len(ends)} epoch ends, expected {epochs}")
    result["first_epoch_s"] = ends[0] - t0
    result["epoch_s"] = [b - a for a, b in zip(ends, ends[1:])]
    result["epoch_cpu_s"] = [b - a for a, b in zip(cpu_ends, cpu_ends[1:])]
    result["rss_train_mb"] = rss_mb()
    if args.predict and not args.first_epoch_only:
        pn = predict_count(args)
        xp = [a[:pn] for a in x]
        xp = xp if len(xp) > 1 else xp[0]
        result["predict"] = {}
        for label, b in predict_batches(pn, args.predict):
            sec = timed_median(lambda b=b: model.predict(xp, batch_size=b, verbose=0),
                               args.predict_reps)
            result["predict"][str(label)] = pn / sec


def peer_jkeras(args, result):
    import jkeras as keras
    from jkeras.training import compilation_cache

    result["jkeras_path"] = os.path.dirname(keras.__file__)
    compilation_cache.enable()  # what fit() does first: jkeras's own cache setting
    set_jkeras_distribution(keras, args.distribution, result)
    run_keras(args, result, keras, None, strings=True)


def set_jkeras_distribution(keras, kind: str, result: dict) -> None:
    """`--distribution`: none (the default path), data_parallel (DataParallel over
    every device JAX sees) or model_parallel (a (1, n) mesh, all 'model' axis,
    variables replicated: the ModelParallel code path with nothing to split)."""
    result["distribution"] = kind
    if kind == "none":
        return
    dist = keras.distribution
    devices = dist.list_devices()
    result["n_devices"] = len(devices)
    if kind == "data_parallel":
        dist.set_distribution(dist.DataParallel())
        return
    mesh = dist.DeviceMesh((1, len(devices)), ("batch", "model"), devices)
    dist.set_distribution(dist.ModelParallel(layout_map=dist.LayoutMap(mesh),
                                             batch_dim_name="batch"))


def _keras3(backend: str):
    os.environ["KERAS_BACKEND"] = backend
    import keras

    if keras.backend.backend() != backend:
        raise RuntimeError(f"Keras runs on {keras.backend.backend()!r}, wanted {backend!r}")
    return keras


def peer_keras3_jax(args, result):
    run_keras(args, result, _keras3("jax"), None)


def peer_keras3_jax_spe32(args, result):
    run_keras(args, result, _keras3("jax"), 32)


def peer_keras3_torch(args, result):
    keras = _keras3("torch")
    set_torch_threads(result)
    run_keras(args, result, keras, None)


def set_torch_threads(result: dict) -> None:
    """PyTorch's default thread count unless run.py --torch-threads asked otherwise."""
    import torch

    if os.environ.get("BENCH_TORCH_THREADS"):
        torch.set_num_threads(int(os.environ["BENCH_TORCH_THREADS"]))
    result["torch_threads"] = torch.get_num_threads()


# ---------------------------------------------------------------------------------------
# Plain PyTorch: an eager loop as a PyTorch user writes it


def peer_torch(args, result):
    import models_torch as mt
    import torch

    torch.manual_seed(args.seed)
    set_torch_threads(result)
    # A GPU if PyTorch sees one (as Keras 3's torch backend does), else the CPU.
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    result["device"] = str(device)
    x, y = make_data(args.model, args.n, args.seed)
    x = token_inputs(args.model, x)  # a text model's texts tokenized as TextVectorization does
    xs = [t.to(device) for t in mt.to_torch_inputs(args.model, x)]
    ys = [t.to(device) for t in mt.to_torch_targets(args.model, y)]
    model = mt.build(args.model).to(device)
    result["params"] = mt.count_params(model)
    opt = torch.optim.RMSprop(model.parameters(), lr=LEARNING_RATE, alpha=RHO, eps=EPSILON)
    gen = torch.Generator().manual_seed(args.seed)

    def epoch() -> float:
        model.train()
        perm = torch.randperm(args.n, generator=gen).to(device)
        loss = None
        for i in range(0, args.n - args.batch_size + 1, args.batch_size):
            idx = perm[i:i + args.batch_size]
            out = model(*[t[idx] for t in xs])
            loss = mt.loss_fn(args.model, out, [t[idx] for t in ys])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        return loss.item()

    run_epochs(args, result, epoch)

    if args.predict and not args.first_epoch_only:
        model.eval()
        pn = predict_count(args)

        def predict(b):
            with torch.inference_mode():
                outs = [mt.probabilities(args.model, model(*[t[i:i + b] for t in xs]))
                        for i in range(0, pn, b)]
            return [torch.cat(o).cpu().numpy() for o in zip(*outs)]

        result["predict"] = {}
        for label, b in predict_batches(pn, args.predict):
            sec = timed_median(lambda b=b: predict(b), args.predict_reps)
            result["predict"][str(label)] = pn / sec


def run_epochs(args, result: dict, epoch) -> None:
    """Times `epoch()` (which must return only once its work is done): cold, then timed."""
    t = time.perf_counter()
    epoch()
    result["first_epoch_s"] = time.perf_counter() - t
    result["epoch_s"] = []
    if not args.first_epoch_only:
        for _ in range(args.epochs):
            t = time.perf_counter()
            epoch()
            result["epoch_s"].append(time.perf_counter() - t)
    result["rss_train_mb"] = rss_mb()


# ---------------------------------------------------------------------------------------
# Plain JAX + optax: a jitted step per batch, or the whole epoch fused with lax.scan


def _jax_setup(args, result):
    """Data on the device, Keras-like parameters, optax RMSprop, and one training step
    `step(params, opt_state, xs, ys, idx)` that gathers its batch by index."""
    import jax
    import models_jax as mj
    import optax

    note_cache(result)
    x, y = make_data(args.model, args.n, args.seed)
    params = mj.init(args.model, args.seed)
    result["params"] = mj.count_params(params)
    opt = mj.optimizer(LEARNING_RATE, RHO, EPSILON)
    xs = [jax.device_put(a) for a in x]
    ys = [jax.device_put(a) for a in y]

    def step(params, opt_state, xs, ys, idx):
        bx = [a[idx] for a in xs]
        by = [a[idx] for a in ys]

        def loss_of(p):
            return mj.loss(args.model, mj.apply(args.model, p, bx), by)

        loss, grads = jax.value_and_grad(loss_of)(params)
        updates, opt_state = opt.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state, loss

    return mj, params, opt.init(params), xs, ys, step


def _jax_predict(args, result, mj, params, xs, fused: bool) -> None:
    import jax
    import jax.numpy as jnp
    from jax import lax

    pn = predict_count(args)
    xs = [a[:pn] for a in xs]
    result["predict"] = {}
    for label, b in predict_batches(pn, args.predict):
        steps = -(-pn // b)
        if fused:
            @jax.jit
            def predict_all(params, xs, b=b, steps=steps):
                pad = steps * b - pn
                padded = [jnp.pad(a, [(0, pad)] + [(0, 0)] * (a.ndim - 1)) for a in xs]
                batched = [a.reshape((steps, b) + a.shape[1:]) for a in padded]
                outs = lax.map(lambda bx: mj.probabilities(args.model,
                                                           mj.apply(args.model, params, bx)),
                               batched)
                return [o.reshape((steps * b,) + o.shape[2:])[:pn] for o in outs]

            def run(predict_all=predict_all):
                jax.block_until_ready(predict_all(params, xs))
        else:
            fwd = jax.jit(lambda params, bx: mj.probabilities(args.model,
                                                              mj.apply(args.model, params, bx)))

            def run(fwd=fwd, b=b):
                outs = [fwd(params, [a[i:i + b] for a in xs]) for i in range(0, pn, b)]
                jax.block_until_ready(outs)
                return [jnp.concatenate(o) for o in zip(*outs)]

        sec = timed_median(run, args.predict_reps)
        result["predict"][str(label)] = pn / sec


def peer_jax_step(args, result):
    import jax
    import numpy as np
    from jax import lax

    mj, params, opt_state, xs, ys, step = _jax_setup(args, result)

    def train_step(params, opt_state, xs, ys, perm, i):
        idx = lax.dynamic_slice_in_dim(perm, i * args.batch_size, args.batch_size)
        return step(params, opt_state, xs, ys, idx)

    train_step = jax.jit(train_step, donate_argnums=(0, 1))
    rng = np.random.default_rng(args.seed)
    state = {"params": params, "opt_state": opt_state}

    def epoch() -> float:
        perm = jax.device_put(rng.permutation(args.n).astype(np.int32))
        p, s, loss = state["params"], state["opt_state"], None
        for i in range(args.n // args.batch_size):
            p, s, loss = train_step(p, s, xs, ys, perm, i)
        state["params"], state["opt_state"] = p, s
        return float(loss)

    run_epochs(args, result, epoch)
    if args.predict and not args.first_epoch_only:
        _jax_predict(args, result, mj, state["params"], xs, fused=False)


def peer_jax_scan(args, result):
    import jax
    from jax import lax

    mj, params, opt_state, xs, ys, step = _jax_setup(args, result)
    steps = args.n // args.batch_size

    def train_epoch(params, opt_state, xs, ys, key):
        perm = jax.random.permutation(key, args.n)[:steps * args.batch_size]

        def body(carry, idx):
            p, s, loss = step(*carry, xs, ys, idx)
            return (p, s), loss

        (params, opt_state), losses = lax.scan(body, (params, opt_state),
                                               perm.reshape(steps, args.batch_size))
        return params, opt_state, losses[-1]

    train_epoch = jax.jit(train_epoch, donate_argnums=(0, 1))
    state = {"params": params, "opt_state": opt_state, "key": jax.random.key(args.seed)}

    def epoch() -> float:
        state["key"], sub = jax.random.split(state["key"])
        state["params"], state["opt_state"], loss = train_epoch(
            state["params"], state["opt_state"], xs, ys, sub)
        return float(loss)

    run_epochs(args, result, epoch)
    if args.predict and not args.first_epoch_only:
        _jax_predict(args, result, mj, state["params"], xs, fused=True)


PEERS = {
    "jkeras": peer_jkeras,
    "keras3-jax": peer_keras3_jax,
    "keras3-jax-spe32": peer_keras3_jax_spe32,
    "keras3-torch": peer_keras3_torch,
    "torch": peer_torch,
    "jax-step": peer_jax_step,
    "jax-step-ynn": peer_jax_step,
    "jax-scan": peer_jax_scan,
}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--peer", required=True, choices=sorted(PEERS))
    p.add_argument("--model", required=True, choices=sorted(MODELS))
    p.add_argument("--n", type=int, required=True, help="samples per epoch")
    p.add_argument("--epochs", type=int, default=3, help="timed epochs after the first")
    p.add_argument("--batch-size", type=int, default=BATCH_SIZE,
                   help="training batch size (n should be a multiple of it)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--predict", type=lambda s: [int(v) for v in s.split(",") if v],
                   default=[], help="predict batch sizes to time, e.g. 32,1024")
    p.add_argument("--predict-reps", type=int, default=3)
    p.add_argument("--predict-n", type=int, default=None,
                   help="predict over the first N samples (default: all)")
    p.add_argument("--first-epoch-only", action="store_true",
                   help="only the first epoch (for the warm-compilation-cache rerun)")
    p.add_argument("--distribution", default="none",
                   choices=["none", "data_parallel", "model_parallel"],
                   help="jkeras peer only: train under this jkeras.distribution")
    args = p.parse_args(argv)

    result: dict = {"peer": args.peer, "model": args.model, "n": args.n,
                    "batch_size": args.batch_size, "first_epoch_only": args.first_epoch_only}
    try:
        t = time.perf_counter()
        PEERS[args.peer](args, result)
        result["cell_s"] = time.perf_counter() - t
    except BaseException as e:  # report, never crash the harness
        result["error"] = f"{type(e).__name__}: {e}"[:500]
        result["traceback"] = traceback.format_exc()[-3000:]
    cache_dir = jax_cache_dir()
    result["jax_cache_dir"] = cache_dir
    result["jax_cache_entries_after"] = cache_entries(cache_dir)
    result["xla_flags"] = os.environ.get("XLA_FLAGS", "")
    result["rss_peak_mb"] = rss_mb()
    result.setdefault("device", default_device())
    result["versions"] = versions()
    if "keras" in sys.modules and hasattr(sys.modules["keras"], "backend"):
        try:
            result["keras_backend"] = sys.modules["keras"].backend.backend()
        except Exception:  # noqa: BLE001
            pass
    sys.stdout.flush()
    print("BENCH_JSON " + json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
