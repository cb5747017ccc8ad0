package structs

import (
	"errors"
	"fmt"
	"net/http"
	"net/rpc"
	"testing"
)

func TestErrors_SurviveRPC(t *testing.T) {
	for _, tc := range []struct {
		err  error
		code int
		msg  string
	}{
		{NewErrCoded(400, "bad name %q", "x,y"), 400, `bad name "x,y"`},
		{ErrNoLeader, http.StatusInternalServerError, "No cluster leader"},
		{ErrPermissionDenied, http.StatusForbidden, "Permission denied"},
		{ErrUnknownNode, http.StatusNotFound, "node not found"},
		{fmt.Errorf("wrapped: %w", ErrNotFound), http.StatusNotFound, "not found"},
		{errors.New("boom"), http.StatusInternalServerError, "boom"},
	} {
		// net/rpc hands the client only the error's string.
		decoded := DecodeRPCError(rpc.ServerError(tc.err.Error()))
		code, msg := ErrorStatus(decoded)
		if code != tc.code || msg != tc.msg {
			t.Errorf("%v: decoded to %d %q, want %d %q", tc.err, code, msg, tc.code, tc.msg)
		}
		if errors.Is(tc.err, ErrNoLeader) && !errors.Is(decoded, ErrNoLeader) {
			t.Errorf("sentinel lost across RPC: %v", decoded)
		}
	}
	if DecodeRPCError(nil) != nil {
		t.Fatal("nil error decoded to non-nil")
	}
}

func TestEncodeDecode(t *testing.T) {
	in := &NodeRegisterRequest{Node: &Node{ID: "a", Meta: map[string]string{"k": "v"}}, UpdatedAt: 5}
	buf, err := Encode(NodeRegisterRequestType, in)
	if err != nil {
		t.Fatal(err)
	}
	if MessageType(buf[0]) != NodeRegisterRequestType {
		t.Fatalf("type byte %d", buf[0])
	}
	var out NodeRegisterRequest
	if err := Decode(buf[1:], &out); err != nil {
		t.Fatal(err)
	}
	if out.Node.ID != "a" || out.Node.Meta["k"] != "v" || out.UpdatedAt != 5 {
		t.Fatalf("round trip: %+v", out)
	}
}
