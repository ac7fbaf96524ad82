#!/usr/bin/env python3
"""Build fasforge's tiny CLIP *stand-in* model (random weights, not a real CLIP).

Writes, under ``models/tiny-clip-standin/``:

* ``vision.onnx``  input ``pixel_values`` float32 [N,3,224,224] -> ``image_embeds`` float32 [N,64]
* ``text.onnx``    input ``input_ids`` int64 [N,77]             -> ``text_embeds``  float32 [N,64]
* ``bpe_vocab.txt.gz`` a CLIP-format BPE merge file (header line, then "a b" merges)
  learned from the small English corpus below
* ``model.json``   the manifest read by ``activities/clip/scorer.ts`` (with sha256 of each file)

and ``tests/activities/clip/fixtures/tokens.golden.json``: token ids for ~30 strings computed by
the reference tokenizer in this file, which is written independently of the TypeScript one
(a hand-written pre-tokeniser over ``unicodedata`` categories and a one-merge-at-a-time BPE).

The input/output names match the usual Hugging Face ONNX export of openai/clip-vit-base-patch32
split into a vision and a text tower, so real weights load through the same code.

Each tower L2-normalises a random, input-dependent vector (vision: a small MLP over 32x32
average-pooled patches; text: a small MLP over the mean of the content-token embeddings, padding
and markers excluded) and adds a constant offset: ``sqrt(0.3) * c`` shared by both towers plus
``sqrt(0.2) * d`` private to each, all orthogonal to the random parts. Hence
cosine(image, text) = 0.2 + (u.v) / 1.5: centred on 0.2 and spreading over roughly 0.05-0.35,
so a 0.15 threshold keeps some pairs and drops others. The scores mean nothing.

Needs only ``onnx`` and ``numpy``; the output is byte-for-byte reproducible.
Run:  python3 -m venv /tmp/clipvenv && /tmp/clipvenv/bin/pip install onnx numpy
      /tmp/clipvenv/bin/python scripts/make-tiny-clip.py
"""

from __future__ import annotations

import gzip
import hashlib
import html
import json
import re
import sys
import unicodedata
from collections import Counter
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

ROOT = Path(__file__).resolve().parent.parent
OUT_DIR = ROOT / "models" / "tiny-clip-standin"
GOLDEN = ROOT / "tests" / "activities" / "clip" / "fixtures" / "tokens.golden.json"

SEED = 20240615
EMBED_DIM = 64
CONTEXT_LENGTH = 77
IMAGE_SIZE = 224
PATCH = 32
MAX_MERGES = 1000
# Each tower adds SHARED * c + PRIVATE * d_tower (c, d_vision, d_text orthonormal, and orthogonal to
# the random parts), so cosine = (SHARED^2 + u.v) / (1 + SHARED^2 + PRIVATE^2) = 0.2 + u.v / 1.5.
SHARED_SCALE = 0.3**0.5
PRIVATE_SCALE = 0.2**0.5
MEAN = [0.48145466, 0.4578275, 0.40821073]
STD = [0.26862954, 0.26130258, 0.27577711]
SOT = "<start_of_text>"  # open_clip's marker names
EOT = "<end_of_text>"

