package chaos

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/anishathalye/porcupine"
)

// op is one client operation on one register (a pipeline, by name) as the
// client saw it. Times are nanoseconds since the run started.
type op struct {
	proc   int // porcupine's client ID; a new one after an indeterminate op
	key    string
	write  bool
	value  string // written, or read
	call   int64
	ret    int64
	server string // the agent the request was sent to
	// indeterminate marks a write whose outcome is unknown (error or
	// timeout): it may take effect at any time after its call.
	indeterminate bool
	err           string
}

func (o op) String() string {
	ret := fmt.Sprintf("%.3fs", float64(o.ret)/1e9)
	if o.indeterminate {
		ret = "?"
	}
	verb := fmt.Sprintf("read %s -> %q", o.key, o.value)
	if o.write {
		verb = fmt.Sprintf("write %s = %q", o.key, o.value)
	}
	s := fmt.Sprintf("%s by p%d via %s [%.3fs, %s]", verb, o.proc, o.server, float64(o.call)/1e9, ret)
	if o.err != "" {
		s += " (" + o.err + ")"
	}
	return s
}

// regInput is a register operation; regOutput a read's result.
type regInput struct {
	Key   string
	Write bool
	Value string
}

type regOutput struct{ Value string }

// registerModel is a set of independent registers without compare-and-set,
// partitioned by key so that each register is checked on its own (P-
// compositionality: the history is linearizable iff every key's is). The
// state of a partition is the register's value; "" is a register never
// written.
var registerModel = porcupine.Model{
	Partition: func(history []porcupine.Operation) [][]porcupine.Operation {
		byKey := map[string][]porcupine.Operation{}
		var keys []string
		for _, o := range history {
			k := o.Input.(regInput).Key
			if _, ok := byKey[k]; !ok {
				keys = append(keys, k)
			}
			byKey[k] = append(byKey[k], o)
		}
		sort.Strings(keys) // deterministic order, whatever the map does
		out := make([][]porcupine.Operation, 0, len(keys))
		for _, k := range keys {
			out = append(out, byKey[k])
		}
		return out
	},
	Init: func() any { return "" },
	Step: func(state, input, output any) (bool, any) {
		in := input.(regInput)
		if in.Write {
			return true, in.Value
		}
		return output.(regOutput).Value == state.(string), state
	},
	Equal: func(a, b any) bool { return a.(string) == b.(string) },
	DescribeOperation: func(input, output any) string {
		in := input.(regInput)
		if in.Write {
			return fmt.Sprintf("w(%s, %q)", in.Key, in.Value)
		}
		return fmt.Sprintf("r(%s) -> %q", in.Key, output.(regOutput).Value)
	},
	DescribeState: func(state any) string { return fmt.Sprintf("%q", state) },
	DescribeOperationMetadata: func(info any) string {
		if info == nil {
			return ""
		}
		return info.(string)
	},
}

// checked is a history in porcupine's form and what the checker said.
type checked struct {
	result porcupine.CheckResult
	info   porcupine.LinearizationInfo
	ops    []op // the ops handed to porcupine, index-aligned with porc
	porc   []porcupine.Operation
	pruned int // indeterminate writes left out because nobody read them
}

// toPorcupine turns the recorded ops into porcupine operations. An
// indeterminate write returns at end (after every other op, the final
// reads included): it may have taken effect at any time after its call,
// or never. Such a write whose value no read returned is left out: it
// can always be linearized last, after everything, where it changes
// nothing anyone saw, so dropping it changes no verdict; keeping it would
// only make the search wider (DESIGN.md). Process IDs are renumbered
// densely, as the visualization wants.
func toPorcupine(ops []op, end int64) ([]op, []porcupine.Operation, int) {
	read := map[string]bool{}
	for _, o := range ops {
		if !o.write {
			read[o.key+"\x00"+o.value] = true
		}
	}
	var kept []op
	pruned := 0
	for _, o := range ops {
		if o.write && o.indeterminate {
			if !read[o.key+"\x00"+o.value] {
				pruned++
				continue
			}
			o.ret = end
		}
		kept = append(kept, o)
	}
	procs := map[int]int{}
	porc := make([]porcupine.Operation, len(kept))
	for i, o := range kept {
		id, ok := procs[o.proc]
		if !ok {
			id = len(procs)
			procs[o.proc] = id
		}
		var out any = regOutput{}
		if !o.write {
			out = regOutput{Value: o.value}
		}
		porc[i] = porcupine.Operation{
			ClientId: id,
			Input:    regInput{Key: o.key, Write: o.write, Value: o.value},
			Call:     o.call,
			Output:   out,
			Return:   o.ret,
			Metadata: metadata(o),
		}
	}
	return kept, porc, pruned
}

func metadata(o op) string {
	s := "via " + o.server
	if o.indeterminate {
		s += ", indeterminate: " + o.err
	}
	return s
}

// check runs porcupine on the history.
func check(ops []op, end int64, timeout time.Duration) checked {
	kept, porc, pruned := toPorcupine(ops, end)
	res, info := porcupine.CheckOperationsVerbose(registerModel, porc, timeout)
	return checked{result: res, info: info, ops: kept, porc: porc, pruned: pruned}
}

