package profile

import (
	"context"
	"errors"
	"io"
	"runtime/pprof"
	"testing"

	"github.com/nomadlike/nomadlike/structs"
)

func code(err error) int {
	var coded *structs.CodedError
	if errors.As(err, &coded) {
		return coded.Code
	}
	return 0
}

func TestTake_Errors(t *testing.T) {
	if _, _, err := Take(context.Background(), &structs.AgentPprofRequest{ReqType: "nope"}); code(err) != 400 {
		t.Fatalf("unknown type: %v", err)
	}
	if _, _, err := Take(context.Background(), &structs.AgentPprofRequest{ReqType: structs.PprofTrace, Seconds: MaxSeconds + 1}); code(err) != 400 {
		t.Fatalf("a trace longer than the limit: %v", err)
	}
	_, _, err := Take(context.Background(), &structs.AgentPprofRequest{ReqType: structs.PprofLookup, Profile: "nope"})
	if code(err) != 404 || err.(*structs.CodedError).Message != "Pprof profile not found profile: nope" {
		t.Fatalf("unknown profile: %v", err)
	}
	// A CPU profile while another runs in the process is a conflict, not
	// a hang.
	if err := pprof.StartCPUProfile(io.Discard); err != nil {
		t.Fatal(err)
	}
	_, _, err = CPUProfile(context.Background(), 1)
	pprof.StopCPUProfile()
	if code(err) != 409 {
		t.Fatalf("second cpu profile: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	payload, headers, err := CPUProfile(ctx, 1) // ctx already done: returns at once
	if err != nil || len(payload) == 0 || headers["Content-Disposition"] != `attachment; filename="profile"` {
		t.Fatalf("cpu profile: %d %v %v", len(payload), headers, err)
	}
}
