// Loads a GGUF with llama.cpp (CPU build of node-llama-cpp 3.22.1) and
// records what it allocates: model size and, per context size, the KV and
// compute buffers from its log. Used for testdata/planner/llamacpp/*.json
// (files written by `gguftool synth`; see planner/llamacpp_test.go).
// Usage: node llama-memory.mjs FILE.gguf 4096 8192 > out.json
import {getLlama, LlamaLogLevel} from "node-llama-cpp";

const path = process.argv[2];
const lines = [];
const llama = await getLlama({gpu: false, build: "never", logLevel: LlamaLogLevel.info,
    logger: (lvl, msg) => { lines.push(msg.trim()); }});
const model = await llama.loadModel({modelPath: path});
const out = {file: path.split("/").pop(), model_size_bytes: Number(model.size),
    type_description: model.typeDescription, contexts: []};
for (const n of process.argv.slice(3).map(Number)) {
    lines.length = 0;
    const ctx = await model.createContext({contextSize: n, batchSize: 512, flashAttention: true});
    out.contexts.push({n_ctx: n, log: lines.filter(l => /KV buffer size|compute buffer size|n_ubatch|cells/.test(l))});
    await ctx.dispose();
}
console.log(JSON.stringify(out, null, 1));
await model.dispose();
