package validate

import (
	"reflect"
	"strings"
	"sync"

	commoncfg "github.com/prometheus/common/config"
	promconfig "github.com/prometheus/prometheus/config"
	"github.com/prometheus/prometheus/discovery"
	yaml "go.yaml.in/yaml/v2"
)

// Prometheus' marshalers are made for showing a config, not for storing
// it: fields tagged omitempty drop explicit zeros whose default is not zero
// (`min_backoff: 0s` would read back as 30ms), and config.URL always
// redacts its password. encodeValue marshals a value with them and then
// walks the result next to the Go value to put both back, so that the
// encoding reads back to the same value.

var (
	unmarshalerType = reflect.TypeFor[yaml.Unmarshaler]()
	urlType         = reflect.TypeFor[commoncfg.URL]()
	scrapeType      = reflect.TypeFor[promconfig.ScrapeConfig]()
	remoteWriteType = reflect.TypeFor[promconfig.RemoteWriteConfig]()
	rawInstanceType = reflect.TypeFor[rawInstanceConfig]()
	defaultsCache   sync.Map // reflect.Type -> reflect.Value
)

// encodeValue returns v's YAML as a generic tree (yaml.MapSlice for
// mappings), explicit zeros and URL passwords included.
func encodeValue(v interface{}) (interface{}, error) {
	if v == nil {
		return nil, nil
	}
	b, err := yaml.Marshal(v)
	if err != nil {
		return nil, err
	}
	node, err := decodeOrdered(b)
	if err != nil {
		return nil, err
	}
	rv := reflect.ValueOf(v)
	return fill(rv, defaultOf(indirectType(rv.Type())), node), nil
}

// decodeOrdered reads YAML as a generic tree whose mappings keep their
// order (yaml.MapSlice).
func decodeOrdered(b []byte) (interface{}, error) {
	var ms yaml.MapSlice
	if err := yaml.Unmarshal(b, &ms); err == nil {
		if ms == nil {
			var n interface{}
			if err := yaml.Unmarshal(b, &n); err != nil || n == nil {
				return nil, err
			}
		}
		return ms, nil
	}
	var list []yaml.MapSlice
	if err := yaml.Unmarshal(b, &list); err == nil {
		out := make([]interface{}, len(list))
		for i := range list {
			out[i] = list[i]
		}
		return out, nil
	}
	var n interface{}
	err := yaml.Unmarshal(b, &n)
	return n, err
}

// indirectType strips pointers.
func indirectType(t reflect.Type) reflect.Type {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t
}

// defaultOf returns the value a decoder starts from for type t: what its
// UnmarshalYAML sets before reading (found by decoding an empty mapping),
// with the agent's own remote_write defaults; the zero value for types
// without one.
func defaultOf(t reflect.Type) reflect.Value {
	if d, ok := defaultsCache.Load(t); ok {
		return d.(reflect.Value)
	}
	p := reflect.New(t)
	switch {
	case t == rawInstanceType:
		d := DefaultInstanceConfig()
		p.Elem().Set(reflect.ValueOf(rawInstanceConfig(d)))
	case reflect.PointerTo(t).Implements(unmarshalerType):
		func() {
			defer func() { _ = recover() }()
			_ = yaml.Unmarshal([]byte("{}"), p.Interface())
		}()
	}
	if t == remoteWriteType {
		rw := p.Interface().(*promconfig.RemoteWriteConfig)
		rw.SendExemplars = true
		rw.QueueConfig.RetryOnRateLimit = true
	}
	defaultsCache.Store(t, p.Elem())
	return p.Elem()
}

// fill walks the Go value v, the default def it was decoded from (may be
// invalid: no default) and its marshaled node together, and returns node
// with explicit zeros added and URL passwords restored.
func fill(v, def reflect.Value, node interface{}) interface{} {
	v, def = deref(v), deref(def)
	if !v.IsValid() {
		return node
	}
	if def.IsValid() && def.Type() != v.Type() {
		def = reflect.Value{}
	}
	if v.Type() == urlType {
		u := v.Interface().(commoncfg.URL)
		if _, ok := node.(string); ok && u.URL != nil {
			return u.URL.String()
		}
		return node
	}
	switch v.Kind() {
	case reflect.Struct:
		ms, ok := node.(yaml.MapSlice)
		if !ok {
			return node
		}
		if v.Type() == scrapeType {
			ms = fillServiceDiscovery(v.Addr().Interface().(*promconfig.ScrapeConfig), ms)
		}
		return fillStruct(v, def, ms)
	case reflect.Slice, reflect.Array:
		list, ok := node.([]interface{})
		if !ok {
			return node
		}
		elemDef := elemDefault(v.Type().Elem())
		for i := 0; i < len(list) && i < v.Len(); i++ {
			list[i] = fill(v.Index(i), elemDef, list[i])
		}
		return list
	case reflect.Map:
		ms, ok := node.(yaml.MapSlice)
		if !ok || v.Type().Key().Kind() != reflect.String {
			return node
		}
		elemDef := elemDefault(v.Type().Elem())
		for i := range ms {
			k, ok := ms[i].Key.(string)
			if !ok {
				continue
			}
			mv := v.MapIndex(reflect.ValueOf(k).Convert(v.Type().Key()))
			if mv.IsValid() {
				ms[i].Value = fill(mv, elemDef, ms[i].Value)
			}
		}
		return ms
	}
	return node
}

