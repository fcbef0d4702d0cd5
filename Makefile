# gguftool — the commands we use. `make help` lists them.
GO      ?= go
BIN     ?= bin
PKGS    ?= ./...
FUZZTIME ?= 60s

.PHONY: help build test vet lint race fuzz bench check ci device-bin cpu-experts-bench clean

help: ## list targets
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | sort

build: ## build bin/gguftool
	$(GO) build -o $(BIN)/gguftool ./cmd/gguftool

test: ## run all tests (the README's test command)
	$(GO) test $(PKGS)

vet: ## go vet
	$(GO) vet $(PKGS)

# Also with -tags cuda: the GPU tests use helpers the plain build does not see.
lint: ## staticcheck (go install honnef.co/go/tools/cmd/staticcheck@v0.8.2), plain and -tags cuda
	staticcheck $(PKGS)
	staticcheck -tags cuda $(PKGS)

race: ## tests under the race detector (-short: skips the slowest GPU-executor case)
	$(GO) test -race -short $(PKGS)

check: vet test ## vet and test

# -fuzzminimizetime: minimizing a new input grown from a 56 KB tokenizer.json seed
# otherwise stalls the run for minutes.
fuzz: ## run every fuzz target (parsers: gguf, safetensors, tokenizer.json, sentencepiece, manifests, ...) for FUZZTIME each
	@for pkg in $$($(GO) list ./...); do \
		for t in $$($(GO) test $$pkg -list '^Fuzz' 2>/dev/null | grep '^Fuzz'); do \
			echo "== $$pkg $$t"; \
			$(GO) test $$pkg -run '^$$' -fuzz "^$$t$$" -fuzztime $(FUZZTIME) -fuzzminimizetime 5s || exit 1; \
		done; \
	done

bench: ## run the benchmarks once each (report ratios from the same run)
	$(GO) test $(PKGS) -run '^$$' -bench . -benchmem

ci: ## what .ci/run does
	./.ci/run

# The GPU machine has CUDA but no Go: build static, stripped binaries here
# and carry them to it (see docs/cuda.md). ptx, gpu-tests, test-gpu and
# gpu-tests-archive come from cuda/Makefile.inc.
device-bin: gpu-tests-archive ## build gguftool and the GPU test binaries for the GPU machine (bin/gpu.tgz)

# The CPU expert benchmark (runtime/gpu/cpu_experts_bench_test.go: decode's
# CPU expert path against a memory-read ceiling; no GPU needed) for the GPU
# machine's host. There: gunzip -c bin/cpuexp/gpu.test.gz > /tmp/t && chmod +x /tmp/t
# && cd runtime/gpu && /tmp/t -test.run '^$' -test.bench BenchmarkCPUExperts -test.benchtime 200x
cpu-experts-bench: ## build the CPU expert benchmark for the GPU machine (bin/cpuexp/gpu.test.gz)
	rm -rf $(BIN)/cpuexp && mkdir -p $(BIN)/cpuexp
	CGO_ENABLED=0 $(GO) test -c -ldflags='-s -w' -o $(BIN)/cpuexp/gpu.test ./runtime/gpu
	gzip -9 $(BIN)/cpuexp/gpu.test

include cuda/Makefile.inc

clean: ## remove build outputs
	rm -rf $(BIN)
