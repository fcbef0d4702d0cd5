package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/gguftool/gguftool/gguf"
	"github.com/gguftool/gguftool/runtime/tokenizer"
	"github.com/spf13/cobra"
)

type tokenizeOptions struct {
	json, noSpecial, noBOS, ids, showCount, noEscape bool
	file                                             string
}

func init() { register(newTokenizeCmd) }

func newTokenizeCmd() *cobra.Command {
	var opts tokenizeOptions
	cmd := &cobra.Command{
		Use:   "tokenize MODEL [TEXT]",
		Short: "Print the token ids (and pieces) of a text, as llama-tokenize does",
		Long: `Tokenize TEXT (or the file given with --file) with the tokenizer stored in the GGUF
file MODEL and print one line per token: the id, right-aligned in 6 columns, and its
piece in quotes, as llama.cpp's llama-tokenize prints them. BOS/EOS are added when the
vocabulary asks for them (tokenizer.ggml.add_bos_token), unless --no-bos. Special
tokens written in the text (<|start|>, <s>...) become their ids unless --no-special.
Escapes (\n, \t, \\, \") in TEXT are processed unless --no-escape; --file is read
verbatim, and --file - reads standard input.`,
		Example: `  gguftool tokenize gpt-oss-20b.gguf 'Hello world'
  gguftool tokenize model.gguf '<|start|>user<|message|>Hi<|end|>' --ids
  gguftool tokenize model.gguf --file prompt.txt --json`,
		Args: func(cmd *cobra.Command, args []string) error {
			if opts.file != "" {
				return exactArgs(1)(cmd, args)
			}
			return exactArgs(2)(cmd, args)
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			text := ""
			if opts.file != "" {
				var b []byte
				var err error
				if opts.file == "-" {
					b, err = io.ReadAll(cmd.InOrStdin())
				} else {
					b, err = os.ReadFile(opts.file)
				}
				if err != nil {
					return err
				}
				text = string(b)
			} else {
				text = args[1]
				if !opts.noEscape {
					text = processEscapes(text)
				}
			}
			tok, err := loadTokenizer(args[0])
			if err != nil {
				return err
			}
			ids := tok.Encode(text, !opts.noBOS, !opts.noSpecial)
			w := bufio.NewWriter(cmd.OutOrStdout())
			defer w.Flush()
			if opts.json {
				return writeJSON(w, tokenizeJSON(tok, ids))
			}
			printTokens(w, tok, ids, opts.ids)
			if opts.showCount {
				fmt.Fprintf(w, "Total number of tokens: %d\n", len(ids))
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.BoolVar(&opts.json, "json", false, "print one JSON object: ids and tokens (id, piece, stored text, type)")
	f.BoolVar(&opts.noSpecial, "no-special", false, "tokenize special-token text as plain text")
	f.BoolVar(&opts.noBOS, "no-bos", false, "do not add the BOS/EOS tokens the vocabulary asks for")
	f.BoolVar(&opts.ids, "ids", false, "print only the ids, as a list [1, 2, 3]")
	f.BoolVar(&opts.showCount, "show-count", false, "print the number of tokens at the end")
	f.BoolVar(&opts.noEscape, "no-escape", false, "take TEXT literally (no \\n, \\t... escapes)")
	f.StringVarP(&opts.file, "file", "f", "", "read the text from this file instead of TEXT (- for standard input)")
	return cmd
}

// loadTokenizer builds the tokenizer of a GGUF model (any split shard).
func loadTokenizer(path string) (*tokenizer.Tokenizer, error) {
	f, err := gguf.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	tok, err := tokenizer.FromGGUF(f.Metadata)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return tok, nil
}

// printTokens writes llama-tokenize's output: "[1, 2]" with ids, else one
// "%6d -> 'piece'" line per token; a piece that is not valid UTF-8 on its
// own (part of a multi-byte character) is printed as \x escapes.
func printTokens(w io.Writer, tok *tokenizer.Tokenizer, ids []int32, idsOnly bool) {
	if idsOnly {
		parts := make([]string, len(ids))
		for i, id := range ids {
			parts[i] = strconv.Itoa(int(id))
		}
		fmt.Fprintf(w, "[%s]\n", strings.Join(parts, ", "))
		return
	}
	for _, id := range ids {
		p := tok.TokenPiece(id)
		if utf8.ValidString(p) {
			fmt.Fprintf(w, "%6d -> '%s'\n", id, p)
			continue
		}
		var sb strings.Builder
		for i := 0; i < len(p); i++ {
			fmt.Fprintf(&sb, "\\x%02x", p[i])
		}
		fmt.Fprintf(w, "%6d -> '%s' (utf-8 decode failure)\n", id, sb.String())
	}
}

type tokenJSON struct {
	ID    int32  `json:"id"`
	Piece string `json:"piece"`
	// Bytes is the piece in hex when it is not valid UTF-8 by itself.
	Bytes string `json:"bytes,omitempty"`
	Text  string `json:"text"`
	Type  string `json:"type"`
}

func tokenizeJSON(tok *tokenizer.Tokenizer, ids []int32) any {
	toks := make([]tokenJSON, len(ids))
	for i, id := range ids {
		p := tok.TokenPiece(id)
		toks[i] = tokenJSON{ID: id, Piece: p, Text: tok.TokenText(id), Type: tokenTypeName(tok.TokenType(id))}
		if !utf8.ValidString(p) {
			toks[i].Bytes = fmt.Sprintf("%x", p)
		}
	}
	if ids == nil {
		ids = []int32{}
	}
	return struct {
		Count  int         `json:"count"`
		IDs    []int32     `json:"ids"`
		Tokens []tokenJSON `json:"tokens"`
	}{len(ids), ids, toks}
}

func tokenTypeName(t int32) string {
	switch t {
	case tokenizer.TypeNormal:
		return "normal"
	case tokenizer.TypeUnknown:
		return "unknown"
	case tokenizer.TypeControl:
		return "control"
	case tokenizer.TypeUserDefined:
		return "user_defined"
	case tokenizer.TypeUnused:
		return "unused"
	case tokenizer.TypeByte:
		return "byte"
	}
	return "undefined"
}

// processEscapes turns \n, \t, \r, \\, \', \", \xNN in s into their
// characters, as llama.cpp's string_process_escapes does; other
// backslashes stay.
func processEscapes(s string) string {
	if !strings.Contains(s, "\\") {
		return s
	}
	var b []byte
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' || i+1 >= len(s) {
			b = append(b, s[i])
			continue
		}
		i++
		switch c := s[i]; c {
		case 'n':
			b = append(b, '\n')
		case 't':
			b = append(b, '\t')
		case 'r':
			b = append(b, '\r')
		case '\\', '\'', '"':
			b = append(b, c)
		case 'x':
			if i+2 < len(s) {
				if v, err := strconv.ParseUint(s[i+1:i+3], 16, 8); err == nil {
					b = append(b, byte(v))
					i += 2
					continue
				}
			}
			b = append(b, '\\', c)
		default:
			b = append(b, '\\', c)
		}
	}
	return string(b)
}
