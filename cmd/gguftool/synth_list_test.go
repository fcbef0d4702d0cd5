package main

import (
	"encoding/json"
	"testing"
)

// TestSynthListJSON: --list is the read-only part of synth and, like every
// read-only command, has --json: one object per preset with its default
// type and exact size.
func TestSynthListJSON(t *testing.T) {
	out, errOut, code := runCLI(t, "synth", "--list", "--json")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var presets []struct {
		Name        string `json:"name"`
		Arch        string `json:"arch"`
		Type        string `json:"type"`
		Bytes       int64  `json:"bytes"`
		Layers      int    `json:"layers"`
		Description string `json:"description"`
	}
	if err := json.Unmarshal([]byte(out), &presets); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	found := false
	for _, p := range presets {
		if p.Name == "" || p.Type == "" || p.Bytes <= 0 || p.Layers <= 0 || p.Arch == "" {
			t.Errorf("incomplete entry %+v", p)
		}
		found = found || p.Name == "gpt-oss-20b" && p.Arch == "gpt-oss" && p.Layers == 24
	}
	if !found {
		t.Errorf("gpt-oss-20b missing or wrong: %s", out)
	}
}
