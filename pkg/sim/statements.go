package sim

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"time"
	"unicode/utf8"
)

// userTable is a table of the simulated cluster's own schema, which queries read and scan.
type userTable struct {
	name  string
	id    int32 // stl_scan.tbl
	rows  int64 // rows in the table, spread over the slices
	width int   // bytes per row read
	stats bool  // whether ANALYZE has run; false tables show up as missing statistics
}

// userTables is the simulated cluster's schema: the TICKIT sample plus a few busy tables.
var userTables = []userTable{
	{"sales", 108224, 172_456_000, 52, true},
	{"event", 108226, 8_798_000, 68, true},
	{"listing", 108228, 19_201_000, 44, true},
	{"users", 108230, 4_991_500, 180, true},
	{"venue", 108232, 20_200, 96, true},
	{"category", 108234, 110, 48, true},
	{"date", 108236, 36_500, 40, true},
	{"web_clicks", 110412, 2_400_000_000, 120, false},
	{"orders", 110418, 310_000_000, 88, false},
	{"staging_orders", 110420, 12_000_000, 88, false},
}

func tableByName(name string) userTable {
	for _, t := range userTables {
		if t.name == name {
			return t
		}
	}
	return userTable{name: name, id: 100000, rows: 1000, width: 32, stats: true}
}

// Literals as they are written in SQL source: quotes doubled, backslashes, non-ASCII, emoji.
var literals = []string{
	`'O''Brien'`, `'D''Angelo'`, `'it''s on'`, `'Zürich'`, `'Renée'`, `'São Paulo'`, `'naïve café'`,
	`'東京'`, `'日本語のテキスト'`, `'🚀 launch'`, `'Grüße 👋'`, `'50% off'`,
	`'C:\\exports\\daily'`, `'line1\nline2'`, `E'tab\there'`, `'a\\_b%'`, `'Smith'`, `'Jones'`,
}

// shape is what the plan, the scans and the alerts of a statement are made from.
type shape struct {
	kind    string   // select, insert, delete, update, ctas, unload, copy, own (the exporter's)
	tables  []string // scanned, outer first
	join    string   // join plan node, e.g. "Hash Join DS_DIST_NONE"; empty with one table
	agg     bool
	sort    bool
	limit   int
	filter  string // info of the first scan
	joinKey string
}

// statement is one generated SQL statement as the client sent it, before STL's escaping.
type statement struct {
	text  string
	shape shape
}

// joins are the join plan nodes, weighted towards the collocated join a well-designed schema
// gets most of the time.
var joins = []string{
	"Hash Join DS_DIST_NONE", "Hash Join DS_DIST_NONE", "Hash Join DS_DIST_NONE",
	"Hash Join DS_BCAST_INNER", "Hash Join DS_DIST_INNER", "Hash Join DS_DIST_BOTH",
	"Merge Join DS_DIST_NONE",
}

type textGen struct {
	r      *rand.Rand
	indent string
}

func newTextGen(r *rand.Rand) *textGen {
	g := &textGen{r: r, indent: "  "}
	switch r.IntN(4) {
	case 0:
		g.indent = "\t" // real tabs, as many editors send them
	case 1:
		g.indent = "    "
	}
	return g
}

func (g *textGen) pick(s []string) string { return s[g.r.IntN(len(s))] }

func (g *textGen) literal() string {
	if g.r.IntN(3) == 0 {
		return g.pick(literals)
	}
	return g.pick([]string{`'Smith'`, `'Jones'`, `'Garcia'`, `'Nguyen'`, `'Miller'`})
}

func (g *textGen) date(at time.Time) string {
	return at.AddDate(0, 0, -1-g.r.IntN(90)).Format("2006-01-02")
}

// comment is the header some clients put in front of their statements.
func (g *textGen) comment() string {
	switch g.r.IntN(12) {
	case 0:
		return fmt.Sprintf("/* Grafana: panel %d — Umsatz für Zürich */\n", 1+g.r.IntN(40))
	case 1:
		return "-- daily report 日本語 ✅\n"
	case 2:
		return fmt.Sprintf("/* dbt model orders_%d */\n", g.r.IntN(9))
	}
	return ""
}

