package convert

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// stTensor is a tensor for writeSafetensors.
type stTensor struct {
	name  string
	dtype DType
	shape []int64
	data  []byte
}

// writeSafetensors writes a safetensors file (header entries in the given
// order, data packed in that order).
func writeSafetensors(t testing.TB, path string, ts []stTensor) {
	t.Helper()
	var hdr strings.Builder
	hdr.WriteString(`{"__metadata__":{"format":"pt"}`)
	var off int64
	var data []byte
	for _, x := range ts {
		shape, _ := json.Marshal(x.shape)
		name, _ := json.Marshal(x.name)
		hdr.WriteString(`,` + string(name) + `:{"dtype":"` + string(x.dtype) + `","shape":` + string(shape) +
			`,"data_offsets":[` + stItoa(off) + `,` + stItoa(off+int64(len(x.data))) + `]}`)
		off += int64(len(x.data))
		data = append(data, x.data...)
	}
	hdr.WriteString("}")
	h := []byte(hdr.String())
	for len(h)%8 != 0 {
		h = append(h, ' ')
	}
	out := binary.LittleEndian.AppendUint64(nil, uint64(len(h)))
	out = append(append(out, h...), data...)
	if err := os.WriteFile(path, out, 0o644); err != nil {
		t.Fatal(err)
	}
}

func stItoa(n int64) string { b, _ := json.Marshal(n); return string(b) }

