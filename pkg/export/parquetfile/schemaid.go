package parquetfile

import (
	"crypto/sha256"
	"encoding/hex"

	"github.com/parquet-go/parquet-go"
)

// SchemaID identifies a Parquet schema: its columns' names, order, physical and logical types and
// repetition. Equal IDs mean equal schemas. Compaction records the ID of the parts it writes, and
// the embedded engine reads parts with one ID together without unifying their columns.
func SchemaID(s *parquet.Schema) string {
	sum := sha256.Sum256([]byte(s.String()))
	return hex.EncodeToString(sum[:16])
}
