package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/gguftool/gguftool/gguf"
	"github.com/spf13/cobra"
)

type inspectOptions struct {
	json bool
	full bool
}

func init() { register(newInspectCmd) }

func newInspectCmd() *cobra.Command {
	var opts inspectOptions
	cmd := &cobra.Command{
		Use:   "inspect FILE",
		Short: "Show a GGUF file's metadata, tensors and size totals",
		Long: `Show a GGUF file's metadata, tensors (name, type, shape, bytes, offset) and totals
by type and by kind (routed-expert tensors *_exps against the rest, per layer).
A shard of a split model (NAME-00001-of-0000N.gguf) is read with all its shards as one model.
Large arrays are summarized unless --full.`,
		Example: `  gguftool inspect model.gguf
  gguftool inspect model.gguf --json | jq '.tensors[] | select(.type=="MXFP4") | .name'`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			f, err := gguf.Open(args[0])
			if err != nil {
				return err
			}
			defer f.Close()
			if opts.json {
				return writeJSON(cmd.OutOrStdout(), inspectJSON(f, opts.full))
			}
			return printInspect(cmd.OutOrStdout(), f, opts.full)
		},
	}
	cmd.Flags().BoolVar(&opts.json, "json", false, "print one JSON object")
	cmd.Flags().BoolVar(&opts.full, "full", false, "print arrays in full")
	return cmd
}

// inspectTensor is the JSON form of a tensor info.
type inspectTensor struct {
	Name   string   `json:"name"`
	Type   string   `json:"type"`
	Ne     []uint64 `json:"ne"`
	Offset uint64   `json:"offset"`
	Size   uint64   `json:"size"`
	Shard  *int     `json:"shard,omitempty"`
}

type inspectOutput struct {
	Version    uint32          `json:"version"`
	Alignment  uint64          `json:"alignment"`
	DataOffset int64           `json:"data_offset"`
	Files      []string        `json:"files,omitempty"`
	Metadata   orderedMetadata `json:"metadata"`
	Tensors    []inspectTensor `json:"tensors"`
}

type keyValue struct {
	key   string
	value any
}

// orderedMetadata marshals as a JSON object whose keys keep the file's order.
type orderedMetadata []keyValue

