package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

// object reads one JSON object field by field and remembers which keys it read, so that every
// key it did not read can be reported as unknown with its full path. encoding/json stops at the
// first unknown field and does not say where it was; a settings form deserves all of them.
//
// Numbers and booleans are also accepted as strings: Grafana expands $VAR in provisioning files
// into strings, so `port: $PORT` reaches the plugin as "5439".
type object struct {
	path  string
	m     map[string]any
	read  map[string]bool
	probs *problems
}

// parseObject decodes raw JSON into an object, or reports why it cannot and returns nil. Empty
// input is an empty object: Grafana sends no jsonData for a datasource that was never saved.
func parseObject(probs *problems, path string, raw []byte) *object {
	if len(bytes.TrimSpace(raw)) == 0 {
		return asObject(probs, path, nil)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		var syntax *json.SyntaxError
		if errors.As(err, &syntax) {
			probs.add(path, "invalid JSON at byte %d: %v", syntax.Offset, err)
		} else {
			probs.add(path, "invalid JSON: %v", err)
		}
		return nil
	}
	if dec.More() {
		probs.add(path, "invalid JSON: more than one value")
		return nil
	}
	if _, isObject := v.(map[string]any); !isObject && v != nil {
		probs.add(path, "must be an object, got %s", describe(v))
		return nil
	}
	return asObject(probs, path, v)
}

// asObject wraps a decoded value; null or a non-object (reported) gives an empty object.
func asObject(probs *problems, path string, v any) *object {
	o := &object{path: path, read: make(map[string]bool), probs: probs}
	switch m := v.(type) {
	case map[string]any:
		o.m = m
	case nil:
	default:
		probs.add(path, "must be an object, got %s", describe(v))
	}
	return o
}

func (o *object) field(key string) string { return o.path + "." + key }

// get returns the value of key; null counts as absent.
func (o *object) get(key string) (any, bool) {
	o.read[key] = true
	v, ok := o.m[key]
	return v, ok && v != nil
}

// has reports whether key is present (and not null), without marking it read.
func (o *object) has(key string) bool {
	v, ok := o.m[key]
	return ok && v != nil
}

// str sets *dst when key holds a string and reports whether the key was present.
func (o *object) str(key string, dst *string) bool {
	v, ok := o.get(key)
	if !ok {
		return false
	}
	s, isStr := v.(string)
	if !isStr {
		o.probs.add(o.field(key), "must be a string, got %s", describe(v))
		return true
	}
	*dst = s
	return true
}

func (o *object) integer(key string, dst *int) bool {
	v, ok := o.get(key)
	if !ok {
		return false
	}
	var text string
	switch n := v.(type) {
	case json.Number:
		text = n.String()
	case string:
		text = strings.TrimSpace(n)
	default:
		o.probs.add(o.field(key), "must be an integer, got %s", describe(v))
		return true
	}
	i, err := strconv.Atoi(text)
	if err != nil {
		o.probs.add(o.field(key), "must be an integer, got %s", describe(v))
		return true
	}
	*dst = i
	return true
}

func (o *object) boolean(key string, dst *bool) bool {
	v, ok := o.get(key)
	if !ok {
		return false
	}
	switch b := v.(type) {
	case bool:
		*dst = b
		return true
	case string:
		if parsed, err := strconv.ParseBool(strings.TrimSpace(b)); err == nil {
			*dst = parsed
			return true
		}
	}
	o.probs.add(o.field(key), "must be true or false, got %s", describe(v))
	return true
}

func (o *object) duration(key string, dst *time.Duration) bool {
	v, ok := o.get(key)
	if !ok {
		return false
	}
	s, isStr := v.(string)
	if !isStr {
		o.probs.add(o.field(key), `must be a duration string (e.g. "5m"), got %s`, describe(v))
		return true
	}
	d, err := time.ParseDuration(strings.TrimSpace(s))
	if err != nil {
		o.probs.add(o.field(key), `%q is not a duration (e.g. "5m")`, s)
		return true
	}
	*dst = d
	return true
}

// stringList sets *dst when key holds an array of strings.
func (o *object) stringList(key string, dst *[]string) bool {
	items, ok := o.array(key)
	if !ok {
		return false
	}
	out := make([]string, 0, len(items))
	for i, v := range items {
		s, isStr := v.(string)
		if !isStr {
			o.probs.add(fmt.Sprintf("%s[%d]", o.field(key), i), "must be a string, got %s", describe(v))
			continue
		}
		out = append(out, s)
	}
	*dst = out
	return true
}

// objects returns the elements of an array of objects.
func (o *object) objects(key string) []*object {
	items, ok := o.array(key)
	if !ok {
		return nil
	}
	out := make([]*object, len(items))
	for i, v := range items {
		out[i] = asObject(o.probs, fmt.Sprintf("%s[%d]", o.field(key), i), v)
	}
	return out
}

func (o *object) object(key string) *object {
	v, _ := o.get(key)
	return asObject(o.probs, o.field(key), v)
}

// optionalObject returns the object under key and whether the key is present (not null).
func (o *object) optionalObject(key string) (*object, bool) {
	v, ok := o.get(key)
	if !ok {
		return nil, false
	}
	return asObject(o.probs, o.field(key), v), true
}

func (o *object) array(key string) ([]any, bool) {
	v, ok := o.get(key)
	if !ok {
		return nil, false
	}
	items, isArray := v.([]any)
	if !isArray {
		o.probs.add(o.field(key), "must be an array, got %s", describe(v))
		return nil, false
	}
	return items, true
}

// done reports every key that no reader asked for, in a stable order.
func (o *object) done() {
	var unknown []string
	for k := range o.m {
		if !o.read[k] {
			unknown = append(unknown, k)
		}
	}
	sort.Strings(unknown)
	for _, k := range unknown {
		if strings.EqualFold(k, "password") {
			o.probs.add(o.field(k), "unknown field (passwords belong in secureJsonData, as %s<cluster name>)", passwordKey)
			continue
		}
		if near := closest(k, o.read); near != "" {
			o.probs.add(o.field(k), "unknown field (did you mean %q?)", near)
		} else {
			o.probs.add(o.field(k), "unknown field")
		}
	}
}

// closest returns the known key nearest to k when it is a likely typo (edit distance ≤ 2, or a
// difference in case only).
func closest(k string, known map[string]bool) string {
	best, bestDist := "", 3
	for cand := range known {
		if strings.EqualFold(cand, k) {
			return cand
		}
		if d := editDistance(k, cand); d < bestDist || (d == bestDist && cand < best) {
			best, bestDist = cand, d
		}
	}
	return best
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// describe names a JSON value for an error message. Only non-secret fields are ever described.
func describe(v any) string {
	switch x := v.(type) {
	case string:
		return strconv.Quote(x)
	case json.Number:
		return x.String()
	case bool:
		return strconv.FormatBool(x)
	case []any:
		return "an array"
	case map[string]any:
		return "an object"
	case nil:
		return "null"
	}
	return fmt.Sprintf("%T", v)
}
