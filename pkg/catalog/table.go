package catalog

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/glue/types"

	"github.com/stlarchive/redshift-stl-archive/pkg/tables"
)

// The Hive classes of Parquet tables, as Athena's own CREATE EXTERNAL TABLE … STORED AS PARQUET
// sets them.
const (
	parquetSerDe  = "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"
	parquetInput  = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat"
	parquetOutput = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat"
)

// The partition columns, named as in the archive's folders (see tables.PartitionDir).
const (
	clusterKey = "cluster"
	dayKey     = "day"
)

// TableInput is the Glue definition of an archived table: an external Parquet table at
// <Location><table>/ with the table's columns, partitioned by cluster and day through
// partition projection, or through registered partitions (Options.Registered). It is what Ensure creates, and what it compares an existing table with.
func TableInput(t tables.Table, opts Options) (*types.TableInput, error) {
	o, _, err := opts.normalize()
	if err != nil {
		return nil, err
	}
	if len(t.Columns) == 0 {
		return nil, fmt.Errorf("table %s has no declared columns", t.Name)
	}
	cols := make([]types.Column, len(t.Columns))
	for i, c := range t.Columns {
		if c.Name == clusterKey || c.Name == dayKey {
			return nil, fmt.Errorf("column %s of %s has the name of a partition column", c.Name, t.Name)
		}
		cols[i] = types.Column{Name: aws.String(c.Name), Type: aws.String(GlueType(c.Type)), Comment: aws.String(c.Type)}
	}
	loc := o.Location + t.Name + "/"
	return &types.TableInput{
		Name:        aws.String(t.Name),
		Description: aws.String(fmt.Sprintf("Redshift %s of every cluster, archived as Parquet by cluster and day.", t.Name)),
		TableType:   aws.String("EXTERNAL_TABLE"),
		Parameters:  parameters(o, loc),
		PartitionKeys: []types.Column{
			{Name: aws.String(clusterKey), Type: aws.String("string"), Comment: aws.String("Redshift cluster name")},
			{Name: aws.String(dayKey), Type: aws.String("date"), Comment: aws.String("UTC day of the row's time")},
		},
		StorageDescriptor: &types.StorageDescriptor{
			Columns:      cols,
			Location:     aws.String(loc),
			InputFormat:  aws.String(parquetInput),
			OutputFormat: aws.String(parquetOutput),
			SerdeInfo: &types.SerDeInfo{
				SerializationLibrary: aws.String(parquetSerDe),
				Parameters:           map[string]string{"serialization.format": "1"},
			},
		},
	}, nil
}

// parameters are the table's: with projection, how Athena computes the partitions; with
// registered partitions (Options.Registered), none, so Athena reads the partitions Publish keeps.
func parameters(o Options, loc string) map[string]string {
	if o.Registered {
		return map[string]string{"classification": "parquet"}
	}
	return map[string]string{
		"classification":               "parquet",
		"projection.enabled":           "true",
		"projection.cluster.type":      "enum",
		"projection.cluster.values":    strings.Join(o.Clusters, ","),
		"projection.day.type":          "date",
		"projection.day.format":        "yyyy-MM-dd",
		"projection.day.range":         o.FirstDay + ",NOW",
		"projection.day.interval":      "1",
		"projection.day.interval.unit": "DAYS",
		"storage.location.template":    loc + clusterKey + "=${" + clusterKey + "}/" + dayKey + "=${" + dayKey + "}/",
	}
}

var numericRe = regexp.MustCompile(`^(?:numeric|decimal)\s*\(\s*(\d+)\s*(?:,\s*(\d+)\s*)?\)$`)

// maxUnscaledPrecision is the widest numeric the exporter writes as a Parquet DECIMAL
// (source.MaxUnscaledPrecision); wider ones it writes as exact decimal text.
const maxUnscaledPrecision = 18

// GlueType is the Hive type under which Athena reads a column of Redshift type redshift as the
// exporter writes it to Parquet (package parquetfile): the integer types by their width,
// timestamps (microseconds; with or without time zone, both hold UTC wall time) as timestamp,
// numerics that fit 18 digits as decimal(p,s), and everything else — char, varchar, text,
// wider numerics and types the exporter reads as text — as string. Hive's char(n) and
// varchar(n) are not used: they would pad or cut what the archive keeps exactly.
func GlueType(redshift string) string {
	t := strings.Join(strings.Fields(strings.ToLower(redshift)), " ")
	switch t {
	case "smallint", "int2":
		return "smallint"
	case "integer", "int", "int4":
		return "int"
	case "bigint", "int8":
		return "bigint"
	case "real", "float4":
		return "float"
	case "double precision", "float8", "float":
		return "double"
	case "boolean", "bool":
		return "boolean"
	case "date":
		return "date"
	case "timestamp", "timestamp without time zone", "timestamptz", "timestamp with time zone":
		return "timestamp"
	}
	if m := numericRe.FindStringSubmatch(t); m != nil {
		p, _ := strconv.Atoi(m[1])
		s := 0
		if m[2] != "" {
			s, _ = strconv.Atoi(m[2])
		}
		if p > 0 && p <= maxUnscaledPrecision && s <= p {
			return fmt.Sprintf("decimal(%d,%d)", p, s)
		}
	}
	return "string"
}

