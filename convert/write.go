package convert

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"sync"

	"github.com/gguftool/gguftool/gguf"
	"github.com/gguftool/gguftool/quant"
)

// chunkElems bounds the float32 rows one worker converts at a time (4 MiB):
// memory in flight is a few chunks per worker whatever the model's size.
const chunkElems = 1 << 20

// job is one chunk of rows of one tensor, converted by a worker and
// written in order by the writer.
type job struct {
	t           *PlannedTensor
	r0, n       int
	first, last bool
	out         []byte
	err         error
	done        chan struct{}
}

// Write converts the checkpoint and writes the GGUF file to w. progress,
// if not nil, is called with the tensor bytes written so far.
func (p *Plan) Write(ctx context.Context, w io.Writer, workers int, progress func(done int64)) error {
	gw, err := gguf.NewWriter(w, p.Metadata, p.TensorInfos())
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	workers = defaultWorkers(workers)

	work := make(chan *job)
	ordered := make(chan *job, workers+2)
	var pool sync.Pool
	go func() { // producer: every chunk of every tensor, in file order
		defer close(work)
		defer close(ordered)
		for _, t := range p.Tensors {
			for _, j := range chunks(t) {
				select {
				case ordered <- j:
				case <-ctx.Done():
					return
				}
				select {
				case work <- j:
				case <-ctx.Done():
					return
				}
			}
		}
	}()
	var wg sync.WaitGroup
	for i := 0; i < workers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var scratch []float32
			for j := range work {
				if ctx.Err() != nil {
					j.err = ctx.Err()
				} else {
					j.err = convertChunk(j, &scratch, &pool)
				}
				close(j.done)
			}
		}()
	}
	// On every return: stop the producer, then wait for the workers.
	defer wg.Wait()
	defer cancel()

	var written int64
	for j := range ordered {
		select {
		case <-j.done:
		case <-ctx.Done():
			return ctx.Err()
		}
		if j.err != nil {
			return j.err
		}
		if j.first {
			if err := gw.BeginTensor(j.t.Name); err != nil {
				return err
			}
		}
		if _, err := gw.Write(j.out); err != nil {
			return fmt.Errorf("writing tensor %s: %w", j.t.Name, err)
		}
		written += int64(len(j.out))
		if cap(j.out) > 0 {
			b := j.out[:0]
			pool.Put(&b)
		}
		j.out = nil
		if j.last {
			if err := gw.EndTensor(); err != nil {
				return err
			}
		}
		if progress != nil {
			progress(written)
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	return gw.Close()
}

// chunks splits a tensor into row ranges of about chunkElems elements.
func chunks(t *PlannedTensor) []*job {
	var rows, per int
	if t.raw != nil {
		rows = t.raw.rows()
		per = max(1, 4*chunkElems/max(t.raw.rowBytes(), 1))
	} else {
		rows = t.src.rows()
		per = max(1, chunkElems/max(t.src.cols(), 1))
	}
	var js []*job
	for r := 0; r < rows || (r == 0 && rows == 0); r += per {
		js = append(js, &job{t: t, r0: r, n: min(per, rows-r), done: make(chan struct{})})
	}
	js[0].first = true
	js[len(js)-1].last = true
	return js
}

func getBuf(pool *sync.Pool, n int) []byte {
	if b, ok := pool.Get().(*[]byte); ok && cap(*b) >= n {
		return (*b)[:n]
	}
	return make([]byte, n)
}

// convertChunk reads the job's rows and encodes them in the tensor's type.
func convertChunk(j *job, scratch *[]float32, pool *sync.Pool) error {
	t := j.t
	if t.raw != nil {
		j.out = getBuf(pool, j.n*t.raw.rowBytes())
		return t.raw.readRaw(j.r0, j.n, j.out)
	}
	cols := t.src.cols()
	if c, ok := t.src.(rawCopier); ok && c.canCopy(t.Type) {
		j.out = getBuf(pool, int(t.Type.RowSize(int64(cols)))*j.n)
		c.copyRaw(j.r0, j.n, t.Type, j.out)
		return nil
	}
	n := j.n * cols
	if cap(*scratch) < n {
		*scratch = make([]float32, n)
	}
	src := (*scratch)[:n]
	if err := t.src.read(j.r0, j.n, src); err != nil {
		return err
	}
	j.out = getBuf(pool, int(t.Type.RowSize(int64(cols)))*j.n)
	return encode(t.Type, j.out, src, t.Name)
}

// encode writes src in type typ.
func encode(typ gguf.Type, dst []byte, src []float32, name string) error {
	le := binary.LittleEndian
	switch typ {
	case gguf.TypeF32:
		for i, f := range src {
			le.PutUint32(dst[4*i:], math.Float32bits(f))
		}
	case gguf.TypeF16:
		for i, f := range src {
			le.PutUint16(dst[2*i:], f32ToF16(f))
		}
	case gguf.TypeBF16:
		for i, f := range src {
			le.PutUint16(dst[2*i:], f32ToBF16(f))
		}
	case gguf.TypeQ8_0:
		if err := quant.Quantize(gguf.TypeQ8_0, dst, src); err != nil {
			return fmt.Errorf("tensor %s: %w", name, err)
		}
	default:
		return fmt.Errorf("tensor %s: cannot write type %s", name, typ)
	}
	return nil
}
