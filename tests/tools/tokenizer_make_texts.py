#!/usr/bin/env python3
# Writes tests/data/tokenizer/texts.json: the texts on which our tokenizer must give HF tokenizers'
# ids. A case is {"name", "text"} or {"name", "repeat", "count"} (the text is `repeat` * count).
import json
import pathlib
import random
import unicodedata

CASES = [
    ("prose_contractions", "I'm sure you'll love it. They've said we'd go, but it's John's car. DON'T SHOUT, I'LL HEAR! "
     "Y'all're here; she'd've known. The cat's toy isn't theirs."),
    ("contractions_upper", "I'M, YOU'RE, HE'S, WE'VE, THEY'LL, I'D, 'TIS, O'Neill's rock'n'roll"),
    ("numbers", "In 2024, 3.14159 x 10^6 = 3141590; call 555-0199 or +1 (800) 123-4567. 1,000,000 and 0.000001 "
     "and 12345678901234567890 and -42 and 1e-9 and 0x1F and 007 and ٣٤٥ and ４５６."),
    ("code_tabs_crlf", "def f(x):\r\n\tif x > 0:\r\n\t\treturn x ** 2  # square\r\n\treturn -x\r\n\r\n\r\nclass A:\r\n\tpass\r\n"),
    ("code_cpp", "int main() {\n    std::vector<int> v{1, 2, 3};\n    for (auto& x : v) x *= 2;  // double\n"
     "    if (v.size() >= 3 && v[0] != 0) { return 0; }\n    return -1;\n}\n"),
    ("whitespace_runs", "a  b   c    d\t\t\te\n\n\nf \n \n g     \n    \t \r\n  x"),
    ("trailing_spaces", "end   "),
    ("leading_spaces", "   start"),
    ("only_newlines", "\n\n\n\n"),
    ("single_space", " "),
    ("single_tab", "\t"),
    ("cjk", "我们今天去公园散步。天气很好！日本語のテキストも含まれています。カタカナとひらがな。한국어 문장도 있습니다."),
    ("arabic", "مرحبا بالعالم، هذا نص عربي للاختبار. الأرقام ١٢٣ والكلمات."),
    ("devanagari", "नमस्ते दुनिया, यह एक परीक्षण है। हिन्दी में संख्या १२३।"),
    ("emoji_zwj_flags", "Family: 👨‍👩‍👧‍👦, flags: 🇺🇸🇯🇵🇩🇪🏴‍☠️, skin: 👍🏽👋🏿, heart: ❤️ and ☺︎ and 🧑‍💻!"),
    ("decomposed_accents", "Cafe\u0301 nai\u0308ve re\u0301sume\u0301 A\u030A o\u0308\u0301 q\u0307\u0323 \u1100\u1161\u11A8 "
     "e\u0301\u0301 \u0301start"),
    ("composed_accents", "Café naïve résumé Å ö 각 Ḋ Œuvre Ñandú"),
    ("compat_chars", "ﬁ ﬂ ① ² ½ Ⅻ ｆｕｌｌｗｉｄｔｈ ㍿ ™ ℌ …"),
    ("astral", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𝟙𝟚𝟛 𓀀 𠀀𠀁 🀄 𝄞 𐍈"),
    ("mixed_no_spaces", "helloмир世界123abcΔδ😀x"),
    ("url_email", "https://example.com/path/to?q=1&r=2#frag user.name+tag@example.org //comment /usr/bin/env"),
    ("markdown_json", "# Title\n\n- item **bold** _it_\n\n```json\n{\"key\": [1, 2.5, null, true], \"s\": \"a\\\"b\"}\n```\n"),
    ("invisible", "a\u200bb\u200cc\u200dd\ufeffe a\u00a0b a\u3000b a\u0085b x\u2028y\u2029z a\u180eb"),
    ("controls", "\x00a\x01b\x1fc\x7fd\x1c\x1d\x1e"),
    ("replacement_char", "abc\ufffddef\ufffd"),
    ("specials_qwen", "<|endoftext|>hello<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n<think>\nx\n</think>\n"
     "ok<|im_end|><|im_start <<|im_end|>>"),
    ("specials_llama3", "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nhi<|eot_id|><|reserved_special_token_5|>"
     " <|eot_id|> x<|eot_id|>y"),
    ("specials_deepseek", "<｜begin▁of▁sentence｜>hi<｜User｜>q<｜Assistant｜><think>\nr\n</think>a<｜end▁of▁sentence｜>"),
    ("specials_gpt4o", "<|endoftext|>a<|endofprompt|> b <|endoftext|>"),
    ("specials_m1", "<begin_of_document><beginning_of_sentence>system ai_setting=assistant\nYou are a helpful assistant."
     "<end_of_sentence>\n<beginning_of_sentence>user name=user\nHi<end_of_sentence>\n<beginning_of_sentence>ai name=assistant\n"
     "<think>\nx\n</think>\nHello<end_of_sentence>\n<end_of_document>"),
    ("mixed_paragraph", "The quick brown fox (狐狸) jumps over 13 lazy dogs — naïvely! ¿Qué? Ça va. Über-cool: 100% ✓.\n"
     "Tabs\there, CRLF\r\nand emoji 🎉🎉🎉 after 'quotes' and \"double quotes\"...\n\n\tIndented line.\n"),
    ("empty", ""),
]
RUNS = [
    ("run_a", "a", 10000), ("run_space", " ", 10000), ("run_newline", "\n", 10000), ("run_digit", "1", 10000),
    ("run_emoji", "😀", 10000), ("run_cjk", "我", 10000), ("run_dot", ".", 10000), ("run_ab", "ab", 5000),
    ("run_decomposed", "e\u0301", 5000), ("run_tab_space", "\t ", 5000), ("run_upper", "A", 10000),
]


# Pools for the normalization cases: starters, combining marks of several classes, Hangul jamo,
# composed and compatibility characters.
NORM_POOLS = ["aeoAEOqxzÅåçñ", "\u0300\u0301\u0308\u0315\u0323\u0328\u030a\u0344\u0591\u05b0\u0f71\u0f72\u302a",
              "\u1100\u1101\u1161\u1175\u11a8\u11c2\uac00\uac01", "éÅǺḍḋ\u212b\u2126\u0f73",
              "\ufb01\u2460\uff46\u3384\u00bd\u2075\U0001d400\u00a0\u2028\u1e9b\u0149"]


def normalization_cases():
    """Deterministic random strings with their NFC/NFD/NFKC/NFKD forms (Python's unicodedata)."""
    rng = random.Random(1234)
    out = []
    for _ in range(400):
        s = "".join(rng.choice(rng.choice(NORM_POOLS)) for _ in range(rng.randint(1, 6)))
        out.append([s] + [unicodedata.normalize(f, s) for f in ("NFC", "NFD", "NFKC", "NFKD")])
    return {"unicode_version": unicodedata.unidata_version, "cases": out}


def main():
    data = pathlib.Path(__file__).resolve().parents[1] / "data" / "tokenizer"
    (data / "normalization.json").write_text(json.dumps(normalization_cases(), ensure_ascii=True) + "\n")
    cases = [{"name": n, "text": t} for n, t in CASES]
    cases += [{"name": n, "repeat": r, "count": c} for n, r, c in RUNS]
    out = data / "texts.json"
    out.write_text(json.dumps(cases, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"{out}: {len(cases)} cases")


if __name__ == "__main__":
    main()
