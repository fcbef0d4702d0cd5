package publish

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/gguftool/gguftool/gguf"
)

// Problem is one mismatch verify found.
type Problem struct {
	File string // the file concerned, relative to the folder
	Msg  string
}

func (p Problem) String() string { return p.File + ": " + p.Msg }

// VerifyReport is what Verify checked and found.
type VerifyReport struct {
	Files    int // files re-hashed
	Models   int // models opened whole
	Problems []Problem
}

// OK reports whether nothing was wrong.
func (r *VerifyReport) OK() bool { return len(r.Problems) == 0 }

func (r *VerifyReport) add(file, format string, args ...any) {
	r.Problems = append(r.Problems, Problem{file, fmt.Sprintf(format, args...)})
}

// Verify checks a release folder: every file listed in SHA256SUMS is
// re-hashed; every GGUF file is listed; the shards of each model form the
// whole model (split.no, split.count, split.tensors.count, and our reader
// opens the set); manifest.json and the card's file table agree with the
// files. The error is for a folder that cannot be read at all; mismatches
// are Problems.
func Verify(ctx context.Context, dir string) (*VerifyReport, error) {
	st, err := os.Stat(dir)
	if err != nil {
		return nil, err
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("%s is not a folder", dir)
	}
	r := &VerifyReport{}
	type actual struct {
		sha  string
		size int64
	}
	got := map[string]actual{} // files hashed

	// SHA256SUMS: the list of model files and their hashes.
	var sums []SumEntry
	sumsRead := false
	// Files a malformed line seems to be about: that line is their
	// problem, so they are not also reported as unlisted.
	badLine := map[string]bool{}
	if data, err := os.ReadFile(filepath.Join(dir, "SHA256SUMS")); err != nil {
		r.add("SHA256SUMS", "cannot read: %v", errors.Unwrap(err))
	} else {
		sumsRead = true
		var bad []badSumLine
		sums, bad = parseSums(data)
		for _, b := range bad {
			r.add("SHA256SUMS", "%s", b.Msg)
			if b.Name != "" {
				badLine[b.Name] = true
			}
		}
	}
	listed := map[string]string{}
	for _, s := range sums {
		if _, dup := listed[s.Name]; dup {
			r.add("SHA256SUMS", "%s is listed twice", s.Name)
		}
		listed[s.Name] = s.SHA256
		sha, size, err := hashFile(ctx, filepath.Join(dir, s.Name))
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			if errors.Is(err, fs.ErrNotExist) {
				r.add(s.Name, "listed in SHA256SUMS but missing")
			} else {
				r.add(s.Name, "cannot read: %v", err)
			}
			continue
		}
		r.Files++
		got[s.Name] = actual{sha, size}
		if sha != s.SHA256 {
			r.add(s.Name, "sha256 is %s, SHA256SUMS says %s", sha, s.SHA256)
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var ggufs []string
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".gguf") {
			ggufs = append(ggufs, e.Name())
			if _, ok := listed[e.Name()]; !ok && sumsRead && !badLine[e.Name()] {
				r.add(e.Name(), "GGUF file not listed in SHA256SUMS")
			}
		}
	}

	// Shards form whole models.
	for _, set := range modelSets(ggufs) {
		r.Models++
		verifyModel(r, dir, set)
	}

	// The tables are checked against the files themselves, so a file that
	// SHA256SUMS failed to list (or a SHA256SUMS that is unreadable) is
	// still compared, and "missing" means missing.
	fileOf := func(name string) (actual, bool, error) {
		if a, ok := got[name]; ok {
			return a, true, nil
		}
		if !validFileName(name) {
			return actual{}, false, nil
		}
		sha, size, err := hashFile(ctx, filepath.Join(dir, name))
		if err != nil {
			if ctx.Err() != nil {
				return actual{}, false, ctx.Err()
			}
			return actual{}, false, nil
		}
		got[name] = actual{sha, size}
		return got[name], true, nil
	}
	// A table listing a file SHA256SUMS does not: a problem unless
	// SHA256SUMS itself is already reported unreadable or broken there.
	checkListed := func(table, name string) {
		if _, ok := listed[name]; !ok && sumsRead && !badLine[name] {
			r.add(table, "lists %s, which SHA256SUMS does not", name)
		}
	}

	// manifest.json agrees with the files.
	var man Manifest
	manFiles := map[string]FileEntry{}
	manQuant := map[string]string{}
	if data, err := os.ReadFile(filepath.Join(dir, "manifest.json")); err != nil {
		r.add("manifest.json", "cannot read: %v", errors.Unwrap(err))
	} else if err := json.Unmarshal(data, &man); err != nil {
		r.add("manifest.json", "not valid JSON: %v", err)
	} else {
		if man.Schema != ManifestSchema {
			r.add("manifest.json", "schema %q, expected %q", man.Schema, ManifestSchema)
		}
		for _, mod := range man.Models {
			if mod == nil {
				continue
			}
			for _, f := range mod.Files {
				manFiles[f.Name] = f
				manQuant[f.Name] = mod.Quantization
				a, ok, err := fileOf(f.Name)
				if err != nil {
					return nil, err
				}
				checkEntry(r, "manifest.json", f.Name, f.SHA256, f.Size, a.sha, a.size, ok)
				if ok {
					checkListed("manifest.json", f.Name)
				}
			}
		}
		for name := range listed {
			if _, ok := manFiles[name]; !ok {
				r.add("manifest.json", "does not list %s", name)
			}
		}
	}

	// The card's file table agrees with the files and the manifest.
	card, err := os.ReadFile(filepath.Join(dir, "README.md"))
	if err != nil {
		r.add("README.md", "cannot read: %v", errors.Unwrap(err))
		return r, nil
	}
	rows, err := parseCardFiles(string(card))
	if err != nil {
		r.add("README.md", "%v", err)
		return r, nil
	}
	inCard := map[string]bool{}
	for _, row := range rows {
		if inCard[row.Name] {
			r.add("README.md", "file table lists %s twice", row.Name)
		}
		inCard[row.Name] = true
		a, ok, err := fileOf(row.Name)
		if err != nil {
			return nil, err
		}
		checkEntry(r, "README.md", row.Name, row.SHA256, row.Size, a.sha, a.size, ok)
		if ok {
			checkListed("README.md", row.Name)
		}
		if q, ok := manQuant[row.Name]; ok && q != row.Quantization {
			r.add("README.md", "file table says %s is %s, manifest.json says %s", row.Name, row.Quantization, q)
		}
	}
	for name := range listed {
		if !inCard[name] {
			r.add("README.md", "file table does not list %s", name)
		}
	}
	sort.SliceStable(r.Problems, func(i, j int) bool { return r.Problems[i].File < r.Problems[j].File })
	return r, nil
}

