package gguf

import (
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"regexp"
	"strconv"
)

// File is an open GGUF model: one file, or every shard of a split model
// read as one. Tensor data stays in the mapped files until asked for.
type File struct {
	// Header of the first file. In a split model Tensors lists the tensors
	// of all shards, each with its Shard index.
	Header
	Shards []*Shard

	byName map[string]int
}

// Shard is one mapped GGUF file.
type Shard struct {
	Path   string
	Header *Header
	data   []byte
	unmap  func() error
}

// Size is the file's size in bytes.
func (s *Shard) Size() int64 { return int64(len(s.data)) }

// Bytes returns the mapped file.
func (s *Shard) Bytes() []byte { return s.data }

// OpenFile maps a single GGUF file and parses its header, without looking
// for the other shards of a split model.
func OpenFile(path string) (*File, error) {
	s, err := openShard(path)
	if err != nil {
		return nil, err
	}
	f := &File{Header: *s.Header, Shards: []*Shard{s}}
	f.index()
	return f, nil
}

func openShard(path string) (*Shard, error) {
	data, unmap, err := mapFile(path)
	if err != nil {
		return nil, err
	}
	h, err := ParseHeader(data, path)
	if err != nil {
		unmap()
		return nil, err
	}
	return &Shard{Path: path, Header: h, data: data, unmap: unmap}, nil
}

var splitName = regexp.MustCompile(`^(.*)-(\d{5})-of-(\d{5})\.gguf$`)

// SplitPath returns the name gguf-split gives shard no (0-based) of count
// for a model whose prefix is prefix: PREFIX-00001-of-00003.gguf.
func SplitPath(prefix string, no, count int) string {
	return fmt.Sprintf("%s-%05d-of-%05d.gguf", prefix, no+1, count)
}

// Open maps a GGUF model. If path is one shard of a model split by
// gguf-split (split.count > 1), all shards are opened and read as one
// model: the metadata of the first shard, the tensors of all of them.
func Open(path string) (*File, error) {
	first, err := openShard(path)
	if err != nil {
		return nil, err
	}
	count, err := splitCount(first)
	if err != nil || count <= 1 {
		if err != nil {
			first.unmap()
			return nil, err
		}
		f := &File{Header: *first.Header, Shards: []*Shard{first}}
		f.index()
		return f, nil
	}
	m := splitName.FindStringSubmatch(filepath.Base(path))
	if m == nil {
		first.unmap()
		return nil, fmt.Errorf("%s: %s = %d but the name does not follow NAME-00001-of-%05d.gguf", path, KeySplitCount, count, count)
	}
	if n, _ := strconv.Atoi(m[3]); n != count {
		first.unmap()
		return nil, fmt.Errorf("%s: %s = %d but the name says %d shards", path, KeySplitCount, count, n)
	}
	prefix := filepath.Join(filepath.Dir(path), m[1])
	f := &File{Shards: make([]*Shard, count)}
	no, _ := strconv.Atoi(m[2])
	f.Shards[no-1] = first
	for i := 0; i < count; i++ {
		if f.Shards[i] != nil {
			continue
		}
		s, err := openShard(SplitPath(prefix, i, count))
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("split model %s: shard %d of %d: %w", path, i+1, count, err)
		}
		f.Shards[i] = s
	}
	if err := f.joinShards(count); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

func splitCount(s *Shard) (int, error) {
	if !s.Header.Metadata.Has(KeySplitCount) {
		return 1, nil
	}
	n, err := s.Header.Metadata.Int(KeySplitCount)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", s.Path, err)
	}
	if n < 1 || n > 99999 {
		return 0, fmt.Errorf("%s: %s = %d is out of range", s.Path, KeySplitCount, n)
	}
	return int(n), nil
}

