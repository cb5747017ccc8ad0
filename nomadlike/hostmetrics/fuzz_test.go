package hostmetrics

import (
	"encoding/json"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/nomadlike/nomadlike/structs"
)

// FuzzDecode: Decode never panics, refuses every body encoding/json finds
// malformed, calls malformed only what encoding/json does, and a payload
// it accepts survives encoding again unchanged.
func FuzzDecode(f *testing.F) {
	f.Add(specExample(f))
	f.Add(RealisticPayload(3))
	for _, s := range []string{
		``, `{}`, `[]`, `null`, `{"cpuPercent":1e400}`, `{"agentVersion":"\ud83d\ude00\u00e9\ud800"}`,
		`{"services":[{"containerName":"a","cpuPercent":-0}]}`, `{"a":[[[[{"b":{}}]]]]}`,
		`{"containers":[{"id":"i","name":"n","image":"m","imageId":"d","state":"s","status":"u","created":1,"labels":{"a.b":"c"}}]}`,
		`{"topProcesses":{"byCpu":[],"byMemory":[],"stats":{"total":0,"running":0,"sleeping":0,"stopped":0,"zombie":0}}}`,
		`{"serviceHealthChecks":[{"containerName":"a","healthCheckUrl":"u","success":true,"checkedAt":"2000-02-29T00:00Z"}]}`,
		"{\"agentVersion\":\"\xff\"}", `{"x":1}garbage`, `{"cpuPercent":"1"`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(checkDecode)
}

// TestDecode_Mutations runs FuzzDecode's checks over a fixed set of random
// mutations of the seeds, so that plain go test explores past the corpus.
func TestDecode_Mutations(t *testing.T) {
	seeds := [][]byte{specExample(t), RealisticPayload(3), []byte(`{"a":[[{"b":"\u00e9"}]],"cpuPercent":1.5e1}`)}
	r := rand.New(rand.NewPCG(4, 2))
	for range 3000 {
		b := slices.Clone(seeds[r.IntN(len(seeds))])
		for range 1 + r.IntN(4) {
			i := r.IntN(len(b))
			switch r.IntN(3) {
			case 0:
				b[i] = byte(r.IntN(256))
			case 1:
				b = slices.Delete(b, i, i+1)
			default:
				b = slices.Insert(b, i, `"\{}[]:,u0-e.n`[r.IntN(14)])
			}
			if len(b) == 0 {
				b = []byte("{")
			}
		}
		checkDecode(t, b)
	}
}

func checkDecode(t *testing.T, body []byte) {
	p, unknown, ierr := Decode(body)
	valid := json.Valid(body)
	if ierr != nil {
		if ierr.Status != 400 || ierr.Code != structs.IngestValidationError || ierr.Message == "" || p != nil || unknown != nil {
			t.Fatalf("bad error %+v (payload %v)", ierr, p != nil)
		}
		if valid && strings.HasPrefix(ierr.Message, "invalid JSON") {
			t.Fatalf("encoding/json finds %q well-formed; Decode says %s", body, ierr.Message)
		}
		return
	}
	if !valid {
		t.Fatalf("accepted %q, which encoding/json finds malformed", body)
	}
	again, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	q, unknown2, ierr := Decode(again)
	if ierr != nil {
		t.Fatalf("re-encoded payload refused: %v\n%s", ierr, again)
	}
	if len(unknown2) != 0 {
		t.Fatalf("re-encoded payload has unknown fields %v", unknown2)
	}
	if !reflect.DeepEqual(p, q) {
		t.Fatalf("payload changed by encoding again:\n%s", again)
	}
}
