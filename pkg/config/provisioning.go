package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/stlarchive/redshift-stl-archive/pkg/awsx"
)

// LoadProvisioning reads this plugin's datasource from a Grafana datasource provisioning file
// (apiVersion 1, datasources: [{name, type, jsonData, secureJsonData, ...}]) or, when path is a
// folder, from every *.yaml and *.yml file in it, as Grafana reads provisioning/datasources/.
//
// String values are expanded as Grafana expands them: $NAME, ${NAME}, $__env{NAME} and
// $__file{PATH}, with $$ for a literal $, looking variables up with env (os.LookupEnv when nil).
// Unlike Grafana, an unset variable is an error rather than an empty string. Datasources of other
// types are ignored, whatever variables they use.
// When several datasources of type PluginID exist, name selects one; an empty name is allowed
// only when there is exactly one.
//
// A relative archive.path or state.path is resolved against the folder of the file that defines
// the datasource, so that a provisioning tree can be moved as a whole. (Inside Grafana the plugin
// receives the path as written; use absolute paths in files Grafana reads.)
//
// Errors of the datasource's settings are those of FromSettings, each prefixed with the file and
// the datasource name.
func LoadProvisioning(path string, name string, env func(string) (string, bool)) (Config, error) {
	x := newExpander(env)
	files, err := provisioningFiles(path)
	if err != nil {
		return Config{}, err
	}
	var found []provisioned
	for _, f := range files {
		ds, err := readProvisioningFile(f, x)
		if err != nil {
			return Config{}, err
		}
		found = append(found, ds...)
	}
	ds, err := choose(path, name, found)
	if err != nil {
		return Config{}, err
	}
	prefix := fmt.Sprintf("%s: datasource %q", ds.file, ds.name)
	jsonData, secure, err := ds.settings(x)
	if err != nil {
		return Config{}, prefixEach(prefix, err)
	}
	// Outside Grafana, its AWS restrictions apply only when the environment sets them, as
	// Grafana sets them for its plugins.
	get := func(k string) string { v, _ := env(k); return v }
	var restrictions *awsx.Restrictions
	if awsx.HasRestrictions(get) {
		if restrictions, err = awsx.ReadRestrictions(get); err != nil {
			return Config{}, err
		}
	}
	cfg, err := FromSettingsIn(jsonData, secure, restrictions)
	if err != nil {
		return Config{}, prefixEach(prefix, err)
	}
	dir, err := filepath.Abs(filepath.Dir(ds.file))
	if err != nil {
		return Config{}, fmt.Errorf("%s: %w", prefix, err)
	}
	cfg.Archive.Path = resolve(dir, cfg.Archive.Path)
	cfg.State.Path = resolve(dir, cfg.State.Path)
	return cfg, nil
}

func resolve(dir, p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(dir, p)
}

// provisioningFiles lists the files to read: path itself, or the YAML files of the folder in name
// order.
func provisioningFiles(path string) ([]string, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("read provisioning: %w", err)
	}
	if !info.IsDir() {
		return []string{path}, nil
	}
	entries, err := os.ReadDir(path)
	if err != nil {
		return nil, fmt.Errorf("read provisioning: %w", err)
	}
	var files []string
	for _, e := range entries {
		ext := filepath.Ext(e.Name())
		if e.Type().IsRegular() && (ext == ".yaml" || ext == ".yml") {
			files = append(files, filepath.Join(path, e.Name()))
		}
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("read provisioning: no *.yaml or *.yml file in %s", path)
	}
	return files, nil
}

// provisioned is one datasource of this plugin's type, its settings not yet expanded.
type provisioned struct {
	file, name string
	jsonData   yaml.Node
	secure     yaml.Node
}

type provisioningDoc struct {
	APIVersion  int         `yaml:"apiVersion"`
	Datasources []yaml.Node `yaml:"datasources"`
}

// datasourceFields are the fields of a provisioned datasource this loader reads; Grafana's
// other fields (access, orgId, isDefault, editable, ...) are Grafana's business.
type datasourceFields struct {
	Name           string    `yaml:"name"`
	Type           string    `yaml:"type"`
	JSONData       yaml.Node `yaml:"jsonData"`
	SecureJSONData yaml.Node `yaml:"secureJsonData"`
}

