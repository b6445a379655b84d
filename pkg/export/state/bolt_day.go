package state

import (
	"context"
	"encoding/json"

	bolt "go.etcd.io/bbolt"
)

func dayKey(cluster, table, day, segment string) []byte {
	return []byte(cluster + "\x00" + table + "\x00" + day + "\x00" + segment)
}

// PutDay implements Store.
func (b *Bolt) PutDay(ctx context.Context, d Day) error {
	v, err := json.Marshal(&d)
	if err != nil {
		return err
	}
	return b.update(func(tx *bolt.Tx) error {
		// A file created before day records existed has no bucket yet.
		bk, err := tx.CreateBucketIfNotExists(dayBucket)
		if err != nil {
			return err
		}
		return bk.Put(dayKey(d.Cluster, d.Table, d.Day, d.Segment), v)
	})
}

// Days implements Store.
func (b *Bolt) Days(ctx context.Context, cluster, table string) ([]Day, error) {
	var out []Day
	prefix := []byte(cluster + "\x00" + table + "\x00")
	err := b.view(func(tx *bolt.Tx) error {
		bk := tx.Bucket(dayBucket)
		if bk == nil {
			return nil
		}
		c := bk.Cursor()
		for k, v := c.Seek(prefix); k != nil && len(k) >= len(prefix) && string(k[:len(prefix)]) == string(prefix); k, v = c.Next() {
			var d Day
			if err := json.Unmarshal(v, &d); err != nil {
				return err
			}
			out = append(out, d)
		}
		return nil
	})
	sortDays(out)
	return out, err
}