// query makes a user statement of stl_query.
func (g *textGen) query(at time.Time) statement {
	in := g.indent
	switch n := g.r.IntN(100); {
	case n < 30:
		limit := []int{10, 20, 50, 100}[g.r.IntN(4)]
		day := g.date(at)
		return statement{
			text: g.comment() + fmt.Sprintf("SELECT e.eventname, SUM(s.pricepaid) AS revenue\nFROM sales s\n%sJOIN event e ON e.eventid = s.eventid\nWHERE s.saletime >= '%s'\nGROUP BY e.eventname\nORDER BY revenue DESC\nLIMIT %d;",
				in, day, limit),
			shape: shape{kind: "select", tables: []string{"sales", "event"}, join: g.pick(joins), agg: true, sort: true, limit: limit,
				filter: "Filter: (saletime >= '" + day + " 00:00:00'::timestamp without time zone)", joinKey: "eventid"},
		}
	case n < 45:
		lit := g.literal()
		return statement{
			text: fmt.Sprintf("SELECT userid, username, firstname, lastname, city\nFROM users\nWHERE lastname = %s\n%sAND city <> 'San José'\nORDER BY username;", lit, in),
			shape: shape{kind: "select", tables: []string{"users"}, sort: true,
				filter: "Filter: ((lastname)::text = " + lit + "::text)"},
		}
	case n < 55:
		return statement{
			text:  g.comment() + fmt.Sprintf("SELECT c.catname, v.venuecity, COUNT(*) AS events\nFROM event e\n%sJOIN venue v ON v.venueid = e.venueid\n%sJOIN category c ON c.catid = e.catid\nWHERE v.venuestate = %s\nGROUP BY 1, 2", in, in, g.pick([]string{`'NY'`, `'CA'`, `'ON'`, `'Bayern'`})),
			shape: shape{kind: "select", tables: []string{"event", "venue", "category"}, join: g.pick(joins), agg: true, joinKey: "venueid"},
		}
	case n < 59:
		like := g.pick([]string{`'%Park%'`, `'Stade de l''Est%'`, `'%Arena%'`, `'Théâtre%'`})
		return statement{
			text:  fmt.Sprintf("SELECT COUNT(*)\nFROM event e, venue v\nWHERE e.venueid <> v.venueid\n%sAND v.venuename LIKE %s;", in, like),
			shape: shape{kind: "select", tables: []string{"event", "venue"}, join: "Nested Loop DS_BCAST_INNER", agg: true, joinKey: "venueid"},
		}
	case n < 67:
		return statement{
			text: fmt.Sprintf("INSERT INTO web_clicks_daily\nSELECT date_trunc('day', clicked_at) AS day, page, COUNT(*)\nFROM web_clicks\nWHERE clicked_at >= '%s'\n%sAND referrer NOT LIKE %s\nGROUP BY 1, 2;", g.date(at), in, g.pick([]string{`'%bot%'`, `'%\\crawler%'`, `'%スパイダー%'`})),
			shape: shape{kind: "insert", tables: []string{"web_clicks"}, agg: true,
				filter: "Filter: (clicked_at >= '" + g.date(at) + " 00:00:00'::timestamp without time zone)"},
		}
	case n < 73:
		return statement{
			text:  fmt.Sprintf("COPY staging_orders\nFROM 's3://acme-landing/orders/%s/'\nIAM_ROLE 'arn:aws:iam::123456789012:role/RedshiftLoader'\nDELIMITER '\\t' IGNOREHEADER 1 GZIP;", at.Format("2006/01/02/15")),
			shape: shape{kind: "copy", tables: []string{"staging_orders"}},
		}
	case n < 77:
		return statement{
			text:  fmt.Sprintf("UNLOAD ('SELECT * FROM sales WHERE saletime < ''%s''')\nTO 's3://acme-archive/sales/%s_'\nIAM_ROLE 'arn:aws:iam::123456789012:role/RedshiftUnload'\nFORMAT AS PARQUET;", g.date(at), at.Format("20060102")),
			shape: shape{kind: "unload", tables: []string{"sales"}},
		}
	case n < 82:
		return statement{
			text:  fmt.Sprintf("DELETE FROM orders\nWHERE order_date < '%s'\n%sAND status = %s;", g.date(at), in, g.pick([]string{`'cancelled'`, `'storniert'`, `'annulé'`})),
			shape: shape{kind: "delete", tables: []string{"orders"}, filter: "Filter: (order_date < '" + g.date(at) + "'::date)"},
		}
	case n < 86:
		return statement{
			text:  fmt.Sprintf("UPDATE users\nSET city = %s, likemusicals = TRUE\nWHERE userid = %d;", g.literal(), 1+g.r.IntN(49990)),
			shape: shape{kind: "update", tables: []string{"users"}, filter: "Filter: (userid = 4711)"},
		}
	case n < 90:
		return statement{
			text:  fmt.Sprintf("CREATE TEMP TABLE tmp_top_buyers AS\nSELECT buyerid, SUM(qtysold) AS qty\nFROM sales\nJOIN listing USING (listid)\nGROUP BY buyerid\nHAVING SUM(qtysold) > %d;", 10+g.r.IntN(90)),
			shape: shape{kind: "ctas", tables: []string{"sales", "listing"}, join: g.pick(joins), agg: true, joinKey: "listid"},
		}
	default:
		return statement{
			text:  fmt.Sprintf("SELECT o.orderid, o.amount, u.email\nFROM orders o\n%sJOIN users u ON u.userid = o.userid\nWHERE o.note ILIKE %s\nLIMIT 500", in, g.literal()),
			shape: shape{kind: "select", tables: []string{"orders", "users"}, join: g.pick(joins), limit: 500, joinKey: "userid"},
		}
	}
}

