package main

import (
	"math"

	"github.com/spf13/cobra"
)

// cpuMoEFlags are llama.cpp's --n-cpu-moe and --cpu-moe for planning
// (plan, and run/bench with --vram): the experts of the first N layers,
// or of all, stay in CPU memory even where the budget has room for them.
type cpuMoEFlags struct {
	n   int
	all bool
}

func addCPUMoEFlags(cmd *cobra.Command, c *cpuMoEFlags) {
	cmd.Flags().IntVar(&c.n, "n-cpu-moe", 0, "keep the routed experts of the first N layers in CPU memory whatever the budget leaves (llama.cpp's --n-cpu-moe)")
	cmd.Flags().BoolVar(&c.all, "cpu-moe", false, "keep every routed expert in CPU memory (llama.cpp's --cpu-moe)")
}

// layers is planner.Options.CPUMoE (a usage error if bad).
func (c *cpuMoEFlags) layers() (int, error) {
	switch {
	case c.n < 0:
		return 0, usageError("--n-cpu-moe must be ≥ 0, got %d", c.n)
	case c.all && c.n > 0:
		return 0, usageError("--cpu-moe and --n-cpu-moe: give one")
	case c.all:
		return math.MaxInt32, nil
	}
	return c.n, nil
}
