"""The text corpus the CLIP tokenizer is checked on: descriptions like the pipeline's, and strings
chosen to reach each branch of CLIP's clean-up and pre-tokeniser (punctuation, numbers, accents,
CJK, emoji, whitespace oddities, HTML entities, control characters, mojibake, texts far past 77
tokens)."""

HAND_WRITTEN = [
    # Descriptions of the kind the pipeline scores.
    'A photo of a real person looking straight at the camera.',
    'A printed photograph is held in front of the camera; the paper border is visible.',
    'A replay attack: the face is shown on a phone screen with moire patterns.',
    'A silicone mask with a glossy surface and a fixed expression.',
    'The subject wears a 3D-printed mask; its edges near the ears don\'t match the skin.',
    'Bona fide presentation: natural skin texture, consistent lighting, no screen glare.',
    'Partial attack (mouth region): a paper cut-out covers the lips.',
    'Spoof type: Print. Region: eyes, mouth. Confidence 0.87.',
    'Is this face real or fake? Answer with "real" or "fake".',
    'The image shows a person; the person\'s face is partly covered by a transparent mask.',
    # Case, contractions and punctuation.
    'A PHOTO OF A FACE',
    'It\'s, they\'re, we\'ve, I\'m, you\'ll, he\'d, can\'t, WON\'T, SHE\'S',
    'Rock \'n\' roll isn\'t dead; it\'s \'s\'t\'re',
    'hello!!! what??? ...wait... (really) [yes] {no} <maybe>',
    '--- *** ### @@@ $$$ %%% ^^^ &&& ___ +++ === ~~~ ``` |||',
    'e-mail: someone@example.com, url: https://example.org/a/b?c=d&e=f#g',
    'path\\to\\file.txt and C:\\Windows\\System32',
    'semi;colon:colon,comma.period!bang?question',
    '"double" \'single\' `back` «guillemets» „low“ ‚low‘',
    'curly ‘single’ and “double” quotes, and ʼmodifierʼ apostrophes',
    'dashes – en — em ‒ figure ― bar ‐ hyphen',
    'ellipsis… bullet • middle · dagger † section § pilcrow ¶',
    'x<y>z & a&b & c && d',
    '<|startoftext|> and <|endoftext|> written in text',
    '<start_of_text>marker inside<end_of_text> text',
    '<START_OF_TEXT> upper-case markers <End_Of_Text>',
    # Numbers.
    '0 1 2 3 4 5 6 7 8 9',
    '1234567890 and 3.14159 and -42 and +7 and 1e-9',
    '12:30 on 2024-01-31, 50% off, $19.99, €5, £3, ¥100',
    '½ ¼ ¾ ² ³ ¹ ⅓ ⅔ ⅛',
    'Ⅰ Ⅱ Ⅲ Ⅳ ⅰ ⅱ ⅲ roman numerals',
    '٠١٢٣٤٥٦٧٨٩ arabic-indic digits',
    '०१२३४५६७८९ devanagari digits',
    '①②③ circled ⑴⑵ parenthesised ⒈⒉ full stop',
    '１２３ full-width digits and ＡＢＣ letters',
    # Accents and other Latin scripts.
    'Naïve café, crème brûlée, jalapeño, façade, résumé',
    'Ångström, Øresund, Æsir, œuvre, straße, Straße, STRASSE',
    'Ĳsselmeer and ﬁnal ﬂow ﬀ ﬃ ﬄ ﬅ ﬆ ligatures',
    'Ǆ ǅ ǆ Ǉ ǈ ǉ Ǌ ǋ ǌ Ǳ ǲ ǳ ŉ digraphs',
    'decomposed: cafe\u0301, re\u0301sume\u0301, n\u0303, a\u0308',
    'İstanbul, ıi, İI, Iı turkish dotted and dotless i',
    'ΣΊΣΥΦΟΣ, ΟΔΟΣ, Σ alone, σς greek sigma',
    'Привет, мир! Ёлка, ЁЖ',
    'Γειά σου Κόσμε',
    'Ελληνικά και Русский и English mixed',
    'Tiếng Việt có dấu: ắ ằ ẳ ẵ ặ',
    'Polski: zażółć gęślą jaźń',
    'Čeština: příliš žluťoučký kůň úpěl ďábelské ódy',
    'ſ long s, ﬅ, ꜳ, ꝏ, ß, ẞ',
    # CJK and other scripts.
    '日本語のテキスト、漢字とひらがなとカタカナ。',
    '中文文本：人脸活体检测，防伪攻击。',
    '한국어 텍스트: 얼굴 위조 방지',
    'ｶﾀｶﾅ half-width katakana ﾊﾟﾋﾞ',
    'ﾟ ｰ ･ half-width punctuation ｢ ｣',
    'عربي: كشف التزييف',
    'עברית: זיהוי פנים',
    'हिन्दी: चेहरा पहचान',
    'ไทย: การตรวจจับใบหน้า',
    'ქართული ენა',
    'Ꭰ Ꭱ Ꭲ cherokee',
    '𝐁𝐨𝐥𝐝 𝑰𝒕𝒂𝒍𝒊𝒄 𝔉𝔯𝔞𝔨𝔱𝔲𝔯 mathematical letters',
    # Emoji.
    'emoji 😀😃😄 and 👍🏽 and 👨‍👩‍👧‍👦 family',
    'flags 🇫🇷 🇯🇵 🇺🇸 and 🏴‍☠️ and 🏳️‍🌈',
    'keycaps 1️⃣ #️⃣ *️⃣ and ©️ ®️ ™️',
    '❤️ ♥ ☺️ ☹ ✔ ✘ ★ ☆ → ← ↑ ↓',
    'face 🙂 mask 😷 camera 📷 phone 📱 screen 🖥️',
    # Whitespace oddities.
    '   leading and trailing spaces   ',
    'tabs\tbetween\t\twords',
    'new\nlines\n\nand\r\ncrlf\rcr',
    'no\u00a0break\u00a0spaces and thin\u2009space and\u3000ideographic',
    'line\u2028separator and paragraph\u2029separator',
    'vertical\x0btab and form\x0cfeed',
    'zero\u200bwidth\u200cjoiners\u200d and\ufeffbom',
    'next\x85line C1 character',
    'word\u00adsoft\u00adhyphen',
    '\u2002en\u2003em\u2004three-per-em\u2005spaces\u205f',
    '',
    '   ',
    '\n\t \r',
    # Control characters and terminal escapes.
    'bell\x07 backspace\x08 escape\x1b delete\x7f',
    '\x1b[36;44mcoloured terminal text\x1b[0m plain',
    'null\x00char and unit\x1fseparator',
    'c1 controls \x80\x91\x92\x93\x94\x96\x97\x99 in text',
    'bidi \u202alre\u202c \u202brle\u202c \u200emark\u200f',
    'interlinear \ufff9anchor\ufffa\ufffb end',
    'deprecated format \u206a\u206f chars',
    # HTML entities.
    'Tom &amp; Jerry &lt;3 &gt;_&lt;',
    '&quot;quoted&quot; &apos;apos&apos;',
    'caf&eacute; &Eacute;cole &ntilde; &NTILDE; &EACUTE;',
    '&#233;t&#xE9; &#X41; &#65; &#x1F600;',
    '&amp;amp; double-escaped &amp;lt;',
    '&amp;amp;amp; triple-escaped',
    '&nbsp;non-breaking&nbsp;space&nbsp;',
    '&hellip; &mdash; &ndash; &lsquo;q&rsquo; &ldquo;q&rdquo;',
    '&copy; 2024 &reg; &trade; &deg;C &times; &divide;',
    '&amp &lt &gt &copy without semicolons',
    'this&not that and &notit; and &notin;',
    '&unknownentity; &; &#; &#x; &#xZZ;',
    '&#0; &#128; &#150; &#x80; &#x9F; &#xD800; &#1114112;',
    '&#65 &#x42 numeric without semicolons',
    'AT&T and R&D and Q&A',
    '<b>bold</b> &amp; tags',
    '<p>paragraph &amp; entity</p>\nnext line &amp; entity',
    'first line &amp;\nsecond <line> &amp;\nthird &amp;',
    '&lt;script&gt;alert(1)&lt;/script&gt;',
    '&Alpha;&Beta;&Gamma; &alpha;&beta;&gamma;',
    '&frac12; &frac14; &sup2; &micro; &para;',
    '&ETH;&eth;&THORN;&thorn;&szlig;',
    '&AMP; &LT; &GT; &QUOT; uppercase basic entities',
    '&CapitalDifferentialD; &NotNestedGreaterGreater; long names',
    '&fjlig; &ThickSpace; multi-character entities',
    # Repeated and odd tokens.
    'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa',
    'supercalifragilisticexpialidocious antidisestablishmentarianism',
    'pneumonoultramicroscopicsilicovolcanoconiosis',
    'a b c d e f g h i j k l m n o p q r s t u v w x y z',
    'ab12cd34ef56 mixed0letters9and8digits',
    'CamelCaseWords and snake_case_words and kebab-case-words',
    "'s 's 's at the start",
    "''''''''",
    'x\'s y\'t z\'re w\'ve v\'m u\'ll t\'d',
    '....!!!!????,,,,;;;;::::',
    '\u2018s and \u2019s and \u02bcs',
    '\ufffd replacement \ufffd character',
    'tags\U000e0041\U000e0042 and musical \U0001d173beam\U0001d17a',
    '🏴\U000e0067\U000e0062\U000e0065\U000e006e\U000e0067\U000e007f england flag',
    'private use \ue000\uf8ff characters',
]


