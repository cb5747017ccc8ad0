package promapi

// MaxFormBytes exposes the form body bound to the external tests.
const MaxFormBytes = maxFormBytes
