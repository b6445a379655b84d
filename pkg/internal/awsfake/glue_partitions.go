package awsfake

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// partitionSep joins a partition's values into its key in the fake's map; no value the archive
// writes contains it.
const partitionSep = "\x00"

// Glue's limits on the batch partition actions.
const (
	maxBatchCreatePartitions = 100
	maxBatchDeletePartitions = 25
	maxGetPartitionsResults  = 1000
)

// defaultPartitionPage is how many partitions GetPartitions returns per page when the request
// sets no MaxResults. A small page makes every caller's paging run in tests.
const defaultPartitionPage = 100

// Partitions returns the partitions of a table as values → location, for tests to compare with
// what readers should see.
func (g *Glue) Partitions(database, table string) map[string]string {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := map[string]string{}
	for k, p := range g.partitions[glueName(database)][glueName(table)] {
		sd, _ := p["StorageDescriptor"].(map[string]any)
		out[strings.ReplaceAll(k, partitionSep, "/")] = glueString(sd, "Location")
	}
	return out
}

// partitionTable finds the table a partition request names; its partition keys tell how many
// values a partition has.
func (g *Glue) partitionTable(in map[string]any) (db, name string, keys int, gerr *glueError) {
	db, gerr = g.database(in)
	if gerr != nil {
		return "", "", 0, gerr
	}
	name = glueName(glueString(in, "TableName"))
	t, ok := g.tables[db][name]
	if !ok {
		return "", "", 0, &glueError{"EntityNotFoundException", fmt.Sprintf("Table %s not found.", name)}
	}
	pks, _ := t["PartitionKeys"].([]any)
	if g.partitions[db] == nil {
		g.partitions[db] = map[string]map[string]map[string]any{}
	}
	if g.partitions[db][name] == nil {
		g.partitions[db][name] = map[string]map[string]any{}
	}
	return db, name, len(pks), nil
}

// partitionKey checks a list of values against the table's partition keys and joins them.
func partitionKey(v any, keys int) ([]string, string, *glueError) {
	list, _ := v.([]any)
	vals := make([]string, 0, len(list))
	for _, x := range list {
		s, ok := x.(string)
		if !ok {
			return nil, "", &glueError{"InvalidInputException", "partition values must be strings"}
		}
		vals = append(vals, s)
	}
	if len(vals) != keys {
		return nil, "", &glueError{"InvalidInputException", fmt.Sprintf(
			"The number of partition keys do not match the number of partition values: %d values for %d keys", len(vals), keys)}
	}
	return vals, strings.Join(vals, partitionSep), nil
}

// storedPartition is the Partition Glue returns for a PartitionInput: what was sent plus the
// names, the catalog id and the times Glue adds.
func (g *Glue) storedPartition(pi map[string]any, db, table string, vals []string, created float64) map[string]any {
	p := maps.Clone(pi)
	p["Values"] = vals
	p["DatabaseName"] = db
	p["TableName"] = table
	p["CatalogId"] = GlueAccount
	p["CreationTime"] = created
	if sd, ok := p["StorageDescriptor"].(map[string]any); ok {
		p["StorageDescriptor"] = maps.Clone(sd)
	}
	return p
}

func (g *Glue) getPartition(in map[string]any) (any, *glueError) {
	db, name, keys, gerr := g.partitionTable(in)
	if gerr != nil {
		return nil, gerr
	}
	vals, key, gerr := partitionKey(in["PartitionValues"], keys)
	if gerr != nil {
		return nil, gerr
	}
	p, ok := g.partitions[db][name][key]
	if !ok {
		return nil, &glueError{"EntityNotFoundException", fmt.Sprintf("Partition not found: %v", vals)}
	}
	return map[string]any{"Partition": p}, nil
}

// conditionRe is one condition of the expressions the fake understands: a partition key equal
// to a quoted literal. Conditions are joined by AND.
var conditionRe = regexp.MustCompile(`^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*'([^']*)'\s*$`)

// partitionFilter reads a GetPartitions Expression into key index → wanted value.
func partitionFilter(expr string, table map[string]any) (map[int]string, *glueError) {
	out := map[int]string{}
	if strings.TrimSpace(expr) == "" {
		return out, nil
	}
	pks, _ := table["PartitionKeys"].([]any)
	for _, cond := range regexp.MustCompile(`(?i)\s+AND\s+`).Split(expr, -1) {
		m := conditionRe.FindStringSubmatch(cond)
		if m == nil {
			return nil, &glueError{"InvalidInputException", fmt.Sprintf(
				"the fake Glue understands only key = 'value' conditions joined by AND, not %q", cond)}
		}
		i := slices.IndexFunc(pks, func(c any) bool {
			col, _ := c.(map[string]any)
			return strings.EqualFold(glueString(col, "Name"), m[1])
		})
		if i < 0 {
			return nil, &glueError{"InvalidInputException", fmt.Sprintf("%s is not a partition key", m[1])}
		}
		out[i] = m[2]
	}
	return out, nil
}

