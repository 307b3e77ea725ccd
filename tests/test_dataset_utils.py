"""Dataset utilities without TensorFlow: image/text/audio folders and timeseries windows."""

from __future__ import annotations

import os
import time
import wave

import numpy as np
import pytest
from PIL import Image

import jkeras
from jkeras.utils import (
    audio_dataset_from_directory,
    image_dataset_from_directory,
    text_dataset_from_directory,
    timeseries_dataset_from_array,
)
from jkeras.utils import directory_index as index_mod
from jkeras.utils.image_resize import resize_image

CLASSES = ["b_cls", "a_cls", "c_cls"]  # created out of order: class_names must be sorted


@pytest.fixture(scope="module")
def image_root(tmp_path_factory):
    """3 class folders of 3 PNGs each (8x8 RGB), one in a nested folder; returns
    (root, {path: pixels})."""
    root = tmp_path_factory.mktemp("images")
    rng = np.random.default_rng(0)
    pixels = {}
    for c in CLASSES:
        for i in range(3):
            folder = root / c / ("nested" if i == 2 else "")
            folder.mkdir(parents=True, exist_ok=True)
            arr = rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)
            path = folder / f"img{i}.png"
            Image.fromarray(arr).save(path)
            pixels[str(path)] = arr
    (root / "a_cls" / "notes.txt").write_text("not an image")
    (root / ".hidden").mkdir()
    return str(root), pixels


def _sorted_paths(root: str, pixels: dict) -> list[str]:
    """Files in Keras's index order: classes sorted, then folders by path, files by name."""
    out = []
    for c in sorted(CLASSES):
        out += sorted((p for p in pixels if p.startswith(os.path.join(root, c) + os.sep)),
                      key=lambda p: (os.path.dirname(p), os.path.basename(p)))
    return out


def test_image_labels_inferred_sorted_and_seeded_order(image_root, capsys):
    root, pixels = image_root
    ds = image_dataset_from_directory(root, image_size=(8, 8), batch_size=4, seed=7)
    assert "Found 9 files belonging to 3 classes." in capsys.readouterr().out
    assert ds.class_names == sorted(CLASSES)
    # Keras shuffles the sorted file list with RandomState(seed): the same files in the same order
    expected = _sorted_paths(root, pixels)
    expected = [expected[i] for i in np.random.RandomState(7).permutation(9)]
    assert ds.file_paths == expected
    assert len(ds) == 3
    xs, ys = zip(*ds)
    x, y = np.concatenate(xs), np.concatenate(ys)
    assert x.dtype == np.float32 and x.shape == (9, 8, 8, 3)
    assert y.dtype == np.int32 and y.shape == (9,)
    np.testing.assert_array_equal(x, np.stack([pixels[p] for p in expected]).astype(np.float32))
    want = [sorted(CLASSES).index(os.path.relpath(p, root).split(os.sep)[0]) for p in expected]
    np.testing.assert_array_equal(y, want)
    assert [a.shape[0] for a in xs] == [4, 4, 1]


def test_image_validation_split_disjoint_and_repeatable(image_root):
    root, _ = image_root
    kw = dict(image_size=(8, 8), batch_size=4, seed=3, validation_split=0.3, verbose=False)
    train = image_dataset_from_directory(root, subset="training", **kw)
    val = image_dataset_from_directory(root, subset="validation", **kw)
    both = image_dataset_from_directory(root, subset="both", **kw)
    assert isinstance(both, list) and len(both) == 2
    assert len(val.file_paths) == int(0.3 * 9) and len(train.file_paths) == 9 - 2
    assert not set(train.file_paths) & set(val.file_paths)
    assert sorted(train.file_paths + val.file_paths) == sorted(image_root[1])
    assert both[0].file_paths == train.file_paths and both[1].file_paths == val.file_paths
    again = image_dataset_from_directory(root, subset="validation", **kw)
    assert again.file_paths == val.file_paths


@pytest.mark.parametrize("mode, shape", [("categorical", (3,)), ("int", ())])
def test_image_label_modes(image_root, mode, shape):
    root, _ = image_root
    x, y = image_dataset_from_directory(root, image_size=(8, 8), batch_size=9, label_mode=mode,
                                        shuffle=False, verbose=False)[0]
    assert y.shape == (9, *shape)
    ints = np.repeat(np.arange(3), 3)  # unshuffled: classes in sorted order
    if mode == "categorical":
        assert y.dtype == np.float32
        np.testing.assert_array_equal(y, np.eye(3, dtype=np.float32)[ints])
    else:
        np.testing.assert_array_equal(y, ints)


