package atomicfile

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestCommitAndRefuseExisting(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "out.bin")
	f, err := Create(path, false)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("hello")
	if _, err := os.Stat(path); err == nil {
		t.Fatal("final file visible before Commit")
	}
	if err := f.Commit(); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(path); string(b) != "hello" {
		t.Fatalf("got %q", b)
	}
	if _, err := Create(path, false); !errors.Is(err, ErrExists) {
		t.Fatalf("existing file not refused: %v", err)
	}
	g, err := Create(path, true)
	if err != nil {
		t.Fatal(err)
	}
	g.WriteString("new")
	g.Abort()
	if b, _ := os.ReadFile(path); string(b) != "hello" {
		t.Fatalf("abort touched the existing file: %q", b)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("temporary files left behind: %v", entries)
	}
}
