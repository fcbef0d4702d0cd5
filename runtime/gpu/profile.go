package gpu

import "github.com/gguftool/gguftool/cuda/ops"

// StartProfile times every later kernel launch and marked copy on this
// backend until StopProfile (ops.Kernels.StartProfile).
func (b *Backend) StartProfile() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.k.StartProfile()
}

// StopProfile returns the GPU time per kernel since StartProfile.
func (b *Backend) StopProfile() (ops.Profile, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.k.StopProfile()
}
