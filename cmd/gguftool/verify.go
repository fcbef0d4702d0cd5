package main

import (
	"fmt"

	"github.com/gguftool/gguftool/publish"
	"github.com/spf13/cobra"
)

func init() { register(newVerifyCmd) }

func newVerifyCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "verify DIR",
		Short: "Check a release folder made by publish: checksums, shards, card and manifest",
		Long: `Check a release folder made by 'gguftool publish': re-hash every file listed in SHA256SUMS,
check that every GGUF file is listed, that the shards of each split model are all there and form
the whole model (split.no, split.count, split.tensors.count; the set opens as one model), and that
manifest.json and the model card's file table (names, sizes, sha256) agree with the files.
Prints one line per problem and exits with 1 if there is any.`,
		Example: `  gguftool verify release`,
		Args:    exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			r, err := publish.Verify(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			if asJSON {
				problems := make([]map[string]string, len(r.Problems))
				for i, p := range r.Problems {
					problems[i] = map[string]string{"file": p.File, "problem": p.Msg}
				}
				if err := writeJSON(w, map[string]any{"ok": r.OK(), "files": r.Files, "models": r.Models, "problems": problems}); err != nil {
					return err
				}
			} else {
				for _, p := range r.Problems {
					fmt.Fprintln(w, p)
				}
			}
			if !r.OK() {
				return withCode(exitError, fmt.Errorf("%s: %d problem(s)", args[0], len(r.Problems)))
			}
			if !asJSON {
				fmt.Fprintf(w, "%s: OK (%d files re-hashed, %d models whole)\n", args[0], r.Files, r.Models)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the result as JSON")
	return cmd
}
