package assistant

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/nomadlike/nomadlike/structs"
)

// Builtin is the assistant that needs no external service: a
// deterministic intent parser over the last user message, answering
// through the same Tools an LLM would use (DESIGN.md lists what it
// understands and why it is built this way).
type Builtin struct {
	// Now is the clock for "today" (nil: time.Now).
	Now func() time.Time
}

// Answer answers the last user message of turn.
func (b Builtin) Answer(ctx context.Context, turn Turn, out Output) error {
	var question string
	for i := len(turn.History) - 1; i >= 0; i-- {
		if m := turn.History[i]; m != nil && m.Role == structs.ChatRoleUser {
			question = m.Text()
			break
		}
	}
	now := time.Now
	if b.Now != nil {
		now = b.Now
	}
	a := &answerer{ctx: ctx, tools: turn.Tools, out: out, now: now}
	intent := parseIntent(question)
	intent.run(a)
	if err := ctx.Err(); err != nil {
		return err
	}
	a.flush()
	return nil
}

// answerer writes one answer a line at a time, so that it streams.
type answerer struct {
	ctx   context.Context
	tools Tools
	out   Output
	now   func() time.Time
	lines []string
}

func (a *answerer) line(format string, args ...any) {
	a.lines = append(a.lines, fmt.Sprintf(format, args...))
}

// flush writes what is buffered; a tool call flushes first, so that the
// caller sees the answer grow while the next tool runs.
func (a *answerer) flush() {
	for _, l := range a.lines {
		a.out.Text(l + "\n")
	}
	a.lines = a.lines[:0]
}

// call runs a read-only tool and decodes its result into T.
func call[T any](a *answerer, name string, args map[string]any) (*T, error) {
	a.flush()
	raw, err := json.Marshal(args)
	if err != nil {
		return nil, err
	}
	res, err := a.tools.Call(a.ctx, ToolCall{Name: name, Arguments: raw})
	if err != nil {
		return nil, err
	}
	var out T
	if err := json.Unmarshal(res, &out); err != nil {
		return nil, fmt.Errorf("reading the %s result: %v", name, err)
	}
	return &out, nil
}

// failed shows a tool's error plainly: never a guess in its place.
func (a *answerer) failed(what string, err error) {
	a.line("I could not %s: %v.", what, err)
}

// intent is what a question asks.
type intent struct {
	run func(a *answerer)
}

// Patterns over the original question (case-insensitive); refs keep the
// caller's spelling.
var (
	reDisable     = regexp.MustCompile(`(?i)\b(?:disable|turn off|switch off|deactivate|stop)\s+(?:the\s+)?pipeline\s+(?:id\s+|#)?(\S+)`)
	reWhyNodePipe = regexp.MustCompile(`(?i)\bwhy\b.*?\b(?:node|host|client)\s+(\S+).*?\bpipeline\s+(\S+)`)
	reWhyPipeNode = regexp.MustCompile(`(?i)\bwhy\b.*?\bpipeline\s+(\S+).*?\b(?:node|host|client)\s+(\S+)`)
	reWhyBare     = regexp.MustCompile(`(?i)\bwhy\s+(?:doesn'?t|does|isn'?t|is|won'?t|didn'?t|did|can'?t)\s+(\S+)\s+(?:not\s+)?(?:get|have|receive|run|pick up)s?\s+(?:the\s+)?(?:pipeline\s+)?(\S+)`)
	reAssignment  = regexp.MustCompile(`(?i)\b(?:assign(?:ed|ment)s?|what (?:does|is)\s+(?:node|host)\s+\S+\s+(?:get|run)(?:ning)?)\b`)
	reNodeRef     = regexp.MustCompile(`(?i)\b(?:node|host|client)\s+(\S+)`)
	reForceLeave  = regexp.MustCompile(`(?i)\bforce[- ]?leave\s+(?:the\s+)?(?:server\s+|member\s+)?(\S+)`)
	reConfigRef   = regexp.MustCompile(`(?i)\bconfig\s+(\S+)`)
	rePipelineRef = regexp.MustCompile(`(?i)\bpipeline\s+(?:id\s+|#)?(\S+)`)
	reAboutNode   = regexp.MustCompile(`(?i)\b(?:tell me about|describe|details (?:of|for|about|on)|info(?:rmation)? (?:on|about)|status of|show(?: me)?)\s+(?:the\s+)?(?:node|host|client)\s+(\S+)`)
	reAbout       = regexp.MustCompile(`(?i)\b(?:tell me about|describe|details (?:of|for|about|on)|info(?:rmation)? (?:on|about)|status of|show(?: me)?)\s+(?:the\s+)?(\S+)`)
	rePercent     = regexp.MustCompile(`(?i)(\d+(?:\.\d+)?)\s*(?:%|percent|pct)`)
	reOver        = regexp.MustCompile(`(?i)\b(?:over|above|more than|greater than|exceeds?|>)\s*(\d+(?:\.\d+)?)`)
	reDays        = regexp.MustCompile(`(?i)(\d+(?:\.\d+)?)\s*(days?|d|weeks?|w|months?)\b`)
	reTopN        = regexp.MustCompile(`(?i)\btop\s+(\d+)`)
	reWindow      = regexp.MustCompile(`(?i)\b(?:last|past|previous|within)\s+(\d+(?:\.\d+)?\s*)?(minutes?|mins?|m|hours?|hrs?|h|days?|d|weeks?|w)\b`)
	reGroupBy     = regexp.MustCompile(`(?i)\b(?:by|per|for each|each)\s+(?:the\s+)?(data ?centers?|dcs?|os|operating systems?|arch(?:itecture)?s?|status(?:es)?|[a-z0-9_.\-]+)`)
	rePromQL      = regexp.MustCompile(`(?is)^\s*(?:promql|query)\s*:?\s+(.+)$`)
	reNodeWords   = regexp.MustCompile(`(?i)\b(?:nodes?|hosts?|clients?|machines?)\b`)
	reDownWords   = regexp.MustCompile(`(?i)\b(?:down|offline|dead|unreachable|not ready|unhealthy|failed|failing|missing|lost)\b`)
)

