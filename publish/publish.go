// Package publish builds a HuggingFace-ready release folder from GGUF
// models: the models (split into gguf-split compatible shards when larger
// than a maximum), a model card whose every figure is computed from the
// files, SHA256SUMS and manifest.json; and verifies such a folder.
//
// The folder is built in a temporary directory next to the destination and
// renamed into place at the end, so a failed or interrupted run leaves
// nothing half-written.
package publish

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/gguftool/gguftool/gguf"
)

// DefaultSplitMaxSize is the largest file the Hub accepts without special
// handling (50 GB), less a margin: gguf-split's customary 48G.
const DefaultSplitMaxSize = 48_000_000_000

// DefaultContexts are the context sizes of the card's memory table.
var DefaultContexts = []int{4096, 32768}

// Options says what to publish.
type Options struct {
	Models       []string // GGUF inputs (a shard of a split model stands for the whole model)
	OutDir       string
	Source       string            // safetensors checkpoint folder the models were converted from
	BaseModel    string            // ORG/NAME of the base model; overrides what Source says
	Repo         string            // ORG/NAME the folder will be uploaded to (for the card and the command)
	SplitMaxSize int64             // bytes; 0 means DefaultSplitMaxSize
	BenchPath    string            // a `gguftool bench --json` result
	Force        bool              // replace a non-empty OutDir
	Version      string            // gguftool's version, recorded in the card
	Planner      Planner           // memory figures; nil leaves the memory section out
	Contexts     []int             // nil means DefaultContexts
	Progress     func(n int64)     // bytes of model data written, when set
	Start        func(total int64) // called once before writing with the bytes Progress will count
}

// Result is what Publish made.
type Result struct {
	Dir           string
	Manifest      *Manifest
	UploadCommand string
}

// input is an opened model with its split plan.
type input struct {
	path   string
	prefix string
	file   *gguf.File
	starts []int
}

