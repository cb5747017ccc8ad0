package peers

import (
	"compress/gzip"
	"fmt"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/prometheus/prometheus/model/labels"
)

// Synthetic is an in-process exporter: N targets, each its own HTTP
// server on 127.0.0.1, each serving M series in the text exposition format
// the way a client_golang program does (HELP and TYPE lines, gzip when
// asked). The series are a realistic mix: about half histogram series
// (12 le buckets, _sum, _count per label set), a third counters and the
// rest gauges, with method/handler/code/pool label dimensions; every
// scrape of a target moves its values (counters grow, gauges walk,
// histograms observe), so no two scrapes send the same samples.
type Synthetic struct {
	targets []*synthTarget
}

// histogramBuckets are the le bounds of the synthetic histograms:
// client_golang's DefBuckets, what most instrumented services use.
var histogramBuckets = []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}

var (
	synthMethods = []string{"GET", "POST", "PUT", "DELETE"}
	synthCodes   = []string{"200", "201", "204", "400", "404", "500"}
)

// series per histogram label set: the buckets, +Inf, _sum and _count.
var seriesPerHistogram = len(histogramBuckets) + 3

// StartSynthetic starts targets exporters of seriesPerTarget series each
// and stops them at test cleanup.
func StartSynthetic(t testing.TB, targets, seriesPerTarget int) *Synthetic {
	t.Helper()
	if targets < 1 || seriesPerTarget < 1 {
		t.Fatalf("StartSynthetic: need at least 1 target and 1 series, got %d and %d", targets, seriesPerTarget)
	}
	s := &Synthetic{}
	for i := 0; i < targets; i++ {
		tg := newSynthTarget(i, seriesPerTarget)
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		tg.addr = ln.Addr().String()
		tg.srv = &http.Server{Handler: tg}
		go tg.srv.Serve(ln)
		t.Cleanup(func() { tg.srv.Close() })
		s.targets = append(s.targets, tg)
	}
	return s
}

// Targets are the targets' host:port addresses, for static_configs.
func (s *Synthetic) Targets() []string {
	out := make([]string, len(s.targets))
	for i, tg := range s.targets {
		out[i] = tg.addr
	}
	return out
}

// SeriesPerTarget is M.
func (s *Synthetic) SeriesPerTarget() int { return len(s.targets[0].series) }

// ActiveSeries is N*M, the series a collector scraping every target has
// (without the 5 it makes per target: up, scrape_duration_seconds, ...).
func (s *Synthetic) ActiveSeries() int { return len(s.targets) * s.SeriesPerTarget() }

// Scrapes returns how many times each target has been scraped since the
// start or the last ResetScrapes.
func (s *Synthetic) Scrapes() []uint64 {
	out := make([]uint64, len(s.targets))
	for i, tg := range s.targets {
		out[i] = tg.scrapes.Load()
	}
	return out
}

// MinScrapes is the scrape count of the least-scraped target.
func (s *Synthetic) MinScrapes() uint64 {
	least := uint64(math.MaxUint64)
	for _, n := range s.Scrapes() {
		least = min(least, n)
	}
	return least
}

// ResetScrapes sets every target's scrape count to zero.
func (s *Synthetic) ResetScrapes() {
	for _, tg := range s.targets {
		tg.scrapes.Store(0)
	}
}

// Series returns the label sets of every series the targets serve, with
// the job and instance labels a scrape job named job adds.
func (s *Synthetic) Series(job string) []labels.Labels {
	var out []labels.Labels
	b := labels.NewBuilder(labels.EmptyLabels())
	for _, tg := range s.targets {
		tg.mu.Lock() // a scrape writes the values next to the labels
		for i := range tg.series {
			b.Reset(tg.series[i].labels)
			b.Set("job", job)
			b.Set("instance", tg.addr)
			out = append(out, b.Labels())
		}
		tg.mu.Unlock()
	}
	return out
}

// synthKind is the kind of a series' value.
type synthKind uint8

const (
	kindCounter synthKind = iota
	kindGauge
	kindInfo   // a constant 1, like build_info
	kindBucket // cumulative bucket count of histogram hist, bucket le index
	kindSum
	kindCount
)

type synthSeries struct {
	prefix []byte // `name{labels} `
	labels labels.Labels
	kind   synthKind
	hist   int // histogram index (buckets, sum, count)
	le     int // bucket index; len(histogramBuckets) is +Inf
	value  float64
}

type synthHistogram struct {
	buckets []uint64 // non-cumulative counts per bucket, +Inf last
	sum     float64
	count   uint64
}

type synthTarget struct {
	addr    string
	srv     *http.Server
	scrapes atomic.Uint64

	mu     sync.Mutex
	rng    *rand.Rand
	series []synthSeries
	hists  []synthHistogram
	// help holds the HELP/TYPE header of the family starting at a series
	// index.
	help map[int]string
	buf  []byte
}