// managedParameter reports whether Ensure owns a table parameter: one it sets, or one of the
// families it sets (a projection property it no longer sets must go, or Athena would still
// read it).
func managedParameter(key string) bool {
	return key == "classification" || key == "storage.location.template" || strings.HasPrefix(key, "projection.")
}

// keepForeign is want with the parameters of have that Ensure does not manage added, so that
// an update keeps what other tools put on the table.
func keepForeign(want *types.TableInput, have *types.Table) *types.TableInput {
	in := *want
	in.Parameters = maps.Clone(want.Parameters)
	for k, v := range have.Parameters {
		if _, ok := in.Parameters[k]; !ok && !managedParameter(k) {
			in.Parameters[k] = v
		}
	}
	return &in
}

// diff lists how have differs from want in what Ensure manages, as short phrases. Fields Glue
// fills in itself (times, version, catalog id, storage descriptor defaults) and parameters
// other tools added do not count.
func diff(want *types.TableInput, have *types.Table) []string {
	var d []string
	str := func(what string, w, h *string) {
		if aws.ToString(w) != aws.ToString(h) {
			d = append(d, fmt.Sprintf("%s %q → %q", what, aws.ToString(h), aws.ToString(w)))
		}
	}
	str("table type", want.TableType, have.TableType)
	str("description", want.Description, have.Description)

	keys := slices.Sorted(maps.Keys(want.Parameters))
	for k := range have.Parameters {
		if _, ok := want.Parameters[k]; !ok && managedParameter(k) {
			keys = append(keys, k)
		}
	}
	for _, k := range keys {
		w, wok := want.Parameters[k]
		h, hok := have.Parameters[k]
		switch {
		case !hok:
			d = append(d, fmt.Sprintf("parameter %s missing", k))
		case !wok:
			d = append(d, fmt.Sprintf("parameter %s unexpected", k))
		case w != h:
			d = append(d, fmt.Sprintf("parameter %s %q → %q", k, h, w))
		}
	}

	d = append(d, diffColumns("partition key", want.PartitionKeys, have.PartitionKeys)...)
	wsd, hsd := want.StorageDescriptor, have.StorageDescriptor
	if hsd == nil {
		return append(d, "no storage descriptor")
	}
	d = append(d, diffColumns("column", wsd.Columns, hsd.Columns)...)
	str("location", wsd.Location, hsd.Location)
	str("input format", wsd.InputFormat, hsd.InputFormat)
	str("output format", wsd.OutputFormat, hsd.OutputFormat)
	var hserde types.SerDeInfo
	if hsd.SerdeInfo != nil {
		hserde = *hsd.SerdeInfo
	}
	str("serde", wsd.SerdeInfo.SerializationLibrary, hserde.SerializationLibrary)
	if !maps.Equal(wsd.SerdeInfo.Parameters, hserde.Parameters) {
		d = append(d, fmt.Sprintf("serde parameters %v → %v", hserde.Parameters, wsd.SerdeInfo.Parameters))
	}
	// Bucketing or sorting would make Athena read the files as what they are not. Glue reports
	// "none" as 0 or -1 buckets and empty lists.
	if len(hsd.BucketColumns) > 0 || hsd.NumberOfBuckets > 0 || len(hsd.SortColumns) > 0 {
		d = append(d, "bucketed or sorted")
	}
	return d
}

func diffColumns(what string, want, have []types.Column) []string {
	var d []string
	for i := range max(len(want), len(have)) {
		switch {
		case i >= len(have):
			d = append(d, fmt.Sprintf("%s %s missing", what, aws.ToString(want[i].Name)))
		case i >= len(want):
			d = append(d, fmt.Sprintf("%s %s unexpected", what, aws.ToString(have[i].Name)))
		default:
			w, h := want[i], have[i]
			if aws.ToString(w.Name) != aws.ToString(h.Name) {
				d = append(d, fmt.Sprintf("%s %d named %s, want %s", what, i+1, aws.ToString(h.Name), aws.ToString(w.Name)))
				continue
			}
			if aws.ToString(w.Type) != aws.ToString(h.Type) {
				d = append(d, fmt.Sprintf("%s %s type %s → %s", what, aws.ToString(w.Name), aws.ToString(h.Type), aws.ToString(w.Type)))
			}
			if aws.ToString(w.Comment) != aws.ToString(h.Comment) {
				d = append(d, fmt.Sprintf("%s %s comment %q → %q", what, aws.ToString(w.Name), aws.ToString(h.Comment), aws.ToString(w.Comment)))
			}
		}
	}
	return d
}
