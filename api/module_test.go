package api

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
)

// The module is not published, so README's Go client section tells users
// to require it with a replace directive pointing at a checkout. This is
// that recipe, run: a program outside the module imports the api package
// and builds.
func TestGoClientOutsideTheModule(t *testing.T) {
	_, file, _, _ := runtime.Caller(0)
	root := filepath.Dir(filepath.Dir(file))
	dir := t.TempDir()
	prog := `package main

import (
	"fmt"

	"github.com/nomadlike/nomadlike/api"
)

func main() {
	client, err := api.NewClient(api.DefaultConfig())
	fmt.Println(client != nil, err)
}
`
	if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte(prog), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"mod", "init", "example.com/myapp"},
		{"mod", "edit", "-require", "github.com/nomadlike/nomadlike@v0.0.0", "-replace", "github.com/nomadlike/nomadlike=" + root},
		{"mod", "tidy"},
		{"build", "-o", os.DevNull, "."},
	} {
		cmd := exec.Command("go", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GOFLAGS=", "GOWORK=off")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go %v: %v\n%s", args, err, out)
		}
	}
}
