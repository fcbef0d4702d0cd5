//go:build !linux

package quant

import "github.com/gguftool/gguftool/gguf"

// releaseSource is a no-op where the page-dropping advice is not used.
func releaseSource(*gguf.File, *gguf.TensorInfo, int64, int64) {}
