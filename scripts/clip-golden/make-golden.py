"""Golden data for fasforge's CLIP code, written by the reference implementation (open_clip).

Builds a CLIP-shaped model with seeded random weights in open_clip, exports its two towers to
ONNX with the input/output names fasforge's loader reads, and writes what the reference gives for
the same inputs: token ids for a corpus of strings, preprocessed pixels for sample images, and
image and text embeddings. The TypeScript tests compare fasforge against these files.

  make-golden.py                          # tests/fixtures/clip-golden (small model, committed)
  make-golden.py --config ViT-B-32 --out .fasforge/models/clip-vit-b32-random --no-golden
                                          # a ViT-B/32-sized random model for the benchmark
"""

import argparse
import gzip
import hashlib
import json
import os
import shutil
import sys
from pathlib import Path

import numpy as np
import open_clip
import torch
from open_clip.constants import OPENAI_DATASET_MEAN, OPENAI_DATASET_STD
from open_clip.tokenizer import SimpleTokenizer, default_bpe
from PIL import Image

sys.path.insert(0, str(Path(__file__).parent))
from corpus import corpus  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
SAMPLE_IMAGES = [
    'samples/siw-mv2/Live/astronaut-02.jpg',
    'samples/siw-mv2/Live/hopper-01.jpg',
    'samples/siw-mv2/Live/camera-03.jpg',
    'samples/siw-mv2/Spoof/Print/astronaut-02.jpg',
    'samples/siw-mv2/Spoof/Partial_Mouth/hopper-02.jpg',
    'samples/siw-mv2/Spoof/Partial_Mouth/camera-01.jpg',
]

# Small enough to commit (the text tower's 49408-token embedding dominates), same structure as ViT-B/32.
TINY_CONFIG = {
    'embed_dim': 32,
    'quick_gelu': True,
    'vision_cfg': {'image_size': 224, 'layers': 2, 'width': 64, 'head_width': 32, 'patch_size': 32},
    'text_cfg': {'context_length': 77, 'vocab_size': 49408, 'width': 16, 'heads': 2, 'layers': 2},
}


class VisionTower(torch.nn.Module):
    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, pixel_values):
        return self.model.encode_image(pixel_values)


class TextTower(torch.nn.Module):
    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, input_ids):
        return self.model.encode_text(input_ids)


def build_model(config_name, seed):
    torch.manual_seed(seed)
    if config_name == 'tiny':
        model = open_clip.model.CLIP(
            embed_dim=TINY_CONFIG['embed_dim'],
            vision_cfg=TINY_CONFIG['vision_cfg'],
            text_cfg=TINY_CONFIG['text_cfg'],
            quick_gelu=TINY_CONFIG['quick_gelu'],
        )
        embed_dim = TINY_CONFIG['embed_dim']
    else:
        # pretrained=None: open_clip's own random initialisation, no download.
        model = open_clip.create_model(config_name, pretrained=None, force_quick_gelu=True)
        embed_dim = model.text_projection.shape[1]
    model.eval()
    return model, embed_dim


def export(model, out_dir):
    pixels = torch.randn(2, 3, 224, 224)
    ids = torch.zeros(2, 77, dtype=torch.long)
    ids[:, 0] = 49406
    ids[:, 1] = 49407
    common = {'opset_version': 17, 'do_constant_folding': True, 'dynamo': False}
    # The fused attention kernel PyTorch picks in eval mode has no ONNX form; the plain path is the same maths.
    torch.backends.mha.set_fastpath_enabled(False)
    with torch.no_grad():
        torch.onnx.export(
            VisionTower(model),
            (pixels,),
            str(out_dir / 'vision.onnx'),
            input_names=['pixel_values'],
            output_names=['image_embeds'],
            dynamic_axes={'pixel_values': {0: 'batch'}, 'image_embeds': {0: 'batch'}},
            **common,
        )
        torch.onnx.export(
            TextTower(model),
            (ids,),
            str(out_dir / 'text.onnx'),
            input_names=['input_ids'],
            output_names=['text_embeds'],
            dynamic_axes={'input_ids': {0: 'batch'}, 'text_embeds': {0: 'batch'}},
            **common,
        )


def sha256(path):
    h = hashlib.sha256()
    with open(path, 'rb') as f:
        for chunk in iter(lambda: f.read(1 << 20), b''):
            h.update(chunk)
    return h.hexdigest()


