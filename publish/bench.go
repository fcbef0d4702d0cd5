package publish

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
)

// Bench is a `gguftool bench --json` result, kept as given: the card prints
// its figures as they are in the file, never recomputed or rounded.
type Bench struct {
	Raw     json.RawMessage
	Machine []Field  // the machine description, in file order
	Model   string   // the benchmarked model, when the result names it
	Facts   []Field  // the result's other top-level scalars (model bytes...), in file order
	Columns []string // union of the result rows' scalar keys, first-seen order
	Rows    []map[string]string
}

// Field is one key and its value as written in the JSON file.
type Field struct{ Key, Value string }

// ReadBench reads and checks a bench result. It must be a JSON object with a
// machine description ("machine") and at least one result row ("results":
// an array of objects, or "tests").
func ReadBench(path string) (*Bench, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("bench result: %w", err)
	}
	var top map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(&top); err != nil {
		return nil, fmt.Errorf("bench result %s: not a JSON object: %w", path, err)
	}
	b := &Bench{Raw: json.RawMessage(bytes.TrimSpace(data))}
	if m, ok := top["model"]; ok {
		// The file name only: a local path says nothing on the Hub.
		b.Model = filepath.Base(scalarText(m))
	}
	machine, ok := top["machine"]
	if !ok {
		return nil, fmt.Errorf("bench result %s: no \"machine\" description; the card shows figures only with the machine that measured them", path)
	}
	fields, err := orderedFields(machine)
	if err != nil {
		fields = []Field{{"machine", scalarText(machine)}}
	}
	for _, f := range fields {
		if f.Value != "" { // null fields (no GPU) say nothing
			b.Machine = append(b.Machine, f)
		}
	}
	if len(b.Machine) == 0 {
		return nil, fmt.Errorf("bench result %s: \"machine\" is empty", path)
	}
	if all, err := orderedFields(b.Raw); err == nil {
		for _, f := range all {
			switch f.Key {
			case "model", "machine", "results", "tests":
				continue
			}
			if v := top[f.Key]; len(v) > 0 && v[0] != '{' && v[0] != '[' && f.Value != "" {
				b.Facts = append(b.Facts, f)
			}
		}
	}
	rows, ok := top["results"]
	if !ok {
		rows, ok = top["tests"]
	}
	if !ok {
		return nil, fmt.Errorf("bench result %s: no \"results\" array", path)
	}
	var list []json.RawMessage
	if err := json.Unmarshal(rows, &list); err != nil || len(list) == 0 {
		return nil, fmt.Errorf("bench result %s: \"results\" must be a non-empty array of objects", path)
	}
	seen := map[string]bool{}
	for i, r := range list {
		fields, err := orderedFields(r)
		if err != nil {
			return nil, fmt.Errorf("bench result %s: result %d: %w", path, i, err)
		}
		row := map[string]string{}
		for _, f := range fields {
			if !seen[f.Key] {
				seen[f.Key] = true
				b.Columns = append(b.Columns, f.Key)
			}
			row[f.Key] = f.Value
		}
		b.Rows = append(b.Rows, row)
	}
	return b, nil
}

// orderedFields returns an object's scalar members in file order; nested
// objects and arrays are shown as their compact JSON.
func orderedFields(raw json.RawMessage) ([]Field, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, fmt.Errorf("expected an object")
	}
	var out []Field
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			return nil, err
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, err
		}
		out = append(out, Field{k.(string), scalarText(v)})
	}
	return out, nil
}

// scalarText prints a JSON value as the card shows it: strings unquoted,
// numbers exactly as written, anything else as compact JSON.
func scalarText(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	var s string
	if len(raw) > 0 && raw[0] == '"' && json.Unmarshal(raw, &s) == nil {
		return s
	}
	if string(raw) == "null" {
		return ""
	}
	var buf bytes.Buffer
	if json.Compact(&buf, raw) == nil {
		return buf.String()
	}
	return string(raw)
}