// newSynthTarget lays out m series for target i.
func newSynthTarget(i, m int) *synthTarget {
	tg := &synthTarget{rng: rand.New(rand.NewPCG(uint64(i)+1, 0x5eed)), help: map[int]string{}}
	nHist := m / 2 / seriesPerHistogram
	nCounter := m * 35 / 100
	nGauge := m - nHist*seriesPerHistogram - nCounter

	add := func(kind synthKind, name string, hist, le int, kv ...string) {
		lb := labels.NewScratchBuilder(len(kv)/2 + 1)
		lb.Add(labels.MetricName, name)
		var sb strings.Builder
		sb.WriteString(name)
		for j := 0; j < len(kv); j += 2 {
			if j == 0 {
				sb.WriteByte('{')
			} else {
				sb.WriteByte(',')
			}
			fmt.Fprintf(&sb, "%s=%q", kv[j], kv[j+1])
			lb.Add(kv[j], kv[j+1])
		}
		if len(kv) > 0 {
			sb.WriteByte('}')
		}
		sb.WriteByte(' ')
		lb.Sort()
		tg.series = append(tg.series, synthSeries{prefix: []byte(sb.String()), labels: lb.Labels(), kind: kind, hist: hist, le: le})
	}
	family := func(name, typ, help string) {
		tg.help[len(tg.series)] = fmt.Sprintf("# HELP %s %s\n# TYPE %s %s\n", name, help, name, typ)
	}

	if nGauge > 0 {
		family("synth_build_info", "gauge", "Build information of the synthetic service.")
		add(kindInfo, "synth_build_info", 0, 0, "version", "1.4.2", "revision", "3f2a9c1", "goversion", "go1.26")
		nGauge--
	}
	if nHist > 0 {
		family("synth_http_request_duration_seconds", "histogram", "Latency of HTTP requests.")
		for h := 0; h < nHist; h++ {
			method, handler := synthMethods[h%len(synthMethods)], fmt.Sprintf("/api/v1/resource%d", h/len(synthMethods))
			for le := 0; le <= len(histogramBuckets); le++ {
				bound := "+Inf"
				if le < len(histogramBuckets) {
					bound = strconv.FormatFloat(histogramBuckets[le], 'g', -1, 64)
				}
				add(kindBucket, "synth_http_request_duration_seconds_bucket", h, le, "method", method, "handler", handler, "le", bound)
			}
			add(kindSum, "synth_http_request_duration_seconds_sum", h, 0, "method", method, "handler", handler)
			add(kindCount, "synth_http_request_duration_seconds_count", h, 0, "method", method, "handler", handler)
			tg.hists = append(tg.hists, synthHistogram{buckets: make([]uint64, len(histogramBuckets)+1)})
		}
	}
	if nCounter > 0 {
		family("synth_http_requests_total", "counter", "HTTP requests by method, handler and status code.")
		per := len(synthMethods) * len(synthCodes)
		for c := 0; c < nCounter; c++ {
			add(kindCounter, "synth_http_requests_total", 0, 0,
				"method", synthMethods[c%len(synthMethods)], "code", synthCodes[(c/len(synthMethods))%len(synthCodes)],
				"handler", fmt.Sprintf("/api/v1/resource%d", c/per))
		}
	}
	if nGauge > 0 {
		family("synth_worker_queue_depth", "gauge", "Items waiting per worker queue.")
		for g := 0; g < nGauge; g++ {
			add(kindGauge, "synth_worker_queue_depth", 0, 0, "pool", fmt.Sprintf("pool%d", g%8), "worker", strconv.Itoa(g/8))
		}
	}
	return tg
}

// advance moves every value as one scrape interval of activity would.
func (tg *synthTarget) advance() {
	for h := range tg.hists {
		hi := &tg.hists[h]
		for n := tg.rng.IntN(20); n > 0; n-- {
			v := tg.rng.ExpFloat64() * 0.15
			b := len(histogramBuckets)
			for j, bound := range histogramBuckets {
				if v <= bound {
					b = j
					break
				}
			}
			hi.buckets[b]++
			hi.sum += v
			hi.count++
		}
	}
	for i := range tg.series {
		s := &tg.series[i]
		switch s.kind {
		case kindCounter:
			s.value += float64(tg.rng.IntN(10))
		case kindInfo:
			s.value = 1
		case kindGauge:
			s.value = math.Max(0, s.value+tg.rng.NormFloat64()*3)
		case kindBucket:
			hi := &tg.hists[s.hist]
			var cum uint64
			for j := 0; j <= s.le; j++ {
				cum += hi.buckets[j]
			}
			s.value = float64(cum)
		case kindSum:
			s.value = tg.hists[s.hist].sum
		case kindCount:
			s.value = float64(tg.hists[s.hist].count)
		}
	}
}

var gzipPool = sync.Pool{New: func() any {
	w, _ := gzip.NewWriterLevel(nil, gzip.BestSpeed)
	return w
}}

// ServeHTTP answers a scrape.
func (tg *synthTarget) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/metrics" {
		http.NotFound(w, r)
		return
	}
	tg.mu.Lock()
	defer tg.mu.Unlock()
	tg.advance()
	buf := tg.buf[:0]
	for i := range tg.series {
		if h, ok := tg.help[i]; ok {
			buf = append(buf, h...)
		}
		buf = append(buf, tg.series[i].prefix...)
		buf = strconv.AppendFloat(buf, tg.series[i].value, 'g', -1, 64)
		buf = append(buf, '\n')
	}
	tg.buf = buf
	tg.scrapes.Add(1)
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	if strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
		w.Header().Set("Content-Encoding", "gzip")
		gz := gzipPool.Get().(*gzip.Writer)
		gz.Reset(w)
		// A write error means the scraper went away: nobody to tell.
		gz.Write(buf)
		gz.Close()
		gzipPool.Put(gz)
		return
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(buf)))
	w.Write(buf)
}
