package convert

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/bits"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// DType is a safetensors element type.
type DType string

// The element types the converter reads. Other safetensors types are
// recognized (so that headers can be checked) but refused when a tensor of
// that type has to be converted.
const (
	F32     DType = "F32"
	F16     DType = "F16"
	BF16    DType = "BF16"
	U8      DType = "U8"
	I8      DType = "I8"
	F8E4M3  DType = "F8_E4M3"
	dtBool  DType = "BOOL"
	dtF8E5  DType = "F8_E5M2"
	dtI16   DType = "I16"
	dtU16   DType = "U16"
	dtI32   DType = "I32"
	dtU32   DType = "U32"
	dtI64   DType = "I64"
	dtU64   DType = "U64"
	dtF64   DType = "F64"
	dtF8E8  DType = "F8_E8M0"
	dtF4    DType = "F4"
	dtF6E2  DType = "F6_E2M3"
	dtF6E3  DType = "F6_E3M2"
	dtC64   DType = "C64"
	dtF8E4F DType = "F8_E4M3FNUZ"
)

// dtypeBits is the storage width of every safetensors dtype.
var dtypeBits = map[DType]int{
	F32: 32, F16: 16, BF16: 16, U8: 8, I8: 8, F8E4M3: 8,
	dtBool: 8, dtF8E5: 8, dtI16: 16, dtU16: 16, dtI32: 32, dtU32: 32,
	dtI64: 64, dtU64: 64, dtF64: 64, dtF8E8: 8, dtF4: 4, dtF6E2: 6, dtF6E3: 6, dtC64: 64,
	dtF8E4F: 8,
}

// Supported reports whether the converter can read tensors of this type.
func (d DType) Supported() bool {
	switch d {
	case F32, F16, BF16, U8, I8, F8E4M3:
		return true
	}
	return false
}

// Size is the number of bytes per element (0 for sub-byte types).
func (d DType) Size() int { return dtypeBits[d] / 8 }

const supportedDTypes = "F32, F16, BF16, U8, I8, F8_E4M3"

// MaxHeaderSize bounds a safetensors JSON header (the safetensors library
// uses the same 100 MB limit).
const MaxHeaderSize = 100 << 20

// Tensor is one tensor of a safetensors file. Its data stays in the mapped
// file.
type Tensor struct {
	Name  string
	DType DType
	Shape []int64 // row-major (numpy) order
	File  *SafetensorsFile
	begin int64 // absolute file offsets of the data
	end   int64
}

// NumElements is the product of the shape.
func (t *Tensor) NumElements() int64 {
	n := int64(1)
	for _, d := range t.Shape {
		n *= d
	}
	return n
}

// Bytes returns the tensor's data (mapped, read-only).
func (t *Tensor) Bytes() []byte { return t.File.data[t.begin:t.end] }

// Size is the byte length of the data.
func (t *Tensor) Size() int64 { return t.end - t.begin }

// releaseMargin widens every release: the kernel maps pages around a
// faulting address ("fault-around", 64 KiB by default, more with large
// folios), so a worker reading one chunk also maps the edges of its
// neighbours' chunks, possibly after those were released. Releasing a
// margin around each chunk catches them; without it RSS grew by about 3%
// of the checkpoint.
const releaseMargin = 2 << 20

// release drops the mapped pages of data bytes [lo, hi) of the tensor (and
// a margin around them) from the resident set.
func (t *Tensor) release(lo, hi int64) {
	releasePages(t.File.data, int(max(t.begin+lo-releaseMargin, 0)), int(min(t.begin+hi+releaseMargin, int64(len(t.File.data)))))
}

func (t *Tensor) String() string {
	return fmt.Sprintf("%s %s %v", t.Name, t.DType, t.Shape)
}

// SafetensorsFile is a mapped safetensors file.
type SafetensorsFile struct {
	Path     string
	Metadata map[string]string
	Tensors  []*Tensor // sorted by name
	data     []byte
	unmap    func() error
}