def generated():
    """Programmatic strings: long texts far past 77 tokens and combinations of the above."""
    out = []
    words = ['face', 'mask', 'print', 'replay', 'screen', 'paper', 'silicone', 'bona', 'fide', 'attack']
    for n in (20, 76, 77, 78, 150, 400):
        out.append(' '.join(words[i % len(words)] for i in range(n)))
    out.append(' '.join(f'word{i}' for i in range(300)))
    out.append('!' * 500)
    out.append('日本' * 200)
    out.append('😀' * 120)
    out.append('é' * 300)
    out.append(', '.join(str(i) for i in range(200)))
    out.append('&amp; ' * 100)
    out.append(('A long description of a presentation attack. ' * 20).strip())
    for i, w in enumerate(words):
        out.append(f'{w.upper()} #{i}: {w.capitalize()}-{i * 37 % 100}%, {w}\'s {w[::-1]}!')
    for sep in ['\t', '\n', '\u00a0', '\u3000', '  ', '\r\n', '\u2028', '\x85', '\x0c', '\u200b']:
        out.append(sep.join(['live', 'spoof', 'print', 'replay']))
    for ent in ['&amp;', '&lt;', '&#39;', '&#x27;', '&eacute;', '&nbsp;', '&hellip;', '&euro;', '&AMP;', '&Amp;']:
        out.append(f'before{ent}after {ent} {ent}{ent}')
    for cp in [0x00E9, 0x00FC, 0x0107, 0x0151, 0x1EA1, 0x4E2D, 0x3042, 0xAC00, 0x1F600, 0x1F9D1]:
        ch = chr(cp)
        out.append(f'{ch} {ch}{ch} x{ch}y {ch.upper()}{ch}')
    for i in range(12):
        out.append(f'Record {i:04d}: score={i / 7:.6f}, label={"live" if i % 2 else "spoof"}, id=0x{i * 2654435761 % 2**32:08x}')
    parts = ['Live', 'PRINT', 'Replay!', 'mask?', 'café', '日本', '😷', '&amp;', '3.5', "don't", '\t', '  ']
    for i in range(len(parts)):
        out.append(' '.join(parts[(i + k) % len(parts)] for k in range(5)))
    return out


