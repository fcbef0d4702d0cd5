package publish

import (
	"os"
	"sync"
)

// Temporary release folders in progress, so that an interrupted process can
// remove them (internal/atomicfile's signal handler only knows files).
var (
	cleanupMu sync.Mutex
	liveDirs  = map[string]bool{}
)

func forgetTempDir(dir string) {
	cleanupMu.Lock()
	delete(liveDirs, dir)
	cleanupMu.Unlock()
}

// RemoveTempDirs removes the temporary folders of every Publish in
// progress. A signal handler calls it before the process exits; Publish
// itself removes its folder on every error and on cancellation.
func RemoveTempDirs() {
	cleanupMu.Lock()
	defer cleanupMu.Unlock()
	for d := range liveDirs {
		os.RemoveAll(d)
		delete(liveDirs, d)
	}
}
