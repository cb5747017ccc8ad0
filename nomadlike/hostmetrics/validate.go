// Package hostmetrics receives spec 004's host-metrics payloads
// (POST /api/metrics/ingest): it validates a body against the spec's schema,
// turns the payload into Prometheus series, and keeps them. See DESIGN.md.
package hostmetrics

import (
	"fmt"
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"
	"unsafe"

	"github.com/nomadlike/nomadlike/structs"
)

// Bounds on what a caller controls. A payload near every bound at once is
// still a few tens of MB; MaxBodyBytes is the real cap, the others keep one
// list or one string from taking the whole budget and name the field that
// went over. The HTTP layer should stop reading at MaxBodyBytes
// (http.MaxBytesReader) rather than buffer a larger body only for Decode to
// refuse it.
const (
	// MaxBodyBytes: a realistic payload (20 containers, 10 processes per
	// list, 5 checks of each kind) is ~22 KiB; 4 MiB is far above any
	// host's and keeps a flood of large bodies from holding the server's
	// memory.
	MaxBodyBytes = 4 << 20
	// MaxStringBytes bounds every string, keys and unknown fields included,
	// after unescaping.
	MaxStringBytes = 4096
	// MaxDepth bounds the nesting of objects and arrays, unknown fields
	// included; the schema itself needs 5.
	MaxDepth = 32
	// MaxListEntries bounds services, serviceHealthChecks, tcpCheckResults,
	// certCheckResults and containers.
	MaxListEntries = 1000
	// MaxTopProcesses bounds topProcesses.byCpu and topProcesses.byMemory.
	MaxTopProcesses = 100
	// MaxLabels bounds one container's labels.
	MaxLabels = 128
	// MaxPortsOrMounts bounds one container's ports and its mounts.
	MaxPortsOrMounts = 256
	// MaxUnknownFields bounds the list of ignored fields Decode returns;
	// the first ones in document order are kept.
	MaxUnknownFields = 64
)

// dateTimeRE is spec 004's pattern for checkedAt, verbatim: a real calendar
// date (leap years included) and a UTC "Z" time. time.Parse would take
// offsets other than Z, which the spec does not.
var dateTimeRE = regexp.MustCompile(`^(?:(?:\d\d[2468][048]|\d\d[13579][26]|\d\d0[48]|[02468][048]00|[13579][26]00)-02-29|\d{4}-(?:(?:0[13578]|1[02])-(?:0[1-9]|[12]\d|3[01])|(?:0[469]|11)-(?:0[1-9]|[12]\d|30)|(?:02)-(?:0[1-9]|1\d|2[0-8])))T(?:(?:[01]\d|2[0-3]):[0-5]\d(?::[0-5]\d(?:\.\d+)?)?(?:Z))$`)

// Decode validates body against spec 004's schema and returns the payload
// and the paths of the fields it ignored because the schema does not know
// them (sorted). On the first violation in document order it returns a 400
// VALIDATION_ERROR naming the field; a body that is not well-formed JSON, or
// nests deeper than MaxDepth, is reported as such even when a schema
// violation comes before the fault.
//
// Decode is one pass of a parser made for this schema rather than
// encoding/json: encoding/json matches keys case-insensitively, takes the
// last of duplicate keys, cannot tell a missing required field from its
// zero value, and would need a second pass for unknown fields; see DESIGN.md
// for the measurements. The payload's strings share body's bytes: body
// must not change while the payload or its error is in use.
func Decode(body []byte) (*structs.HostMetrics, []string, *structs.IngestError) {
	return decode(body, nil)
}

// DecodePooled is Decode into storage reused from one payload to the next
// (its lists, each container's ports, mounts and labels, the optional
// fields' values): the decoded payload of every push is garbage a
// moment later, and its allocations were a fifth of an ingest's cost.
// release gives the storage back; p must not be used after it. Lists that
// came empty may be empty rather than nil, which encodes the same.
func DecodePooled(body []byte) (p *structs.HostMetrics, ignored []string, release func(), err *structs.IngestError) {
	sc := scratches.Get().(*scratch)
	sc.reset()
	sc.bodyLen = len(body)
	p, ignored, err = decode(body, sc)
	if err != nil {
		sc.release()
		return nil, nil, nil, err
	}
	return p, ignored, sc.release, nil
}

func decode(body []byte, sc *scratch) (*structs.HostMetrics, []string, *structs.IngestError) {
	if len(body) > MaxBodyBytes {
		return nil, nil, &structs.IngestError{
			Status:  413,
			Code:    structs.IngestValidationError,
			Message: fmt.Sprintf("the body is %d bytes, more than the %d allowed", len(body), MaxBodyBytes),
			Hint:    "send fewer containers, checks or labels in one payload",
		}
	}
	// The body itself backs every string of the payload (substrings),
	// instead of one allocation per string or a copy of the body: the
	// caller keeps it unchanged for as long as it keeps the payload, as
	// Store keeps it as the node's latest payload anyway.
	d := decoder{s: unsafe.String(unsafe.SliceData(body), len(body)), sc: sc}
	p := new(structs.HostMetrics)
	if sc != nil {
		p = &sc.p
		d.floats, d.strs = sc.floats, sc.strs
	}
	ok := d.document(p)
	if sc != nil {
		sc.floatsUsed, sc.strsUsed = d.floatsUsed, d.strsUsed
	}
	if !ok {
		if !d.syntax {
			q := decoder{s: d.s, syntaxOnly: true}
			if !q.document(nil) {
				return nil, nil, q.err
			}
		}
		return nil, nil, d.err
	}
	sort.Strings(d.unknown)
	return p, d.unknown, nil
}

// scratch is DecodePooled's storage. Entries past a list's length keep
// the strings of an earlier payload until they are reused, so a pooled
// scratch may keep one earlier body alive.
type scratch struct {
	p   structs.HostMetrics
	top structs.TopProcesses
	// bodyLen is the size of the body last decoded here.
	bodyLen int
	// floats and strs are the optional fields' values, sized from the
	// largest payload decoded into this scratch so far.
	floats               []float64
	strs                 []string
	floatsUsed, strsUsed int
}

var scratches = sync.Pool{New: func() any { return new(scratch) }}

func (sc *scratch) reset() {
	p := &sc.p
	*p = structs.HostMetrics{Services: p.Services[:0], ServiceHealthChecks: p.ServiceHealthChecks[:0],
		TCPCheckResults: p.TCPCheckResults[:0], CertCheckResults: p.CertCheckResults[:0], Containers: p.Containers[:0]}
	sc.top = structs.TopProcesses{ByCPU: sc.top.ByCPU[:0], ByMemory: sc.top.ByMemory[:0]}
	sc.floatsUsed, sc.strsUsed = 0, 0
}

