// Package structs holds every type that crosses a package boundary or the
// wire: domain objects, RPC request/response envelopes, the Raft message
// types and the coded errors. It imports nothing from this repository, so
// every other package can depend on it.
package structs
