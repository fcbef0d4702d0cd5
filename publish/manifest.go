package publish

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
)

// ManifestSchema names the version of manifest.json's layout.
const ManifestSchema = "gguftool.publish/v1"

// Manifest is manifest.json: everything the card says, machine-readable.
type Manifest struct {
	Schema          string          `json:"schema"`
	GGUFToolVersion string          `json:"gguftool_version"`
	Repo            string          `json:"repo,omitempty"`
	BaseModel       []string        `json:"base_model,omitempty"`
	License         string          `json:"license,omitempty"`
	Source          *Source         `json:"source,omitempty"`
	SplitMaxSize    int64           `json:"split_max_size"`
	Contexts        []int           `json:"contexts"`
	Models          []*Model        `json:"models"`
	Bench           json.RawMessage `json:"bench,omitempty"`
}

// encodeManifest renders manifest.json.
func encodeManifest(m *Manifest) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(m); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// encodeSums renders SHA256SUMS in sha256sum's text format, which
// `sha256sum -c SHA256SUMS` checks.
func encodeSums(files []FileEntry) []byte {
	var b strings.Builder
	for _, f := range files {
		fmt.Fprintf(&b, "%s  %s\n", f.SHA256, f.Name)
	}
	return []byte(b.String())
}

var sumLine = regexp.MustCompile(`^([0-9a-fA-F]{64}) [ *](.+)$`)

// SumEntry is one line of SHA256SUMS.
type SumEntry struct {
	Name   string
	SHA256 string
}

// badSumLine is a SHA256SUMS line parseSums could not read.
type badSumLine struct {
	Line int
	Msg  string // what is wrong, naming the line
	Name string // the file the line seems to be about ("" unknown)
}

// parseSums reads SHA256SUMS. A malformed line does not stop it: the good
// lines are still returned, so that one bad line is reported as itself
// rather than as every file it would have listed going unchecked.
func parseSums(data []byte) ([]SumEntry, []badSumLine) {
	var out []SumEntry
	var bad []badSumLine
	sc := bufio.NewScanner(bytes.NewReader(data))
	n := 1
	for ; sc.Scan(); n++ {
		line := strings.TrimRight(sc.Text(), "\r")
		if strings.TrimSpace(line) == "" {
			continue
		}
		m := sumLine.FindStringSubmatch(line)
		if m == nil {
			// Guess the file from the last field (sha256sum's layout), so
			// that verify does not also call it unlisted.
			var name string
			if f := strings.Fields(line); len(f) > 1 {
				name = strings.TrimPrefix(f[len(f)-1], "*")
			}
			bad = append(bad, badSumLine{n, fmt.Sprintf("line %d: expected '<sha256>  <file>', got %q", n, line), name})
			continue
		}
		name := m[2]
		if strings.ContainsAny(name, `/\`) || name == "." || name == ".." {
			bad = append(bad, badSumLine{n, fmt.Sprintf("line %d: %q is not a file of the release folder", n, name), ""})
			continue
		}
		out = append(out, SumEntry{Name: name, SHA256: strings.ToLower(m[1])})
	}
	if err := sc.Err(); err != nil {
		bad = append(bad, badSumLine{n, fmt.Sprintf("line %d: %v", n, err), ""})
	}
	return out, bad
}
