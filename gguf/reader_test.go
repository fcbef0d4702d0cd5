package gguf

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// raw builds GGUF bytes by hand so tests can write what the Writer refuses.
type raw struct{ b []byte }

func (r *raw) u32(x uint32) *raw { r.b = binary.LittleEndian.AppendUint32(r.b, x); return r }
func (r *raw) u64(x uint64) *raw { r.b = binary.LittleEndian.AppendUint64(r.b, x); return r }
func (r *raw) str(s string) *raw { r.u64(uint64(len(s))); r.b = append(r.b, s...); return r }
func (r *raw) bytes(b ...byte) *raw {
	r.b = append(r.b, b...)
	return r
}
func (r *raw) header(version uint32, nTensors, nKV uint64) *raw {
	r.b = append(r.b, "GGUF"...)
	return r.u32(version).u64(nTensors).u64(nKV)
}
func (r *raw) tensor(name string, typ Type, off uint64, dims ...uint64) *raw {
	r.str(name).u32(uint32(len(dims)))
	for _, d := range dims {
		r.u64(d)
	}
	return r.u32(uint32(typ)).u64(off)
}
func (r *raw) padTo(align int) *raw {
	for len(r.b)%align != 0 {
		r.b = append(r.b, 0)
	}
	return r
}

// allTypesMetadata uses every value type, arrays of each, and nesting.
func allTypesMetadata() *Metadata {
	md := NewMetadata()
	md.Set("u8", Uint8(200))
	md.Set("i8", Int8(-100))
	md.Set("u16", Uint16(60000))
	md.Set("i16", Int16(-30000))
	md.Set("u32", Uint32(4000000000))
	md.Set("i32", Int32(-2000000000))
	md.Set("f32", Float32(0.1))
	md.Set("bool", Bool(true))
	md.Set("str", String("héllo ▁ 世界"))
	md.Set("u64", Uint64(math.MaxUint64))
	md.Set("i64", Int64(math.MinInt64))
	md.Set("f64", Float64(math.Pi))
	md.Set("a.u8", Array([]uint8{1, 2, 3}))
	md.Set("a.i8", Array([]int8{-1, 2}))
	md.Set("a.u16", Array([]uint16{1, 65535}))
	md.Set("a.i16", Array([]int16{-1, 5}))
	md.Set("a.u32", Array([]uint32{7}))
	md.Set("a.i32", Array([]int32{-7, 8}))
	md.Set("a.f32", Array([]float32{1.5, float32(math.Inf(-1))}))
	md.Set("a.bool", Array([]bool{true, false}))
	md.Set("a.str", Array([]string{"a", "", "ccc"}))
	md.Set("a.u64", Array([]uint64{1 << 40}))
	md.Set("a.i64", Array([]int64{-1 << 40}))
	md.Set("a.f64", Array([]float64{2.5}))
	md.Set("a.empty", Array([]string{}))
	md.Set("a.nested", ArrayOfArrays([]Value{Array([]int32{1, 2}), Array([]string{"x"}), ArrayOfArrays([]Value{Array([]bool{true})})}))
	return md
}