// getPartitions pages through a table's partitions in the order of their values; NextToken is
// the index of the next one.
func (g *Glue) getPartitions(in map[string]any) (any, *glueError) {
	db, name, _, gerr := g.partitionTable(in)
	if gerr != nil {
		return nil, gerr
	}
	filter, gerr := partitionFilter(glueString(in, "Expression"), g.tables[db][name])
	if gerr != nil {
		return nil, gerr
	}
	page := g.PartitionPage
	if page <= 0 {
		page = defaultPartitionPage
	}
	if v, ok := in["MaxResults"].(float64); ok {
		if v < 1 || v > maxGetPartitionsResults {
			return nil, &glueError{"InvalidInputException", fmt.Sprintf("MaxResults must be between 1 and %d", maxGetPartitionsResults)}
		}
		page = int(v)
	}
	start := 0
	if tok := glueString(in, "NextToken"); tok != "" {
		n, err := strconv.Atoi(tok)
		if err != nil || n < 0 {
			return nil, &glueError{"InvalidInputException", "Invalid NextToken"}
		}
		start = n
	}
	var keys []string
	for _, k := range slices.Sorted(maps.Keys(g.partitions[db][name])) {
		vals := strings.Split(k, partitionSep)
		ok := true
		for i, want := range filter {
			if vals[i] != want {
				ok = false
			}
		}
		if ok {
			keys = append(keys, k)
		}
	}
	out := map[string]any{"Partitions": []any{}}
	list := []any{}
	for i := start; i < len(keys) && len(list) < page; i++ {
		list = append(list, g.partitions[db][name][keys[i]])
	}
	out["Partitions"] = list
	if next := start + len(list); next < len(keys) {
		out["NextToken"] = strconv.Itoa(next)
	}
	return out, nil
}

// partitionError is one entry of a batch action's Errors.
func partitionError(vals []string, code, msg string) map[string]any {
	return map[string]any{"PartitionValues": vals, "ErrorDetail": map[string]any{"ErrorCode": code, "ErrorMessage": msg}}
}

// batchCreatePartition creates each partition of the list on its own: one that exists is an
// entry of Errors (AlreadyExistsException), as Glue answers, and the others are created.
func (g *Glue) batchCreatePartition(in map[string]any) (any, *glueError) {
	db, name, keys, gerr := g.partitionTable(in)
	if gerr != nil {
		return nil, gerr
	}
	list, _ := in["PartitionInputList"].([]any)
	if len(list) > maxBatchCreatePartitions {
		return nil, &glueError{"InvalidInputException", fmt.Sprintf(
			"1 validation error detected: Value at 'partitionInputList' failed to satisfy constraint: Member must have length less than or equal to %d", maxBatchCreatePartitions)}
	}
	errs := []any{}
	for _, x := range list {
		pi, _ := x.(map[string]any)
		vals, key, gerr := partitionKey(pi["Values"], keys)
		if gerr != nil {
			errs = append(errs, partitionError(vals, gerr.Type, gerr.Message))
			continue
		}
		if _, ok := g.partitions[db][name][key]; ok {
			errs = append(errs, partitionError(vals, "AlreadyExistsException", "Partition already exists."))
			continue
		}
		g.partitions[db][name][key] = g.storedPartition(pi, db, name, vals, g.tick())
	}
	if len(errs) == 0 {
		return map[string]any{}, nil
	}
	return map[string]any{"Errors": errs}, nil
}

func (g *Glue) updatePartition(in map[string]any) (any, *glueError) {
	db, name, keys, gerr := g.partitionTable(in)
	if gerr != nil {
		return nil, gerr
	}
	vals, key, gerr := partitionKey(in["PartitionValueList"], keys)
	if gerr != nil {
		return nil, gerr
	}
	cur, ok := g.partitions[db][name][key]
	if !ok {
		return nil, &glueError{"EntityNotFoundException", fmt.Sprintf("Partition not found: %v", vals)}
	}
	pi, ok := in["PartitionInput"].(map[string]any)
	if !ok {
		return nil, &glueError{"InvalidInputException", "PartitionInput is required"}
	}
	newVals, newKey, gerr := partitionKey(pi["Values"], keys)
	if gerr != nil {
		return nil, gerr
	}
	if newKey != key {
		if _, taken := g.partitions[db][name][newKey]; taken {
			return nil, &glueError{"AlreadyExistsException", "Partition already exists."}
		}
		delete(g.partitions[db][name], key)
	}
	created, _ := cur["CreationTime"].(float64)
	g.partitions[db][name][newKey] = g.storedPartition(pi, db, name, newVals, created)
	return map[string]any{}, nil
}

// batchDeletePartition deletes each listed partition; a missing one is an entry of Errors
// (EntityNotFoundException), the others are deleted.
func (g *Glue) batchDeletePartition(in map[string]any) (any, *glueError) {
	db, name, keys, gerr := g.partitionTable(in)
	if gerr != nil {
		return nil, gerr
	}
	list, _ := in["PartitionsToDelete"].([]any)
	if len(list) > maxBatchDeletePartitions {
		return nil, &glueError{"InvalidInputException", fmt.Sprintf(
			"1 validation error detected: Value at 'partitionsToDelete' failed to satisfy constraint: Member must have length less than or equal to %d", maxBatchDeletePartitions)}
	}
	errs := []any{}
	for _, x := range list {
		pv, _ := x.(map[string]any)
		vals, key, gerr := partitionKey(pv["Values"], keys)
		if gerr != nil {
			errs = append(errs, partitionError(vals, gerr.Type, gerr.Message))
			continue
		}
		if _, ok := g.partitions[db][name][key]; !ok {
			errs = append(errs, partitionError(vals, "EntityNotFoundException", "Partition not found."))
			continue
		}
		delete(g.partitions[db][name], key)
	}
	if len(errs) == 0 {
		return map[string]any{}, nil
	}
	return map[string]any{"Errors": errs}, nil
}
