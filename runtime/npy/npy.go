// Package npy reads and writes NumPy .npy files of float32 arrays (format
// versions 1.0–3.0 for reading, 1.0 for writing), enough for comparing
// logits with reference dumps and writing `gguftool run --logits-out`.
package npy

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"os"
	"regexp"
	"strconv"
	"strings"

	"github.com/gguftool/gguftool/internal/atomicfile"
)

var magic = []byte("\x93NUMPY")

// Array is a C-ordered float32 array.
type Array struct {
	Shape []int
	Data  []float32
}

var (
	descrRe   = regexp.MustCompile(`'descr'\s*:\s*'([^']*)'`)
	fortranRe = regexp.MustCompile(`'fortran_order'\s*:\s*(True|False)`)
	shapeRe   = regexp.MustCompile(`'shape'\s*:\s*\(([^)]*)\)`)
)

// Read parses a .npy stream holding little-endian float32 ('<f4') or
// float64 ('<f8', converted) data in C order.
func Read(r io.Reader) (*Array, error) {
	var pre [8]byte
	if _, err := io.ReadFull(r, pre[:]); err != nil {
		return nil, fmt.Errorf("npy: reading magic: %w", err)
	}
	if !bytes.Equal(pre[:6], magic) {
		return nil, fmt.Errorf("npy: not a .npy file (bad magic %q)", pre[:6])
	}
	var hlen int
	switch pre[6] {
	case 1:
		var b [2]byte
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return nil, fmt.Errorf("npy: reading header length: %w", err)
		}
		hlen = int(binary.LittleEndian.Uint16(b[:]))
	case 2, 3:
		var b [4]byte
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return nil, fmt.Errorf("npy: reading header length: %w", err)
		}
		hlen = int(binary.LittleEndian.Uint32(b[:]))
	default:
		return nil, fmt.Errorf("npy: unsupported format version %d.%d", pre[6], pre[7])
	}
	if hlen > 1<<20 {
		return nil, fmt.Errorf("npy: header of %d bytes is implausibly large", hlen)
	}
	hdr := make([]byte, hlen)
	if _, err := io.ReadFull(r, hdr); err != nil {
		return nil, fmt.Errorf("npy: reading header: %w", err)
	}
	h := string(hdr)
	dm, fm, sm := descrRe.FindStringSubmatch(h), fortranRe.FindStringSubmatch(h), shapeRe.FindStringSubmatch(h)
	if dm == nil || fm == nil || sm == nil {
		return nil, fmt.Errorf("npy: malformed header %q", h)
	}
	if fm[1] == "True" {
		return nil, fmt.Errorf("npy: Fortran-ordered arrays are not supported")
	}
	var elem int
	switch dm[1] {
	case "<f4":
		elem = 4
	case "<f8":
		elem = 8
	default:
		return nil, fmt.Errorf("npy: dtype %q is not supported (want <f4 or <f8)", dm[1])
	}
	a := &Array{}
	count := 1
	for _, f := range strings.Split(sm[1], ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		n, err := strconv.Atoi(f)
		if err != nil || n < 0 {
			return nil, fmt.Errorf("npy: bad shape %q", sm[1])
		}
		a.Shape = append(a.Shape, n)
		if n > 0 && count > math.MaxInt32/n {
			return nil, fmt.Errorf("npy: shape %q is too large", sm[1])
		}
		count *= n
	}
	raw := make([]byte, count*elem)
	if _, err := io.ReadFull(r, raw); err != nil {
		return nil, fmt.Errorf("npy: reading %d values: %w", count, err)
	}
	a.Data = make([]float32, count)
	for i := range a.Data {
		if elem == 4 {
			a.Data[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
		} else {
			a.Data[i] = float32(math.Float64frombits(binary.LittleEndian.Uint64(raw[8*i:])))
		}
	}
	return a, nil
}

// ReadFile reads a .npy file.
func ReadFile(path string) (*Array, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	a, err := Read(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return a, nil
}

// Write writes a float32 array of the given shape in format 1.0.
func Write(w io.Writer, shape []int, data []float32) error {
	count := 1
	dims := make([]string, len(shape))
	for i, n := range shape {
		count *= n
		dims[i] = strconv.Itoa(n)
	}
	if count != len(data) {
		return fmt.Errorf("npy: shape %v holds %d values, have %d", shape, count, len(data))
	}
	st := strings.Join(dims, ", ")
	if len(shape) == 1 {
		st += ","
	}
	h := fmt.Sprintf("{'descr': '<f4', 'fortran_order': False, 'shape': (%s), }", st)
	// Pad with spaces so that the data starts at a multiple of 64, ending in '\n'.
	total := len(magic) + 2 + 2 + len(h) + 1
	h += strings.Repeat(" ", (64-total%64)%64) + "\n"
	var buf bytes.Buffer
	buf.Write(magic)
	buf.Write([]byte{1, 0})
	binary.Write(&buf, binary.LittleEndian, uint16(len(h)))
	buf.WriteString(h)
	if _, err := w.Write(buf.Bytes()); err != nil {
		return err
	}
	raw := make([]byte, 4*len(data))
	for i, v := range data {
		binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(v))
	}
	_, err := w.Write(raw)
	return err
}

// WriteFile writes the array atomically (temporary file, then rename);
// an existing file is replaced only if force is set.
func WriteFile(path string, force bool, shape []int, data []float32) error {
	f, err := atomicfile.Create(path, force)
	if err != nil {
		return err
	}
	defer f.Abort()
	if err := Write(f, shape, data); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return f.Commit()
}
