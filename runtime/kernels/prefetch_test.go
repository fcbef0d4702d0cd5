package kernels

import "testing"

// TestPrefetch checks that the hint reads nothing it may not: empty,
// unaligned and odd-sized slices, up to the end of an allocation.
func TestPrefetch(t *testing.T) {
	buf := make([]byte, 4096+7)
	for _, r := range [][2]int{{0, 0}, {0, 1}, {3, 3}, {5, 70}, {63, 129}, {4000, len(buf)}, {0, len(buf)}} {
		Prefetch(buf[r[0]:r[1]])
	}
	Prefetch(nil)
}
