// Package chaos is nomadlike's fault-injection suite, in the manner of
// Jepsen: three real server processes, clients reading and writing a few
// registers (pipelines) through random servers, a nemesis that kills,
// restarts and pauses servers on a seeded schedule, and every history
// checked for linearizability with porcupine. The tests live in _test.go
// files; this file only names the package. See DESIGN.md for the model.
package chaos
