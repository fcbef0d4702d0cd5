package atomicfile

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCreateRefusesNonFiles: a directory, a device or a missing parent
// directory get an error naming the output path (not the temporary file's
// name) and saying what is wrong; --force never replaces a device node or a
// directory (as root, renaming over /dev/null would replace the device).
func TestCreateRefusesNonFiles(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		path  string
		force bool
		want  string
	}{
		{dir, false, "is a directory"},
		{dir, true, "is a directory"},
		{os.DevNull, true, "not a regular file"},
		{os.DevNull, false, "not a regular file"},
		{filepath.Join(dir, "nodir", "x.gguf"), false, "directory " + filepath.Join(dir, "nodir") + " does not exist"},
	} {
		f, err := Create(tc.path, tc.force)
		if err == nil {
			f.Abort()
			t.Errorf("Create(%s, force=%v) succeeded", tc.path, tc.force)
			continue
		}
		if msg := err.Error(); !strings.Contains(msg, tc.want) || !strings.HasPrefix(msg, tc.path) || strings.Contains(msg, ".tmp-") {
			t.Errorf("Create(%s, force=%v): %q, want %q about %s", tc.path, tc.force, msg, tc.want, tc.path)
		}
	}
}
