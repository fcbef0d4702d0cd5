package gguf

import (
	"bytes"
	"os"
	"reflect"
	"testing"
)

// FuzzParseHeader feeds arbitrary bytes to the parser: it must return an
// error or a header, never panic, and a header it accepts must survive a
// write and a second parse unchanged.
func FuzzParseHeader(f *testing.F) {
	f.Add(smallModel(f))
	for _, path := range fixtureGGUFs(f) {
		b, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		h, err := ParseHeader(b, path)
		if err != nil {
			f.Fatal(err)
		}
		// The header alone: large inputs slow the fuzzer down.
		f.Add(b[:h.DataOffset])
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := ParseHeader(b, "fuzz")
		if err != nil {
			if _, ok := err.(*FormatError); !ok {
				t.Fatalf("error of type %T: %v", err, err)
			}
			return
		}
		var buf bytes.Buffer
		w, err := NewWriter(&buf, h.Metadata, h.Tensors)
		if err != nil {
			t.Fatalf("parsed header does not write: %v", err)
		}
		for i := range h.Tensors {
			t0 := &h.Tensors[i]
			off := h.DataOffset + int64(t0.Offset)
			if err := w.WriteTensorBytes(t0.Name, b[off:off+int64(t0.Size())]); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		h2, err := ParseHeader(buf.Bytes(), "rewritten")
		if err != nil {
			t.Fatalf("rewritten file does not parse: %v", err)
		}
		if !reflect.DeepEqual(h.Metadata.KVs(), h2.Metadata.KVs()) || !reflect.DeepEqual(h.Tensors, h2.Tensors) {
			t.Fatal("header changed across a write")
		}
	})
}
