// Package sim makes a PostgreSQL database look like one Redshift cluster's STL tables and writes
// a realistic, continuous workload into them. PostgreSQL stands in for Redshift in tests,
// benchmarks and the demo; the exporter reads what sim writes exactly as it would read a cluster.
//
// sim owns the STL-shaped tables it creates (Create), the activity it writes (Workload) and the
// retention it imitates (DeleteOlderThan). It never reads the archive and knows nothing of the
// exporter beyond the query group label the exporter tags its own statements with.
//
// # Schema
//
// Create makes the eight tables of the catalog in package tables, column for column (integer,
// bigint, character(n) and timestamp without time zone, as Redshift declares them), with indexes
// on each time column and on query. It also makes the Redshift look-alikes the exporter relies
// on: getdate() (UTC, whole seconds, like Redshift's) and the view svl_user_info, plus two
// ground-truth tables that STL does not have:
//
//   - sim_statement(query, text): the full statement text of every stl_query row, as STL logs it;
//   - sim_statement_xid(tablename, xid, pid, starttime, text): the same for the statements of
//     stl_ddltext and stl_utilitytext, keyed as those tables are.
//
// All these tables are UNLOGGED, and their wide character(n) columns use lz4 where the server
// has it: a simulation needs no crash safety, the write-ahead log adds disk writes to every
// row, and pglz took about four times as long as lz4 on querytxt-sized rows. A crashed
// PostgreSQL comes back with these tables empty.
//
// # Statement text
//
// Text is logged the way Redshift logs it: a newline becomes the two characters \n and a
// backslash becomes \\ (Unescape undoes that); tabs and non-ASCII characters stay as they are.
// stl_query.querytxt holds the first 4000 characters. stl_querytext, stl_ddltext and
// stl_utilitytext hold the whole text in character(200) chunks numbered from sequence 0; chunks
// are cut by characters (PostgreSQL's character(n) counts characters, not bytes), so a chunk
// never splits a character.
//
// Reassembly rule (Reassemble): join all chunks in sequence order exactly as stored, each with
// its 200 characters, blanks included, then remove the blanks at the end of the whole.
// Right-trimming every chunk is wrong: chunks may end in real blanks, and some chunks are
// nothing but blanks. Trimming only the last chunk is wrong too when a statement's final blanks
// start in the chunk before. The result equals the statement text with its trailing blanks
// removed; blanks at the very end of a statement cannot be told from char(200) padding and are
// lost in STL itself. sim_statement keeps
// them, so a reader that wants the exact text of such a statement can only compare against
// rtrim(text) or cut the padded concatenation at char_length(text). Beware that PostgreSQL's
// cast of character(n) to text (and so string_agg over it) drops the trailing blanks of every
// chunk: read chunks as sent on the wire.
//
// # Time, arrival and late rows
//
// Every row has its time (the table's time column; stl_querytext and stl_explain share their
// stl_query row's endtime) and an arrival: the moment the simulated cluster makes it visible.
// Most rows arrive at their time; a share LateShare arrive up to MaxLateness later. The
// invariant, for every row:
//
//	time <= arrival <= time + MaxLateness
//
// and Workload.Step(from, to) inserts, in one transaction, exactly the rows whose arrival falls in
// (from, to]. So a step never writes a row whose time is at or before from - MaxLateness, and a
// row whose time is in an earlier step's range can still come. An stl_query row arrives together
// with its stl_querytext and stl_explain rows and its sim_statement row; stl_scan, stl_wlm_query
// and stl_alert_event_log rows arrive by their own times, so the scans of a long query appear
// minutes before its stl_query row, as they finish. Run steps up to the database's getdate()
// (whole seconds), so a row becomes visible at most MaxLateness + one tick + one second + the
// step's own duration after its time: an exporter whose lag is larger than that never misses a
// row.
//
// Activity is generated per second of start time from Seed, so the same seed gives the same rows
// (query ids, xids and texts included) whatever the step sizes, as long as the steps are
// contiguous and begin at the same instant. A step whose from is not where the previous one ended
// restarts the timeline at from: queries still running in the old timeline are forgotten.
// Query ids are unique and increase with start time; the first step continues from the largest
// query id and xid already in the tables.
//
// Queries labelled with QueryGroup imitate the exporter's own statements (reads of STL tables
// and SET statements), which an exporter must leave out. They are short, so their scans never
// outrun their stl_query row by more than a second or so.
//
// OddLabelShare of the other statements carry labels that are not the exporter's but trip a
// careless filter: NULL, blank, blank-padded, non-ASCII, and look-alikes of QueryGroup
// (QueryGroup+"2", " "+QueryGroup, upper case). An exporter must archive every one of them.
//
// # Command line
//
// The command "stlarchive simulate" is a thin face over this package: it connects with pgx, calls
// Create, optionally Backfill over the requested history, then Run until interrupted, with
// Options from its flags (DefaultOptions for the rest) and, when asked, a retention like STL's.
// Progress goes through Options.Progress.
package sim
