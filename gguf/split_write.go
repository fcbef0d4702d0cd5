package gguf

import "fmt"

// ShardMetadata returns the metadata of shard no (0-based) of count, as
// gguf-split writes it: the first shard carries the model's keys followed
// by split.no, split.count and split.tensors.count; the others carry only
// the three split keys.
func ShardMetadata(md *Metadata, no, count, nTensors int) *Metadata {
	out := NewMetadata()
	if no == 0 {
		for _, kv := range md.KVs() {
			switch kv.Key {
			case KeySplitNo, KeySplitCount, KeySplitTensorsCount:
				continue
			}
			out.Set(kv.Key, kv.Value)
		}
	}
	out.Set(KeySplitNo, Uint16(uint16(no)))
	out.Set(KeySplitCount, Uint16(uint16(count)))
	out.Set(KeySplitTensorsCount, Int32(int32(nTensors)))
	return out
}

// PlanSplit assigns tensors, in order, to shards so that no shard file is
// larger than maxSize bytes, header included; tensors are never cut. It
// returns the index of the first tensor of each shard. A model that fits
// in one file gives one shard.
func PlanSplit(md *Metadata, tensors []TensorInfo, maxSize int64) ([]int, error) {
	if maxSize <= 0 {
		return nil, fmt.Errorf("split size must be positive, got %d", maxSize)
	}
	if whole, err := fileSize(md, tensors); err != nil {
		return nil, err
	} else if whole <= maxSize {
		return []int{0}, nil
	}
	// The split keys' values do not change their encoded size, so a
	// shard's size is known before the shard count is.
	var starts []int
	for i := 0; i < len(tensors); {
		shardMD := ShardMetadata(md, len(starts), 2, len(tensors))
		j := i
		for j < len(tensors) {
			size, err := fileSize(shardMD, tensors[i:j+1])
			if err != nil {
				return nil, err
			}
			if size > maxSize {
				break
			}
			j++
		}
		if j == i {
			t := &tensors[i]
			alone, _ := fileSize(shardMD, tensors[i:i+1])
			return nil, fmt.Errorf("tensor %q (%d bytes; %d as a shard with its header) does not fit in a split of %d bytes: the split size must be at least the largest tensor",
				t.Name, t.Size(), alone, maxSize)
		}
		starts = append(starts, i)
		i = j
	}
	if len(starts) > 99999 {
		return nil, fmt.Errorf("split of %d bytes gives %d shards, more than 99999", maxSize, len(starts))
	}
	return starts, nil
}

// fileSize is the size of the GGUF file holding md and tensors.
func fileSize(md *Metadata, tensors []TensorInfo) (int64, error) {
	hdr, align, laid, err := encodeHeader(md, tensors)
	if err != nil {
		return 0, err
	}
	size := Pad(uint64(len(hdr)), align)
	for i := range laid {
		size += Pad(laid[i].Size(), align)
	}
	return int64(size), nil
}
