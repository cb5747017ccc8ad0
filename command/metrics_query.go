package command

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"text/template"
	"time"

	"github.com/nomadlike/nomadlike/api"
)

// MetricsQueryCommand runs a PromQL query against the servers' host
// metrics, as `promtool query instant|range` does against Prometheus.
type MetricsQueryCommand struct {
	Meta
}

// Name returns the words that invoke the command.
func (c *MetricsQueryCommand) Name() string { return "metrics query" }

// Synopsis returns the one-line summary of the command.
func (c *MetricsQueryCommand) Synopsis() string {
	return "Run a PromQL query over the fleet's host metrics"
}

// Help returns the command's usage text.
func (c *MetricsQueryCommand) Help() string {
	return `Usage: nomadlike metrics query [options] <PROMQL>

  Runs a PromQL query over the host metrics of the whole fleet
  (GET or POST /api/v1/query, /api/v1/query_range). An instant query prints
  one row per series with its value; a range query prints each series'
  number of points and its first, last, minimum and maximum values. Labels
  are printed sorted, as {name="value",...}. Warnings (such as a server that
  did not answer, so the result may be partial) go to stderr.

      $ nomadlike metrics query 'max by (node) (nomadlike_host_cpu_usage_ratio)'
      $ nomadlike metrics query -range -start=6h 'avg(nomadlike_host_load1)'

` + generalOptionsUsage() + `

Query Options:

  -time=<time>
    Evaluation time of an instant query: RFC 3339, Unix seconds, or a
    duration meaning that long ago (such as 10m). Default: now.

  -range
    Run a range query. Implied by -start, -end and -step.

  -start=<time>
    Start of a range query, in -time's forms. Default: 1h ago.

  -end=<time>
    End of a range query, in -time's forms. Default: now.

  -step=<duration>
    Resolution of a range query, as a duration (30s) or seconds. Default:
    the range divided by 250, rounded as Grafana rounds it, at least 1s.

  -json
    Print Prometheus' "data" object (resultType and result) as JSON.

  -t=<template>
    Format the result with a Go template: a vector is a list of
    {Metric, Time, Value}, a matrix a list of {Metric, Points}, a scalar
    {Time, Value} and a string its text.`
}

// Run runs the command.
func (c *MetricsQueryCommand) Run(args []string) int {
	var at, start, end, step, tmpl string
	var isRange bool
	fs := c.FlagSet(c.Name())
	fs.StringVar(&at, "time", "", "")
	fs.BoolVar(&isRange, "range", false, "")
	fs.StringVar(&start, "start", "", "")
	fs.StringVar(&end, "end", "", "")
	fs.StringVar(&step, "step", "", "")
	fs.StringVar(&tmpl, "t", "", "")
	if !c.parseFlags(fs, args, c.Help()) {
		return 1
	}
	if fs.NArg() != 1 || strings.TrimSpace(fs.Arg(0)) == "" {
		return c.usageError(c.Help(), "This command takes one argument: <PROMQL>")
	}
	query := fs.Arg(0)
	if start != "" || end != "" || step != "" {
		isRange = true
	}
	if isRange && at != "" {
		return c.usageError(c.Help(), "-time is for instant queries; a range query takes -start, -end and -step")
	}
	if c.json && tmpl != "" {
		return c.usageError(c.Help(), "-json and -t cannot be combined")
	}
	var t *template.Template
	if tmpl != "" {
		var err error
		if t, err = template.New("t").Parse(tmpl); err != nil {
			return c.usageError(c.Help(), fmt.Sprintf("Error parsing -t: %s", err))
		}
	}

	now := time.Now()
	var res *api.PromQLResult
	client, err := c.Client()
	if err != nil {
		return c.errorf("initializing client", err)
	}
	if isRange {
		from, err := parseCLITime(start, now.Add(-time.Hour), now)
		if err != nil {
			return c.usageError(c.Help(), fmt.Sprintf("Invalid -start: %s", err))
		}
		to, err := parseCLITime(end, now, now)
		if err != nil {
			return c.usageError(c.Help(), fmt.Sprintf("Invalid -end: %s", err))
		}
		if to.Before(from) {
			return c.usageError(c.Help(), "-end must not be before -start")
		}
		stepDur := defaultStep(to.Sub(from))
		if step != "" {
			if stepDur, err = parseCLIStep(step); err != nil {
				return c.usageError(c.Help(), fmt.Sprintf("Invalid -step: %s", err))
			}
		}
		res, err = client.Metrics().QueryRange(query, from, to, stepDur, nil)
		if err != nil {
			return c.errorf("querying metrics", err)
		}
	} else {
		ts, err := parseCLITime(at, time.Time{}, now)
		if err != nil {
			return c.usageError(c.Help(), fmt.Sprintf("Invalid -time: %s", err))
		}
		res, err = client.Metrics().Query(query, ts, nil)
		if err != nil {
			return c.errorf("querying metrics", err)
		}
	}
	for _, w := range res.Warnings {
		c.Ui.Warn("Warning: " + w)
	}
	for _, info := range res.Infos {
		c.Ui.Warn("Info: " + info)
	}
	if c.json {
		return c.outputJSON(res)
	}
	if t != nil {
		return c.outputTemplate(t, res)
	}
	return c.outputTable(res)
}