// trimRef strips the punctuation a question puts around a name.
func trimRef(s string) string {
	return strings.Trim(s, "?!.,;:'\"`()[]{}<>")
}

func has(q string, words ...string) bool {
	for _, w := range words {
		if strings.Contains(q, w) {
			return true
		}
	}
	return false
}

// parseIntent maps a question to what answers it. Order matters: the
// most specific forms first.
func parseIntent(question string) intent {
	q := strings.ToLower(strings.TrimSpace(question))
	switch {
	case q == "" || q == "help" || q == "?" || has(q, "what can you", "what do you know", "what questions", "how do i use you"):
		return intent{func(a *answerer) { a.help("") }}
	}
	if m := rePromQL.FindStringSubmatch(question); m != nil {
		return intent{func(a *answerer) { a.promql(strings.TrimSpace(m[1])) }}
	}
	if m := reDisable.FindStringSubmatch(question); m != nil {
		return intent{func(a *answerer) { a.proposeDisable(trimRef(m[1])) }}
	}
	if m := reForceLeave.FindStringSubmatch(question); m != nil {
		return intent{func(a *answerer) { a.proposeForceLeave(trimRef(m[1])) }}
	}
	if has(q, "force-leave", "force leave", "forceleave") {
		return intent{func(a *answerer) { a.noForceLeave() }}
	}
	if has(q, "why") {
		if m := reWhyNodePipe.FindStringSubmatch(question); m != nil {
			return intent{func(a *answerer) { a.whyPipeline(trimRef(m[1]), trimRef(m[2])) }}
		}
		if m := reWhyPipeNode.FindStringSubmatch(question); m != nil {
			return intent{func(a *answerer) { a.whyPipeline(trimRef(m[2]), trimRef(m[1])) }}
		}
		if m := reWhyBare.FindStringSubmatch(question); m != nil {
			return intent{func(a *answerer) { a.whyPipeline(trimRef(m[1]), trimRef(m[2])) }}
		}
	}
	if m := reAboutNode.FindStringSubmatch(question); m != nil && !isFiller(m[1]) {
		ref := trimRef(m[1])
		return intent{func(a *answerer) { a.node(ref) }}
	}
	if has(q, "certificate", "cert ", "certs", "tls") && has(q, "expir", "valid", "renew") {
		days := 30.0
		if m := reDays.FindStringSubmatch(q); m != nil {
			days, _ = strconv.ParseFloat(m[1], 64)
			switch {
			case strings.HasPrefix(m[2], "w"):
				days *= 7
			case strings.HasPrefix(m[2], "month"):
				days *= 30
			}
		}
		return intent{func(a *answerer) { a.certs(days) }}
	}
	if has(q, "disk", "storage", "filesystem", "disc ") {
		pct := 90.0
		if m := rePercent.FindStringSubmatch(q); m != nil {
			pct, _ = strconv.ParseFloat(m[1], 64)
		} else if m := reOver.FindStringSubmatch(q); m != nil {
			pct, _ = strconv.ParseFloat(m[1], 64)
		}
		return intent{func(a *answerer) { a.disks(pct) }}
	}
	if has(q, "cpu", "processor", "busiest") {
		n := 5
		if m := reTopN.FindStringSubmatch(q); m != nil {
			n, _ = strconv.Atoi(m[1])
		}
		return intent{func(a *answerer) { a.topCPU(n) }}
	}
	if has(q, "check") && has(q, "fail", "broken", "down", "red", "unhealthy", "error") {
		return intent{func(a *answerer) { a.failingChecks() }}
	}
	if has(q, "restart", "crashloop", "crash loop", "crashing") {
		w := parseWindow(q, time.Hour, nil)
		return intent{func(a *answerer) { a.restarts(w) }}
	}
	if has(q, "target", "scrape", "instance") {
		ref := ""
		if m := reConfigRef.FindStringSubmatch(question); m != nil && !isPlural(m[1]) {
			ref = trimRef(m[1])
		}
		return intent{func(a *answerer) { a.targets(ref) }}
	}
	if has(q, "changed", "change", "modified", "updated", "history", "what happened", "recent") && !has(q, "assign") {
		return intent{func(a *answerer) { a.changes(q) }}
	}
	if m := reNodeRef.FindStringSubmatch(question); m != nil && reAssignment.MatchString(question) {
		return intent{func(a *answerer) { a.assignment(trimRef(m[1])) }}
	}
	if m := rePipelineRef.FindStringSubmatch(question); m != nil && !isPlural(m[1]) {
		ref := trimRef(m[1])
		return intent{func(a *answerer) { a.pipeline(ref) }}
	}
	if has(q, "leader", "healthy", "health", "quorum", "raft", "server", "cluster ok", "cluster status") && !(reNodeWords.MatchString(q) && reDownWords.MatchString(q)) {
		return intent{func(a *answerer) { a.health() }}
	}
	if m := reNodeRef.FindStringSubmatch(question); m != nil && !isPlural(m[1]) && !isFiller(m[1]) {
		ref := trimRef(m[1])
		return intent{func(a *answerer) { a.node(ref) }}
	}
	if reNodeWords.MatchString(q) && reDownWords.MatchString(q) {
		return intent{func(a *answerer) { a.downNodes() }}
	}
	if has(q, "pipelines") || (has(q, "pipeline") && has(q, "list", "which", "what", "show", "all")) {
		return intent{func(a *answerer) { a.pipelines() }}
	}
	if has(q, "config") {
		return intent{func(a *answerer) { a.configs() }}
	}
	if reNodeWords.MatchString(q) {
		group := ""
		if m := reGroupBy.FindStringSubmatch(q); m != nil {
			group = groupName(m[1])
		}
		return intent{func(a *answerer) { a.countNodes(group) }}
	}
	if m := reAbout.FindStringSubmatch(question); m != nil {
		ref := trimRef(m[1])
		return intent{func(a *answerer) { a.node(ref) }}
	}
	return intent{func(a *answerer) { a.help(question) }}
}