// maxPooledBody is the largest body whose scratch goes back to the pool:
// ten times a realistic payload. A larger one (up to MaxBodyBytes) would
// keep lists and arenas its size in the pool; it is left to the garbage
// collector instead.
const maxPooledBody = 256 << 10

func (sc *scratch) release() {
	if sc.bodyLen > maxPooledBody {
		return
	}
	// The next payload takes its optional values from one arena when it
	// is no larger than this one.
	if sc.floatsUsed > len(sc.floats) {
		sc.floats = make([]float64, sc.floatsUsed+chunk)
	}
	if sc.strsUsed > len(sc.strs) {
		sc.strs = make([]string, sc.strsUsed+chunk)
	}
	scratches.Put(sc)
}

// kind is a field's JSON type in the schema table.
type kind uint8

const (
	kNumber kind = iota
	kString
	kDateTime
	kBool
	kArray
	kObject
	kLabels
)

// fieldDef is one field of one object of the schema. The parser's switch
// for an object numbers its fields in the table's order: a field's index is
// its bit in the set of fields seen.
type fieldDef struct {
	name     string
	kind     kind
	required bool
}

// The schema, one table per object, in spec 004's order. Tests generate
// their missing-field and wrong-type cases from these tables.
var (
	rootFields = []fieldDef{
		{"cpuPercent", kNumber, false}, {"memoryUsedMb", kNumber, false}, {"memoryTotalMb", kNumber, false},
		{"swapUsedMb", kNumber, false}, {"swapTotalMb", kNumber, false}, {"diskUsedGb", kNumber, false},
		{"diskTotalGb", kNumber, false}, {"loadAvg1", kNumber, false}, {"loadAvg5", kNumber, false},
		{"loadAvg15", kNumber, false}, {"uptime", kNumber, false}, {"openFds", kNumber, false},
		{"maxFds", kNumber, false}, {"tcpEstablished", kNumber, false}, {"tcpListen", kNumber, false},
		{"tcpTimeWait", kNumber, false}, {"tcpCloseWait", kNumber, false}, {"tcpTotal", kNumber, false},
		{"serverHealthy", kBool, false}, {"agentVersion", kString, false}, {"services", kArray, false},
		{"serviceHealthChecks", kArray, false}, {"tcpCheckResults", kArray, false},
		{"certCheckResults", kArray, false}, {"containers", kArray, false}, {"topProcesses", kObject, false},
		{"collectedAt", kDateTime, false},
	}
	serviceFields = []fieldDef{
		{"containerName", kString, true}, {"cpuPercent", kNumber, false}, {"memoryUsedMb", kNumber, false},
		{"memoryLimitMb", kNumber, false}, {"networkRxMb", kNumber, false}, {"networkTxMb", kNumber, false},
		{"blockReadMb", kNumber, false}, {"blockWriteMb", kNumber, false}, {"restartCount", kNumber, false},
		{"state", kString, false}, {"health", kString, false},
	}
	healthCheckFields = []fieldDef{
		{"containerName", kString, true}, {"healthCheckUrl", kString, true}, {"success", kBool, true},
		{"statusCode", kNumber, false}, {"durationMs", kNumber, false}, {"checkedAt", kDateTime, false},
		{"error", kString, false},
	}
	tcpCheckFields = []fieldDef{
		{"containerName", kString, true}, {"host", kString, true}, {"port", kNumber, true},
		{"name", kString, false}, {"success", kBool, true}, {"durationMs", kNumber, true},
		{"error", kString, false},
	}
	certCheckFields = []fieldDef{
		{"containerName", kString, true}, {"host", kString, true}, {"port", kNumber, true},
		{"name", kString, false}, {"success", kBool, true}, {"durationMs", kNumber, true},
		{"expiresAt", kString, false}, {"daysUntilExpiry", kNumber, false}, {"issuer", kString, false},
		{"subject", kString, false}, {"error", kString, false},
	}
	containerFields = []fieldDef{
		{"id", kString, true}, {"name", kString, true}, {"image", kString, true},
		{"imageId", kString, true}, {"state", kString, true}, {"status", kString, true},
		{"created", kNumber, true}, {"ports", kArray, false}, {"labels", kLabels, false},
		{"mounts", kArray, false}, {"networkMode", kString, false},
	}
	portFields = []fieldDef{
		{"privatePort", kNumber, true}, {"publicPort", kNumber, false}, {"type", kString, true},
		{"ip", kString, false},
	}
	mountFields = []fieldDef{
		{"source", kString, true}, {"destination", kString, true}, {"mode", kString, true},
		{"type", kString, true},
	}
	topProcessesFields = []fieldDef{
		{"byCpu", kArray, true}, {"byMemory", kArray, true}, {"stats", kObject, true},
	}
	processFields = []fieldDef{
		{"pid", kNumber, true}, {"name", kString, true}, {"state", kString, true},
		{"cpuPercent", kNumber, true}, {"memoryMb", kNumber, true}, {"threads", kNumber, true},
	}
	statsFields = []fieldDef{
		{"total", kNumber, true}, {"running", kNumber, true}, {"sleeping", kNumber, true},
		{"stopped", kNumber, true}, {"zombie", kNumber, true},
	}
)

// rule is the range a number must be in.
type rule uint8

const (
	anyNumber  rule = iota // daysUntilExpiry: negative once the certificate has expired
	nonNeg                 // sizes, durations, loads, uptime, per-container and per-process CPU %
	nonNegInt              // counts: fds, TCP connections, restarts, pid, threads, processes
	percent                // the host's CPU %, of all its CPUs together
	portNumber             // a TCP/UDP port
	httpStatus             // an HTTP status; 0 when no answer came
)

var ruleText = [...]struct{ want, example string }{
	anyNumber:  {"a number", "-3"},
	nonNeg:     {"a number >= 0", "12.5"},
	nonNegInt:  {"a whole number >= 0", "3"},
	percent:    {"a number from 0 to 100", "42.5"},
	portNumber: {"a whole number from 0 to 65535", "8080"},
	httpStatus: {"a whole number from 0 to 999", "200"},
}