// Publish builds the release folder. On any error, and when ctx is
// cancelled, the temporary folder is removed and OutDir is left as it was.
func Publish(ctx context.Context, opts Options) (*Result, error) {
	if len(opts.Models) == 0 {
		return nil, fmt.Errorf("no model to publish")
	}
	if opts.OutDir == "" {
		return nil, fmt.Errorf("no output folder given")
	}
	if opts.SplitMaxSize == 0 {
		opts.SplitMaxSize = DefaultSplitMaxSize
	}
	if opts.SplitMaxSize < 0 {
		return nil, fmt.Errorf("split size must be positive, got %d", opts.SplitMaxSize)
	}
	if opts.Contexts == nil {
		opts.Contexts = DefaultContexts
	}
	if opts.BaseModel != "" && !isRepoID(opts.BaseModel) {
		return nil, fmt.Errorf("base model %q: expected a Hub repository id ORG/NAME", opts.BaseModel)
	}
	if opts.Repo != "" && !isRepoID(opts.Repo) {
		return nil, fmt.Errorf("repository %q: expected a Hub repository id ORG/NAME", opts.Repo)
	}
	if err := checkOutDir(opts.OutDir, opts.Force); err != nil {
		return nil, err
	}
	for _, m := range opts.Models {
		if inside(m, opts.OutDir) {
			return nil, fmt.Errorf("%s is inside the output folder %s, which publish replaces: publish into another folder", m, opts.OutDir)
		}
	}

	// Everything that can be refused is checked before anything is written.
	inputs, err := openInputs(opts)
	defer func() {
		for _, in := range inputs {
			in.file.Close()
		}
	}()
	if err != nil {
		return nil, err
	}
	man := &Manifest{Schema: ManifestSchema, GGUFToolVersion: opts.Version, Repo: opts.Repo,
		SplitMaxSize: opts.SplitMaxSize, Contexts: opts.Contexts}
	if opts.Source != "" {
		if man.Source, err = ReadSource(opts.Source); err != nil {
			return nil, err
		}
	}
	var bench *Bench
	if opts.BenchPath != "" {
		if bench, err = ReadBench(opts.BenchPath); err != nil {
			return nil, err
		}
		man.Bench = bench.Raw
	}
	man.BaseModel, man.License = baseModelAndLicense(opts, man.Source, inputs[0].file.Metadata)
	for _, in := range inputs {
		mod := describeModel(in.prefix, in.file)
		mod.Split = len(in.starts) > 1
		if man.Source != nil {
			if err := man.Source.checkMatches(in.path, mod.Architecture); err != nil {
				return nil, err
			}
		}
		if opts.Planner != nil {
			if err := planModel(opts, in.file, mod); err != nil {
				return nil, fmt.Errorf("%s: %w", in.path, err)
			}
		}
		man.Models = append(man.Models, mod)
	}

	tmp, cleanup, err := makeTempDir(opts.OutDir)
	if err != nil {
		return nil, err
	}
	committed := false
	defer func() {
		if !committed {
			cleanup()
		}
	}()
	if opts.Start != nil {
		var total int64
		for _, in := range inputs {
			for i := range in.file.Tensors {
				total += int64(in.file.Tensors[i].Size())
			}
		}
		opts.Start(total)
	}
	var all []FileEntry
	for i, in := range inputs {
		files, err := writeShards(ctx, tmp, in.prefix, in.file, in.starts, opts.Progress)
		if err != nil {
			return nil, err
		}
		mod := man.Models[i]
		mod.Files = files
		for _, f := range files {
			mod.Size += f.Size
		}
		all = append(all, files...)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	manJSON, err := encodeManifest(man)
	if err != nil {
		return nil, err
	}
	card := RenderCard(man, bench)
	for _, f := range []struct {
		name string
		data []byte
	}{{"README.md", []byte(card)}, {"manifest.json", manJSON}, {"SHA256SUMS", encodeSums(all)}} {
		if err := writeSmall(filepath.Join(tmp, f.name), f.data); err != nil {
			return nil, err
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := commitDir(tmp, opts.OutDir); err != nil {
		return nil, err
	}
	committed = true
	return &Result{Dir: opts.OutDir, Manifest: man, UploadCommand: UploadCommand(repoOrPlaceholder(man), opts.OutDir)}, nil
}

// openInputs opens every model and plans its split; names must not collide.
func openInputs(opts Options) ([]*input, error) {
	var inputs []*input
	seen := map[string]string{}
	for _, path := range opts.Models {
		prefix := modelPrefix(path)
		if prev, ok := seen[prefix]; ok {
			return inputs, fmt.Errorf("%s and %s would both be published as %s: rename one", prev, path, prefix)
		}
		seen[prefix] = path
		f, err := gguf.Open(path)
		if err != nil {
			return inputs, err
		}
		in := &input{path: path, prefix: prefix, file: f}
		inputs = append(inputs, in)
		if in.starts, err = gguf.PlanSplit(modelMetadata(f), stripOffsets(f.Tensors), opts.SplitMaxSize); err != nil {
			return inputs, fmt.Errorf("%s: %w", path, err)
		}
	}
	return inputs, nil
}

// stripOffsets returns the tensors as a writer takes them (offsets and
// shard indices are recomputed on writing).
func stripOffsets(ts []gguf.TensorInfo) []gguf.TensorInfo {
	out := make([]gguf.TensorInfo, len(ts))
	for i, t := range ts {
		t.Offset, t.Shard = 0, 0
		out[i] = t
	}
	return out
}

// planModel asks the planner for the card's figures: the placements at each
// context, and for the "how to run" commands the placement at the smallest
// budget (in whole MiB) that the planner accepts at the first context, which
// keeps every routed expert in CPU memory: the small-GPU case the release is
// for.
func planModel(opts Options, f *gguf.File, mod *Model) error {
	for _, c := range opts.Contexts {
		mem, err := opts.Planner.Memory(f, c)
		if err != nil {
			return fmt.Errorf("planner at context %d: %w", c, err)
		}
		mem.Context = c
		mod.Memory = append(mod.Memory, mem)
	}
	if len(mod.Memory) == 0 {
		return nil
	}
	budget := roundUp(mod.Memory[0].VRAMExpertsOnCPU, 1<<20)
	p, err := opts.Planner.Place(f, mod.Memory[0].Context, budget)
	if err != nil {
		return fmt.Errorf("planner at %s: %w", FormatMem(budget), err)
	}
	mod.Run = &p
	return nil
}

func roundUp(x, m int64) int64 { return (x + m - 1) / m * m }

// baseModelAndLicense chooses the card's base_model and license: the flag,
// then the source checkpoint, then the GGUF's general.* keys.
func baseModelAndLicense(opts Options, src *Source, md *gguf.Metadata) ([]string, string) {
	var base []string
	license := ""
	if src != nil {
		base, license = src.BaseModel, src.License
	}
	if opts.BaseModel != "" {
		base = []string{opts.BaseModel}
	}
	if len(base) == 0 {
		if url, err := md.String("general.base_model.0.repo_url"); err == nil {
			if id := strings.TrimPrefix(url, "https://huggingface.co/"); id != url && isRepoID(id) {
				base = []string{id}
			}
		}
	}
	if license == "" {
		license, _ = md.String("general.license")
	}
	return base, license
}

// inside reports whether path lies in folder dir.
func inside(path, dir string) bool {
	p, err1 := filepath.Abs(path)
	d, err2 := filepath.Abs(dir)
	if err1 != nil || err2 != nil {
		return false
	}
	if r, err := filepath.EvalSymlinks(p); err == nil {
		p = r
	}
	if r, err := filepath.EvalSymlinks(d); err == nil {
		d = r
	}
	rel, err := filepath.Rel(d, p)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}

// checkOutDir refuses a destination that is a file, or a non-empty folder
// without force.
func checkOutDir(dir string, force bool) error {
	// Like every other output (internal/atomicfile), the folder is created
	// only in a parent that exists: a typo in -o is refused, not turned
	// into a tree of new folders.
	parent := filepath.Dir(dir)
	if pst, err := os.Stat(parent); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("%s: directory %s does not exist", dir, parent)
		}
		return fmt.Errorf("%s: %w", dir, err)
	} else if !pst.IsDir() {
		return fmt.Errorf("%s: %s is not a directory", dir, parent)
	}
	st, err := os.Stat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if !st.IsDir() {
		return fmt.Errorf("%s exists and is not a folder", dir)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	if len(entries) > 0 && !force {
		return fmt.Errorf("%s is not empty (%d entries; use --force to replace it)", dir, len(entries))
	}
	if len(entries) > 0 && !isRelease(dir) {
		// --force replaces a previous release, never an arbitrary folder:
		// `-o ~/models --force` must not delete the user's files.
		return fmt.Errorf("%s is not empty and is not a gguftool release (no manifest.json of schema %s); --force replaces only a previous release: publish into a new folder", dir, ManifestSchema)
	}
	return nil
}

// isRelease reports whether dir holds a folder written by Publish: its
// manifest.json names ManifestSchema.
func isRelease(dir string) bool {
	b, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		return false
	}
	var m struct {
		Schema string `json:"schema"`
	}
	return json.Unmarshal(b, &m) == nil && m.Schema == ManifestSchema
}

// makeTempDir creates the hidden folder the release is built in, next to
// dir (same filesystem, so the final rename is atomic); checkOutDir has
// made sure dir's parent exists. cleanup removes the temporary folder.
func makeTempDir(dir string) (tmp string, cleanup func(), err error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", nil, err
	}
	tmp, err = os.MkdirTemp(filepath.Dir(abs), "."+filepath.Base(abs)+".publish-tmp-*")
	if err != nil {
		return "", nil, err
	}
	cleanupMu.Lock()
	liveDirs[tmp] = true
	cleanupMu.Unlock()
	return tmp, func() {
		os.RemoveAll(tmp)
		forgetTempDir(tmp)
	}, nil
}

