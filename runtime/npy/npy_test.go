package npy

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

func TestRoundTrip(t *testing.T) {
	data := []float32{1, -2.5, 3e-7, 4, 5, 6}
	var buf bytes.Buffer
	if err := Write(&buf, []int{2, 3}, data); err != nil {
		t.Fatal(err)
	}
	if (buf.Len()-4*len(data))%64 != 0 {
		t.Errorf("data does not start at a multiple of 64: file length %d", buf.Len())
	}
	a, err := Read(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if len(a.Shape) != 2 || a.Shape[0] != 2 || a.Shape[1] != 3 {
		t.Fatalf("shape %v", a.Shape)
	}
	for i := range data {
		if a.Data[i] != data[i] {
			t.Fatalf("value %d: %v != %v", i, a.Data[i], data[i])
		}
	}
}

// TestReadNumPyFixture reads a file written by NumPy itself.
func TestReadNumPyFixture(t *testing.T) {
	a, err := ReadFile(filepath.Join("..", "..", "testdata", "fixtures", "deepseek-moe", "reference_logits.npy"))
	if err != nil {
		t.Fatal(err)
	}
	if len(a.Shape) != 2 || a.Shape[0]*a.Shape[1] != len(a.Data) || a.Shape[1] != 1048 {
		t.Fatalf("shape %v with %d values", a.Shape, len(a.Data))
	}
}

func TestWriteFileRefusesOverwrite(t *testing.T) {
	p := filepath.Join(t.TempDir(), "x.npy")
	if err := WriteFile(p, false, []int{1}, []float32{1}); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(p, false, []int{1}, []float32{2}); err == nil {
		t.Fatal("overwrote without force")
	}
	if err := WriteFile(p, true, []int{1}, []float32{2}); err != nil {
		t.Fatal(err)
	}
	a, err := ReadFile(p)
	if err != nil || a.Data[0] != 2 {
		t.Fatalf("%v %v", a, err)
	}
	os.Remove(p)
}

func TestReadRejectsGarbage(t *testing.T) {
	for _, in := range []string{"", "NUMPY", "\x93NUMPY\x01\x00\x10\x00{'descr': '<i4'}", "\x93NUMPY\x09\x00"} {
		if _, err := Read(bytes.NewReader([]byte(in))); err == nil {
			t.Errorf("accepted %q", in)
		}
	}
}

func FuzzRead(f *testing.F) {
	var buf bytes.Buffer
	Write(&buf, []int{2}, []float32{1, 2})
	f.Add(buf.Bytes())
	f.Fuzz(func(t *testing.T, b []byte) {
		Read(bytes.NewReader(b))
	})
}