# --------------------------------------------------------------------------------------------
# A small English corpus (written for this script) from which the stand-in merges are learned.
# --------------------------------------------------------------------------------------------
CORPUS = """
A photo of a person looking straight at the camera in a bright room.
The face is clearly visible, with natural skin texture and soft shadows under the eyes.
This image shows a printed photograph held in front of the camera; the paper edges are visible.
A replay attack: a video of the face is played on a phone screen, and moire patterns appear.
The screen reflects the light of the window, and the bezel of the tablet can be seen at the border.
A paper mask with holes cut out for the eyes is worn over the real face of a person.
A silicone mask looks almost real, but the skin is too smooth and the eyes do not blink.
The three dimensional mask has a glossy surface and a fixed expression.
There is a strong glare across the forehead, which suggests a glossy printed photo.
The person is wearing glasses, and the lenses reflect the ring light.
Real faces show fine details such as pores, small hairs, and subtle changes in colour.
Spoof faces often lack depth; the nose and cheeks look flat and the lighting is uniform.
Is this a live face or a presentation attack? Look at the texture, the edges, and the reflections.
The answer is that the face is live, because the skin texture is natural and there are no screen artefacts.
The answer is that the face is a spoof, because the paper border and the printing dots are visible.
Describe the image and explain whether the face is real or fake.
The image was taken indoors under warm light; the background is a plain white wall.
The image was taken outdoors on a sunny day; there are trees and a blue sky behind the person.
A man with a short beard smiles at the camera. A woman with long dark hair looks to the left.
A child wearing a red hat stands near the door. An older man with grey hair wears a blue shirt.
The camera is close to the face, so only the eyes, nose, mouth, and chin are in the frame.
The resolution is low and the picture is blurry, which makes the decision harder.
Colour distortion, halftone dots, and banding are common signs of a printed attack.
Pixel grids, screen flicker, and moire are common signs of a replay attack on a display.
Cut edges, stiff expressions, and unnatural eye regions are common signs of a mask attack.
The dataset contains thousands of images of real people and many kinds of attacks.
Each sample has an instruction, a question, and an answer written in plain English.
The model should answer the question with a short explanation and a final label.
Please look carefully at the face region and report any evidence of spoofing.
The lighting comes from the right side, leaving the left half of the face in shadow.
Her eyes are open and she is looking slightly down; his mouth is closed.
They are standing in front of a mirror, and the reflection shows the back of the phone.
We can see the fingers of the attacker holding the printed picture by its corners.
The photo is bent, so the face looks curved and distorted near the top.
The screen is very bright, and the colours look too saturated compared with real skin.
A face detector found one face in the centre of the image with high confidence.
The crop includes the hair, the ears, and part of the neck and shoulders.
Numbers and dates such as 2023, 2024, 12 images, and 3 attacks appear in the notes.
It's a real face; it isn't a photo. They're live; we've checked. I'm sure you'll agree, he'd say.
The quick brown fox jumps over the lazy dog, and the lazy dog does not move at all.
In the morning the light is cool and blue, and in the evening it is warm and orange.
Good data makes good models, and careful labels make the evaluation fair and useful.
The training set, the validation set, and the test set must not share the same people.
Every description should mention the attack type, the material, and the visible clues.
Some attacks are easy to see, while others are subtle and need a close look at the details.
The person turns the head to the right, then to the left, and then looks back at the camera.
Motion blur appears when the subject moves quickly or when the camera shakes.
A high quality print on matte paper can fool a simple detector but not a careful observer.
The tablet shows a face with a visible white frame and a small icon in the corner.
The mask covers the whole head, including the hair, and it has painted eyebrows.
Look for the difference between real depth and a flat surface that only looks deep.
This is a close up portrait with a shallow depth of field and a blurred background.
The face is partially covered by a hand, a scarf, or a medical mask.
Wearing a medical mask is not a spoof; it is a real person with a covered mouth and nose.
The illumination is even, the focus is sharp, and the face fills most of the picture.
There are two faces in the picture: one is real and the other is shown on a screen.
Anti spoofing systems protect face recognition from fraud and identity theft.
Liveness detection checks that a real living person is present in front of the sensor.
The sensor captures colour images, and some systems also capture depth or infrared images.
An infrared image of a printed photo looks very different from an infrared image of real skin.
Thank you for reading; please write a clear, complete, and honest answer.
"""

# --------------------------------------------------------------------------------------------
# Byte <-> unicode table, text clean-up and pre-tokenisation (reference implementation).
# --------------------------------------------------------------------------------------------


def bytes_to_unicode() -> dict[int, str]:
    """CLIP/GPT-2 reversible byte -> printable unicode character table (insertion order matters)."""
    printable = (
        list(range(ord("!"), ord("~") + 1))
        + list(range(ord("\u00a1"), ord("\u00ac") + 1))
        + list(range(ord("\u00ae"), ord("\u00ff") + 1))
    )
    # Insertion order is the vocabulary order: printable bytes first, then the others ascending.
    table: dict[int, str] = {b: chr(b) for b in printable}
    extra = 0
    for b in range(256):
        if b not in table:
            table[b] = chr(256 + extra)
            extra += 1
    return table


BYTE_ENCODER = bytes_to_unicode()
BYTE_DECODER = {v: k for k, v in BYTE_ENCODER.items()}

# Unicode White_Space (what the `regex` module's \s matches in CLIP's pre-tokeniser).
WHITE_SPACE = set(
    "\t\n\x0b\x0c\r \x85\xa0\u1680\u2028\u2029\u202f\u205f\u3000"
    + "".join(chr(c) for c in range(0x2000, 0x200B))
)
CONTRACTIONS = ["'s", "'t", "'re", "'ve", "'m", "'ll", "'d"]


