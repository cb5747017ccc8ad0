// Package promapitest holds test helpers for the PromQL API: a TSDB
// filled with samples and the API served over it. They live apart from
// promapi so that package testing is not linked into the agent.
package promapitest

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/nomadlike/nomadlike/agent/promapi"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb"
)

// Sample is one sample for DB.
type Sample struct {
	Labels labels.Labels
	T      time.Time
	V      float64
}

// DB opens a TSDB in a temporary directory holding samples, closed
// when the test ends. It is for tests of promapi and of the api client
// and CLI that query it.
func DB(t testing.TB, samples ...Sample) *tsdb.DB {
	t.Helper()
	db, err := tsdb.Open(t.TempDir(), nil, nil, tsdb.DefaultOptions(), nil)
	if err != nil {
		t.Fatalf("opening TSDB: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	app := db.Appender(context.Background())
	for _, s := range samples {
		if _, err := app.Append(0, s.Labels, s.T.UnixMilli(), s.V); err != nil {
			t.Fatalf("appending %s: %v", s.Labels, err)
		}
	}
	if err := app.Commit(); err != nil {
		t.Fatalf("committing samples: %v", err)
	}
	return db
}

// Server serves the query API over q on 127.0.0.1 at a random port,
// stopped when the test ends.
func Server(t testing.TB, q storage.Queryable) *httptest.Server {
	t.Helper()
	a := &promapi.API{
		Engine:    promapi.NewEngine(promapi.EngineOptions{}),
		Queryable: func(*http.Request) (storage.Queryable, error) { return q, nil },
	}
	mux := http.NewServeMux()
	for pattern, h := range a.Routes() {
		mux.HandleFunc(pattern, h)
	}
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}
