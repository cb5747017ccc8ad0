package command

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
)

// TestAutocomplete runs the real binary as a shell's completion would:
// with COMP_LINE set, it prints the commands that complete the last word.
// (-autocomplete-install is not run here: it edits the rc files of the
// user running the test, found by user.Current, not by $HOME.)
func TestAutocomplete(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "nomadlike")
	_, file, _, _ := runtime.Caller(0)
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Dir = filepath.Join(filepath.Dir(file), "..")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	complete := func(line string) []string {
		cmd := exec.Command(bin)
		cmd.Env = append(os.Environ(), "COMP_LINE="+line, "COMP_POINT="+strconv.Itoa(len(line)))
		var out bytes.Buffer
		cmd.Stdout = &out
		if err := cmd.Run(); err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		return strings.Fields(out.String())
	}
	if got := complete("nomadlike con"); len(got) != 1 || got[0] != "config" {
		t.Fatalf("nomadlike con -> %v", got)
	}
	got := complete("nomadlike config st")
	if len(got) != 1 || got[0] != "status" {
		t.Fatalf("nomadlike config st -> %v", got)
	}
}
