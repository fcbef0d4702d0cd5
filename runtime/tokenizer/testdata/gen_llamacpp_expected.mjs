// Produces llamacpp_expected.json: the ids llama.cpp (node-llama-cpp 3.22.1,
// CPU build) gives for corpus.json with the real vocabularies, loaded from
// vocabulary-only GGUFs written by
//   GGUFTOOL_WRITE_VOCAB_GGUF=DIR go test -run WriteVocabGGUF ./runtime/tokenizer
// Run: node gen_llamacpp_expected.mjs corpus.json DIR > llamacpp_expected.json
// (special tokens parsed, none added, as real_expected.json).
import fs from "node:fs";
import { getLlama } from "node-llama-cpp";

const corpus = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
const dir = process.argv[3];
const llama = await getLlama({ gpu: false, build: "never" });
const out = {};
for (const name of ["gptoss", "deepseek_v3", "phi35"]) {
  const model = await llama.loadModel({ modelPath: `${dir}/${name}.gguf`, vocabOnly: true });
  const texts = [...corpus.texts, ...(corpus.special_texts[name] || []), ...corpus.random_texts];
  out[name] = texts.map((text) => Array.from(model.tokenize(text, true)));
  await model.dispose();
}
// One id list per text, in the order texts, special_texts[name], random_texts.
process.stdout.write(JSON.stringify(out) + "\n");