func writeFile(t testing.TB, md *Metadata, tensors []TensorInfo, data [][]byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := NewWriter(&buf, md, tensors)
	if err != nil {
		t.Fatal(err)
	}
	for i, d := range data {
		if err := w.WriteTensorBytes(tensors[i].Name, d); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func smallModel(t testing.TB) []byte {
	tensors := []TensorInfo{
		{Name: "a", Type: TypeF32, Dims: []uint64{3}},
		{Name: "blk.0.ffn_up_exps.weight", Type: TypeQ8_0, Dims: []uint64{32, 2, 2}},
		{Name: "c", Type: TypeMXFP4, Dims: []uint64{64}},
	}
	data := [][]byte{make([]byte, 12), bytes.Repeat([]byte{1}, 4*34), bytes.Repeat([]byte{2}, 34)}
	return writeFile(t, allTypesMetadata(), tensors, data)
}

func TestAllValueTypesRoundTrip(t *testing.T) {
	b := smallModel(t)
	h, err := ParseHeader(b, "mem")
	if err != nil {
		t.Fatal(err)
	}
	want := allTypesMetadata()
	if !reflect.DeepEqual(h.Metadata.Keys(), want.Keys()) {
		t.Fatalf("keys %v, want %v", h.Metadata.Keys(), want.Keys())
	}
	for _, kv := range want.KVs() {
		got, _ := h.Metadata.Get(kv.Key)
		if !reflect.DeepEqual(got, kv.Value) {
			t.Errorf("%s: got %#v, want %#v", kv.Key, got, kv.Value)
		}
	}
	if h.Tensors[1].Size() != 4*34 || h.Tensors[2].Offset != 32+160 {
		t.Errorf("tensor layout: %+v", h.Tensors)
	}
}

func TestTypedGettersNameKeyAndType(t *testing.T) {
	md := allTypesMetadata()
	if _, err := md.Uint32("str"); err == nil || !strings.Contains(err.Error(), `"str": expected UINT32, found STRING`) {
		t.Errorf("wrong-type error: %v", err)
	}
	if _, err := md.String("missing"); err == nil || !strings.Contains(err.Error(), `"missing" not found`) {
		t.Errorf("missing-key error: %v", err)
	}
	if x, err := md.Int("u16"); err != nil || x != 60000 {
		t.Errorf("Int(u16) = %d, %v", x, err)
	}
	if xs, err := md.Strings("a.str"); err != nil || len(xs) != 3 {
		t.Errorf("Strings = %v, %v", xs, err)
	}
	if _, err := md.Strings("a.i32"); err == nil || !strings.Contains(err.Error(), "expected ARRAY[STRING], found ARRAY[INT32]") {
		t.Errorf("array type error: %v", err)
	}
	if xs, err := md.Ints("u32", 3); err != nil || len(xs) != 3 || xs[2] != 4000000000 {
		t.Errorf("Ints(scalar) = %v, %v", xs, err)
	}
}

func TestSetKeepsFirstPosition(t *testing.T) {
	md := NewMetadata()
	md.Set("a", Uint32(1))
	md.Set("b", Uint32(2))
	md.Set("a", String("x"))
	if got := md.Keys(); !reflect.DeepEqual(got, []string{"a", "b"}) {
		t.Fatalf("keys %v", got)
	}
	md.Delete("a")
	md.Set("a", Uint32(3))
	if got := md.Keys(); !reflect.DeepEqual(got, []string{"b", "a"}) {
		t.Fatalf("keys after delete %v", got)
	}
}

func TestReadsVersion2(t *testing.T) {
	b := smallModel(t)
	binary.LittleEndian.PutUint32(b[4:], 2)
	h, err := ParseHeader(b, "v2")
	if err != nil || h.Version != 2 {
		t.Fatalf("v2: %v", err)
	}
}

// TestTruncationAnywhere cuts a valid file at every byte of its header and
// inside its data: each prefix must give a FormatError, never a panic.
func TestTruncationAnywhere(t *testing.T) {
	b := smallModel(t)
	h, err := ParseHeader(b, "")
	if err != nil {
		t.Fatal(err)
	}
	last := h.Tensors[len(h.Tensors)-1]
	end := int(h.DataOffset) + int(last.Offset+last.Size()) // the padding after it may go
	for n := 0; n < end; n++ {
		_, err := ParseHeader(b[:n], "cut")
		var fe *FormatError
		if !errors.As(err, &fe) {
			t.Fatalf("prefix of %d bytes: got %v, want a FormatError", n, err)
		}
		if fe.Offset < 0 || fe.Offset > int64(n) {
			t.Fatalf("prefix of %d bytes: error offset %d outside the file", n, fe.Offset)
		}
	}
}

func TestMalformed(t *testing.T) {
	kvOnly := func(key string, typ uint32, val ...byte) []byte {
		r := (&raw{}).header(3, 0, 1).str(key).u32(typ).bytes(val...)
		return r.b
	}
	oneTensor := func(typ Type, off uint64, dims ...uint64) []byte {
		r := (&raw{}).header(3, 1, 0).tensor("t", typ, off, dims...).padTo(32)
		r.b = append(r.b, make([]byte, 256)...)
		return r.b
	}
	twoTensors := func(off2 uint64) []byte {
		r := (&raw{}).header(3, 2, 0).tensor("a", TypeF32, 0, 8).tensor("b", TypeF32, off2, 8).padTo(32)
		r.b = append(r.b, make([]byte, 256)...)
		return r.b
	}
	le := binary.LittleEndian
	u32 := func(x uint32) []byte { return le.AppendUint32(nil, x) }
	u64 := func(x uint64) []byte { return le.AppendUint64(nil, x) }
	cases := []struct {
		name string
		file []byte
		want string
	}{
		{"empty", nil, "truncated magic"},
		{"bad magic", []byte("GGML\x03\x00\x00\x00"), "bad magic"},
		{"version 1", (&raw{}).header(1, 0, 0).b, "version 1 is not supported"},
		{"version 4", (&raw{}).header(4, 0, 0).b, "unknown GGUF version 4"},
		{"byte-swapped", (&raw{}).header(0x03000000, 0, 0).b, "byte-swapped"},
		{"huge kv count", (&raw{}).header(3, 0, 1<<62).b, "metadata count"},
		{"huge tensor count", (&raw{}).header(3, 1<<62, 0).b, "tensor count"},
		{"empty key", kvOnly("", 4, 1, 0, 0, 0), "empty key"},
		{"unknown value type", kvOnly("k", 13, 0), "unknown value type id 13"},
		{"string beyond file", kvOnly("k", 8, u64(1<<40)...), "exceeds"},
		{"array count beyond file", kvOnly("k", 9, append(u32(4), u64(1<<40)...)...), "do not fit"},
		{"array of strings beyond file", kvOnly("k", 9, append(u32(8), u64(1000)...)...), "do not fit"},
		{"array bad elem type", kvOnly("k", 9, append(u32(99), u64(0)...)...), "unknown element type"},
		{"bool not 0/1", kvOnly("k", 7, 2), "BOOL byte is 2"},
		{"alignment wrong type", kvOnly(KeyAlignment, 10, u64(32)...), "must be UINT32"},
		{"alignment not power of two", kvOnly(KeyAlignment, 4, u32(24)...), "not a power of two"},
		{"alignment zero", kvOnly(KeyAlignment, 4, u32(0)...), "not a power of two"},
		{"duplicate key", (&raw{}).header(3, 0, 2).str("k").u32(0).bytes(1).str("k").u32(0).bytes(1).b, "duplicate metadata key"},
		{"unknown tensor type", oneTensor(Type(99), 0, 32), "unknown ggml type id 99"},
		{"removed tensor type", oneTensor(Type(4), 0, 32), "unknown ggml type id 4"},
		{"too many dims", (&raw{}).header(3, 1, 0).str("t").u32(5).bytes(make([]byte, 64)...).b, "5 dimensions"},
		{"ne0 not a block multiple", oneTensor(TypeQ4_0, 0, 31), "not a multiple"},
		{"element count overflow", oneTensor(TypeF32, 0, 1<<32, 1<<32), "overflows"},
		{"byte size overflow", oneTensor(TypeF32, 0, 1<<31, 1<<31), "overflows"},
		{"offset outside file", oneTensor(TypeF32, 0, 1000), "past the end of the file"},
		{"misaligned offset", twoTensors(40), "not aligned"},
		{"overlapping tensors", twoTensors(0), "overlaps"},
		{"gap between tensors", twoTensors(64), "gap"},
		{"name too long", (&raw{}).header(3, 1, 0).str(strings.Repeat("x", 64)).b, "longer than 63"},
		{"duplicate tensor", (&raw{}).header(3, 2, 0).tensor("a", TypeF32, 0, 8).tensor("a", TypeF32, 32, 8).b, "duplicate tensor name"},
		{"nested too deep", kvOnly("k", 9, bytes.Repeat(append(u32(9), u64(1)...), 20)...), "nested deeper"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ParseHeader(c.file, "bad.gguf")
			var fe *FormatError
			if !errors.As(err, &fe) {
				t.Fatalf("got %v, want a FormatError", err)
			}
			if !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), "bad.gguf: byte ") {
				t.Fatalf("error %q does not say %q at a byte", err, c.want)
			}
		})
	}
}

