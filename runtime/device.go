// Package runtime runs GGUF models: the forward passes of gpt-oss, phimoe,
// deepseek (MoE v1) and deepseek2 (MLA) with a KV cache, token sampling and
// generation. Weights stay in the mapped GGUF file in their stored type; every
// weight has a Device and the matrix products that use it run on the Backend
// of that device (see docs/runtime.md). The CPU backend uses runtime/kernels.
package runtime

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/gguftool/gguftool/runtime/kernels"
)

// DeviceKind is the kind of processor a weight lives on.
type DeviceKind int

const (
	// CPU is host memory, computed by runtime/kernels.
	CPU DeviceKind = iota
	// CUDA is an NVIDIA GPU driven through the cuda package.
	CUDA
)

// Device names one processor: "cpu" or "cuda:N".
type Device struct {
	Kind  DeviceKind
	Index int
}

// CPUDevice is the host.
var CPUDevice = Device{Kind: CPU}

func (d Device) String() string {
	if d.Kind == CPU {
		return "cpu"
	}
	return "cuda:" + strconv.Itoa(d.Index)
}

// ParseDevice reads "cpu", "cuda" (= cuda:0) or "cuda:N".
func ParseDevice(s string) (Device, error) {
	switch {
	case s == "cpu":
		return CPUDevice, nil
	case s == "cuda" || s == "gpu":
		return Device{Kind: CUDA}, nil
	case strings.HasPrefix(s, "cuda:"):
		n, err := strconv.Atoi(s[5:])
		if err == nil && n >= 0 {
			return Device{Kind: CUDA, Index: n}, nil
		}
	}
	return Device{}, fmt.Errorf("unknown device %q (want cpu, cuda or cuda:N)", s)
}

// Backend executes the operations whose weights live on its device. Inputs
// and outputs are host float32 slices: the hybrid runtime moves only
// activations (a few KiB per token) between devices, never weights. A GPU
// backend uploads the weights placed on it once (Upload) and may keep
// activations resident between calls as an optimization.
type Backend interface {
	Device() Device
	// Upload is called once per weight with a part on this device, before
	// any op; for a stacked expert tensor split over devices, the backend
	// takes the experts e with w.ExpertDevices[e] == Device().
	Upload(w *Tensor) error
	// MatMul computes dst[j·rows + r] = Σ_i w[r,i]·x[j·cols + i] for n tokens,
	// where w is rows [r0, r1) of weight t (a whole matrix or one expert).
	MatMul(dst []float32, t *Tensor, r0, r1 int, x []float32, n int) error
}

// cpuBackend runs on the host with the dequantize-on-the-fly kernels.
type cpuBackend struct{}

func (cpuBackend) Device() Device         { return CPUDevice }
func (cpuBackend) Upload(w *Tensor) error { return nil }
func (cpuBackend) MatMul(dst []float32, t *Tensor, r0, r1 int, x []float32, n int) error {
	m := t.mat
	if r0 != 0 || r1 != m.Rows {
		m = m.RowRange(r0, r1)
	}
	kernels.MatMul(dst, m, x, n)
	return nil
}