// deref follows pointers and interfaces; nil gives the invalid Value.
func deref(v reflect.Value) reflect.Value {
	for v.IsValid() && (v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface) {
		if v.IsNil() {
			return reflect.Value{}
		}
		v = v.Elem()
	}
	return v
}

// elemDefault is the default of a list or map element's type.
func elemDefault(t reflect.Type) reflect.Value {
	return defaultOf(indirectType(t))
}

// fillStruct handles one struct and its inline fields against its mapping.
func fillStruct(v, def reflect.Value, ms yaml.MapSlice) yaml.MapSlice {
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if f.PkgPath != "" {
			continue
		}
		name, opts, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "-" {
			continue
		}
		var fdef reflect.Value
		if def.IsValid() {
			fdef = def.Field(i)
		}
		fv := v.Field(i)
		if strings.Contains(opts, "inline") {
			if fv.Kind() == reflect.Struct {
				ms = fillStruct(fv, fdef, ms)
			}
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		// A field type with its own decoder starts from its own default.
		if ft := indirectType(f.Type); ft.Kind() == reflect.Struct && reflect.PointerTo(ft).Implements(unmarshalerType) && ft != urlType {
			fdef = defaultOf(ft)
		}
		idx := -1
		for j := range ms {
			if k, ok := ms[j].Key.(string); ok && k == name {
				idx = j
				break
			}
		}
		if idx >= 0 {
			ms[idx].Value = fill(fv, fdef, ms[idx].Value)
			continue
		}
		if !fv.IsZero() || !fdef.IsValid() || fdef.IsZero() || fv.Kind() == reflect.Pointer {
			continue
		}
		if fv.Kind() == reflect.Struct && fv.Type() != urlType {
			// A zero block left out: print its fields whose defaults differ.
			if sub := fillStruct(fv, fdef, yaml.MapSlice{}); len(sub) > 0 {
				ms = append(ms, yaml.MapItem{Key: name, Value: sub})
			}
			continue
		}
		// An explicit zero that the default would replace: print it.
		if z, ok := zeroNode(fv); ok {
			ms = append(ms, yaml.MapItem{Key: name, Value: z})
		}
	}
	return ms
}

// zeroNode is the YAML of a zero value, if it prints as a scalar.
func zeroNode(v reflect.Value) (interface{}, bool) {
	b, err := yaml.Marshal(v.Interface())
	if err != nil {
		return nil, false
	}
	var n interface{}
	if err := yaml.Unmarshal(b, &n); err != nil {
		return nil, false
	}
	switch n.(type) {
	case nil, map[interface{}]interface{}, []interface{}:
		return nil, false
	}
	return n, true
}

// fillServiceDiscovery walks a scrape config's service discovery entries,
// which marshal as "<name>_sd_configs" (and "static_configs") lists in
// the registry's order.
func fillServiceDiscovery(sc *promconfig.ScrapeConfig, ms yaml.MapSlice) yaml.MapSlice {
	byKey := map[string][]discovery.Config{}
	for _, c := range sc.ServiceDiscoveryConfigs {
		byKey[sdKey(c)] = append(byKey[sdKey(c)], c)
	}
	for i := range ms {
		k, _ := ms[i].Key.(string)
		cfgs, ok := byKey[k]
		if !ok {
			continue
		}
		list, ok := ms[i].Value.([]interface{})
		if !ok {
			continue
		}
		if k == "static_configs" {
			// discovery.StaticConfig is one list of target groups.
			continue
		}
		for j := 0; j < len(list) && j < len(cfgs); j++ {
			rv := reflect.ValueOf(cfgs[j])
			list[j] = fill(rv, defaultOf(indirectType(rv.Type())), list[j])
		}
	}
	return ms
}

// sdKey is the YAML key a service discovery config is listed under.
func sdKey(c discovery.Config) string {
	if _, ok := c.(discovery.StaticConfig); ok {
		return "static_configs"
	}
	return c.Name() + "_sd_configs"
}
