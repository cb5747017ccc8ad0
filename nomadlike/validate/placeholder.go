package validate

import (
	"fmt"
	"net/url"
	"strconv"

	yaml "go.yaml.in/yaml/v2"
)

// RedactedPassword is what Prometheus (and Scrubbed) show in place of a
// URL's password.
const RedactedPassword = "xxxxx"

// A config read back with GET shows its secrets as "<secret>" and URL
// passwords as "xxxxx". Sending that text back (get, edit, put) must not
// store the placeholders: a placeholder in a PUT means "keep the secret
// stored at this place". HasPlaceholders and KeepStoredSecrets implement
// that; the server calls them against the current state of the config.

// HasPlaceholders reports whether c holds "<secret>" where a secret goes,
// or a URL whose password is "xxxxx".
func (c *InstanceConfig) HasPlaceholders() bool {
	t, err := c.tree()
	if err != nil {
		return false
	}
	_, err = mergeSecrets(t, nil, "", "", "")
	return err != nil
}

// KeepStoredSecrets returns c with every placeholder replaced by the
// secret stored at the same place in stored (the config's current
// version, nil when there is none), validated again with opts. Lists are
// matched the way a user edits them: remote_write entries by name, else
// by URL (a password never follows an endpoint to another host);
// scrape_configs by job_name; other lists by position. A placeholder with
// no stored secret at its place is a *ValidationError naming the field,
// e.g. `remote_write[0].basic_auth.password: "<secret>" is a
// placeholder…`.
func (c *InstanceConfig) KeepStoredSecrets(stored *InstanceConfig, opts InstanceConfigOptions) (*InstanceConfig, error) {
	t, err := c.tree()
	if err != nil {
		return nil, &ValidationError{Err: err}
	}
	var old yaml.MapSlice
	if stored != nil {
		if old, err = stored.tree(); err != nil {
			return nil, &ValidationError{Err: err}
		}
	}
	merged, err := mergeSecrets(t, old, "", "", c.Name)
	if err != nil {
		return nil, &ValidationError{Err: err}
	}
	b, err := yaml.Marshal(merged)
	if err != nil {
		return nil, &ValidationError{Err: err}
	}
	return ParseInstanceConfig(b, c.Name, opts)
}

// placeholderError names the field a placeholder cannot be resolved at.
func placeholderError(path, value, name string) error {
	return fmt.Errorf("%s: %q is a placeholder for a stored secret, but config %q has none at this place; send the secret itself", path, value, name)
}

// mergeSecrets walks the new tree n next to the stored tree o (nil: none)
// and resolves placeholders, following the same key rules as Scrubbed.
// parent is the key n sits under; path the field path for errors.
func mergeSecrets(n, o interface{}, parent, path, name string) (interface{}, error) {
	switch t := n.(type) {
	case yaml.MapSlice:
		om, _ := o.(yaml.MapSlice)
		for i := range t {
			key, _ := t[i].Key.(string)
			ov := lookupKey(om, key)
			p := joinPath(path, key)
			var err error
			switch {
			case opaqueKeys[key]:
				continue
			case secretKeys[key], key == "key" && parent == "tls_config",
				key == "secrets" && parent == "http_header", key == "proxy_connect_header":
				t[i].Value, err = restoreSecrets(t[i].Value, ov, p, name)
			case key == "url" || key == "proxy_url":
				if s, ok := t[i].Value.(string); ok {
					t[i].Value, err = restoreURL(s, ov, p, name)
				}
			default:
				next := key
				if parent == "http_headers" {
					next = "http_header"
				}
				t[i].Value, err = mergeList(t[i].Value, ov, key, next, p, name)
			}
			if err != nil {
				return nil, err
			}
		}
		return t, nil
	}
	return n, nil
}

