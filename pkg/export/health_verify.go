package export

import (
	"fmt"
	"time"
)

// ClusterVerification is the verification state of a cluster's tables, for health.
type ClusterVerification struct {
	// VerifiedUpTo is the oldest "verified up to" among the tables; nil while a table has none.
	VerifiedUpTo *time.Time `json:"verifiedUpTo"`
	LateRows     int64      `json:"lateRows"`
	RowsHealed   int64      `json:"rowsHealed"`
	// Unverifiable and Differs count the windows the last passes could not verify, or left
	// different from the source.
	Unverifiable int `json:"unverifiable"`
	Differs      int `json:"differs"`
	// Unhealable is the part of Differs in compacted or retired days, which no heal can reach.
	Unhealable int `json:"unhealable,omitempty"`
	// UnplacedRows is what the last passes counted on the source that no window can hold, and
	// UnplacedSince the oldest first sighting among the tables that have some.
	UnplacedRows  int64      `json:"unplacedRows"`
	UnplacedSince *time.Time `json:"unplacedSince,omitempty"`
	LastError     string     `json:"lastError,omitempty"`
	tables        int
	unverified    bool
}

func (c *ClusterVerification) add(v VerifyStatus) {
	c.tables++
	switch {
	case v.VerifiedUpTo == nil:
		c.unverified = true
		c.VerifiedUpTo = nil
	case !c.unverified && (c.VerifiedUpTo == nil || v.VerifiedUpTo.Before(*c.VerifiedUpTo)):
		t := *v.VerifiedUpTo
		c.VerifiedUpTo = &t
	}
	c.LateRows += v.LateRows
	c.RowsHealed += v.RowsHealed
	c.Unverifiable += v.LastPassUnverifiable
	c.Differs += v.Differs
	c.Unhealable += v.Unhealable
	if u := v.Unplaced; u.Rows > 0 {
		c.UnplacedRows += u.Rows
		if c.UnplacedSince == nil || u.FirstSeen.Before(*c.UnplacedSince) {
			t := u.FirstSeen
			c.UnplacedSince = &t
		}
	}
	if c.LastError == "" {
		c.LastError = v.LastError
	}
}

// summary is the part of the health line about verification, and whether it is healthy: an
// archive left different from its source, or a failed pass, is not.
func (c ClusterVerification) summary() ([]string, bool) {
	if c.tables == 0 {
		return nil, true
	}
	var parts []string
	ok := true
	if c.VerifiedUpTo != nil {
		parts = append(parts, "verified up to "+c.VerifiedUpTo.UTC().Format(time.DateTime))
	} else {
		parts = append(parts, "not verified yet")
	}
	if c.LateRows > 0 {
		parts = append(parts, fmt.Sprintf("%d late row(s) found, %d healed", c.LateRows, c.RowsHealed))
	}
	if c.Unverifiable > 0 {
		parts = append(parts, fmt.Sprintf("%d window(s) unverifiable (no longer on the source)", c.Unverifiable))
	}
	if c.UnplacedRows > 0 {
		parts = append(parts, fmt.Sprintf("%d row(s) on the source that no window can hold (NULL time, or no parent row), not archived, first seen %s",
			c.UnplacedRows, c.UnplacedSince.UTC().Format(time.DateTime)))
	}
	if c.Differs > 0 {
		ok = false
		parts = append(parts, fmt.Sprintf("archive differs from the source in %d window(s)", c.Differs))
		if c.Unhealable > 0 {
			parts = append(parts, fmt.Sprintf("%d of them in compacted days, which cannot be healed", c.Unhealable))
		}
	}
	if c.LastError != "" {
		ok = false
		parts = append(parts, "last verification failed: "+c.LastError)
	}
	return parts, ok
}