CONTROL_CHARS = {c: None for c in [*range(0x00, 0x09), 0x0B, *range(0x0E, 0x20), 0x7F, *range(0x206A, 0x2070), 0xFEFF, *range(0xFFF9, 0xFFFD)]}
LIGATURES = {0x132: "IJ", 0x133: "ij", 0xFB00: "ff", 0xFB01: "fi", 0xFB02: "fl", 0xFB03: "ffi", 0xFB04: "ffl", 0xFB05: "\u017ft", 0xFB06: "st"}
WIDTH = {c: c - 0xFEE0 for c in range(0xFF01, 0xFF5F)} | {0x3000: 0x20}


def clean_text(text: str) -> str:
    """CLIP's basic_clean + whitespace_clean + lower(), with the subset of ftfy.fix_text that
    fasforge keeps (HTML unescape, control characters, ligatures, full width, curly quotes, NFC)."""
    if "<" not in text:
        text = html.unescape(text)
    text = text.translate(CONTROL_CHARS).translate(LIGATURES).translate(WIDTH)
    text = re.sub("[\u02bc\u2018-\u201b]", "'", text)
    text = re.sub("[\u201c-\u201f]", '"', text)
    text = unicodedata.normalize("NFC", text)
    text = html.unescape(html.unescape(text))
    text = text.strip()
    text = "".join(" " if ch.isspace() else ch for ch in text)
    text = re.sub(" +", " ", text).strip()
    return text.lower()


def _cat(ch: str) -> str:
    return unicodedata.category(ch)[0]


def pretokenize(text: str) -> list[str]:
    """A hand-written scanner equivalent to CLIP's pre-tokenising regular expression."""
    out: list[str] = []
    i = 0
    n = len(text)
    while i < n:
        matched = None
        for special in (SOT, EOT):
            if text.startswith(special, i):
                matched = special
                break
        if matched is None:
            for c in CONTRACTIONS:
                if text.startswith(c, i):
                    matched = c
                    break
        if matched is not None:
            out.append(matched)
            i += len(matched)
            continue
        ch = text[i]
        if _cat(ch) == "L":
            j = i
            while j < n and _cat(text[j]) == "L":
                j += 1
            out.append(text[i:j])
            i = j
        elif _cat(ch) == "N":
            out.append(ch)
            i += 1
        elif ch in WHITE_SPACE:
            i += 1
        else:
            j = i
            while j < n and text[j] not in WHITE_SPACE and _cat(text[j]) not in ("L", "N"):
                j += 1
            out.append(text[i:j])
            i = j
    return out


def to_symbols(token: str) -> list[str]:
    chars = [BYTE_ENCODER[b] for b in token.encode("utf-8")]
    chars[-1] = chars[-1] + "</w>"
    return chars


# --------------------------------------------------------------------------------------------
# BPE training (most frequent adjacent pair first; ties broken by the pair's text).
# --------------------------------------------------------------------------------------------


def learn_merges(corpus: str, max_merges: int) -> list[tuple[str, str]]:
    words = Counter(
        tuple(to_symbols(tok)) for line in corpus.splitlines() for tok in pretokenize(clean_text(line))
    )
    vocab: dict[tuple[str, ...], int] = dict(words)
    known = set(BYTE_ENCODER.values()) | {v + "</w>" for v in BYTE_ENCODER.values()}
    merges: list[tuple[str, str]] = []
    while len(merges) < max_merges:
        pairs: Counter[tuple[str, str]] = Counter()
        for word, freq in vocab.items():
            for a, b in zip(word, word[1:]):
                pairs[(a, b)] += freq
        # Never learn a second rule producing an existing token: ids must stay unique.
        candidates = [(-c, p) for p, c in pairs.items() if p[0] + p[1] not in known]
        if not candidates:
            break
        _, best = min(candidates)
        merges.append(best)
        known.add(best[0] + best[1])
        new_vocab: dict[tuple[str, ...], int] = {}
        for word, freq in vocab.items():
            merged: list[str] = []
            i = 0
            while i < len(word):
                if i + 1 < len(word) and word[i] == best[0] and word[i + 1] == best[1]:
                    merged.append(best[0] + best[1])
                    i += 2
                else:
                    merged.append(word[i])
                    i += 1
            key = tuple(merged)
            new_vocab[key] = new_vocab.get(key, 0) + freq
        vocab = new_vocab
    return merges


