package runtime

import (
	"fmt"

	"github.com/gguftool/gguftool/gguf"
	"github.com/gguftool/gguftool/runtime/kernels"
)

// Tensor is one weight of a model: its GGUF description, its bytes (a slice
// of the mapped file) and the device its operations run on.
type Tensor struct {
	Name   string
	Info   *gguf.TensorInfo
	Data   []byte
	Device Device
	// ExpertDevices is set when the experts of a stacked tensor live on
	// different devices: expert e's rows run on ExpertDevices[e].
	ExpertDevices []Device
	mat           kernels.Mat // matrix view: Dims[0] columns, product of the other dims rows
}

// DeviceOf returns the device that holds rows [r0, …) of t.
func (t *Tensor) DeviceOf(r0 int) Device {
	if t.ExpertDevices == nil {
		return t.Device
	}
	return t.ExpertDevices[r0/(t.mat.Rows/len(t.ExpertDevices))]
}

// Rows is the number of matrix rows (all dims but the first, multiplied).
func (t *Tensor) Rows() int { return t.mat.Rows }

// Cols is the row length (ne[0]).
func (t *Tensor) Cols() int { return t.mat.Cols }

// Mat is the matrix view used by the CPU kernels.
func (t *Tensor) Mat() kernels.Mat { return t.mat }

func newTensor(f *gguf.File, info *gguf.TensorInfo) (*Tensor, error) {
	data := f.Data(info)
	if uint64(len(data)) != info.Size() {
		return nil, fmt.Errorf("tensor %s: file holds %d bytes, want %d", info.Name, len(data), info.Size())
	}
	t := &Tensor{Name: info.Name, Info: info, Data: data, Device: CPUDevice}
	cols := int(info.Ne()[0]) // Ne, not Dims: a scalar (n_dims = 0) has ne [1 1 1 1]
	rows := int(info.NumElements()) / max(cols, 1)
	if kernels.Supported(info.Type) {
		m, err := kernels.NewMat(info.Type, rows, cols, data)
		if err != nil {
			return nil, fmt.Errorf("tensor %s: %w", info.Name, err)
		}
		t.mat = m
	}
	return t, nil
}

// floats returns the whole tensor as float32 (a copy), for the small 1-D
// tensors (norms, biases, sinks, rope factors) used element by element.
func (t *Tensor) floats() ([]float32, error) {
	if !kernels.Supported(t.Info.Type) {
		return nil, fmt.Errorf("tensor %s: type %s is not supported by the CPU runtime", t.Name, t.Info.Type)
	}
	out := make([]float32, t.mat.Rows*t.mat.Cols)
	t.mat.DequantizeRows(out, 0, t.mat.Rows)
	return out, nil
}
