"""Writes activities/clip/text-clean-tables.json: the character tables CLIP's text clean-up uses
(ftfy.fix_text, then Python's html.unescape twice), taken from the reference libraries so that
activities/clip/text-clean.ts applies exactly the same replacements.

  .fasforge/tools/clip-golden-venv/bin/python scripts/clip-golden/make-clean-tables.py
"""

import html
import html.entities
import json
import re
import sys
from pathlib import Path

import ftfy
import ftfy.bad_codecs  # noqa: F401  (registers the sloppy-* and utf-8-variants codecs)
from ftfy import badness, chardata, fixes

ROOT = Path(__file__).resolve().parents[2]


def strip_verbose(pattern):
    """The same regular expression without re.VERBOSE: whitespace and comments outside classes removed."""
    out = []
    i = 0
    in_class = False
    while i < len(pattern):
        c = pattern[i]
        if c == '\\':
            if pattern[i + 1 : i + 2] == 's':
                # Python's \s is str.isspace(); JavaScript's differs (it has U+FEFF, lacks U+001C-U+001F).
                spaces = ''.join(f'\\u{ch:04x}' for ch in range(0x10000) if chr(ch).isspace())
                out.append(spaces if in_class else f'[{spaces}]')
            else:
                out.append(pattern[i : i + 2])
            i += 2
            continue
        if in_class:
            if c == ']' and not (out[-1] == '[' or out[-1] == '[^'):
                in_class = False
            out.append(c)
        elif c == '[':
            in_class = True
            if pattern[i + 1 : i + 2] == '^':
                out.append('[^')
                i += 2
                continue
            out.append(c)
        elif c.isspace():
            pass
        elif c == '.':
            # Python's '.' is anything but a line feed; JavaScript's also stops at \r, U+2028 and U+2029.
            out.append('[^\\n]')
        elif c == '#':
            while i < len(pattern) and pattern[i] != '\n':
                i += 1
        else:
            out.append(c)
        i += 1
    return ''.join(out)


def checked_strip(compiled, samples):
    stripped = strip_verbose(compiled.pattern)
    plain = re.compile(stripped)
    for text in samples:
        assert plain.findall(text) == compiled.findall(text), f'stripped pattern differs on {text!r}'
    return stripped


def main():
    # ftfy's own entity table: the HTML5 names ending in ';' plus some upper-cased ones it also accepts.
    extra = {k: v for k, v in chardata.HTML_ENTITIES.items() if k[1:] not in html.entities.html5}
    whitespace = [c for c in range(0x110000) if chr(c).isspace()]
    c1 = {str(b): bytes([b]).decode('sloppy-windows-1252') for b in range(0x80, 0xA0)}
    sys.path.insert(0, str(Path(__file__).parent))
    from corpus import MOJIBAKE, corpus

    samples = corpus() + MOJIBAKE
    names = chardata.CHARMAP_ENCODINGS
    strict1252 = ''.join(bytes([b]).decode('windows-1252', errors='replace') for b in range(256))
    tables = {
        'source': f'Python {".".join(map(str, __import__("sys").version_info[:3]))} html module, ftfy {ftfy.__version__}',
        # html.unescape: every HTML5 named reference (some without the trailing ';').
        'html5': dict(sorted(html.entities.html5.items())),
        # html.unescape: numeric references the HTML5 spec replaces, and those it drops.
        'invalidCharrefs': {str(k): v for k, v in sorted(html._invalid_charrefs.items())},
        'invalidCodepoints': sorted(html._invalid_codepoints),
        # ftfy's entity table is every HTML5 name ending in ';' plus these upper-cased forms.
        'ftfyUpperEntities': dict(sorted(extra.items())),
        # str.isspace(): what str.strip() and str.split() treat as whitespace.
        'whitespace': whitespace,
        'c1': c1,
        'ligatures': {str(k): v for k, v in sorted(chardata.LIGATURES.items())},
        'width': {str(k): v for k, v in sorted(chardata.WIDTH_MAP.items())},
        'controlChars': sorted(chardata.CONTROL_CHARS),
        # ftfy's mojibake repair: the single-byte encodings it tries, each as the text of bytes 0-255.
        'encodings': {name: bytes(range(256)).decode(name) for name in names},
        # Strict windows-1252 (U+FFFD marks the five undefined bytes).
        'windows1252': strict1252,
        'badness': checked_strip(badness.BADNESS_RE, samples),
        'utf8Detector': checked_strip(chardata.UTF8_DETECTOR_RE, samples),
        # Byte patterns, written over bytes read as Latin-1 characters.
        'alteredUtf8': chardata.ALTERED_UTF8_RE.pattern.decode('latin-1'),
        'aGraveWord': fixes.A_GRAVE_WORD_RE.pattern.decode('latin-1'),
        'lossyUtf8': chardata.LOSSY_UTF8_RE.pattern.decode('latin-1'),
    }
    out = ROOT / 'activities/clip/text-clean-tables.json'
    out.write_text(json.dumps(tables, ensure_ascii=True, separators=(',', ':')) + '\n')
    print(f'wrote {out}')


if __name__ == '__main__':
    main()
