// Package proto holds the protobuf definitions of the Grafana-compatible
// Connect APIs and, in its subpackages, the Go code generated from them:
//
//   - pipeline/v1 (pipeline.v1.PipelineService, Fleet Management pipelines)
//   - collector/v1 (collector.v1.CollectorService, Alloy remotecfg)
//
// The generated .pb.go and .connect.go files are committed; regenerate them
// with `make proto` after editing a .proto file. See DESIGN.md.
package proto