def write_manifest(out_dir, model_id, embed_dim, description):
    files = ['vision.onnx', 'text.onnx', 'bpe_simple_vocab_16e6.txt.gz']
    manifest = {
        'id': model_id,
        'standIn': True,
        'description': description,
        'embedDim': embed_dim,
        'contextLength': 77,
        'imageSize': 224,
        'mean': list(OPENAI_DATASET_MEAN),
        'std': list(OPENAI_DATASET_STD),
        'vision': 'vision.onnx',
        'text': 'text.onnx',
        'vocab': 'bpe_simple_vocab_16e6.txt.gz',
        'vocabSize': 49408,
        'files': {f: sha256(out_dir / f) for f in files},
    }
    (out_dir / 'model.json').write_text(json.dumps(manifest, indent=2) + '\n')


def golden(model, out):
    tokenizer = SimpleTokenizer()
    texts = corpus()
    cases = []
    for text in texts:
        row = tokenizer([text])[0].tolist()
        cases.append({'text': text, 'ids': tokenizer.encode(text), 'row': row})
    (out / 'tokens.json').write_text(
        json.dumps(
            {
                'source': f'open_clip {open_clip.__version__} SimpleTokenizer (clean="lower")',
                'vocabSize': tokenizer.vocab_size,
                'sot': tokenizer.sot_token_id,
                'eot': tokenizer.eot_token_id,
                'contextLength': 77,
                'cases': cases,
            },
            ensure_ascii=True,
            indent=0,
        )
        + '\n'
    )

    transform = open_clip.image_transform(224, is_train=False, mean=OPENAI_DATASET_MEAN, std=OPENAI_DATASET_STD)
    mean = torch.tensor(OPENAI_DATASET_MEAN).view(3, 1, 1)
    std = torch.tensor(OPENAI_DATASET_STD).view(3, 1, 1)
    pixel_dir = out / 'pixels'
    pixel_dir.mkdir(exist_ok=True)
    images = []
    tensors = []
    for rel in SAMPLE_IMAGES:
        with Image.open(ROOT / rel) as img:
            x = transform(img)
        # The reference tensor is (u8 / 255 - mean) / std of PIL's 8-bit resize; store those bytes and
        # prove that they give the reference tensor back.
        u8 = torch.round((x * std + mean) * 255).clamp(0, 255).to(torch.uint8)
        back = (u8.float() / 255 - mean) / std
        assert torch.allclose(back, x, atol=1e-5), f'{rel}: stored bytes do not reproduce the reference tensor'
        name = rel.replace('samples/siw-mv2/', '').replace('/', '_').replace('.jpg', '.chw.u8.gz')
        with gzip.GzipFile(pixel_dir / name, 'wb', mtime=0) as f:
            f.write(u8.numpy().tobytes())
        images.append({'file': rel, 'pixels': f'pixels/{name}'})
        tensors.append(x)

    with torch.no_grad():
        image_emb = model.encode_image(torch.stack(tensors))
        text_emb = model.encode_text(tokenizer(texts))
    for entry, emb in zip(images, image_emb):
        entry['embedding'] = [float(v) for v in emb]
    (out / 'embeddings.json').write_text(
        json.dumps(
            {
                'source': f'open_clip {open_clip.__version__}, torch {torch.__version__}, unnormalised tower outputs',
                'transform': repr(transform),
                'images': images,
                'texts': [{'text': t, 'embedding': [float(v) for v in e]} for t, e in zip(texts, text_emb)],
            },
            ensure_ascii=True,
        )
        + '\n'
    )
    print(f'{len(texts)} strings, {len(images)} images')


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--config', default='tiny', help='"tiny" (committed fixture) or an open_clip config name')
    parser.add_argument('--out', default=str(ROOT / 'tests/fixtures/clip-golden'))
    parser.add_argument('--seed', type=int, default=20240531)
    parser.add_argument('--no-golden', action='store_true', help='export the model only')
    args = parser.parse_args()

    out = Path(args.out)
    model_dir = out / 'model' if not args.no_golden else out
    model_dir.mkdir(parents=True, exist_ok=True)
    model, embed_dim = build_model(args.config, args.seed)
    export(model, model_dir)
    shutil.copyfile(default_bpe(), model_dir / 'bpe_simple_vocab_16e6.txt.gz')
    name = 'tiny' if args.config == 'tiny' else args.config.lower()
    write_manifest(
        model_dir,
        f'fasforge-golden-clip-{name}-random',
        embed_dim,
        f'open_clip {args.config} with seeded random weights (seed {args.seed}), exported by '
        'scripts/clip-golden/make-golden.py: CLIP-shaped, not trained; scores are not meaningful.',
    )
    if not args.no_golden:
        golden(model, out)
    print(f'model in {model_dir}')


if __name__ == '__main__':
    torch.set_num_threads(max(1, (os.cpu_count() or 2)))
    main()
