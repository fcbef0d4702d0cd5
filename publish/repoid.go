package publish

// IsRepoID reports whether s looks like a Hub repository id, ORG/NAME, so
// that the command line can refuse a malformed --repo or --base-model as a
// usage error before any work.
func IsRepoID(s string) bool { return isRepoID(s) }
