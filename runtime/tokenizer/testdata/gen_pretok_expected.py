"""Splits random strings with the pre-tokenizer regexes of the real
tokenizer.json files, using Python's `regex` module (Oniguruma-compatible
\\p{..}, lookahead and inline flags) and HuggingFace's Split semantics
(behavior Isolated: matches and the gaps between them are pieces; each
split of a Sequence refines the previous pieces). Writes pretok_expected.json.

    python3 gen_pretok_expected.py > pretok_expected.json
"""
import json, random, sys
import regex

import os
FIX = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "testdata", "fixtures")

def fixture_regexes(name):
    """The Split regexes of a fixture's tokenizer.json, in order."""
    t = json.load(open(os.path.join(FIX, name, "tokenizer.json")))
    return [p["pattern"]["Regex"] for p in t["pre_tokenizer"]["pretokenizers"] if p["type"] == "Split"]

PRE = {
    "gpt-4o": fixture_regexes("gpt-oss"),
    "deepseek-llm": fixture_regexes("deepseek-moe"),
    "deepseek-v3": fixture_regexes("deepseek-v2-lite"),
    "llama-bpe": [r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"],
    "qwen2": [r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"],
    "gpt2": [r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"],
}

def split(pats, text):
    pieces = [text]
    for p in pats:
        rx = regex.compile(p)
        out = []
        for s in pieces:
            last = 0
            for m in rx.finditer(s):
                if m.start() > last:
                    out.append(s[last:m.start()])
                out.append(m.group())
                last = m.end()
            if last < len(s):
                out.append(s[last:])
        pieces = out
    return pieces

# An alphabet that exercises every class boundary: upper/lower/title/
# modifier/other letters, combining marks, digits of several kinds,
# punctuation, symbols, the whitespace the regexes treat specially, CJK,
# kana, Hangul, apostrophes before contraction letters, emoji.
ALPHA = (list("aAbZzsStTrReEvVmMlLdD") + ["'", "'", "'", " ", " ", " ", "\n", "\r", "\t", "\u00a0", "\u3000", "\u2003"]
         + list("ǅǈǋ") + list("ʰʲˆ") + list("ªºא中日本語のテキスト한국") + ["\u0301", "\u0308", "\u093f", "\u0e31"]
         + list("0123456789") + list("٣४½²Ⅻ①") + list(".,;:!?-_/\\()[]{}\"#$%&*+<=>@^`|~") + list("«»“”‘’…—")
         + list("€£©®™≤→") + ["🚀", "🦙", "👍🏽", "🇫🇷", "\u200d", "\ufe0f"] + list("ßçéøÅΣσς") + list("ЖжЁё") + ["ſ", "K"])

def main():
    rnd = random.Random(20261127)
    texts = []
    for n in range(600):
        k = rnd.randint(1, 24)
        texts.append("".join(rnd.choice(ALPHA) for _ in range(k)))
    # Runs that stress the whitespace rules.
    texts += ["a  \n\n  b", "x \t\n \r\n y", "   ", "\n", " \n ", "a'S 'Ll 'VE", "Ǆǅǆ", "ABCdef", "ABCDEF's", "日本語abc123"]
    out = {"texts": texts, "splits": {name: [split(p, t) for t in texts] for name, p in PRE.items()}}
    json.dump(out, sys.stdout, ensure_ascii=False)

main()