// outputTable prints res as rows, or the value of a scalar or string.
func (c *MetricsQueryCommand) outputTable(res *api.PromQLResult) int {
	switch res.ResultType {
	case api.PromResultVector:
		vec, err := res.Vector()
		if err != nil {
			return c.errorf("reading the result", err)
		}
		if len(vec) == 0 {
			c.Ui.Output("No results")
			return 0
		}
		rows := make([][]string, 0, len(vec))
		for _, s := range vec {
			v := formatPromValue(s.Value)
			if s.Histogram != nil {
				v = "(histogram)"
			}
			rows = append(rows, []string{formatLabels(s.Metric), v})
		}
		sortRows(rows)
		c.Ui.Output(formatTable([]string{"Series", "Value"}, rows))
	case api.PromResultMatrix:
		m, err := res.Matrix()
		if err != nil {
			return c.errorf("reading the result", err)
		}
		if len(m) == 0 {
			c.Ui.Output("No results")
			return 0
		}
		rows := make([][]string, 0, len(m))
		for _, s := range m {
			rows = append(rows, seriesRow(s))
		}
		sortRows(rows)
		c.Ui.Output(formatTable([]string{"Series", "Points", "First", "Last", "Min", "Max"}, rows))
	case api.PromResultScalar:
		p, err := res.Scalar()
		if err != nil {
			return c.errorf("reading the result", err)
		}
		c.Ui.Output(formatPromValue(p.Value))
	case api.PromResultString:
		_, s, err := res.StringValue()
		if err != nil {
			return c.errorf("reading the result", err)
		}
		c.Ui.Output(s)
	default:
		return c.errorf("reading the result", fmt.Errorf("unknown result type %q", res.ResultType))
	}
	return 0
}

// seriesRow summarises one series of a range result. Min and max skip
// NaN, which would otherwise hide every real value.
func seriesRow(s api.PromSeries) []string {
	row := []string{formatLabels(s.Metric), strconv.Itoa(len(s.Points) + len(s.Histograms)), "-", "-", "-", "-"}
	if len(s.Points) == 0 {
		return row
	}
	minV, maxV := math.NaN(), math.NaN()
	for _, p := range s.Points {
		if math.IsNaN(p.Value) {
			continue
		}
		if math.IsNaN(minV) || p.Value < minV {
			minV = p.Value
		}
		if math.IsNaN(maxV) || p.Value > maxV {
			maxV = p.Value
		}
	}
	row[2] = formatPromValue(s.Points[0].Value)
	row[3] = formatPromValue(s.Points[len(s.Points)-1].Value)
	row[4], row[5] = formatPromValue(minV), formatPromValue(maxV)
	return row
}

// outputTemplate runs t over the decoded result.
func (c *MetricsQueryCommand) outputTemplate(t *template.Template, res *api.PromQLResult) int {
	var data any
	var err error
	switch res.ResultType {
	case api.PromResultVector:
		data, err = res.Vector()
	case api.PromResultMatrix:
		data, err = res.Matrix()
	case api.PromResultScalar:
		data, err = res.Scalar()
	case api.PromResultString:
		_, data, err = res.StringValue()
	default:
		err = fmt.Errorf("unknown result type %q", res.ResultType)
	}
	if err != nil {
		return c.errorf("reading the result", err)
	}
	var b strings.Builder
	if err := t.Execute(&b, data); err != nil {
		return c.errorf("executing -t", err)
	}
	c.Ui.Output(strings.TrimRight(b.String(), "\n"))
	return 0
}