def test_image_binary_channels_and_formats(image_root):
    root, pixels = image_root
    ds = image_dataset_from_directory(root, image_size=(8, 8), class_names=["c_cls", "a_cls"],
                                      label_mode="binary", color_mode="rgba", shuffle=False,
                                      batch_size=None, data_format="channels_first",
                                      verbose=False)
    assert ds.class_names == ["c_cls", "a_cls"] and len(ds) == 6  # unbatched: one per sample
    x, y = ds[0]
    assert x.shape == (4, 8, 8) and y.shape == (1,) and y.dtype == np.float32
    np.testing.assert_array_equal(x[:3], pixels[ds.file_paths[0]].transpose(2, 0, 1))
    np.testing.assert_array_equal(x[3], 255)  # opaque alpha
    assert [float(ds[i][1][0]) for i in range(6)] == [0, 0, 0, 1, 1, 1]
    gray = image_dataset_from_directory(root, image_size=(8, 8), labels=None, shuffle=False,
                                        color_mode="grayscale", verbose=False)[0]
    assert gray.shape == (9, 8, 8, 1)  # labels=None: images only
    rgb = pixels[_sorted_paths(root, pixels)[0]].astype(np.float64)
    lum = (rgb[..., 0] * 299 + rgb[..., 1] * 587 + rgb[..., 2] * 114) / 1000
    np.testing.assert_allclose(gray[0, :, :, 0], lum, atol=1.0)


def test_image_resize_crop_pad(tmp_path):
    arr = np.random.default_rng(1).integers(0, 256, (8, 12, 3), dtype=np.uint8)
    (tmp_path / "k").mkdir()
    Image.fromarray(arr).save(tmp_path / "k" / "x.png")
    load = dict(batch_size=1, shuffle=False, verbose=False)
    x = image_dataset_from_directory(tmp_path, image_size=(4, 5), **load)[0][0][0]
    np.testing.assert_array_equal(x, resize_image(arr, (4, 5), "bilinear"))  # tested elsewhere
    crop = image_dataset_from_directory(tmp_path, image_size=(4, 4), crop_to_aspect_ratio=True,
                                        interpolation="nearest", **load)[0][0][0]
    # the centred 8x8 window (columns 2..9), nearest: pixels 2*i + 1 (floor((i + .5) * 2))
    np.testing.assert_array_equal(crop, arr[1::2, 2:10][:, 1::2])
    pad = image_dataset_from_directory(tmp_path, image_size=(6, 6), pad_to_aspect_ratio=True,
                                       interpolation="area", **load)[0][0][0]
    inner = arr.astype(np.float32).reshape(4, 2, 6, 2, 3).mean(axis=(1, 3))  # 8x12 -> 4x6
    np.testing.assert_array_equal(pad[[0, 5]], 0)
    np.testing.assert_allclose(pad[1:5], inner, atol=1e-3)


def test_image_size_none_keeps_size_and_rejects_mixed_sizes(tmp_path):
    (tmp_path / "k").mkdir()
    Image.fromarray(np.zeros((5, 7, 3), np.uint8)).save(tmp_path / "k" / "a.png")
    x, _ = image_dataset_from_directory(tmp_path, image_size=None, verbose=False)[0]
    assert x.shape == (1, 5, 7, 3)
    Image.fromarray(np.zeros((6, 6, 3), np.uint8)).save(tmp_path / "k" / "b.png")
    with pytest.raises(ValueError, match=r"same size.*a\.png is 5x7.*b\.png is 6x6"):
        image_dataset_from_directory(tmp_path, image_size=None, shuffle=False, verbose=False)
    single = image_dataset_from_directory(tmp_path, image_size=None, batch_size=None,
                                          shuffle=False, verbose=False)
    assert single[1][0].shape == (6, 6, 3)


def test_image_bad_input_errors(tmp_path, image_root):
    root, _ = image_root
    with pytest.raises(ValueError, match="does not exist"):
        image_dataset_from_directory(tmp_path / "missing")
    with pytest.raises(ValueError, match="no sub-folders"):
        image_dataset_from_directory(tmp_path)
    (tmp_path / "empty_class").mkdir()
    with pytest.raises(ValueError, match=r"no image files found.*\.png"):
        image_dataset_from_directory(tmp_path, verbose=False)
    with pytest.raises(ValueError, match="must give a `seed`"):
        image_dataset_from_directory(root, validation_split=0.2, subset="training")
    with pytest.raises(ValueError, match='`subset` must be "training"'):
        image_dataset_from_directory(root, validation_split=0.2, subset="train", seed=1)
    with pytest.raises(ValueError, match="give both or neither"):
        image_dataset_from_directory(root, subset="training", seed=1)
    with pytest.raises(ValueError, match="leaves none for validation"):
        image_dataset_from_directory(root, validation_split=0.1, subset="validation", seed=1,
                                     verbose=False)
    with pytest.raises(ValueError, match='label_mode="binary" needs exactly 2 classes'):
        image_dataset_from_directory(root, label_mode="binary", verbose=False)
    with pytest.raises(ValueError, match=r"class_names.*not found: \['zzz'\]"):
        image_dataset_from_directory(root, class_names=["a_cls", "zzz"])
    with pytest.raises(ValueError, match="`labels` has 2 entries but 9 image files"):
        image_dataset_from_directory(root, labels=[0, 1], verbose=False)
    for kwargs, message in [({"color_mode": "rgbx"}, "color_mode"),
                            ({"image_size": (0, 4)}, "image_size"),
                            ({"interpolation": "cubic"}, "interpolation"),
                            ({"label_mode": "sparse"}, "label_mode"),
                            ({"batch_size": 0}, "batch_size")]:
        with pytest.raises(ValueError, match=message):
            image_dataset_from_directory(root, **kwargs)