def corpus():
    items = HAND_WRITTEN + MOJIBAKE + generated_mojibake() + generated()
    seen = set()
    unique = []
    for s in items:
        if s not in seen:
            seen.add(s)
            unique.append(s)
    return unique

# Mojibake: text encoded in UTF-8 and decoded with another codec, which ftfy repairs.
MOJIBAKE = [
    'sÃ³ far',
    'âœ” No problems',
    'voilÃ  le travail',
    'the Ã©cole and the cafÃ©',
    'Ã¢â‚¬Å“quotedÃ¢â‚¬Â',
    'Ð¿Ñ€Ð¸Ð²ÐµÑ‚ Ð¼Ð¸Ñ€',
    'Ã¼ber straÃŸe',
    'ã‚¢ãƒ‹ãƒ¡ japanese',
    'ðŸ˜€ emoji mojibake',
    'Mixed: naïve and naÃ¯ve in one line',
    'Ã\xa0 la carte',
    'Ã\u2020 and Ã\u02c6 oddities',
    'â€œsmartâ€\x9d quotes from windows-1252',
    'Ä\x8d and Å¡ central european',
    'The Mona Lisa doesnÃ¢â‚¬â„¢t have eyebrows.',
    'Ãƒâ€šÃ‚Â£ doubly encoded',
    'Â£5 and Â© 2024',
    'lossy Ã\x1a replacement',
    'í\xa0½í¸\x80 cesu-8',
    'a NUL byte Ã\x80 test',
]


def generated_mojibake(n=30, seed=7):
    """Seeded mojibake: words encoded in UTF-8, decoded with a wrong codec, sometimes twice or mixed."""
    import random

    import ftfy.bad_codecs  # noqa: F401  (registers sloppy-windows-*)

    rng = random.Random(seed)
    words = ['café', 'naïve', 'straße', 'привет', '日本語', '😀', 'Ångström', 'żółć', 'Ελληνικά', 'señor', '—',
             '“q”', '’s', '…', '€5', '½', 'ﬁ', 'façade', 'à la', 'the', '42', '\u00a0', '&amp;', 'ÿ']
    codecs = ['latin-1', 'windows-1252', 'sloppy-windows-1252', 'windows-1251', 'sloppy-windows-1250',
              'iso-8859-2', 'macroman', 'cp437', 'windows-1253', 'windows-1257']
    out = []
    for _ in range(n):
        text = ' '.join(rng.choice(words) for _ in range(rng.randint(1, 6)))
        wrong = text.encode('utf-8').decode(rng.choice(codecs), errors='replace')
        if rng.random() < 0.3:
            wrong = f'{wrong} {text}'
        if rng.random() < 0.2:
            wrong = wrong.encode('utf-8').decode('sloppy-windows-1252')
        out.append(wrong)
    return out
