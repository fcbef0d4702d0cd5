"""HuggingFace's own tokenizers (Rust, via `tokenizers` and transformers) on
the corpus, and transformers' apply_chat_template on the chat cases: the
ground truth that real_expected.json (transformers.js) and
chat_expected.json (jinja2 with transformers' settings) approximate.
Run where transformers is installed (the GPU machine has it), from the
repository root, with the real tokenizer.json files unpacked in build/tok:

    python3 runtime/tokenizer/testdata/gen_hf_expected.py build/tok > hf_expected.json
"""
import json, os, sys, re, datetime
import tokenizers
import transformers
from tokenizers import AddedToken, Tokenizer
from transformers import AutoTokenizer

HERE = os.path.dirname(os.path.abspath(__file__))
FIX = os.path.join(HERE, "..", "..", "..", "testdata", "fixtures")
toks_dir = sys.argv[1]
corpus = json.load(open(os.path.join(HERE, "corpus.json")))
out = {"versions": {"tokenizers": tokenizers.__version__, "transformers": transformers.__version__},
       "encode": {}, "chat": []}

def enc(tok, texts):
    return [{"text": t, "ids": tok.encode(t, add_special_tokens=False).ids} for t in texts]

# Real vocabularies.
out["encode"]["gptoss"] = enc(Tokenizer.from_file(f"{toks_dir}/gptoss/tokenizer.json"),
                              corpus["texts"] + corpus["special_texts"]["gptoss"])
out["encode"]["deepseek_v3"] = enc(Tokenizer.from_file(f"{toks_dir}/deepseek_v3/tokenizer.json"),
                                   corpus["texts"] + corpus["special_texts"]["deepseek_v3"])
phi = Tokenizer.from_file(f"{toks_dir}/llama2/tokenizer.json")
# Phi-3.5-MoE: Llama 2 + these added tokens; every added token but </s> rstrip.
phi.add_special_tokens([AddedToken(c, rstrip=(c != "</s>"), lstrip=False, normalized=False, special=True)
                        for c in ["<unk>", "<s>", "</s>"]])
added = ["<|endoftext|>", "<|assistant|>", "<|placeholder1|>", "<|placeholder2|>", "<|placeholder3|>",
         "<|placeholder4|>", "<|system|>", "<|end|>", "<|placeholder5|>", "<|placeholder6|>", "<|user|>"]
phi.add_special_tokens([AddedToken(c, rstrip=True, lstrip=False, normalized=False, special=True) for c in added])
assert phi.token_to_id("<|user|>") == 32010, phi.token_to_id("<|user|>")
out["encode"]["phi35"] = enc(phi, corpus["texts"] + corpus["special_texts"]["phi35"])

# Fixtures, through transformers (what reference.json used) with the
# special-token texts of their family.
fam = {"gpt-oss": "gptoss", "deepseek-moe": "deepseek_v3", "deepseek-v2-lite": "deepseek_v3", "phimoe": "phi35"}
for name, f in fam.items():
    tok = AutoTokenizer.from_pretrained(os.path.join(FIX, name))
    texts = corpus["texts"] + corpus["special_texts"][f]
    out["encode"]["fixture-" + name] = [{"text": t, "ids": tok.encode(t, add_special_tokens=False)} for t in texts]

# Chat templates through apply_chat_template.
cases = json.load(open(os.path.join(HERE, "chat_expected.json")))
today = datetime.date.today().strftime("%Y-%m-%d")
fixture_of = {"gpt-oss-fixture": "gpt-oss", "deepseek-moe-fixture": "deepseek-moe",
              "deepseek-v2-lite-fixture": "deepseek-v2-lite", "phi-3.5-moe": "phimoe",
              "gpt-oss": "gpt-oss", "deepseek-v3": "deepseek-v2-lite"}
for i, c in enumerate(cases):
    if "template" not in c:
        continue
    tok = AutoTokenizer.from_pretrained(os.path.join(FIX, fixture_of[c["template"]]))
    tmpl = None
    if c["template"] in ("gpt-oss", "deepseek-v3"):
        tmpl = open(os.path.join(HERE, "templates", c["template"] + ".jinja")).read()
    kw = {k: v for k, v in c["vars"].items() if k not in ("bos_token", "eos_token", "pad_token", "unk_token", "tools")}
    r = {"index": i, "template": c["template"]}
    try:
        s = tok.apply_chat_template(c["messages"], tools=c["vars"].get("tools"), chat_template=tmpl,
                                    add_generation_prompt=c["add_generation_prompt"], tokenize=False, **kw)
        r["rendered"] = s.replace("Current date: " + today, "Current date: 2026-11-27")
    except Exception as e:
        r["error"] = type(e).__name__ + ": " + str(e)
    out["chat"].append(r)

json.dump(out, sys.stdout, ensure_ascii=False)
