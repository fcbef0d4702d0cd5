// Command gguftool converts, quantizes, inspects, plans and runs
// Mixture-of-Experts models in GGUF format.
//
// Exit codes:
//
//	0  success
//	1  error: bad input, failed check, I/O error
//	2  usage error: unknown command or flag, missing argument
//	3  infeasible: the model does not fit the given budget (plan, run/bench --vram, demo)
//	130 interrupted (SIGINT/SIGTERM); partial outputs are removed
package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/gguftool/gguftool/internal/atomicfile"
	"github.com/spf13/cobra"
)

// Exit codes, documented in the package comment and the README.
const (
	exitOK         = 0
	exitError      = 1
	exitUsage      = 2
	exitInfeasible = 3
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "0.1.0-dev"

// exitError carries a specific exit code up to main.
type codedError struct {
	code int
	err  error
}

func (e *codedError) Error() string { return e.err.Error() }
func (e *codedError) Unwrap() error { return e.err }

// withCode wraps err so that main exits with code.
func withCode(code int, err error) error {
	if err == nil {
		return nil
	}
	return &codedError{code, err}
}

// usageError marks a command-line mistake (exit code 2).
func usageError(format string, args ...any) error {
	return withCode(exitUsage, fmt.Errorf(format, args...))
}

// commands holds the constructors registered by each command's file.
var commands []func() *cobra.Command

func register(newCmd func() *cobra.Command) { commands = append(commands, newCmd) }

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "gguftool",
		Short: "Convert, quantize, plan and run Mixture-of-Experts models as GGUF",
		Long: `gguftool makes large Mixture-of-Experts models (GPT-OSS, Phi-3.5-MoE, DeepSeek-MoE,
DeepSeek-V2) run on small GPUs: it converts safetensors checkpoints to GGUF exactly as
llama.cpp does, quantizes them bit-exactly, plans which tensors live on the GPU under a
VRAM budget, and runs them with attention on the GPU and experts on the CPU.`,
		Version:       version,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return withCode(exitUsage, err)
	})
	for _, newCmd := range commands {
		root.AddCommand(newCmd())
	}
	return root
}

func run(args []string) int {
	atomicfile.RemoveOnSignal()
	root := newRootCmd()
	root.SetArgs(args)
	err := root.Execute()
	if err == nil {
		return exitOK
	}
	fmt.Fprintln(os.Stderr, "gguftool:", err)
	return exitCode(err)
}

// exitCode maps an error returned by a command to the process exit code.
func exitCode(err error) int {
	var ce *codedError
	if errors.As(err, &ce) {
		return ce.code
	}
	if isCobraUsageError(err) {
		return exitUsage
	}
	return exitError
}

func main() { os.Exit(run(os.Args[1:])) }