# --------------------------------------------------------------------------------------------
# Reference tokenizer (used only to write the golden fixture).
# --------------------------------------------------------------------------------------------


class ReferenceTokenizer:
    def __init__(self, merges: list[tuple[str, str]]):
        base = list(BYTE_ENCODER.values())
        vocab = base + [v + "</w>" for v in base] + [a + b for a, b in merges] + [SOT, EOT]
        self.encoder = {tok: i for i, tok in enumerate(vocab)}
        self.ranks = {pair: i for i, pair in enumerate(merges)}
        self.sot = self.encoder[SOT]
        self.eot = self.encoder[EOT]
        self.vocab_size = len(vocab)

    def bpe(self, token: str) -> list[str]:
        """Merges the byte symbols of one raw (not yet byte-encoded) pre-token."""
        symbols = to_symbols(token)
        # One merge at a time: the lowest-ranked adjacent pair, leftmost occurrence first.
        while len(symbols) > 1:
            best_rank, best_at = None, -1
            for i in range(len(symbols) - 1):
                rank = self.ranks.get((symbols[i], symbols[i + 1]))
                if rank is not None and (best_rank is None or rank < best_rank):
                    best_rank, best_at = rank, i
            if best_rank is None:
                break
            symbols[best_at : best_at + 2] = [symbols[best_at] + symbols[best_at + 1]]
        return symbols

    def encode(self, text: str) -> list[int]:
        ids: list[int] = []
        for tok in pretokenize(clean_text(text)):
            if tok in (SOT, EOT):
                ids.append(self.encoder[tok])
                continue
            ids.extend(self.encoder[s] for s in self.bpe(tok))
        return ids

    def context(self, text: str, length: int = CONTEXT_LENGTH) -> list[int]:
        ids = [self.sot] + self.encode(text) + [self.eot]
        if len(ids) > length:
            ids = ids[:length]
            ids[-1] = self.eot
        return ids + [0] * (length - len(ids))


LONG_TEXT = (
    "The person in this picture is holding a printed photograph of another face in front of the "
    "camera, and the white border of the paper, the fingers at its corners, the flat lighting, the "
    "halftone dots and the slight bend of the sheet all show that this is a print attack rather than "
    "a live face; in addition the colours are washed out, the eyes do not reflect the room, and the "
    "background behind the paper does not line up with the background visible around its edges. "
) * 3

GOLDEN_TEXTS = [
    "a photo of a face",
    "Hello, World!",
    "A   person   holding    a printed photo",
    "   leading and trailing spaces   ",
    "UPPER CASE TEXT",
    "it's a spoof; they're real, we've seen, I'm sure, you'll see, he'd know",
    "don't can't won't",
    "Numbers: 12345 and 3.14159, 2024-05-01",
    "email: someone@example.com #hashtag $100 50% off!!!",
    "Tom &amp; Jerry &lt;3 &quot;quoted&quot; &#39;single&#39;",
    "caf&#233; et &#xE9;t&#xe9;, a&nbsp;b",
    "naïve café résumé",
    "cafe\u0301 decomposed",
    "Ünïcödé façade coöperate",
    "日本語のテキストです",
    "Привет мир, ΟΔΟΣ and İstanbul",
    "emoji 😀👍 faces 🙂!",
    "tab\tand\nnewline\r\nchars",
    "<start_of_text> special tokens <end_of_text>",
    "curly quotes \u2018single\u2019 and \u201cdouble\u201d person\u2019s",
    "hyphen-ated words and under_scores",
    "",
    "   ",
    "A replay attack: the face is shown on a smartphone screen with visible moiré patterns.",
    "Paper mask with cut-out eyes; 3D silicone mask; printed photo (glossy).",
    "supercalifragilisticexpialidocious antidisestablishmentarianism",
    "1st 2nd 3rd 100th",
    "... --- !!! ??? ,,, ;;;",
    "x!'s ok 'tis",
    "\ufb01nance o\ufb00ice, \uff26\uff35\uff2c\uff2c\u3000width, bom\ufeffhere (&#8217;s)",
    LONG_TEXT,
    " ".join(["spoof"] * 120),
]

# --------------------------------------------------------------------------------------------
# ONNX graphs.
# --------------------------------------------------------------------------------------------