// Close unmaps the file.
func (f *SafetensorsFile) Close() error {
	if f.unmap == nil {
		return nil
	}
	err := f.unmap()
	f.unmap, f.data = nil, nil
	return err
}

// OpenSafetensors maps a safetensors file and checks its header.
func OpenSafetensors(path string) (*SafetensorsFile, error) {
	// Checked before opening: open(2) of a FIFO waits for a writer forever.
	if st, err := os.Stat(path); err == nil && !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: not a regular file", path)
	}
	fh, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	st, err := fh.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: not a regular file", path)
	}
	var pre [8]byte
	if _, err := io.ReadFull(fh, pre[:]); err != nil {
		return nil, fmt.Errorf("%s: not a safetensors file: %d bytes, the 8-byte header length is missing", path, st.Size())
	}
	n := binary.LittleEndian.Uint64(pre[:])
	if n > MaxHeaderSize {
		return nil, fmt.Errorf("%s: safetensors header of %d bytes exceeds the %d-byte limit", path, n, MaxHeaderSize)
	}
	if int64(n) > st.Size()-8 {
		return nil, fmt.Errorf("%s: safetensors header of %d bytes is longer than the file (%d bytes)", path, n, st.Size())
	}
	hdr := make([]byte, n)
	if _, err := io.ReadFull(fh, hdr); err != nil {
		return nil, fmt.Errorf("%s: reading header: %w", path, err)
	}
	tensors, meta, err := parseHeader(hdr, st.Size()-8-int64(n))
	var short *uncoveredTailError
	if errors.As(err, &short) {
		end := 8 + int64(n) + short.covered
		return nil, fmt.Errorf("%s: the tensors end at byte %d of the file, which has %d bytes: %d trailing bytes that no tensor describes (HF safetensors refuses such a file: MetadataIncompleteBuffer)",
			path, end, st.Size(), st.Size()-end)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	data, unmap, err := mapFile(fh, st.Size())
	if err != nil {
		return nil, err
	}
	f := &SafetensorsFile{Path: path, Metadata: meta, Tensors: tensors, data: data, unmap: unmap}
	base := 8 + int64(n)
	for _, t := range tensors {
		t.File = f
		t.begin += base
		t.end += base
	}
	return f, nil
}

type headerEntry struct {
	DType       DType   `json:"dtype"`
	Shape       []int64 `json:"shape"`
	DataOffsets []int64 `json:"data_offsets"`
}