def test_unreadable_image_names_the_file(tmp_path):
    (tmp_path / "k").mkdir()
    (tmp_path / "k" / "broken.png").write_bytes(b"not a png at all")
    ds = image_dataset_from_directory(tmp_path, image_size=(4, 4), verbose=False)
    with pytest.raises(ValueError, match=r"cannot read .*broken\.png as an image"):
        ds[0]


def test_explicit_labels_follow_sorted_paths(image_root):
    root, pixels = image_root
    labels = [5, 1, 2, 0, 1, 2, 0, 1, 2]
    ds = image_dataset_from_directory(root, labels=labels, shuffle=False, image_size=(8, 8),
                                      verbose=False)
    assert ds.class_names == ["0", "1", "2", "5"]
    assert ds.file_paths == _sorted_paths(root, pixels)
    np.testing.assert_array_equal(ds[0][1], labels)


def test_shuffle_changes_each_epoch_reproducibly(image_root):
    root, _ = image_root

    def epochs(seed):
        ds = image_dataset_from_directory(root, image_size=(2, 2), batch_size=9, seed=seed,
                                          verbose=False)
        return [tuple(np.concatenate([y for _, y in ds])) for _ in range(3)]

    first = epochs(11)
    assert first == epochs(11)
    assert len(set(first)) > 1 and all(sorted(e) == [0, 0, 0, 1, 1, 1, 2, 2, 2] for e in first)


def test_fit_evaluate_predict_take_dataset(image_root):
    root, _ = image_root
    train, val = image_dataset_from_directory(root, image_size=(4, 4), batch_size=4, seed=1,
                                              validation_split=0.34, subset="both",
                                              verbose=False)
    scaled = train.map(lambda x, y: (x / 255.0, y)).prefetch(2)
    assert scaled.class_names == train.class_names and len(scaled) == len(train)
    model = jkeras.Sequential([jkeras.Input((4, 4, 3)), jkeras.layers.Flatten(),
                               jkeras.layers.Dense(3, activation="softmax")])
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(scaled, validation_data=val, epochs=2, verbose=0)
    assert len(history.history["loss"]) == 2 and "val_accuracy" in history.history
    assert model.predict(val, verbose=0).shape == (len(val.file_paths), 3)
    assert len(list(train.take(1))) == 1


def test_long_scan_reports_progress(image_root, monkeypatch, capsys):
    walk = index_mod._walk

    def slow_walk(*args):
        time.sleep(0.05)
        return walk(*args)

    monkeypatch.setattr(index_mod, "_walk", slow_walk)
    monkeypatch.setattr(index_mod, "PROGRESS_INTERVAL_S", 0.01)
    image_dataset_from_directory(image_root[0], shuffle=False)
    assert "files so far" in capsys.readouterr().out


# --- text ------------------------------------------------------------------------------
def test_text_dataset(tmp_path):
    texts = {"pos": ["good film", "great ☺ plot"], "neg": ["dull", "bad acting", "meh"]}
    for label, items in texts.items():
        (tmp_path / label).mkdir()
        for i, t in enumerate(items):
            (tmp_path / label / f"{i}.txt").write_text(t, encoding="utf-8")
    ds = text_dataset_from_directory(tmp_path, batch_size=8, shuffle=False, max_length=10,
                                     label_mode="binary", verbose=False)
    x, y = ds[0]
    assert ds.class_names == ["neg", "pos"] and x.dtype == object and x.shape == (5,)
    assert list(x) == ["dull", "bad acting", "meh", "good film", "great ☺ pl"]
    np.testing.assert_array_equal(y, [[0], [0], [0], [1], [1]])
    unlabeled = text_dataset_from_directory(tmp_path, labels=None, batch_size=None,
                                            shuffle=False, verbose=False)
    assert unlabeled[0] == "dull" and len(unlabeled) == 5