def orthonormal_complement(w: np.ndarray, basis: np.ndarray) -> np.ndarray:
    """Remove the constant directions (orthonormal columns of basis, [D, k]) from projection w ([in, D])."""
    return (w - (w @ basis) @ basis.T).astype(np.float32)


def constant_directions(rng: np.random.Generator) -> np.ndarray:
    """Orthonormal [D, 3]: the shared direction c, then the vision and the text offsets."""
    q, _ = np.linalg.qr(rng.standard_normal((EMBED_DIM, 3)))
    return q


def const(name: str, array: np.ndarray) -> onnx.TensorProto:
    return numpy_helper.from_array(array, name=name)


def build_vision(rng: np.random.Generator, basis: np.ndarray) -> onnx.ModelProto:
    grid = IMAGE_SIZE // PATCH
    flat_dim = 3 * grid * grid
    hidden = 96
    w1 = (rng.standard_normal((flat_dim, hidden)) * (1.6 / np.sqrt(flat_dim))).astype(np.float32)
    b1 = (rng.standard_normal(hidden) * 0.3).astype(np.float32)
    w2 = orthonormal_complement(rng.standard_normal((hidden, EMBED_DIM)) / np.sqrt(hidden), basis)
    offset = SHARED_SCALE * basis[:, 0] + PRIVATE_SCALE * basis[:, 1]
    inits = [
        const("v_w1", w1),
        const("v_b1", b1),
        const("v_w2", w2),
        const("offset", offset.astype(np.float32)),
        const("eps", np.array([1e-6], dtype=np.float32)),
    ]
    nodes = [
        helper.make_node("AveragePool", ["pixel_values"], ["pooled"], kernel_shape=[PATCH, PATCH], strides=[PATCH, PATCH]),
        helper.make_node("Flatten", ["pooled"], ["flat"], axis=1),
        helper.make_node("MatMul", ["flat", "v_w1"], ["h0"]),
        helper.make_node("Add", ["h0", "v_b1"], ["h1"]),
        helper.make_node("Tanh", ["h1"], ["h"]),
        helper.make_node("MatMul", ["h", "v_w2"], ["u"]),
        helper.make_node("ReduceL2", ["u"], ["u_norm"], axes=[1], keepdims=1),
        helper.make_node("Add", ["u_norm", "eps"], ["u_norm_eps"]),
        helper.make_node("Div", ["u", "u_norm_eps"], ["u_unit"]),
        helper.make_node("Add", ["u_unit", "offset"], ["image_embeds"]),
    ]
    graph = helper.make_graph(
        nodes,
        "fasforge_tiny_clip_standin_vision",
        [helper.make_tensor_value_info("pixel_values", TensorProto.FLOAT, ["batch_size", 3, IMAGE_SIZE, IMAGE_SIZE])],
        [helper.make_tensor_value_info("image_embeds", TensorProto.FLOAT, ["batch_size", EMBED_DIM])],
        initializer=inits,
    )
    return finish(graph, "vision tower of the fasforge tiny CLIP stand-in (random weights, not a real CLIP)")


