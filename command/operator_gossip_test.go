package command

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/hashicorp/cli"
)

func TestOperatorGossipKeygen(t *testing.T) {
	var keys []string
	for range 2 {
		r := runCommand(t, nil, "operator gossip keygen")
		mustSucceed(t, r)
		key := strings.TrimSuffix(r.stdout, "\n")
		b, err := base64.StdEncoding.DecodeString(key)
		if err != nil || len(b) != 32 {
			t.Fatalf("key %q decodes to %d bytes (%v), want 32", key, len(b), err)
		}
		keys = append(keys, key)
	}
	if keys[0] == keys[1] {
		t.Fatalf("two runs gave the same key %q", keys[0])
	}
}

func TestOperatorGossipKeygen_Errors(t *testing.T) {
	mustFail(t, runCommand(t, nil, "operator gossip keygen", "extra"), "This command takes no arguments")
	// General options are not accepted: the command needs no agent.
	mustFail(t, runCommand(t, nil, "operator gossip keygen", "-address=http://x"), "Error parsing arguments")

	ui := cli.NewMockUi()
	cmd := &OperatorGossipKeygenCommand{Meta: Meta{Ui: ui}, rand: iotest.ErrReader(errors.New("no entropy"))}
	if code := cmd.Run(nil); code != 1 || !strings.Contains(ui.ErrorWriter.String(), "Error generating key: reading random bytes: no entropy") ||
		ui.OutputWriter.String() != "" {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, ui.OutputWriter.String(), ui.ErrorWriter.String())
	}
}
