package main

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
)

type detokenizeOptions struct {
	json, skipSpecial bool
}

func init() { register(newDetokenizeCmd) }

func newDetokenizeCmd() *cobra.Command {
	var opts detokenizeOptions
	cmd := &cobra.Command{
		Use:   "detokenize MODEL IDS...",
		Short: "Print the text of token ids",
		Long: `Decode token ids with the tokenizer stored in the GGUF file MODEL and print the
text followed by a newline (--json prints {"text": ...} exactly). IDS are integers
separated by commas and/or spaces, in one or several arguments; brackets are allowed,
so the output of 'gguftool tokenize --ids' can be pasted. Control tokens (BOS, <|end|>...)
are printed as their text unless --skip-special.`,
		Example: `  gguftool detokenize model.gguf 13225 2375
  gguftool detokenize model.gguf '[200006, 1428, 200008, 12194]' --json`,
		Args: minArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			ids, err := parseIDs(strings.Join(args[1:], " "))
			if err != nil {
				return err
			}
			tok, err := loadTokenizer(args[0])
			if err != nil {
				return err
			}
			// An id past the end is well-formed input that this model
			// cannot decode: an error about the model (exit 1), as in run
			// --tokens, not a usage error.
			for _, id := range ids {
				if int(id) >= tok.VocabSize() {
					return fmt.Errorf("token id %d is outside the vocabulary of %s (%d tokens)", id, args[0], tok.VocabSize())
				}
			}
			if opts.skipSpecial {
				kept := ids[:0]
				for _, id := range ids {
					if !tok.IsControl(id) {
						kept = append(kept, id)
					}
				}
				ids = kept
			}
			text := tok.Decode(ids)
			if opts.json {
				return writeJSON(cmd.OutOrStdout(), struct {
					Text string `json:"text"`
				}{text})
			}
			_, err = fmt.Fprintln(cmd.OutOrStdout(), text)
			return err
		},
	}
	cmd.Flags().BoolVar(&opts.json, "json", false, `print {"text": ...}`)
	cmd.Flags().BoolVar(&opts.skipSpecial, "skip-special", false, "leave control tokens out")
	return cmd
}

// parseIDs reads "1, 2 3", "[1, 2, 3]" and the like.
func parseIDs(s string) ([]int32, error) {
	fields := strings.FieldsFunc(s, func(r rune) bool {
		return r == ',' || r == ' ' || r == '\t' || r == '\n' || r == '[' || r == ']'
	})
	if len(fields) == 0 {
		return nil, usageError("no token ids given")
	}
	ids := make([]int32, len(fields))
	for i, f := range fields {
		v, err := strconv.ParseInt(f, 10, 32)
		if err != nil {
			return nil, usageError("token id %q is not an integer", f)
		}
		if v < 0 {
			// No model has negative ids: bad usage whatever the model.
			return nil, usageError("token id %q is negative", f)
		}
		ids[i] = int32(v)
	}
	return ids, nil
}
