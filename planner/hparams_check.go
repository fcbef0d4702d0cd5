package planner

import "fmt"

// checkHParams refuses hyperparameters no model has. The memory model would
// otherwise turn them into a plausible-looking plan (head_count_kv 0 makes a
// KV cache of 0 bytes); the runtimes refuse such files anyway.
func checkHParams(path, a string, hp *HParams, tensors []Tensor) error {
	bad := func(key string, v int, want string) error {
		return fmt.Errorf("%s: %s%s = %d, expected %s", path, a, key, v, want)
	}
	// Per-layer tables are sized by block_count; a tensor of a later layer
	// would index past them.
	for i := range tensors {
		if l := tensors[i].Layer(); l >= hp.Layers {
			return fmt.Errorf("%s: tensor %s is in layer %d, but %sblock_count is %d", path, tensors[i].Name, l, a, hp.Layers)
		}
	}
	if hp.Embd < 1 {
		return bad("embedding_length", hp.Embd, "at least 1")
	}
	for _, kv := range hp.HeadsKV {
		if kv < 1 || kv > int64(hp.Heads) {
			return bad("attention.head_count_kv", int(kv), fmt.Sprintf("1 to attention.head_count (%d)", hp.Heads))
		}
	}
	if hp.KeyLen < 1 {
		return bad("attention.key_length", hp.KeyLen, "at least 1")
	}
	if hp.ValLen < 1 {
		return bad("attention.value_length", hp.ValLen, "at least 1")
	}
	if hp.Experts > 0 && (hp.ExpertsUsed < 1 || hp.ExpertsUsed > hp.Experts) {
		return bad("expert_used_count", hp.ExpertsUsed, fmt.Sprintf("1 to expert_count (%d)", hp.Experts))
	}
	return nil
}