// isPlural tells "pipelines"/"nodes" read as the ref of "pipeline X".
func isPlural(ref string) bool {
	r := strings.ToLower(trimRef(ref))
	return r == "" || r == "s" || strings.HasPrefix(r, "s ") || slices.Contains([]string{"are", "is", "does", "do", "has", "have", "and", "or", "in", "with", "that", "which"}, r)
}

// isFiller tells words that follow "node" without naming one.
func isFiller(ref string) bool {
	r := strings.ToLower(trimRef(ref))
	return slices.Contains([]string{"", "are", "is", "down", "count", "counts", "status", "statuses", "list", "by", "per", "in", "with", "that", "which", "there", "up", "ready", "attributes", "s"}, r)
}

func groupName(s string) string {
	s = strings.ToLower(s)
	switch {
	case strings.HasPrefix(s, "data") || strings.HasPrefix(s, "dc"):
		return "datacenter"
	case s == "os" || strings.HasPrefix(s, "operating"):
		return "os"
	case strings.HasPrefix(s, "arch"):
		return "arch"
	case strings.HasPrefix(s, "status"):
		return "status"
	}
	return s
}

// parseWindow reads "last 30 minutes", "past 2 hours", "last hour",
// "today", "this week" from q; dflt otherwise. label, when not nil,
// receives the phrase to show.
func parseWindow(q string, dflt time.Duration, now func() time.Time) time.Duration {
	if m := reWindow.FindStringSubmatch(q); m != nil {
		n := 1.0
		if s := strings.TrimSpace(m[1]); s != "" {
			n, _ = strconv.ParseFloat(s, 64)
		}
		unit := time.Hour
		switch u := m[2]; {
		case strings.HasPrefix(u, "m"):
			unit = time.Minute
		case strings.HasPrefix(u, "d"):
			unit = 24 * time.Hour
		case strings.HasPrefix(u, "w"):
			unit = 7 * 24 * time.Hour
		}
		if d := time.Duration(n * float64(unit)); d > 0 {
			return d
		}
	}
	switch {
	case strings.Contains(q, "today") && now != nil:
		t := now()
		midnight := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, t.Location())
		return max(t.Sub(midnight), time.Minute)
	case strings.Contains(q, "yesterday"):
		return 48 * time.Hour
	case strings.Contains(q, "this week") || strings.Contains(q, "week"):
		return 7 * 24 * time.Hour
	case strings.Contains(q, "day"):
		return 24 * time.Hour
	}
	return dflt
}

// --- answers ---