func (f *File) joinShards(count int) error {
	f.Header = *f.Shards[0].Header
	f.Header.Tensors = nil
	var total int64 = -1
	for i, s := range f.Shards {
		no, err := s.Header.Metadata.Int(KeySplitNo)
		if err != nil {
			return fmt.Errorf("%s: %w", s.Path, err)
		}
		if int(no) != i {
			return fmt.Errorf("%s: %s = %d, expected %d", s.Path, KeySplitNo, no, i)
		}
		if c, err := splitCount(s); err != nil || c != count {
			return fmt.Errorf("%s: %s disagrees with the first shard (%d)", s.Path, KeySplitCount, count)
		}
		if i == 0 {
			if total, err = s.Header.Metadata.Int(KeySplitTensorsCount); err != nil {
				return fmt.Errorf("%s: %w", s.Path, err)
			}
		}
		for _, t := range s.Header.Tensors {
			t.Shard = i
			f.Header.Tensors = append(f.Header.Tensors, t)
		}
	}
	if int64(len(f.Header.Tensors)) != total {
		return fmt.Errorf("%s: %s = %d but the shards hold %d tensors", f.Shards[0].Path, KeySplitTensorsCount, total, len(f.Header.Tensors))
	}
	if !f.index() {
		return fmt.Errorf("%s: a tensor name appears in more than one shard", f.Shards[0].Path)
	}
	return nil
}

// index builds the name lookup; false if a name repeats.
func (f *File) index() bool {
	f.byName = make(map[string]int, len(f.Tensors))
	for i, t := range f.Tensors {
		if _, dup := f.byName[t.Name]; dup {
			return false
		}
		f.byName[t.Name] = i
	}
	return true
}

// Close unmaps every shard.
func (f *File) Close() error {
	var errs []error
	for _, s := range f.Shards {
		if s != nil && s.unmap != nil {
			errs = append(errs, s.unmap())
			s.unmap = nil
		}
	}
	return errors.Join(errs...)
}

// Path is the path of the first file.
func (f *File) Path() string { return f.Shards[0].Path }

// Size is the total size of all shards in bytes.
func (f *File) Size() int64 {
	var n int64
	for _, s := range f.Shards {
		n += s.Size()
	}
	return n
}

// Tensor returns the info of the named tensor.
func (f *File) Tensor(name string) (*TensorInfo, bool) {
	i, ok := f.byName[name]
	if !ok {
		return nil, false
	}
	return &f.Tensors[i], true
}

// FileOffset is the absolute position of t's data in its shard.
func (f *File) FileOffset(t *TensorInfo) int64 {
	return f.Shards[t.Shard].Header.DataOffset + int64(t.Offset)
}

// Data returns t's bytes, a slice of the mapped file (valid until Close).
func (f *File) Data(t *TensorInfo) []byte {
	s := f.Shards[t.Shard]
	off := s.Header.DataOffset + int64(t.Offset)
	return s.data[off : off+int64(t.Size()) : off+int64(t.Size())]
}

// TensorData returns the bytes of the named tensor.
func (f *File) TensorData(name string) ([]byte, error) {
	t, ok := f.Tensor(name)
	if !ok {
		return nil, fmt.Errorf("%s: no tensor named %q", f.Path(), name)
	}
	return f.Data(t), nil
}

// Reader returns a reader over t's bytes.
func (f *File) Reader(t *TensorInfo) io.Reader {
	return &sliceReader{b: f.Data(t)}
}

type sliceReader struct{ b []byte }

func (r *sliceReader) Read(p []byte) (int, error) {
	if len(r.b) == 0 {
		return 0, io.EOF
	}
	n := copy(p, r.b)
	r.b = r.b[n:]
	return n, nil
}

func (r *sliceReader) WriteTo(w io.Writer) (int64, error) {
	n, err := w.Write(r.b)
	r.b = r.b[n:]
	return int64(n), err
}

// ReleaseData tells the kernel that bytes [from, to) of t's data, already
// consumed, will not be needed soon. Streaming a model through its mapping
// then keeps the resident set flat instead of growing to the model's size.
// Reading the bytes again later is still valid.
func (f *File) ReleaseData(t *TensorInfo, from, to int64) {
	s := f.Shards[t.Shard]
	off := s.Header.DataOffset + int64(t.Offset)
	releasePages(s.data, off+from, off+to)
}
