package main

import (
	"strings"
	"testing"
)

// TestRunAndBenchRefuseBadFlags: out-of-range sampling, context and
// repetition flags are usage errors (exit 2), before any model is read.
func TestRunAndBenchRefuseBadFlags(t *testing.T) {
	model := "../../testdata/fixtures/quant/presets-Q4_K_M.gguf"
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"run", model, "-p", "x", "--temp", "NaN"}, "--temp"},
		{[]string{"run", model, "-p", "x", "--temp", "+Inf"}, "--temp"},
		{[]string{"run", model, "-p", "x", "--top-p", "NaN"}, "--top-p"},
		{[]string{"run", model, "-p", "x", "--top-p", "2"}, "--top-p"},
		{[]string{"run", model, "-p", "x", "--ctx", "-5"}, "--ctx"},
		{[]string{"run", model, "-p", "x", "--ctx", "100000000000"}, "--ctx"},
		{[]string{"bench", model, "--threads", "-1"}, "--threads"},
		{[]string{"bench", model, "-r", "0"}, "--reps"},
		{[]string{"bench", model, "-p", "0", "-n", "0"}, "not both 0"},
	}
	for _, c := range cases {
		_, stderr, code := runCLI(t, c.args...)
		if code != exitUsage || !strings.Contains(stderr, c.want) {
			t.Errorf("%v: exit %d, %q; want exit 2 naming %s", c.args, code, strings.TrimSpace(stderr), c.want)
		}
	}
}