// parseHeader decodes and checks a safetensors JSON header for a data
// buffer of dataSize bytes. Offsets in the result are relative to the
// buffer. It never panics on bad input.
func parseHeader(hdr []byte, dataSize int64) ([]*Tensor, map[string]string, error) {
	dec := json.NewDecoder(bytes.NewReader(hdr))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return nil, nil, fmt.Errorf("safetensors header is not JSON: %w", err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, nil, errors.New("safetensors header is not a JSON object")
	}
	var meta map[string]string
	seen := map[string]bool{}
	var tensors []*Tensor
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, nil, fmt.Errorf("safetensors header: %w", err)
		}
		name, _ := tok.(string)
		if seen[name] {
			return nil, nil, fmt.Errorf("safetensors header: key %q appears twice", name)
		}
		seen[name] = true
		if name == "__metadata__" {
			if err := dec.Decode(&meta); err != nil {
				return nil, nil, fmt.Errorf("safetensors header: __metadata__ must map strings to strings: %w", err)
			}
			continue
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, nil, fmt.Errorf("safetensors header: tensor %q: %w", name, err)
		}
		var e headerEntry
		sub := json.NewDecoder(bytes.NewReader(raw))
		sub.DisallowUnknownFields()
		if err := sub.Decode(&e); err != nil {
			return nil, nil, fmt.Errorf("safetensors header: tensor %q: %w", name, err)
		}
		t, err := checkEntry(name, e, dataSize)
		if err != nil {
			return nil, nil, fmt.Errorf("safetensors header: %w", err)
		}
		tensors = append(tensors, t)
	}
	if _, err := dec.Token(); err != nil {
		return nil, nil, fmt.Errorf("safetensors header: %w", err)
	}
	if dec.More() {
		return nil, nil, errors.New("safetensors header: data after the JSON object")
	}
	// The tensors tile the data buffer exactly, as HF safetensors demands
	// (InvalidOffset, MetadataIncompleteBuffer): no two share bytes, and
	// no byte is left undescribed, so a file with a gap or trailing bytes
	// (a bad concatenation, a broken writer) is refused, not half-read.
	byOffset := append([]*Tensor(nil), tensors...)
	sort.Slice(byOffset, func(i, j int) bool {
		if byOffset[i].begin != byOffset[j].begin {
			return byOffset[i].begin < byOffset[j].begin
		}
		return byOffset[i].end < byOffset[j].end
	})
	var covered int64
	for i, b := range byOffset {
		if i == 0 && b.begin > 0 {
			return nil, nil, fmt.Errorf("safetensors header: the first tensor %q begins at data byte %d, not 0: bytes no tensor describes", b.Name, b.begin)
		}
		if i > 0 {
			a := byOffset[i-1]
			if b.begin < a.end {
				return nil, nil, fmt.Errorf("safetensors header: tensors %q [%d, %d) and %q [%d, %d) overlap", a.Name, a.begin, a.end, b.Name, b.begin, b.end)
			}
			if b.begin > a.end {
				return nil, nil, fmt.Errorf("safetensors header: tensor %q ends at data byte %d but the next one, %q, begins at %d: bytes no tensor describes", a.Name, a.end, b.Name, b.begin)
			}
		}
		covered = b.end
	}
	if covered != dataSize {
		return nil, nil, &uncoveredTailError{covered: covered, size: dataSize}
	}
	sort.Slice(tensors, func(i, j int) bool { return tensors[i].Name < tensors[j].Name })
	return tensors, meta, nil
}

// uncoveredTailError says the tensors end before the data buffer does;
// OpenSafetensors restates it in file offsets.
type uncoveredTailError struct{ covered, size int64 }

func (e *uncoveredTailError) Error() string {
	return fmt.Sprintf("safetensors header: the tensors cover %d of the %d data bytes: %d trailing bytes that no tensor describes", e.covered, e.size, e.size-e.covered)
}

func checkEntry(name string, e headerEntry, dataSize int64) (*Tensor, error) {
	if name == "" {
		return nil, errors.New("empty tensor name")
	}
	bitsPer, ok := dtypeBits[e.DType]
	if !ok {
		return nil, fmt.Errorf("tensor %q: unknown dtype %q", name, e.DType)
	}
	if e.Shape == nil {
		return nil, fmt.Errorf("tensor %q: missing shape", name)
	}
	if len(e.DataOffsets) != 2 {
		return nil, fmt.Errorf("tensor %q: data_offsets must be [begin, end], got %v", name, e.DataOffsets)
	}
	begin, end := e.DataOffsets[0], e.DataOffsets[1]
	if begin < 0 || end < begin || end > dataSize {
		return nil, fmt.Errorf("tensor %q: data_offsets [%d, %d] outside the %d data bytes of the file", name, begin, end, dataSize)
	}
	n := uint64(1)
	for _, d := range e.Shape {
		if d < 0 {
			return nil, fmt.Errorf("tensor %q: negative dimension in shape %v", name, e.Shape)
		}
		hi, lo := bits.Mul64(n, uint64(d))
		if hi != 0 || lo > math.MaxInt64/64 {
			return nil, fmt.Errorf("tensor %q: shape %v is too large", name, e.Shape)
		}
		n = lo
	}
	nbits := n * uint64(bitsPer)
	if nbits%8 != 0 {
		return nil, fmt.Errorf("tensor %q: %d elements of %s do not fill whole bytes", name, n, e.DType)
	}
	if int64(nbits/8) != end-begin {
		return nil, fmt.Errorf("tensor %q: shape %v of %s needs %d bytes, data_offsets [%d, %d] hold %d", name, e.Shape, e.DType, nbits/8, begin, end, end-begin)
	}
	return &Tensor{Name: name, DType: e.DType, Shape: e.Shape, begin: begin, end: end}, nil
}

