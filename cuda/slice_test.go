package cuda

import (
	"strings"
	"testing"
)

// TestBufferSlice: a view addresses its part of the allocation, is bounds
// checked, and freeing it leaves the allocation alive.
func TestBufferSlice(t *testing.T) {
	f, c := fakeCtx(t)
	b, err := c.Alloc(4096)
	if err != nil {
		t.Fatal(err)
	}
	v, err := b.Slice(1024, 512)
	if err != nil {
		t.Fatal(err)
	}
	if v.Ptr != b.Ptr+1024 || v.Size != 512 {
		t.Fatalf("view at %#x size %d", uint64(v.Ptr), v.Size)
	}
	if err := v.Upload(0, []byte{7, 8}); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, 2)
	if err := b.Download(1024, got); err != nil || got[0] != 7 || got[1] != 8 {
		t.Fatalf("through the parent: %v %v", got, err)
	}
	if err := v.Upload(511, []byte{1, 2}); err == nil || !strings.Contains(err.Error(), "overruns") {
		t.Errorf("view overrun: %v", err)
	}
	if _, err := b.Slice(4000, 200); err == nil {
		t.Error("slice past the end accepted")
	}
	if err := v.Free(); err != nil || f.LiveAllocations() != 1 {
		t.Fatalf("freeing the view: %v, live %d", err, f.LiveAllocations())
	}
	if err := b.Free(); err != nil || f.LiveAllocations() != 0 {
		t.Fatalf("free: %v, live %d", err, f.LiveAllocations())
	}
}