// checkEntry compares what a table (manifest or card) says about a file with
// the file itself.
func checkEntry(r *VerifyReport, table, name, sha string, size int64, gotSHA string, gotSize int64, hashed bool) {
	if !hashed {
		r.add(table, "lists %s, which is missing", name)
		return
	}
	if !strings.EqualFold(sha, gotSHA) {
		r.add(table, "says %s has sha256 %s; the file's is %s", name, sha, gotSHA)
	}
	if size != gotSize {
		r.add(table, "says %s is %d bytes; the file is %d", name, size, gotSize)
	}
}

// modelSets groups GGUF file names into models: a lone file, or the shards
// NAME-0000i-of-0000N.gguf of one prefix and count.
func modelSets(names []string) [][]string {
	groups := map[string][]string{}
	var keys []string
	for _, n := range names {
		key := n
		if m := splitSuffix.FindStringSubmatch(n); m != nil {
			key = m[1] + "\x00" + m[3]
		}
		if _, ok := groups[key]; !ok {
			keys = append(keys, key)
		}
		groups[key] = append(groups[key], n)
	}
	sort.Strings(keys)
	out := make([][]string, len(keys))
	for i, k := range keys {
		sort.Strings(groups[k])
		out[i] = groups[k]
	}
	return out
}

// verifyModel checks that a set of files is one whole model.
func verifyModel(r *VerifyReport, dir string, set []string) {
	m := splitSuffix.FindStringSubmatch(set[0])
	if m == nil { // a single file: it must not claim to be a shard
		f, err := gguf.OpenFile(filepath.Join(dir, set[0]))
		if err != nil {
			r.add(set[0], "not a readable GGUF file: %v", err)
			return
		}
		defer f.Close()
		if n, err := f.Metadata.Int(gguf.KeySplitCount); err == nil && n > 1 {
			r.add(set[0], "has %s = %d but is not named as a shard", gguf.KeySplitCount, n)
		}
		return
	}
	prefix := m[1]
	count, _ := strconv.Atoi(m[3])
	present := map[string]bool{}
	for _, n := range set {
		present[n] = true
	}
	complete := true
	var tensors int64
	for i := 0; i < count; i++ {
		name := gguf.SplitPath(prefix, i, count)
		if !present[name] {
			r.add(name, "shard %d of %d of %s is missing", i+1, count, prefix)
			complete = false
			continue
		}
		f, err := gguf.OpenFile(filepath.Join(dir, name))
		if err != nil {
			r.add(name, "not a readable GGUF file: %v", err)
			complete = false
			continue
		}
		md := f.Metadata
		if no, err := md.Int(gguf.KeySplitNo); err != nil || no != int64(i) {
			r.add(name, "%s is %s, expected %d", gguf.KeySplitNo, intOrErr(no, err), i)
		}
		if n, err := md.Int(gguf.KeySplitCount); err != nil || n != int64(count) {
			r.add(name, "%s is %s, expected %d", gguf.KeySplitCount, intOrErr(n, err), count)
		}
		tc, err := md.Int(gguf.KeySplitTensorsCount)
		if err != nil {
			r.add(name, "%s: %v", gguf.KeySplitTensorsCount, err)
		}
		if i == 0 {
			tensors = tc
		} else if err == nil && tc != tensors {
			r.add(name, "%s is %d; the first shard says %d", gguf.KeySplitTensorsCount, tc, tensors)
		}
		f.Close()
	}
	if !complete {
		return
	}
	first := gguf.SplitPath(prefix, 0, count)
	whole, err := gguf.Open(filepath.Join(dir, first))
	if err != nil {
		r.add(first, "the shards do not open as one model: %v", err)
		return
	}
	defer whole.Close()
	if int64(len(whole.Tensors)) != tensors {
		r.add(first, "the shards hold %d tensors; %s says %d", len(whole.Tensors), gguf.KeySplitTensorsCount, tensors)
	}
}