func TestWriterChecksByteCounts(t *testing.T) {
	tensors := []TensorInfo{{Name: "a", Type: TypeF32, Dims: []uint64{4}}, {Name: "b", Type: TypeF32, Dims: []uint64{1}}}
	var buf bytes.Buffer
	w, err := NewWriter(&buf, NewMetadata(), tensors)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.WriteTensorBytes("b", make([]byte, 4)); err == nil || !strings.Contains(err.Error(), "out of order") {
		t.Errorf("out of order: %v", err)
	}
	if err := w.WriteTensor("a", bytes.NewReader(make([]byte, 8))); err == nil || !strings.Contains(err.Error(), "ended after 8 bytes") {
		t.Errorf("short: %v", err)
	}
	w, _ = NewWriter(&buf, NewMetadata(), tensors)
	if err := w.WriteTensor("a", bytes.NewReader(make([]byte, 20))); err == nil || !strings.Contains(err.Error(), "more than") {
		t.Errorf("long: %v", err)
	}
	w, _ = NewWriter(&buf, NewMetadata(), tensors)
	w.WriteTensorBytes("a", make([]byte, 16))
	if err := w.Close(); err == nil || !strings.Contains(err.Error(), `next missing: "b"`) {
		t.Errorf("missing tensor: %v", err)
	}
	if _, err := NewWriter(&buf, NewMetadata(), []TensorInfo{{Name: "q", Type: TypeQ4_K, Dims: []uint64{100}}}); err == nil {
		t.Error("writer accepted ne[0] not a multiple of the block size")
	}
}