// readProvisioningFile returns the datasources of this plugin's type in one file.
func readProvisioningFile(file string, x expander) ([]provisioned, error) {
	raw, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("read provisioning: %w", err)
	}
	var doc provisioningDoc
	if err := yaml.NewDecoder(bytes.NewReader(raw)).Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil // an empty file provisions nothing
		}
		return nil, fmt.Errorf("read provisioning %s: %w", file, err)
	}
	var out []provisioned
	for i, node := range doc.Datasources {
		var f datasourceFields
		if err := node.Decode(&f); err != nil {
			return nil, fmt.Errorf("read provisioning %s: datasources[%d]: %w", file, i, err)
		}
		// The type may itself come from the environment; a datasource whose type cannot be
		// expanded here is not ours to judge.
		if typ, _ := x.expand(f.Type); typ != PluginID {
			continue
		}
		if doc.APIVersion != 1 {
			return nil, fmt.Errorf("read provisioning %s: apiVersion must be 1, got %d", file, doc.APIVersion)
		}
		name, probs := x.expand(f.Name)
		if len(probs) > 0 {
			return nil, fmt.Errorf("read provisioning %s: datasources[%d].name: %s", file, i, strings.Join(probs, "; "))
		}
		if name == "" {
			return nil, fmt.Errorf("read provisioning %s: datasources[%d].name: required", file, i)
		}
		out = append(out, provisioned{file: file, name: name, jsonData: f.JSONData, secure: f.SecureJSONData})
	}
	return out, nil
}

// choose picks the datasource that name designates.
func choose(path, name string, found []provisioned) (provisioned, error) {
	var matches []provisioned
	for _, ds := range found {
		if name == "" || ds.name == name {
			matches = append(matches, ds)
		}
	}
	switch {
	case len(found) == 0:
		return provisioned{}, fmt.Errorf("read provisioning %s: no datasource of type %s", path, PluginID)
	case len(matches) == 0:
		return provisioned{}, fmt.Errorf("read provisioning %s: no datasource named %q of type %s; available: %s",
			path, name, PluginID, listNames(found))
	case len(matches) > 1 && name == "":
		return provisioned{}, fmt.Errorf("read provisioning %s: %d datasources of type %s, choose one by name: %s",
			path, len(matches), PluginID, listNames(found))
	case len(matches) > 1:
		return provisioned{}, fmt.Errorf("read provisioning %s: datasource %q is defined %d times: %s",
			path, name, len(matches), listNames(matches))
	}
	return matches[0], nil
}

func listNames(ds []provisioned) string {
	names := make([]string, len(ds))
	for i, d := range ds {
		names[i] = fmt.Sprintf("%q (%s)", d.name, filepath.Base(d.file))
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

// settings expands the datasource's jsonData and secureJsonData and converts them to what Grafana
// would hand the plugin: jsonData as JSON, secureJsonData as a map of strings.
func (ds provisioned) settings(x expander) ([]byte, map[string]string, error) {
	var probs problems
	visited := make(map[*yaml.Node]bool)
	expandNode(x, &ds.jsonData, "jsonData", &probs, visited)

	secure := make(map[string]string)
	switch ds.secure.Kind {
	case 0:
	case yaml.MappingNode:
		for i := 0; i+1 < len(ds.secure.Content); i += 2 {
			key, val := ds.secure.Content[i].Value, ds.secure.Content[i+1]
			field := "secureJsonData." + key
			if val.Kind != yaml.ScalarNode {
				probs.add(field, "must be a string")
				continue
			}
			if val.ShortTag() == "!!null" {
				secure[key] = ""
				continue
			}
			v, ps := x.expand(val.Value)
			if len(ps) > 0 {
				probs.add(field, "%s", strings.Join(ps, "; "))
				continue
			}
			secure[key] = v
		}
	default:
		if ds.secure.ShortTag() != "!!null" {
			probs.add("secureJsonData", "must be a mapping of names to strings")
		}
	}
	if err := probs.err(); err != nil {
		return nil, nil, err
	}

	if ds.jsonData.Kind == 0 {
		return nil, secure, nil
	}
	var tree any
	if err := ds.jsonData.Decode(&tree); err != nil {
		return nil, nil, &FieldError{Field: "jsonData", Problem: err.Error()}
	}
	raw, err := json.Marshal(tree)
	if err != nil {
		return nil, nil, &FieldError{Field: "jsonData", Problem: "cannot be expressed as JSON: " + err.Error()}
	}
	return raw, secure, nil
}

// expandNode expands environment references in every string value under n (never in keys, as
// Grafana). A value stays a string after expansion: `port: $PORT` reaches the plugin as "5439",
// exactly as Grafana passes it, and FromSettings accepts numbers written as strings.
func expandNode(x expander, n *yaml.Node, path string, probs *problems, visited map[*yaml.Node]bool) {
	if visited[n] {
		return
	}
	visited[n] = true
	switch n.Kind {
	case yaml.DocumentNode:
		for _, c := range n.Content {
			expandNode(x, c, path, probs, visited)
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			expandNode(x, n.Content[i+1], path+"."+n.Content[i].Value, probs, visited)
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			expandNode(x, c, fmt.Sprintf("%s[%d]", path, i), probs, visited)
		}
	case yaml.AliasNode:
		expandNode(x, n.Alias, path, probs, visited)
	case yaml.ScalarNode:
		if n.ShortTag() != "!!str" {
			return
		}
		v, ps := x.expand(n.Value)
		if len(ps) > 0 {
			probs.add(path, "%s", strings.Join(ps, "; "))
			return
		}
		n.Value, n.Tag = v, "!!str"
	}
}
