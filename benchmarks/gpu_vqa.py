"""The seed's VQA model (channels-last 224x224x3 images + 100-token questions ->
Dense(1000, softmax); 165,077,800 parameters) trained with mixed bfloat16 at batch 64 on
a GPU: jkeras vs Keras 3 (JAX) vs plain PyTorch with autocast.

    python benchmarks/gpu_vqa.py [--batch-size 64] [--steps 8] [--json out.json]

Each peer runs in its own subprocess; prints samples/s (median of timed epochs after a
warm-up epoch) and jkeras's ratio to each peer.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time


def build_keras(keras):
    layers = keras.layers
    vision = keras.Sequential([
        keras.Input(shape=(224, 224, 3)),
        layers.Conv2D(64, (3, 3), activation="relu", padding="same"),
        layers.Conv2D(64, (3, 3), activation="relu"),
        layers.MaxPooling2D((2, 2)),
        layers.Conv2D(128, (3, 3), activation="relu", padding="same"),
        layers.Conv2D(128, (3, 3), activation="relu"),
        layers.MaxPooling2D((2, 2)),
        layers.Conv2D(256, (3, 3), activation="relu", padding="same"),
        layers.Conv2D(256, (3, 3), activation="relu"),
        layers.Conv2D(256, (3, 3), activation="relu"),
        layers.MaxPooling2D((2, 2)),
        layers.Flatten(),
    ])
    image_input = keras.Input(shape=(224, 224, 3))
    encoded_image = vision(image_input)
    question_input = keras.Input(shape=(100,), dtype="int32")
    embedded = layers.Embedding(input_dim=10000, output_dim=256)(question_input)
    encoded_question = layers.LSTM(256)(embedded)
    merged = layers.concatenate([encoded_question, encoded_image])
    output = layers.Dense(1000, activation="softmax", dtype="float32")(merged)
    return keras.Model([image_input, question_input], output)


def data(n, seed=0):
    import numpy as np

    rng = np.random.default_rng(seed)
    images = rng.random((n, 224, 224, 3), dtype=np.float32)
    questions = rng.integers(1, 10000, size=(n, 100)).astype("int32")
    labels = np.zeros((n, 1000), "float32")
    labels[np.arange(n), rng.integers(0, 1000, n)] = 1
    return images, questions, labels


def run_keras_peer(module_name, batch, steps, epochs):
    if module_name == "keras":
        os.environ["KERAS_BACKEND"] = "jax"
    keras = __import__(module_name)
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    model = build_keras(keras)
    kwargs = {"steps_per_execution": 1}
    model.compile(optimizer=keras.optimizers.RMSprop(1e-3), loss="categorical_crossentropy",
                  **kwargs)
    n = batch * steps
    images, questions, labels = data(n)
    times = []
    for _ in range(epochs + 1):
        t = time.perf_counter()
        model.fit([images, questions], labels, batch_size=batch, epochs=1, verbose=0)
        times.append(time.perf_counter() - t)
    return n, times, model.count_params()


def run_torch_peer(batch, steps, epochs):
    import torch
    from torch import nn

    dev = "cuda" if torch.cuda.is_available() else "cpu"

    class VQA(nn.Module):
        def __init__(self):
            super().__init__()
            c = lambda i, o, p: nn.Conv2d(i, o, 3, padding=p)  # noqa: E731
            self.vision = nn.Sequential(
                c(3, 64, 1), nn.ReLU(), c(64, 64, 0), nn.ReLU(), nn.MaxPool2d(2),
                c(64, 128, 1), nn.ReLU(), c(128, 128, 0), nn.ReLU(), nn.MaxPool2d(2),
                c(128, 256, 1), nn.ReLU(), c(256, 256, 0), nn.ReLU(), c(256, 256, 0),
                nn.ReLU(), nn.MaxPool2d(2), nn.Flatten())
            self.embed = nn.Embedding(10000, 256)
            self.lstm = nn.LSTM(256, 256, batch_first=True)
            self.out = nn.Linear(256 + 160000, 1000)

        def forward(self, img, q):
            v = self.vision(img)
            _, (h, _) = self.lstm(self.embed(q))
            return self.out(torch.cat([h[-1], v], dim=1))

    model = VQA().to(dev).to(memory_format=torch.channels_last)
    opt = torch.optim.RMSprop(model.parameters(), lr=1e-3, alpha=0.9, eps=1e-7)
    n = batch * steps
    images, questions, labels = data(n)
    img = torch.from_numpy(images).permute(0, 3, 1, 2).contiguous(
        memory_format=torch.channels_last).to(dev)
    q = torch.from_numpy(questions).long().to(dev)
    y = torch.from_numpy(labels.argmax(1)).to(dev)
    loss_fn = nn.CrossEntropyLoss()
    times = []
    for _ in range(epochs + 1):
        t = time.perf_counter()
        perm = torch.randperm(n, device=dev)
        for s in range(steps):
            idx = perm[s * batch:(s + 1) * batch]
            opt.zero_grad(set_to_none=True)
            with torch.autocast(dev, dtype=torch.bfloat16):
                logits = model(img[idx], q[idx])
            loss = loss_fn(logits.float(), y[idx])
            loss.backward()
            opt.step()
        if dev == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - t)
    return n, times, sum(p.numel() for p in model.parameters())


def worker(peer, batch, steps, epochs):
    if peer == "torch":
        n, times, params = run_torch_peer(batch, steps, epochs)
    else:
        n, times, params = run_keras_peer("jkeras" if peer == "jkeras" else "keras", batch,
                                          steps, epochs)
    timed = sorted(times[1:])
    med = timed[len(timed) // 2]
    print(json.dumps({"peer": peer, "samples_per_s": n / med, "first_epoch_s": times[0],
                      "params": params}))


def main(argv=None):
    p = argparse.ArgumentParser()
    p.add_argument("--worker", default=None)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--steps", type=int, default=8)
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--peers", default="jkeras,keras3-jax,torch")
    p.add_argument("--timeout", type=float, default=240)
    p.add_argument("--json", default=None)
    a = p.parse_args(argv)
    if a.worker:
        worker(a.worker, a.batch_size, a.steps, a.epochs)
        return 0
    results = {}
    for peer in a.peers.split(","):
        cmd = [sys.executable, __file__, "--worker", peer, "--batch-size", str(a.batch_size),
               "--steps", str(a.steps), "--epochs", str(a.epochs)]
        try:
            out = subprocess.run(cmd, capture_output=True, text=True, timeout=a.timeout)
            line = [ln for ln in out.stdout.splitlines() if ln.startswith("{")]
            results[peer] = json.loads(line[-1]) if line else {"error": out.stderr[-800:]}
        except subprocess.TimeoutExpired:
            results[peer] = {"error": "timeout"}
        print(peer, results[peer], flush=True)
    base = results.get("jkeras", {}).get("samples_per_s")
    for peer, r in results.items():
        if peer != "jkeras" and base and r.get("samples_per_s"):
            print(f"VQA bf16 batch {a.batch_size}: jkeras / {peer} = "
                  f"{base / r['samples_per_s']:.2f}x")
    if a.json:
        with open(a.json, "w") as f:
            json.dump(results, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
