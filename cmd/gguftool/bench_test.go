package main

import (
	"encoding/json"
	"path/filepath"
	"testing"
)

func TestBenchCommand(t *testing.T) {
	model := filepath.Join(t.TempDir(), "m.gguf")
	if _, stderr, code := runCLI(t, "convert", filepath.Join(fixturesDir, "gpt-oss"), "-o", model, "--outtype", "q8_0"); code != exitOK {
		t.Fatalf("convert: exit %d: %s", code, stderr)
	}
	stdout, stderr, code := runCLI(t, "bench", model, "-p", "8", "-n", "4", "-r", "2", "--json")
	if code != exitOK {
		t.Fatalf("bench: exit %d: %s", code, stderr)
	}
	var res benchResult
	if err := json.Unmarshal([]byte(stdout), &res); err != nil {
		t.Fatal(err)
	}
	if len(res.Results) != 2 || res.Results[0].Test != "pp8" || res.Results[1].Test != "tg4" ||
		res.Results[0].TokensPerS <= 0 || res.Results[1].FractionOfBound <= 0 || res.Machine.MemoryReadGBPerS <= 0 {
		t.Errorf("bench result %+v", res)
	}
	// One decoded token reads less than the file (only 2 of 8 experts).
	if res.DecodeBytesPerTok <= 0 || res.DecodeBytesPerTok >= res.ModelBytes {
		t.Errorf("decode bytes per token %d of a %d-byte model", res.DecodeBytesPerTok, res.ModelBytes)
	}
	if _, _, code := runCLI(t, "bench", model, "-r", "0"); code != exitUsage {
		t.Errorf("--reps 0: exit %d", code)
	}
}