func rawFile(t *testing.T, header string, data []byte) string {
	t.Helper()
	b := binary.LittleEndian.AppendUint64(nil, uint64(len(header)))
	b = append(append(b, header...), data...)
	p := filepath.Join(t.TempDir(), "x.safetensors")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestOpenSafetensors(t *testing.T) {
	p := filepath.Join(t.TempDir(), "a.safetensors")
	writeSafetensors(t, p, []stTensor{
		{"z", BF16, []int64{2, 2}, []byte{0, 0x3f, 0x80, 0x3f, 0, 0x40, 0, 0xc0}},
		{"a", F32, []int64{1}, []byte{0, 0, 0x80, 0x3f}},
		{"empty", F16, []int64{0, 3}, nil},
	})
	f, err := OpenSafetensors(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var names []string
	for _, x := range f.Tensors {
		names = append(names, x.Name)
	}
	if strings.Join(names, ",") != "a,empty,z" {
		t.Fatalf("tensors %v, want sorted a,empty,z", names)
	}
	if f.Metadata["format"] != "pt" {
		t.Errorf("metadata %v", f.Metadata)
	}
	z := f.Tensors[2]
	dst := make([]float32, 4)
	if err := plainRows(z).read(0, 2, dst); err != nil {
		t.Fatal(err)
	}
	if dst[0] != 0.5 || dst[1] != 1 || dst[2] != 2 || dst[3] != -2 {
		t.Errorf("bf16 decode %v", dst)
	}
}

func TestSafetensorsHeaderErrors(t *testing.T) {
	data := make([]byte, 64)
	cases := []struct {
		name, header, want string
	}{
		{"not json", `{"a":`, "header"},
		{"not object", `[1,2]`, "not a JSON object"},
		{"duplicate", `{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, "appears twice"},
		{"unknown dtype", `{"a":{"dtype":"F7","shape":[1],"data_offsets":[0,1]}}`, `unknown dtype "F7"`},
		{"outside", `{"a":{"dtype":"F32","shape":[32],"data_offsets":[0,128]}}`, "outside the 64 data bytes"},
		{"reversed", `{"a":{"dtype":"F32","shape":[1],"data_offsets":[8,4]}}`, "outside"},
		{"size mismatch", `{"a":{"dtype":"F32","shape":[2,3],"data_offsets":[0,20]}}`, "needs 24 bytes"},
		{"overlap", `{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},"b":{"dtype":"F32","shape":[4],"data_offsets":[8,24]}}`, "overlap"},
		{"negative", `{"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,0]}}`, "negative"},
		{"overflow", `{"a":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,0]}}`, "too large"},
		{"bad offsets", `{"a":{"dtype":"F32","shape":[1],"data_offsets":[0]}}`, "data_offsets"},
		{"unknown field", `{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"x":1}}`, "unknown field"},
		{"trailing", `{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}{}`, "after the JSON"},
		{"missing shape", `{"a":{"dtype":"F32","data_offsets":[0,4]}}`, "missing shape"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := rawFile(t, c.header, data)
			f, err := OpenSafetensors(p)
			if err == nil {
				f.Close()
				t.Fatalf("no error, want one containing %q", c.want)
			}
			if !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), p) {
				t.Fatalf("error %q: want it to contain %q and the path", err, c.want)
			}
		})
	}
	// HF safetensors (MetadataIncompleteBuffer, InvalidOffset) refuses a
	// data buffer that its tensors do not cover exactly.
	one := `{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`
	for _, c := range []struct {
		name, header string
		data         []byte
		want         []string
	}{
		{"trailing bytes", one, make([]byte, 7), []string{fmt.Sprintf("tensors end at byte %d of the file, which has %d bytes: 3 trailing", 8+len(one)+4, 8+len(one)+7)}},
		{"no tensors, some data", `{}`, make([]byte, 4), []string{"tensors end at byte 10 of the file, which has 14 bytes"}},
		{"gap", `{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}`, make([]byte, 12), []string{`"a" ends at data byte 4`, `"b", begins at 8`}},
		{"gap at the start", `{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, make([]byte, 8), []string{`"a" begins at data byte 4`}},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := rawFile(t, c.header, c.data)
			f, err := OpenSafetensors(p)
			if err == nil {
				f.Close()
				t.Fatalf("no error, want one containing %q", c.want)
			}
			for _, w := range append(c.want, p) {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q: want it to contain %q", err, w)
				}
			}
		})
	}
	// Exactly covered, out of order and with an empty tensor: fine.
	if f, err := OpenSafetensors(rawFile(t, `{"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]},"e":{"dtype":"F32","shape":[0],"data_offsets":[4,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`, make([]byte, 8))); err != nil {
		t.Errorf("exactly covered buffer: %v", err)
	} else {
		f.Close()
	}

	// Header length beyond the file and beyond the limit.
	dir := t.TempDir()
	for name, n := range map[string]uint64{"long": 1000, "huge": MaxHeaderSize + 1} {
		p := filepath.Join(dir, name)
		b := binary.LittleEndian.AppendUint64(nil, n)
		os.WriteFile(p, append(b, "{}"...), 0o644)
		if _, err := OpenSafetensors(p); err == nil || !strings.Contains(err.Error(), "header") {
			t.Errorf("%s: error %v", name, err)
		}
	}
	p := filepath.Join(dir, "short")
	os.WriteFile(p, []byte{1, 2, 3}, 0o644)
	if _, err := OpenSafetensors(p); err == nil || !strings.Contains(err.Error(), "not a safetensors file") {
		t.Errorf("short file: %v", err)
	}
}

// FuzzParseHeader checks that the header parser never panics and that
// whatever it accepts is consistent: every tensor inside the data, sizes
// matching shapes, no overlaps.
func FuzzParseHeader(f *testing.F) {
	f.Add([]byte(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}`), int64(8))
	f.Add([]byte(`{"__metadata__":{"k":"v"},"b":{"dtype":"BF16","shape":[2,2],"data_offsets":[8,16]},"a":{"dtype":"U8","shape":[8],"data_offsets":[0,8]}}`), int64(16))
	f.Add([]byte(`{"a":{"dtype":"F4","shape":[4],"data_offsets":[0,2]}}`), int64(2))
	f.Add([]byte(`{}`), int64(0))
	f.Fuzz(func(t *testing.T, hdr []byte, size int64) {
		if size < 0 {
			size = -size
		}
		ts, _, err := parseHeader(hdr, size)
		if err != nil {
			return
		}
		sorted := append([]*Tensor(nil), ts...)
		sort.Slice(sorted, func(i, j int) bool { return sorted[i].begin < sorted[j].begin })
		for i, x := range sorted {
			if x.begin < 0 || x.end < x.begin || x.end > size {
				t.Fatalf("tensor %q [%d,%d) outside %d", x.Name, x.begin, x.end, size)
			}
			if bits := x.NumElements() * int64(dtypeBits[x.DType]); bits/8 != x.end-x.begin {
				t.Fatalf("tensor %q: %d bits for %d bytes", x.Name, bits, x.end-x.begin)
			}
			if i > 0 && x.begin != sorted[i-1].end || i == 0 && x.begin != 0 {
				t.Fatalf("tensor %q begins at %d: overlap or gap accepted", x.Name, x.begin)
			}
		}
		if covered := int64(0); len(sorted) > 0 && sorted[len(sorted)-1].end != size || len(sorted) == 0 && size != covered {
			t.Fatalf("data buffer of %d bytes not exactly covered", size)
		}
	})
}