func (m orderedMetadata) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, kv := range m {
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(kv.key)
		v, err := json.Marshal(kv.value)
		if err != nil {
			return nil, fmt.Errorf("metadata key %q: %w", kv.key, err)
		}
		b.Write(k)
		b.WriteByte(':')
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// summaryLen is the number of array elements shown without --full.
const summaryLen = 8

// arraySummary stands for a long array in the JSON output without --full.
type arraySummary struct {
	Type  string `json:"type"`
	Count int    `json:"count"`
	First []any  `json:"first"`
	Last  []any  `json:"last"`
}

func inspectJSON(f *gguf.File, full bool) inspectOutput {
	out := inspectOutput{
		Version:    f.Version,
		Alignment:  f.Alignment,
		DataOffset: f.DataOffset,
		Tensors:    make([]inspectTensor, 0, len(f.Tensors)),
	}
	if len(f.Shards) > 1 {
		for _, s := range f.Shards {
			out.Files = append(out.Files, s.Path)
		}
	}
	for _, kv := range f.Metadata.KVs() {
		v := kv.Value
		if !full && v.Type() == gguf.ValueArray && v.Len() > 2*summaryLen {
			sub := func(lo, hi int) []any {
				xs := make([]any, 0, hi-lo)
				for i := lo; i < hi; i++ {
					xs = append(xs, v.Index(i))
				}
				return gguf.JSONSafe(xs)
			}
			out.Metadata = append(out.Metadata, keyValue{kv.Key, arraySummary{
				Type:  "ARRAY[" + v.ElemType().String() + "]",
				Count: v.Len(),
				First: sub(0, summaryLen),
				Last:  sub(v.Len()-3, v.Len()),
			}})
			continue
		}
		out.Metadata = append(out.Metadata, keyValue{kv.Key, v})
	}
	for i := range f.Tensors {
		t := &f.Tensors[i]
		it := inspectTensor{Name: t.Name, Type: t.Type.String(), Ne: t.Dims, Offset: t.Offset, Size: t.Size()}
		if it.Ne == nil {
			it.Ne = []uint64{}
		}
		if len(f.Shards) > 1 {
			shard := t.Shard
			it.Shard = &shard
		}
		out.Tensors = append(out.Tensors, it)
	}
	return out
}

func formatValue(v gguf.Value, full bool) string {
	if v.Type() != gguf.ValueArray {
		if s, ok := v.Any().(string); ok {
			return quoteShort(s, full)
		}
		return fmt.Sprint(v.Any())
	}
	n := v.Len()
	var b strings.Builder
	fmt.Fprintf(&b, "[%s × %d] ", v.ElemType(), n)
	shown := n
	if !full && n > summaryLen {
		shown = summaryLen
	}
	b.WriteString("[")
	for i := 0; i < shown; i++ {
		if i > 0 {
			b.WriteString(", ")
		}
		if s, ok := v.Index(i).(string); ok {
			b.WriteString(quoteShort(s, full))
		} else {
			fmt.Fprint(&b, v.Index(i))
		}
	}
	if shown < n {
		fmt.Fprintf(&b, ", … %d more", n-shown)
	}
	b.WriteString("]")
	return b.String()
}

func quoteShort(s string, full bool) string {
	const max = 120
	if !full && len(s) > max {
		return fmt.Sprintf("%q… (%d bytes)", s[:max], len(s))
	}
	return fmt.Sprintf("%q", s)
}

func printInspect(w io.Writer, f *gguf.File, full bool) error {
	fmt.Fprintf(w, "file:       %s\n", f.Path())
	if len(f.Shards) > 1 {
		fmt.Fprintf(w, "shards:     %d\n", len(f.Shards))
	}
	fmt.Fprintf(w, "version:    %d\nalignment:  %d\ndata:       at byte %d\nsize:       %s\n", f.Version, f.Alignment, f.DataOffset, humanBytes(uint64(f.Size())))
	fmt.Fprintf(w, "\nmetadata (%d keys):\n", f.Metadata.Len())
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, kv := range f.Metadata.KVs() {
		typ := kv.Value.Type().String()
		if kv.Value.Type() == gguf.ValueArray {
			typ = "ARRAY"
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", kv.Key, typ, formatValue(kv.Value, full))
	}
	tw.Flush()

	fmt.Fprintf(w, "\ntensors (%d):\n", len(f.Tensors))
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "  name\ttype\tshape\tbytes\toffset\n")
	for i := range f.Tensors {
		t := &f.Tensors[i]
		fmt.Fprintf(tw, "  %s\t%s\t%v\t%d\t%d\n", t.Name, t.Type, t.Dims, t.Size(), t.Offset)
	}
	tw.Flush()
	printTotals(w, f)
	return nil
}

type total struct {
	count int
	bytes uint64
	elems uint64
}

func printTotals(w io.Writer, f *gguf.File) {
	byType := map[gguf.Type]*total{}
	byLayer := map[int]*[2]total{} // [0] experts, [1] the rest
	var all [2]total
	for i := range f.Tensors {
		t := &f.Tensors[i]
		tt := byType[t.Type]
		if tt == nil {
			tt = &total{}
			byType[t.Type] = tt
		}
		tt.count++
		tt.bytes += t.Size()
		tt.elems += t.NumElements()
		kind := 1
		if t.IsExperts() {
			kind = 0
		}
		l := byLayer[t.Layer()]
		if l == nil {
			l = &[2]total{}
			byLayer[t.Layer()] = l
		}
		for _, x := range []*total{&l[kind], &all[kind]} {
			x.count++
			x.bytes += t.Size()
			x.elems += t.NumElements()
		}
	}
	fmt.Fprintf(w, "\ntotals by type:\n")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "  type\ttensors\tparams\tbytes\tbits/weight\t\n")
	types := make([]gguf.Type, 0, len(byType))
	for t := range byType {
		types = append(types, t)
	}
	sort.Slice(types, func(i, j int) bool { return byType[types[i]].bytes > byType[types[j]].bytes })
	for _, t := range types {
		x := byType[t]
		fmt.Fprintf(tw, "  %s\t%d\t%d\t%s\t%.3f\t\n", t, x.count, x.elems, humanBytes(x.bytes), bitsPerWeight(x))
	}
	tw.Flush()

	fmt.Fprintf(w, "\ntotals by kind (experts = *_exps):\n")
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "  layer\texperts\tother\ttotal\t\n")
	layers := make([]int, 0, len(byLayer))
	for l := range byLayer {
		layers = append(layers, l)
	}
	sort.Ints(layers)
	for _, l := range layers {
		x := byLayer[l]
		name := fmt.Sprint(l)
		if l < 0 {
			name = "(none)"
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t\n", name, humanBytes(x[0].bytes), humanBytes(x[1].bytes), humanBytes(x[0].bytes+x[1].bytes))
	}
	fmt.Fprintf(tw, "  all\t%s\t%s\t%s\t\n", humanBytes(all[0].bytes), humanBytes(all[1].bytes), humanBytes(all[0].bytes+all[1].bytes))
	tw.Flush()
}

func bitsPerWeight(x *total) float64 {
	if x.elems == 0 {
		return 0
	}
	return float64(x.bytes) * 8 / float64(x.elems)
}

// humanBytes prints a byte count with a binary unit, exact below 1 KiB.
func humanBytes(n uint64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := uint64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.2f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
