package main

import "testing"

// helpPending lists commands whose help still lacks examples; their files
// are being rewritten by their owner (reported), so they are exempt here
// until then. Remove an entry once its command has Example text.
var helpPending = map[string]bool{}

// TestEveryCommandHasExamples: every command's --help shows at least one
// example invocation, and every command that only reads has --json.
func TestEveryCommandHasExamples(t *testing.T) {
	readOnly := map[string]bool{"inspect": true, "plan": true, "tokenize": true, "detokenize": true,
		"devices": true, "verify": true, "bench": true, "run": true, "synth": true, "convert": true, "quantize": true}
	for _, c := range newRootCmd().Commands() {
		name := c.Name()
		if name == "help" || name == "completion" {
			continue
		}
		if c.Example == "" && !helpPending[name] {
			t.Errorf("%s --help has no examples", name)
		}
		if readOnly[name] && c.Flags().Lookup("json") == nil {
			t.Errorf("%s has no --json", name)
		}
	}
}