func (r rule) allows(v float64) bool {
	switch r {
	case nonNeg:
		return v >= 0
	case nonNegInt:
		return v >= 0 && v == math.Trunc(v)
	case percent:
		return v >= 0 && v <= 100
	case portNumber:
		return v >= 0 && v <= 65535 && v == math.Trunc(v)
	case httpStatus:
		return v >= 0 && v <= 999 && v == math.Trunc(v)
	}
	return true
}

// seg is one step of a JSON path: an object key, or an array index when
// idx >= 0.
type seg struct {
	key string
	idx int
}

// decoder is one parse of one body. Every method that can fail returns
// false after setting err; the caller returns at once.
type decoder struct {
	s     string
	i     int
	depth int
	path  []seg
	// unknown holds the paths of ignored fields.
	unknown []string
	err     *structs.IngestError
	// syntax is set when err is about the body's syntax or depth, which
	// no later fault can precede.
	syntax bool
	// syntaxOnly skips the whole document, checking only syntax and depth:
	// the second pass after a schema violation.
	syntaxOnly bool

	// Optional fields are pointers; these hand them out in chunks rather
	// than one allocation per field.
	floats               []float64
	strs                 []string
	floatsUsed, strsUsed int
	// sc is DecodePooled's storage, nil for Decode.
	sc *scratch
}

const chunk = 64

func (d *decoder) newFloat(v float64) *float64 {
	if len(d.floats) == 0 {
		d.floats = make([]float64, chunk)
	}
	f := &d.floats[0]
	d.floats = d.floats[1:]
	d.floatsUsed++
	*f = v
	return f
}

func (d *decoder) newString(v string) *string {
	if len(d.strs) == 0 {
		d.strs = make([]string, chunk/2)
	}
	s := &d.strs[0]
	d.strs = d.strs[1:]
	d.strsUsed++
	*s = v
	return s
}

// pathString renders the first n segments of the path: keys joined by
// dots, indexes in brackets, and keys that are not identifiers (label keys
// such as "com.docker.compose.project") quoted in brackets.
func (d *decoder) pathString(n int) string {
	var b []byte
	for _, sg := range d.path[:n] {
		switch {
		case sg.idx >= 0:
			b = append(b, '[')
			b = strconv.AppendInt(b, int64(sg.idx), 10)
			b = append(b, ']')
		case isIdent(sg.key):
			if len(b) > 0 {
				b = append(b, '.')
			}
			b = append(b, sg.key...)
		default:
			b = append(b, '[')
			b = strconv.AppendQuote(b, sg.key)
			b = append(b, ']')
		}
	}
	return string(b)
}

func (d *decoder) here() string { return d.pathString(len(d.path)) }

func isIdent(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '_' && !('a' <= c && c <= 'z') && !('A' <= c && c <= 'Z') && (i == 0 || c < '0' || c > '9') {
			return false
		}
	}
	return true
}

// fieldErr reports a schema violation at field.
func (d *decoder) fieldErr(field, msg, hint string) bool {
	m := msg
	if field != "" {
		m = field + " " + msg
	}
	d.err = &structs.IngestError{Status: 400, Code: structs.IngestValidationError, Message: m, Field: field, Hint: hint}
	return false
}

// syntaxErr reports malformed JSON at the current offset. Field stays empty
// (the body as a whole is at fault); the message names where the parser was.
func (d *decoder) syntaxErr(format string, args ...any) bool {
	msg := fmt.Sprintf("invalid JSON at byte %d: ", d.i) + fmt.Sprintf(format, args...)
	if p := d.here(); p != "" {
		msg += " (in " + p + ")"
	}
	d.err = &structs.IngestError{
		Status:  400,
		Code:    structs.IngestValidationError,
		Message: msg,
		Hint:    "the body must be one JSON object (RFC 8259, UTF-8) with nothing after it",
	}
	d.syntax = true
	return false
}

// found describes the byte at the current offset for a syntax message.
func (d *decoder) found() string {
	if d.i >= len(d.s) {
		return "end of input"
	}
	return strconv.QuoteRune(rune(d.s[d.i]))
}

// kindAt names the JSON type of the value at the current offset, or ""
// when no value can start there.
func (d *decoder) kindAt() string {
	if d.i >= len(d.s) {
		return ""
	}
	switch c := d.s[d.i]; c {
	case '{':
		return "an object"
	case '[':
		return "an array"
	case '"':
		return "a string"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	default:
		if c == '-' || ('0' <= c && c <= '9') {
			return "a number"
		}
	}
	return ""
}

// typeErr reports a value of the wrong JSON type at the current field.
func (d *decoder) typeErr(want, example string) bool {
	got := d.kindAt()
	if got == "" {
		return d.syntaxErr("invalid character %s looking for the beginning of a value", d.found())
	}
	return d.fieldErr(d.here(), "must be "+want+", got "+got, "send "+want+", e.g. "+d.example(example))
}

// example prefixes an example value with the current key, if any.
func (d *decoder) example(v string) string {
	if n := len(d.path); n > 0 && d.path[n-1].idx < 0 {
		return strconv.Quote(d.path[n-1].key) + ": " + v
	}
	return v
}

func (d *decoder) missing(name, example string) bool {
	field := name
	if p := d.here(); p != "" {
		field = p + "." + name
	}
	return d.fieldErr(field, "is required", "add "+strconv.Quote(name)+": "+example)
}

func (d *decoder) requiredNull(example string) bool {
	return d.fieldErr(d.here(), "is required and must not be null", "send "+d.example(example))
}