// explain names the ops behind a violation, key by key: for each key whose
// own history is not linearizable, the ops no linearization could place
// (earliest return first) and, for a read among them, the acknowledged
// write that had already overwritten the value it returned.
func (c checked) explain() []string {
	byKey := map[string][]int{}
	var keys []string
	for i, o := range c.ops {
		if _, ok := byKey[o.key]; !ok {
			keys = append(keys, o.key)
		}
		byKey[o.key] = append(byKey[o.key], i)
	}
	sort.Strings(keys)
	var lines []string
	for _, k := range keys {
		idx := byKey[k]
		sub := make([]porcupine.Operation, len(idx))
		for j, i := range idx {
			sub[j] = c.porc[i]
		}
		res, info := porcupine.CheckOperationsVerbose(registerModel, sub, time.Minute)
		if res == porcupine.Ok {
			continue
		}
		lines = append(lines, fmt.Sprintf("key %s: %s (%d ops)", k, res, len(sub)))
		placed := map[int]bool{}
		for _, part := range info.PartialLinearizations() {
			longest := []int(nil)
			for _, lin := range part {
				if len(lin) > len(longest) {
					longest = lin
				}
			}
			for _, j := range longest {
				placed[j] = true
			}
			if n := len(longest); n > 0 {
				lines = append(lines, "  last op placed: "+c.ops[idx[longest[n-1]]].String())
			}
		}
		var unplaced []op
		for j, i := range idx {
			if !placed[j] {
				unplaced = append(unplaced, c.ops[i])
			}
		}
		sort.SliceStable(unplaced, func(a, b int) bool { return unplaced[a].ret < unplaced[b].ret })
		for n, o := range unplaced {
			if n == 3 {
				lines = append(lines, fmt.Sprintf("  ... %d more not placed", len(unplaced)-3))
				break
			}
			lines = append(lines, "  not placed: "+o.String())
			if !o.write {
				if why := staleBecause(c.ops, o); why != "" {
					lines = append(lines, "    "+why)
				}
			}
		}
	}
	return lines
}

// staleBecause names, for a read, the write of the value it returned and
// an acknowledged write to the same key that began after that write had
// returned and finished before the read began: proof that the read saw an
// overwritten value (a stale read, or an old write applied again).
func staleBecause(ops []op, r op) string {
	var writer *op
	for i := range ops {
		if ops[i].write && ops[i].key == r.key && ops[i].value == r.value {
			writer = &ops[i]
			break
		}
	}
	if writer == nil {
		if r.value == "" {
			return ""
		}
		return fmt.Sprintf("no write of %q was ever issued", r.value)
	}
	if writer.indeterminate {
		return seenThenOverwritten(ops, r)
	}
	for _, w := range ops {
		if w.write && !w.indeterminate && w.key == r.key && w.call > writer.ret && w.ret < r.call {
			return fmt.Sprintf("value written by [%s] was overwritten by acknowledged [%s] before the read began", writer, w)
		}
	}
	return ""
}

// seenThenOverwritten explains a read of a value whose write has an
// unknown outcome: an earlier read already saw the value and an
// acknowledged write overwrote it in between, so either the write took
// effect twice or this read is stale.
func seenThenOverwritten(ops []op, r op) string {
	for _, r0 := range ops {
		if r0.write || r0.key != r.key || r0.value != r.value || r0.ret >= r.call {
			continue
		}
		for _, w := range ops {
			if w.write && !w.indeterminate && w.key == r.key && w.call > r0.ret && w.ret < r.call {
				return fmt.Sprintf("value (of a write with unknown outcome) was read by [%s], then overwritten by acknowledged [%s] before this read began: applied twice, or a stale read", r0, w)
			}
		}
	}
	return ""
}

// lostWrites counts, for each key, the acknowledged writes that the final
// value contradicts: those that began after the write of the final value
// had returned, so must have been ordered after it. An indeterminate
// writer of the final value may have taken effect late, so it contradicts
// nothing. A final value no write produced loses every acknowledged write.
func lostWrites(ops []op, final map[string]string) (int, []string) {
	n := 0
	var why []string
	for key, v := range final {
		writerRet := int64(math.MinInt64)
		found := false
		for _, o := range ops {
			if o.write && o.key == key && o.value == v {
				found = true
				writerRet = o.ret
				if o.indeterminate {
					writerRet = math.MaxInt64
				}
				break
			}
		}
		if !found && v != "" {
			why = append(why, fmt.Sprintf("key %s: final value %q was never written", key, v))
		}
		for _, o := range ops {
			if o.write && !o.indeterminate && o.key == key && o.call > writerRet {
				n++
				why = append(why, fmt.Sprintf("key %s: final value %q, but acknowledged later [%s]", key, v, o))
			}
		}
	}
	sort.Strings(why)
	return n, why
}

// appliedTwice counts the extra applies in one key's revision contents
// (oldest first) and says where each repeated value sits among them.
func appliedTwice(key string, contents []string) (int, []string) {
	at := map[string][]int{}
	var order []string
	for i, c := range contents {
		if _, ok := at[c]; !ok {
			order = append(order, c)
		}
		at[c] = append(at[c], i+1)
	}
	n := 0
	var why []string
	for _, c := range order {
		if pos := at[c]; len(pos) > 1 {
			n += len(pos) - 1
			why = append(why, fmt.Sprintf("key %s: %q is revision %v of %d, and %q in between", key, c, pos, len(contents), between(contents, pos[0], pos[1])))
		}
	}
	return n, why
}

// between lists the contents strictly between two 1-based positions.
func between(contents []string, from, to int) []string {
	out := contents[from : to-1]
	if len(out) > 4 {
		out = append(append([]string{}, out[:4]...), "...")
	}
	return out
}

// truncate keeps a report readable.
func truncate(lines []string, n int) string {
	if len(lines) > n {
		lines = append(lines[:n:n], fmt.Sprintf("... %d more", len(lines)-n))
	}
	return strings.Join(lines, "\n")
}
