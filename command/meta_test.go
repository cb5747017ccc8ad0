package command

import (
	"flag"
	"net"
	"reflect"
	"strings"
	"testing"
)

// Flags may follow the positional arguments, as README writes them
// (`pipeline update 2 -enabled=false`, `pipeline get 1 -json`).
func TestFlagsFirst(t *testing.T) {
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	fs.Bool("json", false, "")
	fs.String("address", "", "")
	for _, c := range []struct{ in, want []string }{
		{[]string{"2", "-enabled=false"}, []string{"-enabled=false", "2"}},
		{[]string{"1", "-json"}, []string{"-json", "1"}},
		{[]string{"a", "-address", "http://h:1", "b"}, []string{"-address", "http://h:1", "a", "b"}},
		{[]string{"-json", "--", "-not-a-flag"}, []string{"-json", "--", "-not-a-flag"}},
		{[]string{"-", "x"}, []string{"-", "x"}},
		{[]string{"a", "-json", "b", "--", "-c"}, []string{"-json", "a", "b", "--", "-c"}},
	} {
		if got := flagsFirst(fs, c.in); !reflect.DeepEqual(got, c.want) {
			t.Errorf("flagsFirst(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestPipelineFlagsAfterArguments(t *testing.T) {
	path := contentsFile(t, "new contents")
	f := newFakeAgent(t, map[string]reply{
		"POST " + rpc("GetPipeline"):    {200, pipelineBody},
		"POST " + rpc("UpdatePipeline"): {200, pipelineBody},
	})
	mustSucceed(t, runCommand(t, f, "pipeline update", "7", "-file="+path, "-enabled=false"))
	p, _ := sentWrite(t, f, "UpdatePipeline")
	if p.ID != "7" || p.Enabled == nil || *p.Enabled || p.Contents != "new contents" {
		t.Fatalf("sent %+v", p)
	}
	r := runCommand(t, f, "pipeline get", "7", "-json")
	mustSucceed(t, r)
	if !strings.HasPrefix(strings.TrimSpace(r.stdout), "{") {
		t.Fatalf("pipeline get 7 -json printed %q", r.stdout)
	}
}

// A CLI pointed at a port that does not speak HTTP (the RPC port resets
// or closes the connection) says where the HTTP API is.
func TestCLI_NotHTTPPortHint(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			buf := make([]byte, 1)
			conn.Read(buf) // like the RPC port: read a first byte, then hang up
			conn.Close()
		}
	}()
	r := runCommand(t, nil, "pipeline list", "-address=http://"+ln.Addr().String())
	mustFail(t, r, "is it nomadlike's HTTP port? That is 4646 by default")
}
