package convert

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"strings"
)

// config is a model's config.json, read the way llama.cpp's converter
// reads its hparams: lookups by alias lists, where a key that is present
// with a null value counts as absent for optional keys.
type config struct {
	path string
	m    map[string]any // numbers are json.Number
}

func readConfig(path string) (*config, error) {
	m, err := readJSONMap(path)
	if err != nil {
		return nil, err
	}
	return &config{path: path, m: m}, nil
}

// readJSONMap decodes a JSON object keeping numbers exact.
func readJSONMap(path string) (map[string]any, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if m == nil {
		return nil, fmt.Errorf("%s: expected a JSON object", path)
	}
	return m, nil
}

// get returns the value of key, nil when absent or null.
func (c *config) get(key string) any { return c.m[key] }

// has reports whether key is present with a non-null value.
func (c *config) has(key string) bool { return c.m[key] != nil }

// find returns the first of keys present in the config (as find_hparam
// does; the value may be null) and its value.
func (c *config) find(keys ...string) (string, any, bool) {
	for _, k := range keys {
		if v, ok := c.m[k]; ok {
			return k, v, true
		}
	}
	return "", nil, false
}

func (c *config) errf(key, format string, args ...any) error {
	return fmt.Errorf("%s: %q %s", c.path, key, fmt.Sprintf(format, args...))
}

// asInt converts a JSON number holding an integer.
func asInt(v any) (int64, bool) {
	switch x := v.(type) {
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return i, true
		}
		if f, err := x.Float64(); err == nil && f == math.Trunc(f) && math.Abs(f) < 1<<53 {
			return int64(f), true
		}
	case float64:
		if x == math.Trunc(x) {
			return int64(x), true
		}
	case int64:
		return x, true
	case int:
		return int64(x), true
	}
	return 0, false
}

// asFloat converts a JSON number.
func asFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case json.Number:
		f, err := x.Float64()
		return f, err == nil
	case float64:
		return x, true
	case int64:
		return float64(x), true
	case int:
		return float64(x), true
	}
	return 0, false
}

// optInt returns the first of keys holding a non-null value; an error if
// that value is not an integer.
func (c *config) optInt(keys ...string) (int64, bool, error) {
	k, v, ok := c.find(keys...)
	if !ok || v == nil {
		return 0, false, nil
	}
	i, ok := asInt(v)
	if !ok {
		return 0, false, c.errf(k, "must be an integer, got %v", v)
	}
	return i, true, nil
}

// reqInt is optInt for keys that must be present; the result must also be
// a sensible count (>= 0).
func (c *config) reqInt(keys ...string) (int64, error) {
	i, ok, err := c.optInt(keys...)
	if err != nil {
		return 0, err
	}
	if !ok {
		return 0, fmt.Errorf("%s: missing %s", c.path, strings.Join(quoteAll(keys), " or "))
	}
	if i < 0 {
		k, _, _ := c.find(keys...) // name the key the file has, not the first alias
		return 0, c.errf(k, "must not be negative, got %d", i)
	}
	return i, nil
}

func (c *config) optFloat(keys ...string) (float64, bool, error) {
	k, v, ok := c.find(keys...)
	if !ok || v == nil {
		return 0, false, nil
	}
	f, ok := asFloat(v)
	if !ok {
		return 0, false, c.errf(k, "must be a number, got %v", v)
	}
	return f, true, nil
}

func (c *config) optString(key string) (string, bool) {
	s, ok := c.m[key].(string)
	return s, ok
}

func (c *config) optBool(key string) (bool, bool) {
	b, ok := c.m[key].(bool)
	return b, ok
}

// rope returns the rope parameters as transformers normalizes them:
// rope_scaling (or rope_parameters) with rope_type (from "type" if needed)
// and rope_theta.
func (c *config) rope() map[string]any {
	out := map[string]any{}
	for _, key := range []string{"rope_scaling", "rope_parameters"} {
		if m, ok := c.m[key].(map[string]any); ok {
			if full, ok := m["full_attention"].(map[string]any); ok {
				m = full
			}
			for k, v := range m {
				out[k] = v
			}
		}
	}
	if _, ok := out["rope_type"]; !ok {
		if t, ok := out["type"]; ok {
			out["rope_type"] = t
		}
	}
	if _, ok := out["rope_theta"]; !ok {
		if t, ok := c.m["rope_theta"]; ok {
			out["rope_theta"] = t
		}
	}
	return out
}

// floatList reads a JSON array of numbers.
func floatList(v any) ([]float64, bool) {
	xs, ok := v.([]any)
	if !ok {
		return nil, false
	}
	out := make([]float64, len(xs))
	for i, x := range xs {
		f, ok := asFloat(x)
		if !ok {
			return nil, false
		}
		out[i] = f
	}
	return out, true
}

func quoteAll(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = fmt.Sprintf("%q", s)
	}
	return out
}