// longQuery makes a statement longer than querytxt holds: a dashboard's long IN list.
func (g *textGen) longQuery() statement {
	var b strings.Builder
	b.WriteString("/* Grafana: orders drill-down ✨ */\nSELECT orderid, amount, status\nFROM orders\nWHERE orderid IN (")
	n := 600 + g.r.IntN(2000)
	base := 1_000_000 + g.r.IntN(9_000_000)
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteString(", ")
		}
		if i%25 == 24 {
			b.WriteString("\n" + g.indent)
		}
		fmt.Fprint(&b, base+i*7)
	}
	b.WriteString(")\nAND note <> 'ñ/é/日本/🎉';")
	return statement{text: b.String(), shape: shape{kind: "select", tables: []string{"orders"}, filter: "Filter: (orderid = ANY ('{...}'::integer[]))"}}
}

// ownQuery imitates one read of the exporter: a window of an STL table.
func (g *textGen) ownQuery(windowSQL []string, tableNames []string) statement {
	i := g.r.IntN(len(windowSQL))
	return statement{text: windowSQL[i], shape: shape{kind: "own", tables: []string{"stll_" + strings.TrimPrefix(tableNames[i], "stl_")}}}
}

// systemQuery is a statement Redshift runs itself as user 1.
func (g *textGen) systemQuery() statement {
	t := g.pick([]string{"sales", "event", "orders", "web_clicks"})
	switch g.r.IntN(3) {
	case 0:
		return statement{text: "padb_fetch_sample: select count(*) from " + t, shape: shape{kind: "select", tables: []string{t}, agg: true}}
	case 1:
		return statement{text: "padb_fetch_sample: select * from " + t + " sample_table", shape: shape{kind: "select", tables: []string{t}}}
	}
	return statement{text: "Analyze " + t, shape: shape{kind: "select", tables: []string{t}, agg: true}}
}

// ddl makes a statement of stl_ddltext.
func (g *textGen) ddl(at time.Time) string {
	day := at.Format("20060102")
	switch g.r.IntN(7) {
	case 0:
		return fmt.Sprintf("CREATE TABLE IF NOT EXISTS staging.orders_%s (\n%sorderid BIGINT NOT NULL,\n%samount DECIMAL(12,2),\n%snote VARCHAR(256) DEFAULT 'n/a',\n%sstatus VARCHAR(16) ENCODE zstd\n)\nDISTKEY (orderid)\nSORTKEY (orderid);", day, g.indent, g.indent, g.indent, g.indent)
	case 1:
		return fmt.Sprintf("DROP TABLE IF EXISTS staging.orders_%s;", at.AddDate(0, 0, -7).Format("20060102"))
	case 2:
		return "CREATE OR REPLACE VIEW reporting.v_revenue AS\nSELECT e.eventname AS \"Événement\", SUM(s.pricepaid) AS revenue\nFROM sales s JOIN event e ON e.eventid = s.eventid\nWHERE e.eventname NOT LIKE 'test\\_%'\nGROUP BY 1\nWITH NO SCHEMA BINDING;"
	case 3:
		return fmt.Sprintf("ALTER TABLE orders ADD COLUMN note_%d VARCHAR(200) DEFAULT 'ü';", g.r.IntN(100))
	case 4:
		return "CREATE SCHEMA IF NOT EXISTS sandbox_" + g.pick([]string{"ana", "jörg", "kenji"}) + ";"
	case 5:
		return "ALTER TABLE staging_orders RENAME TO staging_orders_old;"
	}
	return "DROP VIEW IF EXISTS reporting.v_top_buyers CASCADE;"
}