var helpQuestions = []string{
	"Which nodes are down?",
	"How many nodes are there? / Nodes by datacenter / Nodes by os",
	"Tell me about node web-1 (ID, ID prefix or name)",
	"What is assigned to node web-1?",
	"Why doesn't node web-1 get pipeline prod-logs?",
	"What changed in the last hour? (also: last 30 minutes, today, last 2 days)",
	"Which hosts have disks over 80 %? (default 90 %)",
	"Top CPU hosts (top 10 CPU hosts)",
	"Which checks are failing?",
	"Which certificates expire in 30 days?",
	"Which containers restarted in the last hour?",
	"Which scrape targets are down? / How are the targets of config node-metrics?",
	"Is the cluster healthy? / Who is the leader?",
	"List pipelines / Show pipeline 3 / List configs",
	"Disable pipeline 3 (proposed; runs only when you confirm it)",
	"Force-leave server s2 (a failed server; proposed, runs only when you confirm it)",
	"promql: <expression> (any PromQL over host metrics)",
}

func (a *answerer) help(question string) {
	if strings.TrimSpace(question) != "" {
		a.line("I am the built-in assistant and cannot answer that: I understand a fixed set of questions about this cluster (set up an OpenAI-compatible backend for free-form questions).")
	} else {
		a.line("I am the built-in assistant: I answer questions about this cluster from its live state, with your token's permissions.")
	}
	a.line("")
	a.line("You can ask:")
	for _, h := range helpQuestions {
		a.line("- %s", h)
	}
}

func short(id string) string {
	if len(id) > 8 {
		return id[:8]
	}
	return id
}

func plural(n int, one, many string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, one)
	}
	return fmt.Sprintf("%d %s", n, many)
}

func (a *answerer) downNodes() {
	res, err := call[listNodesResult](a, ToolListNodes, map[string]any{"status": structs.NodeStatusDown, "limit": 50})
	if err != nil {
		a.failed("list the nodes", err)
		return
	}
	switch {
	case res.Total == 0:
		a.line("No client nodes are registered, so none is down.")
		return
	case res.Matching == 0 && res.Total == 1:
		a.line("No node is down: the only node is up (%s).", statusCounts(res.ByStatus))
		return
	case res.Matching == 0:
		a.line("No node is down: all %s are up (%s).", plural(res.Total, "node", "nodes"), statusCounts(res.ByStatus))
		return
	}
	a.line("**%d of %d nodes are down:**", res.Matching, res.Total)
	for _, n := range res.Nodes {
		a.line("- %s (`%s`, %s)%s", n.Name, short(n.ID), n.Datacenter, suffix(" — ", n.StatusDescription))
	}
	if res.Truncated {
		a.line("- … and %d more", res.Matching-len(res.Nodes))
	}
}

func suffix(sep, s string) string {
	if s == "" {
		return ""
	}
	return sep + s
}

func statusCounts(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%d %s", m[k], k))
	}
	return strings.Join(parts, ", ")
}

func (a *answerer) countNodes(group string) {
	args := map[string]any{"limit": 1}
	if group != "" {
		args["group_by"] = group
	}
	res, err := call[listNodesResult](a, ToolListNodes, args)
	if err != nil {
		a.failed("list the nodes", err)
		return
	}
	if res.Total == 0 {
		a.line("No client nodes are registered.")
		return
	}
	a.line("There %s: %s.", map[bool]string{true: "is " + plural(res.Total, "node", "nodes"), false: "are " + plural(res.Total, "node", "nodes")}[res.Total == 1], statusCounts(res.ByStatus))
	if group == "" {
		return
	}
	a.line("")
	a.line("By %s:", group)
	keys := make([]string, 0, len(res.Groups))
	for k := range res.Groups {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(x, y string) int {
		if d := res.Groups[y] - res.Groups[x]; d != 0 {
			return d
		}
		return strings.Compare(x, y)
	})
	for _, k := range keys {
		a.line("- %s: %d", k, res.Groups[k])
	}
}

func (a *answerer) node(ref string) {
	n, err := call[nodeDetails](a, ToolGetNode, map[string]any{"node": ref})
	if err != nil {
		a.failed("look up node "+ref, err)
		return
	}
	a.line("**%s** (`%s`)", n.Name, n.ID)
	a.line("- Status: %s%s%s", n.Status, suffix(" — ", n.StatusDescription), suffix(", since ", n.StatusSince))
	a.line("- Datacenter: %s", n.Datacenter)
	if n.External {
		a.line("- External node (pushes host metrics with an agent token; never heartbeats)")
	}
	if n.HTTPAddr != "" {
		a.line("- HTTP address: %s", n.HTTPAddr)
	}
	if len(n.Attributes) > 0 {
		a.line("- Attributes: %s", kv(n.Attributes))
	}
	if len(n.Meta) > 0 {
		a.line("- Meta: %s", kv(n.Meta))
	}
	as, err := call[assignmentResult](a, ToolNodeAssignment, map[string]any{"node": n.ID})
	if err != nil {
		a.line("- Assignment: unknown (%v)", err)
		return
	}
	a.assignmentLines(as)
}

func kv(m map[string]string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s=%s", k, m[k]))
	}
	return strings.Join(parts, ", ")
}

