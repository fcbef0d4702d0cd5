package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/gguftool/gguftool/internal/atomicfile"
	"github.com/gguftool/gguftool/planner"
	"github.com/gguftool/gguftool/publish"
	"github.com/spf13/cobra"
)

// hubMaxFile is the largest file the HuggingFace Hub stores (50 GB).
const hubMaxFile = 50_000_000_000

// exitInterrupted is the documented exit code of an interrupted run.
const exitInterrupted = 130

type publishOptions struct {
	out, source, baseModel, repo string
	splitMaxSize, bench          string
	force                        bool
}

func init() { register(newPublishCmd) }

func newPublishCmd() *cobra.Command {
	var o publishOptions
	cmd := &cobra.Command{
		Use:   "publish MODEL.gguf [MORE.gguf...] -o DIR",
		Short: "Build a HuggingFace release folder: GGUF files, model card, checksums",
		Long: `Build a folder ready to upload to the HuggingFace Hub:
  - the GGUF files, split into llama.cpp gguf-split shards (NAME-00001-of-0000N.gguf, whole
    tensors per shard) when larger than --split-max-size;
  - README.md, a model card: YAML front matter (license and base_model from --source's README.md
    front matter and config.json, or --base-model; tags; pipeline_tag), the files with their
    quantization, size and sha256, the memory the planner computes at 4k and 32k context
    (VRAM with every expert in CPU memory, VRAM with everything on the GPU, host RAM), how to run
    it (gguftool, llama.cpp flags from the plan, an Ollama Modelfile), how it was made, and
    benchmark figures only when --bench gives a 'gguftool bench --json' result;
  - SHA256SUMS and manifest.json.
The folder is built next to DIR (whose parent folder must exist) and renamed into place when
complete; a failed or interrupted run leaves nothing behind. A non-empty DIR is replaced only with --force, and only when it
holds a previous release (its manifest.json); any other folder is left alone. The command that
uploads the folder with the Hub CLI is printed at the end; nothing is sent anywhere.`,
		Example: `  gguftool publish model-Q4_K_M.gguf model-Q8_0.gguf -o release --source ./gpt-oss-20b
  gguftool publish model.gguf -o release --base-model openai/gpt-oss-20b --split-max-size 2GB
  gguftool verify release`,
		Args: minArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return runPublish(cmd, args, &o) },
	}
	f := cmd.Flags()
	f.StringVarP(&o.out, "output", "o", "", "release folder to create (required)")
	f.StringVar(&o.source, "source", "", "safetensors checkpoint folder the models were converted from")
	f.StringVar(&o.baseModel, "base-model", "", "base model's Hub id ORG/NAME (default: from --source or the GGUF)")
	f.StringVar(&o.repo, "repo", "", "Hub repository ORG/NAME the folder is for (used in the upload command)")
	f.StringVar(&o.splitMaxSize, "split-max-size", "48GB", "largest file; bigger models are split (48GB = 48e9 B; 2GiB or 2G = 2^31 B)")
	f.StringVar(&o.bench, "bench", "", "a 'gguftool bench --json' result to show on the card")
	f.BoolVar(&o.force, "force", false, "replace an output folder that holds a previous release")
	return cmd
}

func runPublish(cmd *cobra.Command, models []string, o *publishOptions) error {
	if o.out == "" {
		return usageError("publish: -o DIR is required")
	}
	for _, id := range []struct{ flag, value string }{{"--base-model", o.baseModel}, {"--repo", o.repo}} {
		if id.value != "" && !publish.IsRepoID(id.value) {
			return usageError("%s %q: expected a Hub repository id ORG/NAME", id.flag, id.value)
		}
	}
	maxSize, err := planner.ParseSize(o.splitMaxSize)
	if err != nil {
		return usageError("--split-max-size: %v", err)
	}
	if maxSize <= 0 {
		return usageError("--split-max-size must be positive, got %q", o.splitMaxSize)
	}
	if maxSize > hubMaxFile {
		fmt.Fprintf(cmd.ErrOrStderr(), "warning: --split-max-size %s is above the Hub's %s limit per file; uploads of larger files fail\n",
			publish.FormatSize(maxSize), publish.FormatSize(hubMaxFile))
	}
	bar := newProgress(-1, "publish")
	defer bar.Close()

	ctx, stop := interruptContext(cmd.Context())
	defer stop()
	res, err := publish.Publish(ctx, publish.Options{
		Models: models, OutDir: o.out, Source: o.source, BaseModel: o.baseModel, Repo: o.repo,
		SplitMaxSize: maxSize, BenchPath: o.bench, Force: o.force, Version: version,
		Planner: cardPlanner(), Progress: func(n int64) { bar.Add64(n) },
		Start: func(total int64) { bar.ChangeMax64(total) },
	})
	bar.Finish()
	if err != nil {
		if errors.Is(err, context.Canceled) {
			return withCode(exitInterrupted, fmt.Errorf("interrupted: nothing was written to %s", o.out))
		}
		return err
	}
	w := cmd.OutOrStdout()
	for _, m := range res.Manifest.Models {
		for _, f := range m.Files {
			fmt.Fprintf(w, "%s  %s  %s\n", f.SHA256, publish.FormatSize(f.Size), f.Name)
		}
	}
	fmt.Fprintf(w, "wrote %s (README.md, manifest.json, SHA256SUMS)\n", res.Dir)
	if res.Manifest.Repo == "" {
		fmt.Fprintln(w, "upload it with the Hub CLI (replace the repository id, or pass --repo):")
	} else {
		fmt.Fprintln(w, "upload it with the Hub CLI:")
	}
	fmt.Fprintln(w, res.UploadCommand)
	return nil
}

// interruptContext is cancelled on SIGINT or SIGTERM. The process-wide
// handler of internal/atomicfile exits at once and knows only files, so
// while the release folder is being built this command takes the signals
// over: Publish stops within one chunk, removes its temporary folder and the
// command exits with 130. stop gives the signals back to atomicfile.
func interruptContext(parent context.Context) (context.Context, func()) {
	if parent == nil {
		parent = context.Background()
	}
	signal.Reset(os.Interrupt, syscall.SIGTERM)
	ctx, cancel := context.WithCancel(parent)
	ch := make(chan os.Signal, 2)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		select {
		case <-ch:
			cancel()
		case <-done:
			return
		}
		select { // a second signal: do not wait for Publish to notice
		case <-ch:
			publish.RemoveTempDirs()
			fmt.Fprintln(os.Stderr, "\ninterrupted: partial output removed")
			os.Exit(exitInterrupted)
		case <-done:
		}
	}()
	return ctx, func() {
		close(done)
		signal.Stop(ch)
		cancel()
		atomicfile.RemoveOnSignal()
	}
}