// formatLabels writes labels sorted by name as {a="b",c="d"}, with
// values quoted as Go (and PromQL) quote them.
func formatLabels(m map[string]string) string {
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	sort.Strings(names)
	parts := make([]string, len(names))
	for i, k := range names {
		parts[i] = k + "=" + strconv.Quote(m[k])
	}
	return "{" + strings.Join(parts, ",") + "}"
}

// formatPromValue writes v as Prometheus does ("NaN", "+Inf" included).
func formatPromValue(v float64) string {
	if math.IsInf(v, 1) {
		return "+Inf"
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}

// sortRows orders rows by their series, so the output does not depend on
// the order the servers merged them in.
func sortRows(rows [][]string) {
	sort.SliceStable(rows, func(i, j int) bool { return rows[i][0] < rows[j][0] })
}

// parseCLITime reads RFC 3339, Unix seconds, or a duration meaning that
// long before now ("10m", "-10m"). An empty s gives def.
func parseCLITime(s string, def, now time.Time) (time.Time, error) {
	if s == "" {
		return def, nil
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil && !math.IsNaN(f) && !math.IsInf(f, 0) &&
		math.Abs(f) < 1e15 {
		return time.UnixMilli(int64(math.Round(f * 1e3))), nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	if d, err := time.ParseDuration(strings.TrimPrefix(s, "-")); err == nil && d >= 0 {
		return now.Add(-d), nil
	}
	return time.Time{}, fmt.Errorf("%q is neither RFC 3339, Unix seconds nor a duration ago", s)
}

// parseCLIStep reads a duration or float seconds, at least 1ms (what
// Prometheus resolves).
func parseCLIStep(s string) (time.Duration, error) {
	d, err := time.ParseDuration(s)
	if err != nil {
		f, ferr := strconv.ParseFloat(s, 64)
		if ferr != nil || math.IsNaN(f) || f > 1e9 {
			return 0, fmt.Errorf("%q is neither a duration nor seconds", s)
		}
		d = time.Duration(f * float64(time.Second))
	}
	if d < time.Millisecond {
		return 0, fmt.Errorf("%q is shorter than 1ms", s)
	}
	return d, nil
}

// defaultStep is the range over 250 points rounded to a step a person
// would pick, as Grafana's interval rounding does, and at least 1s.
func defaultStep(r time.Duration) time.Duration {
	raw := r / 250
	for _, b := range gStepBounds {
		if raw < b.below {
			return max(b.step, time.Second)
		}
	}
	return 365 * 24 * time.Hour
}

// gStepBounds are Grafana's rounding thresholds (roundInterval): an
// interval below `below` becomes `step`.
var gStepBounds = []struct{ below, step time.Duration }{
	{1500 * time.Millisecond, time.Second},
	{3500 * time.Millisecond, 2 * time.Second},
	{7500 * time.Millisecond, 5 * time.Second},
	{12500 * time.Millisecond, 10 * time.Second},
	{17500 * time.Millisecond, 15 * time.Second},
	{25 * time.Second, 20 * time.Second},
	{45 * time.Second, 30 * time.Second},
	{90 * time.Second, time.Minute},
	{210 * time.Second, 2 * time.Minute},
	{450 * time.Second, 5 * time.Minute},
	{750 * time.Second, 10 * time.Minute},
	{1050 * time.Second, 15 * time.Minute},
	{1500 * time.Second, 20 * time.Minute},
	{2700 * time.Second, 30 * time.Minute},
	{5400 * time.Second, time.Hour},
	{9000 * time.Second, 2 * time.Hour},
	{16200 * time.Second, 3 * time.Hour},
	{32400 * time.Second, 6 * time.Hour},
	{86400 * time.Second, 12 * time.Hour},
	{604800 * time.Second, 24 * time.Hour},
	{1814400 * time.Second, 7 * 24 * time.Hour},
	{3628800 * time.Second, 30 * 24 * time.Hour},
}
