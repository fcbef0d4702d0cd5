// Greedy continuation with llama.cpp (node-llama-cpp, CPU): loads a GGUF,
// evaluates the given prompt ids and prints the next n argmax tokens as JSON.
// usage: node greedy.mjs NODE_LLAMA_CPP_DIR MODEL.gguf N ID,ID,...
const [dir, modelPath, n, ids] = process.argv.slice(2);
const {getLlama, LlamaLogLevel} = await import(dir + "/dist/index.js");
const llama = await getLlama({gpu: false, build: "never", logLevel: LlamaLogLevel.error});
const model = await llama.loadModel({modelPath});
const ctx = await model.createContext({contextSize: 128});
const seq = ctx.getSequence();
const out = [];
for await (const t of seq.evaluate(ids.split(",").map(Number), {temperature: 0})) {
  out.push(t);
  if (out.length >= Number(n)) break;
}
console.log(JSON.stringify(out));
await ctx.dispose();
await model.dispose();
