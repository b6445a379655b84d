package config

import (
	"fmt"
	"os"
	"strings"
)

// expander replaces environment references in the string values of a provisioning file as
// Grafana does, so that the CLI reads the same settings that Grafana hands the plugin:
//
//  1. The value is split at every "$$"; each "$$" becomes a literal "$" at the end.
//  2. In each piece, ${NAME} and $__env{NAME} become the variable's value and $__file{PATH}
//     the file's content with surrounding blanks trimmed (PATH as given, relative to the working
//     directory, as in Grafana).
//  3. Then $NAME becomes the variable's value (os.Expand rules: a name is letters, digits and
//     '_'; a '$' followed by anything else stays).
//
// Two deliberate differences, both where Grafana would silently produce a wrong value:
//   - A variable that is not set is an error (Grafana substitutes ""), so that a forgotten
//     export does not become an empty password or path.
//   - A value inserted by step 2 that contains '$' is an error: Grafana expands it a second time
//     in step 3 and mangles it (its documentation advises $NAME for such values).
type expander struct {
	env      func(string) (string, bool)
	readFile func(string) ([]byte, error)
}

func newExpander(env func(string) (string, bool)) expander {
	if env == nil {
		env = os.LookupEnv
	}
	return expander{env: env, readFile: os.ReadFile}
}

// expand returns s with its references replaced and, when some could not be, what went wrong.
// The problems name variables and files, never the values.
func (x expander) expand(s string) (string, []string) {
	if !strings.Contains(s, "$") {
		return s, nil
	}
	var probs []string
	parts := strings.Split(s, "$$")
	for i, part := range parts {
		part = x.braced(part, &probs)
		parts[i] = os.Expand(part, func(name string) string {
			v, ok := x.env(name)
			if !ok {
				probs = append(probs, fmt.Sprintf("environment variable %s is not set (write $$ for a literal $)", name))
			}
			return v
		})
	}
	return strings.Join(parts, "$"), probs
}

// braced does step 2 on one piece.
func (x expander) braced(s string, probs *[]string) string {
	var b strings.Builder
	for {
		i := strings.IndexByte(s, '$')
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		b.WriteString(s[:i])
		ref := s[i:]
		kind, rest := "", ref[1:]
		if strings.HasPrefix(rest, "__") {
			n := 2
			for n < len(rest) && isWordByte(rest[n]) {
				n++
			}
			if n < len(rest) && rest[n] == '{' {
				kind, rest = rest[:n], rest[n:]
			}
		}
		if !strings.HasPrefix(rest, "{") {
			// $NAME: left for step 3.
			b.WriteByte('$')
			s = ref[1:]
			continue
		}
		end := strings.IndexByte(rest, '}')
		if end < 0 {
			*probs = append(*probs, fmt.Sprintf("unterminated %s{ (write $$ for a literal $)", "$"+kind))
			b.WriteString(ref)
			return b.String()
		}
		arg := rest[1:end]
		s = rest[end+1:]
		written := "$" + kind + "{" + arg + "}"
		if arg == "" {
			*probs = append(*probs, fmt.Sprintf("empty %s", written))
			continue
		}
		var value string
		switch kind {
		case "", "__env":
			v, ok := x.env(arg)
			if !ok {
				*probs = append(*probs, fmt.Sprintf("environment variable %s is not set", arg))
				continue
			}
			value = v
		case "__file":
			content, err := x.readFile(arg)
			if err != nil {
				*probs = append(*probs, fmt.Sprintf("%s: %v", written, err))
				continue
			}
			value = strings.TrimSpace(string(content))
		default:
			*probs = append(*probs, fmt.Sprintf("%s is not supported (only ${NAME}, $__env{NAME} and $__file{PATH})", "$"+kind+"{…}"))
			continue
		}
		if strings.Contains(value, "$") {
			hint := "reference the variable as $" + arg
			if kind == "__file" {
				hint = "pass such a value through an environment variable referenced as $NAME"
			}
			*probs = append(*probs, fmt.Sprintf("the value of %s contains $, which Grafana expands a second time; %s", written, hint))
			continue
		}
		b.WriteString(value)
	}
}

func isWordByte(c byte) bool {
	return c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}
