package structs

import (
	"net/http"
	"strings"
	"testing"
)

func TestCollector_ValidateAndSame(t *testing.T) {
	ok := &Collector{ID: "a", Attributes: map[string]string{"k": strings.Repeat("v", 150), strings.Repeat("k", 100): "v"}}
	if err := ok.Validate(); err != nil {
		t.Fatalf("valid collector: %v", err)
	}
	for name, c := range map[string]*Collector{
		"nil":        nil,
		"no id":      {},
		"long id":    {ID: strings.Repeat("x", MaxCollectorIDBytes+1)},
		"long name":  {ID: "a", Name: strings.Repeat("x", MaxCollectorNameBytes+1)},
		"empty key":  {ID: "a", Attributes: map[string]string{"": "v"}},
		"long key":   {ID: "a", Attributes: map[string]string{strings.Repeat("k", 101): "v"}},
		"long value": {ID: "a", Attributes: map[string]string{"k": strings.Repeat("é", 151)}},
		"bad key":    {ID: "a", Attributes: map[string]string{"k\xff": "v"}},
		"bad value":  {ID: "a", Attributes: map[string]string{"k": "v\xff"}},
	} {
		if code, _ := ErrorStatus(c.Validate()); code != http.StatusBadRequest {
			t.Errorf("%s: %v, want a 400", name, c.Validate())
		}
	}
	a := &Collector{ID: "a", Name: "n", Attributes: map[string]string{"k": "v"}}
	b := a.Copy()
	if !a.SameRegistration(b) {
		t.Fatal("copy is not the same registration")
	}
	b.Attributes["k"] = "w"
	if a.SameRegistration(b) || a.Attributes["k"] != "v" {
		t.Fatal("Copy shares attributes, or a changed value is the same registration")
	}
	if (&Collector{ID: "a"}).SameRegistration(&Collector{ID: "a", Attributes: map[string]string{}}) != true {
		t.Fatal("nil and empty attributes differ")
	}
	var none *Collector
	if none.SameRegistration(a) {
		t.Fatal("nil is the same registration")
	}
}