func (d *decoder) ws() {
	for d.i < len(d.s) {
		switch d.s[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

// document parses the whole body into p (or only checks it, syntaxOnly).
func (d *decoder) document(p *structs.HostMetrics) bool {
	d.ws()
	if d.i == len(d.s) {
		return d.syntaxErr("the body is empty")
	}
	if d.syntaxOnly {
		if !d.skip() {
			return false
		}
	} else {
		if d.s[d.i] != '{' {
			if got := d.kindAt(); got != "" {
				return d.fieldErr("", "the body must be a JSON object, got "+got, `send one object, e.g. {"cpuPercent": 12.5}`)
			}
			return d.syntaxErr("invalid character %s looking for the beginning of a value", d.found())
		}
		if !d.root(p) {
			return false
		}
	}
	d.ws()
	if d.i != len(d.s) {
		return d.syntaxErr("invalid character %s after the top-level value", d.found())
	}
	return true
}

// enter counts one more level of nesting.
func (d *decoder) enter() bool {
	d.depth++
	if d.depth > MaxDepth {
		d.fieldErr(d.here(), fmt.Sprintf("nests deeper than %d levels", MaxDepth), "flatten the data")
		d.syntax = true
		return false
	}
	return true
}

// object parses the object at the current offset ('{'), calling member for
// each key with the offset at its value and the key on the path.
func (d *decoder) object(member func(key string) bool) bool {
	if !d.enter() {
		return false
	}
	d.i++
	d.ws()
	if d.i < len(d.s) && d.s[d.i] == '}' {
		d.i++
		d.depth--
		return true
	}
	for {
		if d.i >= len(d.s) || d.s[d.i] != '"' {
			return d.syntaxErr("expected a string key, found %s", d.found())
		}
		key, ok := d.str()
		if !ok {
			return false
		}
		d.ws()
		if d.i >= len(d.s) || d.s[d.i] != ':' {
			return d.syntaxErr("expected ':' after an object key, found %s", d.found())
		}
		d.i++
		d.ws()
		if d.i >= len(d.s) {
			return d.syntaxErr("expected a value, found end of input")
		}
		d.path = append(d.path, seg{key: key, idx: -1})
		if !member(key) {
			return false
		}
		d.path = d.path[:len(d.path)-1]
		d.ws()
		if d.i >= len(d.s) {
			return d.syntaxErr("expected ',' or '}' after an object member, found end of input")
		}
		switch d.s[d.i] {
		case ',':
			d.i++
			d.ws()
		case '}':
			d.i++
			d.depth--
			return true
		default:
			return d.syntaxErr("expected ',' or '}' after an object member, found %s", d.found())
		}
	}
}

// array parses the array at the current offset ('['), calling elem for
// each element with the offset at it and its index on the path.
func (d *decoder) array(max int, elem func(i int) bool) bool {
	if !d.enter() {
		return false
	}
	d.i++
	d.ws()
	if d.i < len(d.s) && d.s[d.i] == ']' {
		d.i++
		d.depth--
		return true
	}
	for n := 0; ; n++ {
		if n >= max {
			return d.fieldErr(d.here(), fmt.Sprintf("has more than %d entries", max),
				fmt.Sprintf("send at most %d entries", max))
		}
		if d.i >= len(d.s) {
			return d.syntaxErr("expected a value, found end of input")
		}
		d.path = append(d.path, seg{idx: n})
		if !elem(n) {
			return false
		}
		d.path = d.path[:len(d.path)-1]
		d.ws()
		if d.i >= len(d.s) {
			return d.syntaxErr("expected ',' or ']' after an array element, found end of input")
		}
		switch d.s[d.i] {
		case ',':
			d.i++
			d.ws()
		case ']':
			d.i++
			d.depth--
			return true
		default:
			return d.syntaxErr("expected ',' or ']' after an array element, found %s", d.found())
		}
	}
}

// skip checks and passes over any value.
func (d *decoder) skip() bool {
	if d.i >= len(d.s) {
		return d.syntaxErr("expected a value, found end of input")
	}
	switch c := d.s[d.i]; {
	case c == '{':
		return d.object(func(string) bool { return d.skip() })
	case c == '[':
		return d.array(math.MaxInt, func(int) bool { return d.skip() })
	case c == '"':
		_, ok := d.str()
		return ok
	case c == 't':
		return d.lit("true")
	case c == 'f':
		return d.lit("false")
	case c == 'n':
		return d.lit("null")
	case c == '-' || ('0' <= c && c <= '9'):
		_, ok := d.number(false)
		return ok
	}
	return d.syntaxErr("invalid character %s looking for the beginning of a value", d.found())
}

func (d *decoder) lit(w string) bool {
	if len(d.s)-d.i >= len(w) && d.s[d.i:d.i+len(w)] == w {
		d.i += len(w)
		return true
	}
	// Point at the first byte that differs.
	for j := 0; j < len(w) && d.i < len(d.s) && d.s[d.i] == w[j]; j++ {
		d.i++
	}
	return d.syntaxErr("invalid character %s in literal %s", d.found(), w)
}

// unknownField records the current path as ignored and skips its value.
func (d *decoder) unknownField() bool {
	if len(d.unknown) < MaxUnknownFields {
		d.unknown = append(d.unknown, d.here())
	}
	return d.skip()
}

// once marks field bit as seen, refusing a duplicate key: JSON parsers
// disagree on which of two values wins, so a payload with both is refused
// rather than read one way here and another way elsewhere.
func (d *decoder) once(seen *uint32, bit uint) bool {
	if *seen&(1<<bit) != 0 {
		return d.fieldErr(d.here(), "appears twice in its object", "send each field once")
	}
	*seen |= 1 << bit
	return true
}

// required reports the first required field of fs (in schema order) that
// the object just parsed lacked.
func (d *decoder) required(seen uint32, fs []fieldDef) bool {
	for i, f := range fs {
		if f.required && seen&(1<<uint(i)) == 0 {
			return d.missing(f.name, exampleOf(f.kind))
		}
	}
	return true
}

func exampleOf(k kind) string {
	switch k {
	case kNumber:
		return "1"
	case kString:
		return `"text"`
	case kDateTime:
		return `"2026-04-15T12:00:00Z"`
	case kBool:
		return "true"
	case kArray:
		return "[]"
	}
	return "{}"
}

// number reads a JSON number; parse false only checks its syntax (unknown
// fields, the syntax pass).
func (d *decoder) number(parse bool) (float64, bool) {
	s, start := d.s, d.i
	i := start
	if s[i] == '-' {
		i++
	}
	digits := 0
	var u uint64
	switch {
	case i < len(s) && s[i] == '0':
		i++
		digits = 1
	case i < len(s) && '1' <= s[i] && s[i] <= '9':
		for i < len(s) && '0' <= s[i] && s[i] <= '9' {
			u = u*10 + uint64(s[i]-'0')
			i++
			digits++
		}
	default:
		d.i = i
		return 0, d.syntaxErr("invalid character %s in a number, expected a digit", d.found())
	}
	exact := digits <= 15
	if i < len(s) && s[i] == '.' {
		exact = false
		i++
		if i >= len(s) || s[i] < '0' || s[i] > '9' {
			d.i = i
			return 0, d.syntaxErr("invalid character %s after a decimal point, expected a digit", d.found())
		}
		for i < len(s) && '0' <= s[i] && s[i] <= '9' {
			i++
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		exact = false
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if i >= len(s) || s[i] < '0' || s[i] > '9' {
			d.i = i
			return 0, d.syntaxErr("invalid character %s in an exponent, expected a digit", d.found())
		}
		for i < len(s) && '0' <= s[i] && s[i] <= '9' {
			i++
		}
	}
	d.i = i
	if !parse {
		return 0, true
	}
	if exact {
		// An integer of up to 15 digits is exact in a float64; most
		// figures are such integers.
		v := float64(u)
		if s[start] == '-' {
			v = -v
		}
		return v, true
	}
	v, err := strconv.ParseFloat(s[start:i], 64)
	if err != nil {
		return 0, d.fieldErr(d.here(), "is out of range ("+s[start:i]+")", "send a number a float64 can hold")
	}
	return v, true
}

// str reads a JSON string at the current offset ('"'). A string without
// escapes or bad UTF-8 is a substring of the body.
func (d *decoder) str() (string, bool) {
	s := d.s
	start := d.i + 1
	end := strings.IndexByte(s[start:], '"')
	if end < 0 {
		return d.strSlow(start, start)
	}
	end += start
	i := start
	for i < end {
		c := s[i]
		if plain[c] {
			i++
			continue
		}
		if c < utf8.RuneSelf {
			// An escape (the quote found may be escaped) or a control
			// character.
			return d.strSlow(start, i)
		}
		r, size := utf8.DecodeRuneInString(s[i:end])
		if r == utf8.RuneError && size == 1 {
			return d.strSlow(start, i)
		}
		i += size
	}
	if end-start > MaxStringBytes && !d.syntaxOnly {
		return "", d.tooLong()
	}
	d.i = end + 1
	return s[start:end], true
}

// plain marks the bytes a string holds as they are: printable ASCII but
// the quote and the backslash.
var plain = func() (t [256]bool) {
	for c := 0x20; c < 0x80; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// strSlow finishes a string that has escapes, control characters or bad
// UTF-8, which becomes U+FFFD as with encoding/json (an agent's error text
// from a misbehaving service must not cost the whole payload).
func (d *decoder) strSlow(start, i int) (string, bool) {
	s := d.s
	b := make([]byte, 0, i-start+16)
	b = append(b, s[start:i]...)
	for i < len(s) {
		c := s[i]
		switch {
		case c == '"':
			d.i = i + 1
			if len(b) > MaxStringBytes && !d.syntaxOnly {
				return "", d.tooLong()
			}
			return string(b), true
		case c < 0x20:
			d.i = i
			return "", d.syntaxErr("control character %s in a string", d.found())
		case c == '\\':
			if i+1 >= len(s) {
				d.i = len(s)
				return "", d.syntaxErr("unterminated string starting at byte %d", start-1)
			}
			switch e := s[i+1]; e {
			case '"', '\\', '/':
				b = append(b, e)
			case 'b':
				b = append(b, '\b')
			case 'f':
				b = append(b, '\f')
			case 'n':
				b = append(b, '\n')
			case 'r':
				b = append(b, '\r')
			case 't':
				b = append(b, '\t')
			case 'u':
				r, ok := hex4(s, i+2)
				if !ok {
					d.i = i
					return "", d.syntaxErr("invalid \\u escape in a string")
				}
				i += 6
				if utf16IsSurrogate(r) {
					r2, ok2 := rune(0), false
					if i+1 < len(s) && s[i] == '\\' && s[i+1] == 'u' {
						r2, ok2 = hex4(s, i+2)
					}
					if ok2 && r < 0xDC00 && 0xDC00 <= r2 && r2 < 0xE000 {
						r = 0x10000 + (r-0xD800)<<10 + (r2 - 0xDC00)
						i += 6
					} else {
						r = utf8.RuneError
					}
				}
				b = utf8.AppendRune(b, r)
				continue
			default:
				d.i = i + 1
				return "", d.syntaxErr("invalid escape character %s in a string", d.found())
			}
			i += 2
		case c < utf8.RuneSelf:
			b = append(b, c)
			i++
		default:
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && size == 1 {
				b = utf8.AppendRune(b, utf8.RuneError)
			} else {
				b = append(b, s[i:i+size]...)
			}
			i += size
		}
	}
	d.i = len(s)
	return "", d.syntaxErr("unterminated string starting at byte %d", start-1)
}

func (d *decoder) tooLong() bool {
	return d.fieldErr(d.here(), fmt.Sprintf("is a string longer than %d bytes", MaxStringBytes),
		fmt.Sprintf("send at most %d bytes", MaxStringBytes))
}

func utf16IsSurrogate(r rune) bool { return 0xD800 <= r && r < 0xE000 }

func hex4(s string, i int) (rune, bool) {
	if i+4 > len(s) {
		return 0, false
	}
	var r rune
	for _, c := range []byte(s[i : i+4]) {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			c = c - 'A' + 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

// Typed field readers. Each is called with the offset at the value and the
// field on the path. An optional field's null is its absence; a required
// field's null is refused.

func (d *decoder) num(r rule) (float64, bool) {
	v, ok := d.number(true)
	if ok && !r.allows(v) {
		t := ruleText[r]
		return 0, d.fieldErr(d.here(), "must be "+t.want+", got "+strconv.FormatFloat(v, 'g', -1, 64),
			"send "+t.want+", e.g. "+d.example(t.example))
	}
	return v, ok
}

func (d *decoder) isNumber() bool {
	c := d.s[d.i]
	return c == '-' || ('0' <= c && c <= '9')
}

func (d *decoder) optNum(dst **float64, r rule) bool {
	if d.s[d.i] == 'n' {
		return d.lit("null")
	}
	if !d.isNumber() {
		return d.typeErr(ruleText[r].want, ruleText[r].example)
	}
	v, ok := d.num(r)
	if ok {
		*dst = d.newFloat(v)
	}
	return ok
}

func (d *decoder) reqNum(dst *float64, r rule) bool {
	if d.s[d.i] == 'n' {
		return d.requiredNull(ruleText[r].example)
	}
	if !d.isNumber() {
		return d.typeErr(ruleText[r].want, ruleText[r].example)
	}
	v, ok := d.num(r)
	*dst = v
	return ok
}

func (d *decoder) optStr(dst **string) bool {
	switch d.s[d.i] {
	case 'n':
		return d.lit("null")
	case '"':
		v, ok := d.str()
		if ok {
			*dst = d.newString(v)
		}
		return ok
	}
	return d.typeErr("a string", `"text"`)
}

func (d *decoder) reqStr(dst *string) bool {
	switch d.s[d.i] {
	case 'n':
		return d.requiredNull(`"text"`)
	case '"':
		v, ok := d.str()
		*dst = v
		return ok
	}
	return d.typeErr("a string", `"text"`)
}

func (d *decoder) optDateTime(dst **string) bool {
	if !d.optStr(dst) {
		return false
	}
	if *dst != nil && !dateTimeRE.MatchString(**dst) {
		return d.fieldErr(d.here(), "must be a UTC date-time such as 2026-04-15T12:00:00Z (a real calendar date, ending in Z), got "+strconv.Quote(**dst),
			"send the time in UTC as RFC 3339 with Z, e.g. "+d.example(`"2026-04-15T12:00:00Z"`))
	}
	return true
}

func (d *decoder) readBool() (bool, bool) {
	switch d.s[d.i] {
	case 't':
		return true, d.lit("true")
	case 'f':
		return false, d.lit("false")
	}
	return false, d.typeErr("a boolean", "true")
}

func (d *decoder) optBool(dst **bool) bool {
	if d.s[d.i] == 'n' {
		return d.lit("null")
	}
	v, ok := d.readBool()
	if ok {
		b := new(bool)
		*b = v
		*dst = b
	}
	return ok
}

func (d *decoder) reqBool(dst *bool) bool {
	if d.s[d.i] == 'n' {
		return d.requiredNull("true")
	}
	v, ok := d.readBool()
	*dst = v
	return ok
}

// list reads an array of objects, calling elem with the offset at each
// element, which must be an object. present is false for an optional null.
func (d *decoder) list(max int, required bool, example string, elem func(i int) bool) (present, ok bool) {
	switch d.s[d.i] {
	case 'n':
		if required {
			return false, d.requiredNull("[]")
		}
		return false, d.lit("null")
	case '[':
		return true, d.array(max, func(i int) bool {
			if d.s[d.i] != '{' {
				return d.typeErr("an object", example)
			}
			return elem(i)
		})
	}
	return false, d.typeErr("an array", "[]")
}

// optList is list for an optional array.
func (d *decoder) optList(max int, example string, elem func(i int) bool) bool {
	_, ok := d.list(max, false, example, elem)
	return ok
}

// appendContainer appends a zero container to s. In a list reused by
// DecodePooled, the entry it reuses keeps its ports', mounts' and labels'
// storage, emptied.
func appendContainer(s []structs.ContainerInfo) []structs.ContainerInfo {
	if len(s) == cap(s) {
		return append(grow(s, 16), structs.ContainerInfo{})
	}
	s = s[:len(s)+1]
	c := &s[len(s)-1]
	clear(c.Labels)
	*c = structs.ContainerInfo{Ports: c.Ports[:0], Mounts: c.Mounts[:0], Labels: c.Labels}
	return s
}

// grow gives a list its first capacity, so that a usual list is one or
// two allocations rather than one per doubling from 1.
func grow[T any](s []T, first int) []T {
	if cap(s) == 0 {
		return make([]T, 0, first)
	}
	return s
}

// The schema's objects. Each numbers its fields as the tables above do.

func (d *decoder) root(p *structs.HostMetrics) bool {
	var seen uint32
	return d.object(func(k string) bool {
		switch k {
		case "cpuPercent":
			return d.once(&seen, 0) && d.optNum(&p.CPUPercent, percent)
		case "memoryUsedMb":
			return d.once(&seen, 1) && d.optNum(&p.MemoryUsedMb, nonNeg)
		case "memoryTotalMb":
			return d.once(&seen, 2) && d.optNum(&p.MemoryTotalMb, nonNeg)
		case "swapUsedMb":
			return d.once(&seen, 3) && d.optNum(&p.SwapUsedMb, nonNeg)
		case "swapTotalMb":
			return d.once(&seen, 4) && d.optNum(&p.SwapTotalMb, nonNeg)
		case "diskUsedGb":
			return d.once(&seen, 5) && d.optNum(&p.DiskUsedGb, nonNeg)
		case "diskTotalGb":
			return d.once(&seen, 6) && d.optNum(&p.DiskTotalGb, nonNeg)
		case "loadAvg1":
			return d.once(&seen, 7) && d.optNum(&p.LoadAvg1, nonNeg)
		case "loadAvg5":
			return d.once(&seen, 8) && d.optNum(&p.LoadAvg5, nonNeg)
		case "loadAvg15":
			return d.once(&seen, 9) && d.optNum(&p.LoadAvg15, nonNeg)
		case "uptime":
			return d.once(&seen, 10) && d.optNum(&p.Uptime, nonNeg)
		case "openFds":
			return d.once(&seen, 11) && d.optNum(&p.OpenFds, nonNegInt)
		case "maxFds":
			return d.once(&seen, 12) && d.optNum(&p.MaxFds, nonNegInt)
		case "tcpEstablished":
			return d.once(&seen, 13) && d.optNum(&p.TCPEstablished, nonNegInt)
		case "tcpListen":
			return d.once(&seen, 14) && d.optNum(&p.TCPListen, nonNegInt)
		case "tcpTimeWait":
			return d.once(&seen, 15) && d.optNum(&p.TCPTimeWait, nonNegInt)
		case "tcpCloseWait":
			return d.once(&seen, 16) && d.optNum(&p.TCPCloseWait, nonNegInt)
		case "tcpTotal":
			return d.once(&seen, 17) && d.optNum(&p.TCPTotal, nonNegInt)
		case "serverHealthy":
			return d.once(&seen, 18) && d.optBool(&p.ServerHealthy)
		case "agentVersion":
			return d.once(&seen, 19) && d.optStr(&p.AgentVersion)
		case "services":
			return d.once(&seen, 20) && d.optList(MaxListEntries, `{"containerName": "web"}`, func(i int) bool {
				p.Services = append(grow(p.Services, 16), structs.ServiceMetrics{})
				return d.service(&p.Services[i])
			})
		case "serviceHealthChecks":
			return d.once(&seen, 21) && d.optList(MaxListEntries, `{"containerName": "web", "healthCheckUrl": "http://web/health", "success": true}`, func(i int) bool {
				p.ServiceHealthChecks = append(grow(p.ServiceHealthChecks, 8), structs.ServiceHealthCheck{})
				return d.healthCheck(&p.ServiceHealthChecks[i])
			})
		case "tcpCheckResults":
			return d.once(&seen, 22) && d.optList(MaxListEntries, `{"containerName": "db", "host": "db", "port": 5432, "success": true, "durationMs": 2}`, func(i int) bool {
				p.TCPCheckResults = append(grow(p.TCPCheckResults, 8), structs.TCPCheckResult{})
				return d.tcpCheck(&p.TCPCheckResults[i])
			})
		case "certCheckResults":
			return d.once(&seen, 23) && d.optList(MaxListEntries, `{"containerName": "web", "host": "example.com", "port": 443, "success": true, "durationMs": 40}`, func(i int) bool {
				p.CertCheckResults = append(grow(p.CertCheckResults, 8), structs.CertCheckResult{})
				return d.certCheck(&p.CertCheckResults[i])
			})
		case "containers":
			return d.once(&seen, 24) && d.optList(MaxListEntries, `{"id": "4f1c...", "name": "web", "image": "nginx:1.27", "imageId": "sha256:...", "state": "running", "status": "Up 3 hours", "created": 1776254400}`, func(i int) bool {
				p.Containers = appendContainer(p.Containers)
				return d.container(&p.Containers[i])
			})
		case "topProcesses":
			if !d.once(&seen, 25) {
				return false
			}
			switch d.s[d.i] {
			case 'n':
				return d.lit("null")
			case '{':
				if d.sc != nil {
					p.TopProcesses = &d.sc.top
				} else {
					p.TopProcesses = new(structs.TopProcesses)
				}
				return d.topProcesses(p.TopProcesses)
			}
			return d.typeErr("an object", `{"byCpu": [], "byMemory": [], "stats": {...}}`)
		case "collectedAt":
			return d.once(&seen, 26) && d.optDateTime(&p.CollectedAt)
		}
		return d.unknownField()
	})
}

func (d *decoder) service(s *structs.ServiceMetrics) bool {
	var seen uint32
	return d.object(func(k string) bool {
		switch k {
		case "containerName":
			return d.once(&seen, 0) && d.reqStr(&s.ContainerName)
		case "cpuPercent":
			return d.once(&seen, 1) && d.optNum(&s.CPUPercent, nonNeg)
		case "memoryUsedMb":
			return d.once(&seen, 2) && d.optNum(&s.MemoryUsedMb, nonNeg)
		case "memoryLimitMb":
			return d.once(&seen, 3) && d.optNum(&s.MemoryLimitMb, nonNeg)
		case "networkRxMb":
			return d.once(&seen, 4) && d.optNum(&s.NetworkRxMb, nonNeg)
		case "networkTxMb":
			return d.once(&seen, 5) && d.optNum(&s.NetworkTxMb, nonNeg)
		case "blockReadMb":
			return d.once(&seen, 6) && d.optNum(&s.BlockReadMb, nonNeg)
		case "blockWriteMb":
			return d.once(&seen, 7) && d.optNum(&s.BlockWriteMb, nonNeg)
		case "restartCount":
			return d.once(&seen, 8) && d.optNum(&s.RestartCount, nonNegInt)
		case "state":
			return d.once(&seen, 9) && d.optStr(&s.State)
		case "health":
			return d.once(&seen, 10) && d.optStr(&s.Health)
		}
		return d.unknownField()
	}) && d.required(seen, serviceFields)
}

func (d *decoder) healthCheck(c *structs.ServiceHealthCheck) bool {
	var seen uint32
	return d.object(func(k string) bool {
		switch k {
		case "containerName":
			return d.once(&seen, 0) && d.reqStr(&c.ContainerName)
		case "healthCheckUrl":
			return d.once(&seen, 1) && d.reqStr(&c.HealthCheckURL)
		case "success":
			return d.once(&seen, 2) && d.reqBool(&c.Success)
		case "statusCode":
			return d.once(&seen, 3) && d.optNum(&c.StatusCode, httpStatus)
		case "durationMs":
			return d.once(&seen, 4) && d.optNum(&c.DurationMs, nonNeg)
		case "checkedAt":
			return d.once(&seen, 5) && d.optDateTime(&c.CheckedAt)
		case "error":
			return d.once(&seen, 6) && d.optStr(&c.Error)
		}
		return d.unknownField()
	}) && d.required(seen, healthCheckFields)
}

func (d *decoder) tcpCheck(c *structs.TCPCheckResult) bool {
	var seen uint32
	return d.object(func(k string) bool {
		switch k {
		case "containerName":
			return d.once(&seen, 0) && d.reqStr(&c.ContainerName)
		case "host":
			return d.once(&seen, 1) && d.reqStr(&c.Host)
		case "port":
			return d.once(&seen, 2) && d.reqNum(&c.Port, portNumber)
		case "name":
			return d.once(&seen, 3) && d.optStr(&c.Name)
		case "success":
			return d.once(&seen, 4) && d.reqBool(&c.Success)
		case "durationMs":
			return d.once(&seen, 5) && d.reqNum(&c.DurationMs, nonNeg)
		case "error":
			return d.once(&seen, 6) && d.optStr(&c.Error)
		}
		return d.unknownField()
	}) && d.required(seen, tcpCheckFields)
}

func (d *decoder) certCheck(c *structs.CertCheckResult) bool {
	var seen uint32
	return d.object(func(k string) bool {
		switch k {
		case "containerName":
			return d.once(&seen, 0) && d.reqStr(&c.ContainerName)
		case "host":
			return d.once(&seen, 1) && d.reqStr(&c.Host)
		case "port":
			return d.once(&seen, 2) && d.reqNum(&c.Port, portNumber)
		case "name":
			return d.once(&seen, 3) && d.optStr(&c.Name)
		case "success":
			return d.once(&seen, 4) && d.reqBool(&c.Success)
		case "durationMs":
			return d.once(&seen, 5) && d.reqNum(&c.DurationMs, nonNeg)
		case "expiresAt":
			return d.once(&seen, 6) && d.optStr(&c.ExpiresAt)
		case "daysUntilExpiry":
			return d.once(&seen, 7) && d.optNum(&c.DaysUntilExpiry, anyNumber)
		case "issuer":
			return d.once(&seen, 8) && d.optStr(&c.Issuer)
		case "subject":
			return d.once(&seen, 9) && d.optStr(&c.Subject)
		case "error":
			return d.once(&seen, 10) && d.optStr(&c.Error)
		}
		return d.unknownField()
	}) && d.required(seen, certCheckFields)
}

func (d *decoder) container(c *structs.ContainerInfo) bool {
	var seen uint32
	return d.object(func(k string) bool {
		switch k {
		case "id":
			return d.once(&seen, 0) && d.reqStr(&c.ID)
		case "name":
			return d.once(&seen, 1) && d.reqStr(&c.Name)
		case "image":
			return d.once(&seen, 2) && d.reqStr(&c.Image)
		case "imageId":
			return d.once(&seen, 3) && d.reqStr(&c.ImageID)
		case "state":
			return d.once(&seen, 4) && d.reqStr(&c.State)
		case "status":
			return d.once(&seen, 5) && d.reqStr(&c.Status)
		case "created":
			return d.once(&seen, 6) && d.reqNum(&c.Created, nonNeg)
		case "ports":
			return d.once(&seen, 7) && d.optList(MaxPortsOrMounts, `{"privatePort": 80, "type": "tcp"}`, func(i int) bool {
				c.Ports = append(grow(c.Ports, 4), structs.ContainerPort{})
				return d.port(&c.Ports[i])
			})
		case "labels":
			return d.once(&seen, 8) && d.labels(&c.Labels)
		case "mounts":
			return d.once(&seen, 9) && d.optList(MaxPortsOrMounts, `{"source": "/srv", "destination": "/data", "mode": "rw", "type": "bind"}`, func(i int) bool {
				c.Mounts = append(grow(c.Mounts, 4), structs.ContainerMount{})
				return d.mount(&c.Mounts[i])
			})
		case "networkMode":
			return d.once(&seen, 10) && d.optStr(&c.NetworkMode)
		}
		return d.unknownField()
	}) && d.required(seen, containerFields)
}

func (d *decoder) port(p *structs.ContainerPort) bool {
	var seen uint32
	return d.object(func(k string) bool {
		switch k {
		case "privatePort":
			return d.once(&seen, 0) && d.reqNum(&p.PrivatePort, portNumber)
		case "publicPort":
			return d.once(&seen, 1) && d.optNum(&p.PublicPort, portNumber)
		case "type":
			return d.once(&seen, 2) && d.reqStr(&p.Type)
		case "ip":
			return d.once(&seen, 3) && d.optStr(&p.IP)
		}
		return d.unknownField()
	}) && d.required(seen, portFields)
}

func (d *decoder) mount(m *structs.ContainerMount) bool {
	var seen uint32
	return d.object(func(k string) bool {
		switch k {
		case "source":
			return d.once(&seen, 0) && d.reqStr(&m.Source)
		case "destination":
			return d.once(&seen, 1) && d.reqStr(&m.Destination)
		case "mode":
			return d.once(&seen, 2) && d.reqStr(&m.Mode)
		case "type":
			return d.once(&seen, 3) && d.reqStr(&m.Type)
		}
		return d.unknownField()
	}) && d.required(seen, mountFields)
}

func (d *decoder) labels(dst *map[string]string) bool {
	switch d.s[d.i] {
	case 'n':
		return d.lit("null")
	case '{':
	default:
		return d.typeErr("an object of strings", `{"com.docker.compose.service": "web"}`)
	}
	return d.object(func(k string) bool {
		m := *dst
		if len(m) >= MaxLabels {
			return d.fieldErr(d.pathString(len(d.path)-1), fmt.Sprintf("has more than %d entries", MaxLabels),
				fmt.Sprintf("send at most %d labels per container", MaxLabels))
		}
		if d.s[d.i] != '"' {
			return d.typeErr("a string", `"text"`)
		}
		v, ok := d.str()
		if !ok {
			return false
		}
		if m == nil {
			m = make(map[string]string, 8)
			*dst = m
		}
		if _, dup := m[k]; dup {
			return d.fieldErr(d.here(), "appears twice in its object", "send each label once")
		}
		m[k] = v
		return true
	})
}

func (d *decoder) topProcesses(t *structs.TopProcesses) bool {
	var seen uint32
	procList := func(dst *[]structs.ProcessInfo) bool {
		present, ok := d.list(MaxTopProcesses, true, `{"pid": 1, "name": "init", "state": "S", "cpuPercent": 0.1, "memoryMb": 12, "threads": 1}`, func(i int) bool {
			*dst = append(grow(*dst, 16), structs.ProcessInfo{})
			return d.process(&(*dst)[i])
		})
		if present && *dst == nil {
			// A required list that was sent empty stays [] when
			// encoded again, not null.
			*dst = []structs.ProcessInfo{}
		}
		return ok
	}
	return d.object(func(k string) bool {
		switch k {
		case "byCpu":
			return d.once(&seen, 0) && procList(&t.ByCPU)
		case "byMemory":
			return d.once(&seen, 1) && procList(&t.ByMemory)
		case "stats":
			if !d.once(&seen, 2) {
				return false
			}
			switch d.s[d.i] {
			case 'n':
				return d.requiredNull("{}")
			case '{':
				return d.stats(&t.Stats)
			}
			return d.typeErr("an object", `{"total": 120, "running": 2, "sleeping": 118, "stopped": 0, "zombie": 0}`)
		}
		return d.unknownField()
	}) && d.required(seen, topProcessesFields)
}

func (d *decoder) process(p *structs.ProcessInfo) bool {
	var seen uint32
	return d.object(func(k string) bool {
		switch k {
		case "pid":
			return d.once(&seen, 0) && d.reqNum(&p.PID, nonNegInt)
		case "name":
			return d.once(&seen, 1) && d.reqStr(&p.Name)
		case "state":
			return d.once(&seen, 2) && d.reqStr(&p.State)
		case "cpuPercent":
			return d.once(&seen, 3) && d.reqNum(&p.CPUPercent, nonNeg)
		case "memoryMb":
			return d.once(&seen, 4) && d.reqNum(&p.MemoryMb, nonNeg)
		case "threads":
			return d.once(&seen, 5) && d.reqNum(&p.Threads, nonNegInt)
		}
		return d.unknownField()
	}) && d.required(seen, processFields)
}

func (d *decoder) stats(s *structs.ProcessStats) bool {
	var seen uint32
	return d.object(func(k string) bool {
		switch k {
		case "total":
			return d.once(&seen, 0) && d.reqNum(&s.Total, nonNegInt)
		case "running":
			return d.once(&seen, 1) && d.reqNum(&s.Running, nonNegInt)
		case "sleeping":
			return d.once(&seen, 2) && d.reqNum(&s.Sleeping, nonNegInt)
		case "stopped":
			return d.once(&seen, 3) && d.reqNum(&s.Stopped, nonNegInt)
		case "zombie":
			return d.once(&seen, 4) && d.reqNum(&s.Zombie, nonNegInt)
		}
		return d.unknownField()
	}) && d.required(seen, statsFields)
}