func (a *answerer) assignmentLines(as *assignmentResult) {
	if len(as.Pipelines) == 0 {
		a.line("- Pipelines: none")
	} else {
		var ps []string
		for _, p := range as.Pipelines {
			ps = append(ps, fmt.Sprintf("%s (ID %s)", p.Name, p.ID))
		}
		a.line("- Pipelines: %s", strings.Join(ps, ", "))
	}
	if len(as.Configs) == 0 {
		a.line("- Agent instance configs: none")
	} else {
		a.line("- Agent instance configs: %s", strings.Join(as.Configs, ", "))
	}
	switch {
	case as.AppliedError != "":
		a.line("- Last apply failed: %s", as.AppliedError)
	case as.Hash != "" && as.UpToDate:
		a.line("- Applied: up to date%s", suffix(" (", as.AppliedAt)+map[bool]string{true: ")", false: ""}[as.AppliedAt != ""])
	case as.Hash != "" && as.AppliedHash == "":
		a.line("- Applied: the node has not reported applying it yet")
	case as.Hash != "":
		a.line("- Applied: an older version (the node has not applied the latest pipelines yet)")
	}
}

func (a *answerer) assignment(ref string) {
	as, err := call[assignmentResult](a, ToolNodeAssignment, map[string]any{"node": ref})
	if err != nil {
		a.failed("read the assignment of node "+ref, err)
		return
	}
	a.line("Node **%s** (`%s`, %s) is assigned:", as.Node.Name, short(as.Node.ID), as.Node.Status)
	a.assignmentLines(as)
}

func (a *answerer) whyPipeline(nodeRef, pipelineRef string) {
	r, err := call[explainResult](a, ToolExplainPipeline, map[string]any{"node": nodeRef, "pipeline": pipelineRef})
	if err != nil {
		a.failed(fmt.Sprintf("check node %s against pipeline %s", nodeRef, pipelineRef), err)
		return
	}
	node := fmt.Sprintf("**%s** (`%s`)", r.Node.Name, short(r.Node.ID))
	pipe := fmt.Sprintf("**%s** (ID %s)", r.Pipeline.Name, r.Pipeline.ID)
	if r.ShouldGet {
		a.line("Node %s matches pipeline %s: it should get it.", node, pipe)
	} else {
		a.line("Node %s does not get pipeline %s:", node, pipe)
		if r.NotAssignable != "" {
			a.line("- %s.", capitalize(r.NotAssignable))
		}
		if r.MatcherError != "" {
			a.line("- Its matchers do not parse: %s.", r.MatcherError)
		}
		failed := 0
		for _, m := range r.Matchers {
			if !m.Matched {
				failed++
			}
		}
		if failed > 0 {
			a.line("- %d of its %d matchers do not match the node.", failed, len(r.Matchers))
		}
	}
	if len(r.Matchers) == 0 && r.MatcherError == "" {
		a.line("")
		a.line("The pipeline has no matchers, so it matches every node.")
	} else if len(r.Matchers) > 0 {
		a.line("")
		a.line("Each matcher against the node's attributes and meta (all must match):")
		for _, m := range r.Matchers {
			verdict := "matches"
			if !m.Matched {
				verdict = "does NOT match"
			}
			a.line("- `%s` %s — %s", m.Matcher, verdict, nodeValue(m))
		}
	}
	switch {
	case r.AssignmentError != "":
		a.line("")
		a.line("(The node's current assignment could not be read: %s.)", r.AssignmentError)
	case r.Assigned == nil:
	case *r.Assigned && !r.ShouldGet:
		a.line("")
		a.line("The node's current assignment still has the pipeline: the scheduler has not caught up with the change yet.")
	case !*r.Assigned && r.ShouldGet:
		a.line("")
		a.line("The node's current assignment does not have it yet: the scheduler has not written the new assignment yet (or the node is down).")
	case *r.Assigned:
		a.line("")
		a.line("The node's current assignment has it.")
	}
}

