package quant

import (
	"fmt"
	"io"
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/gguftool/gguftool/gguf"
)

// benchData is 1 MiB of float32 weights (normal, σ 0.02 like real ones).
func benchData() []float32 {
	r := rand.New(rand.NewPCG(7, 8))
	x := make([]float32, 256*1024)
	for i := range x {
		x[i] = float32(r.NormFloat64() * 0.02)
	}
	return x
}

// BenchmarkQuantize: MB/s of float32 input on one core, per type.
func BenchmarkQuantize(b *testing.B) {
	x := benchData()
	for _, typ := range SupportedTypes() {
		q := make([]byte, typ.RowSize(int64(len(x))))
		b.Run(typ.String(), func(b *testing.B) {
			b.SetBytes(int64(4 * len(x)))
			for b.Loop() {
				if err := Quantize(typ, q, x); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkQuantizeParallel: the same on every core (GOMAXPROCS workers).
func BenchmarkQuantizeParallel(b *testing.B) {
	x := benchData()
	for _, typ := range SupportedTypes() {
		q := make([]byte, typ.RowSize(int64(len(x))))
		b.Run(fmt.Sprintf("%s/cores=%d", typ, runtime.GOMAXPROCS(0)), func(b *testing.B) {
			b.SetBytes(int64(4 * len(x)))
			for b.Loop() {
				if err := QuantizeParallel(typ, q, x, 0); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkDequantize: MB/s of float32 output on one core, per type.
func BenchmarkDequantize(b *testing.B) {
	x := benchData()
	y := make([]float32, len(x))
	for _, typ := range SupportedTypes() {
		q := make([]byte, typ.RowSize(int64(len(x))))
		if err := Quantize(typ, q, x); err != nil {
			b.Fatal(err)
		}
		b.Run(typ.String(), func(b *testing.B) {
			b.SetBytes(int64(4 * len(x)))
			for b.Loop() {
				if err := Dequantize(typ, y, q); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkModel: the whole fixture model (9 MB of F32) through
// Plan.Write on all cores, per preset; MB/s of input.
func BenchmarkModel(b *testing.B) {
	src := openSource(b)
	for _, f := range []Ftype{FtypeQ8_0, FtypeQ4_K_M, FtypeQ6_K, FtypeMXFP4_MOE, FtypeQ2_K} {
		p, err := NewRecipe(f).Plan(src.Metadata, src.Tensors)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprintf("%s/cores=%d", f, runtime.GOMAXPROCS(0)), func(b *testing.B) {
			b.SetBytes(src.Size())
			for b.Loop() {
				if _, err := p.Write(io.Discard, src, WriteOptions{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkQuantizeKLanes: the K-quants with the eight-lane search
// against the portable one-sub-block search, one core (the baseline runs
// in the same process).
func BenchmarkQuantizeKLanes(b *testing.B) {
	x := benchData()
	for _, typ := range []gguf.Type{gguf.TypeQ2_K, gguf.TypeQ4_K, gguf.TypeQ5_K, gguf.TypeQ6_K, gguf.TypeMXFP4} {
		q := make([]byte, typ.RowSize(int64(len(x))))
		for _, on := range []bool{false, true} {
			b.Run(fmt.Sprintf("%s/lanes=%v", typ, on), func(b *testing.B) {
				b.SetBytes(int64(4 * len(x)))
				withLanes(on, func() {
					for b.Loop() {
						if err := Quantize(typ, q, x); err != nil {
							b.Fatal(err)
						}
					}
				})
			})
		}
	}
}