def build_text(rng: np.random.Generator, basis: np.ndarray, vocab_size: int) -> onnx.ModelProto:
    tok_dim = 32
    hidden = 64
    table = rng.standard_normal((vocab_size, tok_dim))
    table = (table - table.mean(axis=0)).astype(np.float32)  # centred: no direction shared by all texts
    w1 = (rng.standard_normal((tok_dim, hidden)) * (2.0 / np.sqrt(tok_dim))).astype(np.float32)
    b1 = np.zeros(hidden, dtype=np.float32)  # tanh of a centred input stays centred
    w2 = orthonormal_complement(rng.standard_normal((hidden, EMBED_DIM)) / np.sqrt(hidden), basis)
    offset = SHARED_SCALE * basis[:, 0] + PRIVATE_SCALE * basis[:, 2]
    inits = [
        const("t_table", table),
        const("t_w1", w1),
        const("t_b1", b1),
        const("t_w2", w2),
        const("offset", offset.astype(np.float32)),
        const("eps", np.array([1e-6], dtype=np.float32)),
        const("one_f", np.array([1.0], dtype=np.float32)),
        const("zero_i", np.array(0, dtype=np.int64)),
        const("one_i", np.array(1, dtype=np.int64)),
        const("axis1", np.array([1], dtype=np.int64)),
        const("axis2", np.array([2], dtype=np.int64)),
    ]
    nodes = [
        # Content tokens are those after the start token and before the end token (the largest id,
        # found with ArgMax as CLIP does); padding and the two markers are excluded from the mean.
        helper.make_node("Cast", ["input_ids"], ["ids_f"], to=TensorProto.FLOAT),
        helper.make_node("ArgMax", ["ids_f"], ["eot_pos"], axis=1, keepdims=1),
        helper.make_node("Shape", ["input_ids"], ["ids_shape"]),
        helper.make_node("Gather", ["ids_shape", "one_i"], ["seq_len"], axis=0),
        helper.make_node("Range", ["zero_i", "seq_len", "one_i"], ["positions"]),
        helper.make_node("Greater", ["positions", "zero_i"], ["after_sot"]),
        helper.make_node("Less", ["positions", "eot_pos"], ["before_eot"]),
        helper.make_node("And", ["after_sot", "before_eot"], ["content"]),
        helper.make_node("Cast", ["content"], ["mask"], to=TensorProto.FLOAT),
        helper.make_node("Unsqueeze", ["mask", "axis2"], ["mask3"]),
        helper.make_node("Gather", ["t_table", "input_ids"], ["tok_emb"], axis=0),
        helper.make_node("Mul", ["tok_emb", "mask3"], ["masked"]),
        helper.make_node("ReduceSum", ["masked", "axis1"], ["tok_sum"], keepdims=0),
        helper.make_node("ReduceSum", ["mask", "axis1"], ["count"], keepdims=1),
        helper.make_node("Max", ["count", "one_f"], ["count1"]),
        helper.make_node("Div", ["tok_sum", "count1"], ["tok_mean"]),
        helper.make_node("MatMul", ["tok_mean", "t_w1"], ["h0"]),
        helper.make_node("Add", ["h0", "t_b1"], ["h1"]),
        helper.make_node("Tanh", ["h1"], ["h"]),
        helper.make_node("MatMul", ["h", "t_w2"], ["v"]),
        helper.make_node("ReduceL2", ["v"], ["v_norm"], axes=[1], keepdims=1),
        helper.make_node("Add", ["v_norm", "eps"], ["v_norm_eps"]),
        helper.make_node("Div", ["v", "v_norm_eps"], ["v_unit"]),
        helper.make_node("Add", ["v_unit", "offset"], ["text_embeds"]),
    ]
    graph = helper.make_graph(
        nodes,
        "fasforge_tiny_clip_standin_text",
        [helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch_size", "sequence_length"])],
        [helper.make_tensor_value_info("text_embeds", TensorProto.FLOAT, ["batch_size", EMBED_DIM])],
        initializer=inits,
    )
    return finish(graph, "text tower of the fasforge tiny CLIP stand-in (random weights, not a real CLIP)")


def finish(graph: onnx.GraphProto, doc: str) -> onnx.ModelProto:
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="fasforge-make-tiny-clip")
    model.ir_version = 8
    model.doc_string = doc
    onnx.checker.check_model(model, full_check=True)
    return model


# --------------------------------------------------------------------------------------------
# Self-check: run both graphs with onnx's reference evaluator and report the score spread.
# --------------------------------------------------------------------------------------------


