package provisioningtest

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
)

// variableRef matches a template variable reference, $name or ${name}. Names that start with
// "__" are Grafana's built-ins and the backend's macros ($__timeFilter …), which stay.
var variableRef = regexp.MustCompile(`\$(?:\{(\w+)\}|(\w+))`)

// quotedRef is a reference that is a whole SQL literal: '$name' or '${name}'.
var quotedRef = regexp.MustCompile(`'\$(?:\{(\w+)\}|(\w+))'`)

// Substitute applies dashboard template variables to a stored query model the way the plugin's
// frontend does before it sends a query (src/datasource.ts applyTemplateVariables):
//   - each entry of "clusters" expands to the variable's values, so "$cluster" with a and b
//     becomes ["a", "b"]; duplicates and empty names are dropped;
//   - in "rawSql", a variable becomes its values as a comma-separated list of single-quoted
//     SQL literals with quotes doubled — Grafana sends "All" as every value of a multi-value
//     variable;
//   - in "rawSql", a reference written inside quotes ('$query') is a single-value variable (a
//     textbox): its one value goes in with its quotes doubled, so the literal stays one literal.
//
// A reference to a variable missing from values is an error, so a test cannot send an
// unexpanded "$name" by mistake. Other fields are kept as they are.
func Substitute(target json.RawMessage, values map[string][]string) (json.RawMessage, error) {
	var m map[string]any
	if err := json.Unmarshal(target, &m); err != nil {
		return nil, fmt.Errorf("substitute variables: %w", err)
	}
	if raw, ok := m["rawSql"].(string); ok {
		var single []string
		raw = quotedRef.ReplaceAllStringFunc(raw, func(ref string) string {
			match := quotedRef.FindStringSubmatch(ref)
			vs := values[match[1]+match[2]]
			if len(vs) != 1 {
				single = append(single, match[1]+match[2])
				return ref
			}
			return "'" + strings.ReplaceAll(vs[0], "'", "''") + "'"
		})
		if len(single) > 0 {
			return nil, fmt.Errorf("substitute variables: %s quoted in rawSql needs exactly one value", strings.Join(single, ", "))
		}
		sql, err := replaceVariables(raw, values, func(vs []string) string {
			quoted := make([]string, len(vs))
			for i, v := range vs {
				quoted[i] = "'" + strings.ReplaceAll(v, "'", "''") + "'"
			}
			return strings.Join(quoted, ",")
		})
		if err != nil {
			return nil, err
		}
		m["rawSql"] = sql
	}
	if list, ok := m["clusters"].([]any); ok {
		expanded := []any{}
		seen := map[string]bool{}
		for _, entry := range list {
			s, ok := entry.(string)
			if !ok {
				return nil, fmt.Errorf("substitute variables: clusters entry %v is not a string", entry)
			}
			// Cluster names cannot hold commas, so the list is joined and split again, as the
			// frontend does.
			joined, err := replaceVariables(s, values, func(vs []string) string { return strings.Join(vs, ",") })
			if err != nil {
				return nil, err
			}
			for _, name := range strings.Split(joined, ",") {
				name = strings.TrimSpace(name)
				if name != "" && !seen[name] {
					seen[name] = true
					expanded = append(expanded, name)
				}
			}
		}
		m["clusters"] = expanded
	}
	out, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("substitute variables: %w", err)
	}
	return out, nil
}

// VariableNames lists the template variables a query model refers to in "rawSql" and
// "clusters", in order of first appearance.
func VariableNames(target json.RawMessage) ([]string, error) {
	var m struct {
		RawSQL   string   `json:"rawSql"`
		Clusters []string `json:"clusters"`
	}
	if err := json.Unmarshal(target, &m); err != nil {
		return nil, fmt.Errorf("list variables: %w", err)
	}
	var names []string
	seen := map[string]bool{}
	for _, s := range append([]string{m.RawSQL}, m.Clusters...) {
		for _, match := range variableRef.FindAllStringSubmatch(s, -1) {
			name := match[1] + match[2]
			if !strings.HasPrefix(name, "__") && !seen[name] {
				seen[name] = true
				names = append(names, name)
			}
		}
	}
	return names, nil
}

func replaceVariables(s string, values map[string][]string, format func([]string) string) (string, error) {
	var missing []string
	out := variableRef.ReplaceAllStringFunc(s, func(ref string) string {
		match := variableRef.FindStringSubmatch(ref)
		name := match[1] + match[2]
		if strings.HasPrefix(name, "__") {
			return ref
		}
		vs, ok := values[name]
		if !ok {
			missing = append(missing, name)
			return ref
		}
		return format(vs)
	})
	if len(missing) > 0 {
		return "", fmt.Errorf("substitute variables: no value for %s", strings.Join(missing, ", "))
	}
	return out, nil
}
