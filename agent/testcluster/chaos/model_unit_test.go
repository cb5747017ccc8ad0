package chaos

import (
	"strings"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
)

// The checker must reject the two anomalies issue 12 found and accept
// what a correct register may do with writes of unknown outcome.
func TestModel_Histories(t *testing.T) {
	w := func(p int, v string, call, ret int64) op {
		return op{proc: p, key: "k", write: true, value: v, call: call, ret: ret, server: "s"}
	}
	wi := func(p int, v string, call int64) op {
		return op{proc: p, key: "k", write: true, value: v, call: call, indeterminate: true, server: "s", err: "timeout"}
	}
	r := func(p int, v string, call, ret int64) op {
		return op{proc: p, key: "k", value: v, call: call, ret: ret, server: "s"}
	}
	cases := []struct {
		name   string
		ops    []op
		ok     bool
		pruned int
	}{
		{"sequential", []op{w(0, "a", 0, 1), r(0, "a", 2, 3), w(0, "b", 4, 5), r(1, "b", 6, 7)}, true, 0},
		{"concurrent read sees either", []op{w(0, "a", 0, 1), w(0, "b", 2, 10), r(1, "a", 3, 4), r(2, "b", 5, 6)}, true, 0},
		// A SIGSTOPped old leader answering from its old state.
		{"stale read", []op{w(0, "a", 0, 1), w(1, "b", 2, 3), r(2, "a", 4, 5)}, false, 0},
		// c5-311, c0-329 acknowledged, then c5-311 applied again.
		{"duplicated write", []op{w(0, "c5-311", 0, 1), w(1, "c0-329", 2, 3), r(2, "c0-329", 4, 5), r(2, "c5-311", 6, 7)}, false, 0},
		// A write that timed out may take effect late, even after a read.
		{"indeterminate late", []op{w(0, "a", 0, 1), wi(1, "x", 2), r(2, "a", 10, 11), r(2, "x", 12, 13)}, true, 0},
		{"indeterminate never", []op{w(0, "a", 0, 1), wi(1, "x", 2), r(2, "a", 10, 11)}, true, 1},
		// ...but not before it was sent.
		{"indeterminate too early", []op{w(0, "a", 0, 1), r(2, "x", 2, 3), wi(1, "x", 5)}, false, 0},
		// ...and once read, a later acknowledged write hides it for good.
		{"indeterminate flip-flop", []op{wi(1, "x", 0), r(2, "x", 1, 2), w(0, "b", 3, 4), r(2, "b", 5, 6), r(2, "x", 7, 8)}, false, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := check(tc.ops, 100, 10*time.Second)
			if got := c.result == porcupine.Ok; got != tc.ok {
				t.Fatalf("linearizable = %v (%s), want %v", got, c.result, tc.ok)
			}
			if c.pruned != tc.pruned {
				t.Fatalf("pruned %d, want %d", c.pruned, tc.pruned)
			}
			if !tc.ok && len(c.explain()) == 0 {
				t.Fatal("a violation names no ops")
			}
		})
	}
}

func TestModel_ExplainNamesTheStaleRead(t *testing.T) {
	ops := []op{
		{proc: 0, key: "k", write: true, value: "a", call: 0, ret: 1e9, server: "server-1"},
		{proc: 1, key: "k", write: true, value: "b", call: 2e9, ret: 3e9, server: "server-2"},
		{proc: 2, key: "k", value: "a", call: 4e9, ret: 5e9, server: "server-1"},
		{proc: 3, key: "j", write: true, value: "z", call: 0, ret: 1e9, server: "server-3"},
	}
	got := strings.Join(check(ops, 1e10, 10*time.Second).explain(), "\n")
	for _, want := range []string{`key k`, `read k -> "a" by p2 via server-1`, `overwritten by acknowledged [write k = "b"`} {
		if !strings.Contains(got, want) {
			t.Fatalf("explanation lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "key j") {
		t.Fatalf("a linearizable key is named:\n%s", got)
	}
}

func TestModel_AppliedTwice(t *testing.T) {
	n, why := appliedTwice("k", []string{"init", "c5-311", "c0-329", "c5-311", "x"})
	if n != 1 || len(why) != 1 || !strings.Contains(why[0], `"c5-311" is revision [2 4] of 5, and ["c0-329"] in between`) {
		t.Fatalf("%d %v", n, why)
	}
	if n, why := appliedTwice("k", []string{"a", "b", "c"}); n != 0 {
		t.Fatalf("%d %v", n, why)
	}
}

func TestModel_ExplainNamesAReappliedWrite(t *testing.T) {
	ops := []op{
		{proc: 0, key: "k", write: true, value: "a", call: 0, ret: 1e9, server: "server-1"},
		{proc: 1, key: "k", write: true, value: "x", call: 2e9, indeterminate: true, err: "timeout", server: "server-1"},
		{proc: 2, key: "k", value: "x", call: 3e9, ret: 4e9, server: "server-3"},
		{proc: 3, key: "k", write: true, value: "b", call: 5e9, ret: 6e9, server: "server-2"},
		{proc: 2, key: "k", value: "x", call: 7e9, ret: 8e9, server: "server-2"},
	}
	got := strings.Join(check(ops, 1e10, 10*time.Second).explain(), "\n")
	if !strings.Contains(got, "applied twice, or a stale read") {
		t.Fatalf("explanation:\n%s", got)
	}
}

func TestModel_LostWrites(t *testing.T) {
	ops := []op{
		{key: "k", write: true, value: "a", call: 0, ret: 1},
		{key: "k", write: true, value: "b", call: 2, ret: 3},
		{key: "k", write: true, value: "x", call: 4, indeterminate: true},
		{key: "j", write: true, value: "c", call: 0, ret: 1},
	}
	for _, tc := range []struct {
		final map[string]string
		lost  int
	}{
		{map[string]string{"k": "b", "j": "c"}, 0},
		{map[string]string{"k": "x", "j": "c"}, 0}, // late indeterminate write
		{map[string]string{"k": "a", "j": "c"}, 1}, // b acknowledged after a: lost
		{map[string]string{"k": "b", "j": ""}, 1},  // c gone
		{map[string]string{"k": "q", "j": "c"}, 2}, // nobody wrote q
	} {
		if n, why := lostWrites(ops, tc.final); n != tc.lost {
			t.Errorf("final %v: %d lost, want %d: %v", tc.final, n, tc.lost, why)
		}
	}
}
