package tokenizer

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// FuzzEncodeDecode: encoding never panics, ids stay in the vocabulary, and
// decoding gives the text back (byte-level BPE is lossless on any bytes;
// SentencePiece on valid UTF-8).
func FuzzEncodeDecode(f *testing.F) {
	toks := map[string]*Tokenizer{}
	for _, name := range fixtureNames() {
		tok, err := FromGGUF(fixtureMetadata(f, name))
		if err != nil {
			f.Fatal(err)
		}
		toks[name] = tok
	}
	for _, s := range []string{"Hello world", "  \n\n\t x", "日本語 🚀 3333", "I'M 'll", "\xff\xfe", "<|start|>x", "ǅ\u0301a"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for name, tok := range toks {
			for _, parse := range []bool{false, true} {
				ids := tok.Encode(s, true, parse)
				for _, id := range ids {
					if id < 0 || int(id) >= tok.VocabSize() {
						t.Fatalf("%s: id %d out of range", name, id)
					}
				}
				if parse {
					continue
				}
				plain := tok.Encode(s, false, false)
				if tok.Kind() == KindSPM && !utf8.ValidString(s) {
					continue
				}
				if got := tok.Decode(plain); got != s {
					t.Fatalf("%s: Decode(Encode(%q)) = %q", name, s, got)
				}
			}
		}
	})
}

// TestPathologicalInputsAreFast guards against quadratic scans: long
// whitespace runs, long words and many special-token prefixes.
func TestPathologicalInputsAreFast(t *testing.T) {
	inputs := []string{
		strings.Repeat(" ", 200000) + "🚀",
		strings.Repeat("a", 200000),
		strings.Repeat("<|", 100000),
		strings.Repeat("\n \t", 70000),
		strings.Repeat("日", 100000),
	}
	for _, name := range fixtureNames() {
		tok, _ := loadFixture(t, name)
		for _, s := range inputs {
			start := time.Now()
			tok.Encode(s, true, true)
			// Generous: linear work is a few ms; quadratic would be minutes.
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("%s: %d-byte input took %v", name, len(s), d)
			}
		}
	}
}

// BenchmarkEncode measures encoding throughput on the real-tokenizer corpus
// with each fixture vocabulary (bytes of text per second).
func BenchmarkEncode(b *testing.B) {
	var corpus struct {
		Texts []string `json:"texts"`
	}
	readJSON(b, "testdata/corpus.json", &corpus)
	text := strings.Join(corpus.Texts, "\n")
	for _, name := range fixtureNames() {
		tok, _ := loadFixture(b, name)
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(text)))
			for b.Loop() {
				tok.Encode(text, false, true)
			}
		})
	}
}
