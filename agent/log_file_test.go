package agent

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestLogFile_RotatesBySizeAndPrunes writes past log_rotate_bytes several
// times: the live file stays under the limit, at most
// log_rotate_max_files archives remain, and the newest lines are kept.
func TestLogFile_RotatesBySizeAndPrunes(t *testing.T) {
	dir := t.TempDir()
	c := DefaultConfig()
	c.LogFile = ptr(dir + "/")
	c.LogRotateBytes = ptr(100)
	c.LogRotateMaxFiles = ptr(2)
	f, err := OpenLogFile(c)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	line := strings.Repeat("x", 39) + "\n" // 40 bytes: two fit, the third rotates
	for i := 0; i < 20; i++ {
		if _, err := f.Write([]byte(line)); err != nil {
			t.Fatal(err)
		}
	}
	live, err := os.ReadFile(filepath.Join(dir, "nomadlike.log"))
	if err != nil {
		t.Fatal(err)
	}
	if len(live) > 100 || len(live) == 0 {
		t.Fatalf("live file has %d bytes", len(live))
	}
	archives, _ := filepath.Glob(filepath.Join(dir, "nomadlike-*.log"))
	if len(archives) != 2 {
		t.Fatalf("archives: %v", archives)
	}
	for _, a := range archives {
		if b, _ := os.ReadFile(a); len(b) != 80 {
			t.Fatalf("%s has %d bytes", a, len(b))
		}
	}
}

// TestLogFile_AgeRotationAndConfig: a tiny age rotates on every write
// to a non-empty file; bad values are config errors naming the key.
func TestLogFile_AgeRotationAndConfig(t *testing.T) {
	dir := t.TempDir()
	c := DefaultConfig()
	c.LogFile = ptr(filepath.Join(dir, "agent.log"))
	c.LogRotateDuration = ptr("1ns")
	f, err := OpenLogFile(c)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		f.Write([]byte("line\n"))
	}
	f.Close()
	if archives, _ := filepath.Glob(filepath.Join(dir, "agent-*.log")); len(archives) != 2 {
		t.Fatalf("archives: %v", archives)
	}
	c = DefaultConfig()
	c.Server.Enabled = ptr(true)
	c.DataDir = ptr(dir)
	c.LogRotateDuration = ptr("soon")
	c.LogRotateBytes = ptr(-1)
	err = c.Validate()
	if err == nil || !strings.Contains(err.Error(), "log_rotate_duration") || !strings.Contains(err.Error(), "log_rotate_bytes") {
		t.Fatalf("Validate: %v", err)
	}
	if c := DefaultConfig(); *c.LogFile != "" {
		t.Fatal("log_file is on by default")
	}
}
