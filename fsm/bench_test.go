package fsm

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/nomadlike/nomadlike/structs"
)

// BenchmarkFSM_PipelineUpserts applies batches of 64 single-upsert
// entries (what raft hands over under 64 concurrent writers) of ~1 KiB
// pipelines with unique names, into a state that grows as it goes; one op
// is one entry.
func BenchmarkFSM_PipelineUpserts(b *testing.B) {
	for _, batch := range []int{1, 64} {
		for _, withID := range []bool{false, true} {
			b.Run(fmt.Sprintf("batch=%d/request_id=%v", batch, withID), func(b *testing.B) {
				benchPipelineUpserts(b, batch, withID)
			})
		}
	}
}

// benchPipelineUpserts applies b.N upserts in batches; withID gives each
// entry a request header, as every write through the API has.
func benchPipelineUpserts(b *testing.B, batch int, withID bool) {
	{
		{
			f := testFSM(b)
			contents := strings.Repeat("x", 1024)
			now := time.Now()
			var logs []*raft.Log
			for i := 0; i < b.N; i++ {
				req := &structs.PipelineApplyRequest{Now: now, Operations: []*structs.PipelineOperation{{
					Op: structs.PipelineOpUpsert, Pipeline: &structs.Pipeline{Name: fmt.Sprintf("p-%d", i), Contents: contents,
						Matchers: []string{"env=prod"}, Enabled: true}}}}
				l := makeLog(b, uint64(i+1), structs.PipelineApplyRequestType, req)
				if withID {
					l = reqLog(b, uint64(i+1), structs.NewRequestID(), now, structs.PipelineApplyRequestType, req)
				}
				logs = append(logs, l)
			}
			b.ResetTimer()
			for i := 0; i < len(logs); i += batch {
				f.ApplyBatch(logs[i:min(i+batch, len(logs))])
			}
		}
	}
}