# --- audio -----------------------------------------------------------------------------
def _write_wav(path, samples: np.ndarray, rate: int = 8000, width: int = 2):
    with wave.open(str(path), "wb") as f:
        f.setnchannels(samples.shape[1])
        f.setsampwidth(width)
        f.setframerate(rate)
        f.writeframes(samples.astype("<i2" if width == 2 else np.uint8).tobytes())


def test_audio_dataset(tmp_path):
    rng = np.random.default_rng(2)
    clips = {"dog": [rng.integers(-3000, 3000, (n, 1)) for n in (5, 9)],
             "cat": [rng.integers(-3000, 3000, (7, 1))]}
    for label, items in clips.items():
        (tmp_path / label).mkdir()
        for i, c in enumerate(items):
            _write_wav(tmp_path / label / f"{i}.wav", c)
    _write_wav(tmp_path / "cat" / "u8.wav", np.array([[0], [128], [255]]), width=1)
    ds = audio_dataset_from_directory(tmp_path, batch_size=8, shuffle=False, verbose=False)
    x, y = ds[0]
    assert ds.class_names == ["cat", "dog"] and x.dtype == np.float32 and x.shape == (4, 9, 1)
    np.testing.assert_allclose(x[0, :7], clips["cat"][0] / 32768.0)
    np.testing.assert_array_equal(x[0, 7:], 0)  # padded to the longest clip of the batch
    np.testing.assert_allclose(x[1, :3, 0], [-1.0, 0.0, 127 / 128])
    np.testing.assert_array_equal(y, [0, 0, 1, 1])
    fixed = audio_dataset_from_directory(tmp_path, output_sequence_length=6, shuffle=False,
                                         verbose=False)[0][0]
    assert fixed.shape == (4, 6, 1)
    np.testing.assert_allclose(fixed[3], clips["dog"][1][:6] / 32768.0)
    ragged = audio_dataset_from_directory(tmp_path, ragged=True, shuffle=False,
                                          verbose=False)[0][0]
    assert [len(c) for c in ragged] == [7, 3, 5, 9]
    resampled = audio_dataset_from_directory(tmp_path, sampling_rate=16000, ragged=True,
                                             shuffle=False, verbose=False)[0][0]
    assert [len(c) for c in resampled] == [14, 6, 10, 18]
    with pytest.raises(ValueError, match="cannot both be set"):
        audio_dataset_from_directory(tmp_path, ragged=True, output_sequence_length=4)
    (tmp_path / "cat" / "bad.wav").write_bytes(b"RIFF junk")
    with pytest.raises(ValueError, match=r"cannot read .*bad\.wav as a PCM WAV"):
        audio_dataset_from_directory(tmp_path, shuffle=False, verbose=False)[0]


# --- timeseries --------------------------------------------------------------------------
def test_timeseries_windows_match_hand_built_list():
    data = np.arange(99)
    ds = timeseries_dataset_from_array(data, None, sequence_length=10, sampling_rate=2,
                                       sequence_stride=3, batch_size=8)
    windows = np.concatenate(list(ds))
    expected = [list(range(s, s + 20, 2)) for s in range(0, 79, 3)]  # Keras's documented example
    np.testing.assert_array_equal(windows, expected)
    assert windows.dtype == data.dtype and len(ds) == -(-27 // 8)


def test_timeseries_targets_indices_and_shuffle():
    data = np.arange(50, dtype=np.float32).reshape(25, 2)
    targets = np.arange(100, 125)
    ds = timeseries_dataset_from_array(data, targets, sequence_length=3, start_index=4,
                                       end_index=12, batch_size=None)
    starts = list(range(4, 10))  # windows must end before index 12
    assert len(ds) == len(starts)
    for (w, t), s in zip(ds, starts):
        np.testing.assert_array_equal(w, data[s:s + 3])
        assert t == targets[s]
    shuffled = timeseries_dataset_from_array(data, targets, sequence_length=3, batch_size=4,
                                             shuffle=True, seed=5)
    order = np.arange(23)
    np.random.RandomState(5).shuffle(order)  # Keras's start order for this seed
    got = np.concatenate([t for _, t in shuffled])
    np.testing.assert_array_equal(got, targets[order])
    with pytest.raises(ValueError, match="no window fits"):
        timeseries_dataset_from_array(data, None, sequence_length=30)
    with pytest.raises(ValueError, match="`end_index`.*must be higher than `start_index`"):
        timeseries_dataset_from_array(data, None, 2, start_index=10, end_index=5)
    with pytest.raises(ValueError, match="`sampling_rate` must be an integer >= 1"):
        timeseries_dataset_from_array(data, None, 2, sampling_rate=0)
