package kernels

import (
	"fmt"
	"unsafe"

	"github.com/gguftool/gguftool/gguf"
)

// Mat is a weight matrix in its stored ggml type: Rows rows of Cols elements,
// each row Type.RowSize(Cols) bytes (GGUF ne = {Cols, Rows}). Data is usually a
// slice of the memory-mapped GGUF file; the kernels dequantize it on the fly.
type Mat struct {
	Type       gguf.Type
	Rows, Cols int
	Data       []byte
	rowBytes   int
}

// NewMat checks that data holds rows×cols elements of type t.
func NewMat(t gguf.Type, rows, cols int, data []byte) (Mat, error) {
	if !Supported(t) {
		return Mat{}, fmt.Errorf("kernels: no matrix kernel for type %s", t)
	}
	if rows <= 0 || cols <= 0 || cols%t.BlockSize() != 0 {
		return Mat{}, fmt.Errorf("kernels: bad %s matrix shape %d×%d (block size %d)", t, rows, cols, t.BlockSize())
	}
	rb := int(t.RowSize(int64(cols)))
	if len(data) != rows*rb {
		return Mat{}, fmt.Errorf("kernels: %s matrix %d×%d needs %d bytes, have %d", t, rows, cols, rows*rb, len(data))
	}
	return Mat{Type: t, Rows: rows, Cols: cols, Data: data, rowBytes: rb}, nil
}

// RowBytes is the size of one stored row.
func (m Mat) RowBytes() int { return m.rowBytes }

// Row returns the stored bytes of row i.
func (m Mat) Row(i int) []byte { return m.Data[i*m.rowBytes : (i+1)*m.rowBytes] }

// Rows returns the sub-matrix of rows [r0, r1) without copying; a stacked
// expert tensor {in, out, E} is the Mat of E·out rows and expert e is
// Rows(e·out, (e+1)·out).
func (m Mat) RowRange(r0, r1 int) Mat {
	return Mat{Type: m.Type, Rows: r1 - r0, Cols: m.Cols, Data: m.Data[r0*m.rowBytes : r1*m.rowBytes], rowBytes: m.rowBytes}
}

// DequantizeRows decodes rows [r0, r1) into dst ((r1−r0)·Cols floats).
func (m Mat) DequantizeRows(dst []float32, r0, r1 int) {
	for r := r0; r < r1; r++ {
		dequantRow(m.Type, dst[(r-r0)*m.Cols:(r-r0+1)*m.Cols], m.Row(r))
	}
}

func bytesAsF32(b []byte) []float32 {
	if len(b) == 0 {
		return nil
	}
	return unsafe.Slice((*float32)(unsafe.Pointer(&b[0])), len(b)/4)
}

// fusedDot multiplies one stored row by x without writing the decoded row:
// xsum holds Σx per 32 elements (for the K-quant mins), buf is scratch.
type fusedDot func(row []byte, x, xsum, buf []float32) float32

// tileDot4x2, when set, multiplies 4 contiguous weight rows by 2 contiguous
// activation rows at once (cols a multiple of 8), giving out[2r+t].
var tileDot4x2 func(w, x []float32, cols int, out *[8]float32)

// tileDot4x4 is the 4 rows × 4 tokens version (AVX-512), out[4r+t].
var tileDot4x4 func(w, x []float32, cols int, out *[16]float32)

// tileDequant are the SIMD row decoders of the active set, by type (MatMul
// tiles); types without one use the portable dequantRow.
var tileDequant map[gguf.Type]func(dst []float32, src []byte)

// fusedDots are the fused row kernels of the active SIMD set, by type.
var fusedDots map[gguf.Type]fusedDot

// rowDots4 are kernels of the active SIMD set that multiply four consecutive
// stored rows (rows[0:4·rowBytes]) by x at once, by type: the rows share the
// loads of x and the loop, and their sums are independent dependency chains.
// MatVec runs them over the bulk of the rows, fusedDots over the rest.
var rowDots4 map[gguf.Type]rowDot4

type rowDot4 func(rows []byte, rowBytes int, x []float32, out *[4]float32)

// tokenDots4 are kernels of the active SIMD set that multiply one stored row
// by four activation rows (x[0:4·cols]) at once, decoding the row once for
// the four, by type: MatMul's few-token path.
var tokenDots4 map[gguf.Type]tokenDot4

type tokenDot4 func(row []byte, x []float32, cols int, out *[4]float32)

// needsXSum reports whether the fused kernel of t uses xsum.
func needsXSum(t gguf.Type) bool {
	return fusedDots != nil && (t == gguf.TypeQ4_K || t == gguf.TypeQ5_K)
}

// groupSums returns Σx over each group of 32 elements.
func groupSums(x []float32) []float32 {
	s := make([]float32, len(x)/qk)
	for g := range s {
		var a float32
		for _, v := range x[g*qk : (g+1)*qk] {
			a += v
		}
		s[g] = a
	}
	return s
}

