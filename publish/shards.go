package publish

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/gguftool/gguftool/gguf"
)

// FileEntry is one published file.
type FileEntry struct {
	Name    string `json:"name"`
	Size    int64  `json:"size"`
	SHA256  string `json:"sha256"`
	Tensors int    `json:"tensors"`
}

// splitSuffix matches gguf-split's shard names.
var splitSuffix = regexp.MustCompile(`^(.*)-(\d{5})-of-(\d{5})\.gguf$`)

// modelPrefix is the output name of an input model without ".gguf" and
// without a shard suffix.
func modelPrefix(path string) string {
	base := filepath.Base(path)
	if m := splitSuffix.FindStringSubmatch(base); m != nil {
		return m[1]
	}
	if ext := filepath.Ext(base); strings.EqualFold(ext, ".gguf") {
		return strings.TrimSuffix(base, ext)
	}
	return base
}

// shardNames returns the file names of a model written in len(starts) shards.
func shardNames(prefix string, count int) []string {
	if count == 1 {
		return []string{prefix + ".gguf"}
	}
	names := make([]string, count)
	for i := range names {
		names[i] = gguf.SplitPath(prefix, i, count)
	}
	return names
}

// modelMetadata is the model's metadata without the split keys of an input
// that was itself split: they are rewritten per shard.
func modelMetadata(m *gguf.File) *gguf.Metadata {
	md := m.Metadata.Clone()
	md.Delete(gguf.KeySplitNo)
	md.Delete(gguf.KeySplitCount)
	md.Delete(gguf.KeySplitTensorsCount)
	return md
}

// releaseMargin widens each release of copied source pages: the kernel maps
// pages around a faulting address (fault-around), so reading one chunk also
// maps the edges of its neighbours, possibly after they were released.
const releaseMargin = 2 << 20

// copyChunk bounds how much tensor data is copied between checks for
// cancellation.
const copyChunk = 8 << 20

// writeShards writes model m into dir as the shards starting at the given
// tensor indices, streaming each tensor from the mapped input and hashing
// each file as it is written. progress, when set, receives byte counts.
func writeShards(ctx context.Context, dir, prefix string, m *gguf.File, starts []int, progress func(int64)) ([]FileEntry, error) {
	md := modelMetadata(m)
	names := shardNames(prefix, len(starts))
	entries := make([]FileEntry, len(starts))
	for i := range starts {
		end := len(m.Tensors)
		if i+1 < len(starts) {
			end = starts[i+1]
		}
		smd := md
		if len(starts) > 1 {
			smd = gguf.ShardMetadata(md, i, len(starts), len(m.Tensors))
		}
		e, err := writeFile(ctx, filepath.Join(dir, names[i]), smd, m, m.Tensors[starts[i]:end], progress)
		if err != nil {
			return nil, err
		}
		entries[i] = e
	}
	return entries, nil
}

func writeFile(ctx context.Context, path string, md *gguf.Metadata, m *gguf.File, tensors []gguf.TensorInfo, progress func(int64)) (FileEntry, error) {
	name := filepath.Base(path)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return FileEntry{}, err
	}
	defer f.Close()
	sum := newAsyncHash()
	finished := false
	defer func() {
		if !finished {
			sum.Stop()
		}
	}()
	w, err := gguf.NewWriter(io.MultiWriter(f, sum), md, tensors)
	if err != nil {
		return FileEntry{}, fmt.Errorf("%s: %w", name, err)
	}
	for i := range tensors {
		t := &tensors[i]
		data := m.Data(t)
		if uint64(len(data)) != t.Size() {
			return FileEntry{}, fmt.Errorf("%s: tensor %q: %d bytes in the input, expected %d", m.Path(), t.Name, len(data), t.Size())
		}
		if err := w.BeginTensor(t.Name); err != nil {
			return FileEntry{}, fmt.Errorf("%s: %w", name, err)
		}
		pos := int64(0) // of data[0] in t's data
		for len(data) > 0 {
			if err := ctx.Err(); err != nil {
				return FileEntry{}, err
			}
			n := min(len(data), copyChunk)
			if _, err := w.Write(data[:n]); err != nil {
				return FileEntry{}, fmt.Errorf("%s: %w", name, err)
			}
			m.ReleaseData(t, pos-releaseMargin, pos+int64(n)+releaseMargin)
			pos += int64(n)
			if progress != nil {
				progress(int64(n))
			}
			data = data[n:]
		}
		if err := w.EndTensor(); err != nil {
			return FileEntry{}, fmt.Errorf("%s: %w", name, err)
		}
	}
	if err := w.Close(); err != nil {
		return FileEntry{}, fmt.Errorf("%s: %w", name, err)
	}
	if err := f.Sync(); err != nil {
		return FileEntry{}, fmt.Errorf("%s: %w", name, err)
	}
	if err := f.Close(); err != nil {
		return FileEntry{}, fmt.Errorf("%s: %w", name, err)
	}
	finished = true
	digest, n := sum.Sum()
	return FileEntry{Name: name, Size: n, SHA256: digest, Tensors: len(tensors)}, nil
}

// hashFile returns the sha256 and size of a file, checking ctx between
// chunks.
func hashFile(ctx context.Context, path string) (string, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	h := sha256.New()
	buf := make([]byte, 4<<20)
	var n int64
	for {
		if err := ctx.Err(); err != nil {
			return "", 0, err
		}
		k, err := f.Read(buf)
		h.Write(buf[:k])
		n += int64(k)
		if err == io.EOF {
			break
		}
		if err != nil {
			return "", 0, err
		}
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}
