"""Augmentation layers in models: fresh draws at every compiled training step,
deterministic predict, `.keras` round trips, and the composite policies."""

import json

import numpy as np

import jkeras
from jkeras import layers

RNG = np.random.default_rng(1)


def test_fit_draws_fresh_augmentations_each_step_and_predict_is_deterministic(tmp_path):
    x = np.repeat(RNG.random((1, 8, 8, 3)).astype("float32"), 8, axis=0)
    y = np.ones((8, 1), "float32")
    inputs = jkeras.Input((8, 8, 3))
    h = layers.RandomFlip(seed=1)(inputs)
    h = layers.RandomTranslation(0.3, 0.3, seed=2)(h)
    h = layers.RandomBrightness(0.4, value_range=(0, 1), seed=3)(h)
    features = layers.Conv2D(2, 3)(h)
    outputs = layers.Dense(1)(layers.GlobalAveragePooling2D()(features))
    model = jkeras.Model(inputs, outputs)
    model.compile(optimizer=jkeras.optimizers.SGD(0.0), loss="mse")  # weights never move
    losses = []

    class Record(jkeras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            losses.append(logs["loss"])

    model.fit(x, y, batch_size=4, epochs=3, shuffle=False, verbose=0, callbacks=[Record()])
    # identical images and frozen weights: only the augmentation changes the loss
    assert len(set(np.round(losses, 6))) == 3
    first, second = model.predict(x, verbose=0), model.predict(x, verbose=0)
    np.testing.assert_array_equal(first, second)
    np.testing.assert_allclose(first, first[:1].repeat(8, 0), rtol=1e-6)  # no augmentation

    model.save(tmp_path / "aug.keras")
    loaded = jkeras.models.load_model(tmp_path / "aug.keras")
    np.testing.assert_allclose(loaded.predict(x, verbose=0), first, rtol=1e-6)
    assert [type(la).__name__ for la in loaded.layers[1:4]] == [
        "RandomFlip", "RandomTranslation", "RandomBrightness"]
    assert loaded.layers[2].get_config() == model.layers[2].get_config()


def test_saved_pipeline_of_many_layers_round_trips(tmp_path):
    pipeline = jkeras.Sequential([
        jkeras.Input((8, 8, 3)),
        layers.RandomCrop(6, 6, seed=1),
        layers.RandAugment(num_ops=1, factor=0.3, seed=2),
        layers.AugMix(chain_depth=1, all_ops=False, seed=3),
        layers.RandomZoom((-0.2, 0.1), fill_mode="constant"),
        layers.RandomColorJitter(brightness_factor=0.1, hue_factor=0.2),
        layers.Equalization(bins=32),
    ])
    x = (RNG.random((2, 8, 8, 3)) * 255).astype("float32")
    expected = pipeline.predict(x, verbose=0)  # inference: centre crop + equalization
    pipeline.save(tmp_path / "pipeline.keras")
    loaded = jkeras.models.load_model(tmp_path / "pipeline.keras")
    np.testing.assert_allclose(loaded.predict(x, verbose=0), expected, rtol=1e-6)
    for before, after in zip(pipeline.layers, loaded.layers):
        assert type(before) is type(after)
        assert json.dumps(before.get_config()) == json.dumps(after.get_config())


def test_rand_augment_and_aug_mix_transform_and_stay_in_range():
    x = RNG.random((2, 8, 8, 3)).astype("float32")
    rand_augment = layers.RandAugment(value_range=(0, 1), num_ops=2, factor=0.6, seed=4)
    outputs = [np.asarray(rand_augment(x)) for _ in range(3)]
    assert all(o.shape == x.shape and o.dtype == np.float32 for o in outputs)
    assert not all(np.allclose(o, x) for o in outputs)
    aug_mix = layers.AugMix(value_range=(0, 1), num_chains=2, chain_depth=2, all_ops=False,
                            seed=5)
    mixed = np.asarray(aug_mix(x))
    assert mixed.shape == x.shape and mixed.min() >= 0 and mixed.max() <= 1
    assert not np.allclose(mixed, x)
    np.testing.assert_array_equal(aug_mix(x, training=False), x)