// rowDot returns row r of m times x; buf (Cols floats) is scratch space for
// types that are dequantized before the dot product.
func (m Mat) rowDot(r int, x, xsum, buf []float32) float32 {
	row := m.Row(r)
	if f := fusedDots[m.Type]; f != nil {
		return f(row, x, xsum, buf)
	}
	switch m.Type {
	case gguf.TypeF32:
		return dotF32(bytesAsF32(row), x)
	case gguf.TypeQ8_0:
		return dotQ8_0(row, x)
	case gguf.TypeF16:
		f16RowToF32(buf, row)
	default:
		dequantRow(m.Type, buf, row)
	}
	return dotF32(buf, x)
}

// grainRows picks how many rows one goroutine takes at least, so that a chunk
// is worth a goroutine (~64K multiply-adds).
func grainRows(cols, n int) int {
	return max(1, 65536/(cols*max(n, 1)))
}

// MatVec computes dst = m·x: dst[r] = Σ_i m[r,i]·x[i], on all threads.
func MatVec(dst []float32, m Mat, x []float32) {
	if len(x) < m.Cols || len(dst) < m.Rows {
		panic(fmt.Sprintf("kernels: MatVec %d×%d with x[%d], dst[%d]", m.Rows, m.Cols, len(x), len(dst)))
	}
	x = x[:m.Cols]
	var xsum []float32
	if needsXSum(m.Type) {
		xsum = groupSums(x)
	}
	if grain := grainRows(m.Cols, 1); threads <= 1 || m.Rows <= grain {
		// Inline without a closure: callers that split the work themselves
		// (the GPU executor's CPU experts) call MatVec on small row blocks.
		matVecRows(dst, m, x, xsum, 0, m.Rows)
	} else {
		parallelFor(m.Rows, grain, func(lo, hi int) { matVecRows(dst, m, x, xsum, lo, hi) })
	}
}

// matVecRows computes dst[r] = row r · x for r in [lo, hi).
func matVecRows(dst []float32, m Mat, x, xsum []float32, lo, hi int) {
	var buf []float32
	if m.Type != gguf.TypeF32 && m.Type != gguf.TypeQ8_0 && fusedDots[m.Type] == nil {
		buf = make([]float32, m.Cols)
	}
	r := lo
	if dot4 := rowDots4[m.Type]; dot4 != nil {
		for ; r+4 <= hi; r += 4 {
			dot4(m.Data[r*m.rowBytes:(r+4)*m.rowBytes], m.rowBytes, x, (*[4]float32)(dst[r:r+4]))
		}
	}
	if f := fusedDots[m.Type]; f != nil {
		// Looked up once: a map lookup per row costs a fifth of a
		// 2880-wide MXFP4 row.
		for ; r < hi; r++ {
			dst[r] = f(m.Row(r), x, xsum, buf)
		}
	}
	for ; r < hi; r++ {
		dst[r] = m.rowDot(r, x, xsum, buf)
	}
}

// fusedMaxTokens is the largest batch for which MatMul runs the fused row
// kernels once per token instead of decoding rows into a tile: for the few
// tokens an expert gets in a prefill, decoding costs more than it saves.
// Quantized rows decode slowly in Go, so their crossover is higher
// (measured with MatMul at 1024×2816, n = 4…32).
func fusedMaxTokens(t gguf.Type) int {
	if t.IsQuantized() {
		return 8
	}
	return 4
}

// matMulFused is MatMul by fused row·x kernels, row by row for every token.
func matMulFused(dst []float32, m Mat, x []float32, n int, fused fusedDot) {
	cols := m.Cols
	xsums := make([][]float32, n)
	if needsXSum(m.Type) {
		for j := range xsums {
			xsums[j] = groupSums(x[j*cols : (j+1)*cols])
		}
	}
	parallelFor(m.Rows, grainRows(cols, n), func(lo, hi int) { matMulFusedRows(dst, m, x, n, xsums, fused, lo, hi) })
}

