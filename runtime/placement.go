package runtime

import (
	"fmt"
	"strings"

	"github.com/gguftool/gguftool/gguf"
	"github.com/gguftool/gguftool/planner"
)

// Placement says on which device a weight lives: the whole tensor when
// expert is −1, else the slice of one expert of a stacked *_exps tensor.
// nil means everything on the CPU.
type Placement func(tensor string, expert int) Device

// bindDevices sets t.Device, and t.ExpertDevices when the experts of a
// stacked tensor are split over several devices.
func bindDevices(t *Tensor, p Placement) {
	if p == nil {
		return
	}
	t.Device = p(t.Name, -1)
	if !t.Info.IsExperts() || len(t.Info.Dims) < 3 {
		return
	}
	n := int(t.Info.Dims[len(t.Info.Dims)-1])
	devs := make([]Device, n)
	mixed := false
	for e := range devs {
		devs[e] = p(t.Name, e)
		mixed = mixed || devs[e] != devs[0]
	}
	t.Device = devs[0]
	if mixed {
		t.ExpertDevices = devs
	}
}

// PlacementFromManifest turns a planner manifest into a Placement for the
// model file f, checking that every entry names a tensor of f with the
// byte range it has there, and that every tensor is placed completely.
// The manifest's CPU device is the host; its GPU devices are cuda:0, cuda:1…
// in the order they are listed.
func PlacementFromManifest(m *planner.Manifest, f *gguf.File) (Placement, error) {
	devs := map[string]Device{}
	gpus := 0
	for _, d := range m.Devices {
		if d.Kind == planner.KindGPU {
			devs[d.Name] = Device{Kind: CUDA, Index: gpus}
			gpus++
		} else {
			devs[d.Name] = CPUDevice
		}
	}
	whole := map[string]Device{}
	perExpert := map[string]map[int]Device{}
	for _, p := range m.Tensors {
		t, ok := f.Tensor(p.Name)
		if !ok {
			return nil, fmt.Errorf("manifest places %s, which %s does not have", p.Name, f.Path())
		}
		dev, ok := devs[p.Device]
		if !ok {
			return nil, fmt.Errorf("manifest places %s on unknown device %q", p.Name, p.Device)
		}
		off, size := f.FileOffset(t), int64(t.Size())
		if p.Expert == nil {
			if p.Offset != off || p.Size != size {
				return nil, fmt.Errorf("manifest range of %s is [%d, +%d), the file has [%d, +%d): the manifest was made for another file", p.Name, p.Offset, p.Size, off, size)
			}
			whole[p.Name] = dev
			continue
		}
		n := int64(t.Dims[len(t.Dims)-1])
		e := int64(*p.Expert)
		if !t.IsExperts() || e >= n || p.Offset != off+e*(size/n) || p.Size != size/n {
			return nil, fmt.Errorf("manifest slice of %s for expert %d does not match the file's layout", p.Name, e)
		}
		if perExpert[p.Name] == nil {
			perExpert[p.Name] = map[int]Device{}
		}
		perExpert[p.Name][int(e)] = dev
	}
	var missing []string
	for i := range f.Tensors {
		t := &f.Tensors[i]
		if _, ok := whole[t.Name]; ok {
			continue
		}
		if pe := perExpert[t.Name]; pe != nil && len(pe) == int(t.Dims[len(t.Dims)-1]) {
			continue
		}
		missing = append(missing, t.Name)
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("manifest does not place %d tensor(s) of %s completely: %s", len(missing), f.Path(), strings.Join(missing[:min(5, len(missing))], ", "))
	}
	return func(name string, expert int) Device {
		if d, ok := whole[name]; ok {
			return d
		}
		if expert < 0 {
			expert = 0
		}
		return perExpert[name][expert]
	}, nil
}