def synthetic_images(rng: np.random.Generator, count: int) -> np.ndarray:
    """Smooth random colour fields, solid colours and gradients, CLIP-normalised."""
    mean = np.array(MEAN, dtype=np.float32)[:, None, None]
    std = np.array(STD, dtype=np.float32)[:, None, None]
    ys, xs = np.mgrid[0:IMAGE_SIZE, 0:IMAGE_SIZE].astype(np.float32) / IMAGE_SIZE
    out = []
    for k in range(count):
        kind = k % 3
        if kind == 0:
            img = np.broadcast_to(rng.random(3, dtype=np.float32)[:, None, None], (3, IMAGE_SIZE, IMAGE_SIZE))
        elif kind == 1:
            a, b = rng.random(3, dtype=np.float32), rng.random(3, dtype=np.float32)
            t = (xs * rng.random() + ys * rng.random()) / 2
            img = a[:, None, None] * (1 - t) + b[:, None, None] * t
        else:
            coarse = rng.random((3, 4, 4), dtype=np.float32)
            img = np.kron(coarse, np.ones((IMAGE_SIZE // 4, IMAGE_SIZE // 4), dtype=np.float32))
        out.append((img - mean) / std)
    return np.stack(out).astype(np.float32)


def self_check(vision: onnx.ModelProto, text: onnx.ModelProto, tok: ReferenceTokenizer) -> dict[str, float]:
    from onnx.reference import ReferenceEvaluator

    rng = np.random.default_rng(SEED + 1)
    images = synthetic_images(rng, 30)
    sentences = [s.strip() for s in CORPUS.strip().splitlines()]
    ids = np.array([tok.context(s) for s in sentences], dtype=np.int64)
    img_emb = ReferenceEvaluator(vision).run(None, {"pixel_values": images})[0]
    txt_emb = ReferenceEvaluator(text).run(None, {"input_ids": ids})[0]
    img_emb = img_emb / np.linalg.norm(img_emb, axis=1, keepdims=True)
    txt_emb = txt_emb / np.linalg.norm(txt_emb, axis=1, keepdims=True)
    scores = (img_emb @ txt_emb.T).ravel()
    return {
        "min": float(scores.min()),
        "p05": float(np.percentile(scores, 5)),
        "median": float(np.median(scores)),
        "p95": float(np.percentile(scores, 95)),
        "max": float(scores.max()),
        "std": float(scores.std()),
        "kept_at_0.15": float((scores >= 0.15).mean()),
    }


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def main() -> int:
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    GOLDEN.parent.mkdir(parents=True, exist_ok=True)

    merges = learn_merges(CORPUS, MAX_MERGES)
    vocab_text = "#version: 0.2 fasforge-tiny-clip-standin (learned from a small corpus; not CLIP's vocabulary)\n"
    # No trailing newline: CLIP's own loader would read an empty last line as a merge.
    vocab_text += "\n".join(f"{a} {b}" for a, b in merges)
    vocab_path = OUT_DIR / "bpe_vocab.txt.gz"
    vocab_path.write_bytes(gzip.compress(vocab_text.encode("utf-8"), compresslevel=9, mtime=0))

    tok = ReferenceTokenizer(merges)
    assert tok.vocab_size == 512 + len(merges) + 2

    golden = {
        "description": "Token ids from scripts/make-tiny-clip.py's reference tokenizer over models/tiny-clip-standin/bpe_vocab.txt.gz",
        "vocabSize": tok.vocab_size,
        "sot": tok.sot,
        "eot": tok.eot,
        "contextLength": CONTEXT_LENGTH,
        "cases": [{"text": t, "ids": tok.encode(t), "context": tok.context(t)} for t in GOLDEN_TEXTS],
    }
    GOLDEN.write_text(json.dumps(golden, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")

    rng = np.random.default_rng(SEED)
    basis = constant_directions(rng)
    vision = build_vision(rng, basis)
    text = build_text(rng, basis, tok.vocab_size)
    onnx.save(vision, OUT_DIR / "vision.onnx")
    onnx.save(text, OUT_DIR / "text.onnx")

    files = ["vision.onnx", "text.onnx", "bpe_vocab.txt.gz"]
    manifest = {
        "id": "fasforge-tiny-clip-standin",
        "standIn": True,
        "description": (
            "Stand-in for CLIP ViT-B/32 generated by scripts/make-tiny-clip.py: random weights, not a real CLIP; "
            "scores are not meaningful. Same input/output names and preprocessing as the real towers, "
            "for exercising the loading and scoring code only."
        ),
        "embedDim": EMBED_DIM,
        "contextLength": CONTEXT_LENGTH,
        "imageSize": IMAGE_SIZE,
        "mean": MEAN,
        "std": STD,
        "vision": "vision.onnx",
        "text": "text.onnx",
        "vocab": "bpe_vocab.txt.gz",
        "vocabSize": tok.vocab_size,
        "files": {name: sha256(OUT_DIR / name) for name in files},
    }
    (OUT_DIR / "model.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")

    spread = self_check(vision, text, tok)
    print(f"merges: {len(merges)}  vocab size: {tok.vocab_size}")
    for name in files + ["model.json"]:
        print(f"{name}: {(OUT_DIR / name).stat().st_size} bytes")
    print(f"reference cosine spread ({len(CORPUS.strip().splitlines())} corpus sentences x 30 synthetic images):", json.dumps({k: round(v, 3) for k, v in spread.items()}))
    print(f"golden fixture: {GOLDEN.relative_to(ROOT)} ({len(GOLDEN_TEXTS)} strings)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
