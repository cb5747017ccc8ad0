package structs

import (
	"strings"
	"sync"
	"testing"
	"time"
)

// TestEncodeDecode_PooledCodecs: pooled encoders and decoders give every
// caller its own bytes, survive a failed decode, and are safe to share.
func TestEncodeDecode_PooledCodecs(t *testing.T) {
	p := &Pipeline{Name: "a", Contents: "x", Matchers: []string{"env=prod"}, Enabled: true,
		CreatedAt: time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)}
	first, err := Encode(PipelineApplyRequestType, p)
	if err != nil {
		t.Fatal(err)
	}
	p2 := *p
	p2.Name = "b"
	second, err := Encode(PipelineApplyRequestType, &p2)
	if err != nil {
		t.Fatal(err)
	}
	if first[0] != byte(PipelineApplyRequestType) || string(first) == string(second) {
		t.Fatal("encodings share a buffer or lost the type byte")
	}

	var bad Pipeline
	if err := Decode([]byte{0xc1, 0xff, 0x00}, &bad); err == nil {
		t.Fatal("decoding garbage succeeded")
	}

	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 200; j++ {
				var out Pipeline
				buf := first
				want := "a"
				if j%2 == 1 {
					buf, want = second, "b"
				}
				if err := Decode(buf[1:], &out); err != nil || out.Name != want || !out.CreatedAt.Equal(p.CreatedAt) {
					t.Errorf("decode %d: %+v %v", j, out, err)
					return
				}
				if _, err := Encode(PipelineApplyRequestType, &out); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
}

// An entry with a request header splits back into its type (flags other
// than the header's kept), header and body; a cut header is an error, not
// a panic or a misread body.
func TestEncodeRequest_RoundTripAndTruncation(t *testing.T) {
	at := time.Date(2026, 12, 4, 12, 0, 0, 123, time.UTC)
	buf, err := EncodeRequest(PipelineApplyRequestType|IgnoreUnknownTypeFlag, RequestHeader{ID: "req-1", Time: at}, &WriteRequest{Region: "global"})
	if err != nil {
		t.Fatal(err)
	}
	typ, h, body, err := SplitEntry(buf)
	if err != nil || typ != PipelineApplyRequestType|IgnoreUnknownTypeFlag || h.ID != "req-1" || !h.Time.Equal(at) {
		t.Fatalf("split: %v %v %+v", err, typ, h)
	}
	var w WriteRequest
	if err := Decode(body, &w); err != nil || w.Region != "global" {
		t.Fatalf("body: %v %+v", err, w)
	}
	for n := 1; n < 1+1+len("req-1")+8; n++ {
		if _, _, _, err := SplitEntry(buf[:n]); err == nil {
			t.Fatalf("a header cut at %d bytes was accepted", n)
		}
	}
	if _, err := EncodeRequest(PipelineApplyRequestType, RequestHeader{ID: strings.Repeat("x", MaxRequestIDLen+1)}, &w); err == nil {
		t.Fatal("an over-long request ID was encoded")
	}
	plain, _ := Encode(NodeRegisterRequestType, &w)
	if typ, h, _, err := SplitEntry(plain); err != nil || typ != NodeRegisterRequestType || h.ID != "" {
		t.Fatalf("entry without header: %v %v %+v", err, typ, h)
	}
}
