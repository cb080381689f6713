"""The emoji data set: parsing emoji-test.txt, the split, the render cache, and `make_dataset("emoji")`."""
from __future__ import annotations

import numpy as np
import pytest

from ganstudio.training import emoji
from ganstudio.training.data import DatasetError, describe_dataset, make_dataset

SMALL_TEST_FILE = """\
# emoji-test.txt (a cut-down copy)
# group: Smileys & Emotion
# subgroup: face-smiling
1F600                                                  ; fully-qualified     # 😀 E1.0 grinning face
263A FE0F                                              ; fully-qualified     # ☺️ E0.6 smiling face
263A                                                   ; unqualified         # ☺ E0.6 smiling face
# group: People & Body
1F44D                                                  ; fully-qualified     # 👍 E0.6 thumbs up
1F44D 1F3FD                                            ; fully-qualified     # 👍🏽 E1.0 thumbs up: medium skin tone
1F468 200D 1F469 200D 1F467                            ; fully-qualified     # 👨‍👩‍👧 E2.0 family: man, woman, girl
# group: Component
1F3FB                                                  ; component           # 🏻 E1.0 light skin tone
# group: Animals & Nature
1F98A                                                  ; fully-qualified     # 🦊 E3.0 fox
# group: Food & Drink
1F347                                                  ; fully-qualified     # 🍇 E0.6 grapes
# group: Travel & Places
1F30D                                                  ; fully-qualified     # 🌍 E0.7 globe showing Europe-Africa
# group: Activities
1F383                                                  ; fully-qualified     # 🎃 E0.6 jack-o-lantern
# group: Objects
1F453                                                  ; fully-qualified     # 👓 E0.6 glasses
# group: Symbols
0023 FE0F 20E3                                         ; fully-qualified     # #️⃣ E0.6 keycap: #
# group: Flags
1F1EB 1F1F7                                            ; fully-qualified     # 🇫🇷 E0.6 flag: France
"""
FONT_MISSING = f"Noto Color Emoji not installed ({emoji.EMOJI_FONT}; Debian fonts-noto-color-emoji, `make data`)"
needs_font = pytest.mark.skipif(not emoji.EMOJI_FONT.is_file(), reason=FONT_MISSING)


@pytest.fixture
def small_sources(tmp_path, monkeypatch):
    """A cut-down emoji-test.txt with one glyph or more per group, and an empty cache folder."""
    test_file = tmp_path / "emoji-test.txt"
    test_file.write_text(SMALL_TEST_FILE, encoding="utf-8")
    monkeypatch.setenv(emoji.TEST_ENV, str(test_file))
    monkeypatch.setenv("GANSTUDIO_CACHE", str(tmp_path / "cache"))
    return test_file


def test_parse_keeps_fully_qualified_with_their_group():
    entries = emoji.parse_emoji_test(SMALL_TEST_FILE)
    assert [e.sequence for e in entries[:2]] == ["\U0001F600", "\u263A\uFE0F"]  # the unqualified one dropped
    assert entries[0].name == "grinning face"
    assert entries[4].name == "family: man, woman, girl"
    assert all("\U0001F3FB" != e.sequence for e in entries)  # the Component group is not a class
    assert sorted({e.group for e in entries}) == list(range(len(emoji.GROUPS)))
    assert emoji.GROUPS[entries[-1].group] == "Flags"


def test_skin_tone_variants_are_recognised():
    assert emoji.has_skin_tone("\U0001F44D\U0001F3FD")
    assert not emoji.has_skin_tone("\U0001F44D")


def _fake_set(n: int, tones_every: int = 3) -> emoji.EmojiSet:
    seqs = np.array([("\U0001F44D\U0001F3FB" if i % tones_every == 0 else "\U0001F44D") + chr(0x41 + i % 26)
                     for i in range(n)])
    return emoji.EmojiSet(np.zeros((n, 3, 4, 4), np.uint8), np.arange(n) % len(emoji.GROUPS), seqs,
                          np.array([f"e{i}" for i in range(n)]), 0)