// Checkpoint is the set of safetensors files of a model directory, read as
// one: a single file, or the shards listed by model.safetensors.index.json.
type Checkpoint struct {
	Dir   string
	Files []*SafetensorsFile // sorted by file name
	// Order lists the tensors in the order llama.cpp's converter visits
	// them: shard files sorted by name, tensor names sorted within each.
	Order  []*Tensor
	byName map[string]*Tensor
}

// IndexFile is the name of the shard index of a sharded checkpoint.
const IndexFile = "model.safetensors.index.json"

// OpenCheckpoint opens the safetensors checkpoint in dir. With an index
// file, every shard it names must exist and hold the tensors it lists;
// without one, every *.safetensors file of dir is read.
func OpenCheckpoint(dir string) (*Checkpoint, error) {
	var names []string
	var want map[string]string
	idxPath := filepath.Join(dir, IndexFile)
	if b, err := os.ReadFile(idxPath); err == nil {
		var idx struct {
			WeightMap map[string]string `json:"weight_map"`
		}
		if err := json.Unmarshal(b, &idx); err != nil {
			return nil, fmt.Errorf("%s: %w", idxPath, err)
		}
		if len(idx.WeightMap) == 0 {
			return nil, fmt.Errorf("%s: weight_map is empty", idxPath)
		}
		want = idx.WeightMap
		set := map[string]bool{}
		for _, f := range idx.WeightMap {
			if f == "" || filepath.Base(f) != f {
				return nil, fmt.Errorf("%s: shard name %q must be a plain file name", idxPath, f)
			}
			set[f] = true
		}
		for f := range set {
			names = append(names, f)
		}
	} else if errors.Is(err, os.ErrNotExist) {
		matches, err := filepath.Glob(filepath.Join(dir, "*.safetensors"))
		if err != nil {
			return nil, err
		}
		for _, m := range matches {
			names = append(names, filepath.Base(m))
		}
		if len(names) == 0 {
			return nil, fmt.Errorf("%s: no *.safetensors files and no %s", dir, IndexFile)
		}
	} else {
		return nil, err
	}
	sort.Strings(names)
	c := &Checkpoint{Dir: dir, byName: map[string]*Tensor{}}
	for _, n := range names {
		p := filepath.Join(dir, n)
		if _, err := os.Stat(p); err != nil {
			c.Close()
			if errors.Is(err, os.ErrNotExist) {
				return nil, fmt.Errorf("shard %s listed in %s is missing", p, IndexFile)
			}
			return nil, err
		}
		f, err := OpenSafetensors(p)
		if err != nil {
			c.Close()
			return nil, err
		}
		c.Files = append(c.Files, f)
		for _, t := range f.Tensors {
			if prev, dup := c.byName[t.Name]; dup {
				c.Close()
				return nil, fmt.Errorf("tensor %q is in both %s and %s", t.Name, prev.File.Path, f.Path)
			}
			c.byName[t.Name] = t
			c.Order = append(c.Order, t)
		}
	}
	for name, file := range want {
		t, ok := c.byName[name]
		if !ok {
			c.Close()
			return nil, fmt.Errorf("tensor %q listed in %s is missing from shard %s", name, IndexFile, file)
		}
		if filepath.Base(t.File.Path) != file {
			c.Close()
			return nil, fmt.Errorf("tensor %q: %s says shard %s, found in %s", name, IndexFile, file, t.File.Path)
		}
	}
	return c, nil
}

// Tensor returns the named tensor or nil.
func (c *Checkpoint) Tensor(name string) *Tensor { return c.byName[name] }

// Close unmaps every file.
func (c *Checkpoint) Close() error {
	var first error
	for _, f := range c.Files {
		if err := f.Close(); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// trimSuffixAny strips the first matching suffix.
func trimSuffixAny(s string, suffixes ...string) (string, string, bool) {
	for _, suf := range suffixes {
		if strings.HasSuffix(s, suf) {
			return strings.TrimSuffix(s, suf), suf, true
		}
	}
	return s, "", false
}
