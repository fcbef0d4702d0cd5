package gguf

import "fmt"

// FormatError reports a malformed GGUF file: what is wrong and at which
// byte of which file.
type FormatError struct {
	Path   string
	Offset int64
	Msg    string
}

func (e *FormatError) Error() string {
	if e.Path == "" {
		return fmt.Sprintf("gguf: byte %d: %s", e.Offset, e.Msg)
	}
	return fmt.Sprintf("%s: byte %d: %s", e.Path, e.Offset, e.Msg)
}