def test_split_is_disjoint_and_base_is_a_subset():
    data = _fake_set(200)
    train, test = emoji.select(data, "emoji", "train", None), emoji.select(data, "emoji", "test", None)
    assert len(train) + len(test) == 200 and not set(train) & set(test)
    assert len(test) == 20
    base_train, base_test = emoji.select(data, "emoji-base", "train", None), emoji.select(data, "emoji-base", "test", None)
    assert set(base_test) <= set(test) and set(base_train) <= set(train)
    assert not any(emoji.has_skin_tone(str(s)) for s in data.sequences[np.concatenate([base_train, base_test])])


def test_limit_spreads_over_the_split():
    data = _fake_set(900)
    idx = emoji.select(data, "emoji", "train", 45)
    assert len(idx) == 45 and len(set(idx)) == 45
    assert set(data.groups[idx].tolist()) == set(range(len(emoji.GROUPS)))  # not just the first group


def test_missing_font_is_one_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv(emoji.FONT_ENV, str(tmp_path / "absent.ttf"))
    monkeypatch.setenv(emoji.TEST_ENV, str(tmp_path / "absent.txt"))
    with pytest.raises(DatasetError) as info:
        make_dataset("emoji", 64, 3)
    msg = str(info.value)
    assert "fonts-noto-color-emoji" in msg and "unicode-data" in msg and "\n" not in msg
    assert "fonts-noto-color-emoji" in describe_dataset("emoji")


@needs_font
def test_render_draws_sequences_as_one_glyph():
    font = emoji._open_font()
    for seq in ("\U0001F600", "\U0001F468\u200d\U0001F469\u200d\U0001F467", "\U0001F1EB\U0001F1F7", "#\ufe0f\u20e3"):
        img = emoji.render_glyph(font, seq)
        assert img.shape == (64, 64, 3) and img.dtype == np.uint8
        assert (img != 255).any(axis=-1).mean() > 0.2, seq  # drawn, not a blank on the white background
        assert (img[0, 0] == 255).all()  # the corner is background
    assert emoji.render_glyph(font, "\U0001F600\U0001F98A") is None  # two glyphs: not one emoji


@needs_font
def test_make_dataset_renders_caches_and_reuses(small_sources):
    ds = make_dataset("emoji", 64, 3)
    assert ds.class_names == emoji.GROUPS and ds.images.shape[1:] == (3, 64, 64)
    assert len(ds) == 11 and len(make_dataset("emoji", 64, 3, split="test")) == 1  # glyph 9 is a test glyph
    cached = list((small_sources.parent / "cache").glob("emoji-*.npz"))
    assert len(cached) == 1 and not list((small_sources.parent / "cache").glob("*.tmp"))
    again = make_dataset("emoji", 32, 1)  # from the cache, at another geometry
    assert again.images.shape[1:] == (1, 32, 32) and again.labels.tolist() == ds.labels.tolist()
    x, y = ds[0]
    assert x.shape == (3, 64, 64) and -1 <= float(x.min()) and float(x.max()) <= 1 and y == 0
    assert len(make_dataset("emoji-base", 64, 3)) == 10  # the thumbs up with a skin tone left out


@needs_font
def test_a_broken_cache_is_rendered_again(small_sources):
    first = make_dataset("emoji", 64, 3).images.clone()
    (path,) = (small_sources.parent / "cache").glob("emoji-*.npz")
    path.write_bytes(b"not an npz")
    assert make_dataset("emoji", 64, 3).images.equal(first)
    with np.load(path, allow_pickle=False) as z:
        assert z["images"].shape[0] == 12


@needs_font
def test_a_changed_emoji_list_is_not_served_from_an_old_cache(small_sources):
    assert len(make_dataset("emoji", 64, 3)) == 11
    text = SMALL_TEST_FILE.replace("1F98A", "1F98B").replace("fox", "butterfly")
    small_sources.write_text(text + "1F98A ; fully-qualified # 🦊 E3.0 fox\n", encoding="utf-8")
    assert len(make_dataset("emoji", 64, 3)) + len(make_dataset("emoji", 64, 3, split="test")) == 13


@needs_font
def test_without_complex_text_layout_it_refuses_instead_of_drawing_pieces(small_sources, monkeypatch):
    from PIL import features
    real = features.check
    monkeypatch.setattr(features, "check", lambda name: False if name == "raqm" else real(name))
    with pytest.raises(DatasetError, match="libraqm"):
        make_dataset("emoji", 64, 3)
    assert not list((small_sources.parent / "cache").glob("*"))  # nothing half-made cached