// utility makes a statement of stl_utilitytext.
func (g *textGen) utility() string {
	switch g.r.IntN(9) {
	case 0:
		return "GRANT SELECT ON ALL TABLES IN SCHEMA reporting TO GROUP analysts;"
	case 1:
		return "ANALYZE " + g.pick([]string{"sales", "event", "orders", "web_clicks"}) + ";"
	case 2:
		return "SET query_group TO '" + g.pick([]string{"etl_nightly", "dashboard", "adhoc"}) + "';"
	case 3:
		return "TRUNCATE staging_orders;"
	case 4:
		return "SET statement_timeout TO 300000;"
	case 5:
		return "BEGIN;"
	case 6:
		return "COMMIT;"
	case 7:
		return "COMMENT ON TABLE orders IS 'Bestellungen — commandes — 注文';"
	}
	return "REVOKE ALL ON SCHEMA sandbox FROM PUBLIC;"
}

// special reshapes a statement's logged text so that its chunking hits an edge case. It works
// on the logged form (after escape) because chunk boundaries are counted there.
func (g *textGen) special(logged string) string {
	switch n := g.r.IntN(100); {
	case n < 30:
		// Exactly 200, 400 or 600 characters, or one more or less: boundaries of whole chunks.
		target := chunkSize*(1+g.r.IntN(3)) + g.r.IntN(3) - 1
		return fitLength(g.r, logged, target)
	case n < 60:
		// A run of blanks across a chunk boundary: the blanks that end a chunk are real.
		return blanksAcrossBoundary(g.r, logged, 2+g.r.IntN(10))
	case n < 70:
		// A whole chunk of blanks inside the statement.
		return blanksAcrossBoundary(g.r, logged, chunkSize+2+g.r.IntN(20))
	default:
		// Trailing blanks: the one thing STL cannot keep.
		return logged + strings.Repeat(" ", 1+g.r.IntN(5))
	}
}

// filler is appended inside a comment to reach an exact length; it mixes in multi-byte
// characters so that chunk boundaries fall on them too.
const filler = "xé日y🚀zü語"

// fitLength pads (inside a trailing comment) or cuts logged text to exactly n characters, and
// never ends it with a blank.
func fitLength(r *rand.Rand, logged string, n int) string {
	count := utf8.RuneCountInString(logged)
	if count+5 > n {
		logged = truncate("SELECT 1", n-5)
		count = utf8.RuneCountInString(logged)
	}
	pad := n - count - 5
	var b strings.Builder
	b.WriteString(logged)
	b.WriteString(" /*")
	fill := []rune(filler)
	off := r.IntN(len(fill))
	for i := 0; i < pad; i++ {
		b.WriteRune(fill[(off+i)%len(fill)])
	}
	b.WriteString("*/")
	return b.String()
}

// blanksAcrossBoundary inserts a run of blanks so that it covers the end of one chunk and the
// start of the next. Text shorter than a chunk is lengthened first.
func blanksAcrossBoundary(r *rand.Rand, logged string, run int) string {
	runes := []rune(logged)
	for len(runes) <= chunkSize+1 {
		runes = append(runes, []rune(" AND 1 = 1")...)
	}
	boundary := chunkSize * (1 + r.IntN((len(runes)-1)/chunkSize))
	// Insert where the text already has a blank at or before the boundary, so that the SQL
	// stays as it was; the run then straddles the boundary.
	at := boundary - 1
	for at > boundary-chunkSize && runes[at] != ' ' {
		at--
	}
	// Never split a two-character escape (\n or \\): an odd number of backslashes before at
	// means runes[at] is the second half of one.
	odd := false
	for i := at - 1; i >= 0 && runes[i] == '\\'; i-- {
		odd = !odd
	}
	if odd {
		at--
	}
	before := boundary - at // blanks needed to reach the boundary from at
	if before > run-1 {
		run = before + 1 + r.IntN(3)
	}
	out := make([]rune, 0, len(runes)+run)
	out = append(out, runes[:at]...)
	for i := 0; i < run; i++ {
		out = append(out, ' ')
	}
	out = append(out, runes[at:]...)
	return string(out)
}
