package publish

import (
	"crypto/sha256"
	"encoding/hex"
	"hash"
)

// asyncHash computes sha256 and the byte count of what is written to it on
// its own goroutine, so that hashing overlaps writing the file instead of
// adding to it (each costs about as much as the other). Write copies p into
// one of a few reusable buffers: the caller may reuse p at once.
type asyncHash struct {
	h     hash.Hash
	n     int64
	work  chan []byte
	free  chan []byte
	done  chan struct{}
	bufSz int
}

const (
	hashBuffers   = 4
	hashBufferLen = copyChunk
)

func newAsyncHash() *asyncHash {
	a := &asyncHash{h: sha256.New(), work: make(chan []byte, hashBuffers), free: make(chan []byte, hashBuffers),
		done: make(chan struct{}), bufSz: hashBufferLen}
	for range hashBuffers {
		a.free <- nil // allocated on first use
	}
	go func() {
		defer close(a.done)
		for b := range a.work {
			a.h.Write(b)
			a.free <- b[:0]
		}
	}()
	return a
}

func (a *asyncHash) Write(p []byte) (int, error) {
	for rest := p; len(rest) > 0; {
		buf := <-a.free
		if cap(buf) == 0 {
			buf = make([]byte, 0, a.bufSz)
		}
		k := min(len(rest), cap(buf))
		buf = append(buf, rest[:k]...)
		a.work <- buf
		rest = rest[k:]
	}
	a.n += int64(len(p))
	return len(p), nil
}

// Sum waits for the hashing to finish and returns the hex digest and the
// number of bytes hashed. The asyncHash cannot be written to afterwards.
func (a *asyncHash) Sum() (string, int64) {
	close(a.work)
	<-a.done
	return hex.EncodeToString(a.h.Sum(nil)), a.n
}

// Stop ends the hashing goroutine without a result (on errors).
func (a *asyncHash) Stop() {
	select {
	case <-a.done:
	default:
		close(a.work)
		<-a.done
	}
}