// mergeList recurses into a value, matching list items to stored ones.
func mergeList(n, o interface{}, key, next, path, name string) (interface{}, error) {
	list, ok := n.([]interface{})
	if !ok {
		return mergeSecrets(n, o, next, path, name)
	}
	olist, _ := o.([]interface{})
	for i, item := range list {
		var match interface{}
		switch key {
		case "remote_write", "clients": // a logs config's clients have no name
			match = matchRemoteWrite(item, olist)
		case "scrape_configs":
			match = matchByKey(item, olist, "job_name")
		default:
			if i < len(olist) {
				match = olist[i]
			}
		}
		v, err := mergeSecrets(item, match, next, path+"["+strconv.Itoa(i)+"]", name)
		if err != nil {
			return nil, err
		}
		list[i] = v
	}
	return list, nil
}

// restoreSecrets resolves "<secret>" scalars in a secret value (a scalar,
// or the lists and maps of http_headers secrets and proxy_connect_header).
func restoreSecrets(n, o interface{}, path, name string) (interface{}, error) {
	switch t := n.(type) {
	case string:
		if t != SecretPlaceholder {
			return t, nil
		}
		if s, ok := o.(string); ok && s != "" && s != SecretPlaceholder {
			return s, nil
		}
		return nil, placeholderError(path, SecretPlaceholder, name)
	case []interface{}:
		olist, _ := o.([]interface{})
		for i := range t {
			var ov interface{}
			if i < len(olist) {
				ov = olist[i]
			}
			v, err := restoreSecrets(t[i], ov, path+"["+strconv.Itoa(i)+"]", name)
			if err != nil {
				return nil, err
			}
			t[i] = v
		}
		return t, nil
	case yaml.MapSlice:
		om, _ := o.(yaml.MapSlice)
		for i := range t {
			key, _ := t[i].Key.(string)
			v, err := restoreSecrets(t[i].Value, lookupKey(om, key), joinPath(path, key), name)
			if err != nil {
				return nil, err
			}
			t[i].Value = v
		}
		return t, nil
	}
	return n, nil
}

// restoreURL puts back the stored password of a URL sent with the
// redacted one, if the stored URL is the same apart from it.
func restoreURL(s string, o interface{}, path, name string) (string, error) {
	u, err := url.Parse(s)
	if err != nil || u.User == nil {
		return s, nil
	}
	if pw, ok := u.User.Password(); !ok || pw != RedactedPassword {
		return s, nil
	}
	if old, ok := o.(string); ok && old != s && redactURL(old) == s {
		return old, nil
	}
	return "", fmt.Errorf("%s: password %q is a placeholder for a stored secret, but config %q has none at this place; send the secret itself", path, RedactedPassword, name)
}

// matchRemoteWrite finds the stored remote_write an entry stands for: the
// one with its name, or, unnamed, the one with its URL.
func matchRemoteWrite(item interface{}, olist []interface{}) interface{} {
	ms, _ := item.(yaml.MapSlice)
	if name, _ := lookupKey(ms, "name").(string); name != "" {
		return matchByKey(item, olist, "name")
	}
	u, _ := lookupKey(ms, "url").(string)
	for _, o := range olist {
		om, _ := o.(yaml.MapSlice)
		if ou, _ := lookupKey(om, "url").(string); ou != "" && (ou == u || redactURL(ou) == u) {
			if on, _ := lookupKey(om, "name").(string); on == "" {
				return o
			}
		}
	}
	return nil
}

// matchByKey finds the stored item whose scalar key equals item's.
func matchByKey(item interface{}, olist []interface{}, key string) interface{} {
	ms, _ := item.(yaml.MapSlice)
	want, _ := lookupKey(ms, key).(string)
	if want == "" {
		return nil
	}
	for _, o := range olist {
		om, _ := o.(yaml.MapSlice)
		if got, _ := lookupKey(om, key).(string); got == want {
			return o
		}
	}
	return nil
}

// lookupKey returns a mapping's value for key, or nil.
func lookupKey(ms yaml.MapSlice, key string) interface{} {
	for _, it := range ms {
		if k, ok := it.Key.(string); ok && k == key {
			return it.Value
		}
	}
	return nil
}

// joinPath appends a key to a field path.
func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}
