// Loads GGUF models in llama.cpp (node-llama-cpp 3.22.1, CPU build) in pairs:
// a whole file and the first shard of its split, and prints SAME when llama.cpp
// reports the same size and type and generates the same greedy tokens for both.
// Usage (from a folder where `npm install node-llama-cpp@3.22.1` was run):
//   node llamacpp-splitload.mjs WHOLE.gguf SPLIT-00001-of-0000N.gguf [WHOLE2 SPLIT2...]
import {getLlama, LlamaCompletion} from "node-llama-cpp";

const llama = await getLlama({gpu: false, build: "never", logLevel: "error"});

async function run(path) {
    const model = await llama.loadModel({modelPath: path});
    const ctx = await model.createContext({contextSize: 256});
    const comp = new LlamaCompletion({contextSequence: ctx.getSequence()});
    const prompt = "The quick brown fox";
    const text = await comp.generateCompletion(prompt, {maxTokens: 12, temperature: 0});
    const out = {size: Number(model.size), type: model.typeDescription,
        prompt: Array.from(model.tokenize(prompt)), completion: Array.from(model.tokenize(text, true))};
    await ctx.dispose();
    await model.dispose();
    return out;
}

let ok = true;
for (let i = 2; i + 1 < process.argv.length; i += 2) {
    const a = await run(process.argv[i]), b = await run(process.argv[i + 1]);
    const same = JSON.stringify(a) === JSON.stringify(b) && a.completion.length > 0;
    ok &&= same;
    console.log(JSON.stringify({whole: process.argv[i], split: process.argv[i + 1], llama_cpp: a, split_llama_cpp: b}));
    console.log(same ? "SAME" : "DIFFERENT");
}
process.exit(ok ? 0 : 1);