// commitDir moves the finished folder into place. An existing destination
// (empty, or replaced under --force) is moved aside first and removed only
// once the new folder is in place.
func commitDir(tmp, dir string) error {
	if err := os.Chmod(tmp, 0o755); err != nil {
		return err
	}
	var old string
	if _, err := os.Lstat(dir); err == nil {
		old = tmp + ".old"
		if err := os.Rename(dir, old); err != nil {
			return fmt.Errorf("moving the existing %s aside: %w", dir, err)
		}
	}
	if err := os.Rename(tmp, dir); err != nil {
		if old != "" {
			os.Rename(old, dir)
		}
		return fmt.Errorf("moving the release into %s: %w", dir, err)
	}
	forgetTempDir(tmp)
	if old != "" {
		if err := os.RemoveAll(old); err != nil {
			return fmt.Errorf("release is in %s, but removing the previous folder %s failed: %w", dir, old, err)
		}
	}
	return nil
}

// writeSmall writes a small file of the release.
func writeSmall(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// repoOrPlaceholder is the repository id of the upload command.
func repoOrPlaceholder(m *Manifest) string {
	if m.Repo != "" {
		return m.Repo
	}
	name := m.Models[0].Name + "-GGUF"
	if len(m.BaseModel) > 0 {
		_, n, _ := strings.Cut(m.BaseModel[0], "/")
		name = n + "-GGUF"
	}
	return "YOUR-ORG/" + name
}

// UploadCommand is the Hub CLI command that uploads dir to repo: `hf upload
// REPO_ID LOCAL_PATH PATH_IN_REPO` (huggingface_hub ≥ 1.0; older releases
// spell it `huggingface-cli upload` with the same arguments).
func UploadCommand(repo, dir string) string {
	return "hf upload " + shellQuote(repo) + " " + shellQuote(dir) + " ."
}

// shellQuote quotes s for a POSIX shell when needed.
func shellQuote(s string) string {
	safe := s != ""
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./+=:@,", r)) {
			safe = false
			break
		}
	}
	if safe {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