func intOrErr(n int64, err error) string {
	if err != nil {
		return "unreadable (" + err.Error() + ")"
	}
	return strconv.FormatInt(n, 10)
}

// cardRow is one row of the card's file table.
type cardRow struct {
	Name, Quantization, SHA256 string
	Size                       int64
}

// parseCardFiles reads the file table between the card's markers.
func parseCardFiles(card string) ([]cardRow, error) {
	i := strings.Index(card, filesBegin)
	j := strings.Index(card, filesEnd)
	if i < 0 || j < i {
		return nil, fmt.Errorf("file table not found (between %s and %s)", filesBegin, filesEnd)
	}
	var rows []cardRow
	for n, line := range strings.Split(card[i+len(filesBegin):j], "\n") {
		line = strings.TrimSpace(line)
		if line == "" || !strings.HasPrefix(line, "|") || strings.HasPrefix(line, "|---") || strings.HasPrefix(line, "| File ") {
			continue
		}
		cells := strings.Split(strings.Trim(line, "|"), "|")
		if len(cells) != 5 {
			return nil, fmt.Errorf("file table row %d: expected 5 columns (file, quantization, size, bytes, sha256), got %d: %q", n, len(cells), line)
		}
		for k := range cells {
			cells[k] = strings.Trim(strings.TrimSpace(cells[k]), "`")
		}
		size, err := strconv.ParseInt(cells[3], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("file table row for %s: bytes %q is not a number", cells[0], cells[3])
		}
		rows = append(rows, cardRow{Name: cells[0], Quantization: cells[1], Size: size, SHA256: strings.ToLower(cells[4])})
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("file table is empty")
	}
	return rows, nil
}

// validFileName reports whether name, read from a table of the release, is
// a plain file name of the folder (never a path out of it).
func validFileName(name string) bool {
	return name != "" && name != "." && name != ".." && !strings.ContainsAny(name, `/\`)
}