func nodeValue(m matcherResult) string {
	if m.Source == "missing" {
		return fmt.Sprintf("the node has no %s attribute or meta (compared as \"\")", m.Attribute)
	}
	return fmt.Sprintf("the node's %s %s is %q", m.Source, m.Attribute, m.NodeValue)
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

func humanWindow(d time.Duration) string {
	switch {
	case d == time.Hour:
		return "the last hour"
	case d == 24*time.Hour:
		return "the last day"
	case d%(24*time.Hour) == 0:
		return fmt.Sprintf("the last %d days", d/(24*time.Hour))
	case d%time.Hour == 0:
		return fmt.Sprintf("the last %d hours", d/time.Hour)
	case d%time.Minute == 0:
		return fmt.Sprintf("the last %d minutes", d/time.Minute)
	}
	return "the last " + d.Round(time.Second).String()
}

func (a *answerer) changes(q string) {
	w := parseWindow(q, time.Hour, a.now)
	label := "in " + humanWindow(w)
	if strings.Contains(q, "today") && !reWindow.MatchString(q) {
		label = "today"
		w = w.Round(time.Second)
	}
	r, err := call[changesResult](a, ToolRecentChanges, map[string]any{"since": w.String()})
	if err != nil {
		a.failed("read the recent changes", err)
		return
	}
	if len(r.Changes) == 0 {
		a.line("No pipeline or config changed %s (since %s).", label, r.Since)
	} else {
		a.line("**%s** %s (since %s), newest first:", plural(len(r.Changes), "change", "changes"), label, r.Since)
		for _, c := range r.Changes {
			switch c.Kind {
			case "pipeline":
				state := ""
				if c.Enabled != nil && c.Operation != structs.RevisionDelete {
					state = map[bool]string{true: ", enabled", false: ", disabled"}[*c.Enabled]
				}
				a.line("- %s pipeline %s (ID %s) %s%s — revision %s", c.At, c.Name, c.ID, opWord(c.Operation), state, c.Revision)
			default:
				a.line("- %s %s config %s %s — revision %s", c.At, c.ID, c.Name, opWord(c.Operation), c.Revision)
			}
		}
	}
	if r.PipelinesError != "" {
		a.line("Pipeline changes are not shown: %s.", r.PipelinesError)
	}
	if r.ConfigsError != "" {
		a.line("Config changes are not shown: %s.", r.ConfigsError)
	}
}

func opWord(op string) string {
	switch op {
	case structs.RevisionInsert:
		return "created"
	case structs.RevisionUpdate:
		return "updated"
	case structs.RevisionDelete:
		return "deleted"
	}
	return strings.ToLower(op)
}

func pct(v value) string {
	return strconv.FormatFloat(math.Round(float64(v)*10)/10, 'f', 1, 64) + " %"
}

func gib(v value) string {
	return strconv.FormatFloat(float64(v)/(1<<30), 'f', 1, 64)
}

func (a *answerer) warnings(ws []string) {
	for _, w := range ws {
		a.line("Warning: %s", w)
	}
}

func (a *answerer) disks(threshold float64) {
	r, err := call[hostsResult](a, ToolDisksOver, map[string]any{"percent": threshold})
	if err != nil {
		a.failed("query the disks", err)
		return
	}
	t := strconv.FormatFloat(threshold, 'f', -1, 64) + " %"
	if len(r.Hosts) == 0 {
		a.line("No host's disk is over %s (among hosts that pushed host metrics in the last 5 minutes).", t)
	} else {
		a.line("**%s** %s disks over %s:", plural(len(r.Hosts), "host", "hosts"), map[bool]string{true: "has", false: "have"}[len(r.Hosts) == 1], t)
		for _, h := range r.Hosts {
			size := ""
			if h.TotalBytes > 0 {
				size = fmt.Sprintf(" (%s of %s GiB)", gib(h.UsedBytes), gib(h.TotalBytes))
			}
			a.line("- %s: %s used%s", hostName(h.Node, h.NodeID), pct(h.Percent), size)
		}
	}
	a.warnings(r.Warnings)
}

func hostName(name, id string) string {
	switch {
	case name == "":
		return "`" + short(id) + "`"
	case id == "":
		return name
	}
	return fmt.Sprintf("%s (`%s`)", name, short(id))
}

func (a *answerer) topCPU(n int) {
	r, err := call[hostsResult](a, ToolTopCPU, map[string]any{"limit": n})
	if err != nil {
		a.failed("query CPU usage", err)
		return
	}
	if len(r.Hosts) == 0 {
		a.line("No host pushed host metrics in the last 5 minutes, so there is no CPU figure.")
	} else {
		a.line("Top %d hosts by CPU usage now:", len(r.Hosts))
		for i, h := range r.Hosts {
			a.line("%d. %s: %s", i+1, hostName(h.Node, h.NodeID), pct(h.Percent))
		}
	}
	a.warnings(r.Warnings)
}

func (a *answerer) failingChecks() {
	r, err := call[checksResult](a, ToolFailingChecks, nil)
	if err != nil {
		a.failed("query the checks", err)
		return
	}
	if len(r.Checks) == 0 {
		a.line("No check is failing (HTTP, TCP and TLS checks at their latest run).")
	} else {
		a.line("**%s failing:**", plural(len(r.Checks), "check is", "checks are"))
		for _, c := range r.Checks {
			code := ""
			if c.StatusCode != nil {
				code = fmt.Sprintf(", status %d", *c.StatusCode)
			}
			a.line("- %s: %s %s%s%s", hostName(c.Node, c.NodeID), strings.ToUpper(c.Type), c.Target, suffix(" (container ", c.Container)+map[bool]string{true: ")", false: ""}[c.Container != ""], code)
		}
	}
	a.warnings(r.Warnings)
}

func (a *answerer) certs(days float64) {
	r, err := call[certsResult](a, ToolExpiringCerts, map[string]any{"days": days})
	if err != nil {
		a.failed("query the certificates", err)
		return
	}
	d := strconv.FormatFloat(days, 'f', -1, 64)
	if len(r.Certs) == 0 {
		a.line("No certificate expires within %s days (among the TLS checks hosts reported in the last 5 minutes).", d)
	} else {
		a.line("**%s** expire within %s days:", plural(len(r.Certs), "certificate", "certificates"), d)
		for _, c := range r.Certs {
			when := "expires in " + dayCount(float64(c.Days))
			if c.Days < 0 {
				when = "EXPIRED " + dayCount(-float64(c.Days)) + " ago"
			}
			target := c.Check
			if c.Host != "" && c.Check != c.Host+":"+c.Port {
				target += fmt.Sprintf(" (%s:%s)", c.Host, c.Port)
			}
			a.line("- %s: %s %s", hostName(c.Node, c.NodeID), target, when)
		}
	}
	a.warnings(r.Warnings)
}

func dayCount(d float64) string {
	s := strconv.FormatFloat(d, 'f', -1, 64)
	if d == 1 {
		return s + " day"
	}
	return s + " days"
}

func (a *answerer) restarts(w time.Duration) {
	r, err := call[restartsResult](a, ToolRestartingContainer, map[string]any{"window": w.String()})
	if err != nil {
		a.failed("query container restarts", err)
		return
	}
	if len(r.Containers) == 0 {
		a.line("No container restarted in %s.", humanWindow(w))
	} else {
		a.line("**%s** restarted in %s:", plural(len(r.Containers), "container", "containers"), humanWindow(w))
		for _, c := range r.Containers {
			a.line("- %s on %s: %s", c.Container, hostName(c.Node, c.NodeID), plural(int(c.Restarts), "restart", "restarts"))
		}
	}
	a.warnings(r.Warnings)
}

func (a *answerer) health() {
	r, err := call[healthResult](a, ToolClusterHealth, nil)
	if err != nil {
		a.failed("read the cluster's health", err)
		return
	}
	leaderName := ""
	for _, p := range r.Raft {
		if p.Leader {
			leaderName = p.Node
		}
	}
	var problems []string
	if !r.HasLeader {
		problems = append(problems, "there is no leader (writes and consistent reads fail until one is elected)")
	}
	if r.Failed > 0 {
		problems = append(problems, plural(r.Failed, "server is", "servers are")+" failed")
	}
	if r.RaftError == "" && r.Voters > 0 && r.Voters%2 == 0 {
		problems = append(problems, fmt.Sprintf("raft has an even number of voters (%d), which tolerates no more failures than %d", r.Voters, r.Voters-1))
	}
	switch {
	case len(problems) > 0:
		a.line("**The cluster is not healthy:** %s.", strings.Join(problems, "; "))
	case r.MembersError != "" || r.RaftError != "":
		a.line("**The cluster has a leader**; the rest could not all be read with your token.")
	default:
		a.line("**The cluster is healthy.**")
	}
	if r.HasLeader {
		a.line("- Leader: %s%s", r.Leader, suffix(" — ", leaderName))
	}
	if r.MembersError != "" {
		a.line("- Servers: unknown (%s)", r.MembersError)
	} else {
		a.line("- Servers: %d alive, %d failed, %d left", r.Alive, r.Failed, r.Left)
		for _, s := range r.Servers {
			if s.Status != "alive" {
				a.line("  - %s (%s): %s", s.Name, s.Addr, s.Status)
			}
		}
	}
	if r.RaftError != "" {
		a.line("- Raft peers: unknown (%s)", r.RaftError)
	} else {
		a.line("- Raft: %s (quorum %d)", plural(r.Voters, "voter", "voters"), r.Voters/2+1)
	}
}

func (a *answerer) pipelines() {
	r, err := call[listPipelinesResult](a, ToolListPipelines, nil)
	if err != nil {
		a.failed("list the pipelines", err)
		return
	}
	if r.Total == 0 {
		a.line("There are no pipelines.")
		return
	}
	enabled := 0
	for _, p := range r.Pipelines {
		if p.Enabled {
			enabled++
		}
	}
	a.line("**%s** (%d enabled):", plural(r.Total, "pipeline", "pipelines"), enabled)
	for _, p := range r.Pipelines {
		a.line("- %s %s — %s, %s%s", p.ID, p.Name, map[bool]string{true: "enabled", false: "disabled"}[p.Enabled], matchersText(p.Matchers),
			map[bool]string{true: ", OTel", false: ""}[p.ConfigType == structs.ConfigTypeOTel])
	}
}

func matchersText(ms []string) string {
	if len(ms) == 0 {
		return "no matchers (every node)"
	}
	return "matchers " + "`" + strings.Join(ms, "`, `") + "`"
}

func (a *answerer) pipeline(ref string) {
	p, err := call[pipelineSummary](a, ToolGetPipeline, map[string]any{"pipeline": ref})
	if err != nil {
		a.failed("look up pipeline "+ref, err)
		return
	}
	a.line("Pipeline **%s** (ID %s): %s, %s.", p.Name, p.ID, map[bool]string{true: "enabled", false: "disabled"}[p.Enabled], matchersText(p.Matchers))
	if p.ConfigType != "" {
		a.line("- Config type: %s", p.ConfigType)
	}
	if p.UpdatedAt != "" {
		a.line("- Last updated: %s", p.UpdatedAt)
	}
	if p.Contents != "" {
		lines := strings.Split(strings.TrimRight(p.Contents, "\n"), "\n")
		a.line("- Contents: %s", plural(len(lines), "line", "lines"))
		a.line("```")
		for i, l := range lines {
			if i == 20 {
				a.line("… (%d more lines)", len(lines)-20)
				break
			}
			a.line("%s", l)
		}
		a.line("```")
	}
}

func (a *answerer) configs() {
	r, err := call[listConfigsResult](a, ToolListConfigs, nil)
	if err != nil {
		a.failed("list the configs", err)
		return
	}
	if r.Total == 0 {
		a.line("There are no agent instance configs.")
		return
	}
	a.line("**%s:**", plural(r.Total, "agent instance config", "agent instance configs"))
	for _, c := range r.Configs {
		jobs := ""
		if len(c.JobNames) > 0 {
			jobs = ", jobs " + strings.Join(c.JobNames, ", ")
		}
		a.line("- %s (%s%s)%s", c.Name, c.Kind, jobs, suffix(", updated ", c.UpdatedAt))
	}
}

func (a *answerer) promql(q string) {
	r, err := call[promResult](a, ToolPromQL, map[string]any{"query": q})
	if err != nil {
		a.failed("run the query", err)
		return
	}
	if len(r.Series) == 0 {
		a.line("`%s` returned no series.", q)
	} else {
		a.line("`%s` (%s, %s):", q, r.Type, plural(len(r.Series), "series", "series"))
		for i, s := range r.Series {
			if i == 50 {
				a.line("- … %d more", len(r.Series)-50)
				break
			}
			a.line("- {%s} %s", kv(s.Labels), strconv.FormatFloat(float64(s.Value), 'g', 6, 64))
		}
	}
	a.warnings(r.Warnings)
}

func (a *answerer) proposeDisable(ref string) {
	p, err := call[pipelineSummary](a, ToolGetPipeline, map[string]any{"pipeline": ref})
	if err != nil {
		a.failed("look up pipeline "+ref, err)
		return
	}
	if !p.Enabled {
		a.line("Pipeline **%s** (ID %s) is already disabled: nothing to do.", p.Name, p.ID)
		return
	}
	args, _ := json.Marshal(map[string]string{"id": p.ID})
	a.flush()
	id := a.out.Propose(ToolCall{Name: ToolDisablePipeline, Arguments: args})
	a.line("I propose to disable pipeline **%s** (ID %s): nodes and collectors whose matchers select it stop getting it.", p.Name, p.ID)
	a.line("Nothing has changed yet: the change awaits your confirmation (request %s) and runs with your token when you approve it.", id)
}

func (a *answerer) noForceLeave() {
	a.line("Which server? Ask \"force-leave server <name>\" (a failed server, such as s2): I will propose it for you to confirm.")
}

// proposeForceLeave proposes the force-leave of a failed server; it runs
// only when the caller confirms it.
func (a *answerer) proposeForceLeave(name string) {
	args, _ := json.Marshal(map[string]string{"name": name})
	a.flush()
	id := a.out.Propose(ToolCall{Name: ToolForceLeave, Arguments: args})
	a.line("I propose to force-leave server **%s**: gossip marks it left and the leader removes it from raft (a server that is alive refutes it).", name)
	a.line("Nothing has changed yet: the change awaits your confirmation (request %s) and runs with your token (agent:write) when you approve it.", id)
}

// targets answers "which targets are down?" and "how is config X doing?":
// where metrics instances run and how their scrape targets are.
func (a *answerer) targets(config string) {
	args := map[string]any{}
	if config != "" {
		args["config"] = config
	}
	res, err := call[instancesResult](a, ToolInstances, args)
	if err != nil {
		a.failed("read the metrics instances", err)
		return
	}
	switch {
	case res.Configs == 0:
		a.line("No agent instance config (metrics) exists, so no node runs a metrics instance for the cluster.")
		return
	case len(res.Instances) == 0:
		a.line("No node runs %s yet: the config scheduler assigns configs to ready nodes.", plural(res.Configs, "config", "configs"))
		return
	}
	a.line("**%s on %s: targets %d up, %d down, %d unknown.**", plural(len(res.Instances), "instance", "instances"),
		plural(res.Configs, "config", "configs"), res.TargetsUp, res.TargetsDown, res.TargetsUnknown)
	for _, in := range res.Instances {
		if in.TargetsDown == 0 && in.Error == "" && in.State == "running" && config == "" {
			continue
		}
		line := fmt.Sprintf("- %s on node %s (%s): %s, targets %d up, %d down, %d unknown", in.Config, in.Node, in.NodeStatus,
			in.State, in.TargetsUp, in.TargetsDown, in.TargetsUnknown)
		if in.Error != "" {
			line += "; error: " + in.Error
		}
		if in.LastError != "" {
			line += "; last scrape error: " + in.LastError
		}
		a.line("%s", line)
	}
	if res.TargetsDown == 0 && config == "" {
		a.line("Every instance is running and no target is down.")
	}
}
