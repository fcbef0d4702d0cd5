// Package kernels holds gguftool's CUDA kernels: CUDA C sources (*.cu,
// common.cuh) and the PTX that nvcc made of them (gen-ptx.sh, `make ptx`),
// embedded in the binary gzip-compressed (*.ptx.gz: 2.4 MB of PTX text is
// 0.44 MB compressed, and the repository travels to the GPU machine under
// a size limit). The PTX targets compute_80, so it runs on Ampere
// and every newer GPU (the driver JIT-compiles it at load).
//
// Each .ptx starts with the sha256 of the sources it came from; the package
// test fails when a source changed without regenerating its PTX.
package kernels

import (
	"bytes"
	"compress/gzip"
	"embed"
	"fmt"
	"io"
	"sort"
	"strings"
)

//go:embed *.ptx.gz
var ptxFS embed.FS

// Module names (the .cu files without extension).
const (
	Embed          = "embed"
	Norm           = "norm"
	Rope           = "rope"
	Attention      = "attention"
	Matmul         = "matmul"
	Matvec         = "matvec"
	AttentionTiled = "attention_tiled"
	Gemm           = "gemm"
	Router         = "router"
	SwiGLU         = "swiglu"
	Elementwise    = "elementwise"
)

// HeaderPrefix starts the first line of every generated PTX file.
const HeaderPrefix = "// gguftool-source-sha256: "

// PTX returns the embedded PTX of a module.
func PTX(module string) ([]byte, error) {
	gz, err := ptxFS.ReadFile(module + ".ptx.gz")
	if err != nil {
		return nil, fmt.Errorf("kernels: no embedded PTX for module %q", module)
	}
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		return nil, fmt.Errorf("kernels: embedded PTX of module %q: %w", module, err)
	}
	b, err := io.ReadAll(zr)
	if err != nil {
		return nil, fmt.Errorf("kernels: embedded PTX of module %q: %w", module, err)
	}
	return b, nil
}

// Modules lists the embedded modules.
func Modules() []string {
	ents, _ := ptxFS.ReadDir(".")
	var out []string
	for _, e := range ents {
		if n, ok := strings.CutSuffix(e.Name(), ".ptx.gz"); ok {
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out
}

// SourceHash returns the source sha256 recorded in a PTX file's header.
func SourceHash(ptx []byte) (string, bool) {
	line, _, _ := strings.Cut(string(ptx[:min(len(ptx), 200)]), "\n")
	h, ok := strings.CutPrefix(line, HeaderPrefix)
	return strings.TrimSpace(h), ok
}
