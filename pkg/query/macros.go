package query

// MacroDoc describes one macro for the editors' completion.
type MacroDoc struct {
	Name        string `json:"name"`
	Args        string `json:"args"`
	Description string `json:"description"`
}

// Macros lists the macros every dialect expands.
func Macros() []MacroDoc {
	return []MacroDoc{
		{"$__timeFilter", "(column)", "column within the dashboard's time range, both ends included"},
		{"$__timeFrom", "()", "start of the time range as a timestamp literal (UTC)"},
		{"$__timeTo", "()", "end of the time range as a timestamp literal (UTC)"},
		{"$__timeGroup", "(column[, '5m'])", "column rounded down to the interval (default: the panel's); use it as the time of a series"},
		{"$__dayFilter", "[(column)]", "day partition within the time range (default column day): reads only those days' files"},
		{"$__clusterFilter", "[(column)]", "cluster in the selected clusters (default column cluster); all clusters when none is selected"},
		{"$__interval", "", "the panel's interval as an interval literal"},
		{"$__interval_ms", "", "the panel's interval in milliseconds"},
	}
}
