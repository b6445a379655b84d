package sim

import (
	"fmt"
	"math/rand/v2"
	"strings"
)

// planNode is one stl_explain row.
type planNode struct {
	id, parent int32
	node, info string
}

// plan builds the EXPLAIN tree Redshift would log for a statement's shape, in node id order
// (pre-order, root 1, parent 0 for roots). missing names the tables without statistics; Redshift
// appends its "Tables missing statistics" notice lines to such plans.
func plan(r *rand.Rand, sh shape, missing []string) []planNode {
	if sh.kind == "copy" {
		return nil // COPY has no plan
	}
	var nodes []planNode
	add := func(parent int32, node, info string) int32 {
		id := int32(len(nodes) + 1)
		nodes = append(nodes, planNode{id: id, parent: parent, node: truncate(node, planTextSize), info: truncate(info, planTextSize)})
		return id
	}
	rows := func(t string) int64 { return max(1, tableByName(t).rows/int64(1+r.IntN(50))) }
	cost := func(lo, hi float64) string { return fmt.Sprintf("(cost=%.2f..%.2f", lo, hi) }

	var cur int32
	if sh.kind == "own" {
		// Reads of STL views run on the leader node.
		add(0, fmt.Sprintf("LD Seq Scan on %s  %s rows=%d width=%d)", sh.tables[0], cost(0, 0.01*float64(1+r.IntN(100000))), 1+r.IntN(100000), 300), "")
		return nodes
	}
	switch sh.kind {
	case "delete", "update":
		add(0, fmt.Sprintf("XN Seq Scan on %s  %s rows=%d width=6)", sh.tables[0], cost(0, float64(rows(sh.tables[0]))*0.01), rows(sh.tables[0])), sh.filter)
		addMissing(add, missing)
		return nodes
	}
	total := float64(rows(sh.tables[0]))
	if sh.limit > 0 {
		cur = add(cur, fmt.Sprintf("XN Limit  %s rows=%d width=40)", cost(1e12, 1e12), sh.limit), "")
	}
	if sh.sort {
		cur = add(cur, fmt.Sprintf("XN Merge  %s rows=%d width=40)", cost(1e12+total*0.02, 1e12+total*0.02), int64(total)/100+1), "Merge Key: 2")
		cur = add(cur, fmt.Sprintf("XN Network  %s rows=%d width=40)", cost(1e12+total*0.02, 1e12+total*0.02), int64(total)/100+1), "Send to leader")
		cur = add(cur, fmt.Sprintf("XN Sort  %s rows=%d width=40)", cost(1e12+total*0.02, 1e12+total*0.02), int64(total)/100+1), "Sort Key: 2")
	} else if sh.kind == "select" {
		cur = add(cur, fmt.Sprintf("XN Network  %s rows=%d width=40)", cost(0, total*0.02), int64(total)/100+1), "Send to leader")
	}
	if sh.agg {
		cur = add(cur, fmt.Sprintf("XN HashAggregate  %s rows=%d width=40)", cost(total*0.01, total*0.015), int64(total)/100+1), "")
	}
	joinTree(r, cur, sh, sh.tables, add, rows, cost)
	addMissing(add, missing)
	return nodes
}

func joinTree(r *rand.Rand, parent int32, sh shape, ts []string, add func(int32, string, string) int32, rows func(string) int64, cost func(float64, float64) string) {
	last := ts[len(ts)-1]
	if len(ts) == 1 {
		n := rows(last)
		add(parent, fmt.Sprintf("XN Seq Scan on %s  %s rows=%d width=%d)", last, cost(0, float64(n)*0.01), n, tableByName(last).width), sh.filter)
		return
	}
	n := rows(last)
	if strings.HasPrefix(sh.join, "Nested Loop") {
		j := add(parent, fmt.Sprintf("XN %s  %s rows=%d width=40)", sh.join, cost(1e12, 1e12+float64(n)*1e4), n*1000), "Join Filter: (\"outer\"."+sh.joinKey+" <> \"inner\"."+sh.joinKey+")")
		joinTree(r, j, sh, ts[:len(ts)-1], add, rows, cost)
		add(j, fmt.Sprintf("XN Seq Scan on %s  %s rows=%d width=%d)", last, cost(0, float64(n)*0.01), n, tableByName(last).width), "")
		return
	}
	cond := fmt.Sprintf("Hash Cond: (\"outer\".%s = \"inner\".%s)", sh.joinKey, sh.joinKey)
	if strings.HasPrefix(sh.join, "Merge") {
		cond = fmt.Sprintf("Merge Cond: (\"outer\".%s = \"inner\".%s)", sh.joinKey, sh.joinKey)
	}
	j := add(parent, fmt.Sprintf("XN %s  %s rows=%d width=40)", sh.join, cost(float64(n)*0.01, float64(n)*0.05+float64(r.IntN(1e6))), n), cond)
	joinTree(r, j, sh, ts[:len(ts)-1], add, rows, cost)
	inner := j
	if !strings.HasPrefix(sh.join, "Merge") {
		inner = add(j, fmt.Sprintf("XN Hash  %s rows=%d width=%d)", cost(float64(n)*0.01, float64(n)*0.01), n, tableByName(last).width), "")
	}
	add(inner, fmt.Sprintf("XN Seq Scan on %s  %s rows=%d width=%d)", last, cost(0, float64(n)*0.01), n, tableByName(last).width), "")
}

// addMissing appends the notice Redshift adds to plans over tables without statistics.
func addMissing(add func(int32, string, string) int32, missing []string) {
	if len(missing) == 0 {
		return
	}
	add(0, "----- Tables missing statistics: "+strings.Join(missing, ", ")+" -----", "")
	add(0, "----- Update statistics by running the ANALYZE command on these tables -----", "")
}

// alertKind is an event of stl_alert_event_log: its name (the part before the colon) and the
// recommended fix.
type alertKind struct{ name, solution string }

var (
	alertMissingStats = alertKind{"Missing query planner statistics",
		"Run the ANALYZE command on the tables listed so the planner can estimate row counts."}
	alertNestedLoop = alertKind{"Nested Loop Join in the query plan",
		"Check the join predicates: a join without an equality condition compares every row with every row."}
	alertSelective = alertKind{"Very selective query filter",
		"Choose a sort key on the filtered column so that the scan can skip blocks."}
	alertDeleted = alertKind{"Scanned a large number of deleted rows",
		"Run VACUUM on the table to reclaim the space of deleted rows."}
	alertDistributed = alertKind{"Distributed a large number of rows across the network",
		"Choose distribution keys that put joined rows on the same slice."}
	alertBroadcast = alertKind{"Broadcasted a large number of rows across the network",
		"Choose distribution keys or styles that avoid broadcasting the inner table of the join."}
)
