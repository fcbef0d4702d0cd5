// Dumps what llama.cpp (through node-llama-cpp 3.22.1) reads from a GGUF file:
// node-llama-cpp's own GGUF parser for the metadata and tensor infos, and
// llama.cpp's C loader for the model size and type description.
// Usage: node gguf-dump.mjs FILE.gguf > FILE.llamacpp.json
// Needs `npm install node-llama-cpp@3.22.1` in this folder or a parent.
import {readGgufFileInfo, getLlama} from "node-llama-cpp";

const path = process.argv[2];
const info = await readGgufFileInfo(path, {readTensorInfo: true});

// node-llama-cpp nests metadata by dotted key; flatten it back.
const flat = {};
(function walk(prefix, obj) {
    for (const [k, v] of Object.entries(obj)) {
        const key = prefix ? prefix + "." + k : k;
        if (v !== null && typeof v === "object" && !Array.isArray(v)) walk(key, v);
        else flat[key] = v;
    }
})("", info.metadata);

const llama = await getLlama({gpu: false, build: "never", logLevel: "error"});
const model = await llama.loadModel({modelPath: path});
const out = {
    version: info.version,
    tensor_count: Number(info.totalTensorCount),
    metadata: flat,
    tensors: info.fullTensorInfo.map(t => ({
        name: t.name, ggml_type: t.ggmlType, ne: t.dimensions.map(Number), offset: Number(t.offset),
    })),
    llama_cpp: {model_size_bytes: Number(model.size), type_description: model.typeDescription},
};
console.log(JSON.stringify(out, (k, v) => typeof v === "bigint" ? Number(v) : v, 1));
await model.dispose();
