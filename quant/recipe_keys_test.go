package quant

import (
	"strings"
	"testing"

	"github.com/gguftool/gguftool/gguf"
)

// TestPlanNamesBadBlockCount: a block_count of the wrong type used to be
// read as 0, giving "layer 0 outside [0, 0)"; the error now names the key
// and what it holds.
func TestPlanNamesBadBlockCount(t *testing.T) {
	for _, tc := range []struct {
		v    gguf.Value
		want string
	}{
		{gguf.String("three"), "phimoe.block_count"},
		{gguf.Uint32(0), "phimoe.block_count = 0"},
		{gguf.Uint32(2), "phimoe.block_count = 2"},
	} {
		md, ts := phi35MoE.build()
		md.Set("phimoe.block_count", tc.v)
		_, err := NewRecipe(FtypeQ4_K_M).Plan(md, ts)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("block_count %v: error %v, want one mentioning %q", tc.v, err, tc.want)
		}
	}
}
