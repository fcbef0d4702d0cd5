package quant

import (
	"fmt"
	"io"
	"math"

	"github.com/gguftool/gguftool/gguf"
)

// defaultChunkElems bounds the floats held per tensor at a time (16 MiB of
// float32), so memory does not grow with the model or tensor size.
const defaultChunkElems = 4 << 20

// copyChunk is how many bytes of a tensor copied unchanged are written
// (and their source pages released) at a time.
const copyChunk = 16 << 20

// WriteOptions tune Plan.Write.
type WriteOptions struct {
	Workers    int               // goroutines per chunk; 0: one per core
	Report     bool              // measure dequantize(quantize(x)) against x
	ChunkElems int               // floats per chunk; 0: defaultChunkElems
	Progress   func(bytes int64) // called with input bytes done, per chunk
}

// TensorReport describes what happened to one tensor.
type TensorReport struct {
	Name      string    `json:"name"`
	In        gguf.Type `json:"-"`
	Out       gguf.Type `json:"-"`
	InType    string    `json:"type_in"`
	OutType   string    `json:"type_out"`
	Elements  int64     `json:"elements"`
	InBytes   int64     `json:"bytes_in"`
	OutBytes  int64     `json:"bytes_out"`
	Converted bool      `json:"converted"`
	// Error of dequantize(quantize(x)) against x (x: the input as float32),
	// only with WriteOptions.Report and for converted tensors.
	RMSE      float64 `json:"rmse"`
	MaxAbsErr float64 `json:"max_abs_err"`
	sumSq     float64
}

// Write streams the planned file to w, reading tensor data from src (the
// file the plan was made from): one chunk of rows at a time, each chunk
// quantized on all workers. It returns a report per tensor in file order.
func (p *Plan) Write(w io.Writer, src *gguf.File, opt WriteOptions) ([]TensorReport, error) {
	outs := make([]gguf.TensorInfo, len(p.Tensors))
	for i := range p.Tensors {
		outs[i] = p.Tensors[i].Out
	}
	gw, err := gguf.NewWriter(w, p.Metadata, outs)
	if err != nil {
		return nil, err
	}
	chunk := opt.ChunkElems
	if chunk <= 0 {
		chunk = defaultChunkElems
	}
	var bufs buffers
	reports := make([]TensorReport, 0, len(p.Tensors))
	for i := range p.Tensors {
		tp := &p.Tensors[i]
		rep, err := writeTensor(gw, src, tp, chunk, opt, &bufs)
		if err != nil {
			return nil, fmt.Errorf("tensor %s: %w", tp.Src.Name, err)
		}
		reports = append(reports, rep)
	}
	return reports, gw.Close()
}

// buffers are reused across chunks and tensors.
type buffers struct {
	x, y []float32
	q    []byte
}

func grow[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}

func writeTensor(gw *gguf.Writer, src *gguf.File, tp *TensorPlan, chunk int, opt WriteOptions, b *buffers) (TensorReport, error) {
	in := src.Data(&tp.Src)
	rep := TensorReport{
		Name: tp.Src.Name, In: tp.Src.Type, Out: tp.Out.Type,
		InType: tp.Src.Type.String(), OutType: tp.Out.Type.String(),
		Elements: int64(tp.Src.NumElements()), InBytes: int64(len(in)), OutBytes: int64(tp.Out.Size()),
		Converted: tp.Convert(),
	}
	if uint64(len(in)) != tp.Src.Size() {
		return rep, fmt.Errorf("input holds %d bytes, want %d", len(in), tp.Src.Size())
	}
	if err := gw.BeginTensor(tp.Out.Name); err != nil {
		return rep, err
	}
	if !tp.Convert() {
		for off := 0; off < len(in); off += copyChunk {
			end := min(off+copyChunk, len(in))
			if _, err := gw.Write(in[off:end]); err != nil {
				return rep, err
			}
			src.ReleaseData(&tp.Src, int64(off), int64(end))
			if opt.Progress != nil {
				opt.Progress(int64(end - off))
			}
		}
		return rep, gw.EndTensor()
	}
	ne0 := int(tp.Src.Ne()[0])
	rows := int(tp.Src.NumElements()) / max(ne0, 1)
	rowsPer := max(1, chunk/max(ne0, 1))
	inRow := int(tp.Src.Type.RowSize(int64(ne0)))
	outRow := int(tp.Out.Type.RowSize(int64(ne0)))
	for r0 := 0; r0 < rows; r0 += rowsPer {
		nr := min(rowsPer, rows-r0)
		b.x = grow(b.x, nr*ne0)
		b.q = grow(b.q, nr*outRow)
		if err := DequantizeParallel(tp.Src.Type, b.x, in[r0*inRow:(r0+nr)*inRow], opt.Workers); err != nil {
			return rep, err
		}
		if err := checkValues(tp.Out.Type, b.x, r0*ne0); err != nil {
			return rep, err
		}
		if err := QuantizeParallel(tp.Out.Type, b.q, b.x, opt.Workers); err != nil {
			return rep, err
		}
		if opt.Report {
			b.y = grow(b.y, nr*ne0)
			if err := DequantizeParallel(tp.Out.Type, b.y, b.q, opt.Workers); err != nil {
				return rep, err
			}
			rep.accumulate(b.x, b.y)
		}
		if _, err := gw.Write(b.q); err != nil {
			return rep, err
		}
		src.ReleaseData(&tp.Src, int64(r0*inRow), int64((r0+nr)*inRow))
		if opt.Progress != nil {
			opt.Progress(int64(nr * inRow))
		}
	}
	if opt.Report && rep.Elements > 0 {
		rep.RMSE = math.Sqrt(rep.sumSq / float64(rep.Elements))
	}
	return rep, gw.EndTensor()
}

func (r *TensorReport) accumulate(x, y []float32) {
	for i := range x {
		d := float64(y[i]) - float64(x[i])
		r.sumSq += d * d
		if a := math.Abs(d); a > r.MaxAbsErr || math.IsNaN(a) {
			r.MaxAbsErr = a
		}
	}
}

// checkValues refuses what llama-quantize's row validation refuses: NaN
// or infinite inputs (they would make a block's scale NaN), and values
// beyond the F16 range for an F16 output. base is the index of x[0] in the
// tensor, for the message.
func checkValues(out gguf.Type, x []float32, base int) error {
	limit := uint32(0x7f800000) // exponent all ones: inf or NaN
	if out == gguf.TypeF16 {
		limit = 0x477ff000 // 65520 rounds to infinity in F16
	}
	for i, v := range x {
		if math.Float32bits(v)&0x7fffffff >= limit {
			if out == gguf.TypeF16 && !math.IsNaN(float64(v)) && !math.IsInf(float64(v), 0) {
				return fmt.Errorf("element %d is %g, beyond the F16 range", base+i, v)
			}
			return fmt.Errorf("element %d is %g; refusing to quantize non-finite values", base+i, v)
		}
	}
	return nil
}