func TestSplitModelReadsAsOne(t *testing.T) {
	dir := t.TempDir()
	whole := smallModel(t)
	h, _ := ParseHeader(whole, "")
	src := &File{Header: *h, Shards: []*Shard{{Header: h, data: whole}}}
	src.index()
	// Three shards of one tensor each, as gguf-split writes them.
	n := len(h.Tensors)
	for i := 0; i < n; i++ {
		md := NewMetadata()
		if i == 0 {
			md = h.Metadata.Clone()
		}
		md.Set(KeySplitNo, Uint16(uint16(i)))
		md.Set(KeySplitCount, Uint16(uint16(n)))
		md.Set(KeySplitTensorsCount, Int32(int32(n)))
		b := writeFile(t, md, h.Tensors[i:i+1], [][]byte{src.Data(&h.Tensors[i])})
		if err := os.WriteFile(SplitPath(filepath.Join(dir, "m"), i, n), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	f, err := Open(filepath.Join(dir, "m-00002-of-00003.gguf"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if len(f.Tensors) != n || len(f.Shards) != n {
		t.Fatalf("got %d tensors in %d shards", len(f.Tensors), len(f.Shards))
	}
	for i := range h.Tensors {
		got, err := f.TensorData(h.Tensors[i].Name)
		if err != nil || !bytes.Equal(got, src.Data(&h.Tensors[i])) {
			t.Fatalf("tensor %s differs: %v", h.Tensors[i].Name, err)
		}
	}
	if _, err := f.Metadata.String("str"); err != nil {
		t.Fatal(err)
	}
	os.Remove(SplitPath(filepath.Join(dir, "m"), 2, n))
	if _, err := Open(filepath.Join(dir, "m-00001-of-00003.gguf")); err == nil || !strings.Contains(err.Error(), "shard 3 of 3") {
		t.Fatalf("missing shard: %v", err)
	}
}
