package publish

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// tampered publishes a fresh split release, applies change to it and
// returns verify's problems.
func tampered(t *testing.T, change func(dir string, m *Manifest)) []Problem {
	t.Helper()
	dir, res := publishTo(t, Options{Models: quantFixtures[1:], SplitMaxSize: 1_000_000})
	if r := mustVerify(t, dir); !r.OK() {
		t.Fatalf("fresh release: %v", r.Problems)
	}
	change(dir, res.Manifest)
	r := mustVerify(t, dir)
	if r.OK() {
		t.Fatal("verify found nothing wrong")
	}
	return r.Problems
}

func expectProblem(t *testing.T, problems []Problem, file, msg string) {
	t.Helper()
	for _, p := range problems {
		if p.File == file && strings.Contains(p.Msg, msg) {
			return
		}
	}
	t.Errorf("no problem %q about %s among:\n%v", msg, file, problems)
}

func rewrite(t *testing.T, path string, edit func(string) string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	out := edit(string(b))
	if out == string(b) {
		t.Fatalf("%s: edit changed nothing", path)
	}
	if err := os.WriteFile(path, []byte(out), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestVerifyChangedByte(t *testing.T) {
	problems := tampered(t, func(dir string, m *Manifest) {
		name := m.Models[0].Files[1].Name
		path := filepath.Join(dir, name)
		b, _ := os.ReadFile(path)
		b[len(b)-100] ^= 1 // inside tensor data: the file still parses
		os.WriteFile(path, b, 0o644)
	})
	expectProblem(t, problems, "presets-Q4_K_M-00002-of-00002.gguf", "SHA256SUMS says")
	expectProblem(t, problems, "README.md", "presets-Q4_K_M-00002-of-00002.gguf has sha256")
	expectProblem(t, problems, "manifest.json", "presets-Q4_K_M-00002-of-00002.gguf has sha256")
}

func TestVerifyMissingShard(t *testing.T) {
	problems := tampered(t, func(dir string, m *Manifest) {
		os.Remove(filepath.Join(dir, m.Models[1].Files[0].Name))
	})
	expectProblem(t, problems, "presets-MXFP4_MOE-00001-of-00003.gguf", "listed in SHA256SUMS but missing")
	expectProblem(t, problems, "presets-MXFP4_MOE-00001-of-00003.gguf", "shard 1 of 3 of presets-MXFP4_MOE is missing")
}

func TestVerifyEditedCard(t *testing.T) {
	problems := tampered(t, func(dir string, m *Manifest) {
		f := m.Models[0].Files[0]
		rewrite(t, filepath.Join(dir, "README.md"), func(s string) string {
			s = strings.Replace(s, "| "+itoa(f.Size)+" |", "| "+itoa(f.Size+1)+" |", 1)
			return strings.Replace(s, "`"+m.Models[1].Files[2].Name+"` | MXFP4_MOE", "`"+m.Models[1].Files[2].Name+"` | Q8_0", 1)
		})
	})
	expectProblem(t, problems, "README.md", "presets-Q4_K_M-00001-of-00002.gguf is 943713 bytes; the file is 943712")
	expectProblem(t, problems, "README.md", "presets-MXFP4_MOE-00003-of-00003.gguf is Q8_0, manifest.json says MXFP4_MOE")

	problems = tampered(t, func(dir string, m *Manifest) {
		rewrite(t, filepath.Join(dir, "README.md"), func(s string) string {
			i := strings.Index(s, "| `presets-MXFP4_MOE-00002")
			j := i + strings.Index(s[i:], "\n") + 1
			return s[:i] + s[j:]
		})
	})
	expectProblem(t, problems, "README.md", "file table does not list presets-MXFP4_MOE-00002-of-00003.gguf")

	problems = tampered(t, func(dir string, m *Manifest) {
		rewrite(t, filepath.Join(dir, "README.md"), func(s string) string { return strings.Replace(s, filesBegin, "", 1) })
	})
	expectProblem(t, problems, "README.md", "file table not found")
}

func TestVerifyManifestAndSums(t *testing.T) {
	problems := tampered(t, func(dir string, m *Manifest) {
		rewrite(t, filepath.Join(dir, "manifest.json"), func(s string) string {
			return strings.Replace(s, m.Models[1].Files[1].SHA256, strings.Repeat("0", 64), 1)
		})
	})
	expectProblem(t, problems, "manifest.json", "presets-MXFP4_MOE-00002-of-00003.gguf has sha256 "+strings.Repeat("0", 64))

	problems = tampered(t, func(dir string, m *Manifest) {
		rewrite(t, filepath.Join(dir, "SHA256SUMS"), func(s string) string {
			return strings.Replace(s, m.Models[0].Files[0].SHA256, strings.Repeat("f", 64), 1)
		})
	})
	expectProblem(t, problems, "presets-Q4_K_M-00001-of-00002.gguf", "SHA256SUMS says "+strings.Repeat("f", 64))

	// A stray shard of another split, and a model file nobody listed.
	problems = tampered(t, func(dir string, m *Manifest) {
		b, _ := os.ReadFile(filepath.Join(dir, m.Models[0].Files[0].Name))
		os.WriteFile(filepath.Join(dir, "presets-Q4_K_M-00001-of-00005.gguf"), b, 0o644)
	})
	expectProblem(t, problems, "presets-Q4_K_M-00001-of-00005.gguf", "not listed in SHA256SUMS")
	expectProblem(t, problems, "presets-Q4_K_M-00001-of-00005.gguf", "split.count is 2, expected 5")
	expectProblem(t, problems, "presets-Q4_K_M-00002-of-00005.gguf", "shard 2 of 5")

	problems = tampered(t, func(dir string, m *Manifest) { os.Remove(filepath.Join(dir, "SHA256SUMS")) })
	expectProblem(t, problems, "SHA256SUMS", "cannot read")
	if len(problems) != 1 {
		t.Errorf("a missing SHA256SUMS should be the only problem, got:\n%v", problems)
	}
}

// TestVerifyBadSumsLine: one malformed SHA256SUMS line is reported as such,
// once, and the rest of the list and the other files are still checked;
// it does not cascade into "missing" or "not listed" problems about files
// that are present and fine.
func TestVerifyBadSumsLine(t *testing.T) {
	var bad string
	problems := tampered(t, func(dir string, m *Manifest) {
		bad = m.Models[1].Files[1].Name
		rewrite(t, filepath.Join(dir, "SHA256SUMS"), func(s string) string {
			sha := m.Models[1].Files[1].SHA256
			return strings.Replace(s, sha+"  ", sha[:60]+"  ", 1) // a truncated hash
		})
	})
	expectProblem(t, problems, "SHA256SUMS", "line 4: expected '<sha256>  <file>'")
	expectProblem(t, problems, "SHA256SUMS", bad)
	if len(problems) != 1 {
		t.Errorf("one bad line should be one problem, got:\n%v", problems)
	}

	// The lines after a bad one are still checked, and so is the file the
	// bad line was about (against manifest.json and the card).
	problems = tampered(t, func(dir string, m *Manifest) {
		rewrite(t, filepath.Join(dir, "SHA256SUMS"), func(s string) string {
			return "garbage\n" + strings.Replace(s, m.Models[1].Files[2].SHA256, strings.Repeat("f", 64), 1)
		})
		path := filepath.Join(dir, m.Models[0].Files[0].Name)
		b, _ := os.ReadFile(path)
		rewrite(t, filepath.Join(dir, "SHA256SUMS"), func(s string) string {
			return strings.Replace(s, m.Models[0].Files[0].SHA256+"  ", "x  ", 1)
		})
		b[len(b)-100] ^= 1
		os.WriteFile(path, b, 0o644)
	})
	expectProblem(t, problems, "SHA256SUMS", `line 1: expected '<sha256>  <file>', got "garbage"`)
	expectProblem(t, problems, "SHA256SUMS", "line 2: expected")
	expectProblem(t, problems, "presets-MXFP4_MOE-00003-of-00003.gguf", "SHA256SUMS says "+strings.Repeat("f", 64))
	expectProblem(t, problems, "manifest.json", "presets-Q4_K_M-00001-of-00002.gguf has sha256")
	expectProblem(t, problems, "README.md", "presets-Q4_K_M-00001-of-00002.gguf has sha256")
	for _, p := range problems {
		if strings.Contains(p.Msg, "missing") || strings.Contains(p.Msg, "not listed") || strings.Contains(p.Msg, "does not list") {
			t.Errorf("cascading problem: %v", p)
		}
	}
}

// TestVerifyShardKeys: a shard whose split keys lie is caught even when the
// checksums were recomputed to match.
func TestVerifyShardKeys(t *testing.T) {
	problems := tampered(t, func(dir string, m *Manifest) {
		// Swap two shards' contents under each other's names and fix every
		// checksum table: only the split keys can tell.
		a := filepath.Join(dir, m.Models[1].Files[0].Name)
		b := filepath.Join(dir, m.Models[1].Files[1].Name)
		da, _ := os.ReadFile(a)
		db, _ := os.ReadFile(b)
		os.WriteFile(a, db, 0o644)
		os.WriteFile(b, da, 0o644)
		fa, fb := m.Models[1].Files[0], m.Models[1].Files[1]
		for _, name := range []string{"SHA256SUMS", "README.md", "manifest.json"} {
			rewrite(t, filepath.Join(dir, name), func(s string) string {
				s = strings.ReplaceAll(s, fa.SHA256, "@SHA@")
				s = strings.ReplaceAll(s, fb.SHA256, fa.SHA256)
				s = strings.ReplaceAll(s, "@SHA@", fb.SHA256)
				s = strings.ReplaceAll(s, itoa(fa.Size), "@SIZE@")
				s = strings.ReplaceAll(s, itoa(fb.Size), itoa(fa.Size))
				return strings.ReplaceAll(s, "@SIZE@", itoa(fb.Size))
			})
		}
	})
	for _, p := range problems {
		if strings.Contains(p.Msg, "sha256") || strings.Contains(p.Msg, "bytes") {
			t.Errorf("checksum problem although the tables were fixed: %v", p)
		}
	}
	expectProblem(t, problems, "presets-MXFP4_MOE-00001-of-00003.gguf", "split.no is 1, expected 0")
	expectProblem(t, problems, "presets-MXFP4_MOE-00002-of-00003.gguf", "split.no is 0, expected 1")
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