// matMulFusedRows is matMulFused's work on rows [lo, hi).
func matMulFusedRows(dst []float32, m Mat, x []float32, n int, xsums [][]float32, fused fusedDot, lo, hi int) {
	cols := m.Cols
	tok4, dot4 := tokenDots4[m.Type], rowDots4[m.Type]
	// Tokens in fours go through tok4 (each row decoded once for four), the
	// rest through dot4 (four rows at a time, per token), row group by row
	// group so that the rows are still in L1 for the second pass.
	j4 := 0
	if tok4 != nil {
		j4 = n &^ 3
	}
	var out [4]float32
	byTokens := func(r int) {
		row := m.Row(r)
		for j := 0; j < j4; j += 4 {
			tok4(row, x[j*cols:(j+4)*cols], cols, &out)
			for t, v := range out {
				dst[(j+t)*m.Rows+r] = v
			}
		}
	}
	r := lo
	if dot4 != nil {
		for ; r+4 <= hi; r += 4 {
			for q := r; q < r+4 && tok4 != nil; q++ {
				byTokens(q)
			}
			for j := j4; j < n; j++ {
				dot4(m.Data[r*m.rowBytes:(r+4)*m.rowBytes], m.rowBytes, x[j*cols:(j+1)*cols], (*[4]float32)(dst[j*m.Rows+r:j*m.Rows+r+4]))
			}
		}
	}
	for ; r < hi; r++ {
		if tok4 != nil {
			byTokens(r)
		}
		row := m.Row(r)
		for j := j4; j < n; j++ {
			dst[j*m.Rows+r] = fused(row, x[j*cols:(j+1)*cols], xsums[j], nil)
		}
	}
}

// matTile is how many weight rows MatMul dequantizes at once before sweeping
// the activations; the tile stays in L1/L2 while every token reuses it.
const matTile = 8

// MatMul computes n products at once: for token j, dst[j·Rows + r] =
// Σ_i m[r,i]·x[j·Cols + i]. Each weight row is decoded once for all n tokens,
// which is what makes prefill faster per token than decode.
func MatMul(dst []float32, m Mat, x []float32, n int) {
	if n == 1 {
		MatVec(dst, m, x)
		return
	}
	if len(x) < n*m.Cols || len(dst) < n*m.Rows {
		panic(fmt.Sprintf("kernels: MatMul %d×%d with n=%d, x[%d], dst[%d]", m.Rows, m.Cols, n, len(x), len(dst)))
	}
	cols := m.Cols
	if fused := fusedDots[m.Type]; fused != nil && n <= fusedMaxTokens(m.Type) {
		matMulFused(dst, m, x, n, fused)
		return
	}
	parallelFor(m.Rows, max(grainRows(cols, n), matTile), func(lo, hi int) {
		var tile []float32
		if m.Type != gguf.TypeF32 {
			tile = make([]float32, matTile*cols)
		}
		matMulTileRows(dst, m, x, n, tile, lo, hi)
	})
}

// matMulTileRows is MatMul's tiled work on rows [lo, hi): weight rows
// decoded matTile at a time into tile (matTile·Cols floats; unused for F32),
// each tile swept by every token.
func matMulTileRows(dst []float32, m Mat, x []float32, n int, tile []float32, lo, hi int) {
	cols := m.Cols
	for r0 := lo; r0 < hi; r0 += matTile {
		r1 := min(r0+matTile, hi)
		var w []float32
		if m.Type == gguf.TypeF32 {
			w = bytesAsF32(m.Data[r0*m.rowBytes : r1*m.rowBytes])
		} else {
			w = tile[:(r1-r0)*cols]
			dec := tileDequant[m.Type]
			for r := r0; r < r1; r++ {
				if dec != nil {
					dec(w[(r-r0)*cols:(r-r0+1)*cols], m.Row(r))
				} else {
					dequantRow(m.Type, w[(r-r0)*cols:(r-r0+1)*cols], m.Row(r))
				}
			}
		}
		j := 0
		if tileDot4x4 != nil && cols%16 == 0 && r1-r0 == matTile {
			// Register-blocked: 4 weight rows × 4 tokens per pass (zmm).
			var acc [16]float32
			for ; j+4 <= n; j += 4 {
				for rr := 0; rr < matTile; rr += 4 {
					tileDot4x4(w[rr*cols:(rr+4)*cols], x[j*cols:(j+4)*cols], cols, &acc)
					for q := 0; q < 4; q++ {
						for tt := 0; tt < 4; tt++ {
							dst[(j+tt)*m.Rows+r0+rr+q] = acc[4*q+tt]
						}
					}
				}
			}
		}
		if tileDot4x2 != nil && cols%8 == 0 && r1-r0 == matTile {
			// Register-blocked: 4 weight rows × 2 tokens per pass.
			var acc [8]float32
			for ; j+2 <= n; j += 2 {
				for rr := 0; rr < matTile; rr += 4 {
					tileDot4x2(w[rr*cols:(rr+4)*cols], x[j*cols:(j+2)*cols], cols, &acc)
					for q := 0; q < 4; q++ {
						dst[j*m.Rows+r0+rr+q] = acc[2*q]
						dst[(j+1)*m.Rows+r0+rr+q] = acc[2*q+1]
					}
				}
			}
		}
		for ; j < n; j++ {
			xj := x[j*cols : (j+1)*cols]
			out := dst[j*m.Rows:]
			for r := r0; r < r1; r++ {
				out[r] = dotF32(w[(r-r0)*cols:(r-r0+1)*cols], xj)
			}
		}
	}
}
